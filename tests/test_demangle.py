"""C++ names demangled as gdb and c++filt show them; ground truth from binutils'
``c++filt`` and ``nm``, and a C++ program that prints where its functions are."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers_elf import C_DIR, nm_symbols, parse_addresses, vmtop_text, where_results

from vmtop.output.demangle import _demangler, demangle

NAMES = [
    "_ZN4node13CallbackScopeC2EPN2v87IsolateENS1_5LocalINS1_6ObjectEEENS_13async_contextE.cold",
    "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE9_M_appendEPKcm",
    "_ZN4shop5twiceIlEET_S1_",
    "_ZNK2v86String6LengthEv.isra.0",
    "_ZdlPvm",  # operator delete(void*, unsigned long)
    "_ZTVN10__cxxabiv117__class_type_infoE",  # a vtable
]


def cxxfilt(names: list[str]) -> list[str]:
    if shutil.which("c++filt") is None:
        pytest.skip("needs c++filt (binutils)")
    result = subprocess.run(
        ["c++filt"], input="\n".join(names) + "\n", capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def needs_a_demangler():
    if _demangler() is None:
        pytest.skip("no C++ runtime (libstdc++ or libc++abi) on this machine")


def test_names_read_as_cxxfilt_reads_them():
    needs_a_demangler()
    assert [demangle(name) for name in NAMES] == cxxfilt(NAMES)


def test_other_names_stay_as_they_are():
    for name in ("malloc", "_start", "__libc_start_main", "_Z", "_Zgarbage!", "x\udcff"):
        assert demangle(name) == name


@pytest.mark.live
def test_where_shows_a_cxx_function_demangled_and_json_keeps_both(tmp_path, spawn):
    needs_a_demangler()
    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    exe = tmp_path / "cxx_names"
    subprocess.run(["g++", "-O0", "-o", str(exe), str(C_DIR / "cxx_names.cpp")], check=True)
    child = spawn([exe])
    printed = parse_addresses(child.read_until("ready"))
    symbols = {s.name: s for s in nm_symbols(exe)}
    add = next(name for name in symbols if name.startswith("_ZN4shop3add"))
    twice = next(name for name in symbols if name.startswith("_ZN4shop5twice"))
    address = printed["add"] + 5
    results = where_results(str(child.pid), hex(address), hex(printed["twice"]))
    expected = cxxfilt([add, twice])
    assert (results[0]["symbol"], results[0]["symbol_offset"]) == (add, 5)
    assert results[0]["symbol_demangled"] == expected[0]
    assert results[1]["symbol"] == twice and results[1]["symbol_demangled"] == expected[1]
    text = vmtop_text("where", str(child.pid), hex(address)).stdout
    assert f"{expected[0]}+0x5" in text and add not in text
    # A C name has nothing to add.
    main = symbols["main"].value + printed["add"] - symbols[add].value
    (result,) = where_results(str(child.pid), hex(main))
    assert result["symbol"] == "main" and "symbol_demangled" not in result


def test_the_tuis_go_to_sentence_reads_demangled():
    needs_a_demangler()
    from vmtop.model.region import Region
    from vmtop.model.where import WhereResult
    from vmtop.tui.screens.process_prompt import located_sentence

    text = Region(0x1000, 0x2000, "r-xp", 0, "fe:00", 7, "/usr/bin/node", kind="text")
    result = WhereResult(
        0x1010, True, text, "text", "/usr/bin/node", ".text", NAMES[0], 0x10, None, None, None
    )
    sentence = located_sentence(result)
    assert f"{cxxfilt(NAMES[:1])[0]}+0x10" in sentence and "_ZN4node" not in sentence
