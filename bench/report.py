#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The report of bench/compare.sh: one table of every row (median and
min-max of the runs), the target ratios (each taken within one run, so
that they hold on a noisy machine, then median and min-max), written into
docs/performance.md between the compare markers, and two plots (gnuplot).

    report.py ROWS.tsv --runs N --millions M --command CMD --doc FILE --figures DIR

ROWS.tsv: run, section, name, value (rec/s, ops/s or as the name says), p50
us, p99 us; "-" where a figure does not apply. Standard library only.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys

SECTIONS = [
    ("limits", "1. The limits of this machine"),
    ("peers", "2. The peers (256-byte records; see the notes on durability)"),
    ("traction", "3. traction: feedback publish through the broker"),
    ("queries", "4. traction queries"),
    ("growth", "5. Growth: one store from empty"),
    ("http", "6. Clients: the HTTP API (traction-gatewayd) and the Python package against the native path"),
    ("lanes", "7. Reads beside ingest: probes of feedbackd while the publisher runs at full speed"),
    ("retention", "8. Retention: a store at steady ingest whose records expire (records, MiB of pages used)"),
    ("notify", "9. Webhook delivery: traction-notifyd against a bare libcurl loop, the same receiver (deliveries/s; latency from the alert fired, or the POST handed to libcurl, to its receipt)"),
    ("failover", "10. Broker failover: libtraction's publisher through two brokers, one SIGKILLed 10 times (bench/failover.sh; gaps between acknowledgements)"),
    ("raft", "11. Replication baseline: a bare 3-node C-Raft loop, the example FSM, no traction code (bench/raft_bare.c; reported, not judged: cluster mode's rows are to be held against it)"),
    ("cluster", "12. Cluster mode: the daemon set on three hosts in network namespaces, [cluster] election 500 ms, heartbeat 50 ms (bench/cluster.sh): against the bare loop with the same entries, and the single-host set"),
]
BEGIN = "<!-- compare:begin (written by bench/report.py; edit the script, not this) -->"
END = "<!-- compare:end -->"

# Every ratio below divides two rows of the same shape: records per
# message (for a peer: commands pipelined back to back, its closest to a
# request of several records), records in flight, through a broker or not
# (traction through its own; the bare loop through a bare relay), and for
# the bare loop the store's file written ahead as feedbackd's is.
BARE = "baseline: bare group-commit loop, 1000 in flight"
# the bare loop in the shape of each traction row (bench_publish.c)
SHAPE = "baseline: bare group-commit loop via a relay, file written ahead, "
BARE32 = SHAPE + "32 records/request, 32 in flight"
BARE3200 = SHAPE + "32 records/request, 100 in flight"
BAREPUB = SHAPE + "64 records/request, 16 in flight"
BARE1 = SHAPE + "1 in flight"
BARE10K = SHAPE + "open loop 10k/s"
PUB = "traction publish, libtraction publisher (64 x 16), 1024 in flight"
T1000 = "traction publish, 1 record/request, 1000 in flight"
T32 = "traction publish, 32 records/request, 32 in flight"
T3200 = "traction publish, 32 records/request, 100 in flight"
T1 = "traction publish, 1 in flight"
T10K = "traction publish, open loop 10k/s"
REDIS = "Redis Streams XADD, appendfsync always, 32 x 32 in flight"
# the publisher's shape: 16 connections of 64 pipelined, as it keeps 16
# requests of 64 records in flight
REDIS_PUB = "Redis Streams XADD, appendfsync always, 16 x 64 in flight"
REDIS1 = "Redis Streams XADD, appendfsync always, 1000 x 1 in flight"
NATS = "NATS JetStream publish (file store), 1000 in flight"
NATS_PUB = "NATS JetStream publish (file store), 64 x 16 in flight"
MQTT = "Mosquitto QoS 1 (persistence on), 1000 in flight"
MQTT_PUB = "Mosquitto QoS 1 (persistence on), 64 x 16 in flight"
# history of a supply whose records are spread over its 200 versions
# (bench_history 200 100000, as compare.sh runs it)
HISTORY = "iteration.history, 200 versions, 100000 records"
HISTORY_W = "iteration.history after a write, 200 versions, 100000 records"
# webhook delivery (bench_notify 2000 16, as compare.sh runs it)
NOTIFY_BARE = "baseline: bare libcurl multi, 2000 POSTs, 16 in flight"
NOTIFY_BURST = ("traction-notifyd, a burst of 2000 alerts, max_in_flight 16 (latency: fired to "
                "POST received)")
