#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard in headless Chromium against a real daemon set.

Run by tests/dashboard/run.sh (which starts the set and the gateway):
    test_dashboard.py URL TOKENS_FILE ARTIFACTS_DIR [test|serve]

Seeds the README's story over the HTTP API (a provider, two supplies, two
enterprises' scenarios, a deployment, a release 1.0 -> 1.1 with feedback
before and after), then walks every page as a user would: each figure on a
page is compared with what the API answers for the same question, an
advance shows its refusal reasons, a record published during the test
appears without a reload, and a reader scoped to one enterprise does not
see the other's scenario. A screenshot of every page goes to ARTIFACTS_DIR.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

BASE = sys.argv[1].rstrip("/")
TOKENS = dict(line.split() for line in open(sys.argv[2]) if line.strip())
ARTIFACTS = sys.argv[3]
MODE = sys.argv[4] if len(sys.argv) > 4 else "test"
HOUR = 3600 * 1000
NOW = int(time.time() * 1000)


# ---- the API, as the test's own client -----------------------------------------


def api(method, path, body=None, token="admin", headers=None, ok=(200, 201)):
    data = None
    h = {"Authorization": "Bearer " + TOKENS[token]}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    doc = json.loads(text) if text else None
    if ok and status not in ok:
        raise AssertionError(f"{method} {path}: {status} {doc}")
    return doc


