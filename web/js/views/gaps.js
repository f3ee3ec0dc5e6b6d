// SPDX-License-Identifier: Apache-2.0
// Gaps: the capabilities open scenarios need that no active supply offers,
// by domain — what providers should build next.

import { api } from "../api.js";
import { h, put, section, table, fmtNum, scenarioLink } from "../dom.js";
import { barChart } from "../charts.js";
import * as live from "../live.js";

const DOMAINS = ["", "rnd", "production", "supply-chain", "brand-marketing", "operations", "other"];

export async function render(main, params) {
  const domain = params.domain || "";
  const sel = h("select", { id: "gap-domain" }, DOMAINS.map((d) => h("option", { value: d }, d || "every domain")));
  sel.value = domain;
  sel.addEventListener("change", () => {
    location.hash = "#/gaps" + (sel.value ? "?domain=" + encodeURIComponent(sel.value) : "");
  });
  const box = h("div");
  const load = async () => {
    const gaps = (await api("/v1/gaps", { query: { domain, limit: 100 } })).gaps || [];
    const byDomain = new Map();
    for (const g of gaps) for (const d of g.domains || ["other"]) {
      if (!byDomain.has(d)) byDomain.set(d, []);
      byDomain.get(d).push(g);
    }
    const top = gaps.slice(0, 10);
    put(box,
      section(
        "Most needed",
        gaps.length ? barChart("Open scenarios needing each capability (top 10)", top.map((g) => g.capability), top.map((g) => Number(g.scenarios)), { id: "gaps-chart" }) : null,
        table(
        "Unmet capabilities, most needed first",
        [
          { label: "capability", cell: (g) => g.capability },
          { label: "open scenarios", cell: (g) => fmtNum(g.scenarios), num: true },
          { label: "demand signals", cell: (g) => fmtNum(g.demand_signals), num: true },
          { label: "domains", cell: (g) => (g.domains || []).join(", ") },
          { label: "scenarios", cell: (g) => (g.scenario_ids || []).map((id, i) => [i ? ", " : "", scenarioLink(id)]) },
        ],
        gaps,
        { id: "gaps", empty: "No gap: every capability an open scenario needs is offered." },
      ),
      ),
      byDomain.size
        ? section(
            "By domain",
            h("dl", { class: "by-domain", id: "gaps-by-domain" }, [...byDomain.entries()].map(([d, gs]) => [h("dt", {}, d), h("dd", {}, gs.map((g) => g.capability).join(", "))])),
          )
        : null,
    );
  };
  put(main, h("h1", {}, "Gaps"), h("p", {}, "What scenarios need and no active supply offers: what providers should build next."), h("label", { for: "gap-domain" }, "Domain "), sel, box);
  await load();
  return live.on(["scenario.", "supply.", "feedback.demand"], live.debounce(load, 800));
}
