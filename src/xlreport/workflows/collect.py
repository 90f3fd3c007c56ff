"""Collecting returns: every file of a folder read in parallel, never stopping on a bad one.

:func:`collect` is the whole run (:func:`gather` with the reader of filled workbooks; ``audit``
runs the same with the reader of published reports)::

    lock the results folder → find files (sorted) → [read last year's reports, index by unit
    and year] → read every .xlsx in worker processes (each a pure read_workbook, bounded in
    time) → [the season: flag returns of another year than the season's, match the returns
    to the list of units, add a 未交 row for each listed unit without one] → flag two files of
    one unit and year → stage per-report JSON, problems.jsonl, summary.csv and summary.xlsx,
    worst first → replace the previous results in one commit

A worker hands back a small :class:`Row` and writes its report and problems to the run's own
staging folder; nothing big crosses a process boundary.  The main process keeps no per-file
state in memory: the files found and their rows are in the staging folder's
:class:`~xlreport.workflows.ledger.Ledger`, and every step streams over it, so a run of 200,000
files needs the memory of a run of 1,000.  A file that cannot be read, times out or takes its
worker down becomes that file's 无法读取 row.  Until the commit
(:class:`xlreport.outputs.Outputs`) nothing of an earlier run's results is touched.
"""

from __future__ import annotations

import csv
import functools
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from pathlib import Path
from stat import S_ISDIR, S_ISLNK
from typing import IO, Any

from ..checks.report import dumps
from ..checks.validate import Result, check
from ..edition.load import builtin
from ..edition.spec import BUILTIN_EDITIONS, Spec
from ..errors import UnreadableInput, UsageError
from ..outputs import TEMP_PREFIX, Outputs, disk_error, folder, hold, recover, unwritable
from ..published.reader import SUFFIXES as PUBLISHED
from ..published.reader import import_report
from ..workbook.layout import layout
from ..workbook.reader import read_workbook
from .ledger import (
    INVALID,
    MISSING,
    ORDER,
    STATUSES,
    UNREADABLE,
    VALID,
    WARNINGS,
    Ledger,
    Row,
)
from .merge import Loaded, load
from .roster import Roster, check_year, read_roster
from .units import ByUnit, Identity, Listed, safe_file_name

#: How many other files a duplicate's message names before it says how many there are.
SHOWN = 5
#: Seconds one file may take before it is given up as 无法读取.
TIMEOUT = 60
#: Files a worker is handed at a time (fewer when there are few files).
BATCH = 8
#: Output files of a run (besides one JSON per valid report).
PROBLEMS, SUMMARY_CSV, SUMMARY_XLSX = "problems.jsonl", "summary.csv", "summary.xlsx"
#: Each run stages its outputs in a folder of its own inside the results folder (name prefix).
STAGING = f"{TEMP_PREFIX}collect"
#: The record of a run's commit step in its staging folder (see :func:`xlreport.outputs.recover`).
JOURNAL = "commit.json"
#: The run's files and rows in its staging folder (see :mod:`xlreport.workflows.ledger`).
LEDGER = "ledger.sqlite"
#: Text a spreadsheet would take for a formula when it starts a CSV cell (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Summary columns: (header, Row attribute, width in the workbook).
Columns = tuple[tuple[str, str, int], ...]
COLUMNS: Columns = (
    ("文件", "file", 36),
    ("单位", "unit", 30),
    ("年度", "year", 7),
    ("版本", "edition", 7),
    ("状态", "status", 9),
    ("错误数", "errors", 8),
    ("警告数", "warnings", 8),
    ("第一个错误", "first_error", 80),
    ("第一个警告", "first_warning", 50),
    ("同一单位同一年度的其他文件", "duplicates", 30),
    ("上年报告", "previous", 24),
    ("上报文件", "output", 30),
)
_OUTPUT_COLUMN = "上报文件"
#: The column added when the returns are matched to a list of units: its row, or 名单外.
LISTED_COLUMN = ("名单", "listed", 10)
UNLISTED = "名单外"
#: What to say about a file that is not an .xlsx, by its suffix.
_NOT_XLSX = {
    ".xls": "是旧版 Excel 格式（.xls），请在 Excel 或 WPS 中另存为 .xlsx 后提交",
    ".et": "是 WPS 表格格式（.et），请在 WPS 中另存为 .xlsx 后提交",
    ".ods": "是 OpenDocument 表格（.ods），请另存为 .xlsx 后提交",
    ".xlsm": "是带宏的工作簿（.xlsm），请另存为 .xlsx 后提交",
    ".csv": "是 CSV 文本，请用下发的填报模板（.xlsx）填写",
    ".json": "是 JSON 文件；collect 只读取填好的 .xlsx 报表，JSON 报告请用 xlreport validate 校验",
}


@dataclass(frozen=True, slots=True)
class Task:
    """One file for a worker: where it is, how it is shown, where its outputs are staged."""

    index: int
    path: Path
    file: str
    staging: Path
    strict: bool


