"""``xlreport read`` as a user runs it: stdout JSON, Chinese problems on stderr, exit codes."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, credit_code, example, run_cli, write_json
from support import workbooks
from xlreport import cli, codes
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.workbook import template

NATURAL = "requests.new.natural_person"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def blank(folder: Path) -> Path:
    return template.build(spec.builtin("2021"), folder / "模板.xlsx")


def _filled(blank: Path, dst: Path, name: str = "pingtan_2021", **changes: Any) -> Path:
    sp = spec.builtin("2021")
    flat = report.flatten(example(name), sp)
    values = {k: v for k, v in flat.items() if v is not None and not sp.cell(k).computed}
    values.update({k.replace("__", "."): v for k, v in changes.items()})
    return workbooks.fill(blank, dst, values)


def test_valid_workbook_prints_upload_json(blank: Path, folder: Path) -> None:
    path = _filled(blank, folder / "平潭2021.xlsx")
    run = run_cli("read", path)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout, parse_float=Decimal)
    sp = spec.builtin("2021")
    got = report.flatten(doc, sp)
    assert set(got) == set(sp.cells)
    published = {k: v for k, v in report.flatten(example("pingtan_2021"), sp).items() if v is not None}
    assert {k: got[k] for k in published} == published
    assert doc["proactive"]["fees"]["amount"] == Decimal("24252.311082")
    assert '"amount": 24252.311082' in run.stdout
    assert doc["source"]["file"] == "平潭2021.xlsx" and len(doc["source"]["sha256"]) == 64
    assert run.stderr.strip() == "通过。"


def test_output_and_report_files(blank: Path, folder: Path) -> None:
    path = _filled(blank, folder / "有空白.xlsx", requests__carried_over__natural_person=None)
    out, problems = folder / "out" / "上报.json", folder / "问题.json"
    run = run_cli("read", path, "-o", out, "--report", problems)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    assert json.loads(out.read_text("utf-8"))["requests"]["carried_over"]["natural_person"] == 0
    summary = json.loads(problems.read_text("utf-8"))
    assert (summary["valid"], summary["edition"], summary["errors"], summary["warnings"]) == (
        True, "2021", 0, 1
    )
    (problem,) = summary["problems"]
    assert (problem["code"], problem["severity"], problem["sheet"]) == ("blank", "warning", "三、依申请公开")
    assert "警告：" in run.stderr and "通过：0 个错误，1 个警告。" in run.stderr

    strict = run_cli("read", path, "--strict")
    assert strict.returncode == 1 and strict.stdout == ""
    assert "错误：表三有 1 个空白单元格不能留空" in strict.stderr


def test_a_wholly_blank_table_is_an_error_a_few_blank_cells_a_warning(blank: Path, folder: Path) -> None:
    """表四 left wholly blank cannot be reported (read and validate alike, with or without
    --strict); with one of its cells filled, the others are blanks as before."""
    sp = spec.builtin("2021")
    appeals = [c.key for c in sp.inputs() if c.statistic and c.sheet == "四、复议诉讼"]
    nothing = dict.fromkeys((k.replace(".", "__") for k in appeals), None)
    book = _filled(blank, folder / "表四空白.xlsx", **nothing)
    doc = example("pingtan_2021")
    doc["appeals"] = report.nest({k: None for k in sp.cells if k.startswith("appeals.")}, sp)["appeals"]
    upload = write_json(folder / "表四空白.json", doc)
    message = "错误：表四全部空白（12 个统计单元格都没有填写）：如确无数据请填写 0"
    place = "（工作表“四、复议诉讼”）"
    for run, where in ((run_cli("read", book), place), (run_cli("read", book, "--strict"), place),
                       (run_cli("validate", upload), "")):
        assert run.returncode == 1 and run.stdout == "", run.stderr
        assert [ln for ln in run.stderr.splitlines() if "表四" in ln] == [message + where]
    summary = folder / "表四空白问题.json"
    run_cli("read", book, "--report", summary)
    (problem,) = json.loads(summary.read_text("utf-8"))["problems"]
    assert (problem["code"], problem["severity"], problem["sheet"]) == ("blank_table", "error", "四、复议诉讼")
    assert problem["keys"] == appeals

    one = _filled(blank, folder / "表四一格.xlsx", **{**nothing, appeals[0].replace(".", "__"): 0})
    run = run_cli("read", one)
    assert run.returncode == 0, run.stderr
    assert "警告：表四有 11 个空白单元格按 0 计" in run.stderr and "全部空白" not in run.stderr


def test_invalid_workbook_lists_problems_and_exits_1(blank: Path, folder: Path) -> None:
    path = _filled(blank, folder / "有错.xlsx", requests__new__natural_person="64件",
                   proactive__fees__amount=Decimal("1.1234567"))
    problems = folder / "有错.json"
    run = run_cli("read", path, "--report", problems)
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert lines[-1] == "不通过：2 个错误，0 个警告。"
    sheet, ref = workbooks.cell_ref(path, NATURAL)
    assert any(f"工作表“{sheet}”{ref} 单元格" in line and "“64件”" in line for line in lines)
    summary = json.loads(problems.read_text("utf-8"))
    assert [(p["code"], p["cell"]) for p in summary["problems"]] == [
        ("too_many_decimals", workbooks.cell_ref(path, "proactive.fees.amount")[1]), ("not_a_number", ref)
    ]
    assert set(summary) == {"valid", "edition", "errors", "warnings", "problems"}
    assert "Traceback" not in run.stderr


def test_rule_errors_exit_1(blank: Path, folder: Path) -> None:
    path = _filled(blank, folder / "不平衡.xlsx", requests__new__natural_person=65)
    run = run_cli("read", path)
    assert run.returncode == 1
    assert "表三 自然人列：第一项加第二项之和为 65" in run.stderr


@pytest.mark.parametrize("kind", ["json", "xlsx"])
def test_previous_report(kind: str, blank: Path, folder: Path) -> None:
    this = _filled(blank, folder / "平潭2022.xlsx", "pingtan_2022")
    last = EXAMPLES / "pingtan_2021.json" if kind == "json" else _filled(blank, folder / "平潭2021.xlsx")
    run = run_cli("read", this, "--previous", last)
    assert run.returncode == 0, run.stderr

    broken = write_json(folder / "上年有误.json", {
        **example("pingtan_2021"),
        "requests": {**example("pingtan_2021")["requests"],
                     "carried_forward": {**example("pingtan_2021")["requests"]["carried_forward"],
                                         "natural_person": 99}},
    })
    run = run_cli("read", this, "--previous", broken)
    assert run.returncode == 1
    assert "上年报告“四、结转下年度继续办理”为 99" in run.stderr


def test_previous_report_of_the_wrong_year(blank: Path, folder: Path) -> None:
    this = _filled(blank, folder / "平潭2022.xlsx", "pingtan_2022")
    run = run_cli("read", this, "--previous", EXAMPLES / "suqian_city_2023.json")
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "无法处理：上年报告“suqian_city_2023.json”是 2023 年度的，而本报告是 2022 年度，应使用 2021 年度的报告"
    )


def test_unreadable_previous_report(blank: Path, folder: Path) -> None:
    this = _filled(blank, folder / "平潭2022.xlsx", "pingtan_2022")
    bad = folder / "上年.xlsx"
    bad.write_bytes(b"not a workbook")
    run = run_cli("read", this, "--previous", bad)
    assert run.returncode == 2
    assert "上年.xlsx" in run.stderr and "Traceback" not in run.stderr


def _wrong_previous(kind: str, blank: Path, folder: Path) -> Path:
    """Last year's report that cannot serve a 2022 report, in one of several ways."""
    if kind == "wrong_year_json":
        return EXAMPLES / "suqian_city_2023.json"
    if kind == "wrong_year_xlsx":
        return _filled(blank, folder / "宿迁2023.xlsx", "suqian_city_2023")
    if kind == "older_edition_wrong_year":
        return EXAMPLES / "sangdong_2020.json"
    if kind == "not_a_workbook":
        (folder / "上年坏.xlsx").write_bytes(b"PK not a zip")
        return folder / "上年坏.xlsx"
    if kind == "not_json":
        (folder / "上年坏.json").write_text("{不是 JSON", encoding="utf-8")
        return folder / "上年坏.json"
    assert kind == "missing"
    return folder / "没有这个文件.json"


