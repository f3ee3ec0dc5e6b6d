# SPDX-License-Identifier: Apache-2.0
"""The HTTP API of traction-gatewayd, against the real set tests/gateway/run.sh
started: the story over HTTP, tokens and sessions, scoped and publishing
users, the event stream resumed by Last-Event-ID, the OpenAPI document
checked against the answers, and hostile input. Standard library only.

    /usr/bin/python3 test_http.py BASE_URL TOKENS_FILE
"""
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

BASE = urllib.parse.urlparse(sys.argv[1])
TOKENS = dict(line.split() for line in open(sys.argv[2]))
passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok {passed} - {what}", flush=True)


def fail(what):
    print(f"gateway: FAILED: {what}", file=sys.stderr, flush=True)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def call(method, path, body=None, user="admin", headers=None, raw=None, timeout=15):
    """One request on a fresh connection: (status, decoded JSON or text, headers)."""
    c = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=timeout)
    h = dict(headers or {})
    if user is not None:
        h["Authorization"] = "Bearer " + TOKENS[user]
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    if data is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        doc = text
    return r.status, doc, r


def eventually(method, path, body=None, want=200, user="admin"):
    """Cross-daemon reads are eventually consistent: retry for up to 10 s."""
    for _ in range(200):
        st, doc, _ = call(method, path, body, user=user)
        if st == want:
            return doc
        time.sleep(0.05)
    fail(f"{method} {path}: {st} {doc}")


def err_code(doc):
    return doc["error"]["code"] if isinstance(doc, dict) and "error" in doc else None


# ---- auth --------------------------------------------------------------------------
st, doc, r = call("GET", "/v1/providers", user=None)
check(st == 401 and err_code(doc) == "UNAUTHENTICATED", f"no token: {st} {doc}")
check(r.getheader("WWW-Authenticate", "").startswith("Bearer"), "WWW-Authenticate")
st, doc, _ = call("GET", "/v1/providers", user=None, headers={"Authorization": "Bearer nope"})
check(st == 401, f"a wrong token: {st}")
st, doc, _ = call("GET", "/v1/health", user=None)
check(st == 200 and doc["broker"] == "ok", f"health: {st} {doc}")
ok("401 without a token or with a wrong one; /v1/health is public")

# ---- the story over HTTP ----------------------------------------------------------
st, doc, _ = call("POST", "/v1/providers", {"id": "acme", "name": "Acme Vision", "kind": "ai-company"})
check(st == 201 and doc["provider"]["id"] == "acme", f"provider: {st} {doc}")
st, doc, _ = call("POST", "/v1/providers", {"id": "acme", "name": "Again", "kind": "ai-company"})
check(st == 409 and err_code(doc) == "ALREADY_EXISTS", f"again: {st} {doc}")
st, doc, _ = call("POST", "/v1/providers", {"id": "bad id!", "name": "x", "kind": "ai-company"})
check(st == 400 and "provider.id" in doc["error"]["message"], f"bad id: {st} {doc}")
st, doc, _ = call("POST", "/v1/providers", {"id": "x", "name": "x", "kind": "no-such-kind"})
check(st == 400 and "kind" in doc["error"]["message"], f"bad enum: {st} {doc}")
st, doc, _ = call("PATCH", "/v1/providers/acme", {"description": "machine vision"})
check(st == 200 and doc["provider"]["description"] == "machine vision"
      and doc["provider"]["name"] == "Acme Vision", f"patch: {st} {doc}")
st, doc, _ = call("POST", "/v1/supplies", {
    "id": "defect-vision", "provider_id": "acme", "kind": "industrial-algorithm",
    "name": "Defect Vision", "capabilities": ["defect-detection"], "initial_version": "1.0"})
check(st == 201, f"supply: {st} {doc}")
for sid, ent in (("weld-line-3", "Northern Steel"), ("paint-shop", "Northern Steel"),
                 ("glass-line", "Southern Glass")):
    st, doc, _ = call("POST", "/v1/scenarios", {
        "id": sid, "enterprise": ent, "domain": "production", "name": sid,
        "demands": [{"capabilities": ["defect-detection", "edge-deployment"]}]})
    check(st == 201, f"scenario {sid}: {st} {doc}")
