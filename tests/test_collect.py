"""``xlreport collect``: one run over a folder of good, bad and hostile files, nothing aborted."""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from conftest import credit_code, example, run_cli
from support import libreoffice, workbooks
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.errors import UsageError
from xlreport.workbook import template
from xlreport.workflows import collect
from xlreport.workflows.ledger import Ledger

SPEC = spec.builtin("2021")
HEADER = [head for head, _, _ in collect.COLUMNS]


def inputs_of(doc: dict[str, Any]) -> dict[str, Any]:
    flat = report.flatten(doc, SPEC)
    return {k: v for k, v in flat.items() if not SPEC.cell(k).computed}


def filled(path: Path, name: str, *, unit: str | None = None, year: int | None = None,
           change: dict[str, Any] | None = None) -> Path:
    """A workbook of the 2021 template holding example ``name`` (unit, year, cells changed)."""
    doc = copy.deepcopy(example(name))
    if unit is not None:
        doc["unit"]["name"] = unit
    if year is not None:
        doc["unit"]["year"] = year
    values = inputs_of(doc) | (change or {})
    return template.build(SPEC, path, values=values)


def summary(out: Path) -> list[dict[str, str]]:
    with (out / collect.SUMMARY_CSV).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def problems(out: Path) -> list[dict[str, Any]]:
    lines = (out / collect.PROBLEMS).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def zip_bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            zf.writestr(name, "<x/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (300 * 1024 * 1024) + b"</a>")
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of returns as an office gets them."""
    folder = tmp_path_factory.mktemp("returns")
    (folder / "乡镇").mkdir()
    filled(folder / "valid.xlsx", "pingtan_2022", unit="甲镇")
    filled(folder / "乡镇" / "blank.xlsx", "pingtan_2022", unit="乙镇",
           change={"appeals.review.upheld": None})
    filled(folder / "invalid.xlsx", "pingtan_2022", unit="丙镇",
           change={"requests.new.natural_person": 1000})
    filled(folder / "dup_a.xlsx", "suqian_city_2023", unit="丁镇", year=2022)
    filled(folder / "dup_b.xlsx", "suqian_city_2023", unit=" 丁镇", year=2022)
    source = filled(folder / "tmp.xlsx", "pingtan_2022", unit="戊镇")

    def relabel(book: Any) -> None:
        sheet = book["三、依申请公开"]
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("二、上年结转"):
                    cell.value = "二、上年结转的申请"
                    return
        raise AssertionError("label not found")

    workbooks.edit(source, folder / "tampered.xlsx", relabel)
    source.unlink()
    book = xlsxwriter.Workbook(folder / "foreign.xlsx")
    book.add_worksheet().write(0, 0, "别的表格")
    book.close()
    zip_bomb(folder / "bomb.xlsx")
    (folder / "说明.txt").write_text("请查收", encoding="utf-8")
    (folder / "old.xlsx").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(1024))
    return folder


@pytest.fixture(scope="module")
def collected(mixed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    out = tmp_path_factory.mktemp("out")
    proc = run_cli("collect", mixed, "--out-dir", out, "--jobs", "2")
    return proc, out


def test_every_file_gets_its_status_and_nothing_is_aborted(collected: tuple[Any, Path]) -> None:
    proc, out = collected
    assert proc.returncode == 1, proc.stderr
    rows = {r["文件"]: r for r in summary(out)}
    status = {name: r["状态"] for name, r in rows.items()}
    assert status == {
        "valid.xlsx": "通过",
        "乡镇/blank.xlsx": "有警告",
        "invalid.xlsx": "不通过",
        "dup_a.xlsx": "不通过",
        "dup_b.xlsx": "不通过",
        "tampered.xlsx": "无法读取",
        "foreign.xlsx": "无法读取",
        "bomb.xlsx": "无法读取",
        "说明.txt": "无法读取",
        "old.xlsx": "无法读取",
    }
    assert "共 10 个文件：无法读取 5，不通过 3，有警告 1，通过 1" in proc.stderr
    assert "结构被改动过" in rows["tampered.xlsx"]["第一个错误"]
    assert "不是用 xlreport 填报模板" in rows["foreign.xlsx"]["第一个错误"]
    assert "超出安全上限" in rows["bomb.xlsx"]["第一个错误"]
    assert rows["说明.txt"]["第一个错误"].startswith("不是 .xlsx 文件")
    assert "旧版" in rows["old.xlsx"]["第一个错误"]
    assert "表三" in rows["invalid.xlsx"]["第一个错误"]
    assert rows["乡镇/blank.xlsx"]["第一个警告"] and not rows["乡镇/blank.xlsx"]["第一个错误"]
    assert rows["valid.xlsx"]["单位"] == "甲镇" and rows["valid.xlsx"]["年度"] == "2022"
    assert rows["valid.xlsx"]["版本"] == "2021" and rows["valid.xlsx"]["错误数"] == "0"


def test_summary_is_sorted_worst_first_then_by_file(collected: tuple[Any, Path]) -> None:
    _, out = collected
    rows = summary(out)
    ranks = [(collect.STATUSES.index(r["状态"]), r["文件"]) for r in rows]
    assert ranks == sorted(ranks)
    with (out / collect.SUMMARY_CSV).open("rb") as fh:
        assert fh.read(3) == b"\xef\xbb\xbf"


def test_two_files_of_one_unit_and_year_are_flagged(collected: tuple[Any, Path]) -> None:
    _, out = collected
    rows = {r["文件"]: r for r in summary(out)}
    assert rows["dup_a.xlsx"]["同一单位同一年度的其他文件"] == "dup_b.xlsx"
    assert rows["dup_b.xlsx"]["同一单位同一年度的其他文件"] == "dup_a.xlsx"
    assert "还有 1 份报表" in rows["dup_a.xlsx"]["第一个错误"]
    assert not rows["dup_a.xlsx"]["上报文件"] and not rows["dup_b.xlsx"]["上报文件"]
    dup = [p for p in problems(out) if p["code"] == "duplicate"]
    assert {p["file"] for p in dup} == {"dup_a.xlsx", "dup_b.xlsx"}


def test_one_json_per_valid_report_named_by_unit_and_year(collected: tuple[Any, Path]) -> None:
    _, out = collected
    written = sorted(p.name for p in out.glob("*.json"))
    assert written == ["乙镇_2022.json", "甲镇_2022.json"]
    rows = {r["文件"]: r for r in summary(out)}
    assert rows["valid.xlsx"]["上报文件"] == "甲镇_2022.json"
    doc = report.load(out / "甲镇_2022.json")
    assert doc["unit"]["name"] == "甲镇" and doc["source"]["file"] == "valid.xlsx"
    expected = copy.deepcopy(example("pingtan_2022"))
    assert doc["requests"] == expected["requests"]
    assert not (out / collect.STAGING).exists()


def test_problems_jsonl_has_every_problem_of_every_file(collected: tuple[Any, Path]) -> None:
    _, out = collected
    found = problems(out)
    rows = summary(out)
    for row in rows:
        mine = [p for p in found if p["file"] == row["文件"]]
        assert sum(p["severity"] == "error" for p in mine) == int(row["错误数"]), row["文件"]
        assert sum(p["severity"] == "warning" for p in mine) == int(row["警告数"]), row["文件"]
    bomb = next(p for p in found if p["file"] == "bomb.xlsx")
    assert bomb["code"] == "unreadable" and bomb["reason"] == "zip_bomb"
    rule = next(p for p in found if p["file"] == "invalid.xlsx" and p["code"] == "rule")
    assert rule["rule"] == "balance" and rule["keys"]


def test_summary_xlsx_matches_the_csv_and_has_filter_and_frozen_header(
    collected: tuple[Any, Path],
) -> None:
    import openpyxl

    _, out = collected
    book = openpyxl.load_workbook(out / collect.SUMMARY_XLSX)
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:L{len(summary(out)) + 1}"
    rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADER
    assert rows[1:] == [list(r.values()) for r in summary(out)]


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice is not installed")
def test_summary_xlsx_opens_in_libreoffice(collected: tuple[Any, Path], tmp_path: Path) -> None:
    _, out = collected
    converted = libreoffice.convert(
        out / collect.SUMMARY_XLSX, tmp_path, "csv:Text - txt - csv (StarCalc):44,34,76"
    )
    with converted.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == [r["文件"] for r in summary(out)]
    assert [r[4] for r in rows[1:]] == [r["状态"] for r in summary(out)]


def test_all_valid_folder_exits_0_and_rerun_replaces_old_reports(tmp_path: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    filled(folder / "a.xlsx", "pingtan_2022", unit="甲镇")
    filled(folder / "b.xlsx", "pingtan_2022", unit="乙镇/东区")
    proc = run_cli("collect", folder, "--out-dir", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.glob("*.json")) == ["乙镇_东区_2022.json", "甲镇_2022.json"]
    (out / "mine.json").write_text("{}", encoding="utf-8")
    filled(folder / "b.xlsx", "pingtan_2022", unit="乙镇/东区",
           change={"requests.new.natural_person": 1000})
    proc = run_cli("collect", folder, "--out-dir", out)
    assert proc.returncode == 1
    assert sorted(p.name for p in out.glob("*.json")) == ["mine.json", "甲镇_2022.json"]


def test_output_folder_inside_the_input_is_not_read(tmp_path: Path) -> None:
    filled(tmp_path / "a.xlsx", "pingtan_2022", unit="甲镇")
    out = tmp_path / "结果"
    assert run_cli("collect", tmp_path, "--out-dir", out).returncode == 0
    proc = run_cli("collect", tmp_path, "--out-dir", out)
    assert proc.returncode == 0, proc.stderr
    assert [r["文件"] for r in summary(out)] == ["a.xlsx"]


def test_previous_dir_pairs_each_report_with_last_years_by_unit(tmp_path: Path) -> None:
    folder, prev, out = tmp_path / "in", tmp_path / "prev", tmp_path / "out"
    folder.mkdir()
    prev.mkdir()
    filled(folder / "good.xlsx", "pingtan_2022", unit="甲镇")
    filled(folder / "bad.xlsx", "pingtan_2022", unit="乙镇")
    filled(folder / "new.xlsx", "pingtan_2022", unit="丙镇")
    last = copy.deepcopy(example("pingtan_2021"))
    last["unit"]["name"] = "甲镇"
    (prev / "甲镇.json").write_text(report.dumps(last), encoding="utf-8")
    filled(prev / "乙镇.xlsx", "pingtan_2021", unit="乙镇",
           change={"requests.carried_forward.natural_person": 99,
                   "requests.new.natural_person": 64 + 99})
    (prev / "坏.json").write_text("{", encoding="utf-8")
    proc = run_cli("collect", folder, "--out-dir", out, "--previous-dir", prev)
    assert proc.returncode == 1, proc.stderr
    rows = {r["文件"]: r for r in summary(out)}
    assert rows["good.xlsx"]["状态"] == "通过" and rows["good.xlsx"]["上年报告"] == "甲镇.json"
    assert rows["bad.xlsx"]["状态"] == "不通过" and rows["bad.xlsx"]["上年报告"] == "乙镇.xlsx"
    assert any(p["rule"] == "carry_over" for p in problems(out) if p["file"] == "bad.xlsx")
    assert rows["new.xlsx"]["状态"] == "通过" and rows["new.xlsx"]["上年报告"] == ""
    assert "上年报告未使用：坏.json" in proc.stderr
    assert "上年报告：找到 2 个单位" in proc.stderr


def test_previous_dir_pairs_by_credit_code_when_both_reports_have_one(tmp_path: Path) -> None:
    """A unit renamed since last year is paired by its code; a namesake with another code is not
    paired; a report without a code is paired by name; one code in two of last year's files is
    one unit found twice (neither is used)."""
    folder, prev, out = tmp_path / "in", tmp_path / "prev", tmp_path / "out"
    folder.mkdir()
    prev.mkdir()
    a, b, c, d, e = (credit_code(f"11350128MB012345{i}") for i in range(5))
    filled(folder / "renamed.xlsx", "pingtan_2022", unit="甲街道", change={"unit.code": a})
    filled(folder / "namesake.xlsx", "pingtan_2022", unit="乙镇", change={"unit.code": b})
    filled(folder / "no_code.xlsx", "pingtan_2022", unit="丙镇")
    filled(folder / "twice.xlsx", "pingtan_2022", unit="丁镇", change={"unit.code": e})
    for file, unit, code in (("甲镇.json", "甲镇", a), ("乙镇.json", "乙镇", c), ("丙镇.json", "丙镇", d),
                             ("丁镇.json", "丁镇", e), ("丁街道.json", "丁街道", e)):
        last = copy.deepcopy(example("pingtan_2021"))
        last["unit"] |= {"name": unit, "code": code}
        (prev / file).write_text(report.dumps(last), encoding="utf-8")
    proc = run_cli("collect", folder, "--out-dir", out, "--previous-dir", prev)
    assert proc.returncode == 0, proc.stderr
    paired = {r["文件"]: r["上年报告"] for r in summary(out)}
    assert paired == {"renamed.xlsx": "甲镇.json", "namesake.xlsx": "", "no_code.xlsx": "丙镇.json",
                      "twice.xlsx": ""}
    for file in ("丁镇.json", "丁街道.json"):
        assert f"{file}：同一单位 2021 年度有 2 份（丁街道.json、丁镇.json），未使用" in proc.stderr
    assert "上年报告：找到 3 个单位" in proc.stderr


@pytest.mark.skipif(os.name != "posix", reason="relies on forked workers")
def test_previous_dir_reads_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each return is read once and paired by the unit that read found: the forked workers run
    the patched reader, which notes every call in a file."""
    folder, prev, out, calls = tmp_path / "in", tmp_path / "prev", tmp_path / "out", tmp_path / "calls"
    folder.mkdir()
    prev.mkdir()
    filled(folder / "good.xlsx", "pingtan_2022", unit="甲镇")
    filled(folder / "bad.xlsx", "pingtan_2022", unit="乙镇")
    filled(folder / "new.xlsx", "pingtan_2022", unit="丙镇")
    for unit, carried in (("甲镇", None), ("乙镇", 99)):
        change = {} if carried is None else {"requests.carried_forward.natural_person": carried,
                                             "requests.new.natural_person": 64 + carried}
        filled(prev / f"{unit}.xlsx", "pingtan_2021", unit=unit, change=change)
    real = collect.read_workbook

    def counted(path: Path, **kwargs: Any) -> Any:
        with calls.open("a", encoding="utf-8") as fh:
            fh.write(f"{Path(path).name}\n")
        return real(path, **kwargs)

    monkeypatch.setattr(collect, "read_workbook", counted)
    done = collect.collect([folder], out, previous_dir=prev, jobs=2)
    read = calls.read_text(encoding="utf-8").split()
    assert sorted(read) == ["bad.xlsx", "good.xlsx", "new.xlsx"], "each return read once"
    rows = {r.file: r for r in done.rows}
    assert rows["good.xlsx"].previous == "甲镇.xlsx" and rows["good.xlsx"].status == collect.VALID
    assert rows["bad.xlsx"].previous == "乙镇.xlsx" and rows["bad.xlsx"].status == collect.INVALID
    assert rows["new.xlsx"].previous == ""
    last = {k: v for k, v in collect.load(prev / "乙镇.xlsx").result.values.items() if v is not None}
    twice = real(folder / "bad.xlsx", prev=last).result.problems
    assert [p for p in problems(out) if p["file"] == "bad.xlsx"] == [
        {"file": "bad.xlsx", **p.to_json()} for p in twice
    ], "one read with the pair chosen from its values finds what a read given the pair finds"


def test_no_files_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("collect", tmp_path, "--out-dir", tmp_path / "out")
    assert proc.returncode == 2 and "没有找到要读取的文件" in proc.stderr


# A worker that dies or hangs on one file costs that file only.  Workers are forked, so the
# patched reader below is what they run.


def _misbehaving(path: Path, **kwargs: Any) -> Any:
    if path.name.startswith("crash"):
        os._exit(3)
    if path.name.startswith("hang"):
        time.sleep(30)
    raise collect.UnreadableInput(f"读不了 {path.name}", code="test")


@pytest.mark.skipif(os.name != "posix", reason="relies on forked workers")
def test_a_crashing_or_hanging_file_becomes_its_own_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in ("a", "crash", "b", "hang", "c", "d"):
        (folder / f"{name}.xlsx").write_bytes(b"PK")
    monkeypatch.setattr(collect, "read_workbook", _misbehaving)
    monkeypatch.setattr(collect, "TIMEOUT", 1)
    done = collect.collect([folder], out, jobs=2)
    rows = {r.file: r for r in done.rows}
    assert len(rows) == 6 and all(r.status == collect.UNREADABLE for r in rows.values())
    assert "异常退出" in rows["crash.xlsx"].first_error
    assert "读取超时" in rows["hang.xlsx"].first_error
    assert rows["a.xlsx"].first_error == "读不了 a.xlsx"
    assert {p["file"] for p in problems(out)} == set(rows)


def test_several_folders_are_shown_with_their_names(tmp_path: Path) -> None:
    for folder in ("乡镇", "部门"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "报表.txt").write_text("x", encoding="utf-8")
    done = collect.collect([tmp_path / "乡镇", tmp_path / "部门"], tmp_path / "out", jobs=1)
    assert [r.file for r in done.rows] == ["乡镇/报表.txt", "部门/报表.txt"]
    assert not done.ok


def test_a_file_reached_twice_is_read_once_and_links_to_folders_are_not_entered(
    tmp_path: Path
) -> None:
    """A return named on its own and inside a folder named, a link to it, a hard link: one file,
    one row (as first found); a link to a folder outside is not followed; a broken link is a
    file that cannot be read; files come before subfolders, both by name."""
    inbox = tmp_path / "收回"
    (inbox / "乡镇").mkdir(parents=True)
    good = filled(inbox / "乡镇" / "甲.xlsx", "pingtan_2022", unit="甲单位")
    (inbox / "链接.xlsx").symlink_to(good)
    os.link(good, inbox / "硬链接.xlsx")
    (inbox / "坏链接.xlsx").symlink_to(inbox / "没有.xlsx")
    (tmp_path / "别处").mkdir()
    filled(tmp_path / "别处" / "乙.xlsx", "pingtan_2022", unit="乙单位")
    (inbox / "别处").symlink_to(tmp_path / "别处")
    done = collect.collect([inbox, good], tmp_path / "out", jobs=1)
    assert [(r.file, r.status) for r in sorted(done.rows, key=lambda r: r.file)] == [
        ("收回/坏链接.xlsx", collect.UNREADABLE), ("收回/硬链接.xlsx", collect.VALID)]
    assert done.files == 2


def test_a_missing_input_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "收回").mkdir()
    filled(tmp_path / "收回" / "甲.xlsx", "pingtan_2022", unit="甲单位")
    with pytest.raises(UsageError, match=r"找不到“.*没有这个文件夹”"):
        collect.collect([tmp_path / "收回", tmp_path / "没有这个文件夹"], tmp_path / "out", jobs=1)
    assert not (tmp_path / "out").exists()


