// SPDX-License-Identifier: Apache-2.0
// Building the page: elements from data with textContent only (a name a
// provider typed never becomes markup), and the formats every page shares.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces el's children with these (nulls and falses left out).
export function put(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// A link to a page of the dashboard.
export function link(route, text) {
  return h("a", { href: "#" + route }, text);
}

export const supplyLink = (id) => link(`/supplies/${encodeURIComponent(id)}`, id);
export const scenarioLink = (id) => link(`/scenarios/${encodeURIComponent(id)}`, id);
export const deploymentLink = (id) => link(`/deployments/${encodeURIComponent(id)}`, id);

// A table: columns [{ label, cell: (row) => Node|string, num: bool }].
export function table(caption, columns, rows, { id, empty = "Nothing yet." } = {}) {
  if (!rows.length) return h("p", { class: "empty", id }, empty);
  return h(
    "table",
    { id },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((r) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(r))))),
    ),
  );
}

// A row of figures: [{ id, label, value }]; each figure's element has the
// id (the tests read them, screen readers read label then value).
export function figures(items) {
  return h(
    "dl",
    { class: "figures" },
    items.map((f) => h("div", { class: "figure" }, h("dt", {}, f.label), h("dd", { id: f.id }, f.value))),
  );
}

export function section(title, ...children) {
  const id = "s-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

export function fmtTime(ms) {
  if (!ms) return "—";
  const d = new Date(Number(ms));
  return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

// A number as people read it: up to 4 significant digits, no float noise.
export function fmtNum(v) {
  if (v === undefined || v === null || Number.isNaN(Number(v))) return "—";
  const n = Number(v);
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return Number(n.toPrecision(4)).toString();
}

export function fmtPct(v) {
  if (v === undefined || v === null) return "—";
  const n = Number(v);
  return (n > 0 ? "+" : "") + Number(n.toPrecision(3)) + "%";
}

export function badge(text, kind = text) {
  return h("span", { class: "badge b-" + String(kind).replace(/[^a-z0-9-]/gi, "") }, text);
}

export const STAGES = ["validation", "refinement", "pilot", "service", "solution"];

// A deployment's stages as a row of steps, the current one marked.
export function stageSteps(stage) {
  const at = STAGES.indexOf(stage);
  return h(
    "ol",
    { class: "stages", "aria-label": `stage ${stage}` },
    STAGES.map((s, i) =>
      h("li", { class: i < at ? "done" : i === at ? "now" : "todo", "aria-current": i === at ? "step" : null }, s),
    ),
  );
}

export function errorBox(err) {
  const box = h("div", { class: "error", role: "alert" }, h("strong", {}, err.code || "Error"), ": ", err.message);
  if (err.details && err.details.length) {
    box.append(
      h(
        "ul",
        { class: "details" },
        err.details.map((d) =>
          h("li", {}, `${d.subject}: ${d.reason}`, d.current !== "" || d.required !== "" ? ` (now ${d.current || "none"}, needs ${d.required})` : ""),
        ),
      ),
    );
  }
  return box;
}
