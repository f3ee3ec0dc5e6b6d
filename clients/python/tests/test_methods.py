# SPDX-License-Identifier: Apache-2.0
"""Every method of every service, through the typed API, against the real set:
the README's story, each reply checked. The last test fails if a method of
the proto has not been called here (a new rpc needs a test)."""
import pytest

import traction
from traction import _services
from traction.v1 import iteration_pb2, supply_pb2

from conftest import eventually

CALLED = set()


@pytest.fixture(scope="module", autouse=True)
def record_calls(client):
    real = client.call

    def spy(service, method, *a, **kw):
        CALLED.add((service, method))
        return real(service, method, *a, **kw)
    client.call = spy
    yield
    client.call = real


def test_catalogue(client):
    p = client.supply.provider_register(provider={"id": "acme", "name": "Acme Vision",
                                                  "kind": "PROVIDER_AI_COMPANY"})
    assert p.provider.id == "acme" and p.provider.created_ms > 0
    client.supply.provider_update(provider={"id": "acme", "contact": "ops@acme.example"},
                                  update_mask=["contact"])
    assert client.supply.provider_get(id="acme").provider.contact == "ops@acme.example"
    assert "acme" in [x.id for x in client.supply.provider_list().providers]
    # a request message works as well as keywords
    req = supply_pb2.SupplyRegisterRequest(supply=supply_pb2.Supply(
        id="defect-vision", provider_id="acme", kind=supply_pb2.SUPPLY_INDUSTRIAL_ALGORITHM,
        name="Defect Vision", capabilities=["defect-detection"], initial_version="1.0"))
    s = client.supply.register(req)
    assert s.supply.status == supply_pb2.SUPPLY_ACTIVE
    client.supply.register(supply={"id": "old-cam", "provider_id": "acme",
                                   "kind": "SUPPLY_INTELLIGENT_TERMINAL", "name": "Old camera",
                                   "capabilities": ["visual-inspection"], "initial_version": "1"})
    client.supply.update(supply={"id": "defect-vision", "description": "finds defects"},
                         update_mask=["description"])
    assert client.supply.get(id="defect-vision").supply.description == "finds defects"
    assert client.supply.retire(id="old-cam", reason="end of life").supply.status == \
        supply_pb2.SUPPLY_RETIRED
    assert {"defect-vision", "old-cam"} <= {x.id for x in client.supply.list().supplies}
    assert s.to_dict()["supply"]["kind"] == "SUPPLY_INDUSTRIAL_ALGORITHM"


def test_scenarios(client):
    sc = client.scenario.submit(scenario={
        "id": "weld-line-3", "enterprise": "Northern Steel", "domain": "DOMAIN_PRODUCTION",
        "name": "Weld seam inspection",
        "demands": [{"id": "seams", "capabilities": ["defect-detection", "edge-deployment"],
                     "targets": [{"metric": "defect_rate", "comparison": "CMP_LE",
                                  "threshold": 0.02}]}]})
    assert sc.scenario.status == 1  # open
    client.scenario.submit(scenario={"id": "old-line", "enterprise": "Northern Steel",
                                     "domain": "DOMAIN_PRODUCTION", "name": "Old",
                                     "demands": [{"capabilities": ["defect-detection"]}]})
    client.scenario.update(scenario={"id": "weld-line-3", "description": "line 3"},
                           update_mask=["description"])
    assert client.scenario.get(id="weld-line-3").scenario.description == "line 3"
    assert client.scenario.close(id="old-line", reason="closed").scenario.status == 2
    assert {"old-line", "weld-line-3"} <= {x.id for x in client.scenario.list().scenarios}
    m = eventually(lambda: client.scenario.match(scenario_id="weld-line-3").matches)
    assert m[0].supply.id == "defect-vision" and list(m[0].missing) == ["edge-deployment"]
    gaps = client.scenario.gaps()
    assert "edge-deployment" in [g.capability for g in gaps.gaps]


