// SPDX-License-Identifier: Apache-2.0
// Scenarios: the list, and one scenario — its demands and targets, the
// supplies ranked for it with their reasons, its deployments with their
// stage timelines, and each target metric against its threshold.

import { api, listSeen } from "../api.js";
import { h, put, section, table, figures, fmtNum, fmtTime, badge, supplyLink, scenarioLink, deploymentLink, link, stageSteps } from "../dom.js";
import * as live from "../live.js";

const CMP = { lt: "<", le: "<=", gt: ">", ge: ">=", eq: "=" };

export function meets(value, cmp, threshold) {
  switch (cmp) {
    case "lt": return value < threshold;
    case "le": return value <= threshold;
    case "gt": return value > threshold;
    case "ge": return value >= threshold;
    case "eq": return value === threshold;
    default: return false;
  }
}

export async function renderList(main) {
  const scenarios = await listSeen("/v1/scenarios", "scenarios");
  put(main, 
    h("h1", {}, "Scenarios"),
    table(
      "Scenarios you may see",
      [
        { label: "scenario", cell: (s) => scenarioLink(s.id) },
        { label: "name", cell: (s) => s.name },
        { label: "enterprise", cell: (s) => s.enterprise },
        { label: "domain", cell: (s) => s.domain },
        { label: "demands", cell: (s) => fmtNum((s.demands || []).length), num: true },
        { label: "status", cell: (s) => badge(s.status) },
      ],
      scenarios,
      { id: "scenarios", empty: "No scenario you may see." },
    ),
  );
}

// Each target of each demand, against the mean of the metric in every
// active deployment of the scenario (absent, not zero, when no record).
async function targetRows(sc, deployments) {
  const rows = [];
  for (const dm of sc.demands || []) {
    for (const t of dm.targets || []) {
      const active = deployments.filter((d) => d.status === "active");
      if (!active.length) rows.push({ dm, t, d: null, mean: null, count: 0 });
      for (const d of active) {
        const st = await api("/v1/stats", {
          query: { supply_id: d.supply_id, version: d.version, scenario_id: sc.id, metric: t.metric },
        }).catch(() => ({ metrics: [] }));
        const m = (st.metrics || [])[0];
        rows.push({ dm, t, d, mean: m ? Number(m.stats.mean) : null, count: m ? Number(m.stats.count) : 0 });
      }
    }
  }
  return rows;
}

function timeline(hist) {
  return h(
    "ol",
    { class: "timeline", "aria-label": `stage timeline of ${hist.deployment.id}` },
    (hist.transitions || []).map((t) =>
      h(
        "li",
        {},
        h("time", {}, fmtTime(t.at_ms)),
        " ",
        t.kind === "upgrade" ? `upgraded to ${t.version}` : `${t.kind} ${t.from_stage !== "unspecified" ? t.from_stage + " → " : ""}${t.to_stage}`,
        t.forced ? [" ", badge("forced", "bad")] : null,
      ),
    ),
  );
}

export async function renderOne(main, { id }) {
  const sc = (await api(`/v1/scenarios/${encodeURIComponent(id)}`)).scenario;
  const box = { matches: h("div"), deployments: h("div"), targets: h("div") };
  const load = async () => {
    const [match, deployments] = await Promise.all([
      api(`/v1/scenarios/${encodeURIComponent(id)}/match`),
      listSeen("/v1/deployments", "deployments", { scenario_id: id }),
    ]);
    put(box.matches, 
      table(
        `Supplies ranked for ${id} (required: ${(match.required || []).join(", ")})`,
        [
          { label: "rank", cell: (m) => fmtNum(m.rank), num: true },
          { label: "supply", cell: (m) => supplyLink(m.supply.id) },
          { label: "coverage", cell: (m) => `${Math.round(Number(m.coverage) * 100)}%`, num: true },
          { label: "missing", cell: (m) => (m.missing || []).join(", ") || "—" },
          { label: "score", cell: (m) => fmtNum(m.score), num: true },
          { label: "why", cell: (m) => m.reason },
        ],
        match.matches || [],
        { id: "matches", empty: "No supply offers any capability this scenario needs." },
      ),
    );
    const hists = await Promise.all(deployments.map((d) => api(`/v1/deployments/${encodeURIComponent(d.id)}/history`)));
    put(box.deployments, 
      deployments.length
        ? h(
            "ul",
            { class: "cards", id: "scenario-deployments" },
            hists.map((hs) =>
              h(
                "li",
                { class: "card" },
                h("h3", {}, deploymentLink(hs.deployment.id), ` ${hs.deployment.supply_id}@${hs.deployment.version} `, badge(hs.deployment.status)),
                stageSteps(hs.deployment.stage),
                timeline(hs),
              ),
            ),
          )
        : h("p", { class: "empty", id: "scenario-deployments" }, "Nothing deployed here yet."),
    );
    const rows = await targetRows(sc, deployments);
    put(box.targets, 
      table(
        "Each target metric against its threshold, per active deployment",
        [
          { label: "demand", cell: (r) => r.dm.id || "—" },
          { label: "target", cell: (r) => `${r.t.metric} ${CMP[r.t.comparison] || r.t.comparison} ${fmtNum(r.t.threshold)}` },
          { label: "deployment", cell: (r) => (r.d ? deploymentLink(r.d.id) : "—") },
          { label: "mean now", cell: (r) => (r.mean === null ? "no data" : fmtNum(r.mean)), num: true },
          { label: "records", cell: (r) => fmtNum(r.count), num: true },
          {
            label: "met",
            cell: (r) => (r.mean === null ? badge("no data", "none") : meets(r.mean, r.t.comparison, Number(r.t.threshold)) ? badge("met", "ok") : badge("not met", "bad")),
          },
        ],
        rows,
        { id: "targets", empty: "This scenario sets no target metric." },
      ),
    );
  };
  put(main, 
    h("p", { class: "crumbs" }, link("/scenarios", "Scenarios"), " / ", id),
    h("h1", {}, sc.name || id, " ", badge(sc.status)),
    figures([
      { id: "scenario-enterprise", label: "Enterprise", value: sc.enterprise },
      { id: "scenario-domain", label: "Domain", value: sc.domain },
      { id: "scenario-created", label: "Submitted", value: fmtTime(sc.created_ms) },
    ]),
    sc.description ? h("p", {}, sc.description) : null,
    section(
      "Demands",
      table(
        "What the scenario needs",
        [
          { label: "demand", cell: (d) => d.id || "—" },
          { label: "description", cell: (d) => d.description || "" },
          { label: "capabilities", cell: (d) => (d.capabilities || []).join(", ") },
          { label: "constraints", cell: (d) => (d.constraints || []).map((c) => `${c.key}=${c.value}`).join(", ") || "—" },
          { label: "targets", cell: (d) => (d.targets || []).map((t) => `${t.metric} ${CMP[t.comparison] || t.comparison} ${fmtNum(t.threshold)}`).join(", ") || "—" },
        ],
        sc.demands || [],
        { id: "demands" },
      ),
    ),
    section("Targets", box.targets),
    section("Matches", box.matches),
    section("Deployments", box.deployments),
  );
  await load();
  const refresh = live.debounce(load, 800);
  return live.on(["feedback.evidence", "deployment.", "supply.", "scenario."], (ev) => {
    const x = ev.evidence || ev.deployment || {};
    if (ev.supply || ev.scenario || x.scenario_id === id || (ev.evidence && !x.scenario_id)) refresh();
  });
}
