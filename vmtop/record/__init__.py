"""Recordings: an open, versioned file of a process's snapshots over time.

See docs/recording-format.md. ``format`` encodes and decodes the lines, ``writer``
writes while sampling, ``reader`` scans, seeks and replays, ``timespec`` reads the
times people type (``12:03:10``, ``+5m``, ``90s``).
"""