def test_junk_beside_the_returns_is_skipped_and_named_in_one_line(tmp_path: Path) -> None:
    """Lock files, AppleDouble copies, Office owner files, Thumbs.db, desktop.ini and hidden
    folders are not returns: skipped, counted in one line, and the counts before and after agree."""
    inbox = tmp_path / "收回"
    inbox.mkdir()
    good = filled(inbox / "甲.xlsx", "pingtan_2022", unit="甲单位")
    for junk in (".~lock.甲.xlsx#", "._甲.xlsx", "~$甲.xlsx", "Thumbs.db", "desktop.ini",
                 ".DS_Store"):
        (inbox / junk).write_bytes(b"\x00junk")
    (inbox / ".git").mkdir()
    shutil.copy(good, inbox / ".git" / "乙.xlsx")
    (inbox / "说明.pdf").write_bytes(b"%PDF-1.4")
    proc = run_cli("collect", inbox, "--out-dir", tmp_path / "结果")
    assert proc.returncode == 1, proc.stderr  # 说明.pdf is a file that is not a return
    rows = summary(tmp_path / "结果")
    assert sorted(r["文件"] for r in rows) == ["甲.xlsx", "说明.pdf"]
    assert "已跳过 6 个不是报表的文件" in proc.stderr, proc.stderr
    assert "读取报表：共 2 个文件" in proc.stderr and "共 2 个文件：" in proc.stderr, proc.stderr


