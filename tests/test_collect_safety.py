"""``xlreport collect`` into a folder that already holds results: nothing lost, nothing mixed.

A run is interrupted for real (Ctrl-C, a closed terminal, a kill) at several points, a second run
is started while one is going, and the last step is made to fail (a file that cannot be
replaced, as one open in Excel on Windows): each time the previous results must stay complete
and consistent, and the next run must produce a complete new set.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from conftest import ENV, example, run_cli, without_privileges
from support import libreoffice, workbooks
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.outputs import TEMP_PREFIX, hold
from xlreport.workbook import template
from xlreport.workflows import collect

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and process groups")

SPEC = spec_mod.builtin("2021")
UNITS = 120
SAMPLE = "样本单位"


def unit_name(i: int) -> str:
    return f"单位{i:03d}"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One filled workbook; the corpus is made of copies with the unit's name changed."""
    doc = copy.deepcopy(example("pingtan_2022"))
    doc["unit"]["name"] = SAMPLE
    flat = report.flatten(doc, SPEC)
    values = {k: v for k, v in flat.items() if not SPEC.cell(k).computed}
    return template.build(SPEC, tmp_path_factory.mktemp("sample") / "sample.xlsx", values=values)


def copy_as(sample: Path, dst: Path, unit: str) -> Path:
    change = {"xl/sharedStrings.xml": lambda text: text.replace(SAMPLE, unit)}
    return workbooks.patch(sample, dst, change)


