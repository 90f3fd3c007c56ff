"""What a collection knows of each file, kept on disk so that its memory does not grow with N.

A run of ``collect`` (or ``audit``) may read 200,000 files.  Its main process keeps none of them
as Python objects: the files found and one :class:`Row` per file live in an SQLite database in
the run's staging folder (:class:`Ledger`), and every step over them — flagging returns of
another year, matching them to the list of units, finding two files of one unit, naming the
reports, writing the summaries worst first — reads the rows in chunks of :data:`CHUNK` and
writes back the ones it changes.  The database is scratch: no journal, no fsync; it is deleted
with the staging folder, and opened without file locks (only this process uses it).
"""

from __future__ import annotations

import marshal
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .units import unit_key

#: Statuses of a file, worst first.
STATUSES = ("无法读取", "不通过", "有警告", "通过")
UNREADABLE, INVALID, WARNINGS, VALID = STATUSES
#: The status of a listed unit that has returned nothing (a row without a file).
MISSING = "未交"
#: The order of the summary.
ORDER = (UNREADABLE, INVALID, MISSING, WARNINGS, VALID)
#: Rows read from the database at a time.
CHUNK = 500
#: Memory SQLite may use for its page cache (KiB); beyond it pages go to its file.
CACHE_KIB = 8192


@dataclass(slots=True)
class Row:
    """What became of one file: one line of the summary."""

    index: int
    file: str
    status: str
    unit: str = ""
    year: int | None = None
    edition: str = ""
    errors: int = 0
    warnings: int = 0
    first_error: str = ""
    first_warning: str = ""
    duplicates: str = ""
    previous: str = ""
    output: str = ""
    narrative_count: int = 0
    narrative: str = ""
    staged: bool = False
    reason: str = ""
    code: str = ""
    #: The row of the list of units this return is from (0: none), and how the summary shows it.
    line: int = 0
    listed: str = ""
    #: Errors about the collection rather than the file (code, message): problems.jsonl lines.
    flags: list[tuple[str, str]] = field(default_factory=list)

    @property
    def who(self) -> str | None:
        """Whom two rows of the same year must not both be of: the listed unit, else the unit's
        name (None: a row without unit or year, or of a unit that returned nothing)."""
        if not self.unit or self.year is None or self.status == MISSING:
            return None
        return f"#{self.line}" if self.line else unit_key(self.unit)


_FIELDS = tuple(f.name for f in fields(Row))
_SCHEMA = """
CREATE TABLE files (idx INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, path TEXT NOT NULL,
                    shown TEXT NOT NULL, reads INTEGER NOT NULL);
CREATE TABLE rows (idx INTEGER PRIMARY KEY, rank INTEGER NOT NULL, file TEXT NOT NULL,
                   line INTEGER NOT NULL, year INTEGER, who TEXT, staged INTEGER NOT NULL,
                   data BLOB NOT NULL);
CREATE INDEX rows_who ON rows (who, year, file, idx) WHERE who IS NOT NULL;
CREATE TABLE names (name TEXT PRIMARY KEY);
"""