st, doc, _ = call("GET", "/v1/scenarios?limit=2")
check(st == 200 and len(doc["scenarios"]) == 2 and doc["next_cursor"], f"page 1: {doc}")
cur = urllib.parse.quote(doc["next_cursor"])
st, doc2, _ = call("GET", f"/v1/scenarios?limit=2&cursor={cur}")
ids = [s["id"] for s in doc["scenarios"] + doc2["scenarios"]]
check(sorted(ids) == ["glass-line", "paint-shop", "weld-line-3"], f"pages: {ids}")
st, doc, _ = call("GET", "/v1/scenarios?enterprise=Southern%20Glass")
check([s["id"] for s in doc["scenarios"]] == ["glass-line"], f"filter: {doc}")
ok("providers, supplies, scenarios: 201, 409, 400 naming the field, PATCH, pages, filters")

doc = eventually("GET", "/v1/scenarios/weld-line-3/match")
check(doc["matches"][0]["supply"]["id"] == "defect-vision", f"match: {doc}")
st, doc, _ = call("GET", "/v1/gaps")
check(st == 200 and any(g["capability"] == "edge-deployment" for g in doc["gaps"]), f"gaps: {doc}")
dep = eventually("POST", "/v1/deployments",
                 {"scenario_id": "weld-line-3", "supply_id": "defect-vision", "version": "1.0"},
                 want=201)["deployment"]["id"]
ok(f"match, gaps, and {dep} adopted")

# feedback: one record with Idempotency-Key, twice
rec = {"scenario": "weld-line-3", "supply": "defect-vision@1.0", "metric": {"name": "defect_rate", "value": 0.03}}
rec = {"scenario": "weld-line-3", "supply": "defect-vision", "version": "1.0",
       "metric": {"name": "defect_rate", "value": 0.03}}
doc = None
for _ in range(200):
    st, doc, _ = call("POST", "/v1/feedback", rec, headers={"Idempotency-Key": "h-1"})
    if st == 200:
        break
    time.sleep(0.05)
check(st == 200 and doc["accepted"] == 1 and doc["results"][0]["record_id"] > 0, f"one: {st} {doc}")
first = doc["results"][0]["record_id"]
st, doc, _ = call("POST", "/v1/feedback", rec, headers={"Idempotency-Key": "h-1"})
check(st == 200 and doc["duplicates"] == 1 and doc["results"][0]["record_id"] == first
      and doc["results"][0]["duplicate"], f"again: {doc}")
# JSON Lines: 300 records, one line not JSON, one for an unknown scenario
lines = [json.dumps({"scenario": "weld-line-3", "supply": "defect-vision", "version": "1.0",
                     "key": f"l-{i}", "labels": {"shift": "night" if i % 2 else "day"},
                     "metric": {"name": "defect_rate", "value": 0.01 + (i % 9) / 1000}})
         for i in range(300)]
lines.insert(10, "this is not json")
lines.insert(20, json.dumps({"scenario": "nowhere", "supply": "defect-vision", "version": "1.0",
                             "metric": {"name": "defect_rate", "value": 0.5}}))
body = "\n".join(lines) + "\n"
st, doc, _ = call("POST", "/v1/feedback", raw=body.encode(),
                  headers={"Content-Type": "application/x-ndjson"})
check(st == 200 and doc["accepted"] == 300 and doc["refused"] == 2, f"ndjson: {st} {doc and {k: doc[k] for k in ('accepted', 'refused')}}")
bad = {r["line"]: r for r in doc["results"] if "code" in r}
check(bad[11]["code"] == "INVALID_ARGUMENT" and "not JSON" in bad[11]["message"], f"line 11: {bad}")
check(bad[21]["code"] == "NOT_FOUND" and "nowhere" in bad[21]["message"], f"line 21: {bad}")
st, doc, _ = call("POST", "/v1/feedback", raw=body.encode(),
                  headers={"Content-Type": "application/x-ndjson"})
