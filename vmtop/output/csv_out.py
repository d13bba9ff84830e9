"""`vmtop snapshot --format csv`: one row per region, header first."""

from __future__ import annotations

import csv
from typing import TextIO

from vmtop.model.names import display_name
from vmtop.model.region import Snapshot
from vmtop.output.fields import live_procfs_for, region_record, section_names


def write_csv(snapshot: Snapshot, out: TextIO, procfs=None, cache=None) -> None:
    """One row per region; ``sections`` holds ELF section names separated by spaces
    (files opened through ``procfs``, by default the live /proc; see json_out)."""
    sections = section_names(snapshot, live_procfs_for(snapshot, procfs), cache)
    records = [
        region_record(snapshot, r, names)
        for r, names in zip(snapshot.regions, sections, strict=True)
    ]
    columns: dict[str, None] = {}
    for record in records:
        for key in record:
            columns.setdefault(key, None)
    writer = csv.writer(out, lineterminator="\n")
    # Column names too: unknown smaps fields keep the name a copied tree gave them.
    writer.writerow([display_name(column) for column in columns])
    for record in records:
        row = []
        for key in columns:
            value = record.get(key)
            if value is None:
                row.append("")
            elif isinstance(value, list):
                row.append(display_name(" ".join(str(v) for v in value)))
            elif isinstance(value, str):
                # CSV is opened in spreadsheets and terminals: every text column (path,
                # object, sections: the target names them) through the one escape.
                row.append(display_name(value))
            else:
                row.append(value)
        writer.writerow(row)