def test_the_loop(client):
    dep = eventually(lambda: client.deployment.adopt(scenario_id="weld-line-3",
                                                     supply_id="defect-vision", version="1.0"))
    did = dep.deployment.id
    recs = [traction.metric("weld-line-3", "defect-vision", "1.0", "defect_rate", 0.031,
                            key=f"m-{i}") for i in range(25)]
    recs.append(traction.problem("weld-line-3", "defect-vision", "1.0", "misses hairlines",
                                 severity="SEVERITY_CRITICAL", signature="hairline-miss", key="p"))
    recs.append(traction.demand("weld-line-3", "defect-vision", "1.0", "on the edge box",
                                ["edge-deployment"], key="d"))
    rep = client.feedback.publish(records=recs)
    assert len(rep.results) == 27 and all(r.status.code == 0 and not r.duplicate
                                          for r in rep.results)
    assert len(client.feedback.list(supply_id="defect-vision", limit=10).records) == 10
    # newest first, paged by the cursor: every record once, in decreasing ids
    seen, cursor = [], ""
    while True:
        page = client.feedback.list(supply_id="defect-vision", newest_first=True, limit=10,
                                    cursor=cursor)
        seen += [r.id for r in page.records]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == 27 and seen == sorted(seen, reverse=True)
    every = client.feedback.list(newest_first=True, limit=1000).records  # no index: all records
    assert [r.id for r in every] == sorted((r.id for r in every), reverse=True)
    assert every[0].id == max(seen) or every[0].id > max(seen)
    lst = client.feedback.list(supply_id="defect-vision", kind="FEEDBACK_METRIC")
    assert len(lst.records) == 25
    st = client.feedback.stats(supply_id="defect-vision", metric="defect_rate")
    assert st.metrics[0].stats.count == 25
    assert client.feedback.problems(supply_id="defect-vision").problems[0].signature == \
        "hairline-miss"
    assert len(client.feedback.regressions(supply_id="defect-vision").problems) == 0
    assert client.feedback.demands(supply_id="defect-vision").demands[0].capability == \
        "edge-deployment"
    # an advance refused: the unmet criteria, each with current and required
    eventually(lambda: client.deployment.advance(deployment_id=did, to="STAGE_REFINEMENT"))
    with pytest.raises(traction.FailedPrecondition) as e:
        client.deployment.advance(deployment_id=did, to="STAGE_PILOT")
    crit = {d.subject: d for d in e.value.criteria}
    assert crit["open_critical_problems"].current == "1" and \
        crit["open_critical_problems"].reason == "above_allowed"
    g = client.deployment.gates(deployment_id=did)
    assert not next(c for c in g.criteria if c.name == "open_critical_problems").met
    # 1.1 addresses it
    it = client.iteration.record(iteration={"supply_id": "defect-vision", "version": "1.1",
                                            "parent_version": "1.0",
                                            "addresses": ["hairline-miss"]})
    assert it.iteration.version == "1.1"
    assert client.iteration.get(supply_id="defect-vision", version="1.1").iteration.parent_version \
        == "1.0"
    assert [i.version for i in eventually(
        lambda: len(client.iteration.list(supply_id="defect-vision").iterations) == 2 and
        client.iteration.list(supply_id="defect-vision").iterations)] == ["1.0", "1.1"]
    client.deployment.upgrade(deployment_id=did, version="1.1", reason="fixes hairlines")
    client.feedback.publish(records=[traction.metric("weld-line-3", "defect-vision", "1.1",
                                                     "defect_rate", 0.015, key=f"n-{i}")
                                     for i in range(25)])
    h = eventually(lambda: next((v for v in client.iteration.history(supply_id="defect-vision")
                                 .versions if v.iteration.version == "1.1" and v.metrics), None))
    assert h.metrics[0].count == 25
    d = eventually(lambda: client.iteration.diff(supply_id="defect-vision", from_version="1.0",
                                                 to_version="1.1").deltas)
    assert round(d[0].from_mean, 3) == 0.031 and round(d[0].to_mean, 3) == 0.015
    assert client.deployment.get(id=did).deployment.version == "1.1"
    assert [x.id for x in client.deployment.list(scenario_id="weld-line-3").deployments] == [did]
    kinds = [t.kind for t in client.deployment.history(deployment_id=did).transitions]
    assert kinds == [iteration_pb2.TRANSITION_ADOPT, iteration_pb2.TRANSITION_ADVANCE,
                     iteration_pb2.TRANSITION_UPGRADE]
    assert client.deployment.retire(deployment_id=did, reason="done").deployment.status == 2


def test_alert_rules(client):
    r = client.feedback.alert_add(rule={"id": "crit", "kind": "ALERT_CRITICAL_PROBLEM",
                                        "supply_id": "defect-vision"})
    assert r.rule.severity == 3 and r.rule.created_ms > 0  # high by default
    with pytest.raises(traction.AlreadyExists):
        client.feedback.alert_add(rule={"id": "crit", "kind": "ALERT_REGRESSION"})
    with pytest.raises(traction.InvalidArgument):
        client.feedback.alert_add(rule={"id": "m", "kind": "ALERT_METRIC"})
    client.feedback.publish(records=[{"scenario_id": "weld-line-3", "supply_id": "defect-vision",
                                      "version": "1.1", "idempotency_key": "crit-1",
                                      "problem": {"severity": "SEVERITY_CRITICAL",
                                                  "title": "burns", "signature": "burn"}}])
    lst = client.feedback.alert_list()
    assert [x.id for x in lst.rules] == ["crit"]
    assert [a.subject for a in lst.active] == ["defect-vision/burn"]
    h = client.feedback.alert_history(rule_id="crit")
    assert h.alerts[0].state == 2 and h.alerts[0].problem.signature == "burn"  # firing
    assert client.feedback.alert_remove(id="crit").rule.id == "crit"
    h = client.feedback.alert_history(rule_id="crit")
    assert h.alerts[0].state == 3 and h.alerts[0].reason == "rule_removed"


