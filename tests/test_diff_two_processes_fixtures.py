"""`vmtop diff` of two recorded processes (tests/fixtures/proc: `sleep 1000` and the
threads program), by kind and by object: each compared with the fixture's own smaps,
summed by mapping name here."""

from __future__ import annotations

import json
import re

import pytest
from conftest import PROC_FIXTURES, run_vmtop
from helpers_smaps_sums import smaps_by_name, whole

FIGURES = ("size", "rss", "pss", "uss")


def _tree_running(word: str) -> int:
    """The recorded tree whose command line has ``word`` (PIDs change on re-recording)."""
    for cmdline in PROC_FIXTURES.glob("*/cmdline"):
        if word.encode() in cmdline.read_bytes():
            return int(cmdline.parent.name)
    raise AssertionError(f"no recorded process runs {word}")


def _snapshot(pid: int, path) -> None:
    result = run_vmtop("--proc-root", PROC_FIXTURES, "snapshot", pid, "--format", "json")
    assert result.returncode == 0, result.stderr
    path.write_bytes(result.stdout)


@pytest.fixture(scope="module")
def snapshot_files(tmp_path_factory):
    """Snapshots of the two recorded processes: sleep (A) and the threads program (B)."""
    out = tmp_path_factory.mktemp("two")
    a, b = _tree_running("sleep"), _tree_running("threads_ready")
    _snapshot(a, out / "a.json")
    _snapshot(b, out / "b.json")
    return a, b, out


@pytest.fixture(scope="module")
def sleep_and_threads(snapshot_files):
    a, b, out = snapshot_files
    result = run_vmtop("diff", out / "a.json", out / "b.json", "--json")
    assert result.returncode == 1, result.stderr
    truth = (smaps_by_name(PROC_FIXTURES / str(a) / "smaps"),)
    truth += (smaps_by_name(PROC_FIXTURES / str(b) / "smaps"),)
    text = run_vmtop("diff", out / "a.json", out / "b.json").stdout.decode()
    return json.loads(result.stdout), truth, text


def test_heap_stack_and_a_file_of_one_are_their_smaps(sleep_and_threads):
    doc, (truth_a, truth_b), _ = sleep_and_threads
    objects = {row["name"]: row for row in doc["by_object"]}
    for name in ("[heap]", "[stack]"):
        for f in FIGURES:
            assert objects[name]["a"][f] == truth_a[name][f], (name, f)
            assert objects[name]["b"][f] == truth_b[name][f], (name, f)
            assert objects[name]["delta"][f] == truth_b[name][f] - truth_a[name][f]
    # A file only sleep maps (glibc's locale data): only in A, all of it gone at B.
    ctype = next(n for n in truth_a if n.endswith("/LC_CTYPE"))
    assert ctype not in truth_b and objects[ctype]["b"] is None
    for f in FIGURES:
        assert objects[ctype]["a"][f] == truth_a[ctype][f]
        assert objects[ctype]["delta"][f] == -truth_a[ctype][f]


def test_kinds_and_objects_each_add_up_to_the_whole_smaps(sleep_and_threads):
    doc, truths, _ = sleep_and_threads
    for rows in (doc["by_kind"], doc["by_object"]):
        for side, truth in zip(("a", "b"), truths, strict=True):
            summed = {f: sum(r[side][f] for r in rows if r[side] is not None) for f in FIGURES}
            assert summed == whole(truth), side
        # Every row's delta is B's less A's, the largest RSS difference first.
        rss = [abs(r["delta"]["rss"]) for r in rows]
        assert rss == sorted(rss, reverse=True)


def test_text_shows_ten_of_each_and_the_rest_in_a_line(sleep_and_threads):
    doc, _, text = sleep_and_threads
    objects = text.split("\nBy object")[1].strip().splitlines()[2:]  # (title, header)
    assert len(doc["by_object"]) > 10
    assert len(objects) == 11
    for line, row in zip(objects, doc["by_object"][:10], strict=False):
        assert line.split("  ")[-1].startswith(row["name"])
    assert objects[10] == (
        f"  … and {len(doc['by_object']) - 10} more objects: RSS "
        + _delta_words(sum(r["delta"]["rss"] for r in doc["by_object"][10:]))
        + f" between them (--top {len(doc['by_object'])} lists them all)"
    )