@pytest.mark.parametrize(
    "kind",
    ["wrong_year_json", "wrong_year_xlsx", "older_edition_wrong_year", "not_a_workbook",
     "not_json", "missing"],
)
def test_read_and_validate_refuse_a_wrong_previous_report_alike(
    kind: str, blank: Path, folder: Path
) -> None:
    book = _filled(blank, folder / "平潭2022.xlsx", "pingtan_2022")
    last = _wrong_previous(kind, blank, folder)
    read = run_cli("read", book, "--previous", last)
    validate = run_cli("validate", EXAMPLES / "pingtan_2022.json", "--previous", last)
    assert read.returncode == validate.returncode == 2, read.stderr + validate.stderr
    assert read.stdout == validate.stdout == ""
    assert read.stderr == validate.stderr
    assert last.name in read.stderr and "Traceback" not in read.stderr


CODE = credit_code("11350128MB0123456")
OTHER_CODE = credit_code("11350128MB0654321")
PINGTAN = "平潭综合实验区（管委会，全区汇总）"


def _of_unit(folder: Path, file: str, name: str = "pingtan_2021", *, unit: str | None = None,
             code: str | None = None) -> Path:
    """Example ``name`` as upload JSON, of another ``unit`` name and with ``code`` when given."""
    doc = example(name)
    if unit is not None:
        doc["unit"]["name"] = unit
    if code is not None:
        doc["unit"]["code"] = code
    return write_json(folder / file, doc)