check(doc["duplicates"] == 300 and doc["accepted"] == 0, "the same lines again store nothing")
# an array, and a record that is wrong
st, doc, _ = call("POST", "/v1/feedback", [dict(rec, key="a-1"), dict(rec, key="a-2", metric={"name": "defect_rate", "value": "high"})])
check(st == 200 and doc["accepted"] == 1 and doc["results"][1]["line"] == 2
      and doc["results"][1]["code"] == "INVALID_ARGUMENT", f"array: {doc}")
st, doc, _ = call("POST", "/v1/feedback", dict(rec, scenario="nowhere"))
check(st == 404 and err_code(doc) == "NOT_FOUND", f"one refused: {st} {doc}")
st, doc, _ = call("POST", "/v1/feedback", raw=b"{not json")
check(st == 400 and err_code(doc) == "INVALID_ARGUMENT", f"bad JSON: {st} {doc}")
ok("POST /v1/feedback: a record (Idempotency-Key), 300 JSON Lines with their bad lines named, an array")

st, doc, _ = call("GET", "/v1/stats?supply_id=defect-vision&scenario_id=weld-line-3&metric=defect_rate")
check(st == 200 and doc["metrics"][0]["stats"]["count"] == 302, f"stats: {doc}")
st, doc, _ = call("GET", "/v1/feedback?scenario_id=weld-line-3&label=shift=night&limit=1000")
check(st == 200 and len(doc["records"]) == 150, f"label filter: {len(doc.get('records', []))}")
st, doc, _ = call("GET", "/v1/feedback?kind=nosuch")
check(st == 400, f"a bad enum in the query: {st}")
st, doc, _ = call("GET", "/v1/feedback?nosuch=1")
check(st == 400 and "nosuch" in doc["error"]["message"], f"an unknown parameter: {doc}")
st, doc, _ = call("GET", "/v1/feedback?limit=ten")
check(st == 400 and "limit" in doc["error"]["message"], f"not a number: {doc}")
ok("stats count what was stored; list filters by label; bad query parameters are 400 naming them")

st, doc, _ = call("POST", f"/v1/deployments/{dep}/advance", {"to": "solution"})
check(st == 412 and err_code(doc) == "FAILED_PRECONDITION", f"advance: {st} {doc}")
subjects = {d["subject"]: d for d in doc["error"]["details"]}
check("scenarios_in_service" in subjects and subjects["scenarios_in_service"]["reason"] == "below_required",
      f"details: {doc['error']['details']}")
st, doc, _ = call("POST", "/v1/supplies/defect-vision/versions",
                  {"version": "1.1", "parent_version": "1.0", "notes": "better"})
check(st == 201 and doc["iteration"]["version"] == "1.1", f"record: {st} {doc}")
st, doc, _ = call("GET", "/v1/supplies/defect-vision/versions/1.1")
check(st == 200 and doc["iteration"]["parent_version"] == "1.0", f"get version: {doc}")
doc = eventually("GET", "/v1/supplies/defect-vision/history")
check([v["iteration"]["version"] for v in doc["versions"]] == ["1.0", "1.1"], f"history: {doc}")
st, doc, _ = call("GET", "/v1/supplies/defect-vision/diff?from_version=1.0&to_version=1.1")
check(st == 200, f"diff: {st} {doc}")
st, doc, _ = call("GET", f"/v1/deployments/{dep}/history")
check(st == 200 and doc["transitions"][0]["kind"] == "adopt", f"deployment history: {doc}")
ok("advance refused: 412 with the criteria as details; versions, history, diff, timeline")

