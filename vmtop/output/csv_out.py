"""`vmtop snapshot --format csv`: one row per region, header first."""

from __future__ import annotations

import csv
from typing import TextIO

from vmtop.model.names import display_name
from vmtop.model.region import Snapshot
from vmtop.output.fields import live_procfs_for, region_record, section_names, sysv_table


def write_csv(snapshot: Snapshot, out: TextIO, procfs=None, cache=None) -> None:
    """One row per region; ``sections`` holds ELF section names separated by spaces
    (files opened through ``procfs``, by default the live /proc; see json_out)."""
    writer = CsvWriter(out, live_procfs_for(snapshot, procfs), cache)
    writer.piece(snapshot)


# Columns every CSV has, whether or not a region fills them: files of several processes
# (one per PostgreSQL backend) go together, column for column.
ALWAYS = ("tid", "sysv_shmid", "sysv_key", "sysv_creator_pid", "sysv_attached", "sysv_removed")


class CsvWriter:
    """Writes the rows a piece at a time. The columns are those of the first piece
    (every key any of its regions has, in the order they first appear), and ``ALWAYS``
    after the maps fields and the classification (a thread stack may come in a later
    piece). A key that only a later piece has is left out."""

    def __init__(self, out: TextIO, procfs=None, cache=None):
        self.procfs = procfs
        self.cache = cache
        self.columns: list[str] | None = None
        self.writer = csv.writer(out, lineterminator="\n")
        self.sysv: dict | None = None  # /proc/sysvipc/shm, read once when needed

    def piece(self, snapshot: Snapshot) -> None:
        sections = section_names(snapshot, self.procfs, self.cache)
        if not self.sysv:
            self.sysv = sysv_table(self.procfs, snapshot.info.pid, snapshot.regions)
        records = [
            region_record(snapshot, r, names, self.sysv)
            for r, names in zip(snapshot.regions, sections, strict=True)
        ]
        if self.columns is None:
            columns: dict[str, None] = {}
            for record in records:
                for key in record:
                    if key not in ALWAYS:
                        columns.setdefault(key, None)
            names = list(columns)
            after = names.index("sections" if "sections" in columns else "object") + 1
            self.columns = names[:after] + list(ALWAYS) + names[after:]
            # Column names too: unknown smaps fields keep the name a copied tree gave them.
            self.writer.writerow([display_name(column) for column in self.columns])
        writerow = self.writer.writerow
        for record in records:
            row = []
            for key in self.columns:
                value = record.get(key)
                if value is None:
                    row.append("")
                elif isinstance(value, bool):
                    row.append(int(value))  # 0/1, as thp_eligible (csv wrote False)
                elif isinstance(value, list):
                    row.append(display_name(" ".join(str(v) for v in value)))
                elif isinstance(value, str):
                    # CSV is opened in spreadsheets and terminals: every text column (path,
                    # object, sections: the target names them) through the one escape.
                    row.append(display_name(value))
                else:
                    row.append(value)
            writerow(row)