@dataclass(frozen=True)
class Read:
    """One file read and checked in a worker: the result, the report to write when it is valid,
    the file of last year's report used."""

    result: Result
    document: dict[str, Any] | None
    previous: str = ""


@dataclass(frozen=True)
class Kind:
    """What a run reads: which files (the others get a 无法读取 row saying why), how a worker
    reads one, what the progress bar and the summary call things, and the summary's columns."""

    reads: Callable[[Path], bool]
    read: Callable[[Task], Read]
    refuse: Callable[[int, Path, str], Row]
    what: str
    phase: str
    sheet: str
    columns: Columns


@dataclass
class Collected:
    """The outcome of a run: how many files of each status and what the season was; the rows
    themselves are in the summary written (:attr:`rows`)."""

    out_dir: Path
    columns: Columns = COLUMNS
    #: Rows by status (files, and the 未交 rows of listed units).
    counted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))
    #: Files whose text says other figures than their tables (audit).
    narrative: int = 0
    previous_found: int | None = None
    previous_unreadable: list[str] = field(default_factory=list)
    #: Files left out as not being returns (lock files, ``Thumbs.db``, hidden files): how many,
    #: and the first few as shown.
    skipped: int = 0
    skipped_shown: list[str] = field(default_factory=list)
    #: The processes used, and the number asked for when it was more than the machine's cores.
    jobs: int = 1
    jobs_asked: int | None = None
    #: The season's year and where it came from (``--year``, ``list``, ``returns``), the
    #: returns of each year, the list of units and the names of those that returned nothing.
    year: int | None = None
    year_from: str = ""
    years: dict[int, int] = field(default_factory=dict)
    roster: Roster | None = None
    missing: list[str] = field(default_factory=list)
    #: Returns of another year than the season's, and of units not on the list.
    wrong_year: int = 0
    unlisted: int = 0

    @property
    def ok(self) -> bool:
        """Every file valid (warnings allowed), of the season's year, from a listed unit, and
        every listed unit returned one: a complete collection."""
        return not any(self.counted[s] for s in (UNREADABLE, INVALID, MISSING))

    @property
    def files(self) -> int:
        """The number of files (rows that are not of units that returned nothing)."""
        return sum(self.counts().values())

    def counts(self) -> dict[str, int]:
        return {s: self.counted[s] for s in STATUSES}

    @property
    def rows(self) -> list[Row]:
        """Every row, worst first, as summary.csv has it (read back from the file; for a look
        at a run, not for national-scale ones)."""
        attrs = {head: attr for head, attr, _ in self.columns}
        with (self.out_dir / SUMMARY_CSV).open(encoding="utf-8-sig", newline="") as fh:
            return [Row(i, **{attrs[h]: _typed(attrs[h], _uncell(v)) for h, v in cells.items()})
                    for i, cells in enumerate(csv.DictReader(fh))]


def _typed(attr: str, text: str) -> Any:
    """A summary cell as the :class:`Row` attribute ``attr`` holds it."""
    if attr == "year":
        return int(text) if text else None
    if attr in ("errors", "warnings", "narrative_count"):
        return int(text or 0)
    return text


@dataclass(frozen=True)
class Season:
    """What a collection is of: the year asked for (``--year``), the units expected
    (``--units``: the list and its file, which is not read as a return), the edition every
    return must be of (``--spec``; None: any built-in one)."""

    year: int | None = None
    roster: Roster | None = None
    spec: Spec | None = None
    units: Path | None = None

    @property
    def year_from(self) -> str:
        """Where the season's year comes from: ``--year``, the ``list`` of units, or the
        ``returns`` (the year most of them carry)."""
        if self.year is None:
            return "returns"
        return "list" if self.roster is not None and not self.roster.asked else "--year"


Progress = Callable[[str, int, int], None]
#: Last year's reports by unit and year (paired by 统一社会信用代码 when both have one, else by
#: name): (file, values the cross-year rules read).
Index = ByUnit[tuple[str, dict[str, Any]]]


def collect(
    inputs: Sequence[Path],
    out_dir: Path,
    *,
    previous_dir: Path | None = None,
    jobs: int | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    year: int | None = None,
    units: Path | None = None,
    spec: Spec | None = None,
) -> Collected:
    """Read every file under ``inputs`` into ``out_dir``; see the module docstring.

    The season's year is ``year``, or the one year the list of units ``units`` (CSV or .xlsx)
    gives, or else the year most returns carry; a return of another year is an error.  With
    ``units``, each return is matched to a listed unit and each listed unit without one gets a
    未交 row.  With ``spec`` every return is read with it (a return of another edition is
    refused), as ``read --spec`` does.

    The results of an earlier run in ``out_dir`` are replaced only as a whole, once the new ones
    are complete; a run that is interrupted leaves them as they were.  One run at a time may use
    ``out_dir``: another one is refused at once."""
    specs = [builtin(e) for e in BUILTIN_EDITIONS] + ([spec] if spec is not None else [])
    roster = read_roster(units, specs, year=year) if units is not None else None
    if year is not None:
        check_year(specs, year)
    season = Season(year if roster is None else roster.year, roster, spec, units)
    return gather(inputs, out_dir, COLLECT, previous_dir=previous_dir, jobs=jobs, strict=strict,
                  progress=progress, season=season)


