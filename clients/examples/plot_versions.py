#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Did version 1.1 help? Publishes a site's readings with the Python
package's background publisher (--demo: the README's story, two versions
and a day of hourly readings each), reads the supply's history as a
DataFrame, and plots a metric per version over time with matplotlib,
a line at each release.

    python3 clients/examples/plot_versions.py --demo --out versions.png
    python3 clients/examples/plot_versions.py --supply defect-vision --metric defect_rate

With the package installed (docs/python.md), or PYTHONPATH=build/python in
a built checkout; matplotlib from Debian's python3-matplotlib.
"""
import argparse
import random
import time

import matplotlib
matplotlib.use("Agg")  # a file, no display
import matplotlib.pyplot as plt  # noqa: E402

import traction  # noqa: E402

HOUR = 3600


def demo(c, supply, metric, scenario, provider):
    """The README's story: a supply at 1.0, a line that reports too many
    defects, 1.1 addressing it a day later."""
    def ok(fn, **kw):
        try:
            fn(**kw)
        except traction.AlreadyExists:
            pass
    ok(c.supply.provider_register, provider={"id": provider, "name": "Acme Vision",
                                             "kind": "PROVIDER_AI_COMPANY"})
    ok(c.supply.register, supply={"id": supply, "provider_id": provider, "name": "Defect Vision",
                                  "kind": "SUPPLY_INDUSTRIAL_ALGORITHM",
                                  "capabilities": ["defect-detection"], "initial_version": "1.0"})
    ok(c.scenario.submit, scenario={"id": scenario, "enterprise": "Northern Steel",
                                    "domain": "DOMAIN_PRODUCTION", "name": "Weld seam inspection",
                                    "demands": [{"capabilities": ["defect-detection"]}]})
    now = time.time()
    released = now - 24 * HOUR
    # iterationd learns of the supply from its events: wait until it has
    for _ in range(200):
        try:
            c.iteration.get(supply_id=supply, version="1.0")
            break
        except traction.NotFound:
            time.sleep(0.05)
    ok(c.iteration.record, iteration={"supply_id": supply, "version": "1.1",
                                      "parent_version": "1.0", "notes": "hairline crack model",
                                      "released_ms": int(released * 1000)})
    rnd = random.Random(7)
    with traction.Publisher(c.endpoints[0]) as pub:
        for h in range(48):
            at = now - (48 - h) * HOUR
            version, mean = ("1.0", 0.031) if at < released else ("1.1", 0.015)
            for k in range(20):
                pub.publish(traction.metric(scenario, supply, version, metric,
                                            max(0.0, rnd.gauss(mean, 0.003)),
                                            key=f"demo-{h}-{k}", observed_at=at + k * 60,
                                            labels={"site": "plant-7"}))
    # the aggregates are rolled up on a short tick: wait for them
    for _ in range(200):
        if all(v.metrics for v in c.iteration.history(supply_id=supply).versions):
            return
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", default=None)
    ap.add_argument("--supply", default="defect-vision")
    ap.add_argument("--metric", default="defect_rate")
    ap.add_argument("--scenario", default="weld-line-3", help="--demo: the scenario")
    ap.add_argument("--provider", default="acme", help="--demo: the provider")
    ap.add_argument("--demo", action="store_true", help="publish the README's story first")
    ap.add_argument("--out", default="versions.png")
    a = ap.parse_args()
    with traction.Client(a.endpoint) as c:
        if a.demo:
            demo(c, a.supply, a.metric, a.scenario, a.provider)
        hist = c.history(a.supply)
        print(hist[["version", "parent", "metric", "count", "mean", "delta_pct"]]
              .to_string(index=False))
        fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
        for version in hist["version"]:
            df = c.stats(a.supply, version=version, metric=a.metric,
                         granularity="GRANULARITY_HOUR")
            if len(df):
                ax.plot(df["start"], df["mean"], marker="o", markersize=3, label=f"{version}")
        for _, v in hist.drop_duplicates("version").iterrows():
            if v["parent"]:
                ax.axvline(v["released"], color="grey", linestyle="--")
                ax.annotate(f"release {v['version']}", (v["released"], ax.get_ylim()[1]),
                            textcoords="offset points", xytext=(4, -12), fontsize=8)
        ax.set_title(f"{a.supply}: {a.metric}, hourly mean per version")
        ax.set_ylabel(a.metric)
        ax.legend(title="version")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(a.out)
        print(f"plot: {a.out}")


if __name__ == "__main__":
    main()