NOTIFY_BARE_PACED = "baseline: bare libcurl, one POST every 20 ms"
NOTIFY_PACED = "traction-notifyd, one alert every 20 ms (latency: fired to POST received)"
# cluster mode (bench/cluster.sh)
CLUSTER_RATIO = "3 hosts: entries/s over the bare loop's (target >= 0.6)"
CLUSTER_KILLS = ("3 hosts: writes resume after feedback's leader is SIGKILLed (ms, the longest; "
                 "p50, p99: of the gap in acknowledgements around each kill)")
# broker failover (bench/failover.sh, as compare.sh runs it)
FAILOVER_CALM = ("publisher through two brokers, none killed (p50: the p99 gap between acks; "
                 "p99: the longest)")
FAILOVER_KILLS = ("publisher through two brokers, one SIGKILLed 10 times (p50, p99: of the gap "
                  "around each kill)")


def num(s):
    return None if s in ("-", "", None) else float(s)


def load(path):
    rows = {}   # (section, name) -> {run: (v, p50, p99)}
    order = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            run, sec, name, v, p50, p99 = parts
            key = (sec, name)
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][int(run)] = (num(v), num(p50), num(p99))
    return rows, order


def spread(values, fmt):
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt(med)
    return "%s (%s-%s)" % (fmt(med), fmt(min(vals)), fmt(max(vals)))


def f_rate(v):
    if v >= 100 or v == int(v):
        return "{:,.0f}".format(v)
    return "%.2f" % v if v < 10 else "%.1f" % v  # ratios, shares, us a record


def f_us(v):
    if v >= 1e6:
        return "%.2f s" % (v / 1e6)
    return "%.0f us" % v if v < 1000 else "%.2f ms" % (v / 1000)


def f_ratio(v):
    return "%.2f" % v


def by_name(rows, name):
    for (sec, n), runs in rows.items():
        if n == name:
            return runs
    return {}


def per_run(rows, a, b, ia=0, ib=0, op="div"):
    """a[ia] / b[ib] (or a - b) in each run that has both."""
    ra, rb = by_name(rows, a), by_name(rows, b)
    out = []
    for run in sorted(set(ra) & set(rb)):
        x, y = ra[run][ia], rb[run][ib]
        if x is None or y is None or (op == "div" and y == 0):
            continue
        out.append(x / y if op == "div" else x - y)
    return out


def table(rows, order):
    lines = []
    for sec, title in SECTIONS:
        keys = [k for k in order if k[0] == sec]
        if not keys:
            continue
        lines += ["", "**%s**" % title, "",
                  "| row | records/s (or as named) | p50 | p99 |", "|---|---:|---:|---:|"]
        for key in keys:
            runs = rows[key]
            v = [r[0] for r in runs.values()]
            p50 = [r[1] for r in runs.values()]
            p99 = [r[2] for r in runs.values()]
            lines.append("| %s | %s | %s | %s |" % (key[1], spread(v, f_rate),
                                                   spread(p50, f_us), spread(p99, f_us)))
    return lines