def gather(
    inputs: Sequence[Path],
    out_dir: Path,
    kind: Kind,
    *,
    previous_dir: Path | None = None,
    jobs: int | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    season: Season | None = None,
) -> Collected:
    """Read every file under ``inputs`` with ``kind``'s reader into ``out_dir``: one summary row
    each (see :func:`collect`); ``season`` when the returns are of one season."""
    out_dir = Path(out_dir)
    cores = os.cpu_count() or 1
    asked = jobs if jobs is not None and jobs > cores else None
    jobs = max(1, min(jobs or cores, cores))
    _refuse_overlap(inputs, out_dir, previous_dir)
    skip = [out_dir, *([previous_dir] if previous_dir else [])]
    units = season.units if season is not None else None
    leave_out = _key(str(units)) if units is not None else None
    found = find(inputs, skip=skip)
    if not any(f.key != leave_out and not is_junk(os.path.basename(f.path)) for f in found):
        raise UsageError(f"没有找到要读取的文件（请指定{kind.what}）", code="no_files")
    found.close()  # (it holds a folder's listing)
    folder(out_dir)
    for name in (PROBLEMS, SUMMARY_CSV, SUMMARY_XLSX):
        Outputs().check(out_dir / name)
    done = Collected(out_dir, kind.columns, jobs=jobs, jobs_asked=asked)
    with hold(out_dir):
        _recover(out_dir)
        try:
            staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}-", dir=out_dir))
        except OSError as exc:
            raise unwritable(out_dir, exc) from None
        try:
            with Ledger(staging / LEDGER) as ledger:
                _found(ledger, find(inputs, skip=skip), leave_out, kind, done)
                _collect(ledger, done, staging, kind, previous_dir, jobs, strict, progress,
                         season)
        except sqlite3.Error as exc:
            raise unwritable(out_dir, disk_error(exc)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return done


def _found(
    ledger: Ledger, found: Iterator[Found], leave_out: str | None, kind: Kind, done: Collected
) -> None:
    """Each file found into the ledger, once; junk is counted (and the first few named)."""
    for f in found:
        if f.key == leave_out:
            continue
        if is_junk(os.path.basename(f.path)):
            done.skipped += 1
            if len(done.skipped_shown) < SHOWN:
                done.skipped_shown.append(f.shown)
            continue
        ledger.add_file(f.key, f.path, f.shown, kind.reads(Path(f.path)))


def _refuse_overlap(inputs: Sequence[Path], out_dir: Path, previous_dir: Path | None) -> None:
    """The results folder may not be a folder that is read, nor hold a file that is read (its
    files are replaced); inside a folder that is read it is simply not read."""
    out = _real(out_dir)
    for given in map(Path, inputs):
        if given.is_dir() and _real(given) == out:
            raise UsageError(f"结果文件夹“{out_dir}”就是要读取的文件夹；请另选一个结果文件夹"
                             f"（例如“{given / '收集结果'}”）", code="output_is_input")
        if given.is_file() and _real(given).parent == out:
            raise UsageError(f"要读取的“{given}”在结果文件夹“{out_dir}”里，结果文件夹中的文件会被"
                             "替换；请把报表放在别的文件夹，或另选一个结果文件夹",
                             code="output_is_input")
    if previous_dir is not None and _real(previous_dir) == out:
        raise UsageError(f"上年报告所在的文件夹“{previous_dir}”不能同时是结果文件夹，请另选一个"
                         "结果文件夹", code="output_is_input")


def _recover(out_dir: Path) -> None:
    """Undo what a run killed in its commit step left half done, and delete its staging."""
    for left in sorted(out_dir.glob(f"{STAGING}*")):
        if left.is_dir() and not left.is_symlink():
            recover(left / JOURNAL)
            shutil.rmtree(left, ignore_errors=True)


def _collect(
    ledger: Ledger,
    collected: Collected,
    staging: Path,
    kind: Kind,
    previous_dir: Path | None,
    jobs: int,
    strict: bool,
    progress: Progress | None,
    season: Season | None,
) -> None:
    spec = season.spec if season is not None else None
    _warm(spec)
    index: Index = ByUnit(())
    if previous_dir is not None:
        index, collected.previous_unreadable = _previous_index(previous_dir, jobs, progress,
                                                               spec)
        collected.previous_found = len(index)
    refused, todo = ledger.count_files(reads=False), ledger.count_files(reads=True)
    ledger.add(kind.refuse(i, Path(path), shown) for i, path, shown in ledger.files(reads=False))
    advance = _progress(progress, kind.phase, refused + todo, start=refused)
    tasks = (Task(i, Path(path), shown, staging, strict)
             for i, path, shown in ledger.files(reads=True))
    _run(_read_one, tasks, todo, jobs, advance, _crashed_read, ledger.add,
         initargs=(index, kind.read, spec))
    columns = kind.columns
    missing: list[Row] = []
    if season is not None:
        _flag_years(ledger, season, collected)
        if season.roster is not None:
            missing = _match_roster(ledger, season.roster, collected)
            columns = (*columns, LISTED_COLUMN)
    _flag_duplicates(ledger)
    _name_outputs(ledger)
    ledger.add(missing)
    collected.columns = columns
    _write_outputs(ledger, collected.out_dir, staging, kind, collected)


# --------------------------------------------------------------------------- finding files


@dataclass(frozen=True, slots=True)
class Found:
    """A file found: its path, how it is shown, and what identifies it (its device and inode,
    so that a file reached twice — through a link, or named and inside a folder named — is
    one file)."""

    path: str
    shown: str
    key: str


def find(inputs: Sequence[Path], *, skip: Sequence[Path] = ()) -> Generator[Found, None, None]:
    """Every file named or under a folder named (sorted), with how it is shown: its name, or
    its path inside the folder given (after the folder's name when several are given).  Folders
    in ``skip`` are left out; a file may be found twice (its :attr:`Found.key` says so)."""
    for given in map(Path, inputs):
        if not given.exists():
            raise UsageError(f"找不到“{given}”（既不是文件也不是文件夹）", code="not_found")
    skipped = {_key(str(p)) for p in skip}
    for given in map(Path, inputs):
        if given.is_dir():
            top = "" if len(inputs) == 1 else given.relative_to(given.parent).as_posix()
            yield from _walk(str(given), "" if top == "." else top, skipped)
        else:
            yield Found(str(given), given.name, _key(str(given)))


#: Files that systems and programs leave beside the returns (compared in lower case).
JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db", ".ds_store"})


def is_junk(name: str) -> bool:
    """Not a return: a hidden file (macOS ``._x.xlsx``, LibreOffice's ``.~lock.x.xlsx#``),
    Office's owner file ``~$x.xlsx``, or a file a system leaves in folders (``Thumbs.db``)."""
    return name.startswith((".", "~$")) or name.lower() in JUNK_NAMES


def _walk(top: str, shown: str, skipped: set[str]) -> Iterator[Found]:
    """The files under ``top`` (shown after ``shown``), each folder's files before its
    folders, both sorted by name; hidden folders (``.git``, ``.Trash``), folders whose
    :func:`_key` is in ``skipped`` and links to folders are not entered.  (Iterative: a folder
    nested a thousand deep is no error.)"""
    todo = [(top, shown)]
    while todo:
        folder, shown = todo.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        inside = []
        for name in names:
            path = os.path.join(folder, name)
            where = f"{shown}/{name}" if shown else name
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if S_ISDIR(st.st_mode):
                if not name.startswith(".") and _identity(st) not in skipped:
                    inside.append((path, where))
            elif not S_ISLNK(st.st_mode):
                yield Found(path, where, _identity(st))
            elif not os.path.isdir(path):
                yield Found(path, where, _key(path))
        todo += reversed(inside)


def _key(path: str) -> str:
    """What identifies the file or folder at ``path`` (:func:`_identity`), else (a broken
    link) the path it resolves to."""
    try:
        return _identity(os.stat(path))
    except OSError:
        return os.path.realpath(path)


def _identity(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}"


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _not_xlsx(index: int, path: Path, shown: str) -> Row:
    suffix = path.suffix.lower()
    why = _NOT_XLSX.get(suffix, f"扩展名为“{suffix or '（无）'}”，请提交填好的 .xlsx 报表")
    return Row(index, shown, UNREADABLE, errors=1, first_error=f"不是 .xlsx 文件：{why}",
               reason="not_xlsx")


# --------------------------------------------------------------------------- workers


def _warm(asked: Spec | None = None) -> None:
    """Import the reader and prepare every built-in edition (spec, layout, checks), or the one
    asked for, once, before the workers are forked: each inherits them instead of preparing
    its own."""
    for spec in [asked] if asked is not None else [builtin(e) for e in BUILTIN_EDITIONS]:
        layout(spec)
        check(spec, {})


_worker_index: Index = ByUnit(())
_worker_read: Callable[[Task], Read] | None = None
_worker_spec: Spec | None = None


def _init_worker(
    index: Index, read: Callable[[Task], Read] | None = None, spec: Spec | None = None
) -> None:
    """Each worker keeps last year's index, the run's reader and the edition asked for, and
    leaves Ctrl-C to the main process."""
    global _worker_index, _worker_read, _worker_spec
    _worker_index, _worker_read, _worker_spec = index, read, spec
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Timeout(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`_Timeout` in the block after ``seconds`` (POSIX; elsewhere no limit)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _Timeout

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _read_workbook(task: Task) -> Read:
    """A filled workbook, read once and checked with last year's report of the unit and year it
    names, when there is one (the reader asks for it once the values are read)."""
    paired: list[tuple[str, dict[str, Any]]] = []

    def last_year(values: Mapping[str, Any]) -> dict[str, Any] | None:
        _, year = _unit_year(values)
        found = _worker_index.find(Identity.of(values), year - 1) if year else None
        paired[:] = [found] if found is not None else []
        return found[1] if found is not None else None

    read = read_workbook(task.path, spec=_worker_spec, strict=task.strict, prev=last_year)
    return Read(read.result, read.document() if read.result.valid else None,
                paired[0][0] if paired else "")


def _read_one(task: Task) -> Row:
    """Read one file (in a worker) with the run's reader; stage its report and problems; return
    its row."""
    assert _worker_read is not None
    try:
        with _deadline(TIMEOUT):
            read = _worker_read(task)
    except UnreadableInput as exc:
        return _refused(task, exc.message, exc.code)
    except _Timeout:
        return _refused(task, f"读取超时（超过 {TIMEOUT} 秒），文件可能异常", "timeout")
    except Exception as exc:  # one bad file must never stop the run
        why = f"读取时出现内部错误（{type(exc).__name__}: {exc}），请向维护者报告"
        return _refused(task, why, "internal")
    result = read.result
    unit, year = _unit_year(result.values)
    code = result.values.get("unit.code")
    errors, warnings = result.errors, result.warnings
    narrative = [p.message for p in warnings if p.code == "narrative"]
    row = Row(
        task.index, task.file, INVALID if errors else WARNINGS if warnings else VALID,
        unit, year, result.spec.edition, len(errors), len(warnings),
        errors[0].text if errors else "", warnings[0].text if warnings else "",
        previous=read.previous, narrative_count=len(narrative), narrative="；".join(narrative),
        code=code if isinstance(code, str) else "",
    )
    if result.problems:
        _stage(task, ".jsonl", "".join(_jsonl({"file": task.file, **p.to_json()})
                                       for p in result.problems))
    if result.valid and read.document is not None:
        _stage(task, ".json", dumps(read.document))
        row.staged = True
    return row


def _unit_year(values: Mapping[str, Any]) -> tuple[str, int | None]:
    unit, year = values.get("unit.name"), values.get("unit.year")
    return (unit if isinstance(unit, str) else ""), (year if isinstance(year, int) else None)


def _refused(task: Task, message: str, reason: str) -> Row:
    """The row of a file that could not be read, its problem line staged."""
    _stage(task, ".jsonl", _line(task.file, message, reason))
    return Row(task.index, task.file, UNREADABLE, errors=1, first_error=message)


def _stage(task: Task, suffix: str, text: str) -> None:
    try:
        (task.staging / f"{task.index}{suffix}").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise unwritable(task.staging.parent, exc) from None


def _run(
    work: Callable[[Any], Any],
    tasks: Iterable[Any],
    count: int,
    jobs: int,
    advance: Callable[[], None],
    crashed: Callable[[Any], Any],
    emit: Callable[[list[Any]], None],
    *,
    initargs: tuple[Any, ...] = ({},),
) -> None:
    """``work`` over the ``count`` ``tasks`` in ``jobs`` processes, in small batches, a bounded
    number in flight, each batch's results handed to ``emit``.  When a worker dies, the tasks
    it may have held are retried one by one in a pool of their own, and the one that takes
    that pool down too gets ``crashed(task)`` as its result."""
    todo = _batches(tasks, max(1, min(BATCH, count // (jobs * 8))))
    while True:
        suspects = _pass(work, todo, jobs, initargs, emit, advance)
        if suspects is None:
            return
        for task in suspects:
            if _pass(work, iter([[task]]), 1, initargs, emit, advance) is not None:
                emit([crashed(task)])
                advance()


def _batches(tasks: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(tasks)
    while batch := list(islice(it, size)):
        yield batch


def _pass(
    work: Callable[[Any], Any],
    todo: Iterator[list[Any]],
    jobs: int,
    initargs: tuple[Any, ...],
    emit: Callable[[list[Any]], None],
    advance: Callable[[], None],
) -> list[Any] | None:
    """Run batches from ``todo`` until it is exhausted (returns None) or the pool breaks
    (returns the tasks that were in flight)."""
    limit = jobs * 4
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=initargs) as pool:
        running: dict[Future[list[Any]], list[Any]] = {}
        exhausted = False
        while not exhausted or running:
            while not exhausted and len(running) < limit:
                batch = next(todo, None)
                if batch is None:
                    exhausted = True
                    break
                running[pool.submit(_each, work, batch)] = batch
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                batch = running.pop(future)
                try:
                    emit(future.result())
                except BrokenProcessPool:
                    return [task for b in (batch, *running.values()) for task in b]
                for _ in batch:
                    advance()
    return None


def _each(work: Callable[[Any], Any], batch: Sequence[Any]) -> list[Any]:
    """A batch of tasks in a worker."""
    return [work(task) for task in batch]


_CRASH = "读取这个文件时读取程序异常退出（文件可能损坏，或占用内存过多）"


def _crashed_read(task: Task) -> Row:
    return _refused(task, _CRASH, "crash")


COLLECT = Kind(
    reads=lambda path: path.suffix.lower() == ".xlsx",
    read=_read_workbook,
    refuse=_not_xlsx,
    what="报表所在的文件夹或 .xlsx 文件",
    phase="读取报表",
    sheet="收集结果",
    columns=COLUMNS,
)


def _line(file: str, message: str, reason: str) -> str:
    """The line of problems.jsonl for a file that could not be read."""
    return _jsonl({"file": file, "severity": "error", "code": "unreadable", "reason": reason,
                   "message": message})


def _jsonl(obj: dict[str, Any]) -> str:
    """One line of problems.jsonl (exact decimals)."""
    return dumps(obj, indent=None) + "\n"


def _progress(progress: Progress | None, phase: str, total: int, *, start: int = 0
              ) -> Callable[[], None]:
    """Report ``phase`` of ``total`` files, ``start`` of them already done."""
    done = start
    if progress is not None:
        progress(phase, done, total)

    def advance() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(phase, done, total)

    return advance


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A progress bar on stderr (rich) when it is a terminal; otherwise one line per phase."""
    # deferred: rich takes ~50 ms and is needed only while collecting
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    console = Console(stderr=True)
    if not console.is_terminal:

        shown: set[str] = set()

        def line(phase: str, done: int, total: int) -> None:
            if phase not in shown:
                shown.add(phase)
                print(f"{phase}：共 {total} 个文件……", file=sys.stderr, flush=True)

        yield line
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Bar(*columns, console=console) as bar:
        ids: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in ids:
                ids[phase] = bar.add_task(phase, total=total)
            bar.update(ids[phase], completed=done)

        yield update


# --------------------------------------------------------------------------- last year


@cache
def _previous_keys() -> frozenset[str]:
    """The cells of last year's report that any cross-year rule of a built-in edition reads."""
    return frozenset(
        t.key
        for edition in BUILTIN_EDITIONS
        for c in builtin(edition).checks()
        for t in (*c.lhs, *c.rhs)
        if t.prev and t.key
    )


def _read_previous(
    path: Path, spec: Spec | None = None
) -> tuple[Path, tuple[Identity, int, dict[str, Any]] | None, str]:
    """(path, (unit, year, values for the cross-year rules) or None, why it is unusable); a
    report of ``spec``'s edition (``--spec``) is read with it."""
    try:
        with _deadline(TIMEOUT):
            if path.suffix.lower() in PUBLISHED:
                imported = import_report(path)
                loaded = Loaded(path.name, imported.source["sha256"], imported.result)
            else:
                loaded = _load_last(path, spec)
    except UnreadableInput as exc:
        return path, None, exc.message
    except Exception as exc:  # one bad file must never stop the run
        return path, None, f"内部错误（{type(exc).__name__}: {exc}）"
    if not loaded.unit or loaded.year is None:
        return path, None, "缺少单位名称或报告年度"
    values = {k: v for k in _previous_keys() if (v := loaded.result.values.get(k)) is not None}
    return path, (Identity.of(loaded.result.values), loaded.year, values), ""


def _load_last(path: Path, spec: Spec | None) -> Loaded:
    """Last year's JSON report or workbook: of a built-in edition, or of ``spec``'s when it is
    not one (read once more with it, as :func:`xlreport.workflows.previous.load` does)."""
    try:
        return load(path)
    except UnreadableInput as exc:
        if spec is None or exc.code not in ("edition", "unknown_template"):
            raise
    return load(path, spec=spec)


def _previous_index(
    directory: Path, jobs: int, progress: Progress | None, spec: Spec | None = None
) -> tuple[Index, list[str]]:
    """Last year's reports (JSON, .xlsx or published reports) by unit and year, those of
    ``spec``'s edition read with it; a unit and year
    found twice is left out, as is any file that cannot be read (both are listed as unusable)."""
    if not Path(directory).is_dir():
        raise UsageError(f"找不到上年报告所在的文件夹“{directory}”", code="not_found")
    paths = list({f.key: Path(f.path) for f in find([directory])
                  if f.path.lower().endswith((".json", ".xlsx", *PUBLISHED))
                  and not is_junk(os.path.basename(f.path))}.values())
    advance = _progress(progress, "读取上年报告", len(paths))
    listed: list[Listed[tuple[str, dict[str, Any]]]] = []
    unusable: list[str] = []
    results: list[tuple[Path, tuple[Identity, int, dict[str, Any]] | None, str]] = []
    _run(functools.partial(_read_previous, spec=spec), paths, len(paths), jobs, advance,
         lambda p: (p, None, _CRASH), results.extend)
    for path, entry, why in sorted(results, key=lambda r: str(r[0])):
        name = path.relative_to(directory).as_posix()
        if entry is None:
            unusable.append(f"{name}：{why}")
            continue
        unit, year, values = entry
        listed.append(Listed(unit, year, (name, values)))
    index = ByUnit(listed)
    for one, others in index.twice:
        names = "、".join(sorted(e.item[0] for e in (one, *others)))
        unusable.append(f"{one.item[0]}：同一单位 {one.year} 年度有 {len(others) + 1} 份（{names}），未使用")
    return index, unusable


# --------------------------------------------------------------------------- results


def _flag(row: Row, message: str, *, code: str, first: bool = False) -> None:
    """An error about the collection on ``row`` (the file gives no upload JSON): the first error
    shown when ``first``."""
    row.errors += 1
    row.first_error = message if first or not row.first_error else row.first_error
    if row.status not in (UNREADABLE, MISSING):
        row.status = INVALID
    row.staged = False
    row.flags.append((code, message))


def _flag_years(ledger: Ledger, season: Season, collected: Collected) -> None:
    """The season's year — asked for, given by the list, or else the year most returns carry
    (the later one of a tie) — and each return of another year an error naming both."""
    years = collected.years = ledger.years()
    if season.year is not None:
        year = season.year
    elif years:
        year = max(years, key=lambda y: (years[y], y))
    else:
        return
    collected.year, collected.year_from = year, season.year_from
    why = {"--year": "--year 指定", "list": "单位名单中的年度",
           "returns": "交回的报表大多是这一年度"}[collected.year_from]
    for row in ledger.each("year IS NOT NULL AND year != ?", (year,)):
        _flag(row, f"这份报表是 {row.year} 年度的，而本次收集的是 {year} 年度（{why}）；"
              f"请“{row.unit or '填报单位'}”用 {year} 年度的填报模板填写后重新交回",
              code="wrong_year", first=True)
        ledger.put(row)
        collected.wrong_year += 1


def _match_roster(ledger: Ledger, roster: Roster, collected: Collected) -> list[Row]:
    """Each return matched to its listed unit (by code or name; a file that could not be read,
    by the name of the unit's copy), a return of an unlisted unit an error; the 未交 rows of
    the listed units that returned nothing of the season's year."""
    year = collected.year
    copies = roster.copies(year)
    returned: set[int] = set()
    other_year: dict[int, list[str]] = {}
    others: dict[int, int] = {}
    for row in ledger.each():
        unit = (roster.find(row.unit, row.code) if row.unit
                else copies.get(Path(row.file).name.casefold()))
        if unit is None:
            if row.unit:
                row.listed = UNLISTED
                _flag(row, f"“{row.unit}”不在单位名单 {roster.source} 中（名称和统一社会信用代码都对不上）；"
                      "如果是名单中的单位改了名称，请改正名单后重新收集", code="unlisted", first=True)
                ledger.put(row)
                collected.unlisted += 1
            continue
        row.line, row.listed = unit.line, f"第 {unit.line} 行"
        ledger.put(row)
        if year is None or row.year in (None, year):
            returned.add(unit.line)
        else:
            others[unit.line] = others.get(unit.line, 0) + 1
            if len(sent := other_year.setdefault(unit.line, [])) < SHOWN:
                sent.append(row.file)
    missing = []
    for unit in roster.units:
        if unit.line in returned:
            continue
        sent = other_year.get(unit.line, [])
        message = (f"{roster.source} 第 {unit.line} 行的“{unit.name}”没有交回"
                   + (f" {year} 年度的" if year is not None else "") + "报表")
        if sent:
            more = f" 等 {others[unit.line]} 份" if others[unit.line] > SHOWN else ""
            message += f"（交回的 {'、'.join(sent)}{more} 是其他年度的）"
        row = Row(-unit.line, "", MISSING, unit.name, year, code=unit.code or "", line=unit.line,
                  listed=f"第 {unit.line} 行")
        _flag(row, message, code="not_returned")
        missing.append(row)
        collected.missing.append(unit.name)
    collected.roster = roster
    return missing


def _flag_duplicates(ledger: Ledger) -> None:
    """Two or more files of one unit (of the list, or by name) and year: each becomes an error
    naming a few of the others (sorted) and how many there are."""
    for who, year, count in ledger.twice():
        first = ledger.first_of(who, year, SHOWN + 1)
        more = f" 等 {count - 1} 份" if count - 1 > SHOWN else ""
        for row in ledger.each("who = ? AND year = ?", (who, year)):
            row.duplicates = "、".join([f for i, f in first if i != row.index][:SHOWN]) + more
            _flag(row, f"“{row.unit}”{row.year} 年度还有 {count - 1} 份报表"
                  f"（{row.duplicates}）；请确认哪一份有效，删除其余的后重新收集",
                  code="duplicate")
            ledger.put(row)


def _name_outputs(ledger: Ledger) -> None:
    """``<unit>_<year>.json`` for each staged report, in input order, made unique."""
    for row in ledger.each("staged = 1"):
        stem = safe_file_name("_".join(f"{row.unit}_{row.year}".split())) or "报告"
        name, n = f"{stem}.json", 1
        while not ledger.claim(name):
            n += 1
            name = f"{stem}_{n}.json"
        row.output = name
        ledger.put(row)


def _previous_outputs(out_dir: Path) -> Iterator[str]:
    """The reports an earlier run wrote here (listed in its summary.csv): replaced or deleted
    with the rest, so that a report which is no longer valid does not stay behind."""
    old = out_dir / SUMMARY_CSV
    if not old.is_file():
        return
    try:
        with old.open(encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                name = _uncell(r.get(_OUTPUT_COLUMN) or "")
                if name.endswith(".json") and name == Path(name).name and name != PROBLEMS:
                    yield name
    except (OSError, UnicodeDecodeError, csv.Error):
        return


def _write_outputs(
    ledger: Ledger, out_dir: Path, staging: Path, kind: Kind, collected: Collected
) -> None:
    """Stage problems.jsonl and both summaries in one pass over the rows, worst first, then
    replace the previous set in one commit."""
    columns = collected.columns
    staged = {name: staging / name for name in (PROBLEMS, SUMMARY_CSV, SUMMARY_XLSX)}
    with Outputs(journal=staging / JOURNAL) as out:
        try:
            with staged[PROBLEMS].open("w", encoding="utf-8") as problems, \
                    staged[SUMMARY_CSV].open("w", encoding="utf-8-sig", newline="") as table, \
                    Sheet(staged[SUMMARY_XLSX], kind.sheet, columns) as sheet:
                summary = csv.writer(table)
                summary.writerow([head for head, _, _ in columns])
                for row in ledger.ordered():
                    _problems(row, staging, problems)
                    summary.writerow([_cell(v) for v in _cells(row, columns)])
                    sheet.add(row)
                    if row.output:
                        out.place(out_dir / row.output, staging / f"{row.index}.json")
                    collected.counted[row.status] += 1
                    collected.narrative += row.narrative_count > 0
                for fh in (problems, table):
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:  # the three are staged in a folder inside the results folder
            raise unwritable(out_dir, exc) from None
        for name in _previous_outputs(out_dir):
            # claimed: not one of this run's reports (nor an old name listed twice)
            if ledger.claim(name) and (out_dir / name).is_file():
                out.remove(out_dir / name)
        for name, path in staged.items():
            out.place(out_dir / name, path)
        out.commit()


def _problems(row: Row, staging: Path, out: IO[str]) -> None:
    """The lines of problems.jsonl of ``row``: its file's problems, or why it was not read,
    then the errors about the collection."""
    part = staging / f"{row.index}.jsonl"
    if row.index >= 0 and part.exists():
        out.write(part.read_text(encoding="utf-8"))
    elif row.status == UNREADABLE:
        out.write(_line(row.file, row.first_error, row.reason))
    unit = {"unit": row.unit, "row": row.line} if row.status == MISSING else {}
    for code, message in row.flags:
        out.write(_jsonl({"file": row.file, **unit, "severity": "error", "code": code,
                          "message": message}))


def _cells(row: Row, columns: Columns) -> list[Any]:
    return [getattr(row, attr) for _, attr, _ in columns]


def _cell(value: Any) -> str:
    """A CSV cell: text a spreadsheet would take for a formula gets a leading ``'``."""
    if value is None:
        return ""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else str(value)


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


_STATUS_COLOURS = {UNREADABLE: "#F4B6B6", INVALID: "#FCD5B4", MISSING: "#D9D2E9",
                   WARNINGS: "#FFF2AB", VALID: "#C6EFCE"}


class Sheet:
    """summary.xlsx, written a row at a time: the rows status coloured, header frozen and
    filtered; printed landscape, one page wide, the header on every page."""

    def __init__(self, path: Path, name: str, columns: Columns) -> None:
        import xlsxwriter  # deferred: xlsxwriter takes ~60 ms; only the summary is written with it

        font = {"font_name": "宋体", "font_charset": 134, "font_scheme": "none", "font_size": 10}
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True,
                                                    "tmpdir": str(path.parent)})
        plain = self.book.add_format({**font, "valign": "top"})
        head = self.book.add_format({**font, "bold": True, "bg_color": "#D9D9D9", "border": 1})
        self.status = {s: self.book.add_format({**font, "bg_color": c})
                       for s, c in _STATUS_COLOURS.items()}
        self.sheet = self.book.add_worksheet(name)
        self.columns = columns
        for col, (title, _, width) in enumerate(columns):
            self.sheet.set_column(col, col, width, plain)
            self.sheet.write_string(0, col, title, head)
        self.status_col = [attr for _, attr, _ in columns].index("status")
        self.rows = 0

    def add(self, row: Row) -> None:
        self.rows += 1
        for col, value in enumerate(_cells(row, self.columns)):
            if value is None or value == "":
                continue
            if col == self.status_col:
                self.sheet.write_string(self.rows, col, value, self.status[value])
            elif isinstance(value, int):
                self.sheet.write_number(self.rows, col, value)
            else:
                self.sheet.write_string(self.rows, col, str(value))

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        """Finish the workbook (only its temporary files when the rows were not all written)."""
        if kind is None:
            sheet = self.sheet
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, self.rows, len(self.columns) - 1)
            sheet.set_landscape()
            sheet.set_paper(9)
            sheet.fit_to_pages(1, 0)
            sheet.repeat_rows(0)
        # deferred: with xlsxwriter itself
        from xlsxwriter.exceptions import FileCreateError

        try:
            self.book.close()
        except (OSError, FileCreateError) as exc:
            if kind is None:
                raise exc if isinstance(exc, OSError) else OSError(*exc.args) from None
