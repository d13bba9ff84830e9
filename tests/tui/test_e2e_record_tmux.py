"""End to end in a real terminal: record `vmtop demo malloc` for ten seconds with R,
replay the file, go to the moment the first big block (malloc of 1 MiB, above glibc's
mmap threshold) was mapped, and see that region in the table.

Ground truth is the demo's own narration ("malloc(1048576) = 0x…", printed by the child
and recorded with the samples): the block's address must fall inside a row of the
replayed table. A private tmux socket is used and its server killed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest

from .test_e2e_tmux import PROMPT_SHOWN, VMTOP, Tmux, demo_available

pytestmark = [pytest.mark.live, pytest.mark.slow]

BIG = re.compile(r"malloc\((\d+)\) = (0x[0-9a-f]+)")
ROW = re.compile(r"([0-9a-f]{12,14}) ([0-9a-f]{12,14}) ")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not VMTOP.exists(), reason=f"no vmtop console script at {VMTOP}")
@pytest.mark.skipif(not demo_available(), reason="the demo command is not there yet")
def test_record_the_malloc_demo_and_replay_its_first_big_block(tmp_path):
    tmux = Tmux()
    tmux.socket += "-record"
    try:
        tmux.start()
        tmux.send(f"export TZ=UTC VMTOP_RECORDINGS={tmp_path}", "Enter")
        tmux.send(f"{VMTOP} demo malloc", "Enter")
        tmux.wait_for(lambda t: "[heap]" in t and "Events" in t, 10, "the process screen")
        tmux.send("R")
        tmux.wait_for(lambda t: "REC vmtop-" in t, 5, "REC and the file name in the header")
        time.sleep(10)
        tmux.send("R")
        tmux.wait_for(lambda t: "Saved" in t, 5, "the saved notice")
        for _ in range(4):
            tmux.send("q")
            time.sleep(0.7)
            if tmux.capture().rstrip().endswith(PROMPT_SHOWN):
                break
        files = list(tmp_path.glob("vmtop-*.jsonl.gz"))
        assert len(files) == 1, files
        path = files[0]

        events = subprocess.run(
            [str(VMTOP), "replay", str(path), "--events", "--json"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip
        header, *records = [json.loads(line) for line in events.splitlines()]
        assert header["format"] == "vmtop-watch" and header["recording"] == str(path)
        notes = [r for r in records if r["event"] == "note"]
        big = next(
            (int(m.group(2), 16), r["time"])
            for r in notes
            if (m := BIG.search(r.get("detail", ""))) and int(m.group(1)) >= 1 << 20
        )
        address, said_at = big
        # The sample that first shows it mapped: the first "mapped" event holding it.
        mapped_at = next(
            r["time"]
            for r in records
            if r["event"] == "mapped" and int(r["start"], 16) <= address < int(r["end"], 16)
        )
        assert abs(mapped_at - said_at) < 3

        tmux.send(f"{VMTOP} replay {path}", "Enter")
        tmux.wait_for(lambda t: "replay" in t and "sample 1/" in t, 10, "the replay screen")
        # To the millisecond, rounded up: the sample taken then, not the one before.
        ms = int(mapped_at * 1000) + 1
        clock = time.strftime("%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}"
        tmux.send("t")
        time.sleep(0.3)
        tmux.send(clock, "Enter")
        screen = tmux.wait_for(
            lambda t: "sample 1/" not in t and "mapped" in t, 5, "the moment it was mapped"
        )
        # The header gives the sample's time rounded to the tenths that tell samples
        # apart (12:11:31.96 reads 12:11:32.0): within half a tenth of it.
        shown = re.search(r"(\d\d):(\d\d):(\d\d\.\d+)", screen.splitlines()[0])
        assert shown, screen.splitlines()[0]
        h, m, sec = int(shown[1]), int(shown[2]), float(shown[3])
        day = mapped_at % 86400
        assert abs(h * 3600 + m * 60 + sec - day) <= 0.051, (shown[0], clock)
        # That region, in the table: go to its address and read the selected row.
        tmux.send("g")
        time.sleep(0.3)
        tmux.send(f"{address:#x}", "Enter")
        time.sleep(1.0)
        screen = tmux.capture()
        rows = [
            (int(m.group(1), 16), int(m.group(2), 16), line)
            for line in screen.splitlines()
            if (m := ROW.search(line))
        ]
        holding = [line for start, end, line in rows if start <= address < end]
        assert holding, f"no row holds {address:#x}:\n{screen}"
        assert "anon" in holding[0]
        assert "Traceback" not in screen
        tmux.send("q")
        tmux.wait_for(lambda t: t.rstrip().endswith(PROMPT_SHOWN), 5, "the shell prompt")
    finally:
        tmux.kill()
