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
