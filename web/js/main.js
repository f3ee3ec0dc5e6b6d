// SPDX-License-Identifier: Apache-2.0
// The dashboard: a page per route of the address's hash (#/supplies/x),
// signed in with a session cookie traded for an API token, updated live
// from the event stream. No build step: ES modules as they are served.

import { whoami, signIn, signOut, setUnauthenticatedHandler, ApiError } from "./api.js";
import { h, put, errorBox } from "./dom.js";
import * as live from "./live.js";
import * as overview from "./views/overview.js";
import * as supply from "./views/supply.js";
import * as scenario from "./views/scenario.js";
import * as deployment from "./views/deployment.js";
import * as feedback from "./views/feedback.js";
import * as gaps from "./views/gaps.js";

const ROUTES = [
  [/^\/$/, overview.render, "Overview"],
  [/^\/supplies$/, supply.renderList, "Supply"],
  [/^\/supplies\/(?<id>[^/]+)(?:\/v\/(?<version>[^/]+))?$/, supply.renderOne, "Supply"],
  [/^\/scenarios$/, scenario.renderList, "Scenarios"],
  [/^\/scenarios\/(?<id>[^/]+)$/, scenario.renderOne, "Scenarios"],
  [/^\/deployments$/, deployment.renderList, "Deployments"],
  [/^\/deployments\/(?<id>[^/]+)$/, deployment.renderOne, "Deployments"],
  [/^\/feedback$/, feedback.render, "Feedback"],
  [/^\/gaps$/, gaps.render, "Gaps"],
];

const ctx = { who: null };
const main = document.getElementById("main");
let leave = null;   // the current page's unsubscribe
let renderSeq = 0;  // a newer navigation wins over a slow older one

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  const params = Object.fromEntries(new URLSearchParams(qs || ""));
  return { path: path || "/", params };
}

function markNav(section) {
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.textContent === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function route() {
  const seq = ++renderSeq;
  if (leave) leave();
  leave = null;
  const { path, params } = parseHash();
  let found = null;
  for (const [re, fn, section] of ROUTES) {
    const m = path.match(re);
    if (m) {
      const groups = Object.fromEntries(Object.entries(m.groups || {}).filter(([, v]) => v !== undefined).map(([k, v]) => [k, decodeURIComponent(v)]));
      found = { fn, section, params: { ...params, ...groups } };
      break;
    }
  }
  if (!found) {
    put(main, h("h1", {}, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/" }, "The overview.")));
    return;
  }
  markNav(found.section);
  document.title = `${found.section} — traction`;
  main.setAttribute("aria-busy", "true");
  try {
    const page = h("div");
    const off = await found.fn(page, found.params, ctx);
    if (seq !== renderSeq) {
      if (off) off();
      return;
    }
    leave = off || null;
    put(main, ...page.childNodes);
  } catch (err) {
    if (seq !== renderSeq) return;
    if (err instanceof ApiError && err.status === 401) return; // the sign-in dialog is up
    put(main, h("h1", {}, "Cannot show this page"), errorBox(err instanceof ApiError ? err : { code: "Error", message: String(err) }));
  } finally {
    if (seq === renderSeq) {
      main.removeAttribute("aria-busy");
      main.dataset.ready = path; // the browser test waits for this
    }
  }
}

function showUser() {
  const who = ctx.who;
  document.getElementById("user").textContent = who ? `${who.user || "local"} (${who.role})` : "";
  document.getElementById("logout").hidden = !(who && who.user);
}

const dialog = document.getElementById("login");
// Escape would leave a page with nothing to show: the dialog stays
dialog.addEventListener("cancel", (e) => e.preventDefault());
function askToken() {
  live.stop();
  ctx.who = null;
  showUser();
  if (!dialog.open) dialog.showModal();
  document.getElementById("token").focus();
}

document.getElementById("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("token");
  const msg = document.getElementById("login-error");
  msg.textContent = "";
  try {
    await signIn(input.value.trim());
  } catch (err) {
    msg.textContent = err.status === 401 ? "That token is not one of a user in keys_dir." : err.message;
    return;
  }
  input.value = "";
  dialog.close();
  await start();
});

document.getElementById("logout").addEventListener("click", async () => {
  await signOut().catch(() => {});
  askToken();
});

async function start() {
  try {
    ctx.who = await whoami();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // askToken ran
    put(main, h("h1", {}, "The gateway does not answer"), errorBox(err instanceof ApiError ? err : { code: "Error", message: String(err) }));
    return;
  }
  showUser();
  live.start(document.getElementById("live"));
  await route();
}

setUnauthenticatedHandler(askToken);
window.addEventListener("hashchange", route);
start();
