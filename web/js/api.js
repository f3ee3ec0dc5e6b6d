// SPDX-License-Identifier: Apache-2.0
// The HTTP API (docs/http.md), as the pages use it: same origin, the
// session cookie (POST /v1/session) rather than a token in the page, JSON
// in and out, errors as ApiError with the bus's code and details.

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "UNKNOWN";
    this.details = e.details || [];
  }
}

// Called with the error when an answer says the session is gone (401).
let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

export async function api(path, { method = "GET", body, query } = {}) {
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === "") continue;
      for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
    }
    const s = q.toString();
    if (s) url += "?" + s;
  }
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(url, init);
  const text = await r.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch (e) {
    doc = null;
  }
  if (!r.ok) {
    const err = new ApiError(r.status, doc);
    if (r.status === 401) onUnauthenticated(err);
    throw err;
  }
  return doc;
}

// Every item of a paged list (next_cursor), up to max items.
export async function listAll(path, key, query = {}, max = 5000) {
  const out = [];
  let cursor = "";
  do {
    const doc = await api(path, { query: { ...query, cursor, limit: 500 } });
    out.push(...(doc[key] || []));
    cursor = doc.next_cursor || "";
  } while (cursor && out.length < max);
  return out;
}

// The same, or [] when the user may not read it (a scoped reader's 403):
// a page shows what the token allows and says nothing of the rest.
export async function listSeen(path, key, query = {}, max = 5000) {
  try {
    return await listAll(path, key, query, max);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return [];
    throw e;
  }
}

export async function whoami() {
  return api("/v1/session");
}

export async function signIn(token) {
  return api("/v1/session", { method: "POST", body: { token } });
}

export async function signOut() {
  return api("/v1/session", { method: "DELETE" });
}
