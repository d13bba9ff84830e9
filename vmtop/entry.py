"""The `vmtop` command's entry point, kept to nothing but the one import: Ctrl-C while
Python imports the rest of vmtop (its first ~50 ms, textual's share most of it) ends it
quietly with the shell's status for an interrupt, as Ctrl-C does later, not with a
traceback."""

import sys

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def main() -> int:
    try:
        from vmtop.cli import main as run

        return run()
    except KeyboardInterrupt:
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
