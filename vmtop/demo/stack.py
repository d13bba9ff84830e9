"""The stack demo: recursion with large frames grows the main thread's [stack].

Python calls between Python functions do not use the C stack much, so each level of
this recursion goes through C: a Python function called back from C by ctypes, with
1 000 arguments. Passing them takes about 70 KiB of the C stack per call (ctypes and
libffi lay the arguments out on the stack), so a few dozen levels grow [stack] by
megabytes. The kernel moves the start of [stack] down as the pages below are touched,
and never moves it back up when the calls return: the region keeps its high-water
mark (and its pages stay resident).

At each pause the demo prints its stack pointer (from getcontext, x86-64 only), which
vmtop shows inside [stack].
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import struct

from vmtop.demo.common import Demo, libc, run

ARGS = 1000  # arguments per call: what makes each frame large
LEVELS_PER_STEP = 4
ROUNDS = (16, 32, 64)  # deepest level reached in each round, then the last one again
SAFETY = 1 << 20  # stay this far from RLIMIT_STACK

Callback = ctypes.CFUNCTYPE(ctypes.c_long, *([ctypes.c_long] * ARGS))

# ucontext_t on x86-64 glibc: uc_flags, uc_link, uc_stack (24 bytes), then the general
# registers; REG_RSP is register 15.
_GREGS_OFFSET = 40
_REG_RSP = 15
_UCONTEXT_BYTES = 4096
libc.getcontext.argtypes = [ctypes.c_void_p]
libc.getcontext.restype = ctypes.c_int


def stack_pointer() -> int | None:
    """This thread's stack pointer as getcontext saw it, or None off x86-64."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    buf = ctypes.create_string_buffer(_UCONTEXT_BYTES)
    if libc.getcontext(buf) != 0:
        return None
    return struct.unpack_from("<Q", buf.raw, _GREGS_OFFSET + _REG_RSP * 8)[0]


class Recursion:
    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.callback = Callback(self._level)
        self.rest = [0] * (ARGS - 2)
        self.deepest = 0
        self.top_sp = stack_pointer()
        self.bytes_per_level: int | None = None
        self.lowest_sp = self.top_sp
        self.stopping: BaseException | None = None

    def descend(self, depth: int) -> None:
        self.deepest = depth
        self.stopping = None
        self.callback(1, depth, *self.rest)
        if self.stopping is not None:
            raise self.stopping

    def _level(self, level: int, depth: int, *rest: int) -> int:
        # ctypes prints and swallows an exception raised in a callback, so SystemExit
        # (SIGTERM) is carried up the recursion by hand and raised again at the top.
        try:
            if level % LEVELS_PER_STEP == 0 or level == depth:
                self._report(level)
            if level < depth and self.stopping is None:
                self.callback(level + 1, depth, *self.rest)
        except BaseException as e:  # raised again by descend()
            if self.stopping is None:
                self.stopping = e
        return 0

    def _report(self, level: int) -> None:
        sp = stack_pointer()
        if sp is not None and self.top_sp is not None:
            used = self.top_sp - sp
            self.bytes_per_level = used // level
            new_low = self.lowest_sp is None or sp < self.lowest_sp
            if new_low:
                self.lowest_sp = sp
            where = (
                "deeper than ever: [stack] grows down to here"
                if new_low
                else ("within what [stack] already holds")
            )
            self.demo.say(
                f"depth {level}: stack pointer {sp:#x}, {used >> 10} KiB below the start ({where})"
            )
        else:
            self.demo.say(f"depth {level}")
        self.demo.pause()


def max_depth(per_level: int) -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 8 << 20
    return max(LEVELS_PER_STEP, (soft - SAFETY) // max(per_level, 1))


def main(demo: Demo) -> None:
    demo.say(
        f"stack demo (Python), PID {os.getpid()}: recursion with ~70 KiB frames (calls with "
        f"{ARGS} arguments), one step every {demo.pace:g} s"
    )
    recursion = Recursion(demo)
    demo.wait_to_start()
    round_no = 0
    while True:
        for deepest in ROUNDS:
            round_no += 1
            per_level = recursion.bytes_per_level or 80 * 1024
            depth = min(deepest, max_depth(per_level))
            demo.say(f"-- round {round_no}: recursing {depth} levels deep")
            recursion.descend(depth)
            demo.say(
                f"returned from depth {depth}: [stack] keeps its size (the kernel never "
                "shrinks it) and its pages stay resident"
            )
            demo.pause(2)


if __name__ == "__main__":
    run(main, "stack")