def _delta_words(n: int) -> str:
    from vmtop.tui.formatting import format_delta

    return format_delta(n) or "±0"


def test_guard_pages_are_one_row_not_one_per_thread(sleep_and_threads):
    doc, _, _ = sleep_and_threads
    b = _tree_running("threads_ready")
    # The no-access pages below each thread's stack, as smaps lists them: nameless ---p.
    guards = []
    for line in (PROC_FIXTURES / str(b) / "smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) == 5 and fields[1] == "---p":
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            guards.append(hi - lo)
    assert len(guards) == 2  # (two threads: what the program printed, expected/*.printed)
    rows = [r for r in doc["by_object"] if r["b"] is not None and r["a"] is None]
    guard_rows = [r for r in rows if r["name"] == "[guard]"]
    assert len(guard_rows) == 1 and guard_rows[0]["b"]["size"] == sum(guards)
    assert guard_rows[0]["b"]["regions"] == 2


def _tables(text: str) -> dict[str, list[str]]:
    """The rows of the By kind and By object tables (not their title and header)."""
    kinds = text.split("\nBy kind")[1].split("\nBy object")[0]
    objects = text.split("\nBy object")[1]
    return {t: s.strip().splitlines()[2:] for t, s in (("kind", kinds), ("object", objects))}


def _diff_text(snapshot_files, *options: str) -> str:
    _, _, out = snapshot_files
    result = run_vmtop("diff", out / "a.json", out / "b.json", *options)
    assert result.returncode == 1, result.stderr
    return result.stdout.decode()


def test_top_shows_that_many_rows_and_the_rest_says_the_top_that_shows_all(
    snapshot_files, sleep_and_threads
):
    doc, _, _ = sleep_and_threads
    tables = _tables(_diff_text(snapshot_files, "--top", "3"))
    for word, rows in (("kind", doc["by_kind"]), ("object", doc["by_object"])):
        lines = tables[word]
        assert len(rows) > 3 and len(lines) == 4, (word, lines)
        for line, row in zip(lines[:3], rows[:3], strict=True):
            assert line.split("  ")[-1].startswith(row["name"]), (line, row["name"])
        assert lines[3].startswith(f"  … and {len(rows) - 3} more {word}s: RSS "), lines[3]
        # What the line says to give lists every row, and no line for the rest.
        said = re.search(r"\(--top (\d+) lists them all\)$", lines[3])
        assert said, lines[3]
        every = _tables(_diff_text(snapshot_files, "--top", said.group(1)))[word]
        assert len(every) == len(rows), every
        for line, row in zip(every, rows, strict=True):
            assert line.split("  ")[-1].startswith(row["name"]), (line, row["name"])


def test_a_top_above_the_rows_shows_them_all_and_no_rest_line(snapshot_files, sleep_and_threads):
    doc, _, _ = sleep_and_threads
    tables = _tables(_diff_text(snapshot_files, "--top", "1000"))
    assert len(tables["kind"]) == len(doc["by_kind"]) > 10
    assert len(tables["object"]) == len(doc["by_object"]) > 10
    assert not any("… and" in line for rows in tables.values() for line in rows)


def test_json_keeps_every_row_whatever_the_top(snapshot_files, sleep_and_threads):
    doc, _, _ = sleep_and_threads
    _, _, out = snapshot_files
    result = run_vmtop("diff", out / "a.json", out / "b.json", "--json", "--top", "2")
    assert result.returncode == 1, result.stderr
    topped = json.loads(result.stdout)
    assert topped["by_kind"] == doc["by_kind"] and topped["by_object"] == doc["by_object"]


@pytest.mark.parametrize("top", ["0", "-3", "many"])
def test_top_below_one_is_a_usage_error(snapshot_files, top):
    _, _, out = snapshot_files
    result = run_vmtop("diff", out / "a.json", out / "b.json", "--top", top)
    assert result.returncode == 2 and not result.stdout, result.stdout
    assert b"argument --top:" in result.stderr, result.stderr