# ---- users: a scoped reader, a publisher -------------------------------------------
st, doc, _ = call("GET", "/v1/scenarios", user="northern")
check(sorted(s["id"] for s in doc["scenarios"]) == ["paint-shop", "weld-line-3"], f"scoped list: {doc}")
st, doc, _ = call("GET", "/v1/scenarios/glass-line", user="northern")
check(st == 403 and doc["error"]["details"][0]["reason"] == "out_of_scope", f"scoped get: {st} {doc}")
st, doc, _ = call("POST", "/v1/providers", {"id": "z", "name": "z", "kind": "ai-company"}, user="northern")
check(st == 403, f"a reader writes: {st}")
st, doc, _ = call("POST", "/v1/feedback", dict(rec, key="s-1"), user="site3")
check(st == 200 and doc["accepted"] == 1, f"publisher: {st} {doc}")
st, doc, _ = call("POST", "/v1/feedback", dict(rec, key="s-2", scenario="paint-shop"), user="site3")
check(st == 403 and err_code(doc) == "PERMISSION_DENIED", f"publisher elsewhere: {st} {doc}")
st, doc, _ = call("GET", "/v1/feedback", user="site3")
check(st == 403, f"a publisher reads: {st}")
st, doc, _ = call("GET", f"/v1/feedback?scenario_id=weld-line-3&limit=1000", user="admin")
mine = [r for r in doc["records"] if r.get("idempotency_key") == "s-1"]
check(len(mine) == 1 and mine[0]["client_id"] == "site3", f"identity: {mine}")
ok("a scoped reader sees its enterprise's part (403 with out_of_scope beyond); a publisher user writes as itself")

# ---- sessions --------------------------------------------------------------------------
st, doc, r = call("POST", "/v1/session", {"token": TOKENS["northern"]}, user=None)
cookie = r.getheader("Set-Cookie", "")
check(st == 200 and doc["user"] == "northern" and "HttpOnly" in cookie, f"session: {st} {cookie}")
sid = cookie.split(";")[0]
st, doc, _ = call("GET", "/v1/scenarios", user=None, headers={"Cookie": sid})
check(st == 200 and len(doc["scenarios"]) == 2, f"with the cookie: {st}")
st, doc, _ = call("GET", "/v1/session", user=None, headers={"Cookie": sid})
check(st == 200 and doc["user"] == "northern" and doc["role"] == "reader"
      and doc["enterprises"] == ["Northern Steel"], f"who am I: {st} {doc}")
st, doc, _ = call("GET", "/v1/session", user="admin")
check(st == 200 and doc["role"] == "admin" and doc["enterprises"] == [], f"who am I, admin: {doc}")
st, doc, _ = call("DELETE", "/v1/session", user=None, headers={"Cookie": sid})
check(st == 200 and doc["ended"], f"end: {doc}")
st, doc, _ = call("GET", "/v1/scenarios", user=None, headers={"Cookie": sid})
check(st == 401, f"after the end: {st}")
st, doc, _ = call("POST", "/v1/session", {"token": "wrong"}, user=None)
check(st == 401, f"a session for a wrong token: {st}")
ok("a token traded for a session cookie (the scoped user's, with its role and scope), ended by DELETE")


# ---- events ---------------------------------------------------------------------------
def sse_open(path, user, last=None, timeout=10):
    """A stream, once answered (its first round read: where it begins is set)."""
    c = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=timeout)
    h = {"Authorization": "Bearer " + TOKENS[user]}
    if last:
        h["Last-Event-ID"] = last
    c.request("GET", path, headers=h)
    r = c.getresponse()
    check(r.status == 200 and r.getheader("Content-Type") == "text/event-stream", f"sse {r.status}")
    return c, r


def sse(path, user, n, last=None, timeout=10, opened=None):
    """The first n events of a stream: [(id, type, data)]."""
    c, r = opened or sse_open(path, user, last, timeout)
    out, ev = [], {}
    while len(out) < n:
        line = r.fp.readline().decode()
        if line == "":
            break
        line = line.rstrip("\n")
        if line == "":
            if "data" in ev:
                out.append((ev.get("id"), ev.get("event"), json.loads(ev["data"])))
            ev = {}
        elif not line.startswith(":"):
            k, _, v = line.partition(": ")
            ev[k] = v
    c.close()
    return out


