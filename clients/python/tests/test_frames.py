# SPDX-License-Identifier: Apache-2.0
"""history() and stats() as pandas DataFrames, and the console script."""
import json
import os
import subprocess
import sys

import pytest

import traction

from conftest import eventually

pd = pytest.importorskip("pandas")  # Debian's python3-pandas: installed by install-deps


@pytest.fixture(scope="module")
def versions(client):
    client.supply.provider_register(provider={"id": "fr", "name": "f", "kind": "PROVIDER_AI_COMPANY"})
    client.supply.register(supply={"id": "fr-vision", "provider_id": "fr", "name": "f",
                                   "kind": "SUPPLY_INDUSTRIAL_ALGORITHM", "capabilities": ["fx"],
                                   "initial_version": "1.0"})
    client.scenario.submit(scenario={"id": "fr-line", "enterprise": "E", "name": "f",
                                     "domain": "DOMAIN_PRODUCTION",
                                     "demands": [{"capabilities": ["fx"]}]})
    eventually(lambda: client.iteration.get(supply_id="fr-vision", version="1.0"))
    client.iteration.record(iteration={"supply_id": "fr-vision", "version": "1.1",
                                       "parent_version": "1.0"})
    recs = [traction.metric("fr-line", "fr-vision", v, "latency_ms", x, key=f"{v}-{i}")
            for v, x in (("1.0", 20.0), ("1.1", 15.0)) for i in range(10)]
    eventually(lambda: all(r.status.code == 0 for r in client.feedback.publish(records=recs).results))
    eventually(lambda: all(v.metrics for v in client.iteration.history(supply_id="fr-vision").versions))
    return "fr-vision"


def test_history_frame(client, versions):
    df = client.history(versions)
    assert list(df["version"]) == ["1.0", "1.1"]
    row = df[df.version == "1.1"].iloc[0]
    assert row["parent"] == "1.0" and row["count"] == 10 and row["mean"] == 15.0
    assert row["delta"] == -5.0 and round(row["delta_pct"]) == -25
    assert pd.isna(df[df.version == "1.0"].iloc[0]["delta"])  # no parent: absent, not 0


def test_stats_frame(client, versions):
    df = client.stats(versions, metric="latency_ms")
    assert len(df) == 1 and df.iloc[0]["count"] == 20 and round(df.iloc[0]["mean"], 9) == 17.5
    df = client.stats(versions, metric="latency_ms", version="1.1", granularity="GRANULARITY_HOUR")
    assert "start" in df.columns and df["count"].sum() == 10


def test_console_script(bus, versions):
    exe = os.path.join(os.path.dirname(sys.executable), "traction")
    env = dict(os.environ, TRACTION_ENDPOINT=bus.endpoint)
    out = subprocess.run([exe, "status"], env=env, capture_output=True, text=True, check=True)
    assert "feedback" in out.stdout and "1 live" in out.stdout
    out = subprocess.run([exe, "publish", "--scenario", "fr-line", "--supply", "fr-vision@1.1",
                          "--metric", "latency_ms=14", "--count", "3", "--key-prefix", "cli"],
                         env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["accepted"] == 3
    out = subprocess.run([exe, "history", versions, "--csv"], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.splitlines()[0].startswith("version,parent,released")
    bad = subprocess.run([exe, "call", "supply", "get", '{"id": "nope"}'], env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "NOT_FOUND" in bad.stderr


def test_the_example_plots_versions(bus, tmp_path):
    pytest.importorskip("matplotlib")  # Debian's python3-matplotlib
    script = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "plot_versions.py")
    out = tmp_path / "v.png"
    r = subprocess.run([sys.executable, script, "--endpoint", bus.endpoint, "--demo",
                        "--supply", "ex-vision", "--scenario", "ex-line", "--provider", "ex-maker",
                        "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].split()[:4] == ["1.0", "None", "defect_rate", "480"]
    assert lines[2].split()[:4] == ["1.1", "1.0", "defect_rate", "480"]
    assert out.stat().st_size > 10000 and out.read_bytes()[:4] == b"\x89PNG"
