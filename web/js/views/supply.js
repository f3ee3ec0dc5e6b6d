// SPDX-License-Identifier: Apache-2.0
// Supply: the list, and one supply's versions — lineage as a tree, each
// version's aggregates with deltas against its parent, the problems it
// addressed and whether they stayed fixed, the deployments running it —
// and a trend of any metric over time with a marker at each release.

import { api, listSeen } from "../api.js";
import { h, put, section, table, figures, fmtNum, fmtPct, fmtTime, badge, supplyLink, deploymentLink, scenarioLink, link } from "../dom.js";
import { timeChart } from "../charts.js";
import * as live from "../live.js";

export async function renderList(main) {
  const supplies = await listSeen("/v1/supplies", "supplies");
  put(main, 
    h("h1", {}, "Supply"),
    table(
      "Supplies, by id",
      [
        { label: "supply", cell: (s) => supplyLink(s.id) },
        { label: "name", cell: (s) => s.name },
        { label: "provider", cell: (s) => s.provider_id },
        { label: "kind", cell: (s) => s.kind },
        { label: "capabilities", cell: (s) => (s.capabilities || []).join(", ") },
        { label: "status", cell: (s) => badge(s.status) },
      ],
      supplies,
      { id: "supplies", empty: "No supply registered yet." },
    ),
  );
}

// The versions as a tree of parent -> children, in lineage order.
function lineage(iterations, current) {
  const kids = new Map();
  for (const it of iterations) {
    const p = it.parent_version || "";
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(it);
  }
  const known = new Set(iterations.map((i) => i.version));
  const node = (it) =>
    h(
      "li",
      {},
      h("a", { href: `#/supplies/${encodeURIComponent(it.supply_id)}/v/${encodeURIComponent(it.version)}`, class: "ver" }, it.version),
      " ",
      h("span", { class: "muted" }, fmtTime(it.released_ms)),
      it.notes ? [" — ", it.notes] : null,
      current.has(it.version) ? [" ", badge("deployed", "active")] : null,
      kids.has(it.version) ? h("ul", {}, kids.get(it.version).map(node)) : null,
    );
  // roots: no parent, or a parent this list does not hold
  const roots = iterations.filter((it) => !it.parent_version || !known.has(it.parent_version));
  return h("ul", { class: "tree", id: "lineage", "aria-label": "version lineage" }, roots.map(node));
}

function versionCard(v, deployments) {
  const it = v.iteration;
  const deltas = new Map((v.deltas || []).map((d) => [d.metric, d]));
  const open = (v.problems || []).reduce((n, p) => n + Number(p.open) + Number(p.regressed), 0);
  const running = deployments.filter((d) => d.version === it.version && d.status === "active");
  return h(
    "article",
    { class: "card", id: `v-${it.version}`, "aria-labelledby": `vh-${it.version}` },
    h("h3", { id: `vh-${it.version}` }, `Version ${it.version}`, it.parent_version ? h("span", { class: "muted" }, ` (from ${it.parent_version})`) : null),
    h("p", {}, it.notes || ""),
    table(
      `Aggregates of ${it.version}${it.parent_version ? ", with the change against " + it.parent_version : ""}`,
      [
        { label: "metric", cell: (m) => m.name },
        { label: "records", cell: (m) => fmtNum(m.count), num: true },
        { label: "mean", cell: (m) => fmtNum(m.mean), num: true },
        { label: "p90", cell: (m) => fmtNum(m.p90), num: true },
        {
          label: "vs parent",
          // a delta with no data on either side is absent, never a zero
          cell: (m) => {
            const d = deltas.get(m.name);
            return d && Number(d.from_count) > 0 && Number(d.to_count) > 0 ? `${fmtNum(d.abs_delta)} (${fmtPct(d.pct_delta)})` : "—";
          },
          num: true,
        },
      ],
      v.metrics || [],
      { id: `metrics-${it.version}`, empty: "No metric records for this version yet." },
    ),
    (v.addressed || []).length
      ? h(
          "ul",
          { class: "addressed", "aria-label": `problems ${it.version} addressed` },
          v.addressed.map((a) =>
            h("li", {}, "addresses ", h("code", {}, a.signature), ": ", a.stayed_fixed ? badge("stayed fixed", "ok") : badge(`regressed in ${a.regressed_in}`, "bad")),
          ),
        )
      : null,
    h(
      "p",
      {},
      `${open} open problem${open === 1 ? "" : "s"}; value verified ${fmtNum(v.values && v.values.count)} times`,
      v.values && Number(v.values.count) > 0 ? ` (mean ${fmtPct(v.values.mean_improvement_pct)})` : "",
      ". Running in: ",
      running.length ? running.map((d, i) => [i ? ", " : "", deploymentLink(d.id), " (", scenarioLink(d.scenario_id), ", ", d.stage, ")"]) : "no deployment",
    ),
  );
}

