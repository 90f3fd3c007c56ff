"""Collecting returns: every file of a folder read in parallel, never stopping on a bad one.

:func:`collect` is the whole run (:func:`gather` with the reader of filled workbooks; ``audit``
runs the same with the reader of published reports)::

    find files (sorted) → lock the results folder → [read last year's reports, index by unit
    and year] → read every .xlsx in worker processes (each a pure read_workbook, bounded in
    time) → [the season: flag returns of another year than the season's, match the returns
    to the list of units, add a 未交 row for each listed unit without one] → flag two files of
    one unit and year → stage per-report JSON, problems.jsonl, summary.csv and summary.xlsx,
    worst first → replace the previous results in one commit

A worker hands back a small :class:`Row` and writes its report and problems to the run's own
staging folder; nothing big crosses a process boundary, and the main process keeps one summary
row per file (to sort them).  A file that cannot be read, times out or takes its worker down
becomes that file's 无法读取 row.  Until the commit (:class:`xlreport.outputs.Outputs`) nothing
of an earlier run's results is touched.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..checks.report import dumps
from ..checks.validate import Result, check
from ..edition.load import builtin
from ..edition.spec import BUILTIN_EDITIONS, Spec
from ..errors import UnreadableInput, UsageError
from ..outputs import TEMP_PREFIX, Outputs, folder, hold, recover, unwritable
from ..published.reader import SUFFIXES as PUBLISHED
from ..published.reader import import_report
from ..workbook.layout import layout
from ..workbook.reader import read_workbook
from .merge import Loaded, load
from .roster import Roster, check_year, read_roster
from .units import ByUnit, Identity, Listed, safe_file_name, unit_key

#: Statuses of a file, worst first.
STATUSES = ("无法读取", "不通过", "有警告", "通过")
UNREADABLE, INVALID, WARNINGS, VALID = STATUSES
#: The status of a listed unit that has returned nothing (a row without a file).
MISSING = "未交"
#: The order of the summary.
ORDER = (UNREADABLE, INVALID, MISSING, WARNINGS, VALID)
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
    def rank(self) -> tuple[int, str, int]:
        return ORDER.index(self.status), self.file, self.line


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
    """The outcome of a run: one row per file, worst first."""

    rows: list[Row]
    out_dir: Path
    previous_found: int | None = None
    previous_unreadable: list[str] = field(default_factory=list)
    #: Files left out as not being returns (lock files, ``Thumbs.db``, hidden files), as shown.
    skipped: list[str] = field(default_factory=list)
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

    @property
    def ok(self) -> bool:
        """Every file valid (warnings allowed), of the season's year, from a listed unit, and
        every listed unit returned one: a complete collection."""
        return all(r.status in (VALID, WARNINGS) for r in self.rows)

    @property
    def files(self) -> list[Row]:
        """The rows of files (not of units that returned nothing)."""
        return [r for r in self.rows if r.status != MISSING]

    @property
    def wrong_year(self) -> int:
        return sum(code == "wrong_year" for r in self.rows for code, _ in r.flags)

    @property
    def unlisted(self) -> int:
        return sum(r.listed == UNLISTED for r in self.rows)

    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.rows) for s in STATUSES}


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
    listed = _real(season.units) if season is not None and season.units is not None else None
    everything = [(p, shown) for p, shown in find(inputs, skip=skip) if _real(p) != listed]
    files = [(path, shown) for path, shown in everything if not is_junk(path.name)]
    if not files:
        raise UsageError(f"没有找到要读取的文件（请指定{kind.what}）", code="no_files")
    folder(out_dir)
    for name in (PROBLEMS, SUMMARY_CSV, SUMMARY_XLSX):
        Outputs().check(out_dir / name)
    with hold(out_dir):
        _recover(out_dir)
        try:
            staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}-", dir=out_dir))
        except OSError as exc:
            raise unwritable(out_dir, exc) from None
        try:
            done = _collect(files, out_dir, staging, kind, previous_dir, jobs, strict, progress,
                            season)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    done.skipped = [shown for path, shown in everything if is_junk(path.name)]
    done.jobs, done.jobs_asked = jobs, asked
    return done


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
    files: list[tuple[Path, str]],
    out_dir: Path,
    staging: Path,
    kind: Kind,
    previous_dir: Path | None,
    jobs: int,
    strict: bool,
    progress: Progress | None,
    season: Season | None,
) -> Collected:
    collected = Collected([], out_dir)
    spec = season.spec if season is not None else None
    _warm(spec)
    index: Index = ByUnit(())
    if previous_dir is not None:
        index, collected.previous_unreadable = _previous_index(previous_dir, jobs, progress,
                                                               spec)
        collected.previous_found = len(index)
    rows: list[Row] = []
    tasks: list[Task] = []
    for i, (path, shown) in enumerate(files):
        if kind.reads(path):
            tasks.append(Task(i, path, shown, staging, strict))
        else:
            rows.append(kind.refuse(i, path, shown))
    advance = _progress(progress, kind.phase, len(files), start=len(rows))
    rows += _run(_read_one, tasks, jobs, advance, _crashed_read,
                 initargs=(index, kind.read, spec))
    columns = kind.columns
    missing: list[Row] = []
    if season is not None:
        _flag_years(rows, season, collected)
        if season.roster is not None:
            missing = _match_roster(rows, season.roster, collected)
            columns = (*columns, LISTED_COLUMN)
    _flag_duplicates(rows)
    _name_outputs(rows)
    rows += missing
    rows.sort(key=lambda r: r.rank)
    _write_outputs(rows, out_dir, staging, kind, columns)
    collected.rows = rows
    return collected


# --------------------------------------------------------------------------- finding files


def find(inputs: Sequence[Path], *, skip: Sequence[Path] = ()) -> list[tuple[Path, str]]:
    """Every file named or under a folder named (sorted, each once), with how it is shown: its
    name, or its path inside the folder given (after the folder's name when several are given).
    Folders in ``skip`` are left out."""
    skipped = {_real(p) for p in skip}
    seen: set[Path] = set()
    out: list[tuple[Path, str]] = []
    for given in inputs:
        given = Path(given)
        if given.is_dir():
            base = given.parent if len(inputs) > 1 else given
            found = [(p, p.relative_to(base).as_posix()) for p in _walk(given, skipped)]
        elif given.exists():
            found = [(given, given.name)]
        else:
            raise UsageError(f"找不到“{given}”（既不是文件也不是文件夹）", code="not_found")
        for path, shown in found:
            if _real(path) not in seen:
                seen.add(_real(path))
                out.append((path, shown))
    return out


#: Files that systems and programs leave beside the returns (compared in lower case).
JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db", ".ds_store"})


def is_junk(name: str) -> bool:
    """Not a return: a hidden file (macOS ``._x.xlsx``, LibreOffice's ``.~lock.x.xlsx#``),
    Office's owner file ``~$x.xlsx``, or a file a system leaves in folders (``Thumbs.db``)."""
    return name.startswith((".", "~$")) or name.lower() in JUNK_NAMES


def _walk(root: Path, skipped: set[Path]) -> Iterator[Path]:
    """The files under ``root``; hidden folders (``.git``, ``.Trash``) are not entered."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and _real(here / d) not in skipped
        )
        for name in sorted(filenames):
            yield here / name


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
    tasks: Sequence[Any],
    jobs: int,
    advance: Callable[[], None],
    crashed: Callable[[Any], Any],
    *,
    initargs: tuple[Any, ...] = ({},),
) -> list[Any]:
    """``work`` over ``tasks`` in ``jobs`` processes, in small batches, a bounded number in
    flight.  When a worker dies, the tasks it may have held are retried one by one in a pool of
    their own, and the one that takes that pool down too gets ``crashed(task)`` as its result."""
    results: list[Any] = []
    size = max(1, min(BATCH, len(tasks) // (jobs * 8)))
    todo = deque(tasks[i : i + size] for i in range(0, len(tasks), size))
    while todo:
        suspects = _pass(work, todo, jobs, initargs, results, advance)
        for task in suspects:
            if _pass(work, deque([[task]]), 1, initargs, results, advance):
                results.append(crashed(task))
                advance()
    return results


def _pass(
    work: Callable[[Any], Any],
    todo: deque[Sequence[Any]],
    jobs: int,
    initargs: tuple[Any, ...],
    results: list[Any],
    advance: Callable[[], None],
) -> list[Any]:
    """Run batches from ``todo`` until it is empty (returns []) or the pool breaks (returns the
    tasks that were in flight)."""
    limit = jobs * 4
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=initargs) as pool:
        running: dict[Future[list[Any]], Sequence[Any]] = {}
        while todo or running:
            while todo and len(running) < limit:
                batch = todo.popleft()
                running[pool.submit(_each, work, batch)] = batch
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                batch = running.pop(future)
                try:
                    results.extend(future.result())
                except BrokenProcessPool:
                    return [task for b in (batch, *running.values()) for task in b]
                for _ in batch:
                    advance()
    return []


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
    paths = [p for p, _ in find([directory])
             if p.suffix.lower() in (".json", ".xlsx", *PUBLISHED) and not is_junk(p.name)]
    advance = _progress(progress, "读取上年报告", len(paths))
    listed: list[Listed[tuple[str, dict[str, Any]]]] = []
    unusable: list[str] = []
    results = _run(functools.partial(_read_previous, spec=spec), paths, jobs, advance,
                   lambda p: (p, None, _CRASH))
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


def _flag_years(rows: list[Row], season: Season, collected: Collected) -> None:
    """The season's year — asked for, given by the list, or else the year most returns carry
    (the later one of a tie) — and each return of another year an error naming both."""
    years: dict[int, int] = {}
    for row in rows:
        if row.year is not None:
            years[row.year] = years.get(row.year, 0) + 1
    collected.years = dict(sorted(years.items()))
    if season.year is not None:
        year = season.year
    elif years:
        year = max(years, key=lambda y: (years[y], y))
    else:
        return
    collected.year, collected.year_from = year, season.year_from
    why = {"--year": "--year 指定", "list": "单位名单中的年度",
           "returns": "交回的报表大多是这一年度"}[collected.year_from]
    for row in rows:
        if row.year is not None and row.year != year:
            _flag(row, f"这份报表是 {row.year} 年度的，而本次收集的是 {year} 年度（{why}）；"
                  f"请“{row.unit or '填报单位'}”用 {year} 年度的填报模板填写后重新交回",
                  code="wrong_year", first=True)


def _match_roster(rows: list[Row], roster: Roster, collected: Collected) -> list[Row]:
    """Each return matched to its listed unit (by code or name; a file that could not be read,
    by the name of the unit's copy), a return of an unlisted unit an error; the 未交 rows of
    the listed units that returned nothing of the season's year."""
    year = collected.year
    copies = roster.copies(year)
    returned: set[int] = set()
    other_year: dict[int, list[str]] = {}
    for row in rows:
        unit = (roster.find(row.unit, row.code) if row.unit
                else copies.get(Path(row.file).name.casefold()))
        if unit is None:
            if row.unit:
                row.listed = UNLISTED
                _flag(row, f"“{row.unit}”不在单位名单 {roster.source} 中（名称和统一社会信用代码都对不上）；"
                      "如果是名单中的单位改了名称，请改正名单后重新收集", code="unlisted", first=True)
            continue
        row.line, row.listed = unit.line, f"第 {unit.line} 行"
        if year is None or row.year in (None, year):
            returned.add(unit.line)
        else:
            other_year.setdefault(unit.line, []).append(row.file)
    missing = []
    for unit in roster.units:
        if unit.line in returned:
            continue
        sent = other_year.get(unit.line, [])
        message = (f"{roster.source} 第 {unit.line} 行的“{unit.name}”没有交回"
                   + (f" {year} 年度的" if year is not None else "") + "报表")
        if sent:
            more = f" 等 {len(sent)} 份" if len(sent) > SHOWN else ""
            message += f"（交回的 {'、'.join(sent[:SHOWN])}{more} 是其他年度的）"
        row = Row(-1, "", MISSING, unit.name, year, code=unit.code or "", line=unit.line,
                  listed=f"第 {unit.line} 行")
        _flag(row, message, code="not_returned")
        missing.append(row)
        collected.missing.append(unit.name)
    collected.roster = roster
    return missing


def _flag_duplicates(rows: list[Row]) -> None:
    """Two or more files of one unit (of the list, or by name) and year: each becomes an error
    naming a few of the others (sorted) and how many there are."""
    groups: dict[tuple[object, int], list[Row]] = {}
    for row in rows:
        if row.unit and row.year is not None:
            who = row.line or unit_key(row.unit)
            groups.setdefault((who, row.year), []).append(row)
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda r: r.file)
        for row in group:
            others = [r.file for r in group[: SHOWN + 1] if r is not row][:SHOWN]
            more = f" 等 {len(group) - 1} 份" if len(group) - 1 > SHOWN else ""
            row.duplicates = "、".join(others) + more
            _flag(row, f"“{row.unit}”{row.year} 年度还有 {len(group) - 1} 份报表"
                  f"（{row.duplicates}）；请确认哪一份有效，删除其余的后重新收集",
                  code="duplicate")


def _name_outputs(rows: list[Row]) -> None:
    """``<unit>_<year>.json`` for each staged report, in input order, made unique."""
    used: set[str] = set()
    for row in sorted(rows, key=lambda r: r.index):
        if not row.staged:
            continue
        stem = safe_file_name("_".join(f"{row.unit}_{row.year}".split())) or "报告"
        name, n = f"{stem}.json", 1
        while name.casefold() in used or name in (PROBLEMS,):
            n += 1
            name = f"{stem}_{n}.json"
        used.add(name.casefold())
        row.output = name


def _previous_outputs(out_dir: Path) -> list[str]:
    """The reports an earlier run wrote here (listed in its summary.csv): replaced or deleted
    with the rest, so that a report which is no longer valid does not stay behind."""
    old = out_dir / SUMMARY_CSV
    if not old.is_file():
        return []
    try:
        with old.open(encoding="utf-8-sig", newline="") as fh:
            names = [_uncell(r.get(_OUTPUT_COLUMN) or "") for r in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return [n for n in names if n.endswith(".json") and n == Path(n).name and n != PROBLEMS]


def _write_outputs(
    rows: list[Row], out_dir: Path, staging: Path, kind: Kind, columns: Columns
) -> None:
    """Stage problems.jsonl and both summaries, then replace the previous set in one commit."""
    staged = staging / PROBLEMS
    try:
        with staged.open("w", encoding="utf-8") as problems:
            for row in rows:
                part = staging / f"{row.index}.jsonl"
                if row.index >= 0 and part.exists():
                    problems.write(part.read_text(encoding="utf-8"))
                elif row.status == UNREADABLE:
                    problems.write(_line(row.file, row.first_error, row.reason))
                unit = {"unit": row.unit, "row": row.line} if row.status == MISSING else {}
                for code, message in row.flags:
                    problems.write(_jsonl({"file": row.file, **unit, "severity": "error",
                                           "code": code, "message": message}))
    except OSError as exc:
        raise unwritable(out_dir / PROBLEMS, exc) from None
    new = {row.output.casefold() for row in rows if row.output}
    with Outputs(journal=staging / JOURNAL) as out:
        for row in rows:
            if row.output:
                out.place(out_dir / row.output, staging / f"{row.index}.json")
        for name in _previous_outputs(out_dir):
            if name.casefold() not in new and (out_dir / name).is_file():
                out.remove(out_dir / name)
        out.place(out_dir / PROBLEMS, staged)
        out.write(out_dir / SUMMARY_CSV, _csv(rows, columns))
        out.write(out_dir / SUMMARY_XLSX, _xlsx(rows, kind.sheet, columns))
        out.commit()


def _cells(row: Row, columns: Columns) -> list[Any]:
    return [getattr(row, attr) for _, attr, _ in columns]


def _cell(value: Any) -> str:
    """A CSV cell: text a spreadsheet would take for a formula gets a leading ``'``."""
    if value is None:
        return ""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else str(value)


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def _csv(rows: list[Row], columns: Columns) -> str:
    """summary.csv (UTF-8 with a BOM, so that Excel shows the Chinese)."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow([head for head, _, _ in columns])
    for row in rows:
        out.writerow([_cell(v) for v in _cells(row, columns)])
    return "\ufeff" + buffer.getvalue()


_STATUS_COLOURS = {UNREADABLE: "#F4B6B6", INVALID: "#FCD5B4", MISSING: "#D9D2E9",
                   WARNINGS: "#FFF2AB", VALID: "#C6EFCE"}


def _xlsx(rows: list[Row], sheet_name: str, columns: Columns) -> bytes:
    """summary.xlsx: the same rows, status coloured, header frozen and filtered; printed
    landscape, one page wide, the header on every page."""
    import xlsxwriter  # deferred: xlsxwriter takes ~60 ms; only the summary is written with it

    font = {"font_name": "宋体", "font_charset": 134, "font_scheme": "none", "font_size": 10}
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    try:
        plain = book.add_format({**font, "valign": "top"})
        head = book.add_format({**font, "bold": True, "bg_color": "#D9D9D9", "border": 1})
        status = {s: book.add_format({**font, "bg_color": c}) for s, c in _STATUS_COLOURS.items()}
        sheet = book.add_worksheet(sheet_name)
        for col, (title, _, width) in enumerate(columns):
            sheet.set_column(col, col, width, plain)
            sheet.write_string(0, col, title, head)
        status_col = [attr for _, attr, _ in columns].index("status")
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(_cells(row, columns)):
                if value is None or value == "":
                    continue
                if col == status_col:
                    sheet.write_string(r, col, value, status[value])
                elif isinstance(value, int):
                    sheet.write_number(r, col, value)
                else:
                    sheet.write_string(r, col, str(value))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(rows), len(columns) - 1)
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(0)
    finally:
        book.close()
    return buffer.getvalue()