evs = sse("/v1/events?source=scenario", "admin", 3)
check([e[2]["scenario"]["id"] for e in evs] == ["weld-line-3", "paint-shop", "glass-line"], f"sse: {evs}")
last = evs[1][0]
check(last == "scenario:2", f"an id is a position per source: {last}")
again = sse("/v1/events?source=scenario", "admin", 1, last=last)
check(again[0][2]["seq"] == 3, f"resumed after 2: {again}")
t0 = time.time()
got = []
th = threading.Thread(target=lambda: got.extend(sse("/v1/events?source=scenario", "admin", 1, last=evs[2][0])))
th.start()
time.sleep(0.5)
call("POST", "/v1/scenarios", {"id": "late-line", "enterprise": "Southern Glass", "domain": "production",
                               "name": "late", "demands": [{"capabilities": ["defect-detection"]}]})
th.join(10)
check(got and got[0][2]["scenario"]["id"] == "late-line" and got[0][0] == "scenario:4", f"live: {got}")
# ?tail=0: nothing of the past, the next event; ?tail=1: the last one, then on
got = []
opened = sse_open("/v1/events?source=scenario&tail=0", "admin")  # begun at the head
th = threading.Thread(target=lambda: got.extend(sse(None, None, 1, opened=opened)))
th.start()
call("POST", "/v1/scenarios", {"id": "later-line", "enterprise": "Southern Glass", "domain": "production",
                               "name": "later", "demands": [{"capabilities": ["defect-detection"]}]})
th.join(10)
check(got and got[0][2]["scenario"]["id"] == "later-line" and got[0][0] == "scenario:5",
      f"tail=0: {got}")
got = sse("/v1/events?source=scenario&tail=2", "admin", 2)
check([e[0] for e in got] == ["scenario:4", "scenario:5"], f"tail=2: {got}")
st, doc, _ = call("GET", "/v1/events?tail=x")
check(st == 400, f"a bad tail: {st}")
scoped = sse("/v1/events?source=scenario", "northern", 2)
check([e[2]["scenario"]["id"] for e in scoped] == ["weld-line-3", "paint-shop"], f"scoped stream: {scoped}")
one = sse("/v1/events?source=iteration&topic=deployment.", "admin", 1)
check(one[0][1] == "deployment.adopted", f"topic: {one}")
st, doc, _ = call("GET", "/v1/events?source=nosuch")
check(st == 400, f"a bad source: {st}")
st, doc, _ = call("GET", "/v1/events", user="site3")
check(st == 403, f"a publisher's stream: {st} {doc}")
ok("SSE: ids are positions, Last-Event-ID resumes with no gap and no repeat, live within a second, tail, scoped, by topic")

# ---- read-your-writes across daemons, over HTTP -------------------------------------
for i in range(5):
    st, doc, r = call("POST", "/v1/scenarios", {
        "id": f"fresh-{i}", "enterprise": "Southern Glass", "domain": "production",
        "name": "fresh", "demands": [{"capabilities": ["defect-detection"]}]})
    at = r.getheader("Traction-Committed", "")
    check(st == 201 and at.startswith("scenario:"), f"committed: {at}")
    # feedbackd learns the scenario from its event: Traction-After waits for it
    st, doc, r = call("POST", "/v1/feedback", dict(rec, scenario=f"fresh-{i}", key=f"f-{i}"),
                      headers={"Traction-After": at})
    check(st == 200 and doc["accepted"] == 1, f"publish after {at}: {st} {doc}")
    check(r.getheader("Traction-Committed", "").startswith("feedback:"), "feedback committed")
    applied = dict(p.split(":") for p in r.getheader("Traction-Applied", "").split(","))
    check(int(applied["scenario"]) >= int(at.split(":")[1]), f"applied {applied} after {at}")
st, doc, _ = call("GET", "/v1/scenarios", headers={"Traction-After": "scenario"})
check(st == 400, f"a bad Traction-After: {st}")
# a position not there yet: the request waits for it, then answers
n = int(at.split(":")[1])
waited = {}