def test_retention_and_holds(client):
    r = client.feedback.retention_set(scenario_id="weld-line-3", kind="FEEDBACK_METRIC", days=30)
    assert r.entry.days == 30 and r.entry.updated_ms > 0
    lst = client.feedback.retention_list()
    assert lst.policy.idempotency_days == 7 and lst.policy.default_days == 0
    assert [(o.scenario_id, o.days) for o in lst.overrides] == [("weld-line-3", 30)]
    assert client.feedback.retention_set(scenario_id="weld-line-3", kind="FEEDBACK_METRIC",
                                         days=0).entry.days == 0
    assert len(client.feedback.retention_list().overrides) == 0
    h = client.feedback.hold_add(hold={"scenario_id": "weld-line-3", "reason": "an audit"})
    assert h.hold.created_ms > 0
    with pytest.raises(traction.AlreadyExists):
        client.feedback.hold_add(hold={"scenario_id": "weld-line-3", "reason": "again"})
    assert [x.reason for x in client.feedback.hold_list().holds] == ["an audit"]
    assert client.feedback.hold_remove(scenario_id="weld-line-3").hold.reason == "an audit"
    with pytest.raises(traction.NotFound):
        client.feedback.hold_remove(scenario_id="weld-line-3")


def test_daemon_and_broker_methods(client):
    for svc in ("supply", "scenario", "feedback", "iteration", "deployment"):
        pong = getattr(client, svc).ping()
        assert pong.daemon.startswith("traction-") and pong.pid > 0
    ev = client.supply.events_read(from_seq=1, max=2)
    assert [e.seq for e in ev.events] == [1, 2] and ev.head_seq >= 2
    rp = client.supply.events_replay(from_seq=1, max=1)
    assert rp.events[0].type == "provider.registered"
    assert client.broker.ping().daemon == "traction-broker"
    assert {s.name for s in client.broker.status().services} == \
        {"supply", "scenario", "feedback", "iteration", "deployment", "notify"}
    # v1.1: the broker's audit log of key changes; this set has no keys
    log = client.broker.audit_list(action="key.")
    assert log.daemon == "broker" and len(log.entries) == 0
    with pytest.raises(traction.FailedPrecondition):
        client.broker.keys_reload(reason="nothing to reload here")
    # v1.1: backup.* of the broker's audit log; with no keys it keeps none
    with pytest.raises(traction.NotFound):
        client.broker.backup_begin(lease_ms=1000)
    for call in (client.broker.backup_resume, client.broker.backup_read,
                 client.broker.backup_end):
        with pytest.raises(traction.NotFound):
            call(id="none")


def test_webhooks(client):
    # traction-notifyd (v1.1): its deliveries are tested against a real
    # receiver in tests/integration/test_webhooks.c; here, the methods
    secret = b"a-secret-of-at-least-16-bytes"
    r = client.notify.webhook_add(webhook={"name": "ops", "url": "http://127.0.0.1:9/hook",
                                           "secret": secret, "min_severity": "SEVERITY_HIGH"})
    assert r.webhook.secret == b"" and r.webhook.secret_fingerprint.startswith("sha256:")
    assert r.webhook.max_in_flight == 4 and r.generated_secret == ""
    made = client.notify.webhook_add(webhook={"name": "made", "url": "https://example.com/x"})
    assert len(made.generated_secret) == 64
    hooks = client.notify.webhook_list().webhooks
    assert [h.name for h in hooks] == ["made", "ops"] and all(h.secret == b"" for h in hooks)
    assert len(client.notify.webhook_deliveries(webhook="ops").deliveries) == 0
    with pytest.raises(traction.NotFound):
        client.notify.webhook_retry(id="1-ops")
    assert client.notify.webhook_remove(id="made").webhook.name == "made"


def test_every_method_was_called():
    want = set()
    for wire, cls in _services.SERVICES.items():
        for name in dir(cls):
            fn = getattr(cls, name)
            if name.startswith("_") or not callable(fn) or not fn.__doc__:
                continue
            svc_method = fn.__doc__.split(":")[0]          # "supply.provider.register"
            service, _, method = svc_method.partition(".")
            if service == wire:
                want.add((wire, method))
    daemon = {("supply", "ping"), ("supply", "events.read"), ("supply", "events.replay")}
    missing = sorted(m for m in want if m not in CALLED and not (
        m[1] in ("ping", "events.read", "events.replay") and daemon <= CALLED))
    assert missing == [], f"methods without a test: {missing}"
    from traction import _codegen
    import importlib
    rpcs = sum(len(sd.methods) for m in _codegen.MODULES
               for sd in importlib.import_module(f"traction.v1.{m}_pb2")
               .DESCRIPTOR.services_by_name.values() if sd.name != _codegen.DAEMON)
    assert len(want) == rpcs  # every rpc of the protos has its method
