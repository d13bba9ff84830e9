"""`vmtop report` holds what it prints, not every sample: on a longer recording its peak
memory grows by the few numbers a sample the open recording keeps, not by each
sample's totals, RSS by kind and events (issue 10: hours of watching should cost what
minutes do).

It held every sample as the scan read it, 1.4-1.7 kB each: 128 MiB of peak RSS for
59 000 samples of a churning process (an hour and a half at 0.1 s), 57 MiB for 18 000.
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

from test_recording_reader_memory import churning, write

from vmtop.commands.report import cmd_report
from vmtop.record.reader import Recording


def report_peak(path, capsys) -> tuple[int, str]:
    """The most Python memory `vmtop report PATH` held at once, and what it printed."""
    gc.collect()
    tracemalloc.start()
    try:
        assert cmd_report(argparse.Namespace(file=str(path), top=10)) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, capsys.readouterr().out


def test_report_memory_grows_by_a_few_numbers_a_sample_not_by_the_samples(tmp_path, capsys):
    # Both longer than the samples the reader keeps read back (a few thousand): what
    # is left between them is what grows with the recording.
    short, long = tmp_path / "short.jsonl.gz", tmp_path / "long.jsonl.gz"
    n = 6_000
    write(short, churning(n))
    write(long, churning(2 * n))
    assert (len(Recording.open(str(short))), len(Recording.open(str(long)))) == (n, 2 * n)
    # Once first, for what any first reading leaves for good (interned strings).
    report_peak(short, capsys)
    peak_short, out_short = report_peak(short, capsys)
    peak_long, out_long = report_peak(long, capsys)
    # The report is of each whole recording: its sample count, its events counted.
    assert f"{n} samples every 0.1 s" in out_short, out_short
    assert f"{2 * n} samples every 0.1 s" in out_long, out_long
    mapped = sum(1 for i in range(2 * n) if i % 4 and i % 3)
    assert f"  mapped               {mapped}\n" in out_long, out_long
    per_sample = (peak_long - peak_short) / n
    # Every sample held: ~1.5 kB a sample here. The open recording's index (~35 B) and
    # the sample times' spacing worked out (~50 B): under 200.
    assert per_sample < 200, f"{per_sample:.0f} bytes a sample"
