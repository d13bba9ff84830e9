"""CPython's obmalloc arenas, named on recorded processes of CPython 3.6 to 3.13
(tests/fixtures/python, recorded by its record.py) against strace's ground truth: the
arenas.tsv of each is every mmap obmalloc's arena allocator made (its stack, strace -k)
and the process still had, and their count is what sys._debugmallocstats() printed
(ready.txt). Plus the shapes and facts that must keep a region from being named."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from vmtop.model import kinds
from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.explain import why_kind
from vmtop.model.facts import ClassifyFacts
from vmtop.model.python_arenas import THP_SIZE, runs_python
from vmtop.model.python_facts import (
    LARGE_ARENA,
    SMALL_ARENA,
    PythonFacts,
    allocator_of,
    ignores_environment,
    is_arenas_object,
    python_file,
)
from vmtop.model.region import Region
from vmtop.procfs.facts import read_classify_facts
from vmtop.procfs.maps_delta import read_again, read_whole
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.python_facts import pythonmalloc, read_python_facts
from vmtop.procfs.reader import ProcFS

HERE = FIXTURES / "python"
NAMES = sorted(d.name for d in HERE.iterdir() if (d / "arenas.tsv").is_file())
PAGE = 4096
MiB = 1 << 20


def tree(name: str):
    root = HERE / name
    pid = int(next(p for p in root.iterdir() if p.name.isdigit()).name)
    return root, pid


def classified(name: str) -> list[Region]:
    """The fixture classified with the facts read from its tree, and the .bss sizes
    recorded with it (a copied tree cannot open the objects)."""
    root, pid = tree(name)
    regions = parse_maps((root / str(pid) / "maps").read_bytes())
    bss = {int(k, 16): v for k, v in json.loads((root / "bss.json").read_text()).items()}
    facts = read_classify_facts(ProcFS(str(root)), pid, regions)._replace(bss_after_data=bss)
    return classify_regions(regions, facts)


def arena_pages(name: str) -> set[int]:
    pages: set[int] = set()
    for line in (HERE / name / "arenas.tsv").read_text().splitlines():
        lo, hi = (int(x, 16) for x in line.split("\t"))
        pages.update(range(lo // PAGE, hi // PAGE))
    return pages


def ready(name: str) -> tuple[int | None, int | None]:
    first = (HERE / name / "ready.txt").read_text().split("\n")[0].split()
    return tuple(int(x) if x.isdigit() else None for x in first[1:3])


def pages_of(r: Region) -> range:
    return range(r.start // PAGE, r.end // PAGE)


def test_the_fixtures_are_there():
    assert {"py36_churn", "py39_small", "py310_churn", "py311_threads"} <= set(NAMES)
    assert {"py312_threads", "py313_small", "py313_mimalloc", "py312_malloc"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_strace_and_the_interpreter_agree(name):
    """The ground truth is one: strace's arenas are the ones CPython counts."""
    count, size = ready(name)
    assert len(arena_pages(name)) * PAGE == (count or 0) * (size or 0)


@pytest.mark.parametrize("name", NAMES)
def test_named_regions_hold_arenas_only(name):
    regions = classified(name)
    pages = arena_pages(name)
    for r in regions:
        if is_arenas_object(r.object):
            assert all(p in pages for p in pages_of(r)), f"{r.start:x}-{r.end:x}"


@pytest.mark.parametrize("name", NAMES)
def test_every_region_of_arenas_alone_is_named(name):
    """All but a run placed on a 2 MiB boundary and 2 MiB long (what the kernel does
    with mappings of whole 2 MiB, which an arena never is: left unnamed on purpose); the
    arenas not named are merged with other memory (checked: strace's other mappings)."""
    regions = classified(name)
    pages = arena_pages(name)
    for r in regions:
        alone = all(p in pages for p in pages_of(r))
        thp_shaped = not r.start % THP_SIZE and not r.size % THP_SIZE
        if alone and not thp_shaped:
            assert is_arenas_object(r.object), f"{r.start:x}-{r.end:x} {r.kind} {r.object}"
        elif not alone:
            assert not is_arenas_object(r.object)


# Arena bytes named, out of the arenas the interpreter counted: measured on the fixtures
# (the rest is merged with malloc's mappings, or one 2 MiB run on a 2 MiB boundary).
NAMED_AT_LEAST = {
    "py36_churn": 0.9,
    "py39_small": 0.95,
    "py310_churn": 1.0,
    "py311_threads": 0.65,
    "py312_threads": 0.65,
    "py313_small": 0.75,
}