def test_more_jobs_than_cores_run_as_many_as_there_are_cores(tmp_path: Path) -> None:
    inbox = tmp_path / "收回"
    inbox.mkdir()
    filled(inbox / "甲.xlsx", "pingtan_2022", unit="甲单位")
    cores = os.cpu_count() or 1
    proc = run_cli("collect", inbox, "--out-dir", tmp_path / "结果", "--jobs", str(cores + 62))
    assert proc.returncode == 0, proc.stderr
    assert f"--jobs {cores + 62} 按 {cores} 个进程运行" in proc.stderr, proc.stderr
    done = collect.collect([inbox], tmp_path / "结果2", jobs=cores + 62)
    assert (done.jobs, done.jobs_asked) == (cores, cores + 62)


# --------------------------------------------------------------------------- the season


def summary_lines(proc: Any) -> list[str]:
    """collect's console summary: what it says after the progress lines."""
    return [line for line in proc.stderr.splitlines() if not line.startswith("读取报表：")]


def test_year_marks_a_return_of_another_year_invalid(tmp_path: Path) -> None:
    inbox, out = tmp_path / "交回", tmp_path / "结果"
    inbox.mkdir()
    filled(inbox / "甲.xlsx", "pingtan_2022", unit="甲镇")
    filled(inbox / "乙.xlsx", "pingtan_2022", unit="乙镇", year=2021)
    proc = run_cli("collect", inbox, "--out-dir", out, "--year", "2022")
    assert proc.returncode == 1, proc.stderr
    rows = {r["文件"]: r for r in summary(out)}
    assert rows["甲.xlsx"]["状态"] == "通过"
    assert rows["乙.xlsx"]["状态"] == "不通过" and not rows["乙.xlsx"]["上报文件"]
    assert rows["乙.xlsx"]["第一个错误"].startswith(
        "这份报表是 2021 年度的，而本次收集的是 2022 年度（--year 指定）")
    wrong = [p for p in problems(out) if p["code"] == "wrong_year"]
    assert [(p["file"], p["severity"]) for p in wrong] == [("乙.xlsx", "error")]
    assert summary_lines(proc)[0] == (
        "报告年度 2022；1 份报表不是这一年度（2021 年度 1 份），已标为不通过。")
    assert sorted(p.name for p in out.glob("*.json")) == ["甲镇_2022.json"]


