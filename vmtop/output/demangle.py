"""C++ symbol names as people read them: ``node::CallbackScope::CallbackScope(...)``.

gdb, perf, pwndbg and ``c++filt`` show Itanium-ABI names (``_ZN4node13Callback…``)
demangled; so does vmtop, through the C++ runtime's own demangler (``__cxa_demangle``,
in libstdc++ or libc++abi), loaded the first time a ``_Z`` name is shown. It knows
GCC's clone suffixes too (``.cold`` → ``[clone .cold]``). Where neither library is
installed, names are shown as the object has them. JSON keeps the raw name.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_LIBRARIES = ("libstdc++.so.6", "libc++abi.so.1")


@functools.cache
def _demangler():
    """``(__cxa_demangle, free)``, or None when no C++ runtime is installed."""
    names = [*_LIBRARIES, ctypes.util.find_library("stdc++")]
    for name in filter(None, names):
        try:
            function = ctypes.CDLL(name).__cxa_demangle
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_void_p  # malloc'd: freed below
        function.argtypes = (
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_size_t),
            ctypes.POINTER(ctypes.c_int),
        )
        free = ctypes.CDLL(None).free
        free.argtypes = (ctypes.c_void_p,)
        free.restype = None
        return function, free
    return None


@functools.lru_cache(maxsize=4096)
def demangle(name: str) -> str:
    """The demangled form of a C++ symbol name; any other name (C, or one the
    demangler refuses) as it is."""
    if not name.startswith("_Z"):
        return name
    found = _demangler()
    if found is None:
        return name
    function, free = found
    status = ctypes.c_int(-1)
    raw = name.encode("utf-8", "surrogateescape")
    if b"\0" in raw:
        return name
    pointer = function(raw, None, None, ctypes.byref(status))
    if not pointer:
        return name
    try:
        if status.value != 0:
            return name
        return ctypes.string_at(pointer).decode("utf-8", "surrogateescape")
    finally:
        free(pointer)
