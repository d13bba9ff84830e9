"""A 32-bit process (i386 on x86-64: Wine's 32-bit games, old builds) on the process
screen: its bar spans the 4 GiB it can have, not 128 TiB, so the space it has left is
what the last break says; the header says its size out of 4 GiB; its addresses take
eight digits."""

from __future__ import annotations

import subprocess

import pytest

from vmtop.procfs.reader import ProcFS
from vmtop.tui.app import VmtopApp
from vmtop.tui.formatting import format_bytes
from vmtop.tui.widgets.address_bar import AddressBar
from vmtop.tui.widgets.process_header import ProcessHeader
from vmtop.tui.widgets.region_table import RegionTable

from .test_process_screen import lines, settle

# No libc: gcc builds 32-bit code without the 32-bit libraries (gcc-multilib).
I386_SOURCE = r"""
static const char ready[] = "ready\n";
void _start(void)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(4), "b"(1), "c"(ready), "d"(6) : "memory");
    for (;;)
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(29) : "memory"); /* pause */
}
"""


@pytest.fixture
def i386_program(tmp_path):
    source = tmp_path / "i386.c"
    source.write_text(I386_SOURCE)
    exe = tmp_path / "i386"
    built = subprocess.run(
        ["gcc", "-m32", "-nostdlib", "-static", "-ffreestanding", "-fno-pic", "-O1",
         "-o", str(exe), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.skip(f"gcc cannot build i386 code here: {built.stderr.strip()[:200]}")
    return exe


def kernel_map(pid: int) -> list[tuple[int, int, str]]:
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            out.append((start, end, fields[5] if len(fields) > 5 else ""))
    return out


async def test_a_32_bit_process_is_drawn_in_its_4_gib(i386_program, spawn):
    assert i386_program.read_bytes()[4] == 1  # ELFCLASS32: the kernel runs it as i386
    child = spawn([str(i386_program)])
    assert child.read_line() == "ready"
    mapped = kernel_map(child.pid)
    highest = max(end for _, end, _ in mapped)
    assert highest <= 1 << 32 and "[vsyscall]" not in {name for *_, name in mapped}
    app = VmtopApp(ProcFS(), child.pid)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.action_pause()
        bar = app.screen.query_one(AddressBar)
        layout = bar.layout
        assert layout.top == 1 << 32
        # The last break is the space left above the stack: what the kernel's map says.
        last_break = "".join(c.gap_char for c in layout.cells[-12:] if c.gap_char)
        assert format_bytes((1 << 32) - highest) in last_break, last_break
        assert layout.axis[-1][1] == "ffffffff"
        size = sum(end - start for start, end, _ in mapped)
        header = lines(app.screen.query_one(ProcessHeader))[1]
        assert f"size {format_bytes(size)} of 4.0G" in header, header
        table = app.screen.query_one(RegionTable)
        first = min(start for start, _, _ in mapped)
        assert f"{first:08x} " in " ".join(lines(table)), lines(table)[:3]
        assert f"0000{first:08x}" not in " ".join(lines(table))


async def test_a_64_bit_process_keeps_its_128_tib(compile_c, spawn, tmp_path):
    source = tmp_path / "sleeper.c"
    source.write_text('#include <stdio.h>\n#include <unistd.h>\nint main(void)\n'
                      '{ puts("ready"); fflush(stdout); for (;;) pause(); }\n')  # fmt: skip
    child = spawn([str(compile_c(source))])
    assert child.read_line() == "ready"
    app = VmtopApp(ProcFS(), child.pid)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.action_pause()
        assert app.screen.query_one(AddressBar).layout.top == 1 << 47
        header = lines(app.screen.query_one(ProcessHeader))[1]
        assert " of " not in header, header