// The trend of one metric, one line per version, buckets of an hour (of a
// day past two weeks of data).
async function trend(id, metric, history) {
  const series = [];
  for (const v of history.versions) {
    const ver = v.iteration.version;
    if (!(v.metrics || []).some((m) => m.name === metric)) continue;
    let st = await api("/v1/stats", { query: { supply_id: id, version: ver, metric, granularity: "hour" } });
    const m = (st.metrics || [])[0];
    if (m && Number(m.stats.last_seen_ms) - Number(m.stats.first_seen_ms) > 14 * 86400000) {
      st = await api("/v1/stats", { query: { supply_id: id, version: ver, metric, granularity: "day" } });
    }
    const agg = (st.metrics || [])[0];
    if (!agg) continue;
    series.push({ label: `${metric} @ ${ver}`, points: (agg.trend || []).map((b) => ({ x: Number(b.start_ms), y: Number(b.mean) })) });
  }
  // a release is a version with a parent (the initial one begins the line)
  const marks = history.versions
    .filter((v) => v.iteration.parent_version)
    .map((v) => ({ x: Number(v.iteration.released_ms), label: `release ${v.iteration.version}` }));
  return { series, marks };
}

export async function renderOne(main, { id, version }) {
  const supply = (await api(`/v1/supplies/${encodeURIComponent(id)}`)).supply;
  const box = {
    lineage: h("div"),
    versions: h("div"),
    problems: h("div"),
    demands: h("div"),
    chart: h("div"),
  };
  const metricSelect = h("select", { id: "trend-metric" });
  let chart = null;
  let history = null;

  const load = async () => {
    const [iterations, hist, deployments, problems, demands] = await Promise.all([
      listSeen(`/v1/supplies/${encodeURIComponent(id)}/versions`, "iterations"),
      api(`/v1/supplies/${encodeURIComponent(id)}/history`),
      listSeen("/v1/deployments", "deployments", { supply_id: id }),
      listSeen("/v1/problems", "problems", { supply_id: id }),
      api("/v1/demands", { query: { supply_id: id } }).catch(() => ({ demands: [] })),
    ]);
    history = hist;
    const current = new Set(deployments.filter((d) => d.status === "active").map((d) => d.version));
    put(box.lineage, lineage(iterations, current));
    put(box.versions, ...hist.versions.map((v) => versionCard(v, deployments)));
    put(box.problems, 
      table(
        `Problems reported against ${id}`,
        [
          { label: "problem", cell: (p) => p.title || p.signature },
          { label: "severity", cell: (p) => badge(p.severity) },
          { label: "state", cell: (p) => badge(p.state) },
          { label: "reports", cell: (p) => fmtNum(p.reports), num: true },
          { label: "first in", cell: (p) => p.first_version },
          { label: "addressed by", cell: (p) => p.addressed_by || "—" },
          { label: "regressed in", cell: (p) => p.regressed_in || "—" },
        ],
        problems,
        { id: "problems", empty: "No problem reported." },
      ),
    );
    put(box.demands, 
      table(
        "Capabilities the sites asked this supply for",
        [
          { label: "capability", cell: (d) => d.capability },
          { label: "signals", cell: (d) => fmtNum(d.signals), num: true },
          { label: "from", cell: (d) => (d.scenario_ids || []).map((s, i) => [i ? ", " : "", scenarioLink(s)]) },
        ],
        demands.demands || [],
        { id: "demands", empty: "No demand signal." },
      ),
    );
    const names = [...new Set(hist.versions.flatMap((v) => (v.metrics || []).map((m) => m.name)))].sort();
    const keep = metricSelect.value;
    put(metricSelect, ...names.map((n) => h("option", { value: n }, n)));
    if (names.includes(keep)) metricSelect.value = keep;
    await paintTrend();
  };

  const paintTrend = async () => {
    const metric = metricSelect.value;
    if (!metric) {
      put(box.chart, h("p", { class: "empty" }, "No metric records yet."));
      chart = null;
      return;
    }
    const { series, marks } = await trend(id, metric, history);
    if (chart && box.chart.contains(chart.el)) chart.update(series, marks);
    else {
      chart = timeChart(`${metric} over time, hourly means, by version`, series, marks, { id: "trend-chart" });
      put(box.chart, chart.el);
    }
  };
  metricSelect.addEventListener("change", paintTrend);

  put(main, 
    h("p", { class: "crumbs" }, link("/supplies", "Supply"), " / ", id),
    h("h1", {}, supply.name || id, " ", badge(supply.status)),
    figures([
      { id: "supply-provider", label: "Provider", value: supply.provider_id },
      { id: "supply-kind", label: "Kind", value: supply.kind },
      { id: "supply-capabilities", label: "Capabilities", value: (supply.capabilities || []).join(", ") },
    ]),
    h(
      "div",
      { class: "grid2" },
      section("Lineage", box.lineage),
      section("Trend", h("label", { for: "trend-metric" }, "Metric "), metricSelect, box.chart),
    ),
    section("Versions", box.versions),
    section("Problems", box.problems),
    section("Demand signals", box.demands),
  );
  await load();
  if (version) {
    const el = document.getElementById(`v-${version}`);
    if (el) el.scrollIntoView();
  }
  const refresh = live.debounce(load, 800);
  const mine = (ev) => {
    const x = ev.evidence || ev.iteration || ev.deployment || (ev.problem && ev.problem.problem) || {};
    if (x.supply_id === id || ev.demand) refresh();
  };
  return live.on(["feedback.", "iteration.", "deployment."], mine);
}
