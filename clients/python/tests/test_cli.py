# SPDX-License-Identifier: Apache-2.0
"""The `traction` command's human output prints times as tractionctl does:
ISO 8601 UTC to the millisecond; --csv keeps pandas' form for programs."""
import contextlib
import io

import pandas as pd

from traction import cli


def _printed(df, csv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli._print_frame(df, csv)
    return out.getvalue()


def test_frames_print_times_as_iso_8601_utc():
    df = pd.DataFrame({"version": ["1.0"],
                       "released": [pd.to_datetime(1796283929894, unit="ms", utc=True)]})
    human = _printed(df, csv=False)
    assert "2026-12-03T07:45:29.894Z" in human
    assert "+00:00" not in human
    assert "2026-12-03 07:45:29.894" in _printed(df, csv=True)


def test_the_manual_page_is_the_parser():
    """traction(1) is written from the parser main() uses: every command and
    every option of each is in it, and it renders without a warning."""
    import shutil
    import subprocess
    ap = cli._parser()
    page = cli._man(ap)
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    assert list(sub.choices) == ["status", "publish", "history", "stats", "events", "call"]
    for name, sp in sub.choices.items():
        assert "\n.SS " + name + "\n" in page, name
        for act in sp._actions:
            for opt in act.option_strings:
                if opt not in ("-h", "--help"):
                    assert "\\fB" + opt.replace("-", "\\-") in page, (name, opt)
    for opt in ("--endpoint", "--timeout", "--server-key"):
        assert "\\fB" + opt.replace("-", "\\-") in page, opt
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-ww", "-z"], input=page, text=True,
                           capture_output=True, check=False)
        assert r.returncode == 0 and r.stderr == "", r.stderr
