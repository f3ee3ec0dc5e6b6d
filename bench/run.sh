#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds (Release) and runs the benchmarks; each prints its raw baselines
# beside its own figures. bench/compare.sh runs all of them (and the
# peers) several times and writes the report; this runs one, once.
#   bench/run.sh [match|publish|history|http|lanes|alerts|retention|notify|failover|growth|ingest]
#   (growth: ~1.5 min, 5 GB; alerts: its rows alone, also part of publish,
#   with 10 drives a side for feedbackd's CPU a record; retention: ingest
#   beside a large expiry and without, then a store at steady ingest with
#   a TTL and a bounded event log for 120 s; notify: webhook delivery
#   against a bare libcurl loop; ingest: making traction-mqttd's records
#   from their JSON, the direct scan against jansson, no bus)
set -eu
cd "$(dirname "$0")/.."
sh deploy/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
what=${1:-all}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) cores"
if [ "$what" = all ] || [ "$what" = match ]; then
  echo "## bench_match: scenario match and gaps over 10,000 supplies"
  build-bench/bench/bench_match 10000 300
fi
if [ "$what" = all ] || [ "$what" = publish ]; then
  echo "## bench_publish: durable feedback publish against the bare limits"
  build-bench/bench/bench_publish 100000
fi
if [ "$what" = alerts ]; then
  echo "## bench_publish alerts: the publisher with 19 alert rules on its metric and without"
  build-bench/bench/bench_publish alerts 100000 10
fi
if [ "$what" = all ] || [ "$what" = retention ]; then
  echo "## bench_publish retention: the publisher beside a large expiry (2 s TTL) and without"
  build-bench/bench/bench_publish retention 100000
  echo "## bench_publish steady: 1,000 records/s for 120 s into a store whose records live 20 s, its event log 100 events"
  build-bench/bench/bench_publish steady 120 1000
fi
if [ "$what" = all ] || [ "$what" = failover ]; then
  echo "## bench/failover.sh: the publisher through two brokers, one SIGKILLed 10 times, and without"
  bash bench/failover.sh build-bench 5
fi
if [ "$what" = growth ]; then
  echo "## bench_publish growth: one store from empty to 10 million records"
  build-bench/bench/bench_publish growth 10
fi
if [ "$what" = all ] || [ "$what" = ingest ]; then
  echo "## bench_ingest: making traction-mqttd's records from bench_peers' payload, no bus"
  build-bench/bench/bench_ingest 200000 5
fi
if [ "$what" = all ] || [ "$what" = history ]; then
  echo "## bench_history: history of a supply with 200 versions and 100,000 records"
  build-bench/bench/bench_history 200 100000
fi
if [ "$what" = all ] || [ "$what" = http ]; then
  echo "## bench_http: the HTTP API against the bus (ingest and queries, side by side)"
  build-bench/bench/bench_http 100000 4
fi
if [ "$what" = all ] || [ "$what" = notify ]; then
  echo "## bench_notify: webhook delivery of alerts by traction-notifyd against a bare libcurl loop"
  build-bench/bench/bench_notify 2000 16
fi
if [ "$what" = all ] || [ "$what" = lanes ]; then
  echo "## bench_lanes: ping and feedback.stats of feedbackd during full-speed ingest and idle"
  build-bench/bench/bench_lanes 300000 3
fi