def later():
    waited["st"], waited["doc"], _ = call("GET", "/v1/stats?supply_id=defect-vision&scenario_id=fresh-9",
                                          headers={"Traction-After": f"scenario:{n + 1}"})
    waited["s"] = time.time() - t


t = time.time()  # here, not in the thread: one started late would shrink the wait
th = threading.Thread(target=later)
th.start()
time.sleep(0.6)
call("POST", "/v1/scenarios", {"id": "fresh-9", "enterprise": "Southern Glass", "domain": "production",
                               "name": "fresh", "demands": [{"capabilities": ["defect-detection"]}]})
th.join(15)
check(waited.get("st") == 200 and 0.5 <= waited["s"] < 10, f"waited: {waited}")
ok("Traction-Committed of a write, sent back as Traction-After, makes the next request see it")

# ---- the OpenAPI document against the answers ------------------------------------------
st, api, _ = call("GET", "/v1/openapi.json", user=None)
check(st == 200 and api["openapi"].startswith("3."), "openapi")
schemas = api["components"]["schemas"]


def valid(v, s, where):
    if "$ref" in s:
        return valid(v, schemas[s["$ref"].split("/")[-1]], where)
    if "oneOf" in s:
        return any(valid(v, x, where) for x in s["oneOf"])
    t = s.get("type")
    if t == "object":
        check(isinstance(v, dict), f"{where}: not an object")
        for k, x in v.items():
            props = s.get("properties", {})
            check(k in props or s.get("additionalProperties", True) is not False,
                  f"{where}.{k}: not in the document")
            if k in props:
                valid(x, props[k], f"{where}.{k}")
    elif t == "array":
        check(isinstance(v, list), f"{where}: not an array")
        for i, x in enumerate(v):
            valid(x, s["items"], f"{where}[{i}]")
    elif t == "string":
        check(isinstance(v, str), f"{where}: not a string")
        check("enum" not in s or v in s["enum"], f"{where}: '{v}' not in its enum")
    elif t == "integer":
        check(isinstance(v, int) and not isinstance(v, bool), f"{where}: not an integer")
    elif t == "number":
        check(isinstance(v, (int, float)) and not isinstance(v, bool), f"{where}: not a number")
    elif t == "boolean":
        check(isinstance(v, bool), f"{where}: not a boolean")
    return True


fill = {"id": "weld-line-3", "version": "1.1"}
checked = 0
for path, item in api["paths"].items():
    for method, op in item.items():
        concrete = path
        if path.startswith("/v1/providers/"):
            concrete = path.replace("{id}", "acme")
        elif path.startswith("/v1/supplies/"):
            concrete = path.replace("{id}", "defect-vision").replace("{version}", "1.1")
        elif path.startswith("/v1/deployments/"):
            concrete = path.replace("{id}", dep)
        else:
            concrete = path.replace("{id}", "weld-line-3")
        if path == "/v1/events":
            continue  # a stream: checked above
        if method != "get":
            # the route exists: another method, or no body, is never 404/405
            st, doc, _ = call(method.upper(), concrete, raw=b"", timeout=10)
            check(st not in (404, 405) or err_code(doc) not in (None, "NOT_FOUND", "UNIMPLEMENTED")
                  or "no route" not in json.dumps(doc), f"{method} {path}: {st} {doc}")
            continue
        q = "?from_version=1.0&to_version=1.1" if path.endswith("/diff") else \
            "?supply_id=defect-vision" if path == "/v1/stats" else ""
        st, doc, _ = call("GET", concrete + q)
        check(st in (200, 201), f"GET {path}: {st} {doc}")
        resp = op["responses"].get("200") or op["responses"].get("201")
        valid(doc, resp["content"]["application/json"]["schema"], f"GET {path}")
        checked += 1
st, doc, _ = call("GET", "/v1/nosuch")
valid(doc, schemas["Error"], "an error")
check(checked >= 20, f"only {checked} answers checked")
ok(f"openapi.json: every route answers, and {checked} GET answers match their documented schemas")

