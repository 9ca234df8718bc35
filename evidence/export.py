"""Audit log exports: CSV and JSON Lines, with a manifest.

The exported file holds nothing that depends on when it was made: entries in
sequence order, JSON with sorted keys, times in UTC ISO 8601. Exporting the
same range twice gives the same bytes and the same SHA-256. The manifest
(row count, first and last sequence number, the file's SHA-256 and the chain
head) sits beside the file, and is where the time of export goes.
"""

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

from django.utils import timezone

from .canonical import utc_iso
from .selectors import EXPORT_COLUMNS, AuditFilters, chain_head, iter_entries

FORMATS = ("csv", "jsonl")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    return neutralise_cell(text)


def export_filename(date_from: date, date_to: date, fmt: str) -> str:
    return f"audit-log_{date_from.isoformat()}_{date_to.isoformat()}.{fmt}"


@dataclass(frozen=True)
class Manifest:
    file: str
    format: str
    date_from: date
    date_to: date
    row_count: int
    first_seq: int | None
    last_seq: int | None
    sha256: str
    chain_head: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "row_count": self.row_count,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "sha256": self.sha256,
            "chain_head": self.chain_head,
            "generated_at": utc_iso(timezone.now()),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"


def write_export(
    out: BinaryIO,
    *,
    date_from: date,
    date_to: date,
    fmt: str,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Write the entries chained between the two UTC dates (inclusive) to `out`.

    Reads in batches, so memory stays flat however long the range.
    `progress`, if given, is called with the number of rows written every 10,000 rows.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    digest = hashlib.sha256()
    head = chain_head()  # read first: the export holds nothing newer than this

    def emit(text: str) -> None:
        data = text.encode("utf-8")
        digest.update(data)
        out.write(data)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if fmt == "csv":
        writer.writerow(EXPORT_COLUMNS)
        emit(buffer.getvalue())
    count, first, last = 0, None, None
    filters = AuditFilters(date_from=date_from, date_to=date_to)
    for entry in iter_entries(filters):
        if entry.seq > head.seq:
            break
        row = entry.as_export_row()
        if fmt == "csv":
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_csv_cell(row[column]) for column in EXPORT_COLUMNS])
            emit(buffer.getvalue())
        else:
            emit(json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
        if progress is not None and count % 10_000 == 0:
            progress(count)
        first = entry.seq if first is None else first
        last = entry.seq
    return Manifest(
        file=export_filename(date_from, date_to, fmt),
        format=fmt,
        date_from=date_from,
        date_to=date_to,
        row_count=count,
        first_seq=first,
        last_seq=last,
        sha256=digest.hexdigest(),
        chain_head=str(head),
    )
