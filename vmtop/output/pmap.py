"""`pmap -x` output, byte for byte the layout procps-ng 4 prints, from a Snapshot."""

from __future__ import annotations

import os
import re

from vmtop.model.region import Region, Snapshot


def pmap_mapping_name(region: Region, start_stack: int | None) -> str:
    """The Mapping column as procps pmap computes it.

    pmap looks for the last '/' in the whole maps line: a path shows as its basename
    (so ``/memfd:x (deleted)`` shows ``memfd:x (deleted)``); a SysV segment shows its
    shmid (the inode); anything without a '/' is ``[ anon ]``, or ``[ stack ]`` when
    the process's start-of-stack address falls inside it (so ``[heap]`` is ``[ anon ]``).
    """
    path = region.path
    if path.startswith("/SYSV") and region.dev_major_minor[0] == 0:
        # pmap also checks the device minor against that of a SysV segment it creates
        # for the purpose; vmtop creates nothing, and a SysV name always starts the path.
        return f"  [ shmid=0x{region.inode:x} ]"
    slash = path.rfind("/")
    if slash >= 0:
        base = path[slash + 1 :]
        return pmap_printable(base if base else "/")
    if start_stack is not None and region.start <= start_stack <= region.end:
        return "  [ stack ]"
    return "  [ anon ]"


# procps-ng 4.0.2 pmap replaces every byte of a maps line that is not printable ASCII
# with '?' (isprint() per byte), UTF-8 or not: "é" shows as "??".
_NOT_PRINTABLE = bytes(range(0x20)) + bytes(range(0x7F, 0x100))
_TO_QUESTION_MARK = bytes.maketrans(_NOT_PRINTABLE, b"?" * len(_NOT_PRINTABLE))


def pmap_printable(name: str) -> str:
    """A mapping name as pmap prints it: each byte outside printable ASCII becomes '?'."""
    if name.isascii() and name.isprintable():
        return name
    raw = name.encode("utf-8", "surrogateescape")
    return raw.translate(_TO_QUESTION_MARK).decode("ascii")


def locale_is_utf8(environ=None) -> bool:
    """Whether the user's locale is UTF-8, as pmap (a C program) would find it.

    LC_ALL, else LC_CTYPE, else LANG. Python coerces a C locale by setting LC_CTYPE to
    C.UTF-8 in its own environment (PEP 538), so that value with no LANG (or LANG C or
    POSIX) is taken for the C locale pmap would have run in.
    """
    env = os.environ if environ is None else environ
    name = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or "C"
    if not env.get("LC_ALL") and name == "C.UTF-8" and env.get("LANG", "C") in ("C", "POSIX"):
        return False
    return name.replace("-", "").lower().endswith("utf8")


# What procps-ng 4.0.2's escape_str makes of the command line's bytes (its escape.c,
# checked against pmap -x): a newline was made a space before it; in a UTF-8 locale a
# C0 control or DEL is '?' up to the first byte that is not UTF-8, and from there on
# (and everywhere in the C locale) a C0 control or DEL is '.' and each byte above 0x7f
# is '?'.
_C0_AND_DEL = "".join(map(chr, range(0x20))) + "\x7f"
_TO_UTF8_LOCALE = str.maketrans(dict.fromkeys(_C0_AND_DEL, "?"))
_TO_C_LOCALE = str.maketrans(dict.fromkeys(_C0_AND_DEL, "."))
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def _as_in_c_locale(text: str) -> str:
    raw = text.encode("utf-8", "surrogateescape").decode("latin-1").translate(_TO_C_LOCALE)
    return raw if raw.isascii() else "".join(c if c < "\x80" else "?" for c in raw)


def pmap_command(command: str, utf8: bool | None = None) -> str:
    """The command in pmap's first line, as procps escapes it in the user's locale
    (``utf8``: None to find it from the environment).

    In a UTF-8 locale vmtop also writes '?' for every character Python does not call
    printable (C1 controls, bidi overrides, zero-width and non-breaking spaces, line
    separators), which pmap writes raw: vmtop never writes them to a terminal.
    """
    command = command.replace("\n", " ")
    if command.isascii() and command.isprintable():
        return command
    if not (locale_is_utf8() if utf8 is None else utf8):
        return _as_in_c_locale(command)
    bad = _NOT_UTF8.search(command)
    head, tail = (command, "") if bad is None else (command[: bad.start()], command[bad.start() :])
    head = head.translate(_TO_UTF8_LOCALE)
    if not head.isprintable():
        head = "".join(c if c.isprintable() or c == " " else "?" for c in head)
    return head + _as_in_c_locale(tail)