def _read_and_validate(blank: Path, folder: Path, last: Path, *, code: str | None = None) -> list[Any]:
    """``read`` of pingtan 2022 as a workbook and ``validate`` of it as JSON, both with ``last``."""
    book = _filled(blank, folder / f"平潭2022{code or ''}.xlsx", "pingtan_2022",
                   **({"unit__code": code} if code else {}))
    this = _of_unit(folder, f"平潭2022{code or ''}.json", "pingtan_2022", code=code)
    return [run_cli("read", book, "--previous", last), run_cli("validate", this, "--previous", last)]


@pytest.mark.parametrize("kind", ["json", "xlsx"])
def test_a_previous_report_of_another_unit_is_refused_naming_both(
    kind: str, blank: Path, folder: Path
) -> None:
    if kind == "json":
        last = _of_unit(folder, "农业农村局2021.json", unit="平潭县农业农村局")
    else:
        last = _filled(blank, folder / "农业农村局2021.xlsx", unit__name="平潭县农业农村局")
    for run in _read_and_validate(blank, folder, last):
        assert run.returncode == 2 and run.stdout == "", run.stderr
        assert run.stderr.strip() == (
            f"无法处理：上年报告“{last.name}”是“平潭县农业农村局”的，本报告是“{PINGTAN}”的："
            "请给出本单位的上年报告"
        )


def test_a_previous_report_of_the_same_unit_written_differently_is_used(
    blank: Path, folder: Path
) -> None:
    """Spaces and full-width or half-width forms do not make another unit; the cross-year rules
    then run (a wrong carry-over in last year's report is found)."""
    written = " 平潭综合实验区 (管委会，全区汇总)\u3000"
    last = _of_unit(folder, "平潭2021空格.json", unit=written)
    for run in _read_and_validate(blank, folder, last):
        assert run.returncode == 0, run.stderr
    broken = example("pingtan_2021")
    broken["unit"]["name"] = written
    broken["requests"]["carried_forward"]["natural_person"] = 99
    for run in _read_and_validate(blank, folder, write_json(folder / "平潭2021有误.json", broken)):
        assert run.returncode == 1 and "上年报告“四、结转下年度继续办理”为 99" in run.stderr


