# SPDX-License-Identifier: Apache-2.0
"""`traction`: a few common verbs from the shell (tractionctl has them all).

    traction status
    traction publish --scenario weld-line-3 --supply defect-vision@1.1 --metric defect_rate=0.014
    traction publish --file site-feedback.jsonl        # JSON Lines, docs/cli.md
    traction history defect-vision [--csv]
    traction stats defect-vision[@1.1] [--metric defect_rate] [--csv]
    traction events [--source feedback] [--topic feedback.problem] [--follow]
    traction call scenario match '{"scenario_id": "weld-line-3"}'
"""
import argparse
import json
import os
import sys
import time

from . import __version__, errors
from .client import Client
from .publisher import Publisher
from .records import metric
from .v1 import feedback_pb2


def _record_from_json(obj):
    """One line of the JSON Lines format of docs/cli.md."""
    r = feedback_pb2.FeedbackRecord(scenario_id=obj["scenario"], supply_id=obj["supply"],
                                    version=obj.get("version", ""),
                                    idempotency_key=obj.get("key", ""))
    at = obj.get("observed_at")
    if isinstance(at, (int, float)):
        r.observed_at_ms = int(at)
    for k, v in (obj.get("labels") or {}).items():
        r.labels.add(key=k, value=str(v))
    body = [k for k in ("metric", "problem", "value", "demand") if k in obj]
    if len(body) != 1:
        raise ValueError("a record has one of metric, problem, value, demand")
    b = obj[body[0]]
    if body[0] == "metric":
        r.metric.name, r.metric.value = b["name"], float(b["value"])
    elif body[0] == "problem":
        r.problem.title = b.get("title", "")
        r.problem.signature = b.get("signature", "")
        r.problem.details = b.get("details", "")
        sev = b.get("severity", "medium")
        r.problem.severity = feedback_pb2.Severity.Value("SEVERITY_" + sev.upper())
    elif body[0] == "value":
        v = r.value
        v.kpi, v.baseline, v.achieved = b["kpi"], float(b["baseline"]), float(b["achieved"])
        v.unit, v.higher_is_better = b.get("unit", ""), bool(b.get("higher_is_better", False))
    else:
        r.demand.text = b.get("text", "")
        r.demand.capabilities.extend(b.get("capabilities", []))
    return r


def _iso(df):
    """Times as tractionctl prints them to people: ISO 8601 UTC to the
    millisecond, 2026-12-04T05:30:12.345Z (--csv keeps pandas' own)."""
    import pandas as pd
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    return out


def _print_frame(df, csv):
    if csv:
        df.to_csv(sys.stdout, index=False)
    else:
        import pandas as pd
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print(_iso(df).to_string(index=False))


def _publish(a, keys):
    supply, _, version = (a.supply or "").partition("@")
    with Publisher(**keys) as pub:
        if a.file:
            with (sys.stdin if a.file == "-" else open(a.file)) as f:
                for n, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            pub.publish(_record_from_json(json.loads(line)), block=True)
                        except (ValueError, KeyError) as e:
                            raise SystemExit(f"traction: {a.file}:{n}: {e}")
        else:
            if not (a.scenario and supply and a.metric):
                raise SystemExit("traction publish: --scenario, --supply S@V and --metric, or --file")
            name, _, val = a.metric.partition("=")
            for i in range(a.count):
                pub.publish(metric(a.scenario, supply, version, name, float(val),
                                   key=f"{a.key_prefix}-{i}" if a.key_prefix else None),
                            block=True)
    out = dict(pub.stats)
    out["refused"] = [{"code": errors.from_status(ack.code, "").name, "message": ack.message}
                      for _, ack in pub.refused]
    print(json.dumps(out))
    return 1 if pub.refused else 0


