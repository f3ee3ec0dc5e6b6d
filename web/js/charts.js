// SPDX-License-Identifier: Apache-2.0
// Charts with Chart.js 3 (Debian's libjs-chart.js, window.Chart). A chart
// is a canvas labelled for screen readers, with its numbers in a table
// beside it, and updates in place when live data comes.

import { h, put, fmtNum, fmtTime } from "./dom.js";

const COLORS = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#65a30d"];

// Vertical lines at given x values (releases), each with its label.
const markerPlugin = {
  id: "trcMarkers",
  afterDatasetsDraw(chart, _args, opts) {
    const marks = (opts && opts.marks) || [];
    const { ctx, chartArea, scales } = chart;
    ctx.save();
    for (const m of marks) {
      const x = scales.x.getPixelForValue(m.x);
      if (x < chartArea.left || x > chartArea.right) continue;
      ctx.strokeStyle = "#6b7280";
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(x, chartArea.top);
      ctx.lineTo(x, chartArea.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#374151";
      ctx.font = "12px sans-serif";
      ctx.fillText(m.label, x + 4, chartArea.top + 12);
    }
    ctx.restore();
  },
};

function hasChart() {
  return typeof window.Chart === "function";
}

// A time series: series [{ label, points: [{x: ms, y}] }], marks [{x, label}].
// Returns { el, update(series, marks) }.
export function timeChart(title, series, marks = [], { id } = {}) {
  const canvas = h("canvas", { role: "img", "aria-label": title, id });
  const wrap = h("div", { class: "chart" }, canvas);
  const dataTable = h("table", { class: "chart-data" });
  const box = h("figure", {}, wrap, h("figcaption", {}, title), h("details", {}, h("summary", {}, "The numbers"), dataTable));
  let chart = null;
  const fill = (series, marks) => {
    put(dataTable, 
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "series"), h("th", { scope: "col" }, "time"), h("th", { scope: "col", class: "num" }, "value"))),
      h("tbody", {}, series.flatMap((s) => s.points.map((p) => h("tr", {}, h("td", {}, s.label), h("td", {}, fmtTime(p.x)), h("td", { class: "num" }, fmtNum(p.y)))))),
    );
    canvas.setAttribute(
      "aria-label",
      `${title}: ${series.map((s) => `${s.label}, ${s.points.length} points`).join("; ")}` +
        (marks.length ? `; releases ${marks.map((m) => m.label).join(", ")}` : ""),
    );
    if (!hasChart()) return;
    const datasets = series.map((s, i) => ({
      label: s.label,
      data: s.points,
      borderColor: COLORS[i % COLORS.length],
      backgroundColor: COLORS[i % COLORS.length],
      tension: 0.2,
      pointRadius: 3,
    }));
    if (chart) {
      chart.data.datasets = datasets;
      chart.options.plugins.trcMarkers.marks = marks;
      chart.update("none");
      return;
    }
    chart = new window.Chart(canvas.getContext("2d"), {
      type: "line",
      data: { datasets },
      plugins: [markerPlugin],
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "linear", ticks: { callback: (v) => new Date(v).toISOString().slice(5, 16).replace("T", " "), maxTicksLimit: 6 } },
          y: { beginAtZero: false },
        },
        plugins: { trcMarkers: { marks }, legend: { position: "bottom" } },
      },
    });
  };
  fill(series, marks);
  return { el: box, update: fill };
}

// Bars: labels and one dataset of values.
export function barChart(title, labels, values, { id } = {}) {
  const canvas = h("canvas", { role: "img", id, "aria-label": `${title}: ${labels.map((l, i) => `${l} ${values[i]}`).join(", ")}` });
  const box = h("figure", {}, h("div", { class: "chart short" }, canvas), h("figcaption", {}, title));
  if (hasChart()) {
    new window.Chart(canvas.getContext("2d"), {
      type: "bar",
      data: { labels, datasets: [{ label: title, data: values, backgroundColor: COLORS[0] }] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false } },
      },
    });
  }
  return box;
}
