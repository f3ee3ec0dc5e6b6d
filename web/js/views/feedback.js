// SPDX-License-Identifier: Apache-2.0
// The feedback explorer: records filtered by supply, version, scenario,
// kind, label and time (the filters live in the address, so a view can be
// bookmarked and shared), newest first; the open problems and regressions.

import { api, listSeen } from "../api.js";
import { h, put, section, table, fmtNum, fmtTime, badge, supplyLink, scenarioLink } from "../dom.js";
import * as live from "../live.js";

const KINDS = ["", "metric", "problem", "value", "demand"];
const SHOWN = 200;  // records a page shows, newest first (feedback.list newest_first)

function recordTable(records, caption, id) {
  return table(
    caption,
    [
      { label: "id", cell: (r) => r.id, num: true },
      { label: "observed", cell: (r) => fmtTime(r.observed_at_ms) },
      { label: "scenario", cell: (r) => scenarioLink(r.scenario_id) },
      { label: "supply", cell: (r) => [supplyLink(r.supply_id), "@", r.version] },
      { label: "kind", cell: (r) => kindOf(r) },
      { label: "record", cell: body },
      { label: "labels", cell: (r) => (r.labels || []).map((l) => `${l.key}=${l.value}`).join(" ") },
    ],
    records,
    { id, empty: "No record matches." },
  );
}

function body(r) {
  if (r.metric) return ["metric ", h("code", {}, r.metric.name), ` = ${fmtNum(r.metric.value)}`];
  if (r.problem) return ["problem ", badge(r.problem.severity), " ", r.problem.title, r.problem.signature ? [" ", h("code", {}, r.problem.signature)] : null];
  if (r.value) return [`value ${r.value.kpi}: ${fmtNum(r.value.baseline)} → ${fmtNum(r.value.achieved)} ${r.value.unit || ""}`];
  if (r.demand) return [`demand "${r.demand.text}" (${(r.demand.capabilities || []).join(", ")})`];
  return "—";
}

function kindOf(r) {
  return r.metric ? "metric" : r.problem ? "problem" : r.value ? "value" : r.demand ? "demand" : "";
}

// datetime-local (the browser's zone) <-> RFC 3339 for the API
function toApiTime(v) {
  return v ? new Date(v).toISOString() : "";
}

export async function render(main, params) {
  const f = {
    supply_id: params.supply_id || "",
    version: params.version || "",
    scenario_id: params.scenario_id || "",
    kind: params.kind || "",
    label: params.label || "",
    from: params.from || "",
    to: params.to || "",
  };
  const field = (name, label, input) => h("div", { class: "field" }, h("label", { for: "f-" + name }, label), input);
  const text = (name, ph) => h("input", { id: "f-" + name, name, value: f[name], placeholder: ph });
  const kind = h("select", { id: "f-kind", name: "kind" }, KINDS.map((k) => h("option", { value: k }, k || "any")));
  kind.value = f.kind;
  const from = h("input", { id: "f-from", name: "from", type: "datetime-local", value: f.from });
  const to = h("input", { id: "f-to", name: "to", type: "datetime-local", value: f.to });
  const form = h(
    "form",
    { class: "filters", id: "filters", "aria-label": "filters" },
    field("supply_id", "Supply", text("supply_id", "defect-vision")),
    field("version", "Version", text("version", "1.1")),
    field("scenario_id", "Scenario", text("scenario_id", "weld-line-3")),
    field("kind", "Kind", kind),
    field("label", "Label", text("label", "site=plant-7")),
    field("from", "Observed from", from),
    field("to", "to", to),
    h("div", { class: "field" }, h("button", { type: "submit" }, "Filter")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) q.set(el.name, el.value);
    location.hash = "#/feedback" + (q.toString() ? "?" + q : "");
  });

  const box = { records: h("div"), problems: h("div"), regressions: h("div") };
  const load = async () => {
    const query = { ...f, from: toApiTime(f.from), to: toApiTime(f.to), newest_first: true };
    let page;
    try {
      page = await api("/v1/feedback", { query: { ...query, limit: SHOWN } });
    } catch (e) {
      put(box.records, h("p", { class: "error", role: "alert" }, e.message));
      return;
    }
    const records = page.records || [];
    const older = h("div");
    // older pages on demand: the cursor is the last record shown
    const more = (cursor) =>
      cursor
        ? h("button", {
            type: "button",
            id: "older",
            onclick: async () => {
              const next = await api("/v1/feedback", { query: { ...query, limit: SHOWN, cursor } });
              older.append(recordTable(next.records || [], "Older records"));
              put(moreBox, more(next.next_cursor));
            },
          }, "Older records")
        : null;
    const moreBox = h("div", {}, more(page.next_cursor));
    put(box.records,
      h("p", { id: "records-count" }, `${fmtNum(records.length)} record${records.length === 1 ? "" : "s"}`, page.next_cursor ? `, the newest ${SHOWN} of those that match` : " match"),
      recordTable(records, "Feedback records, newest first", "records"),
      older,
      moreBox,
    );
    const pq = { supply_id: f.supply_id, scenario_id: f.scenario_id, version: f.version };
    const [open, regressed] = await Promise.all([
      listSeen("/v1/problems", "problems", { ...pq, state: "open" }),
      listSeen("/v1/regressions", "problems", { supply_id: f.supply_id }),
    ]);
    const problemCols = [
      { label: "supply", cell: (p) => supplyLink(p.supply_id) },
      { label: "problem", cell: (p) => p.title || p.signature },
      { label: "severity", cell: (p) => badge(p.severity) },
      { label: "reports", cell: (p) => fmtNum(p.reports), num: true },
      { label: "versions", cell: (p) => (p.versions || []).join(", ") },
      { label: "last seen", cell: (p) => fmtTime(p.last_seen_ms) },
    ];
    put(box.problems, table("Problems open now", problemCols, open, { id: "open-problems", empty: "No open problem." }));
    put(box.regressions, 
      table(
        "Problems that came back after a version addressed them",
        [...problemCols, { label: "addressed by", cell: (p) => p.addressed_by }, { label: "regressed in", cell: (p) => p.regressed_in }],
        regressed,
        { id: "regressions", empty: "No regression." },
      ),
    );
  };
  put(main, 
    h("h1", {}, "Feedback"),
    form,
    section("Records", box.records),
    h("div", { class: "grid2" }, section("Open problems", box.problems), section("Regressions", box.regressions)),
  );
  await load();
  const refresh = live.debounce(load, 800);
  return live.on(["feedback."], (ev) => {
    const x = ev.evidence || (ev.problem && ev.problem.problem) || {};
    if (!f.supply_id || x.supply_id === f.supply_id || ev.demand) refresh();
  });
}
