"""An office's reporting season, end to end, through the real command line.

A county office keeps its list of 30 units in Excel, builds one locked copy per unit for 2025,
and the units fill their copies in LibreOffice.  What comes back is what comes back in real
life: most copies filled, one with a blank cell, one returned untouched, one of last year's
workbooks, one made from another edition, one from a unit that is not on the list, and five
units that never answer.  collect must say all of that, merge must total the valid returns and
show their warnings, and the merged workbook must read back — once with the built-in edition
and once with a province's custom edition (docs/examples/province.yaml), which every command is
given with ``--spec``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from conftest import REPO, example, run_cli
from support import libreoffice
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.edition.kinds import CREDIT_CODE_CHARS, CREDIT_CODE_WEIGHTS
from xlreport.edition.spec import Spec

pytestmark = pytest.mark.skipif(
    not libreoffice.available(), reason="LibreOffice (soffice + python3-uno) is not installed"
)

PROVINCE = REPO / "docs" / "examples" / "province.yaml"
YEAR = 2025
DEPARTMENTS = (
    "发展和改革局", "教育局", "科学技术局", "工业和信息化局", "公安局", "民政局", "司法局", "财政局",
    "人力资源和社会保障局", "自然资源局", "生态环境分局", "住房和城乡建设局", "交通运输局", "水利局",
    "农业农村局", "商务局", "文化和旅游局", "卫生健康局", "退役军人事务局", "应急管理局", "审计局",
    "市场监督管理局", "统计局", "医疗保障局", "林业局", "城关镇人民政府", "东坝镇人民政府",
    "西河乡人民政府", "南山街道办事处", "北岭街道办事处",
)
UNITS = [f"示例县{d}" for d in DEPARTMENTS]
#: Who returned what (indices into UNITS); the others (25–29) never answer.
WITH_BLANK, UNTOUCHED, LAST_YEARS, OTHER_EDITION = 3, 22, 23, 24
FILLED = list(range(22))
MISSING = list(range(25, 30))
STRANGER = "邻县教育局"
#: The count every filled return's total is checked by after the merge.
TOTAL_KEY = "requests.new.total"


def credit_code(body: str) -> str:
    """``body`` (17 characters) with its GB 32100-2015 check character."""
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(body, CREDIT_CODE_WEIGHTS, strict=True))
    return body + CREDIT_CODE_CHARS[-total % 31]


#: Three units on the list have a credit code.
CODES = {0: credit_code("11350128MB0000001"), 7: credit_code("11350128MB0000007"),
         15: credit_code("11350128MB0000015")}


@dataclass(frozen=True)
class Season:
    """What a season left behind: its folders, its spec, and what collect and merge said."""

    spec: Spec
    spec_args: tuple[str, ...]
    work: Path
    units_list: Path
    copies: dict[str, Path]
    collect: Any
    rows: list[dict[str, str]]
    summary: dict[str, dict[str, str]]
    merge: Any
    merged_json: Path
    merged_xlsx: Path
    inputs: dict[str, Any]


def _inputs(spec: Spec) -> dict[str, Any]:
    """What a unit types: the 平潭 2022 report's inputs (and the province's extra row)."""
    flat = report.flatten(example("pingtan_2022"), spec)
    values = {k: v for k, v in flat.items()
              if v is not None and not spec.cell(k).computed and not k.startswith("unit.")}
    if "requests.online.natural_person" in spec.cells:
        values |= {f"requests.online.{c}": n for c, n in zip(
            ("natural_person", "commercial", "research", "public_interest", "legal_services",
             "other"), (5, 1, 0, 0, 0, 0), strict=True)}
    return values


def blank_key(inputs: dict[str, Any]) -> str:
    """The cell one unit leaves blank: a count of 0, so that no rule breaks (a warning only)."""
    return next(k for k, v in inputs.items() if k.startswith("requests.") and v == 0)


def _typed(values: dict[str, Any]) -> dict[str, str]:
    """Values as a clerk types them into the input line."""
    return {k: format(v, "f") if isinstance(v, Decimal) else str(v) for k, v in values.items()}


def _write_list(path: Path) -> Path:
    """The office's list, as kept in Excel: a title row above the header is not there, codes are
    text, the year column is filled for some rows only."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名单"
    sheet.append(["单位名称", "统一社会信用代码", "年度"])
    for i, name in enumerate(UNITS):
        sheet.append([name, CODES.get(i), YEAR if i % 2 else None])
    book.save(path)
    return path