def test_without_year_the_year_most_returns_carry_is_the_seasons(tmp_path: Path) -> None:
    inbox, out = tmp_path / "交回", tmp_path / "结果"
    inbox.mkdir()
    for unit in ("甲镇", "乙镇"):
        filled(inbox / f"{unit}.xlsx", "pingtan_2022", unit=unit)
    filled(inbox / "丙镇.xlsx", "pingtan_2022", unit="丙镇", year=2021)
    proc = run_cli("collect", inbox, "--out-dir", out)
    assert proc.returncode == 1, proc.stderr
    first = summary_lines(proc)[0]
    assert first.startswith("报告年度 2022（交回的报表中 2022 年度的最多，2 份；要指定年度请用 --year）"), first
    assert "1 份报表不是这一年度（2021 年度 1 份）" in first
    assert {r["文件"]: r["状态"] for r in summary(out)} == {
        "甲镇.xlsx": "通过", "乙镇.xlsx": "通过", "丙镇.xlsx": "不通过"}
    one_year = tmp_path / "同一年度"
    one_year.mkdir()
    filled(one_year / "甲镇.xlsx", "pingtan_2022", unit="甲镇")
    proc = run_cli("collect", one_year, "--out-dir", tmp_path / "结果2")
    assert proc.returncode == 0, proc.stderr
    assert summary_lines(proc)[0] == "报告年度 2022（交回的报表都是这一年度）。"


