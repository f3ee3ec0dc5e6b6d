// SPDX-License-Identifier: Apache-2.0
// The live feed: one EventSource on /v1/events (the session cookie is its
// credential) that starts with the latest few events of each source and
// then follows. Pages subscribe by topic prefix; the browser reconnects by
// itself with Last-Event-ID, so nothing is missed across a blip.

// Every event type there is (docs/protocol.md, "Events, by source"):
// EventSource delivers named events only to listeners of that name.
const TYPES = [
  "provider.registered", "provider.updated",
  "supply.registered", "supply.updated", "supply.retired",
  "scenario.submitted", "scenario.updated", "scenario.closed",
  "iteration.recorded",
  "deployment.adopted", "deployment.upgraded", "deployment.advanced", "deployment.retired",
  "feedback.evidence", "feedback.problem", "feedback.demand",
];

const BACKLOG = 10; // events per source to begin with (the "latest events")
const KEEP = 50;    // the latest events kept for the overview

const listeners = new Set();
export const recent = [];
let source = null;
let statusEl = null;

function setStatus(state, text) {
  if (!statusEl) return;
  statusEl.className = "live " + state;
  statusEl.textContent = text;
}

function deliver(type, ev) {
  recent.unshift(ev);
  recent.splice(KEEP);
  for (const l of listeners) {
    if (l.prefixes.some((p) => type.startsWith(p))) {
      try {
        l.fn(ev);
      } catch (e) {
        console.error("live listener", e);
      }
    }
  }
}

export function start(el) {
  statusEl = el;
  stop();
  source = new EventSource(`/v1/events?tail=${BACKLOG}`);
  source.onopen = () => setStatus("on", "live");
  source.onerror = () => setStatus("off", source.readyState === EventSource.CLOSED ? "offline" : "reconnecting…");
  for (const t of TYPES) {
    source.addEventListener(t, (m) => {
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      deliver(t, ev);
    });
  }
  source.addEventListener("error", (m) => {
    // the stream's own error event (a bus error): it ends, the browser retries
    if (m.data) setStatus("off", "stream error");
  });
}

export function stop() {
  if (source) source.close();
  source = null;
  recent.splice(0);
  setStatus("off", "offline");
}

// fn(event) for every event whose type starts with one of prefixes; returns
// the function that unsubscribes (a page calls it when it is left).
export function on(prefixes, fn) {
  const l = { prefixes, fn };
  listeners.add(l);
  return () => listeners.delete(l);
}

// Calls fn at most once per ms, after the last of a burst of calls: a page
// refetches once for a flood of events, not once per event.
export function debounce(fn, ms = 700) {
  let t = null;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}

// One line about an event, for the lists of latest events.
export function describe(ev) {
  const p = ev.provider || ev.supply || ev.scenario || ev.iteration || ev.deployment;
  if (ev.deployment) {
    const d = ev.deployment;
    return `${d.id}: ${d.supply_id}@${d.version} in ${d.scenario_id}, ${d.stage}`;
  }
  if (ev.iteration) return `${ev.iteration.supply_id}@${ev.iteration.version}`;
  if (ev.evidence) {
    const e = ev.evidence;
    return `${e.supply_id}@${e.version}${e.scenario_id ? " in " + e.scenario_id : ""}: ${e.records} records`;
  }
  if (ev.problem) {
    const pr = ev.problem.problem || {};
    return `${pr.supply_id}: ${pr.title || pr.signature} (${pr.state})`;
  }
  if (ev.demand) return (ev.demand.demands || []).map((d) => `${d.capability} ×${d.signals}`).join(", ");
  return p ? p.id || "" : "";
}
