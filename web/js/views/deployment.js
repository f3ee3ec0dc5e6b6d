// SPDX-License-Identifier: Apache-2.0
// Deployments: the list, and one deployment — its stage timeline with the
// evidence of each transition, what is missing to advance now
// (deployment.gates), and, for an admin, the advance itself, which shows
// every unmet criterion when it is refused.

import { api, listSeen, ApiError } from "../api.js";
import { h, put, section, table, fmtTime, badge, supplyLink, scenarioLink, deploymentLink, link, stageSteps, errorBox, STAGES } from "../dom.js";
import * as live from "../live.js";

export async function renderList(main) {
  const deployments = await listSeen("/v1/deployments", "deployments");
  put(main, 
    h("h1", {}, "Deployments"),
    table(
      "Deployments you may see",
      [
        { label: "deployment", cell: (d) => deploymentLink(d.id) },
        { label: "scenario", cell: (d) => scenarioLink(d.scenario_id) },
        { label: "supply", cell: (d) => [supplyLink(d.supply_id), "@", d.version] },
        { label: "stage", cell: (d) => stageSteps(d.stage) },
        { label: "status", cell: (d) => badge(d.status) },
        { label: "since", cell: (d) => fmtTime(d.updated_ms) },
      ],
      deployments,
      { id: "deployments", empty: "Nothing deployed yet." },
    ),
  );
}

function criteriaTable(caption, criteria, id) {
  return table(
    caption,
    [
      { label: "criterion", cell: (c) => c.name },
      { label: "now", cell: (c) => c.current || "none", num: true },
      { label: "needs", cell: (c) => c.required, num: true },
      { label: "", cell: (c) => (c.met ? badge("met", "ok") : badge("not met", "bad")) },
    ],
    criteria,
    { id, empty: "No criterion." },
  );
}

function transitionItem(t) {
  const what =
    t.kind === "upgrade"
      ? `upgraded to ${t.version}`
      : t.kind === "adopt"
        ? `adopted at ${t.to_stage} (${t.version})`
        : `${t.kind} ${t.from_stage} → ${t.to_stage}`;
  return h(
    "li",
    {},
    h("p", {}, h("time", {}, fmtTime(t.at_ms)), " ", h("strong", {}, what), t.forced ? [" ", badge("forced", "bad")] : null, t.actor ? h("span", { class: "muted" }, ` by ${t.actor}`) : null, t.reason ? ` — ${t.reason}` : ""),
    (t.evidence || []).length ? criteriaTable(`The evidence that allowed it`, t.evidence) : null,
  );
}

export async function renderOne(main, { id }, ctx) {
  const box = { head: h("div"), timeline: h("div"), gates: h("div"), versions: h("div"), result: h("div", { "aria-live": "polite" }) };
  let dep = null;
  const load = async () => {
    const [hist, gates] = await Promise.all([
      api(`/v1/deployments/${encodeURIComponent(id)}/history`),
      api(`/v1/deployments/${encodeURIComponent(id)}/gates`),
    ]);
    dep = hist.deployment;
    put(box.head, 
      h("h1", {}, `Deployment ${dep.id} `, badge(dep.status)),
      h("p", {}, supplyLink(dep.supply_id), `@${dep.version} in `, scenarioLink(dep.scenario_id)),
      stageSteps(dep.stage),
    );
    put(box.timeline, h("ol", { class: "timeline", id: "timeline" }, (hist.transitions || []).map(transitionItem)));
    put(box.versions, 
      table(
        "The versions it ran",
        [
          { label: "version", cell: (v) => v.version },
          { label: "from", cell: (v) => fmtTime(v.from_ms) },
          { label: "to", cell: (v) => (Number(v.to_ms) ? fmtTime(v.to_ms) : "running") },
        ],
        hist.versions || [],
        { id: "versions" },
      ),
    );
    const next = STAGES[STAGES.indexOf(dep.stage) + 1];
    const crit = gates.criteria || [];
    const unmet = crit.filter((c) => !c.met);
    put(box.gates, 
      dep.status !== "active"
        ? h("p", { id: "gates-summary" }, "Retired: it moves no more.")
        : !next
          ? h("p", { id: "gates-summary" }, "At the last stage.")
          : h(
              "p",
              { id: "gates-summary" },
              unmet.length ? `To ${next}: ${unmet.length} of ${crit.length} criteria not met yet.` : `Ready to advance to ${next}: every criterion is met.`,
            ),
      next && dep.status === "active" ? criteriaTable(`What an advance to ${next} is judged on now`, crit, "gates") : null,
    );
  };

  const advanceForm = () => {
    const sel = h("select", { id: "advance-to", name: "to" }, STAGES.map((s) => h("option", { value: s }, s)));
    const force = h("input", { type: "checkbox", id: "advance-force" });
    const reason = h("input", { type: "text", id: "advance-reason", placeholder: "why (needed to force)" });
    const form = h(
      "form",
      { class: "advance", id: "advance-form" },
      h("label", { for: "advance-to" }, "Move to "),
      sel,
      " ",
      h("label", { for: "advance-force" }, force, " force"),
      " ",
      h("label", { for: "advance-reason", class: "sr-only" }, "reason"),
      reason,
      " ",
      h("button", { type: "submit", id: "advance-button" }, "Advance"),
    );
    const i = STAGES.indexOf(dep.stage);
    if (i + 1 < STAGES.length) sel.value = STAGES[i + 1];
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      put(box.result, h("p", {}, "Asking…"));
      try {
        const rep = await api(`/v1/deployments/${encodeURIComponent(id)}/advance`, {
          method: "POST",
          body: { to: sel.value, force: force.checked, reason: reason.value },
        });
        put(box.result, h("p", { class: "ok", id: "advance-result", role: "status" }, `Moved to ${rep.deployment.stage}.`));
        await load();
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        put(box.result, h("div", { id: "advance-result" }, errorBox(err)));
      }
    });
    return form;
  };

  await load();
  const admin = ctx.who && ctx.who.role === "admin";
  put(main, 
    h("p", { class: "crumbs" }, link("/deployments", "Deployments"), " / ", id),
    box.head,
    section("What is missing to advance", box.gates, admin && dep.status === "active" ? [advanceForm(), box.result] : null),
    section("Stage timeline", box.timeline),
    section("Versions", box.versions),
  );
  const refresh = live.debounce(load, 800);
  return live.on(["deployment.", "feedback.evidence", "feedback.problem"], (ev) => {
    const x = ev.deployment || ev.evidence || (ev.problem && ev.problem.problem) || {};
    if (x.id === id || (dep && x.supply_id === dep.supply_id)) refresh();
  });
}