def eventually(fn, what, timeout=15.0):
    """fn() until it returns a true value (events take a moment to travel)."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except AssertionError as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last})")


def publish(records):
    lines = "\n".join(json.dumps(r) for r in records).encode()
    doc = api("POST", "/v1/feedback", lines, headers={"Content-Type": "application/x-ndjson"})
    assert doc["refused"] == 0, doc
    return doc


def metric(version, key, value, at):
    return {"scenario": "weld-line-3", "supply": "defect-vision", "version": version,
            "key": key, "observed_at": at, "labels": {"site": "plant-7", "line": "3"},
            "metric": {"name": "defect_rate", "value": value}}


def seed():
    api("POST", "/v1/providers", {"id": "acme", "name": "Acme Vision", "kind": "ai-company"})
    api("POST", "/v1/providers", {"id": "edgeworks", "name": "EdgeWorks",
                                  "kind": "solution-service"})
    api("POST", "/v1/supplies", {
        "id": "defect-vision", "provider_id": "acme", "kind": "industrial-algorithm",
        "name": "Defect Vision", "capabilities": ["defect-detection", "visual-inspection"],
        "initial_version": "1.0"})
    api("POST", "/v1/supplies", {
        "id": "edge-box", "provider_id": "edgeworks", "kind": "intelligent-terminal",
        "name": "Edge Box", "capabilities": ["edge-inference"], "initial_version": "2.0"})
    api("POST", "/v1/supplies", {
        "id": "seam-scan", "provider_id": "edgeworks", "kind": "multimodal-model",
        "name": "Seam Scan", "capabilities": ["defect-detection"], "initial_version": "0.9"})
    api("POST", "/v1/scenarios", {
        "id": "old-line", "enterprise": "Northern Steel", "domain": "production",
        "name": "Old line", "demands": [{"id": "x", "capabilities": ["defect-detection"]}]})
    api("POST", "/v1/scenarios/old-line/close", {"reason": "line closed"})
    api("POST", "/v1/scenarios", {
        "id": "weld-line-3", "enterprise": "Northern Steel", "domain": "production",
        "name": "Weld seam inspection",
        "demands": [{"id": "seams", "description": "find defects in weld seams",
                     "capabilities": ["defect-detection", "edge-deployment"],
                     "targets": [{"metric": "defect_rate", "comparison": "le",
                                  "threshold": 0.02}]}]})
    api("POST", "/v1/scenarios", {
        "id": "glass-sort", "enterprise": "Southern Glass", "domain": "supply-chain",
        "name": "Cullet sorting",
        "demands": [{"id": "sort", "capabilities": ["visual-inspection", "robot-picking"]}]})
    dep = eventually(lambda: api("POST", "/v1/deployments", {
        "scenario_id": "weld-line-3", "supply_id": "defect-vision", "version": "1.0"},
        ok=(201,)), "adopt")["deployment"]["id"]
    # 1.0 in the field for three hours: too many defects, a critical problem
    start = NOW - 6 * HOUR
    publish([metric("1.0", f"m10-{i}", 0.031 + (i % 5) * 0.001, start + i * 6 * 60 * 1000)
             for i in range(30)])
    publish([{"scenario": "weld-line-3", "supply": "defect-vision", "version": "1.0",
              "key": "p1", "observed_at": start + HOUR,
              "problem": {"severity": "critical", "title": "misses hairline cracks",
                          "signature": "hairline-miss"}},
             {"scenario": "weld-line-3", "supply": "defect-vision", "version": "1.0",
              "key": "d1", "observed_at": start + HOUR,
              "demand": {"text": "run on the line's edge box",
                         "capabilities": ["edge-deployment"]}}])
    eventually(lambda: api("POST", f"/v1/deployments/{dep}/advance", {"to": "refinement"},
                           ok=(200,)), "advance to refinement")
    # 1.1 addresses the problem, released three hours ago
    api("POST", "/v1/supplies/defect-vision/versions", {
        "version": "1.1", "parent_version": "1.0", "notes": "hairline crack model",
        "addresses": ["hairline-miss"], "released_ms": NOW - 3 * HOUR})
    api("POST", f"/v1/deployments/{dep}/upgrade", {"version": "1.1", "reason": "fixes hairlines"})
    publish([metric("1.1", f"m11-{i}", 0.014 + (i % 4) * 0.001,
                    NOW - 3 * HOUR + i * 6 * 60 * 1000) for i in range(25)])
    return dep


# ---- the browser -------------------------------------------------------------------

from selenium import webdriver  # noqa: E402  (python3-selenium, Debian's)
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402

PASSED = 0


def ok(what):
    global PASSED
    PASSED += 1
    print(f"ok {PASSED} - {what}", flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class Browser:
    def __init__(self, width=1280, height=900):
        o = Options()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  f"--window-size={width},{height}", "--lang=en-US"):
            o.add_argument(a)
        o.binary_location = "/usr/bin/chromium"
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
        self.shots = []

    def quit(self):
        self.d.quit()

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def go(self, route):
        """Navigates (inside the app, no reload) and waits for the page's data."""
        self.js("document.getElementById('main').dataset.ready = ''; location.hash = arguments[0];",
                "#" + route)
        self.ready(route.split("?")[0])

    def ready(self, path):
        eventually(lambda: self.js("return document.getElementById('main').dataset.ready")
                   == path, f"page {path} ready")

    # in one script: a page re-rendering live between two WebDriver calls
    # would leave stale elements
    def text(self, css):
        t = self.js("const e = document.querySelector(arguments[0]);"
                    "return e ? e.innerText.trim() : null", css)
        if t is None:
            raise AssertionError(f"no {css} on the page")
        return " ".join(t.split())

    def texts(self, css):
        return [" ".join(t.split()) for t in self.js(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)", css)]

    def shot(self, name):
        path = os.path.join(ARTIFACTS, f"{name}.png")
        # the whole page, not only the window: resize to its height first
        w = self.js("return window.innerWidth")
        hgt = self.js("return Math.min(document.documentElement.scrollHeight, 4000)")
        size = self.d.get_window_size()
        self.d.set_window_size(size["width"], max(hgt + (size["height"] - self.js(
            "return window.innerHeight")), size["height"]))
        self.d.save_screenshot(path)
        self.d.set_window_size(size["width"], size["height"])
        self.shots.append(path)
        return w

    def errors(self):
        """The console's errors but for the expected refusals (401 before
        signing in, a scoped reader's 403, the advance refused on purpose)."""
        out = []
        for e in self.d.get_log("browser"):
            if e["level"] != "SEVERE":
                continue
            m = e["message"]
            if "status of 401" in m or "status of 403" in m or (
                    "/advance" in m and "status of 412" in m):  # the refusal asked for
                continue
            out.append(m)
        return out


def sign_in(b, who):
    b.d.get(BASE + "/")
    eventually(lambda: b.js("return document.getElementById('login').open"), "the sign-in dialog")
    box = b.d.find_element(By.ID, "token")
    box.clear()
    box.send_keys(TOKENS[who] + Keys.ENTER)
    eventually(lambda: b.text("#user").startswith(who), f"signed in as {who}")
    b.ready("/")


def figure(b, fid):
    return b.text("#" + fid).replace(",", "")


def n(v):
    return f"{v:,}".replace(",", "")


def fmt(v):
    """dom.js fmtNum: integers whole, others to 4 significant digits."""
    v = float(v)
    if v.is_integer():
        return str(int(v))
    return repr(float(f"{v:.4g}"))


def api_counts(token="admin"):
    def every(path, key):
        out, cur = [], ""
        while True:
            doc = api("GET", f"{path}?limit=500&cursor={cur}", token=token)
            out += doc[key]
            cur = doc.get("next_cursor", "")
            if not cur:
                return out
    sup = every("/v1/supplies", "supplies")
    records = 0
    for s_ in sup:
        st = api("GET", f"/v1/stats?supply_id={s_['id']}", token=token, ok=None)
        if "error" in (st or {}):
            continue
        records += sum(int(m["stats"]["count"]) for m in st["metrics"])
        records += sum(int(p["reports"]) for p in st["problems"])
        records += int(st["values"]["count"]) + int(st["demands"])
    return {
        "count-providers": len(every("/v1/providers", "providers")),
        "count-supplies": len(sup),
        "count-scenarios": sum(1 for x in every("/v1/scenarios", "scenarios")
                               if x["status"] == "open"),
        "count-deployments": sum(1 for x in every("/v1/deployments", "deployments")
                                 if x["status"] == "active"),
        "count-records": records,
    }


def walk(dep):
    b = Browser()
    try:
        # signing in: a wrong token is refused in words, the right one lets in
        b.d.get(BASE + "/")
        eventually(lambda: b.js("return document.getElementById('login').open"), "sign-in")
        b.shot("00-sign-in")
        b.d.find_element(By.ID, "token").send_keys("trc_wrong" + Keys.ENTER)
        eventually(lambda: "not one of a user" in b.text("#login-error"), "a wrong token refused")
        sign_in(b, "admin")
        check(b.text("#user") == "admin (admin)", b.text("#user"))
        ok("sign in: a wrong token refused in words, the admin's token lets in")

        # overview: every figure equals the API's
        want = api_counts()
        for fid, v in want.items():
            eventually(lambda: figure(b, fid) == n(v), f"{fid} = {v} (page {figure(b, fid)})")
        gaps = [g["capability"] for g in api("GET", "/v1/gaps?limit=5")["gaps"]]
        check(b.texts("#top-gaps tbody tr td:first-child") == gaps, f"top gaps {gaps}")
        eventually(lambda: len(b.texts("#events li")) > 0, "the latest events")
        check(b.js("return !!document.querySelector('#stage-chart') && "
                   "!!Chart.getChart(document.querySelector('#stage-chart'))"), "stage chart drawn")
        b.shot("01-overview")
        ok(f"overview: {', '.join(f'{k}={v}' for k, v in want.items())} as the API says; top gaps, latest events, stage chart")

        # supply: lineage, aggregates and deltas, addressed problems, trend
        b.go("/supplies/defect-vision")
        hist = api("GET", "/v1/supplies/defect-vision/history")
        check(b.texts("#lineage > li > a.ver") == ["1.0"], "lineage root")
        check(b.texts("#lineage > li > ul > li > a.ver") == ["1.1"], "1.1 under 1.0")
        for v in hist["versions"]:
            ver = v["iteration"]["version"]
            rows = b.texts(f"[id='metrics-{ver}'] tbody tr")
            for m in v["metrics"]:
                row = next((r for r in rows if r.startswith(m["name"])), "")
                check(f"{m['count']} {fmt(m['mean'])} {fmt(m['p90'])}" in row,
                      f"{ver} {m['name']}: page '{row}', API {m['count']} {m['mean']}")
            for d in v["deltas"]:
                if int(d["from_count"]) and int(d["to_count"]):
                    check(fmt(d["abs_delta"]) in " ".join(rows), f"delta {d} in {rows}")
            for a in v["addressed"]:
                txt = b.text(f"[id='v-{ver}'] .addressed")
                check(a["signature"] in txt and ("stayed fixed" in txt) == a["stayed_fixed"], txt)
        eventually(lambda: b.js("const c = document.querySelector('#trend-chart');"
                                "const ch = c && Chart.getChart(c);"
                                "return ch ? ch.data.datasets.map(d => d.label + ':' + d.data.length) : null"),
                   "the trend chart")
        series = b.js("return Chart.getChart(document.querySelector('#trend-chart')).data.datasets"
                      ".map(d => [d.label, d.data.length])")
        for v in hist["versions"]:
            ver = v["iteration"]["version"]
            st = api("GET", f"/v1/stats?supply_id=defect-vision&version={ver}&metric=defect_rate&granularity=hour")
            check([f"defect_rate @ {ver}", len(st["metrics"][0]["trend"])] in series,
                  f"trend of {ver}: {series}")
        marks = b.js("return Chart.getChart(document.querySelector('#trend-chart')).options.plugins.trcMarkers.marks.map(m => m.label)")
        check(marks == ["release 1.1"], f"release markers {marks}")
        b.shot("02-supply")
        ok("supply: lineage tree, per-version aggregates, deltas and addressed problems as the history says; a trend line per version with the release marked")

        # scenario: demands, targets against thresholds, ranked matches, deployments
        b.go("/scenarios/weld-line-3")
        match = api("GET", "/v1/scenarios/weld-line-3/match")
        ranked = [m["supply"]["id"] for m in match["matches"]]
        check(len(ranked) >= 2 and b.texts("#matches tbody tr td:nth-child(2)") == ranked,
              f"ranking {ranked}")
        check(match["matches"][0]["reason"] in b.text("#matches"), "the reason shown")
        st = api("GET", f"/v1/stats?supply_id=defect-vision&version=1.1&scenario_id=weld-line-3&metric=defect_rate")
        mean = st["metrics"][0]["stats"]["mean"]
        row = b.text("#targets tbody tr")
        check(fmt(mean) in row and ("not met" in row) == (mean > 0.02), f"target row '{row}' vs mean {mean}")
        check(b.texts("#scenario-deployments .stages [aria-current='step']") == ["refinement"], "stage")
        b.shot("03-scenario")
        ok(f"scenario: matches in the API's order with reasons, the target met at mean {fmt(mean)}, the deployment's stage")

        # deployment: what is missing, and an advance refused with every reason
        b.go(f"/deployments/{dep}")
        gates = api("GET", f"/v1/deployments/{dep}/gates?to=service")
        unmet = sorted(c["name"] for c in gates["criteria"] if not c["met"])
        check(unmet, f"something is missing to reach service: {gates}")
        page_gates = api("GET", f"/v1/deployments/{dep}/gates")
        check(len(b.texts("#gates tbody tr")) == len(page_gates["criteria"]), "gates table")
        b.d.find_element(By.ID, "advance-to").send_keys("service")
        b.d.find_element(By.ID, "advance-button").click()
        eventually(lambda: "FAILED_PRECONDITION" in b.text("#advance-result"), "the refusal")
        shown = sorted(li.split(":")[0] for li in b.texts("#advance-result .details li"))
        check(shown == unmet, f"every unmet criterion: page {shown}, API {unmet}")
        check(api("GET", f"/v1/deployments/{dep}")["deployment"]["stage"] == "refinement", "not moved")
        b.shot("04-deployment")
        ok(f"deployment: the gates now; an advance to service refused showing each unmet criterion ({', '.join(unmet)})")

        # live: a record published now appears without a reload
        b.js("window.__same_page = 1")
        b.go("/feedback?supply_id=defect-vision")
        before = int(b.text("#records-count").split()[0].replace(",", ""))
        b.shot("05-feedback")
        rid = publish([metric("1.1", "live-1", 0.0123, NOW)])["results"][0]["record_id"]
        eventually(lambda: b.texts("#records tbody tr td:first-child")[:1] == [str(rid)],
                   "the new record on top")
        check(int(b.text("#records-count").split()[0].replace(",", "")) == before + 1, "count + 1")
        b.go("/")
        total = api_counts()["count-records"]
        publish([metric("1.1", "live-2", 0.0124, NOW)])
        eventually(lambda: figure(b, "count-records") == n(total + 1), "the overview's count, live")
        check(b.js("return window.__same_page") == 1, "no reload")
        ok("live: a record published during the test appears in the explorer and the overview's count without a reload")

        b.go("/gaps")
        check(b.texts("#gaps tbody tr td:first-child") ==
              [g["capability"] for g in api("GET", "/v1/gaps?limit=100")["gaps"]], "gaps")
        b.shot("06-gaps")
        ok("gaps: the unmet capabilities as the API ranks them")

        # keyboard and screen readers
        b.go("/")
        labels = b.js("return [...document.querySelectorAll('input, select')].filter("
                      "e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.id)")
        check(labels == [], f"inputs without a label: {labels}")
        canvases = b.js("return [...document.querySelectorAll('canvas')].filter("
                        "c => c.getAttribute('role') !== 'img' || !c.getAttribute('aria-label')).length")
        check(canvases == 0, "a chart without a label")
        b.d.get(BASE + "/")  # a fresh load: Tab starts at the top (the cookie stays)
        b.ready("/")
        seen = []
        for _ in range(10):
            ActionChains(b.d).send_keys(Keys.TAB).perform()
            seen.append(b.js("return document.activeElement.textContent.trim()"))
        for name in ("Skip to content", "Supply", "Scenarios", "Deployments", "Feedback", "Gaps"):
            check(name in seen, f"'{name}' not reached by Tab: {seen}")
        # Enter on a section's link opens it
        link = b.d.find_element(By.CSS_SELECTOR, "#nav a[href='#/gaps']")
        b.js("document.getElementById('main').dataset.ready = ''")
        link.send_keys(Keys.ENTER)
        b.ready("/gaps")
        ok("keyboard: the skip link and every section reached by Tab; every input and chart labelled")

        # phone width: nothing wider than the screen
        b.d.set_window_size(390, 844)
        for route, name in (("/", "07-phone-overview"), (f"/deployments/{dep}", "08-phone-deployment")):
            b.go(route)
            over = b.js("return document.documentElement.scrollWidth - window.innerWidth")
            check(over <= 1, f"{route} at 390 px is {over} px too wide")
            b.shot(name)
        b.d.set_window_size(1280, 900)
        ok("phone width (390 px): no page wider than the screen")

        errs = b.errors()
        check(errs == [], f"console errors: {errs}")
        ok("no error in the console")
    except Exception:
        b.shot("zz-failed")
        raise
    finally:
        b.quit()

    # a reader of Northern Steel sees its scenario, not Southern Glass's
    r = Browser()
    try:
        sign_in(r, "northern")
        check(figure(r, "count-scenarios") == n(api_counts("northern")["count-scenarios"]), "scoped count")
        r.go("/scenarios")
        ids = r.texts("#scenarios tbody tr td:first-child")
        check("weld-line-3" in ids and "glass-sort" not in ids, f"scoped list {ids}")
        r.go("/scenarios/glass-sort")
        check("PERMISSION_DENIED" in r.text("main"), r.text("main"))
        r.go(f"/deployments/{dep}")
        check(r.d.find_elements(By.ID, "advance-form") == [], "a reader gets no advance form")
        r.shot("09-scoped-reader")
        ok("a reader scoped to Northern Steel sees weld-line-3, not glass-sort (refused), and no advance")
    finally:
        r.quit()


# ---- serve: for working on the pages -----------------------------------------------


def serve():
    dep = seed()
    print(f"dashboard: {BASE}/  (deployment {dep})")
    for name, tok in TOKENS.items():
        print(f"  token of {name}: {tok}")
    print("Ctrl-C stops it.", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if MODE == "serve":
        serve()
    walk(seed())
    print(f"dashboard: {PASSED} checks passed; screenshots in {ARTIFACTS}")
