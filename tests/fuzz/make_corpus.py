#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.
Run from the repository root after a build (it needs build/python):
    /usr/bin/python3 tests/fuzz/make_corpus.py
The seeds are committed; this script says how they were made."""
import os
import sys

sys.path.insert(0, os.path.join("build", "python"))
from traction.v1 import bus_pb2, common_pb2, events_pb2, feedback_pb2, iteration_pb2  # noqa
from traction.v1 import scenario_pb2, supply_pb2  # noqa

OUT = os.path.join("tests", "fuzz", "corpus")


def put(target, name, data):
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


# wire: headers and routes
put("wire", "request", bus_pb2.Header(version=1, kind=bus_pb2.FRAME_REQUEST, service="feedback",
                                      method="publish", request_id=7).SerializeToString())
put("wire", "reply", bus_pb2.Header(version=1, kind=bus_pb2.FRAME_REPLY, request_id=7,
                                    status=common_pb2.Status(code=5, message="no")).SerializeToString())
put("wire", "route", bus_pb2.Route(ticket=9, client_id="site7", role=bus_pb2.ROLE_PUBLISHER,
                                   scenarios=["weld-line-3"]).SerializeToString())

# config
with open(os.path.join("deploy", "traction.conf"), "rb") as f:
    put("config", "sample", f.read())
put("config", "small", b"[bus]\nclient_endpoint = tcp://127.0.0.1:7400 ; c\n[store]\nmap_size_mb = 64\n")

# handlers: the first byte picks the entry point, in the order of fuzz_handlers.c
supply = supply_pb2.Supply(id="defect-vision", provider_id="acme", kind=3, name="Defect Vision",
                           capabilities=["defect-detection"], initial_version="1.0")
scenario = scenario_pb2.Scenario(id="weld-line-3", enterprise="Northern Steel", domain=2, name="w",
                                 demands=[scenario_pb2.Demand(capabilities=["defect-detection"],
                                          targets=[scenario_pb2.TargetMetric(metric="defect_rate",
                                                   comparison=2, threshold=0.02)])])
rec = feedback_pb2.FeedbackRecord(scenario_id="weld-line-3", supply_id="defect-vision", version="1.0",
                                  idempotency_key="k", metric=feedback_pb2.Metric(name="defect_rate",
                                                                                  value=0.03))
prob = feedback_pb2.FeedbackRecord(scenario_id="weld-line-3", supply_id="defect-vision", version="1.0",
                                   problem=feedback_pb2.Problem(severity=4, title="t", signature="s"))
seeds = [
    supply_pb2.ProviderRegisterRequest(provider=supply_pb2.Provider(id="acme", name="Acme", kind=1)),
    supply_pb2.ProviderUpdateRequest(provider=supply_pb2.Provider(id="acme", name="A"),
                                     update_mask=["name"]),
    common_pb2.IdRequest(id="acme"),
    supply_pb2.ProviderListRequest(page=common_pb2.PageRequest(limit=2)),
    supply_pb2.SupplyRegisterRequest(supply=supply),
    supply_pb2.SupplyUpdateRequest(supply=supply, update_mask=["capabilities"]),
    supply_pb2.SupplyRetireRequest(id="defect-vision", reason="r"),
    common_pb2.IdRequest(id="defect-vision"),
    supply_pb2.SupplyListRequest(capability="defect-detection"),
    scenario_pb2.ScenarioSubmitRequest(scenario=scenario),
    scenario_pb2.ScenarioUpdateRequest(scenario=scenario, update_mask=["demands"]),
    scenario_pb2.ScenarioCloseRequest(id="weld-line-3"),
    common_pb2.IdRequest(id="weld-line-3"),
    scenario_pb2.ScenarioListRequest(domain=2),
    scenario_pb2.MatchRequest(scenario_id="weld-line-3"),
    scenario_pb2.GapsRequest(),
    feedback_pb2.PublishRequest(records=[rec, prob]),
    feedback_pb2.FeedbackListRequest(supply_id="defect-vision"),
    feedback_pb2.StatsRequest(supply_id="defect-vision", granularity=1),
    feedback_pb2.ProblemsRequest(supply_id="defect-vision"),
    feedback_pb2.RegressionsRequest(),
    feedback_pb2.DemandsRequest(),
    iteration_pb2.IterationRecordRequest(iteration=iteration_pb2.Iteration(
        supply_id="defect-vision", version="1.1", parent_version="1.0", addresses=["s"])),
    iteration_pb2.IterationGetRequest(supply_id="defect-vision", version="1.0"),
    iteration_pb2.IterationListRequest(supply_id="defect-vision"),
    iteration_pb2.SupplyHistoryRequest(supply_id="defect-vision"),
    iteration_pb2.IterationDiffRequest(supply_id="defect-vision", from_version="1.0", to_version="1.1"),
    iteration_pb2.DeploymentAdoptRequest(scenario_id="weld-line-3", supply_id="defect-vision",
                                         version="1.0"),
    iteration_pb2.DeploymentUpgradeRequest(deployment_id="dep-1", version="1.1"),
    iteration_pb2.DeploymentAdvanceRequest(deployment_id="dep-1", to=4),
    iteration_pb2.DeploymentRetireRequest(deployment_id="dep-1"),
    common_pb2.IdRequest(id="dep-1"),
    iteration_pb2.DeploymentListRequest(),
    iteration_pb2.DeploymentHistoryRequest(deployment_id="dep-1"),
    events_pb2.Event(source="supply", seq=1, type="supply.registered", supply=supply),
    events_pb2.Event(source="scenario", seq=1, type="scenario.submitted", scenario=scenario),
    events_pb2.Event(source="feedback", seq=1, type="feedback.evidence",
                     evidence=feedback_pb2.EvidenceUpdate(supply_id="defect-vision", version="1.0")),
]
for i, m in enumerate(seeds):
    put("handlers", "%02d" % i, bytes([i]) + m.SerializeToString())
print("wrote %d handler seeds" % len(seeds))

# entry: a replica's entries (lib/entry.h), as svc_entry.c packs them
from traction.v1 import cluster_pb2  # noqa: E402
route = bus_pb2.Route(ticket=9, client_id="site7", role=bus_pb2.ROLE_PUBLISHER,
                      scenarios=["weld-line-3"]).SerializeToString()
publish = feedback_pb2.PublishRequest(records=[rec, prob]).SerializeToString()
event = events_pb2.Event(source="supply", seq=1, type="supply.registered",
                         supply=supply).SerializeToString()
put("entry", "batch", cluster_pb2.Entry(format=1, now_ms=1764806400000, config_digest=42, items=[
    cluster_pb2.EntryItem(kind=cluster_pb2.ENTRY_REQUEST, service="feedback", method="publish",
                          version=2, route=route, body=publish, may_wait=True),
    cluster_pb2.EntryItem(kind=cluster_pb2.ENTRY_EVENT, event=event),
    cluster_pb2.EntryItem(kind=cluster_pb2.ENTRY_TICK)]).SerializeToString())
put("entry", "tick", cluster_pb2.Entry(format=1, now_ms=1, items=[
    cluster_pb2.EntryItem(kind=cluster_pb2.ENTRY_TICK)]).SerializeToString())
put("entry", "compacted", cluster_pb2.Entry(format=1, now_ms=2, items=[
    cluster_pb2.EntryItem(kind=cluster_pb2.ENTRY_EVENT, event=event, compacted=True)]).SerializeToString())
