"""Lists of units (单位名单) in CSV or .xlsx: one reader for ``build --units`` and
``collect --units``, the season's year one fact, hostile files refused."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from support import workbooks
from xlreport import edition as spec_mod
from xlreport.errors import UnreadableInput, UsageError
from xlreport.workbook.reader import read_workbook
from xlreport.workflows import roster
from xlreport.workflows.roster import Unit, read_roster

SPECS = [spec_mod.builtin("2021"), spec_mod.builtin("2019")]
#: Valid 统一社会信用代码 (check characters computed): letters, and one of digits only.
CODES = ("91350128MA2XY1234Q", "11350128000000000C", "11350128MB0000000H", "113501280000000072")


def xlsx_list(path: Path, rows: Sequence[Sequence[Any]], *, title: str | None = None) -> Path:
    """A list of units as an office keeps it in Excel (written by openpyxl): an optional title
    row and a blank row above the ``rows`` (the first of them is the header)."""
    book = openpyxl.Workbook()
    sheet = book.active
    if title is not None:
        sheet.append([title])
        sheet.merge_cells("A1:D1")
        sheet.append([])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def csv_list(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> Path:
    text = "".join(",".join("" if c is None else str(c) for c in row) + "\r\n" for row in rows)
    path.write_bytes(text.encode(encoding))
    return path


def unit_cells(path: Path) -> dict[str, Any]:
    values = read_workbook(path).result.values
    return {k: values.get(k) for k in ("unit.name", "unit.year", "unit.code")}


def test_an_xlsx_list_under_a_title_builds_every_copy(tmp_path: Path) -> None:
    """The header in row 3 below a merged title; a year typed as a number or as 2025年, a blank
    year taking --year, a code in lower case, extra columns (序号, 联系人) ignored."""
    path = xlsx_list(tmp_path / "名单.xlsx", [
        ["序号", "单位名称", "年度", "统一社会信用代码", "联系人"],
        [1, "桑垌乡人民政府", 2025, None, "张三"],
        [2, "县交通运输局", "2025年", CODES[0].lower(), None],
        [3, "县 教育局", None, CODES[1], None],
    ], title="2025年度政府信息公开工作年度报告 报送单位名单")
    out = tmp_path / "分发"
    proc = run_cli("build", "--units", path, "--year", "2025", "--out-dir", out)
    assert proc.returncode == 0, proc.stderr
    assert "已生成 3 份" in proc.stderr
    copies = {p.name: unit_cells(p) for p in out.iterdir()}
    assert copies == {
        "桑垌乡人民政府_2025年度_政府信息公开年度报告统计表.xlsx":
            {"unit.name": "桑垌乡人民政府", "unit.year": 2025, "unit.code": None},
        "县交通运输局_2025年度_政府信息公开年度报告统计表.xlsx":
            {"unit.name": "县交通运输局", "unit.year": 2025, "unit.code": CODES[0]},
        "县 教育局_2025年度_政府信息公开年度报告统计表.xlsx":
            {"unit.name": "县 教育局", "unit.year": 2025, "unit.code": CODES[1]},
    }


def test_messages_give_the_spreadsheets_row_numbers(tmp_path: Path) -> None:
    path = xlsx_list(tmp_path / "名单.xlsx", [
        ["单位名称", "统一社会信用代码"], ["甲镇", None], ["乙镇", CODES[0][:-1] + "0"],
    ], title="名单")
    proc = run_cli("build", "--units", path, "--year", "2025", "--out-dir", tmp_path / "out")
    assert proc.returncode == 2
    assert "名单.xlsx 第 5 行：统一社会信用代码“91350128MA2XY12340”不对" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()
    twice = xlsx_list(tmp_path / "两次.xlsx", [["单位名称"], ["甲镇"], ["乙镇"], ["甲 镇"]])
    proc = run_cli("build", "--units", twice, "--out-dir", tmp_path / "out")
    assert proc.returncode == 2
    assert "两次.xlsx 第 2 行“甲镇”和第 4 行“甲 镇”是同一个单位" in proc.stderr, proc.stderr


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_year_in_the_list_other_than_year_is_refused_naming_rows(tmp_path: Path, kind: str) -> None:
    """The season's year is one fact: rows of 2024 under --year 2025 stop the run (nothing is
    written), naming the rows and both years."""
    rows = [["单位名称", "年度"], ["甲镇", 2025], ["乙镇", 2024], ["丙镇", None], ["丁镇", "2024"],
            ["戊镇", 2023]]
    path = (xlsx_list if kind == "xlsx" else csv_list)(tmp_path / f"名单.{kind}", rows)
    out = tmp_path / "分发"
    proc = run_cli("build", "--units", path, "--year", "2025", "--out-dir", out)
    assert proc.returncode == 2, proc.stderr
    assert f"名单.{kind} 第 6 行是 2023 年度，第 3、5 行是 2024 年度，而 --year 是 2025 年度" \
        in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_without_year_the_list_gives_the_one_year(tmp_path: Path) -> None:
    path = csv_list(tmp_path / "名单.csv", [["单位名称", "年度"], ["甲镇", 2024], ["乙镇", None]])
    out = tmp_path / "分发"
    proc = run_cli("build", "--units", path, "--out-dir", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "乙镇_2024年度_政府信息公开年度报告统计表.xlsx", "甲镇_2024年度_政府信息公开年度报告统计表.xlsx"]
    two = csv_list(tmp_path / "两年.csv", [["单位名称", "年度"], ["甲镇", 2024], ["乙镇", 2025]])
    proc = run_cli("build", "--units", two, "--out-dir", tmp_path / "x")
    assert proc.returncode == 2
    assert "两年.csv 中的年度不止一个：第 2 行是 2024 年度，第 3 行是 2025 年度" in proc.stderr


NAMES = ("甲镇", "乙乡人民政府", "县交通运输局", "县/教育局", "丙街道办事处", "丁镇", "Ａ区管委会",
         "县 财政局", "戊镇", "己乡")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from([None, 2024]),
                          st.sampled_from([None, *CODES])),
                min_size=1, max_size=6, unique_by=lambda r: r[0]),
       st.integers(0, 4))
def test_csv_and_xlsx_lists_read_alike(tmp_path: Path, rows: list[tuple[str, int | None, str | None]],
                                       title_rows: int) -> None:
    """The same table as CSV and as .xlsx (a year typed as a number there) gives the same units,
    at the same row numbers; so does the table below some rows of title in .xlsx."""
    codes = [c for _, _, c in rows if c]
    if len(codes) != len(set(codes)):
        return
    table = [["单位名称", "年度", "统一社会信用代码"], *([n, y, c] for n, y, c in rows)]
    as_csv = read_roster(csv_list(tmp_path / "a.csv", table, "gbk"), SPECS)
    as_xlsx = read_roster(xlsx_list(tmp_path / "a.xlsx", table), SPECS)
    assert as_csv.units == as_xlsx.units
    assert [u.line for u in as_csv.units] == list(range(2, len(rows) + 2))
    assert {u.year for u in as_csv.units} == ({2024} if any(y for _, y, _ in rows) else {None})
    book = openpyxl.Workbook()
    for _ in range(title_rows):
        book.active.append(["标题"])
    for row in table:
        book.active.append(row)
    book.save(tmp_path / "b.xlsx")
    shifted = read_roster(tmp_path / "b.xlsx", SPECS).units
    assert [(u.name, u.year, u.code, u.line - title_rows) for u in shifted] == \
        [(u.name, u.year, u.code, u.line) for u in as_csv.units]


def test_the_header_is_found_only_when_it_is_one_row(tmp_path: Path) -> None:
    two = xlsx_list(tmp_path / "两个.xlsx", [["名单"], ["单位名称"], ["甲镇"], ["单位名称"], ["乙镇"]])
    with pytest.raises(UnreadableInput, match="第 2、4 行都写着“单位名称”"):
        read_roster(two, SPECS)
    repeated = xlsx_list(tmp_path / "重复.xlsx", [["单位名称"], ["甲镇"], ["单位名称"], ["乙镇"]])
    assert [u.name for u in read_roster(repeated, SPECS).units] == ["甲镇", "乙镇"]
    none = xlsx_list(tmp_path / "无.xlsx", [["名称"], ["甲镇"]])
    with pytest.raises(UnreadableInput, match="要有“单位名称”一列"):
        read_roster(none, SPECS)


@pytest.mark.parametrize(("cell", "column", "says"), [
    (dt.datetime(1905, 7, 17), "年度", "年度一格被设成了日期格式（显示为 1905-07-17）"),
    (2025.5, "年度", "年度“2025.5”应为四位数字"),
    (1.13501280000001e17, "统一社会信用代码", "统一社会信用代码存成了数字"),
    ("=1/0", "单位名称", None),
])
def test_cells_a_spreadsheet_changed_are_refused_saying_why(
    tmp_path: Path, cell: Any, column: str, says: str | None
) -> None:
    path = xlsx_list(tmp_path / "名单.xlsx", [["单位名称", "年度", "统一社会信用代码"],
                                             ["甲镇", None, None]])
    book = openpyxl.load_workbook(path)
    book.active.cell(2, ["单位名称", "年度", "统一社会信用代码"].index(column) + 1, cell)
    book.save(path)
    if says is None:  # a formula without a cached result (openpyxl writes none) is blank
        with pytest.raises(UsageError, match=r"名单\.xlsx 第 2 行：单位名称不能为空"):
            read_roster(path, SPECS)
        return
    with pytest.raises(UsageError, match=re.escape(f"名单.xlsx 第 2 行：{says}")):
        read_roster(path, SPECS)


def _entity(path: Path) -> None:
    good = xlsx_list(path.with_name("good.xlsx"), [["单位名称"], ["甲镇"]])
    workbooks.patch(good, path, {"xl/worksheets/sheet1.xml": lambda xml: (
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>' + xml)})


def _bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            zf.writestr(name, "<x/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (100 * 1024 * 1024) + b"</a>")


HOSTILE: dict[str, tuple[str, Callable[[Path], Any], str]] = {
    "entity": ("名单.xlsx", _entity, "hostile"),
    "zip bomb": ("名单.xlsx", _bomb, "zip_bomb"),
    "xls": ("名单.xls", lambda p: p.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(2048)),
            "xls"),
    "xls named csv": ("名单.csv",
                      lambda p: p.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(2048)), "xls"),
    "text named xlsx": ("名单.xlsx", lambda p: p.write_text("单位名称\n甲镇\n", "utf-8"), "not_excel"),
    "broken zip": ("名单.xlsx", lambda p: p.write_bytes(b"PK\x03\x04" + bytes(100)), "damaged"),
    "binary": ("名单.csv", lambda p: p.write_bytes(bytes(range(256)) * 40), "not_text"),
    "empty": ("名单.csv", lambda p: p.write_bytes(b""), "empty"),
    "huge": ("名单.csv", lambda p: p.write_bytes(b"x" * (roster.MAX_BYTES + 1)), "too_large"),
    "too many rows": ("名单.csv", lambda p: p.write_text(
        "单位名称\n" + "".join(f"单位{i}\n" for i in range(roster.MAX_UNITS + 30)), "utf-8"),
        "too_large"),
    "folder": ("名单.csv", lambda p: p.mkdir(), "not_found"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_a_foreign_or_hostile_list_is_refused_in_chinese(tmp_path: Path, case: str) -> None:
    name, write, code = HOSTILE[case]
    path = tmp_path / name
    write(path)
    with pytest.raises(UnreadableInput) as caught:
        read_roster(path, SPECS)
    assert caught.value.code == code, caught.value.message
    assert name in caught.value.message and len(caught.value.message) < 300


def test_a_hostile_list_on_the_command_line_exits_2(tmp_path: Path) -> None:
    _entity(tmp_path / "名单.xlsx")
    proc = run_cli("build", "--units", tmp_path / "名单.xlsx", "--out-dir", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.startswith("无法处理：文件“名单.xlsx”") and "Traceback" not in proc.stderr


def test_a_roster_finds_a_return_by_code_or_by_name() -> None:
    listed = roster.Roster("名单.csv", (Unit("甲镇", 2025, CODES[0], 2), Unit("乙 镇", 2025, None, 3)),
                           2025)
    assert listed.find("甲镇人民政府", CODES[0].lower()) == listed.units[0]
    assert listed.find("ＡＢ", CODES[0]) == listed.units[0]
    assert listed.find("乙镇") == listed.units[1]
    assert listed.find("乙镇", CODES[1]) == listed.units[1], "a code not on the list: by name"
    assert listed.find("丙镇", CODES[1]) is None
    assert listed.find("甲镇", CODES[1]) is None, "a namesake with another code is another unit"
    assert listed.copies(2025)["乙 镇_2025年度_政府信息公开年度报告统计表.xlsx"] == listed.units[1]
    undated = roster.Roster("名单.csv", (Unit("甲镇", None, None, 2),), None)
    assert list(undated.copies(2024)) == ["甲镇_2024年度_政府信息公开年度报告统计表.xlsx"]