def _run(*args: str | Path) -> Any:
    result = run_cli(*args, timeout=600)
    assert "内部错误" not in result.stderr, result.stderr
    return result


def _season(tmp: Path, spec: Spec, spec_args: tuple[str, ...]) -> Season:
    units_list = _write_list(tmp / "名单.xlsx")
    copies_dir, returned = tmp / "分发", tmp / "交回"
    returned.mkdir()
    built = _run("build", *spec_args, "--units", units_list, "--year", str(YEAR),
                 "--out-dir", copies_dir)
    assert built.returncode == 0, built.stderr
    copies = {p.name.split("_")[0]: p for p in copies_dir.glob("*.xlsx")}
    assert sorted(copies) == sorted(UNITS)

    # Workbooks that did not come from this season's list.
    odd = tmp / "其他"
    last_year = odd / f"{UNITS[LAST_YEARS]}_{YEAR - 1}.xlsx"
    stranger = odd / f"{STRANGER}.xlsx"
    assert _run("build", *spec_args, "--unit", UNITS[LAST_YEARS], "--year", str(YEAR - 1),
                "-o", last_year).returncode == 0
    assert _run("build", *spec_args, "--unit", STRANGER, "--year", str(YEAR),
                "-o", stranger).returncode == 0
    other_args = () if spec_args else ("--spec", str(PROVINCE))
    other_edition = odd / f"{UNITS[OTHER_EDITION]}.xlsx"
    assert _run("build", *other_args, "--unit", UNITS[OTHER_EDITION], "--year", str(YEAR),
                "-o", other_edition).returncode == 0

    inputs = _inputs(spec)
    jobs: list[tuple[Path, Path, dict[str, str]]] = []
    for i in FILLED:
        values = dict(inputs)
        if i == WITH_BLANK:
            del values[blank_key(inputs)]
        jobs.append((copies[UNITS[i]], returned / copies[UNITS[i]].name, _typed(values)))
    jobs.append((last_year, returned / last_year.name, _typed(inputs)))
    jobs.append((stranger, returned / stranger.name, _typed(inputs)))
    other_spec = spec_mod.load(PROVINCE) if not spec_args else spec_mod.builtin("2021")
    jobs.append((other_edition, returned / other_edition.name, _typed(_inputs(other_spec))))
    libreoffice.fill_all(jobs)
    untouched = copies[UNITS[UNTOUCHED]]
    (returned / untouched.name).write_bytes(untouched.read_bytes())

    results = tmp / "结果"
    collected = _run("collect", returned, "--out-dir", results, "--year", str(YEAR),
                     "--units", units_list, *spec_args)
    with (results / "summary.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    summary = {row["单位"]: row for row in rows if row["文件"]}

    valid = [returned / copies[UNITS[i]].name for i in FILLED]
    merged_json, merged_xlsx = tmp / "县汇总.json", tmp / "县汇总.xlsx"
    merged = _run("merge", *valid, "--unit", "示例县", "--year", str(YEAR), *spec_args,
                  "-o", merged_json, "--xlsx", merged_xlsx)
    return Season(spec, spec_args, tmp, units_list, copies, collected, rows, summary, merged,
                  merged_json, merged_xlsx, inputs)


@pytest.fixture(scope="module", params=["builtin", "province"])
def season(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Season:
    tmp = tmp_path_factory.mktemp(f"season_{request.param}")
    if request.param == "builtin":
        return _season(tmp, spec_mod.builtin("2021"), ())
    return _season(tmp, spec_mod.load(PROVINCE), ("--spec", str(PROVINCE)))


def test_collect_names_who_has_not_returned(season: Season) -> None:
    assert season.collect.returncode == 1, "an incomplete season is not a valid collection"
    said = season.collect.stdout + season.collect.stderr
    first = next(line for line in said.splitlines() if line.startswith("已交回"))
    assert first.startswith("已交回 23 / 30 个单位"), first
    for i in [*MISSING, LAST_YEARS, OTHER_EDITION]:
        assert UNITS[i] in first
        row = next(r for r in season.rows if r["单位"] == UNITS[i] and r["状态"] == "未交")
        assert row["文件"] == "" and row["年度"] == str(YEAR), row
    assert sum(r["状态"] == "未交" for r in season.rows) == 7


def test_collect_marks_a_return_from_a_unit_not_on_the_list(season: Season) -> None:
    row = season.summary[STRANGER]
    assert (row["状态"], row["名单"]) == ("不通过", "名单外"), row
    assert "不在单位名单" in row["第一个错误"]


def test_collect_refuses_last_years_workbook_naming_both_years(season: Season) -> None:
    rows = [r for r in season.rows if r["年度"] == str(YEAR - 1)]
    assert [r["单位"] for r in rows] == [UNITS[LAST_YEARS]]
    assert rows[0]["状态"] == "不通过"
    assert str(YEAR - 1) in rows[0]["第一个错误"] and str(YEAR) in rows[0]["第一个错误"]


def test_an_untouched_copy_is_an_error_per_blank_table(season: Season) -> None:
    row = season.summary[UNITS[UNTOUCHED]]
    assert row["状态"] == "不通过"
    assert "全部空白" in row["第一个错误"]
    assert int(row["错误数"]) >= 3, "each statistics table blank is its own error"


def test_a_return_of_another_edition_is_refused_not_read(season: Season) -> None:
    row = next(r for r in season.rows if r["文件"] == f"{UNITS[OTHER_EDITION]}.xlsx")
    assert row["状态"] == "无法读取", row
    other = "2021-sheng" if not season.spec_args else "2021"
    assert other in row["第一个错误"], row


def test_every_filled_copy_is_valid_and_its_blank_cell_a_warning(season: Season) -> None:
    for i in FILLED:
        row = season.summary[UNITS[i]]
        assert row["状态"] == ("有警告" if i == WITH_BLANK else "通过"), row
        assert row["上报文件"], row
    assert "空白" in season.summary[UNITS[WITH_BLANK]]["第一个警告"]


def test_merge_totals_the_valid_returns_and_shows_their_warnings(season: Season) -> None:
    assert season.merge.returncode == 0, season.merge.stderr
    assert UNITS[WITH_BLANK] in season.merge.stderr, "a warning is listed under its unit"
    merged = report.loads(season.merged_json.read_text("utf-8"))
    assert merged["unit"]["name"] == "示例县" and merged["unit"]["year"] == YEAR
    flat = report.flatten(merged, season.spec)
    n = len(FILLED)
    assert flat[TOTAL_KEY] == n * report.flatten(example("pingtan_2022"), season.spec)[TOTAL_KEY]
    assert flat[blank_key(season.inputs)] == 0, "the blank cell counted as 0"


def test_the_merged_workbook_reads_back_as_the_merged_report(season: Season) -> None:
    out = season.work / "读回.json"
    read = _run("read", season.merged_xlsx, *season.spec_args, "-o", out)
    assert read.returncode == 0, read.stderr
    back = report.loads(out.read_text("utf-8"))
    merged = report.loads(season.merged_json.read_text("utf-8"))
    assert report.flatten(back, season.spec) == report.flatten(merged, season.spec)


def test_a_list_whose_year_column_disagrees_is_refused_naming_the_rows(season: Season) -> None:
    book = openpyxl.load_workbook(season.units_list)
    book.active.cell(row=5, column=3, value=YEAR - 1)
    book.active.cell(row=9, column=3, value=YEAR - 1)
    wrong = season.work / "去年的名单.xlsx"
    book.save(wrong)
    result = _run("build", *season.spec_args, "--units", wrong, "--year", str(YEAR),
                  "--out-dir", season.work / "不该生成")
    assert result.returncode == 2
    assert "第 5" in result.stderr and "9" in result.stderr and str(YEAR - 1) in result.stderr
    assert not (season.work / "不该生成").exists()