def test_the_credit_code_decides_when_both_reports_have_one(blank: Path, folder: Path) -> None:
    """A unit renamed since last year is itself by its 统一社会信用代码; two units of one name are
    told apart by theirs; a report without a code is matched by name."""
    renamed = _of_unit(folder, "改名前.json", unit="平潭综合实验区管理委员会", code=CODE)
    for run in _read_and_validate(blank, folder, renamed, code=CODE):
        assert run.returncode == 0, run.stderr
    for run in _read_and_validate(blank, folder, renamed):
        assert run.returncode == 2 and "“平潭综合实验区管理委员会”的" in run.stderr

    namesake = _of_unit(folder, "同名.json", code=OTHER_CODE)
    for run in _read_and_validate(blank, folder, namesake, code=CODE):
        assert run.returncode == 2, run.stderr
        assert run.stderr.strip() == (
            f"无法处理：上年报告“同名.json”是“{PINGTAN}”（统一社会信用代码 {OTHER_CODE}）的，"
            f"本报告是“{PINGTAN}”（统一社会信用代码 {CODE}）的：请给出本单位的上年报告"
        )
    for run in _read_and_validate(blank, folder, namesake):
        assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_exception_is_one_line(
    debug: bool, blank: Path, folder: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from xlreport.workflows import check

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(check, "read_workbook", boom)
    argv = ["xlreport", *(["--debug"] if debug else []), "read", str(blank)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("内部错误：程序自身出了问题")
    assert ("boom" in err) is debug  # the English detail only with --debug
    assert ("Traceback" in err) is debug
    if not debug:
        assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["read", "validate"])
def test_report_is_written_for_an_input_that_cannot_be_read(command: str, tmp_path: Path) -> None:
    broken = tmp_path / ("坏.xlsx" if command == "read" else "坏.json")
    broken.write_bytes(b"PK\x03\x04 cut short" if command == "read" else b"{\"edition\": ")
    out = tmp_path / "问题.json"
    proc = run_cli(command, broken, "--report", out)
    assert proc.returncode == 2, proc.stderr
    written = json.loads(out.read_text("utf-8"))
    assert written["valid"] is False and written["errors"] == 1
    (problem,) = written["problems"]
    assert problem["code"] == "unreadable" and problem["severity"] == "error"
    assert problem["reason"] in codes.REFUSALS and problem["message"] in proc.stderr


def test_a_total_typed_over_is_an_error_naming_cell_and_formula(blank: Path, folder: Path) -> None:
    """A number typed over a total (protection removed) is named even when every rule holds."""
    sp = spec.builtin("2021")
    flat = report.flatten(example("pingtan_2021"), sp)
    true = flat["requests.new.total"]
    path = _filled(blank, folder / "改写总计.xlsx", requests__new__total=999)
    other = _filled(blank, folder / "改写为正确值.xlsx", requests__new__total=true)
    for file, shown in ((path, "999"), (other, str(true))):
        result = run_cli("read", file)
        assert result.returncode == 1, result.stderr
        sheet, ref = workbooks.cell_ref(blank, "requests.new.total")
        (line,) = [ln for ln in result.stderr.splitlines() if "总计单元格" in ln]
        assert f"总计单元格被改写为“{shown}”，应为公式 =SUM(" in line
        assert f"工作表“{sheet}”{ref} 单元格" in line and "requests.new.total" in line


def test_a_changed_prefilled_year_is_an_error_naming_both_years(folder: Path) -> None:
    sp = spec.builtin("2021")
    doc = example("pingtan_2022")
    doc["unit"] = {"name": "桑垌乡人民政府", "year": 2025}
    values = {k: v for k, v in report.flatten(doc, sp).items() if not sp.cell(k).computed}
    copy = template.build(sp, folder / "分发.xlsx", values=values, lock_keys=["unit.name", "unit.year"])
    assert run_cli("read", copy).returncode == 0
    changed = workbooks.fill(copy, folder / "改了年度.xlsx", {"unit.year": 2024})
    result = run_cli("read", changed)
    assert result.returncode == 1, result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if "预填" in ln]
    assert "汇总单位预填的是“2025”，现在是“2024”" in line and "unit.year" in line
