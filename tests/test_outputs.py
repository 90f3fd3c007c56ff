"""Outputs: written whole or not at all, every output of a command together, never over an input,
and a file that cannot be written is the user's situation (exit 2, a Chinese message naming it).

Unwritable folders are real: a folder without write permission, with the CLI run so that
permissions apply (see ``conftest.without_privileges``); a full disk is ``/dev/full`` (a real
ENOSPC); a path through a regular file, a folder in place of a file.  A read-only file system
cannot be mounted here; its errno (EROFS) takes the same path as the ones tested, and its
Chinese name is checked on a real ``OSError`` below.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import ENV, REPO, example, run_cli, write_json
from xlreport import edition as spec_mod
from xlreport import outputs as outputs_mod
from xlreport.checks import report
from xlreport.errors import UnwritableOutput, UsageError, os_reason
from xlreport.outputs import TEMP_PREFIX, Outputs, write_atomic
from xlreport.workbook import template

SPEC = spec_mod.builtin("2021")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One of every input a writing command reads."""
    folder = tmp_path_factory.mktemp("inputs")
    docs = []
    for i, name in enumerate(("pingtan_2022", "pingtan_2022")):
        doc = copy.deepcopy(example(name))
        doc["unit"]["name"] = f"单位{i + 1}"
        docs.append(doc)
    flat = report.flatten(docs[0], SPEC)
    values = {k: v for k, v in flat.items() if not SPEC.cell(k).computed}
    (folder / "收回").mkdir()
    book = template.build(SPEC, folder / "收回" / "单位1.xlsx", values=values)
    units = folder / "单位名单.csv"
    units.write_text("单位名称\n甲镇\n", encoding="utf-8")
    return {
        "book": book,
        "returns": folder / "收回",
        "r1": write_json(folder / "r1.json", docs[0]),
        "r2": write_json(folder / "r2.json", docs[1]),
        "units": units,
    }


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def refused_cleanly(proc: Any, *named: Path) -> None:
    """Exit 2 with a Chinese message naming each path; no traceback, no temporary file name."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "内部错误" not in proc.stderr and "Traceback" not in proc.stderr
    assert TEMP_PREFIX not in proc.stderr
    for path in named:
        assert str(path) in proc.stderr, proc.stderr


# Every writing command, writing into the folder ``out``; ``elsewhere`` is a writable folder for
# the other outputs of a multi-output command, which must not be written either.
WRITERS: dict[str, Callable[[dict[str, Path], Path, Path], list[Any]]] = {
    "read -o": lambda i, out, _: ["read", i["book"], "-o", out / "r.json"],
    "read --report": lambda i, out, _: ["read", i["book"], "--report", out / "p.json"],
    "validate -o": lambda i, out, _: ["validate", i["r1"], "-o", out / "c.json"],
    "validate --report": lambda i, out, _: ["validate", i["r1"], "--report", out / "p.json"],
    "schema -o": lambda i, out, _: ["schema", "-o", out / "s.json"],
    "spec export -o": lambda i, out, _: ["spec", "export", "-o", out / "s.yaml"],
    "build -o": lambda i, out, _: ["build", "-o", out / "t.xlsx"],
    "build --units": lambda i, out, _: ["build", "--units", i["units"], "--year", "2025",
                                        "--out-dir", out],
    "merge -o": lambda i, out, _: ["merge", i["r1"], i["r2"], "-o", out / "m.json"],
    "merge --xlsx": lambda i, out, e: ["merge", i["r1"], i["r2"], "-o", e / "m.json",
                                       "--xlsx", out / "m.xlsx", "--report", e / "p.json"],
    "fill -o": lambda i, out, e: ["fill", i["r1"], "-o", out / "f.xlsx", "--report", e / "p.json"],
    "migrate -o": lambda i, out, e: ["migrate", i["book"], "--to", "2019", "--year", "2020", "-o", out / "n.xlsx",
                                     "--report", e / "m.json"],
    "migrate --report": lambda i, out, e: ["migrate", i["book"], "--to", "2019", "--year", "2020",
                                           "-o", e / "n.xlsx", "--report", out / "m.json"],
    "collect": lambda i, out, _: ["collect", i["returns"], "--out-dir", out],
}


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` without write permission for the block (for the unprivileged CLI)."""
    folder.mkdir(exist_ok=True)
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(os.name != "posix", reason="folder permissions")
@pytest.mark.parametrize("command", list(WRITERS))
def test_read_only_folder_is_refused_by_every_writing_command(
    command: str, inputs: dict[str, Path], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "可写"
    elsewhere.mkdir()
    with read_only(tmp_path / "只读") as out:
        proc = run_cli(*WRITERS[command](inputs, out, elsewhere), unprivileged=True)
        refused_cleanly(proc, out)
        assert "无法写入" in proc.stderr and "没有权限" in proc.stderr
        assert listing(out) == []
    assert listing(elsewhere) == [], "a multi-output command wrote part of its outputs"


def test_a_full_disk_is_named(inputs: dict[str, Path], tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    proc = run_cli("schema", "-o", "/dev/full")
    refused_cleanly(proc, Path("/dev/full"))
    assert "磁盘空间已满" in proc.stderr
    # The other output of the command is not left behind either.
    book = tmp_path / "汇总.xlsx"
    proc = run_cli("merge", inputs["r1"], inputs["r2"], "-o", "/dev/full", "--xlsx", book)
    refused_cleanly(proc, Path("/dev/full"))
    assert not book.exists() and listing(tmp_path) == []


def test_a_path_through_a_file_and_a_folder_in_place_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "报告.json").write_text("{}", encoding="utf-8")
    proc = run_cli("schema", "-o", tmp_path / "报告.json" / "新.json")
    refused_cleanly(proc, tmp_path / "报告.json")
    assert "是文件，不是文件夹" in proc.stderr
    out = tmp_path / "结果"
    (out / "summary.xlsx").mkdir(parents=True)
    (tmp_path / "收回").mkdir()
    (tmp_path / "收回" / "a.txt").write_text("x", encoding="utf-8")
    proc = run_cli("collect", tmp_path / "收回", "--out-dir", out)
    refused_cleanly(proc, out / "summary.xlsx")
    assert "这是一个文件夹" in proc.stderr
    assert listing(out) == ["summary.xlsx"]


def test_merge_with_one_unwritable_output_writes_none(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    ok = tmp_path / "ok.json"
    ok.write_text("旧的", encoding="utf-8")
    (tmp_path / "ro").write_text("这是文件", encoding="utf-8")
    proc = run_cli("merge", inputs["r1"], inputs["r2"], "-o", ok, "--xlsx", tmp_path / "ro" / "m.xlsx")
    refused_cleanly(proc, tmp_path / "ro")
    assert ok.read_text(encoding="utf-8") == "旧的"
    assert listing(tmp_path) == ["ok.json", "ro"]


# ---------------------------------------------------------------- no output may be an input


def test_outputs_never_replace_inputs(inputs: dict[str, Path], tmp_path: Path) -> None:
    book = tmp_path / "a.xlsx"
    book.write_bytes(inputs["book"].read_bytes())
    r1 = write_json(tmp_path / "a.json", report.load(inputs["r1"]))
    spec = tmp_path / "省级.yaml"
    spec.write_bytes((REPO / "docs" / "examples" / "province.yaml").read_bytes())
    before = {p: p.read_bytes() for p in (book, r1, spec)}
    os.link(r1, tmp_path / "硬链接.json")
    (tmp_path / "sub").mkdir()
    cases = [
        ["read", book, "-o", book],
        ["read", book, "--report", book],
        ["validate", r1, "-o", r1],
        ["validate", r1, "--report", tmp_path / "sub" / ".." / "a.json"],
        ["merge", r1, inputs["r2"], "-o", r1],
        ["merge", r1, inputs["r2"], "-o", tmp_path / "硬链接.json"],
        ["fill", r1, "-o", tmp_path / "f.xlsx", "--report", r1],
        ["spec", "export", "--spec", spec, "-o", spec],
        ["migrate", book, "--to", "2019", "--year", "2020", "-o", book],
    ]
    for args in cases:
        proc = run_cli(*args)
        refused_cleanly(proc)
        assert "就是输入文件" in proc.stderr, (args, proc.stderr)
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "f.xlsx").exists()


def test_json_is_not_written_to_a_spreadsheet_name(inputs: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("read", inputs["book"], "-o", tmp_path / "b.xlsx")
    refused_cleanly(proc, tmp_path / "b.xlsx")
    assert "请用 .json 结尾的文件名" in proc.stderr
    proc = run_cli("fill", inputs["r1"], "-o", tmp_path / "b.json")
    refused_cleanly(proc, tmp_path / "b.json")
    assert "请用 .xlsx 结尾的文件名" in proc.stderr
    assert listing(tmp_path) == []


def test_collect_results_folder_may_not_be_an_input(inputs: dict[str, Path], tmp_path: Path) -> None:
    returns = inputs["returns"]
    before = listing(returns)
    proc = run_cli("collect", returns, "--out-dir", returns)
    refused_cleanly(proc, returns)
    assert "就是要读取的文件夹" in proc.stderr
    proc = run_cli("collect", returns / "单位1.xlsx", "--out-dir", returns)
    refused_cleanly(proc)
    assert "在结果文件夹" in proc.stderr
    proc = run_cli("collect", returns, "--out-dir", tmp_path, "--previous-dir", tmp_path)
    refused_cleanly(proc)
    assert "不能同时是结果文件夹" in proc.stderr
    assert listing(returns) == before and listing(tmp_path) == []


# ---------------------------------------------------------------- the writer itself


def test_write_atomic_leaves_the_old_file_when_the_new_one_cannot_be_written(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("旧", encoding="utf-8")
    with pytest.raises(UsageError, match="就是输入文件"):
        write_atomic(target, "新", inputs=[target])
    with pytest.raises(UsageError, match="两个不同的输出文件"), Outputs() as out:
        out.write(target, "新")
        out.write(tmp_path / "." / "r.json", "又一个")
    assert target.read_text(encoding="utf-8") == "旧" and listing(tmp_path) == ["r.json"]
    write_atomic(target, "新")
    assert target.read_text(encoding="utf-8") == "新" and listing(tmp_path) == ["r.json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~current_umask()


def test_a_failed_commit_puts_every_file_back(tmp_path: Path) -> None:
    """The second new file is gone by the time of the commit: the first target, already
    replaced, and the file to remove are put back."""
    first, second, gone = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    first.write_text("旧 a", encoding="utf-8")
    gone.write_text("旧 c", encoding="utf-8")
    with Outputs() as out:
        out.write(first, "新 a")
        out.remove(gone)
        staged = set(tmp_path.glob(f"{TEMP_PREFIX}*"))
        out.write(second, "新 b")
        (set(tmp_path.glob(f"{TEMP_PREFIX}*")) - staged).pop().unlink()
        with pytest.raises(UnwritableOutput, match="原有的文件都没有改动") as caught:
            out.commit()
    assert str(second) in caught.value.message
    assert first.read_text(encoding="utf-8") == "旧 a" and gone.read_text(encoding="utf-8") == "旧 c"
    assert listing(tmp_path) == ["a.json", "c.json"]


def test_a_folder_made_in_place_of_a_target_before_the_commit(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text("旧 a", encoding="utf-8")
    with Outputs() as out:
        out.write(first, "新 a")
        out.write(second, "新 b")
        second.mkdir()
        with pytest.raises(UnwritableOutput, match="这是一个文件夹"):
            out.commit()
    assert first.read_text(encoding="utf-8") == "旧 a"
    assert listing(tmp_path) == ["a.json", "b.json"] and second.is_dir()


def test_os_errors_are_named_by_their_class() -> None:
    assert os_reason(OSError(errno.EROFS, "Read-only file system")) == "所在的磁盘或文件夹是只读的"
    assert os_reason(OSError(errno.ENOSPC, "No space left on device")) == "磁盘空间已满"
    assert os_reason(OSError(errno.ELOOP, "Too many levels of symbolic links")) == "符号链接循环"
    assert os_reason(PermissionError(errno.EACCES, "Permission denied")) == "没有权限"
    assert "错误号" in os_reason(OSError(errno.ENOEXEC, "Exec format error"))
    for name in ("EROFS", "ENOSPC", "EACCES"):
        with pytest.raises(OSError) as real:
            raise OSError(getattr(errno, name), os.strerror(getattr(errno, name)))
        assert not any("a" <= ch <= "z" for ch in os_reason(real.value))


def test_a_full_scratch_database_is_a_full_disk_named_in_chinese(tmp_path: Path) -> None:
    """SQLite's own errors (here a database that may not grow: SQLITE_FULL, as on a full disk)
    become the OSError they stand for, and so the usual message."""
    import sqlite3

    db = sqlite3.connect(tmp_path / "scratch.sqlite", isolation_level=None)
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.Error) as full:
        db.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    db.close()
    error = outputs_mod.disk_error(full.value)
    assert error.errno == errno.ENOSPC
    message = outputs_mod.unwritable(tmp_path, error).message
    assert message == f"无法写入“{tmp_path}”：磁盘空间已满，请腾出空间后重试"
    assert outputs_mod.disk_error(sqlite3.DatabaseError("x")).errno == errno.EIO


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------- many files: memory stays flat


REMOVED = 6


@pytest.fixture
def spilling(monkeypatch: pytest.MonkeyPatch) -> int:
    """Outputs keep 8 targets in memory; past them, the rest go to the SQLite file."""
    monkeypatch.setattr(outputs_mod, "SPILL_AFTER", 8)
    return 8


def many(tmp_path: Path, n: int = 50) -> tuple[Path, Path, dict[str, bytes]]:
    """A staging folder with ``n`` new files and a results folder whose every third target and
    ``REMOVED`` files to remove exist already; the results folder's files (and bytes)."""
    stage, out = tmp_path / "暂存", tmp_path / "结果"
    stage.mkdir()
    out.mkdir()
    for i in range(n):
        (stage / f"{i}.json").write_text(f"新 {i}", encoding="utf-8")
        if i % 3 == 0:
            (out / f"{i}.json").write_text(f"旧 {i}", encoding="utf-8")
    for j in range(REMOVED):
        (out / f"旧{j}.json").write_text(f"删 {j}", encoding="utf-8")
    return stage, out, contents(out)


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def stage_all(out: Outputs, stage: Path, results: Path, n: int = 50) -> None:
    for i in range(n):
        out.place(results / f"{i}.json", stage / f"{i}.json")
    for j in range(REMOVED):
        out.remove(results / f"旧{j}.json")
    out.write(results / "summary.csv", "汇总")


def spilled(folder: Path) -> list[Path]:
    return list(folder.glob(f"{TEMP_PREFIX}*.sqlite"))


@pytest.mark.parametrize("journal", [False, True])
def test_a_commit_past_the_threshold_lands_every_file(
    spilling: int, journal: bool, tmp_path: Path
) -> None:
    stage, results, _ = many(tmp_path)
    with Outputs(journal=stage / "commit.json" if journal else None) as out:
        stage_all(out, stage, results)
        # Beside the journal when there is one, else beside the first target.
        assert len(spilled(stage if journal else results)) == 1
        out.commit()
        assert spilled(stage) == spilled(results) == []
    expected = {f"{i}.json": f"新 {i}".encode() for i in range(50)}
    assert contents(results) == {**expected, "summary.csv": "汇总".encode()}
    assert listing(stage) == []


def test_a_target_given_twice_is_refused_after_the_spill(spilling: int, tmp_path: Path) -> None:
    stage, results, before = many(tmp_path)
    with Outputs() as out:
        stage_all(out, stage, results)
        assert spilled(results)
        for again in (lambda: out.place(results / "sub" / ".." / "3.json", stage / "3.json"),
                      lambda: out.write(results / "." / "summary.csv", "又一个"),
                      lambda: out.remove(results / "旧0.json")):
            with pytest.raises(UsageError, match="被指定为两个不同的输出文件，请分别给出文件名") as caught:
                again()
            assert caught.value.code == "output_twice"
    # Discarded on the way out: the spill file and the staged summary are gone, nothing moved.
    assert contents(results) == before
    assert len(listing(stage)) == 50


def test_small_commands_do_not_spill(tmp_path: Path) -> None:
    """One or two files: no SQLite imported, no file other than the output."""
    code = ("import sys; from pathlib import Path; from xlreport.outputs import write_atomic; "
            f"write_atomic(Path({str(tmp_path / 'r.json')!r}), '新'); print('sqlite3' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "False" and listing(tmp_path) == ["r.json"]


# 1 journal rename, 23 old files moved aside (renames 2-24), 51 new files moved in (25-75), the
# journal marked done (76).
ASIDE, PLACED, DONE = range(2, 25), range(25, 76), 76


@pytest.mark.parametrize("at", [2, 13, 24, 25, 50, 75])
def test_a_commit_failing_midway_after_the_spill_puts_everything_back(
    spilling: int, at: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage, results, before = many(tmp_path)
    calls, real = [0], os.replace

    def failing(*args: Any) -> None:
        calls[0] += 1
        if calls[0] == at:
            raise PermissionError(errno.EACCES, "Permission denied")
        real(*args)

    with Outputs(journal=stage / "commit.json") as out:
        stage_all(out, stage, results)
        monkeypatch.setattr(outputs_mod.os, "replace", failing)
        with pytest.raises(UnwritableOutput, match="原有的文件都没有改动"):
            out.commit()
    assert contents(results) == before
    assert listing(stage) == sorted(f"{i}.json" for i in range(50))


def test_a_folder_made_late_after_the_spill_moves_nothing(spilling: int, tmp_path: Path) -> None:
    stage, results, before = many(tmp_path)
    with Outputs() as out:
        stage_all(out, stage, results)
        (results / "49.json").mkdir()
        with pytest.raises(UnwritableOutput, match="这是一个文件夹；原有的文件都没有改动"):
            out.commit()
    assert (results / "49.json").is_dir()
    (results / "49.json").rmdir()
    assert contents(results) == before
    assert spilled(results) == [] and len(listing(stage)) == 50


# A process that stages the ``many`` outputs with 8 targets in memory and dies at its n-th rename
# (or at its first deletion of an old file, after the journal says done).
KILLED = """
import os, sys
from pathlib import Path
from xlreport import outputs
stage, results, at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
outputs.SPILL_AFTER = 8
calls, real_replace, real_unlink = [0], os.replace, os.unlink
def replace(*args):
    calls[0] += 1
    if str(calls[0]) == at:
        os._exit(9)
    real_replace(*args)
def unlink(path):
    if at == "unlink" and str(path).endswith(".old"):
        os._exit(9)
    real_unlink(path)
os.replace, os.unlink = replace, unlink
with outputs.Outputs(journal=stage / "commit.json") as out:
    for i in range(50):
        out.place(results / f"{i}.json", stage / f"{i}.json")
    for j in range(6):
        out.remove(results / f"旧{j}.json")
    out.write(results / "summary.csv", "汇总")
    out.commit()
"""


@pytest.mark.parametrize("at", ["2", "13", "24", "25", "50", "75", str(DONE), "unlink"])
def test_recover_undoes_a_commit_killed_after_the_spill(spilling: int, at: str, tmp_path: Path) -> None:
    stage, results, before = many(tmp_path)
    proc = subprocess.run([sys.executable, "-c", KILLED, stage, results, at], env=ENV,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 9, proc.stderr
    assert (stage / "commit.json").exists()
    outputs_mod.recover(stage / "commit.json")
    assert not (stage / "commit.json").exists()
    if at == "unlink":  # the journal said done: the new files stay, the old ones are deleted
        expected = {f"{i}.json": f"新 {i}".encode() for i in range(50)}
        assert contents(results) == {**expected, "summary.csv": "汇总".encode()}
    else:
        assert contents(results) == before
        assert sorted(p.name for p in stage.glob("*.json")) == sorted(f"{i}.json" for i in range(50))


def test_recover_reads_a_journal_of_an_older_version(tmp_path: Path) -> None:
    """One JSON object: every entry with its aside named.  Killed between moving the new file
    in and the second target's move: both are put back.  Done: the old file is deleted."""
    a, b, gone = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    staged_a, staged_b = tmp_path / f"{TEMP_PREFIX}1.tmp", tmp_path / f"{TEMP_PREFIX}2.tmp"
    aside_a, aside_c = tmp_path / f"{TEMP_PREFIX}a.old", tmp_path / f"{TEMP_PREFIX}c.old"
    aside_a.write_text("旧 a", encoding="utf-8")
    a.write_text("新 a", encoding="utf-8")
    staged_b.write_text("新 b", encoding="utf-8")
    aside_c.write_text("旧 c", encoding="utf-8")
    journal = tmp_path / "commit.json"
    entries = [{"target": str(a), "staged": str(staged_a), "aside": str(aside_a)},
               {"target": str(b), "staged": str(staged_b), "aside": None},
               {"target": str(gone), "staged": None, "aside": str(aside_c)}]
    journal.write_text(json.dumps({"state": "commit", "entries": entries}, ensure_ascii=False),
                       encoding="utf-8")
    outputs_mod.recover(journal)
    assert contents(tmp_path) == {"a.json": "旧 a".encode(), "c.json": "旧 c".encode()}
    aside_a.write_text("旧 a", encoding="utf-8")
    journal.write_text(json.dumps({"state": "done", "entries": entries[:1]}), encoding="utf-8")
    outputs_mod.recover(journal)
    assert contents(tmp_path) == {"a.json": "旧 a".encode(), "c.json": "旧 c".encode()}


def test_recover_leaves_a_damaged_journal_alone(spilling: int, tmp_path: Path) -> None:
    """A journal that does not read to its end is not acted on at all (nor deleted)."""
    stage, results, _ = many(tmp_path)
    proc = subprocess.run([sys.executable, "-c", KILLED, stage, results, "50"], env=ENV,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 9, proc.stderr
    journal = stage / "commit.json"
    journal.write_text(journal.read_text(encoding="utf-8")[:-20], encoding="utf-8")
    left = contents(results)
    outputs_mod.recover(journal)
    assert contents(results) == left and journal.exists()


#: One commit of N placed files in a fresh interpreter: its peak of traced memory.
COMMIT_PEAK = """
import os, sqlite3, sys, tracemalloc
from pathlib import Path
from xlreport import outputs
from xlreport.outputs import Outputs

outputs.SPILL_AFTER = 1000
n = int(sys.argv[1])
stage, results = Path(f"s{n}"), Path(f"r{n}")
stage.mkdir()
results.mkdir()
(stage / "new").write_bytes(b"{}")
(stage / "old").write_bytes(b"")
for i in range(n):  # links: making 20,000 files takes seconds on some disks
    os.link(stage / "new", stage / str(i))
    if i % 4 == 0:
        os.link(stage / "old", results / str(i))
tracemalloc.start()
with Outputs(journal=stage / "commit.json") as out:
    for i in range(n):
        out.place(results / str(i), stage / str(i))
    out.commit()
print(tracemalloc.get_traced_memory()[1])
assert sorted(os.listdir(results)) == sorted(map(str, range(n)))
assert sorted(os.listdir(stage)) == ["new", "old"]
"""


def test_memory_does_not_grow_with_the_number_of_files(tmp_path: Path) -> None:
    """20,000 files take no more memory to commit than 2,000 (both past the threshold; each in
    an interpreter of its own, whose tables are as small as a command's)."""

    def peak(n: int) -> int:
        proc = subprocess.run([sys.executable, "-c", COMMIT_PEAK, str(n)], env=ENV, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout)

    small, large = peak(2_000), peak(20_000)
    # The constant allows for a one-off resize of Python's own table of interned names.
    assert large < 2 * small + 1024 * 1024, (small, large)
    assert large < 8 * 1024 * 1024, large


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's table of file locks")
def test_the_spilled_entries_take_no_file_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder of the outputs may be on a network disk that does not lock files."""
    monkeypatch.setattr(outputs_mod, "SPILL_AFTER", 4)
    with Outputs(journal=tmp_path / "commit.json") as out:
        for i in range(10):
            out.write(tmp_path / f"{i}.json", "{}")
        (spill,) = tmp_path.glob(f"{TEMP_PREFIX}*.sqlite")
        assert f":{spill.stat().st_ino} " not in Path("/proc/locks").read_text()
        out.commit()
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))