CODE = "91350128MA2XY1234Q"


def xlsx_units(path: Path, rows: list[list[Any]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["2022 年度报送单位名单"])
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_units_lists_the_units_that_have_not_returned(tmp_path: Path) -> None:
    """A unit by name (spaces differ), one by code (its name spelled otherwise), one whose
    file cannot be read (known by its copy's name), one missing; a return from a unit not on
    the list."""
    inbox, out = tmp_path / "交回", tmp_path / "结果"
    inbox.mkdir()
    units = xlsx_units(tmp_path / "名单.xlsx", [
        ["序号", "单位名称", "统一社会信用代码"],
        [1, "甲镇人民政府", None], [2, "县交通运输局", CODE], [3, "丙镇人民政府", None],
        [4, "丁镇人民政府", None],
    ])
    filled(inbox / "甲.xlsx", "pingtan_2022", unit="甲镇 人民政府")
    filled(inbox / "交通.xlsx", "pingtan_2022", unit="县交通局", change={"unit.code": CODE})
    (inbox / "丁镇人民政府_2022年度_政府信息公开年度报告统计表.xlsx").write_bytes(b"PK broken")
    filled(inbox / "戊.xlsx", "pingtan_2022", unit="戊镇人民政府")
    proc = run_cli("collect", inbox, "--out-dir", out, "--units", units)
    assert proc.returncode == 1, proc.stderr
    assert summary_lines(proc)[0] == (
        "已交回 3 / 4 个单位；未交：丙镇人民政府；名单外的报表 1 份；"
        "报告年度 2022（交回的报表都是这一年度）。"), proc.stderr
    rows = summary(out)
    assert list(rows[0]) == [*HEADER, "名单"]
    by_file = {r["文件"]: r for r in rows if r["文件"]}
    assert by_file["甲.xlsx"]["名单"] == "第 3 行" and by_file["甲.xlsx"]["状态"] == "通过"
    assert by_file["交通.xlsx"]["名单"] == "第 4 行" and by_file["交通.xlsx"]["状态"] == "通过"
    assert by_file["丁镇人民政府_2022年度_政府信息公开年度报告统计表.xlsx"]["名单"] == "第 6 行"
    assert by_file["戊.xlsx"]["名单"] == "名单外" and by_file["戊.xlsx"]["状态"] == "不通过"
    assert "不在单位名单 名单.xlsx 中" in by_file["戊.xlsx"]["第一个错误"]
    (missing,) = [r for r in rows if r["状态"] == "未交"]
    assert missing == {**missing, "文件": "", "单位": "丙镇人民政府", "年度": "2022", "名单": "第 5 行",
                       "错误数": "1", "第一个错误": "名单.xlsx 第 5 行的“丙镇人民政府”没有交回 2022 年度的报表"}
    found = problems(out)
    assert [p for p in found if p["code"] == "not_returned"] == [{
        "file": "", "unit": "丙镇人民政府", "row": 5, "severity": "error", "code": "not_returned",
        "message": missing["第一个错误"]}]
    assert [p["file"] for p in found if p["code"] == "unlisted"] == ["戊.xlsx"]


def test_units_all_returned_is_a_complete_collection(tmp_path: Path) -> None:
    inbox, out = tmp_path / "交回", tmp_path / "结果"
    inbox.mkdir()
    units = inbox / "名单.csv"  # beside the returns: not read as one
    units.write_text("单位名称,年度\n甲镇,2022\n乙镇,\n", encoding="utf-8")
    filled(inbox / "甲.xlsx", "pingtan_2022", unit="甲镇")
    filled(inbox / "乙.xlsx", "pingtan_2022", unit="乙镇")
    proc = run_cli("collect", inbox, "--out-dir", out, "--units", units)
    assert proc.returncode == 0, proc.stderr
    assert summary_lines(proc)[0] == "已交回 2 / 2 个单位；报告年度 2022（单位名单 名单.csv 中的年度）。"
    assert sorted(r["文件"] for r in summary(out)) == ["乙.xlsx", "甲.xlsx"]
    assert "共 2 个文件：无法读取 0，不通过 0，有警告 0，通过 2" in proc.stderr
    conflict = run_cli("collect", inbox, "--out-dir", out, "--units", units, "--year", "2023")
    assert conflict.returncode == 2
    assert "名单.csv 第 2 行是 2022 年度，而 --year 是 2023 年度" in conflict.stderr, conflict.stderr


def test_a_unit_whose_return_is_of_another_year_has_not_returned(tmp_path: Path) -> None:
    inbox, out = tmp_path / "交回", tmp_path / "结果"
    inbox.mkdir()
    units = tmp_path / "名单.csv"
    units.write_text("单位名称\n甲镇\n乙镇\n", encoding="utf-8")
    filled(inbox / "甲.xlsx", "pingtan_2022", unit="甲镇")
    filled(inbox / "乙.xlsx", "pingtan_2022", unit="乙镇", year=2021)
    proc = run_cli("collect", inbox, "--out-dir", out, "--units", units, "--year", "2022")
    assert proc.returncode == 1
    assert summary_lines(proc)[0].startswith("已交回 1 / 2 个单位；未交：乙镇；报告年度 2022；1 份")
    missing = next(r for r in summary(out) if r["状态"] == "未交")
    assert missing["第一个错误"] == "名单.csv 第 3 行的“乙镇”没有交回 2022 年度的报表（交回的 乙.xlsx 是其他年度的）"


PROVINCE = Path(__file__).parents[1] / "docs" / "examples" / "province.yaml"


def _province_return(path: Path, unit: str) -> Path:
    """A return of the province's edition (docs/examples/province.yaml): 平潭 2022, none of its
    requests online."""
    province = spec.load(PROVINCE)
    flat = report.flatten(example("pingtan_2022"), province)
    values = {k: v for k, v in flat.items() if v is not None and not province.cell(k).computed}
    online = {k: 0 for k in province.cells
              if k.startswith("requests.online.") and not province.cell(k).computed}
    return template.build(province, path, values={**values, **online, "unit.name": unit})


def test_spec_reads_the_returns_of_a_custom_edition(tmp_path: Path) -> None:
    inbox = tmp_path / "交回"
    inbox.mkdir()
    _province_return(inbox / "省.xlsx", "甲镇")
    filled(inbox / "国.xlsx", "pingtan_2022", unit="乙镇")
    plain = run_cli("collect", inbox, "--out-dir", tmp_path / "结果1")
    assert plain.returncode == 1
    refused = {r["文件"]: r for r in summary(tmp_path / "结果1")}["省.xlsx"]
    assert refused["状态"] == "无法读取" and "2021-sheng" in refused["第一个错误"]
    assert "--spec" in refused["第一个错误"] and "升级" not in refused["第一个错误"]
    proc = run_cli("collect", inbox, "--out-dir", tmp_path / "结果2", "--spec", PROVINCE)
    assert proc.returncode == 1, "the national edition's return is not of this season's edition"
    rows = {r["文件"]: r for r in summary(tmp_path / "结果2")}
    assert (rows["省.xlsx"]["状态"], rows["省.xlsx"]["版本"]) == ("通过", "2021-sheng")
    assert rows["国.xlsx"]["状态"] == "无法读取"
    assert "“2021”年版" in rows["国.xlsx"]["第一个错误"] and "2021-sheng" in rows["国.xlsx"]["第一个错误"]
    doc = report.load(tmp_path / "结果2" / rows["省.xlsx"]["上报文件"])
    assert doc["edition"] == "2021-sheng" and "online" in doc["requests"]


def _options(command: str) -> set[str]:
    """The long options ``xlreport <command> --help`` lists."""
    import re

    return set(re.findall(r"--[a-z][a-z-]+", run_cli(command, "--help").stdout))


def test_no_message_of_collect_advises_an_option_it_does_not_have(
    collected: tuple[Any, Path], tmp_path: Path
) -> None:
    import re

    inbox = tmp_path / "交回"
    inbox.mkdir()
    _province_return(inbox / "省.xlsx", "甲镇")
    filled(inbox / "旧年.xlsx", "pingtan_2022", unit="乙镇", year=2021)
    filled(inbox / "新年.xlsx", "pingtan_2022", unit="丙镇")
    filled(inbox / "新年2.xlsx", "pingtan_2022", unit="丁镇")
    units = tmp_path / "名单.csv"
    units.write_text("单位名称\n丙镇\n丁镇\n戊镇\n", encoding="utf-8")
    last = tmp_path / "上年"
    last.mkdir()
    (last / "说明.txt").write_text("请查收附件", encoding="utf-8")
    proc = run_cli("collect", inbox, "--out-dir", tmp_path / "结果", "--units", units,
                   "--previous-dir", last)
    assert "上年报告未使用：说明.txt" in proc.stderr, proc.stderr
    said = [proc.stderr, collected[0].stderr]
    for out in (tmp_path / "结果", collected[1]):
        said += [p["message"] for p in problems(out)]
    # advice about another command (“请用 xlreport import --edition 版本 指定”) is not advice
    # about collect's options
    other = re.compile(r"xlreport (?!collect)[a-z]+[^，；。）]*")
    mentioned = {o for text in said for o in re.findall(r"--[a-z][a-z-]+", other.sub("", text))}
    assert mentioned, "the test sees the options the messages mention"
    assert "xlreport import --edition" in proc.stderr
    assert mentioned <= _options("collect") | {"--help"}, mentioned - _options("collect")


def test_many_copies_of_one_file_get_bounded_messages(tmp_path: Path) -> None:
    """3000 copies of one return: each names 5 others and how many there are (the message used
    to list all 2999 others, for every copy)."""
    with Ledger(tmp_path / "ledger") as ledger:
        ledger.add(collect.Row(i, f"副本{i:04d}.xlsx", collect.VALID, "甲镇", 2022)
                   for i in reversed(range(3000)))
        ledger.add([collect.Row(3000, "乙镇.xlsx", collect.VALID, "乙镇", 2022)])
        collect._flag_duplicates(ledger)
        rows = sorted(ledger.each(), key=lambda r: r.index)
    assert rows.pop().status == collect.VALID  # one return of another unit
    first = rows[0]
    assert first.duplicates == "副本0001.xlsx、副本0002.xlsx、副本0003.xlsx、副本0004.xlsx、副本0005.xlsx 等 2999 份"
    assert first.first_error.startswith("“甲镇”2022 年度还有 2999 份报表（副本0001.xlsx、")
    assert rows[7].duplicates.startswith("副本0000.xlsx、副本0001.xlsx、")
    assert all(r.status == collect.INVALID and len(r.first_error) < 200 and len(r.duplicates) < 100
               for r in rows)
    assert all(len(r.flags) == 1 and r.flags[0][0] == "duplicate" for r in rows)


def test_folders_nested_deeper_than_pythons_recursion_limit_are_walked(tmp_path: Path) -> None:
    """Files before subfolders, both by name, at any depth (the walk is not recursive)."""
    here = tmp_path / "收回"
    here.mkdir()
    (here / "z.xlsx").write_bytes(b"z")
    (here / "b").mkdir()
    (here / "b" / "y.xlsx").write_bytes(b"y")
    deep = here
    for _ in range(1100):  # one folder at a time (os.makedirs itself recurses)
        deep = deep / "a"
        os.mkdir(deep)
    (deep / "x.xlsx").write_bytes(b"x")
    try:
        found = [f.shown for f in collect.find([here])]
    finally:  # shutil.rmtree (pytest's clean-up) recurses too
        (deep / "x.xlsx").unlink()
        while deep != here:
            deep.rmdir()
            deep = deep.parent
    assert found == ["z.xlsx", "a/" * 1100 + "x.xlsx", "b/y.xlsx"]