def pmap_mode(perms: str) -> str:
    """ "r-xp" -> "r-x--", "rw-s" -> "rw-s-" (the fifth column is Solaris' 'R', unused)."""
    shared = "s" if perms[3:4] == "s" else "-"
    return f"{perms[:3]}{shared}-"


# printf-style: about three times faster than the same f-string, at 60 000 rows.
_ROW = "%016x %7d %7s %7s %s"


def render_pmap(snapshot: Snapshot) -> str:
    """The whole `pmap -x` text. Where vmtop knows more than pmap, it differs:

    - a region without an Rss line (``--no-smaps``, a copied tree without smaps, a
      kernel that does not print it) shows ``-``, where pmap shows 0 or no row at all
      (pmap prints a row when it reads the block's ``Swap:`` line);
    - a maps line longer than 1023 bytes (a name over ~950 bytes) is one row; pmap reads
      lines into a 1024-byte buffer and prints a garbled row for it.
    """
    rows = PmapRows(snapshot.info.start_stack)
    return (
        pmap_head(snapshot.info)
        + rows.text(snapshot.regions)
        + rows.foot(snapshot.has_smaps, snapshot.totals.rss)
    )


def pmap_head(info) -> str:
    """The first two lines: PID and command, then the column titles."""
    return (
        f"{info.pid}:   {pmap_command(info.command)}\n"
        "Address           Kbytes     RSS   Dirty Mode  Mapping\n"
    )


class PmapRows:
    """The rows of `pmap -x`, written a run of regions at a time (a streamed snapshot
    comes in pieces), keeping the totals for the last line."""

    def __init__(self, start_stack: int | None) -> None:
        self.start_stack = -1 if start_stack is None else start_stack
        # Mode and Mapping depend on the region's name, permissions and identity
        # alone, except "[ stack ]": compute each distinct one once.
        self.suffixes: dict[tuple, tuple[str, str]] = {}
        self.total_size = self.total_rss = self.total_dirty = 0

    def text(self, regions) -> str:
        """The rows of ``regions``, each ending in a newline."""
        lines: list[str] = []
        append = lines.append
        suffixes = self.suffixes
        start_stack = self.start_stack
        total_size = total_rss = total_dirty = 0
        for r in regions:
            start = r.start
            end = r.end
            key = (r.perms, r.path, r.dev, r.inode)
            suffix = suffixes.get(key)
            if suffix is None:
                if len(suffixes) > 100_000:  # a million distinct names: start over
                    suffixes.clear()
                mode = f"{pmap_mode(r.perms):>5} "
                name = pmap_mapping_name(r, None)
                # Anonymous: "[ stack ]" instead when the process's stack starts inside.
                stack = "  [ stack ]" if name == "  [ anon ]" else name
                suffix = suffixes[key] = (mode + name, mode + stack)
            suffix = suffix[start <= start_stack <= end]
            rss = r.rss
            shared_dirty = r.shared_dirty
            private_dirty = r.private_dirty
            if shared_dirty is None and private_dirty is None:
                dirty = "-"
            else:
                dirty = ((shared_dirty or 0) + (private_dirty or 0)) >> 10
                total_dirty += dirty
            if rss is None:
                rss = "-"
            else:
                rss >>= 10
                total_rss += rss
            size = (end - start) >> 10
            total_size += size
            append(_ROW % (start, size, rss, dirty, suffix))
        self.total_size += total_size
        self.total_rss += total_rss
        self.total_dirty += total_dirty
        if not lines:
            return ""
        lines.append("")
        return "\n".join(lines)

    def foot(self, has_smaps: bool, rss: int | None = None) -> str:
        """The last two lines, with the totals of every row written (``rss``: the
        process's, in bytes, where smaps was not read: status' VmRSS)."""
        text = "---------------- ------- ------- ------- \n"
        if has_smaps:
            size, total, dirty = self.total_size, self.total_rss, self.total_dirty
            return text + f"{'total kB':<16} {size:7d} {total:7d} {dirty:7d}\n"
        # maps only: each region's resident figures are unknown, not zero; the whole
        # process's RSS is status' (no Dirty there).
        said = "-" if rss is None else str(rss >> 10)
        return text + f"{'total kB':<16} {self.total_size:7d} {said:>7} {'-':>7}\n"
