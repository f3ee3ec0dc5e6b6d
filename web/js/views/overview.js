// SPDX-License-Identifier: Apache-2.0
// Overview: the counts, the live feedback rate, the latest events, the
// stages deployments are at, the top gaps.

import { api, listSeen, ApiError } from "../api.js";
import { h, put, figures, section, table, fmtNum, fmtTime, link, scenarioLink, STAGES } from "../dom.js";
import { barChart } from "../charts.js";
import * as live from "../live.js";

// Feedback records the user may see: every supply's stats (metric counts,
// problem reports, value verifications, demand signals).
export async function feedbackTotal(supplies) {
  let total = 0;
  for (const s of supplies) {
    let st;
    try {
      st = await api("/v1/stats", { query: { supply_id: s.id } });
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) continue;
      throw e;
    }
    for (const m of st.metrics || []) total += Number(m.stats.count);
    for (const p of st.problems || []) total += Number(p.reports);
    total += Number((st.values && st.values.count) || 0) + Number(st.demands || 0);
  }
  return total;
}

// The rate from samples of the total over the last minute.
const samples = [];
function rate() {
  if (samples.length < 2) return null;
  const a = samples[0], b = samples[samples.length - 1];
  return b.t > a.t ? ((b.n - a.n) * 1000) / (b.t - a.t) : null;
}

async function counts() {
  const [providers, supplies, scenarios, deployments] = await Promise.all([
    listSeen("/v1/providers", "providers"),
    listSeen("/v1/supplies", "supplies"),
    listSeen("/v1/scenarios", "scenarios"),
    listSeen("/v1/deployments", "deployments"),
  ]);
  const records = await feedbackTotal(supplies);
  const now = Date.now();
  samples.push({ t: now, n: records });
  while (samples.length > 2 && now - samples[0].t > 60000) samples.shift();
  return { providers, supplies, scenarios, deployments, records };
}

function eventList(events) {
  if (!events.length) return h("p", { class: "empty", id: "events" }, "No events yet.");
  return h(
    "ol",
    { class: "events", id: "events" },
    [...events].sort((a, b) => Number(b.time_ms) - Number(a.time_ms) || Number(b.seq) - Number(a.seq)).slice(0, 15).map((ev) =>
      h("li", {}, h("time", {}, fmtTime(ev.time_ms)), " ", h("code", {}, ev.type), " ", live.describe(ev)),
    ),
  );
}

export async function render(main) {
  const c = await counts();
  const gaps = (await api("/v1/gaps", { query: { limit: 5 } })).gaps || [];
  const active = c.deployments.filter((d) => d.status === "active");
  const perStage = STAGES.map((s) => active.filter((d) => d.stage === s).length);
  const figs = () => {
    const r = rate();
    return figures([
      { id: "count-providers", label: "Providers", value: fmtNum(c.providers.length) },
      { id: "count-supplies", label: "Supplies", value: fmtNum(c.supplies.length) },
      { id: "count-scenarios", label: "Open scenarios", value: fmtNum(c.scenarios.filter((s) => s.status === "open").length) },
      { id: "count-deployments", label: "Active deployments", value: fmtNum(active.length) },
      { id: "count-records", label: "Feedback records", value: fmtNum(c.records) },
      { id: "feedback-rate", label: "Feedback rate (last minute)", value: r === null ? "—" : `${fmtNum(r)}/s` },
    ]);
  };
  const figBox = h("div", {}, figs());
  const events = h("div", {}, eventList(live.recent));
  put(main, 
    h("h1", {}, "Overview"),
    figBox,
    h(
      "div",
      { class: "grid2" },
      section("Latest events", events),
      section("Deployments by stage", barChart("Active deployments at each stage", STAGES, perStage, { id: "stage-chart" })),
    ),
    section(
      "Top gaps",
      table(
        "Capabilities open scenarios need and no active supply offers",
        [
          { label: "capability", cell: (g) => link(`/gaps`, g.capability) },
          { label: "scenarios", cell: (g) => fmtNum(g.scenarios), num: true },
          { label: "demand signals", cell: (g) => fmtNum(g.demand_signals), num: true },
          { label: "where", cell: (g) => (g.scenario_ids || []).map((id, i) => [i ? ", " : "", scenarioLink(id)]) },
        ],
        gaps,
        { id: "top-gaps", empty: "No gaps: every capability asked for is offered." },
      ),
    ),
  );
  // live: the event list at once, the figures once a burst settles
  const refresh = live.debounce(async () => {
    Object.assign(c, await counts());
    put(figBox, figs());
  }, 500);
  const offEvents = live.on([""], () => put(events, eventList(live.recent)));
  const offCounts = live.on(["feedback.evidence", "provider.", "supply.", "scenario.", "deployment."], refresh);
  // the rate decays to zero when nothing comes
  const tick = setInterval(refresh, 10000);
  return () => {
    offEvents();
    offCounts();
    clearInterval(tick);
  };
}