def targets(rows, millions):
    t = []

    def add(what, target, vals, fmt, ok):
        if not vals:
            t.append("| %s | %s | not measured | - |" % (what, target))
            return
        med = statistics.median(vals)
        verdict = "" if target == "(reference)" else "met" if ok(med) else "**not met**"
        t.append("| %s | %s | %s | %s |" % (what, target, spread(vals, fmt), verdict))

    add("libtraction publisher (64 x 16) / Redis appendfsync always (16 x 64 pipelined)",
        ">= 1.5", per_run(rows, PUB, REDIS_PUB), f_ratio, lambda m: m >= 1.5)
    add("32 records/request, 32 in flight / Redis always (32 x 32 pipelined)", ">= 1.5",
        per_run(rows, T32, REDIS), f_ratio, lambda m: m >= 1.5)
    add("1 record/request, 1,000 in flight / Redis always, not pipelined (1000 x 1)",
        "(reference)", per_run(rows, T1000, REDIS1), f_ratio, lambda m: m >= 1.5)
    add("libtraction publisher (64 x 16) / NATS JetStream (16 groups of 64 in flight)", ">= 2",
        per_run(rows, PUB, NATS_PUB), f_ratio, lambda m: m >= 2)
    add("1 record/request, 1,000 in flight / NATS JetStream (1,000 in flight)", "(reference)",
        per_run(rows, T1000, NATS), f_ratio, lambda m: m >= 2)
    add("libtraction publisher (64 x 16) / Mosquitto QoS 1 (16 groups of 64 in flight)", ">= 2",
        per_run(rows, PUB, MQTT_PUB), f_ratio, lambda m: m >= 2)
    add("1 record/request, 1,000 in flight / Mosquitto QoS 1 (1,000 in flight)", "(reference)",
        per_run(rows, T1000, MQTT), f_ratio, lambda m: m >= 2)
    add("libtraction publisher (64 x 16) / bare loop 64 x 16, via a relay, written ahead",
        ">= 0.8", per_run(rows, PUB, BAREPUB), f_ratio, lambda m: m >= 0.8)
    add("32 records/request, 32 in flight / bare loop 32 x 32, via a relay, written ahead",
        ">= 0.8", per_run(rows, T32, BARE32), f_ratio, lambda m: m >= 0.8)
    add("32 records/request, 100 in flight / bare loop 32 x 100, via a relay, written ahead",
        "(reference)", per_run(rows, T3200, BARE3200), f_ratio, lambda m: m >= 0.8)
    add("one in flight: p50 minus the bare loop's p50 (1 in flight, via a relay, written ahead)",
        "<= 0.3 ms", [d / 1000 for d in per_run(rows, T1, BARE1, 1, 1, "sub")],
        lambda v: "%+.2f ms" % v, lambda m: m <= 0.3)
    # issue #22: a difference, so that the bare loop's own spikes do not
    # decide it (the ratio stays beside it for the reports before)
    add("open loop 10k/s: p99 minus the bare loop's p99 (10k/s, via a relay, written ahead)",
        "<= 0.5 ms", [d / 1000 for d in per_run(rows, T10K, BARE10K, 2, 2, "sub")],
        lambda v: "%+.2f ms" % v, lambda m: m <= 0.5)
    add("open loop 10k/s: p99 / the bare loop's p99", "(reference)",
        per_run(rows, T10K, BARE10K, 2, 2), f_ratio, lambda m: m <= 1.2)
    for shape in ("1000", "64 x 16"):
        add("traction-mqttd QoS 1, PUBACK once stored / Mosquitto QoS 1 (%s in flight, the same "
            "client and payload)" % shape, ">= 1.0",
            per_run(rows, "traction-mqttd QoS 1 (PUBACK once stored), %s in flight" % shape,
                    "Mosquitto QoS 1 (persistence on), %s in flight" % shape), f_ratio,
            lambda m: m >= 1.0)
    last = "publish rate, million %d" % millions
    add("publish rate, million %d / million 1" % millions, ">= 0.85",
        per_run(rows, last, "publish rate, million 1"), f_ratio, lambda m: m >= 0.85)
    add("the same for bare LMDB appends (the machine)", "(reference)",
        per_run(rows, "bare LMDB growth, million %d" % millions, "bare LMDB growth, million 1"),
        f_ratio, lambda m: m >= 0.85)
    for what, name in (("iteration.history", HISTORY),
                       ("iteration.history after a write", HISTORY_W)):
        runs = by_name(rows, name)
        add("%s p99, 100,000 records spread over 200 versions" % what, "< 1 ms",
            [r[2] / 1000 for r in runs.values() if r[2] is not None],
            lambda v: "%.2f ms" % v, lambda m: m < 1.0)
    # the growth store's records are spread over its 200 versions too
    for at in dict.fromkeys(("0 records", "1M records", "%dM records" % millions)):
        for what in ("iteration.history", "iteration.history after a write"):
            runs = by_name(rows, "%s at %s" % (what, at))
            add("%s p99 at %s" % (what, at), "< 1 ms",
                [r[2] / 1000 for r in runs.values() if r[2] is not None],
                lambda v: "%.2f ms" % v, lambda m: m < 1.0)
    # the HTTP API: ratios to the native path in the same run (bench_http.c)
    native = "publish: libtraction publisher (native)"
    add("JSON Lines over HTTP (4 connections, 1,000 records a request) / libtraction publisher",
        ">= 0.5", per_run(rows, "publish: JSON Lines over HTTP", native), f_ratio,
        lambda m: m >= 0.5)
    add("tractionctl feedback publish --file / libtraction publisher", ">= 0.5",
        per_run(rows, "publish: tractionctl --file (JSON Lines)", native), f_ratio,
        lambda m: m >= 0.5)
    add("the Python package's Publisher / libtraction publisher", ">= 0.2",
        per_run(rows, "publish: Python package's Publisher", native), f_ratio,
        lambda m: m >= 0.2)
    for q in ("stats", "history", "match"):
        add("%s over HTTP: p99 minus its p99 on the bus" % q, "<= 1 ms",
            [d / 1000 for d in per_run(rows, "%s over HTTP" % q, "%s on the bus" % q, 2, 2,
                                       "sub")],
            lambda v: "%+.2f ms" % v, lambda m: m <= 1.0)
    # the cost of metrics (bench_publish.c): drives taking turns, fresh stores
    add("publisher with metrics scraped every second / without", ">= 0.95",
        per_run(rows, "publisher (64 x 16), feedbackd with metrics, scraped every second",
                "publisher (64 x 16), feedbackd without metrics"), f_ratio,
        lambda m: m >= 0.95)
    # the cost of judging alert rules as records arrive (bench_publish.c)
    add("publisher with 19 alert rules on its metric / without", ">= 0.95",
        per_run(rows, "publisher (64 x 16), feedbackd with 19 alert rules",
                "publisher (64 x 16), feedbackd without alert rules"), f_ratio,
        lambda m: m >= 0.95)
    # what feedbackd itself spends a record (bench_publish.c, bench_cpu_t): the
    # rate of a drive moves with whatever else the shared machine runs, the
    # daemon's own CPU time over a fixed number of records much less
    cpu = "feedbackd CPU ns a record, "
    instr = "feedbackd instructions a record, "
    add("feedbackd CPU a record with 19 alert rules / without", "<= 1.05",
        per_run(rows, cpu + "publisher (64 x 16), feedbackd with 19 alert rules",
                cpu + "publisher (64 x 16), feedbackd without alert rules"), f_ratio,
        lambda m: m <= 1.05)
    user = "feedbackd user CPU ns a record, "
    add("feedbackd user CPU a record with 19 alert rules / without", "(reference)",
        per_run(rows, user + "publisher (64 x 16), feedbackd with 19 alert rules",
                user + "publisher (64 x 16), feedbackd without alert rules"), f_ratio,
        lambda m: m <= 1.05)
    if by_name(rows, instr + "publisher (64 x 16), feedbackd without alert rules"):
        add("feedbackd instructions a record with 19 alert rules / without", "(reference)",
            per_run(rows, instr + "publisher (64 x 16), feedbackd with 19 alert rules",
                    instr + "publisher (64 x 16), feedbackd without alert rules"), f_ratio,
            lambda m: m <= 1.05)
    add("feedbackd CPU a record with metrics scraped every second / without", "(reference)",
        per_run(rows, cpu + "publisher (64 x 16), feedbackd with metrics, scraped every second",
                cpu + "publisher (64 x 16), feedbackd without metrics"), f_ratio,
        lambda m: m <= 1.05)
    # ingest beside a large expiry (bench_publish.c): ack p99, drives taking turns
    add("publisher ack p99 while expiring a backlog / keeping it", "<= 1.2",
        per_run(rows, "publisher (64 x 16), feedbackd expiring its backlog",
                "publisher (64 x 16), feedbackd keeping its backlog", 2, 2), f_ratio,
        lambda m: m <= 1.2)
    # reads beside ingest (bench_lanes.c): each figure against its own idle
    # or probe-free row of the same run
    for q in ("ping feedbackd", "feedback.stats"):
        add("%s p99 during full-speed ingest / idle" % q, "<= 2",
            per_run(rows, "%s, during ingest" % q, "%s, idle" % q, 2, 2), f_ratio,
            lambda m: m <= 2)
    # webhook delivery (bench_notify.c): notifyd against a bare libcurl multi
    # loop, the same receiver, in the same run; no target in the issue
    add("webhook deliveries/s, notifyd (a burst of 2000 alerts, 16 in flight) / bare libcurl "
        "(16 in flight)", "(reference)",
        per_run(rows, NOTIFY_BURST, NOTIFY_BARE), lambda v: "%.3f" % v, lambda m: True)
    add("webhook latency p50, one alert every 20 ms: notifyd (fired to received) minus bare "
        "libcurl (handed to libcurl to received)", "(reference)",
        [d / 1000 for d in per_run(rows, NOTIFY_PACED, NOTIFY_BARE_PACED, 1, 1, "sub")],
        lambda v: "%+.1f ms" % v, lambda m: True)
    # broker failover (bench/failover.sh): the gap a kill costs, and the same
    # publisher's longest gap when nothing dies, in the same run
    add("the longest gap between acknowledgements around a broker SIGKILL (of 10)", "< 1 s",
        [r[2] / 1e6 for r in by_name(rows, FAILOVER_KILLS).values() if r[2] is not None],
        lambda v: "%.3f s" % v, lambda m: m < 1)
    add("gap around a kill, p50 of 10, minus the longest gap without a kill", "(reference)",
        [d / 1000 for d in per_run(rows, FAILOVER_KILLS, FAILOVER_CALM, 1, 2, "sub")],
        lambda v: "%+.1f ms" % v, lambda m: True)
    add("rate through the kills / without", "(reference)",
        per_run(rows, FAILOVER_KILLS, FAILOVER_CALM), f_ratio, lambda m: True)
    # cluster mode (bench/cluster.sh): its entries against the bare loop's
    # of the same size, and the gap a leader's SIGKILL costs
    add("cluster: feedback's raft entries/s over the bare C-Raft loop's (same entries)", ">= 0.6",
        [r[0] for r in by_name(rows, CLUSTER_RATIO).values() if r[0] is not None],
        f_ratio, lambda m: m >= 0.6)
    add("cluster: writes resume after a leader SIGKILL, p99 of 20", "<= 2 s",
        [r[2] / 1e6 for r in by_name(rows, CLUSTER_KILLS).values() if r[2] is not None],
        lambda v: "%.2f s" % v, lambda m: m <= 2)
    add("ingest rate with the probes / without", ">= 0.9",
        per_run(rows, "ingest with the probes", "ingest alone (publisher 64 x 16)"), f_ratio,
        lambda m: m >= 0.9)
    return t


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def plots(rows, millions, figdir):
    os.makedirs(figdir, exist_ok=True)
    bars = [("bare loop", BARE), ("bare loop via relay",
            "baseline: bare group-commit loop via a relay, 1000 in flight"),
            ("bare loop 64 x 16 relay ahead", BAREPUB), ("bare loop 32 x 32 relay ahead", BARE32),
            ("Redis always", REDIS), ("Redis always 16 x 64", REDIS_PUB),
            ("Redis always 1000 x 1", REDIS1),
            ("Redis everysec", "Redis Streams XADD, appendfsync everysec, 32 x 32 in flight"),
            ("NATS JetStream", NATS), ("NATS 64 x 16", NATS_PUB),
            ("Mosquitto QoS 1", MQTT), ("Mosquitto 64 x 16", MQTT_PUB),
            ("traction 1 x 1000", T1000), ("traction publisher 64 x 16", PUB),
            ("traction 32 x 32", T32), ("traction 32 x 100", T3200)]
    data = os.path.join(figdir, "throughput.dat")
    with open(data, "w") as f:
        for i, (label, name) in enumerate(bars):
            vals = [r[0] for r in by_name(rows, name).values() if r[0] is not None]
            if vals:
                f.write('%d "%s" %f %f %f\n' % (i, label, statistics.median(vals) / 1000,
                                               min(vals) / 1000, max(vals) / 1000))
    gnuplot("""set terminal pngcairo size 1100,460
set output '%s'
set title 'Acknowledged records per second, 256-byte records (median, min-max of the runs)'
set ylabel 'thousand records/s'
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -25
set grid ytics
plot '%s' using 1:3:xtic(2) with boxes notitle, '' using 1:3:4:5 with yerrorbars lc rgb 'black' pt 0 notitle
""" % (os.path.join(figdir, "throughput.png"), data))
    data = os.path.join(figdir, "growth.dat")
    with open(data, "w") as f:
        for m in range(1, millions + 1):
            cols = []
            for name in ("publish rate, million %d", "bare LMDB growth, million %d"):
                first = by_name(rows, name % 1)
                now = by_name(rows, name % m)
                vals = [now[r][0] / first[r][0] for r in now
                        if r in first and now[r][0] and first[r][0]]
                cols += [statistics.median(vals), min(vals), max(vals)] if vals else [0, 0, 0]
            f.write("%d %s\n" % (m, " ".join("%f" % c for c in cols)))
    gnuplot("""set terminal pngcairo size 900,420
set output '%s'
set title 'Ingest rate as one store grows, relative to its first million (median, min-max)'
set xlabel 'million records stored at the end of the million'
set ylabel 'rate / rate of the first million'
set yrange [0:1.2]
set grid
set key bottom left
plot '%s' using 1:2:3:4 with yerrorlines title 'traction publish (32 x 100 in flight)', \
     '' using 1:5:6:7 with yerrorlines title 'bare LMDB durable appends, 450 B, 1000 per txn'
""" % (os.path.join(figdir, "growth.png"), data))
    for name in ("throughput.dat", "growth.dat"):
        os.unlink(os.path.join(figdir, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rows")
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--millions", type=int, required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--doc")
    ap.add_argument("--figures")
    a = ap.parse_args()
    rows, order = load(a.rows)
    if not rows:
        sys.exit("report: no rows in %s" % a.rows)
    when = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    out = [BEGIN, "",
           "Measured %s on %s (%d cores) with `%s`: %d runs; each cell is the median "
           "and, in brackets, the least and the most of the runs." %
           (when, platform.platform(), os.cpu_count(), a.command, a.runs),
           "", "**Targets** (each ratio is taken within one run)", "",
           "| target | wanted | measured | |", "|---|---|---:|---|"]
    out += targets(rows, a.millions)
    out += table(rows, order)
    if a.figures:
        plots(rows, a.millions, a.figures)
        rel = os.path.relpath(a.figures, os.path.dirname(a.doc) if a.doc else ".")
        out += ["", "![throughput](%s/throughput.png)" % rel, "",
                "![growth](%s/growth.png)" % rel]
    out += ["", END]
    text = "\n".join(out) + "\n"
    print(text)
    if a.doc:
        doc = open(a.doc).read() if os.path.exists(a.doc) else ""
        if BEGIN in doc and END in doc:
            head, rest = doc.split(BEGIN, 1)
            doc = head + text.rstrip("\n") + rest.split(END, 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n## The report of bench/compare.sh\n\n" + text
        with open(a.doc, "w") as f:
            f.write(doc)


if __name__ == "__main__":
    main()