# ---- hostile input -------------------------------------------------------------------------
# a 2 MiB body with max_body_mb = 1: refused on its headers, before the body
s = socket.create_connection((BASE.hostname, BASE.port), timeout=10)
s.sendall(("POST /v1/feedback HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKENS["admin"] +
           "\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n[" % (2 << 20)).encode())
head = s.recv(4096).decode(errors="replace")
s.close()
check(head.startswith("HTTP/1.1 413"), f"a 2 MiB body with max_body_mb = 1: {head[:80]}")
c = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=10)
c.putrequest("POST", "/v1/feedback")
c.putheader("Authorization", "Bearer " + TOKENS["admin"])
c.putheader("Transfer-Encoding", "chunked")
c.putheader("Content-Type", "application/json")
c.endheaders()
try:
    for _ in range(40):
        c.send(b"10000\r\n" + b" " * 0x10000 + b"\r\n")
    c.send(b"0\r\n\r\n")
    r = c.getresponse()
    check(r.status == 413, f"a chunked body past the limit: {r.status}")
except (BrokenPipeError, ConnectionResetError):
    pass  # cut off: also a refusal
c.close()
# the dashboard's files: public, typed, with a CSP; only plain names under web_dir
st, text, r = call("GET", "/", user=None)
check(st == 200 and r.getheader("Content-Type").startswith("text/html") and "<title>traction" in text
      and "script-src 'self'" in r.getheader("Content-Security-Policy", ""), f"/: {st}")
st, text, r = call("GET", "/js/main.js", user=None)
etag = r.getheader("ETag")
check(st == 200 and r.getheader("Content-Type").startswith("text/javascript") and etag, f"main.js {st}")
st, _, _ = call("GET", "/js/main.js", user=None, headers={"If-None-Match": etag})
check(st == 304, f"unchanged: {st}")
st, text, r = call("GET", "/vendor/chart.js/chart.min.js", user=None)
check(st == 200 and "Chart.js" in text[:200], f"Debian's Chart.js at /vendor/: {st}")
for bad in ("/../../etc/passwd", "/js/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/.hidden.js",
            "/js/.x.js", "/index.html%00.js", "/vendor/../../../etc/passwd", "/nosuch.html",
            "/js//main.js", "/js/main.js.", "/CMakeLists.txt.bak", "/vendor/chart.js/"):
    st, doc, _ = call("GET", bad, user=None)
    check(st == 404, f"{bad}: {st}")
st, doc, _ = call("POST", "/index.html", user=None)
check(st in (404, 405), f"POST to a file: {st}")
st, doc, _ = call("GET", "/v1/scenarios/%00x")
check(st in (400, 404), f"a NUL in the path: {st}")
st, doc, _ = call("GET", "/v1/scenarios/" + "x" * 5000)
check(st in (400, 404, 414, 431), f"a long path: {st}")
# slow clients: headers never finished; the gateway closes them after timeout_s
slow = []
for _ in range(4):
    s = socket.create_connection((BASE.hostname, BASE.port))
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
# many connections: past max_connections = 8 (4 slow ones hold places), 503
hold = [socket.create_connection((BASE.hostname, BASE.port)) for _ in range(6)]
time.sleep(0.3)
st, doc, _ = call("GET", "/v1/health", user=None)
check(st == 503 and err_code(doc) == "UNAVAILABLE", f"the 11th connection: {st} {doc}")
for s in hold:
    s.close()
time.sleep(3)  # timeout_s = 2
for s in slow:
    s.settimeout(2)
    try:
        gone = s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        gone = True
    check(gone, "a slow client was not closed")
    s.close()
st, doc, _ = call("GET", "/v1/health", user=None)
check(st == 200, f"after all that: {st}")
ok("the dashboard's files typed with a CSP and ETags, nothing outside web_dir; 413 for large bodies (chunked too), odd paths, slow clients closed, 503 past max_connections; still up")

print(f"gateway: {passed} passed, 0 failed")
