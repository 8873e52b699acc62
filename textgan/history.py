"""A run's logged rows: all of them on disk, a bounded evenly thinned copy in memory.

A live session may log for hours (one row per step, ~1 KB each as dicts), so memory keeps at most `max_rows` rows
for the plots: plain rows at a stride that doubles whenever the budget fills (so they stay evenly spread), and
evaluation rows on their own budget the same way; the newest row is always there. Every row also goes, as a JSON
line, to an anonymous spool file, which `write_csv` turns into the run directory's full history.csv.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable

MAX_ROWS = 2000


class HistoryError(ValueError):
    """A history.csv that cannot be read; the message names the line and the cell."""


def _is_eval(row: dict[str, Any]) -> bool:
    return any(str(k).startswith("eval/") for k in row)


class History(list):
    """The in-memory rows (a list of dicts, thinned as described above), plus the full record on disk.

    Append with `record(row)`: a row of the same step as the newest one is merged into it (evaluation after the
    step's scalars). Reading it as a list gives the thinned rows; `rows()` a copy safe to use from another thread.
    """

    def __init__(self, rows: Iterable[dict[str, Any]] = (), max_rows: int = MAX_ROWS) -> None:
        super().__init__()
        self.max_rows = max(4, max_rows)
        self._lock = threading.Lock()
        self._spool = None  # opened on the first row: a run that never logs costs no file
        self._pending: dict[str, Any] | None = None  # newest row: may still be merged into, not yet spooled
        self._stride = {False: 1, True: 1}
        self._seen = {False: 0, True: 0}
        self._kept = {False: 0, True: 0}
        self.total = 0
        """Rows recorded in all (on disk), however many memory keeps."""
        for row in rows:
            self.record(row)

    def record(self, row: dict[str, Any]) -> None:
        with self._lock:
            if self._pending is not None and self._pending.get("step") == row.get("step"):
                self._pending.update(row)
                return
            self._flush_pending()
            self._pending = dict(row)
            super().append(self._pending)
            self.total += 1

    append = record  # `run.history.append(row)` keeps working, with the bounds

    def _flush_pending(self) -> None:
        """Spool the newest row and decide whether memory keeps it, now that no later update can come."""
        row = self._pending
        if row is None:
            return
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8", prefix="textgan-history-")
        self._spool.write(json.dumps(row, allow_nan=True) + "\n")
        kind = _is_eval(row)
        keep = self._seen[kind] % self._stride[kind] == 0
        self._seen[kind] += 1
        if not keep:
            super().pop()  # it was the last element
            return self._clear_pending()
        self._kept[kind] += 1
        if self._kept[kind] > self.max_rows // 2:
            self._thin(kind)
        self._pending = None

    def _clear_pending(self) -> None:
        self._pending = None

    def _thin(self, kind: bool) -> None:
        """Keep every other row of one kind and double its stride."""
        kept, i = [], 0
        for r in self:
            if _is_eval(r) != kind:
                kept.append(r)
                continue
            if i % 2 == 0:
                kept.append(r)
            i += 1
        self[:] = kept
        self._kept[kind] = (i + 1) // 2
        self._stride[kind] *= 2

    def rows(self) -> list[dict[str, Any]]:
        """A copy of the in-memory rows (each dict copied), consistent even while the run records."""
        with self._lock:
            return [dict(r) for r in self]

    def _spooled(self) -> Iterable[dict[str, Any]]:
        if self._spool is not None:
            self._spool.flush()
            self._spool.seek(0)
            for line in self._spool:
                yield json.loads(line)
            self._spool.seek(0, 2)
        if self._pending is not None:
            yield self._pending

    def write_csv(self, path: str | Path) -> None:
        """The full history (every row ever recorded) as CSV, streamed: columns in order of first appearance."""
        with self._lock:
            columns: dict[str, None] = {}
            for row in self._spooled():
                columns.update(dict.fromkeys(row))
            with open(path, "w", newline="", encoding="utf-8") as f:
                if not columns:
                    return
                writer = csv.DictWriter(f, fieldnames=list(columns), restval="")
                writer.writeheader()
                for row in self._spooled():
                    writer.writerow(row)

    @classmethod
    def read_csv(cls, path: str | Path, max_rows: int = MAX_ROWS) -> "History":
        """A history from a run directory's history.csv, streamed (a long history is not held in memory whole).
        Empty and NaN cells are left out of their row; a cell that is not a number is an error naming the file."""
        history = cls(max_rows=max_rows)
        path = Path(path)
        if not path.is_file() or path.stat().st_size == 0:
            return history
        try:
            with open(path, newline="", encoding="utf-8") as f:
                for line, raw in enumerate(csv.DictReader(f), 2):
                    row: dict[str, Any] = {}
                    for k, v in raw.items():
                        if k is None or v is None or v == "":
                            continue
                        try:
                            x: Any = int(v) if k == "step" else float(v)
                        except ValueError:
                            raise HistoryError(f"history.csv line {line}: {k}={v[:40]!r} is not a number") from None
                        if not (isinstance(x, float) and math.isnan(x)):
                            row[k] = x
                    if "step" in row:
                        history.record(row)
        except (UnicodeDecodeError, csv.Error) as e:
            raise HistoryError(f"history.csv cannot be read: {e}") from None
        return history

    def __del__(self) -> None:
        spool = getattr(self, "_spool", None)
        if spool is not None:
            spool.close()

    def __reduce__(self):  # copies and pickles (Ray) carry the in-memory rows only
        return (History, (list(self), self.max_rows))