@pytest.mark.parametrize("name", sorted(NAMED_AT_LEAST))
def test_most_arena_bytes_are_named_with_the_version(name):
    count, size = ready(name)
    regions = classified(name)
    named = [r for r in regions if is_arenas_object(r.object)]
    total = sum(r.size for r in named)
    assert NAMED_AT_LEAST[name] * count * size <= total <= count * size
    version = (HERE / name / "version").read_text().split()[0]  # "3.11.7"
    major_minor = ".".join(version.split(".")[:2])
    assert {r.object for r in named} == {f"Python {major_minor} object arenas (obmalloc)"}
    assert all(r.kind == kinds.ANON and not r.size % size for r in named)


def test_before_3_10_an_arena_is_256_kib():
    sizes = {r.size for r in classified("py39_small") if is_arenas_object(r.object)}
    assert any(s % LARGE_ARENA for s in sizes)  # 768 KiB, 1.25 MiB: whole 256 KiB arenas
    assert ready("py39_small")[1] == SMALL_ARENA
    assert ready("py310_churn")[1] == LARGE_ARENA


@pytest.mark.parametrize(
    ("name", "allocator"), [("py313_mimalloc", "mimalloc"), ("py312_malloc", "malloc")]
)
def test_pythonmalloc_is_read_from_the_environment(name, allocator):
    root, pid = tree(name)
    regions = parse_maps((root / str(pid) / "maps").read_bytes())
    python = read_python_facts(ProcFS(str(root)), pid, regions, {r.path for r in regions})
    assert python is not None and python.allocator == allocator and python.arena_size is None
    assert not any(is_arenas_object(r.object) for r in classified(name))


def test_the_threads_stacks_stay_stacks():
    regions = classified("py311_threads")
    assert sum(r.kind == kinds.THREAD_STACK for r in regions) == 4


def test_columns_name_what_a_list_names():
    root, pid = tree("py311_threads")
    regions = parse_maps((root / str(pid) / "maps").read_bytes())
    facts = read_classify_facts(ProcFS(str(root)), pid, regions)
    got = list(classify_columns(RegionColumns.from_regions(regions), facts))
    assert got == classify_regions(regions, facts)
    assert any(is_arenas_object(r.object) for r in got)


def test_the_detail_says_what_an_arena_is():
    r = next(r for r in classified("py311_threads") if is_arenas_object(r.object) and r.size > MiB)
    text = why_kind(r)
    assert "CPython 3.11" in text and "obmalloc" in text and "PYTHONMALLOC=malloc" in text
    assert f"{r.size // MiB} arenas" in text
    small = next(r for r in classified("py36_churn") if is_arenas_object(r.object))
    assert "256 KiB" in why_kind(small) and f"{small.size // SMALL_ARENA} arena" in why_kind(small)


def test_a_maps_edit_away_from_the_interpreter_is_named_too():
    """Read again after one new arena far from any file: the window classified alone
    holds no file that says Python; the CPython the last read found is carried."""
    root, pid = tree("py312_threads")
    text = (root / str(pid) / "maps").read_bytes()

    def read_facts(regions):
        return ClassifyFacts(python=runs_python(regions, {r.path for r in regions}))

    old, _ = read_whole(text, read_facts)
    line = b"100000000-100100000 rw-p 00000000 00:00 0 \n"
    lines = text.splitlines(keepends=True)
    at = next(i for i, x in enumerate(lines) if int(x.split(b"-")[0], 16) > 0x100100000)
    new = b"".join(lines[:at] + [line] + lines[at:])
    _, regions, change = read_again(old, new, read_facts)
    assert not change.whole  # (the window alone: the read stays cheap)
    whole = parse_maps(new)
    assert regions == classify_regions(whole, read_facts(whole))
    assert is_arenas_object(next(r for r in regions if r.start == 0x100000000).object)


# -- shapes and facts, on made-up maps ----------------------------------------------

LIB = "/usr/lib/libpython3.12.so.1.0"


def region(start: int, size: int, perms: str = "rw-p", path: str = "", inode: int = 0) -> Region:
    return Region(start, start + size, perms, 0, "fe:00" if inode else "00:00", inode, path)


def made_up(*extra: Region, lib: str = LIB, lib_perms: str = "r-xp") -> list[Region]:
    return sorted(
        [region(0x7F0000000000, 0x1000, lib_perms, lib, 7), *extra], key=lambda r: r.start
    )


def named(regions, python=None) -> list[int]:
    paths = {r.path for r in regions}
    facts = ClassifyFacts(python=python or runs_python(regions, paths))
    return [r.start for r in classify_regions(regions, facts) if is_arenas_object(r.object)]