@pytest.fixture
def used(sample: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A returns folder, a results folder holding a first run's results (and their bytes), and
    the returns changed since: ten withdrawn, one sent twice, one text file added."""
    returns, out = tmp_path / "收回", tmp_path / "结果"
    returns.mkdir()
    for i in range(UNITS):
        copy_as(sample, returns / f"{unit_name(i)}.xlsx", unit_name(i))
    first = run_cli("collect", returns, "--out-dir", out, "--jobs", "2")
    assert first.returncode == 0, first.stderr
    before = visible(out)
    assert len([n for n in before if n.endswith(".json")]) == UNITS
    for i in range(10):
        (returns / f"{unit_name(i)}.xlsx").unlink()
    shutil.copy(returns / f"{unit_name(10)}.xlsx", returns / "重交.xlsx")
    (returns / "说明.txt").write_text("请查收", encoding="utf-8")
    return returns, out, before


def visible(out: Path) -> dict[str, bytes]:
    """The results as the office sees them (xlreport's hidden working files left out)."""
    return {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(TEMP_PREFIX))


def consistent(out: Path) -> list[dict[str, str]]:
    """Check that the results agree with each other; return the summary rows."""
    with (out / collect.SUMMARY_CSV).open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    listed = {r["上报文件"] for r in rows if r["上报文件"]}
    assert {p.name for p in out.glob("*.json")} == listed
    for row in rows:
        if row["上报文件"]:
            assert report.load(out / row["上报文件"])["unit"]["name"] == row["单位"]
    sheet = openpyxl.load_workbook(out / collect.SUMMARY_XLSX).active
    cells = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    assert cells[1:] == [list(r.values()) for r in rows]
    problems = (out / collect.PROBLEMS).read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["file"] for line in problems} <= {r["文件"] for r in rows}
    return rows


def second_run_is_complete(returns: Path, out: Path) -> None:
    proc = run_cli("collect", returns, "--out-dir", out, "--jobs", "2")
    assert proc.returncode == 1, proc.stderr
    rows = consistent(out)
    assert len(rows) == UNITS - 10 + 2
    assert not (out / f"{unit_name(0)}_2022.json").exists()
    assert not (out / f"{unit_name(10)}_2022.json").exists()
    assert (out / f"{unit_name(11)}_2022.json").exists()
    assert leftovers(out) == []


def start(returns: Path, out: Path) -> subprocess.Popen[str]:
    """collect in its own process group, as a terminal runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "xlreport", "collect", str(returns), "--out-dir", str(out),
         "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
        start_new_session=True,
    )


def staging(out: Path) -> list[Path]:
    return [p for p in out.glob(f"{collect.STAGING}-*") if p.is_dir()]


def wait_until(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120
    while not ready():
        assert proc.poll() is None, f"collect ended before the point: {proc.communicate()}"
        assert time.monotonic() < deadline, "the point was never reached"
        time.sleep(0.002)


def staged(out: Path, name: str) -> bool:
    return any(len(list(s.glob(name))) for s in staging(out))


def half_read(out: Path) -> bool:
    return any(len(list(s.glob("*.json"))) >= UNITS // 2 for s in staging(out))


POINTS: dict[str, Callable[[Path], bool]] = {
    "start": lambda out: bool(staging(out)),
    "half": half_read,
    "before commit": lambda out: staged(out, collect.PROBLEMS),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_ctrl_c_leaves_the_previous_results(point: str, used: tuple[Path, Path, dict]) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it).  Arriving during the commit
    it waits for the commit to end: then the new results are complete instead."""
    returns, out, before = used
    proc = start(returns, out)
    wait_until(proc, lambda: POINTS[point](out))
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "已中断" in err and "内部错误" not in err, err
    if visible(out) != before:
        assert point == "before commit"
        consistent(out)
    assert leftovers(out) == []
    second_run_is_complete(returns, out)


@pytest.mark.parametrize("point", list(POINTS))
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGHUP"])
def test_a_killed_run_leaves_the_previous_results(
    point: str, sig: str, used: tuple[Path, Path, dict]
) -> None:
    """Killed (or its terminal closed) with no chance to clean up: the previous results are as
    they were, once the next run has undone what a commit in progress left (if one was)."""
    returns, out, before = used
    proc = start(returns, out)
    wait_until(proc, lambda: POINTS[point](out))
    os.killpg(proc.pid, getattr(signal, sig))
    proc.communicate(timeout=120)
    in_commit = any((s / collect.JOURNAL).exists() for s in staging(out))
    collect._recover(out)
    if visible(out) != before:  # only if it had finished its commit before the signal came
        assert point == "before commit" and not in_commit
        consistent(out)
    assert set(leftovers(out)) <= {f"{TEMP_PREFIX}lock"}
    second_run_is_complete(returns, out)


# A process that dies at a chosen step of its commit: at the n-th rename (the journal is written
# with a rename first; then every old file is moved aside, every new one moved in, and the
# journal marked done), or at the first deletion of an old file (after the journal says done).
KILL_IN_COMMIT = """
import os, sys
from pathlib import Path
from xlreport import outputs
from xlreport.workflows import collect

step, at = sys.argv[3].split(":")
calls, real = [0], getattr(os, step)
def dying(*args):
    if step == "replace" or str(args[0]).endswith(".old"):
        calls[0] += 1
    if calls[0] == int(at):
        os._exit(9)
    real(*args)
setattr(outputs.os, step, dying)
collect.collect([Path(sys.argv[1])], Path(sys.argv[2]), jobs=2)
"""


@pytest.mark.parametrize("at", ["replace:2", "replace:60", "replace:130", "replace:200",
                                "replace:237", "unlink:1"])
def test_a_run_killed_inside_its_commit_is_undone(at: str, used: tuple[Path, Path, dict]) -> None:
    """123 targets: 109 reports, 11 old reports to delete, problems.jsonl and both summaries;
    renames 2-124 move the old files aside, 125-236 move the new ones in, 237 marks the journal
    done.  Killed before that, the next run puts the previous results back; after it, the new
    results are complete."""
    returns, out, before = used
    proc = subprocess.run([sys.executable, "-c", KILL_IN_COMMIT, returns, out, at],
                          env=ENV, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 9, proc.stderr
    if at != "replace:2":
        assert visible(out) != before
    collect._recover(out)
    assert set(leftovers(out)) <= {f"{TEMP_PREFIX}lock"}
    if at.startswith("replace"):
        assert visible(out) == before
    else:
        assert len(consistent(out)) == UNITS - 10 + 2
    second_run_is_complete(returns, out)


def test_a_second_run_into_the_same_folder_is_refused_at_once(
    used: tuple[Path, Path, dict]
) -> None:
    returns, out, before = used
    with hold(out):
        proc = run_cli("collect", returns, "--out-dir", out)
    assert proc.returncode == 2
    assert f"结果文件夹“{out}”正在被另一个 xlreport collect 使用" in proc.stderr
    assert visible(out) == before
    first = start(returns, out)
    wait_until(first, lambda: bool(staging(out)))
    os.killpg(first.pid, signal.SIGSTOP)  # the first run holds the folder while the second asks
    try:
        second = run_cli("collect", returns, "--out-dir", out)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert second.returncode == 2 and "正在被另一个 xlreport collect 使用" in second.stderr
    _, err = first.communicate(timeout=120)
    assert first.returncode == 1, err
    consistent(out)
    assert leftovers(out) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root to give the file to another owner")
def test_a_summary_that_cannot_be_replaced_keeps_every_previous_result(
    used: tuple[Path, Path, dict]
) -> None:
    """summary.xlsx is the last file replaced; here it cannot be (it belongs to someone else in
    a folder with the sticky bit, as a file open in Excel cannot be replaced on Windows).  By
    then every other file has been moved aside: all are put back."""
    returns, out, before = used
    without_privileges()
    nobody = 65534
    os.chown(out / collect.SUMMARY_XLSX, nobody, nobody)
    os.chown(out, nobody, nobody)
    out.chmod(0o1777)
    try:
        proc = run_cli("collect", returns, "--out-dir", out, unprivileged=True)
    finally:
        out.chmod(0o755)
        os.chown(out, 0, 0)
    assert proc.returncode == 2, proc.stderr
    assert f"无法写入“{out / collect.SUMMARY_XLSX}”：没有权限" in proc.stderr
    assert "Excel 或 WPS 打开" in proc.stderr and "原有的文件都没有改动" in proc.stderr
    assert "内部错误" not in proc.stderr and TEMP_PREFIX not in proc.stderr
    assert visible(out) == before
    assert leftovers(out) == []


@pytest.mark.skipif(os.name != "posix", reason="folder permissions")
def test_a_read_only_results_folder_keeps_its_results(used: tuple[Path, Path, dict]) -> None:
    returns, out, before = used
    out.chmod(0o555)
    try:
        proc = run_cli("collect", returns, "--out-dir", out, unprivileged=True)
    finally:
        out.chmod(0o755)
    assert proc.returncode == 2
    assert f"无法写入“{out}”：没有权限" in proc.stderr and "内部错误" not in proc.stderr
    assert visible(out) == before and leftovers(out) == []


# ---------------------------------------------------------------- formula injection


HOSTILE = '=HYPERLINK("http://example.com/x","点这里")'


def test_summary_csv_cells_cannot_become_formulas(sample: Path, tmp_path: Path) -> None:
    returns, out = tmp_path / "收回", tmp_path / "结果"
    returns.mkdir()
    copy_as(sample, returns / "=1+1.xlsx", HOSTILE)
    copy_as(sample, returns / "@SUM(1).xlsx", "+乙镇")
    (returns / "-2.txt").write_text("x", encoding="utf-8")
    assert run_cli("collect", returns, "--out-dir", out).returncode == 1
    raw = (out / collect.SUMMARY_CSV).read_text(encoding="utf-8-sig")
    cells = [c for row in csv.reader(raw.splitlines()) for c in row]
    assert f"'{HOSTILE}" in cells and "'=1+1.xlsx" in cells and "'+乙镇" in cells
    assert "'-2.txt" in cells and "'@SUM(1).xlsx" in cells
    assert not any(c.startswith(collect.FORMULA_START) for c in cells)
    # The summary.xlsx and the next run's clean-up see the names as they are.
    sheet = openpyxl.load_workbook(out / collect.SUMMARY_XLSX).active
    assert HOSTILE in [c.value for row in sheet.iter_rows() for c in row]
    json_name = next(p.name for p in out.glob("*.json"))
    assert json_name.startswith("+乙镇")
    (returns / "@SUM(1).xlsx").unlink()
    run_cli("collect", returns, "--out-dir", out)
    assert not (out / json_name).exists()


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice is not installed")
def test_summary_csv_opened_in_libreoffice_has_no_formula(sample: Path, tmp_path: Path) -> None:
    returns, out = tmp_path / "收回", tmp_path / "结果"
    returns.mkdir()
    copy_as(sample, returns / "=1+1.xlsx", HOSTILE)
    run_cli("collect", returns, "--out-dir", out)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "summary.csv").write_text(f"a,b\n{HOSTILE.replace(',', ';')},x\n", encoding="utf-8")
    for csv_file, formulas in ((raw / "summary.csv", 1), (out / collect.SUMMARY_CSV, 0)):
        converted = libreoffice.convert(csv_file, tmp_path / f"lo{formulas}", "xlsx")
        book = openpyxl.load_workbook(converted)
        found = [c.value for row in book.active.iter_rows() for c in row if c.data_type == "f"]
        assert len(found) == formulas, found


def test_summary_xlsx_prints_landscape_one_page_wide(used: tuple[Path, Path, dict]) -> None:
    _, out, _ = used
    sheet = openpyxl.load_workbook(out / collect.SUMMARY_XLSX).active
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (None, 1)  # 1 is the default, left out
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$1:$1"
