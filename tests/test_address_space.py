"""How far a process's user address space reaches, told from its map alone
(``vmtop.model.address_space``): 4 GiB for a 32-bit process, 128 TiB or 64 PiB for a
64-bit one."""

from __future__ import annotations

from vmtop.model import kinds
from vmtop.model.address_space import TOP_32, TOP_47, TOP_56, user_top
from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region


def region(start, end, kind=kinds.ANON, path=""):
    return Region(start, end, "rw-p", 0, "00:00", 0, path, kind=kind)


VSYSCALL = region(0xFFFF_FFFF_FF60_0000, 0xFFFF_FFFF_FF60_1000, kinds.VSYSCALL, "[vsyscall]")

# As /proc/PID/maps shows an i386 program on x86-64 (recorded here from one built with
# gcc -m32): no [vsyscall], the stack just under 4 GiB.
I386 = [
    region(0x0804_8000, 0x0804_9000, kinds.TEXT, "/tmp/s32"),
    region(0xF7F1_F000, 0xF7F2_3000, kinds.VVAR, "[vvar]"),
    region(0xF7F2_5000, 0xF7F2_7000, kinds.VDSO, "[vdso]"),
    region(0xFFD1_A000, 0xFFD3_B000, kinds.STACK, "[stack]"),
]
AMD64 = [
    region(0x5555_5555_4000, 0x5555_5555_5000, kinds.TEXT, "/bin/x"),
    region(0x7FFD_0000_0000, 0x7FFD_0002_1000, kinds.STACK, "[stack]"),
]


def test_a_32_bit_process_has_4_gib():
    assert user_top(I386) == TOP_32
    assert user_top(RegionColumns.from_regions(I386)) == TOP_32


def test_a_64_bit_process_has_128_tib_with_or_without_vsyscall():
    assert user_top([*AMD64, VSYSCALL]) == TOP_47
    assert user_top(AMD64) == TOP_47  # vsyscall=none on the kernel's command line


def test_a_map_below_4_gib_with_vsyscall_is_a_64_bit_one():
    # Only 64-bit processes are shown [vsyscall]: whatever sits below it.
    assert user_top([*I386, VSYSCALL]) == TOP_47


def test_five_level_paging_and_an_empty_map():
    high = region(0x00FF_FFFF_0000_0000, 0x00FF_FFFF_0002_1000, kinds.STACK, "[stack]")
    assert user_top([*AMD64, high, VSYSCALL]) == TOP_56
    assert user_top([]) == TOP_47