def test_whole_arenas_are_named_and_others_not():
    regions = made_up(
        region(0x7E0000001000, 3 * MiB),  # three arenas
        region(0x7E0000801000, 3 * MiB + 0x4000),  # merged with a 16 KiB chunk
        region(0x7E0001001000, 3 * MiB, "r--p"),  # not read-write
        region(0x7E0002001000, 3 * MiB, "rw-s"),  # shared
    )
    assert named(regions) == [0x7E0000001000]


def test_a_stack_above_its_guard_is_no_arena():
    """glibc's thread stack is 8 MiB above a one-page guard: whole arenas by size."""
    regions = made_up(region(0x7E0000000000, 0x1000, "---p"), region(0x7E0000001000, 8 * MiB))
    assert named(regions) == []


def test_a_mapping_placed_on_2_mib_is_no_arena():
    """OpenBLAS's 32 MiB buffers (numpy), mimalloc's 1 GiB: on a 2 MiB boundary (the
    kernel's THP placement); arenas beside them are not."""
    regions = made_up(region(0x7E0002000000, 32 * MiB), region(0x7E0001E00000, MiB))
    assert named(regions) == [0x7E0001E00000]


OPENBLAS = "/venv/lib/python3.12/site-packages/numpy.libs/libscipy_openblas64_-61654e39.so"


def test_openblas_buffers_placed_anywhere_are_no_arenas():
    """Before Linux 6.7 the kernel puts OpenBLAS's 32 MiB buffers (numpy) anywhere, as
    it does arenas: where OpenBLAS is mapped, whole 32 MiB are its buffers."""
    buffers = region(0x7E0000001000, 4 * 32 * MiB)  # four merged, off the 2 MiB grid
    arenas = region(0x7E0010001000, 3 * MiB)
    blas = region(0x7F0000100000, 0x1000, "r-xp", OPENBLAS, 9)
    assert named(made_up(buffers, arenas)) == [buffers.start, arenas.start]  # (no OpenBLAS)
    assert named(made_up(buffers, arenas, blas)) == [arenas.start]


def test_no_python_no_names():
    for lib, perms in (("/usr/lib/libc.so.6", "r-xp"), (LIB, "r--p")):  # read, not run
        regions = made_up(region(0x7E0000001000, 3 * MiB), lib=lib, lib_perms=perms)
        assert named(regions) == []


@pytest.mark.parametrize(
    ("path", "version", "free_threaded"),
    [
        ("/usr/bin/python3.11", (3, 11), False),
        ("/root/.pyenv/versions/3.6.15/lib/libpython3.6m.so.1.0", (3, 6), False),
        ("/opt/py/bin/python3.13t", (3, 13), True),
        ("/usr/lib/libpython3.13t.so.1.0 (deleted)", (3, 13), True),
        ("/usr/lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so", (3, 12), False),
        ("/usr/lib/libpython2.7.so.1.0", (2, 7), False),
    ],
)
def test_the_version_is_in_the_file_name(path, version, free_threaded):
    python = python_file(path)
    assert python is not None and python.version == version
    assert python.free_threaded == free_threaded
    assert (python.arena_size is None) == free_threaded


@pytest.mark.parametrize("path", ["/usr/bin/python3", "/usr/bin/python", "/usr/lib/libc.so.6",
                                  "/srv/python3.11-config", "/x/foo.abi3.so"])  # fmt: skip
def test_names_that_tell_no_version(path):
    assert python_file(path) is None


def test_an_extension_module_tells_an_embedded_interpreter():
    regions = made_up(
        region(0x7E0000001000, MiB),
        lib="/srv/app/lib/_ssl.cpython-311-x86_64-linux-gnu.so",
    )
    assert named(regions) == [0x7E0000001000]


def test_free_threaded_builds_have_no_arenas():
    regions = made_up(region(0x7E0000001000, MiB), lib="/opt/lib/libpython3.13t.so.1.0")
    assert named(regions) == []


def test_arena_size_by_version():
    before = made_up(region(0x7E0000001000, 768 << 10), lib="/usr/lib/libpython3.9.so.1.0")
    after = made_up(region(0x7E0000001000, 768 << 10), lib="/usr/lib/libpython3.10.so.1.0")
    assert named(before) == [0x7E0000001000] and named(after) == []