class Ledger:
    """The files of a run and their rows, in an SQLite file at ``path`` (see the module
    docstring).  Rows are keyed by :attr:`Row.index`: the file's place in input order (a
    unit that returned nothing has a negative one)."""

    def __init__(self, path: Path) -> None:
        # nolock: one connection of one process uses it, and a results folder on a network disk
        # may not lock files at all
        uri = f"{Path(path).resolve().as_uri()}?nolock=1"
        self.db = sqlite3.connect(uri, uri=True, isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE",
                       f"cache_size = -{CACHE_KIB}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(_SCHEMA)
        self.db.execute("BEGIN")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------- files

    def add_file(self, key: str, path: str, shown: str, reads: bool) -> None:
        """A file found, once per ``key`` (the same file found again is left out)."""
        self.db.execute("INSERT OR IGNORE INTO files (key, path, shown, reads) VALUES (?,?,?,?)",
                        (key, path, shown, reads))

    def count_files(self, reads: bool) -> int:
        """The files to read (``reads``) or to refuse without reading."""
        return int(self.db.execute("SELECT COUNT(*) FROM files WHERE reads = ?",
                                   (reads,)).fetchone()[0])

    def files(self, reads: bool) -> Iterator[tuple[int, str, str]]:
        """(index, path, how it is shown) of the files to read or to refuse, in input order."""
        last = -1
        while True:
            chunk = self.db.execute(
                "SELECT idx, path, shown FROM files WHERE idx > ? AND reads = ? ORDER BY idx "
                "LIMIT ?", (last, reads, CHUNK)).fetchall()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1][0]

    # ----------------------------------------------------------------------- rows

    def add(self, rows: Iterable[Row]) -> None:
        """New rows."""
        self.db.executemany("INSERT INTO rows VALUES (?,?,?,?,?,?,?,?)", map(_record, rows))

    def put(self, row: Row) -> None:
        """A row changed."""
        record = _record(row)
        self.db.execute("UPDATE rows SET rank=?, file=?, line=?, year=?, who=?, staged=?, data=? "
                        "WHERE idx=?", (*record[1:], record[0]))

    def each(self, where: str = "1", params: tuple[Any, ...] = ()) -> Iterator[Row]:
        """The rows matching ``where`` in input order, read a chunk at a time (rows may be
        :meth:`put` back meanwhile)."""
        last = None
        while True:
            after = "" if last is None else "idx > ? AND "
            chunk = self.db.execute(
                f"SELECT data FROM rows WHERE {after}({where}) ORDER BY idx LIMIT {CHUNK}",
                ((last,) if last is not None else ()) + params).fetchall()
            if not chunk:
                return
            rows = [_row(data) for (data,) in chunk]
            yield from rows
            last = rows[-1].index

    def ordered(self) -> Iterator[Row]:
        """Every row, worst first (by status in :data:`ORDER`, then file, then row of the list
        of units); nothing may be put meanwhile."""
        for (data,) in self.db.execute("SELECT data FROM rows ORDER BY rank, file, line, idx"):
            yield _row(data)

    def years(self) -> dict[int, int]:
        """The number of rows of each year, by year."""
        return dict(self.db.execute(
            "SELECT year, COUNT(*) FROM rows WHERE year IS NOT NULL GROUP BY year ORDER BY year"))

    def twice(self) -> Iterator[tuple[str, int, int]]:
        """(whom, year, how many rows) of every unit and year with more than one row."""
        last: tuple[str, int] | None = None
        while True:
            after = "" if last is None else "AND (who, year) > (?, ?)"
            chunk = self.db.execute(
                f"SELECT who, year, COUNT(*) FROM rows WHERE who IS NOT NULL {after} "
                f"GROUP BY who, year HAVING COUNT(*) > 1 ORDER BY who, year LIMIT {CHUNK}",
                last or ()).fetchall()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1][0], chunk[-1][1]

    def first_of(self, who: str, year: int, n: int) -> list[tuple[int, str]]:
        """(index, file) of the first ``n`` rows of ``who`` and ``year`` by file."""
        return self.db.execute(
            "SELECT idx, file FROM rows WHERE who = ? AND year = ? ORDER BY file, idx LIMIT ?",
            (who, year, n)).fetchall()

    def claim(self, name: str) -> bool:
        """Take the file name ``name`` (compared case-insensitively); False when it is taken."""
        return self.db.execute("INSERT OR IGNORE INTO names VALUES (?)",
                               (name.casefold(),)).rowcount == 1


def _record(row: Row) -> tuple[Any, ...]:
    return (row.index, ORDER.index(row.status), row.file, row.line, row.year, row.who,
            row.staged, marshal.dumps(tuple(getattr(row, f) for f in _FIELDS)))


def _row(data: bytes) -> Row:
    return Row(*marshal.loads(data))

