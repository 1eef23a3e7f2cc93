"""Write flow records to a file whose extension picks the format: JSON lines, CSV or Parquet."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from flowradar.model.flow import FlowRecord
from flowradar.model.schema import columns_of, scalar_for_csv, to_flat_dict

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


class FlowFileError(ValueError):
    """The output file cannot be written (unknown extension, unwritable path)."""


def format_for(path: Path) -> str:
    """The output format implied by a file name."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FlowFileError(f"unknown flow file format '{path.suffix}' (use .jsonl, .csv or .parquet)")
    return fmt


class FlowWriter:
    """Streams flow records to a file; call :meth:`close` (or use as a context manager)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = format_for(path)
        self.count = 0
        self._columns = [c.name for c in columns_of(FlowRecord)]
        self._pending: list[dict[str, Any]] = []
        self._parquet: Any = None
        try:
            self._fh: IO[str] | None = None if self.format == "parquet" else open(path, "w", newline="")  # noqa: SIM115
        except OSError as exc:
            raise FlowFileError(f"cannot write {path}: {exc.strerror}") from None
        self._csv = csv.writer(self._fh) if self.format == "csv" and self._fh else None
        if self._csv:
            self._csv.writerow(self._columns)

    def write(self, records: Iterable[FlowRecord]) -> None:
        """Append records."""
        for rec in records:
            row = to_flat_dict(rec)
            self.count += 1
            if self.format == "jsonl" and self._fh is not None:
                self._fh.write(json.dumps(row, separators=(",", ":")) + "\n")
            elif self._csv is not None:
                self._csv.writerow([scalar_for_csv(row[c]) for c in self._columns])
            else:
                self._pending.append(row)
                if len(self._pending) >= 65536:
                    self._flush_parquet()

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._pending:
            return
        schema = arrow_schema()
        table = pa.Table.from_pylist(self._pending, schema=schema)
        self._pending = []
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(str(self.path), schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        """Flush and close the file."""
        if self.format == "parquet":
            self._flush_parquet()
            if self._parquet is not None:
                self._parquet.close()
            else:  # no flows at all: still write a valid (empty) file
                import pyarrow.parquet as pq

                pq.write_table(arrow_schema().empty_table(), str(self.path))
        elif self._fh is not None:
            self._fh.close()

    def __enter__(self) -> FlowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def arrow_schema() -> Any:
    """The Arrow schema of flat FlowRecord columns, derived from the documented record fields."""
    import pyarrow as pa

    answer = pa.struct(
        [
            ("query", pa.string()),
            ("type", pa.string()),
            ("value", pa.string()),
            ("ttl", pa.int64()),
            ("owner", pa.string()),
        ]
    )
    types = {
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "list[str]": pa.list_(pa.string()),
        "list[DnsAnswer]": pa.list_(answer),
    }
    fields = []
    for col in columns_of(FlowRecord):
        base = col.type.replace(" | None", "")
        fields.append(pa.field(col.name, types[base], metadata={"doc": col.doc}))
    return pa.schema(fields)