@pytest.mark.parametrize(
    ("value", "allocator"),
    [(None, "pymalloc"), ("debug", "pymalloc"), ("pymalloc_debug", "pymalloc"),
     ("malloc", "malloc"), ("malloc_debug", "malloc"), ("mimalloc", "mimalloc"),
     ("nonsense", "pymalloc")],
)  # fmt: skip
def test_pythonmalloc_values(value, allocator):
    assert allocator_of(value) == allocator


@pytest.mark.parametrize(
    ("argv", "ignores"),
    [
        (["python3", "app.py", "-E"], False),
        (["python3", "-E", "app.py"], True),
        (["python3", "-sIB", "app.py"], True),
        (["python3", "-X", "E", "app.py"], False),
        (["python3", "-XE", "app.py"], False),
        (["python3", "-W", "error", "-E", "-c", "pass"], True),
        (["python3", "-c", "-E"], False),
        (["python3", "-m", "pip", "-E"], False),
        (["python3", "--check-hash-based-pycs", "always", "-E", "x.py"], True),
        (["gunicorn: master [app]"], False),
    ],
)
def test_minus_e_and_minus_i_ignore_pythonmalloc(argv, ignores):
    assert ignores_environment(argv) == ignores


def test_pythonmalloc_in_environ():
    assert pythonmalloc(b"HOME=/root\0PYTHONMALLOC=malloc\0X=1\0") == "malloc"
    assert pythonmalloc(b"HOME=/root\0MY_PYTHONMALLOC=malloc\0") is None


def test_an_environment_ignored_keeps_obmalloc(tmp_path):
    pid = 4242
    proc = tmp_path / str(pid)
    proc.mkdir()
    (proc / "environ").write_bytes(b"PYTHONMALLOC=malloc\0")
    regions = made_up(region(0x7E0000001000, MiB))
    paths = {r.path for r in regions}
    for argv, allocator in (
        (b"python3\0app.py\0", "malloc"),
        (b"python3\0-I\0app.py\0", "pymalloc"),
    ):
        (proc / "cmdline").write_bytes(argv)
        python = read_python_facts(ProcFS(str(tmp_path)), pid, regions, paths)
        assert python == PythonFacts((3, 12), LIB, allocator=allocator)
        assert named(regions, python) == ([] if allocator == "malloc" else [0x7E0000001000])


# Every recorded map of another program: no "python" in any of its paths.
OTHERS = sorted(
    p
    for p in FIXTURES.rglob("maps")
    if p.is_file() and p.stat().st_size and b"python" not in p.read_bytes()
)


def test_other_runtimes_are_no_python():
    """JVMs, Node, Chromium, PostgreSQL, C programs: none of their regions is
    named, though some have the shape (the JVM's committed parts of its heap and
    tables): only a process that maps CPython gets the name."""
    assert len(OTHERS) > 20
    shaped = 0
    for path in OTHERS:
        regions = parse_maps(path.read_bytes())
        assert runs_python(regions, {r.path for r in regions}) is None, path
        assert named(regions) == [], path
        shaped += len(named(regions, PythonFacts((3, 12), LIB)))
    assert shaped > 10


# -- events: an arena mapped or given back is said as one ---------------------------


def test_arenas_mapped_and_freed_are_said_as_arenas():
    """Named by their size, arenas coming and going are no longer "malloc above its mmap
    threshold, or a direct mmap … the map cannot tell which"."""
    from vmtop.model import events as ev
    from vmtop.model.diff import diff_snapshots
    from vmtop.model.region import ProcessInfo, Snapshot, Totals

    info = ProcessInfo(42, 1000, "python3.12", "python3", "S", 1, 0, 1, None)

    def snapshot(*extra: Region) -> Snapshot:
        regions = made_up(*extra)
        facts = ClassifyFacts(python=runs_python(regions, {r.path for r in regions}))
        classified = tuple(classify_regions(regions, facts))
        return Snapshot(info, 0.0, classified, Totals(0, 0, 0, 0, 0, 0), False, {})

    two, three = region(0x7E0000001000, 2 * MiB), region(0x7E0010001000, 3 * MiB)
    mapped = diff_snapshots(snapshot(two), snapshot(two, three))
    (event,) = [e for e in mapped if e.event == ev.MAPPED]
    assert "3 of CPython's object arenas mapped (obmalloc, 1.0 MiB each)" in event.detail
    assert "cannot tell" not in event.detail and "Python 3.12" in event.detail
    freed = diff_snapshots(snapshot(two, three), snapshot(three))
    (event,) = [e for e in freed if e.event == ev.UNMAPPED]
    assert "2 of CPython's object arenas given back" in event.detail
    assert "every pool in each was empty" in event.detail
