# SPDX-License-Identifier: Apache-2.0
"""Feedback records, as a site would write them (docs/feedback.md)."""
import time

from .v1 import feedback_pb2


def _record(scenario, supply, version, key, labels, observed_at):
    r = feedback_pb2.FeedbackRecord(scenario_id=scenario, supply_id=supply, version=version,
                                    idempotency_key=key or "")
    if observed_at is not None:  # seconds (float) or a datetime
        ts = observed_at.timestamp() if hasattr(observed_at, "timestamp") else observed_at
        r.observed_at_ms = int(ts * 1000)
    for k, v in (labels or {}).items():
        r.labels.add(key=k, value=str(v))
    return r


def metric(scenario, supply, version, name, value, *, key=None, labels=None, observed_at=None):
    """A metric reading: name = value (finite)."""
    r = _record(scenario, supply, version, key, labels, observed_at)
    r.metric.name, r.metric.value = name, float(value)
    return r


def problem(scenario, supply, version, title, *, severity="SEVERITY_MEDIUM", signature="",
            details="", key=None, labels=None, observed_at=None):
    """A problem report; the signature names "the same problem" across reports."""
    r = _record(scenario, supply, version, key, labels, observed_at)
    r.problem.title, r.problem.details, r.problem.signature = title, details, signature
    r.problem.severity = feedback_pb2.Severity.Value(severity) if isinstance(severity, str) \
        else severity
    return r


def value(scenario, supply, version, kpi, baseline, achieved, *, unit="",
          higher_is_better=False, key=None, labels=None, observed_at=None):
    """Value verified: a KPI before and after."""
    r = _record(scenario, supply, version, key, labels, observed_at)
    v = r.value
    v.kpi, v.baseline, v.achieved, v.unit = kpi, float(baseline), float(achieved), unit
    v.higher_is_better = higher_is_better
    return r


def demand(scenario, supply, version, text, capabilities=(), *, key=None, labels=None,
           observed_at=None):
    """A new demand the site raises, with the capabilities it names."""
    r = _record(scenario, supply, version, key, labels, observed_at)
    r.demand.text = text
    r.demand.capabilities.extend(capabilities)
    return r


def now():
    return time.time()
