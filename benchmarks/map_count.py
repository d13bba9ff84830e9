"""Raise vm.max_map_count for a benchmark with more regions than the default allows,
and put it back afterwards. Only as root, and only where the sysctl is writable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_MAP_COUNT = Path("/proc/sys/vm/max_map_count")


@contextmanager
def max_map_count_for(regions: int) -> Iterator[None]:
    """vm.max_map_count at least ``regions`` plus room for libc and Python; restored
    on the way out. SystemExit with the reason when it cannot be raised."""
    before = int(MAX_MAP_COUNT.read_text())
    wanted = regions + 10_000
    if before >= wanted:
        yield
        return
    try:
        MAX_MAP_COUNT.write_text(str(wanted))
    except OSError as e:
        raise SystemExit(
            f"{regions} regions need vm.max_map_count >= {wanted} (it is {before}) and "
            f"it cannot be raised here: {e.strerror}; run as root"
        ) from None
    try:
        yield
    finally:
        MAX_MAP_COUNT.write_text(str(before))
