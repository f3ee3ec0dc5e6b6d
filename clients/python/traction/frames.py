# SPDX-License-Identifier: Apache-2.0
"""Replies as pandas DataFrames (Debian: python3-pandas, optional)."""


def _pd():
    try:
        import pandas
    except ImportError as e:  # said plainly: the rest of the package works without it
        raise ImportError("traction's DataFrames need pandas "
                          "(Debian: apt-get install python3-pandas)") from e
    return pandas


def history(reply):
    """A SupplyHistoryReply: a row per (version, metric); versions without a
    metric record get one row with the metric columns empty."""
    pd = _pd()
    rows = []
    for v in reply.versions:
        it = v.iteration
        base = {"version": it.version, "parent": it.parent_version or None,
                "released": pd.to_datetime(it.released_ms, unit="ms", utc=True),
                "notes": it.notes, "addresses": list(it.addresses),
                "deployments": len(v.deployment_ids), "value_verifications": v.values.count}
        deltas = {d.metric: d for d in v.deltas}
        if not v.metrics:
            rows.append(dict(base, metric=None))
        for m in v.metrics:
            d = deltas.get(m.name)
            both = d is not None and d.from_count > 0 and d.to_count > 0
            rows.append(dict(base, metric=m.name, count=m.count, mean=m.mean, p50=m.p50,
                             p90=m.p90, p99=m.p99, min=m.min, max=m.max,
                             delta=d.abs_delta if both else None,
                             delta_pct=d.pct_delta if both else None))
    return pd.DataFrame(rows)


def stats(reply):
    """A StatsReply: a row per aggregate, or per trend bucket when the
    request asked for a granularity."""
    pd = _pd()
    rows = []
    for a in reply.metrics:
        k, s = a.key, a.stats
        key = {"supply": k.supply_id, "version": k.version or None,
               "scenario": k.scenario_id or None, "metric": k.metric}
        if a.trend:
            for b in a.trend:
                rows.append(dict(key, start=pd.to_datetime(b.start_ms, unit="ms", utc=True),
                                 count=b.count, mean=b.mean, min=b.min, max=b.max))
        else:
            rows.append(dict(key, count=s.count, mean=s.mean, stddev=s.stddev, min=s.min,
                             max=s.max, p50=s.p50, p90=s.p90, p99=s.p99,
                             first_seen=pd.to_datetime(s.first_seen_ms, unit="ms", utc=True),
                             last_seen=pd.to_datetime(s.last_seen_ms, unit="ms", utc=True)))
    return pd.DataFrame(rows)