def _parser():
    """The command line: what main() parses, --help prints and --man writes."""
    ap = argparse.ArgumentParser(prog="traction", description="the traction bus from the shell")
    ap.add_argument("--endpoint", help="the broker's client endpoint ($TRACTION_ENDPOINT)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    ap.add_argument("--server-key", help="CurveZMQ: the broker's public key (Z85)")
    ap.add_argument("--public-key", help="CurveZMQ: this client's public key")
    ap.add_argument("--secret-key", help="CurveZMQ: this client's secret key")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("status", help="the services and their live instances")
    p = sub.add_parser("publish", help="publish metric records, or a JSON Lines file")
    p.add_argument("--scenario")
    p.add_argument("--supply", help="SUPPLY@VERSION")
    p.add_argument("--metric", help="NAME=VALUE")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--key-prefix", default="", help="stable keys PREFIX-0, PREFIX-1, ...")
    p.add_argument("--file", help="JSON Lines records (docs/cli.md); - for stdin")
    h = sub.add_parser("history", help="a supply's versions and their aggregates")
    h.add_argument("supply")
    h.add_argument("--csv", action="store_true")
    s = sub.add_parser("stats", help="a supply's (version's) aggregates")
    s.add_argument("supply", help="SUPPLY[@VERSION]")
    s.add_argument("--metric", default="")
    s.add_argument("--scenario", default="")
    s.add_argument("--csv", action="store_true")
    e = sub.add_parser("events", help="the reader feed, as JSON lines")
    e.add_argument("--source", action="append")
    e.add_argument("--topic", action="append", default=[])
    e.add_argument("--follow", action="store_true", help="wait for more (Ctrl-C stops)")
    c = sub.add_parser("call", help="any method: SERVICE METHOD [JSON request]")
    c.add_argument("service")
    c.add_argument("method", help="the wire name, e.g. provider.register")
    c.add_argument("request", nargs="?", default="{}")
    return ap


def _roff(text):
    """text for a roff line: backslashes and hyphens escaped, no leading dot."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def _roff_args(lines, actions):
    for act in actions:
        if isinstance(act, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if act.option_strings:
            name = "\\fB%s\\fR" % _roff(", ".join(act.option_strings))
            if act.nargs != 0:
                name += " \\fI%s\\fR" % _roff(act.dest.upper())
        else:
            name = "\\fI%s\\fR" % _roff(act.dest.upper())
        lines += [".TP", name, _roff(act.help or "")]


def _man(ap):
    """The manual page, traction(1), from the parser itself: a command or an
    option cannot be in one and not the other."""
    when = time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", time.time())))
    lines = ['.\\" traction(1), written by `traction --man` from its parser: do not edit.',
             '.TH TRACTION 1 %s "traction %s" "traction manual"'
             % (time.strftime("%Y-%m-%d", when), _roff(__version__)),
             ".SH NAME", "traction \\- " + _roff(ap.description), ".SH SYNOPSIS",
             ".B traction", "[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]",
             ".SH DESCRIPTION",
             "A few common verbs of the traction daemon set from the shell, written with the "
             "Python package (\\fBimport traction\\fR); \\fBtractionctl\\fR(1) has them "
             "all.", ".SH OPTIONS"]
    _roff_args(lines, ap._actions)
    lines.append(".SH COMMANDS")
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    for name, sp in sub.choices.items():
        lines += [".SS " + _roff(name), _roff(helps.get(name) or "")]
        _roff_args(lines, sp._actions)
    lines += [".SH ENVIRONMENT", ".TP", ".B TRACTION_ENDPOINT",
              "the broker's client endpoint when \\fB\\-\\-endpoint\\fR is not given",
              ".SH EXAMPLES", ".nf"]
    lines += [_roff(x.strip()) for x in __doc__.splitlines()[2:] if x.strip()]
    lines += [".fi", ".SH SEE ALSO", "\\fBtractionctl\\fR(1), \\fBtraction.conf\\fR(5)"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = _parser()
    if (sys.argv[1:] if argv is None else argv) == ["--man"]:
        sys.stdout.write(_man(ap))
        return 0
    a = ap.parse_args(argv)
    keys = dict(endpoint=a.endpoint, server_key=a.server_key, public_key=a.public_key,
                secret_key=a.secret_key)
    try:
        if a.cmd == "publish":
            return _publish(a, keys)
        with Client(timeout=a.timeout, **keys) as cl:
            if a.cmd == "status":
                for svc in cl.broker.status().services:
                    print(f"{svc.name:12} {len(svc.instances)} live")
            elif a.cmd == "history":
                _print_frame(cl.history(a.supply), a.csv)
            elif a.cmd == "stats":
                supply, _, version = a.supply.partition("@")
                _print_frame(cl.stats(supply, version=version, metric=a.metric,
                                      scenario_id=a.scenario), a.csv)
            elif a.cmd == "events":
                srcs = a.source or ["supply", "scenario", "feedback", "iteration"]
                for ev in cl.events(srcs, topics=a.topic, until_idle=not a.follow):
                    print(json.dumps(ev.to_dict()), flush=True)
            else:
                svc = getattr(cl, a.service.replace(".", "_"), None)
                fn = getattr(svc, a.method.replace(".", "_"), None) if svc else None
                if fn is None:
                    raise SystemExit(f"traction: no method {a.service}.{a.method}")
                print(json.dumps(fn(json.loads(a.request)).to_dict(), indent=2))
        return 0
    except errors.Error as err:
        print(f"traction: {err}", file=sys.stderr)
        for d in err.details:
            print(f"  {d.subject}: {d.reason} (now {d.current or '-'}, needs {d.required or '-'})",
                  file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
