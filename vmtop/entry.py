"""The `vmtop` command's entry point, kept to nothing but the one import: Ctrl-C while
Python imports the rest of vmtop (its first ~50 ms, textual's share most of it) ends it
quietly with the shell's status for an interrupt, as Ctrl-C does later, not with a
traceback. And a reader that left (`vmtop snapshot PID | head`) is no error, even where
what was left in stdout's buffer only fails to be written as Python exits (exit status
120 and "Exception ignored ... BrokenPipeError" without PYTHONUNBUFFERED)."""

import os
import sys

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def main() -> int:
    try:
        from vmtop.cli import main as run

        try:
            status = run()
        except SystemExit as done:  # (argparse's --help, --version and usage errors)
            # As Python would exit: None is 0, a message is printed and 1.
            status = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
            if not isinstance(done.code, (int, type(None))):
                print(done.code, file=sys.stderr)
        sys.stdout.flush()  # (here, where a closed pipe can still be caught)
        return status
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # Python flushes stdout again as it exits: what is left would fail once more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
