"""collect's main process keeps no object per file: its memory does not grow with the number of
files (the files and rows are in the staging folder's ledger, the outputs' entries spill to disk).

The returns here are text files naming a unit, read by a reader of their own (a
:class:`collect.Kind` like collect's and audit's: a real report of that unit, checked by every
rule), so that thousands of files take seconds; everything around the reading — the ledger,
duplicates, names, both summaries, problems.jsonl, the commit of every report — is collect's.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from conftest import example
from xlreport import edition, outputs
from xlreport.checks import report
from xlreport.checks.validate import check
from xlreport.workflows import collect, ledger

SMALL, LARGE = 300, 3000


SPEC = edition.builtin("2021")
VALUES = report.flatten(example("pingtan_2022"), SPEC)


def _read_unit(task: collect.Task) -> collect.Read:
    """The example report as of the unit the file names."""
    if tracemalloc.is_tracing():  # the workers' memory is their own; only the main one is measured
        tracemalloc.stop()
    result = check(SPEC, {**VALUES, "unit.name": task.path.read_text("utf-8")})
    return collect.Read(result, result.document() if result.valid else None)


UNITS = collect.Kind(
    reads=lambda path: path.suffix == ".unit",
    read=_read_unit,
    refuse=collect._not_xlsx,
    what="报告",
    phase="读取报告",
    sheet="收集结果",
    columns=collect.COLUMNS,
)


def _returns(folder: Path, n: int) -> Path:
    """``n`` files: reports of units of their own, every tenth a second copy of the one before,
    every tenth (another one) not a report."""
    folder.mkdir()
    for i in range(n):
        if i % 10 == 4:
            (folder / f"{i:05d}.txt").write_text("不是报表", encoding="utf-8")
        else:
            (folder / f"{i:05d}.unit").write_text(f"第{i - (i % 10 == 9)}镇", encoding="utf-8")
    return folder


def _held(tmp_path: Path, n: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, collect.Collected]:
    """The memory in objects the main process holds when its commit starts — every file read,
    every row flagged and written, every report placed: the moment a per-file object would be
    alive — over what it held before the run.  Objects, not the peak: that also moves with the
    interpreter's own tables (the table of interned strings is rebuilt, megabytes at once,
    as file names pass through pathlib), so blocks of 64 KiB and more are left out."""
    returns = _returns(tmp_path / f"returns-{n}", n)
    held: list[int] = []
    commit = outputs.Outputs.commit

    def measured(self: outputs.Outputs) -> None:
        traces = tracemalloc.take_snapshot().traces
        held.append(sum(t.size for t in traces if t.size < 64 * 1024))
        commit(self)

    monkeypatch.setattr(outputs.Outputs, "commit", measured)
    tracemalloc.start()
    try:
        done = collect.gather([returns], tmp_path / f"out-{n}", UNITS, jobs=2)
    finally:
        tracemalloc.stop()
    (at_commit,) = held
    return at_commit, done


def test_the_main_process_memory_does_not_grow_with_the_number_of_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit keeps up to SPILL_AFTER entries in memory and the ledger hands out CHUNK rows
    at a time (fixed costs); here both runs are past both, so whatever still grew with N would
    be held per file."""
    monkeypatch.setattr(outputs, "SPILL_AFTER", SMALL // 3)
    monkeypatch.setattr(ledger, "CHUNK", SMALL // 3)
    collect.gather([_returns(tmp_path / "warm", 20)], tmp_path / "warm-out", UNITS, jobs=2)
    small, _ = _held(tmp_path, SMALL, monkeypatch)
    large, done = _held(tmp_path, LARGE, monkeypatch)
    assert done.files == LARGE and done.counted[collect.UNREADABLE] == LARGE // 10
    assert done.counted[collect.INVALID] == 2 * (LARGE // 10)  # each copy and the one it copies
    written = sorted(p.name for p in (tmp_path / f"out-{LARGE}").glob("第*镇_2022.json"))
    assert len(written) == done.counted[collect.VALID] + done.counted[collect.WARNINGS]
    assert json.loads((tmp_path / f"out-{LARGE}" / written[0]).read_text("utf-8"))["unit"]
    # 2,700 more files: a row (~1 KB) or an entry of the commit (~300 B) per file would show
    assert large - small < 100 * (LARGE - SMALL), (small, large)


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's table of file locks")
def test_the_ledger_takes_no_file_locks(tmp_path: Path) -> None:
    """A results folder on a network disk may not lock files: the ledger (one connection of one
    process) never asks for a lock, also while it writes."""
    with ledger.Ledger(tmp_path / "ledger.sqlite") as book:
        book.add(collect.Row(i, f"{i}.xlsx", collect.VALID) for i in range(2000))
        inode = (tmp_path / "ledger.sqlite").stat().st_ino
        locks = Path("/proc/locks").read_text()
        assert f":{inode} " not in locks, locks
        assert len(list(book.each())) == 2000
