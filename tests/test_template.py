"""The workbook as written: names, labels, locks, protection, validation, formulas, caches, copies."""

from __future__ import annotations

import io
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.cell_range import CellRange

from conftest import REPO, run_cli
from xlreport import edition as spec_mod
from xlreport.checks import rules as engine
from xlreport.edition.rules import PASS
from xlreport.workbook.layout import CHECKS_SHEET, META_KEYS, META_SHEET, TEMPLATE_ID, layout
from xlreport.workbook.template import build, workbook_bytes
from xlreport.workflows.roster import read_roster
from xlreport.workflows.units import safe_file_name

EDITIONS = spec_mod.BUILTIN_EDITIONS
COMMITTED = REPO / "templates" / "report_template.xlsx"
HOSTILE = ('=HYPERLINK("http://example.com","点我")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3")


@pytest.fixture(scope="module", params=EDITIONS)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    spec = spec_mod.builtin(request.param)
    path = build(spec, tmp_path_factory.mktemp(request.param) / "t.xlsx")
    return spec, path, openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)


def test_sheets_in_order_and_meta_sheet(built) -> None:
    spec, path, wb, _ = built
    lay = layout(spec)
    assert tuple(wb.sheetnames) == lay.sheet_names
    meta = wb[META_SHEET]
    assert meta.sheet_state == "veryHidden"
    rows = [(r[0].value, r[1].value) for r in meta.iter_rows(max_col=2)]
    expected = (TEMPLATE_ID, spec.edition, spec.template_version, spec.digest, lay.digest)
    assert [k for k, _ in rows] == list(META_KEYS)
    assert tuple(v for _, v in rows[:5]) == expected
    assert rows[5][1].startswith("xlreport ")
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == list(lay.sheet_names[:-1])
    custom = zipfile.ZipFile(path).read("docProps/custom.xml").decode()
    for key, value in rows:  # the same in the custom document properties
        assert f'name="xlreport.{key}"><vt:lpwstr>{value}</vt:lpwstr>' in custom


def test_every_cell_and_check_is_a_defined_name(built) -> None:
    spec, _, wb, _ = built
    lay = layout(spec)
    wanted = {**lay.cells, **lay.checks}
    assert set(wanted) <= set(wb.defined_names)
    for key, pos in wanted.items():
        assert wb.defined_names[key].attr_text == pos.ref, key


def test_labels_exactly_as_in_the_spec(built) -> None:
    spec, _, wb, _ = built
    lay = layout(spec)
    for lb in lay.labels:
        ws = wb[lb.sheet]
        assert ws.cell(lb.row + 1, lb.col + 1).value == lb.text
        if (lb.last_row, lb.last_col) != (lb.row, lb.col):
            area = f"{ws.cell(lb.row + 1, lb.col + 1).coordinate}:" \
                   f"{ws.cell(lb.last_row + 1, lb.last_col + 1).coordinate}"
            assert area in {str(r) for r in ws.merged_cells.ranges}, (lb, area)


def test_only_input_cells_are_unlocked(built) -> None:
    spec, _, wb, _ = built
    lay = layout(spec)
    inputs = set()
    for cell in spec.inputs():  # with the rest of a merged input cell
        pos = lay.cells[cell.key]
        last_row, last_col = lay.span(pos)
        inputs |= {(pos.sheet, r + 1, c + 1) for r in range(pos.row, last_row + 1)
                   for c in range(pos.col, last_col + 1)}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.has_style or cell.value is not None:
                    unlocked = not cell.protection.locked
                    assert unlocked == ((ws.title, cell.row, cell.column) in inputs), (
                        ws.title, cell.coordinate)


def test_sheets_and_structure_protected(built) -> None:
    _, path, wb, _ = built
    for ws in wb.worksheets:
        p = ws.protection
        assert p.sheet, ws.title
        # openpyxl: True means the action is forbidden; rows may be made taller for long texts
        assert all((p.formatCells, p.formatColumns, p.insertRows,
                    p.insertColumns, p.deleteRows, p.deleteColumns)), ws.title
        assert not p.formatRows or ws.sheet_state != "visible", ws.title
    xml = zipfile.ZipFile(path).read("xl/workbook.xml").decode()
    assert '<workbookProtection lockStructure="1"/>' in xml


def test_totals_are_formulas_of_their_parts(built) -> None:
    spec, _, wb, _ = built
    lay = layout(spec)
    for cell in spec.cells.values():
        if not cell.computed:
            continue
        pos = lay.cells[cell.key]
        formula = wb[pos.sheet].cell(pos.row + 1, pos.col + 1).value
        assert formula == "=SUM(" + ",".join(lay.cells[p].a1 for p in cell.parts) + ")", cell.key


def test_check_formulas_rendered_from_the_rule_engine(built) -> None:
    spec, _, wb, cached = built
    lay = layout(spec)
    ws, values = wb[CHECKS_SHEET], cached[CHECKS_SHEET]
    checks = [c for c in spec.checks() if not c.cross_year]
    assert set(lay.checks) >= {c.name for c in checks} | {"checks.status"}
    for check in checks:
        pos = lay.checks[check.name]
        row = pos.row + 1
        lhs, rhs = ws.cell(row, pos.col - 1), ws.cell(row, pos.col)
        assert lhs.value == "=" + engine.excel_side(check, check.lhs, lambda k: k)
        assert rhs.value == "=" + engine.excel_side(check, check.rhs, lambda k: k)
        result = ws.cell(row, pos.col + 1).value
        assert result == "=" + engine.excel_result(check, lhs.coordinate, rhs.coordinate)
        assert values.cell(row, pos.col + 1).value == PASS  # every rule holds in a blank template
    status = lay.checks["checks.status"]
    tables = [f"checks.blank_table.{s.blocks[0].prefix}" for s in spec.sheets
              if any(c.statistic for c in spec.inputs() if c.sheet == s.name)]
    assert len(tables) == 3  # 表二、表三、表四: a blank template leaves each wholly blank
    assert values.cell(status.row + 1, status.col + 1).value == "不通过（5 项检查未通过，见下表）"
    for name in ("checks.required.unit.name", "checks.required.unit.year", *tables):
        assert values.cell(lay.checks[name].row + 1, lay.checks[name].col + 1).value == "不通过"


def test_data_validation_by_type(built) -> None:
    spec, _, wb, _ = built
    lay = layout(spec)
    expected = {"count": ("whole", "greaterThanOrEqual"), "signed_count": ("whole", None),
                "year": ("whole", None), "money": ("custom", None),
                "credit_code": ("textLength", "equal"), "text": ("textLength", "lessThanOrEqual")}
    for cell in spec.inputs():
        pos = lay.cells[cell.key]
        ws = wb[pos.sheet]
        found = [dv for dv in ws.data_validations.dataValidation if pos.a1 in dv.sqref]
        assert len(found) == 1, cell.key
        dv = found[0]
        assert (dv.type, dv.operator) == expected[cell.type], cell.key
        assert dv.prompt and dv.showInputMessage
        assert dv.error and dv.showErrorMessage and dv.errorStyle in (None, "stop")
        if cell.type == "year":
            assert (int(dv.formula1), int(dv.formula2)) == spec.years


def test_fonts_and_print_setup(built) -> None:
    _, path, wb, _ = built
    styles = zipfile.ZipFile(path).read("xl/styles.xml").decode()
    assert '<name val="宋体"/><family val="2"/><charset val="134"/>' in styles
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1)  # 1 is the default, left out
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text


def test_print_area_holds_everything(built) -> None:
    """Nothing the clerk needs is off the printed page."""
    spec, _, wb, _ = built
    lay = layout(spec)
    areas = {ws.title: CellRange(ws.print_area.split("!")[1])
             for ws in wb.worksheets if ws.sheet_state == "visible"}
    for pos in [*lay.cells.values(), *lay.checks.values()]:
        last_row, last_col = lay.span(pos)
        area = areas[pos.sheet]
        assert area.max_row >= last_row + 1 and area.max_col >= last_col + 1, pos
    states = {(p.sheet, p.row + 1, p.col + 1) for p in lay.states.values()}
    for title, area in areas.items():
        ws = wb[title]
        outside = {(title, c.row, c.column) for row in ws.iter_rows() for c in row
                   if c.value is not None and (c.row > area.max_row or c.column > area.max_col)}
        assert outside <= states, title  # only the state cells, in hidden columns
        hidden = {c for d in ws.column_dimensions.values() if d.hidden
                  for c in range(d.min, d.max + 1)}
        assert {col for _, _, col in outside} <= hidden, title


def test_committed_template_is_current() -> None:
    """templates/report_template.xlsx is what the build makes now (compared part by part, so a
    different zlib does not matter)."""
    fresh = zipfile.ZipFile(io.BytesIO(workbook_bytes(spec_mod.builtin("2021"))))
    committed = zipfile.ZipFile(COMMITTED)
    assert committed.namelist() == fresh.namelist()
    for name in fresh.namelist():
        assert committed.read(name) == fresh.read(name), (
            f"{name} differs: run `xlreport build` and commit templates/report_template.xlsx")


def test_build_is_deterministic() -> None:
    spec = spec_mod.builtin("2021")
    assert workbook_bytes(spec) == workbook_bytes(spec)


def test_prefilled_values_and_locks(tmp_path: Path) -> None:
    spec = spec_mod.builtin("2021")
    values = {"unit.name": HOSTILE[0], "unit.year": 2025, "unit.contact": HOSTILE[1],
              "unit.phone": "010020", "narrative.overview": HOSTILE[2],
              "narrative.problems": HOSTILE[3], "proactive.fees.amount": Decimal("4166.241619"),
              "requests.new.natural_person": 151, "requests.new.commercial": 3,
              "requests.new.total": 999}
    path = build(spec, tmp_path / "c.xlsx", values=values, lock_keys=["unit.name", "unit.year"])
    wb = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    lay = layout(spec)

    def at(key, book=wb):
        pos = lay.cells[key]
        return book[pos.sheet].cell(pos.row + 1, pos.col + 1)

    for key in ("unit.name", "unit.contact", "narrative.overview", "narrative.problems"):
        assert at(key).data_type == "s" and at(key).value == values[key], key
    assert at("unit.phone").value == "010020"
    assert at("unit.name").protection.locked and at("unit.year").protection.locked
    assert not at("unit.contact").protection.locked
    assert Decimal(repr(at("proactive.fees.amount").value)) == Decimal("4166.241619")
    assert at("requests.new.total").value.startswith("=")  # a total stays a formula
    assert at("requests.new.total", cached).value == 154  # cached: the true sum
    unit_sheet = lay.cells["unit.name"].sheet
    assert not [dv for dv in wb[unit_sheet].data_validations.dataValidation
                if lay.cells["unit.name"].a1 in dv.sqref]


@pytest.mark.parametrize(("values", "locks"), [
    ({"no.such.key": 1}, ()),
    ({"requests.new.natural_person": Decimal("0.12345678901234567")}, ()),
    ({"requests.new.natural_person": True}, ()),
    ({"unit.name": ["a"]}, ()),
    ({}, ("requests.new.total",)),
])
def test_bad_prefill_refused(values, locks) -> None:
    with pytest.raises(ValueError):
        workbook_bytes(spec_mod.builtin("2021"), values=values, lock_keys=locks)


# --------------------------------------------------------------------------- distribution


def _unit_cells(path: Path) -> dict[str, object]:
    wb = openpyxl.load_workbook(path)
    lay = layout(spec_mod.builtin("2021"))
    out = {}
    for key in ("unit.name", "unit.year", "unit.code"):
        pos = lay.cells[key]
        cell = wb[pos.sheet].cell(pos.row + 1, pos.col + 1)
        out[key] = (cell.value, cell.protection.locked)
    return out


def test_cli_single_copy(tmp_path: Path) -> None:
    code = "91350128MA2XY1234Q"
    out = tmp_path / "copy.xlsx"
    result = run_cli("build", "--unit", "桑垌乡人民政府", "--year", "2025", "--code", code, "-o", out)
    assert result.returncode == 0, result.stderr
    assert _unit_cells(out) == {"unit.name": ("桑垌乡人民政府", True),
                                "unit.year": (2025, True), "unit.code": (code, True)}
    bad = run_cli("build", "--unit", "甲", "--code", code[:-1] + "0", "-o", tmp_path / "x.xlsx")
    assert bad.returncode == 2 and "统一社会信用代码" in bad.stderr
    early = run_cli("build", "--unit", "甲", "--year", "2020", "-o", tmp_path / "x.xlsx")
    assert early.returncode == 2 and "2021—2100" in early.stderr


UNITS_CSV = ("单位名称,年度,统一社会信用代码\r\n桑垌乡人民政府,2025,\r\n"
             "县/交通 运输局?,,91350128ma2xy1234q\r\n\r\n")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_units_csv_encodings(tmp_path: Path, encoding: str) -> None:
    csv = tmp_path / "units.csv"
    csv.write_bytes(UNITS_CSV.encode(encoding))
    units = read_roster(csv, [spec_mod.builtin("2021")], year=2025).units
    assert [(u.name, u.year, u.code, u.line) for u in units] == [
        ("桑垌乡人民政府", 2025, None, 2), ("县/交通 运输局?", 2025, "91350128MA2XY1234Q", 3)]


def test_cli_units_csv(tmp_path: Path) -> None:
    csv = tmp_path / "units.csv"
    csv.write_bytes(UNITS_CSV.encode("gbk"))
    out = tmp_path / "分发"
    result = run_cli("build", "--units", csv, "--year", "2025", "--out-dir", out)
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["县_交通 运输局_2025年度_政府信息公开年度报告统计表.xlsx",
                     "桑垌乡人民政府_2025年度_政府信息公开年度报告统计表.xlsx"]
    cells = _unit_cells(out / files[0])
    assert cells["unit.name"] == ("县/交通 运输局?", True)
    assert cells["unit.code"] == ("91350128MA2XY1234Q", True)
    assert _unit_cells(out / files[1])["unit.code"] == (None, False)


def test_cli_units_duplicates_refused(tmp_path: Path) -> None:
    csv = tmp_path / "units.csv"
    csv.write_text("单位名称\n甲乡人民政府\n乙乡人民政府\n甲乡 人民政府\n", encoding="utf-8")
    result = run_cli("build", "--units", csv, "--out-dir", tmp_path / "out")
    assert result.returncode == 2
    assert "第 2 行" in result.stderr and "第 4 行" in result.stderr
    assert not (tmp_path / "out").exists()


def test_safe_file_names() -> None:
    assert safe_file_name(' a/b\\c:d*e?f"g<h>i|j\x07 ') == "a_b_c_d_e_f_g_h_i_j"
    assert safe_file_name("乙镇/东区") == "乙镇_东区"
    assert safe_file_name("平潭综合实验区（管委会）") == "平潭综合实验区（管委会）"
    assert safe_file_name("CON") == "_CON"
    assert safe_file_name("...x...") == "x"
    assert safe_file_name("a  \t b") == "a b"
    assert safe_file_name("?*") == ""


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_a_written_workbook_has_the_permissions_the_umask_gives(
    tmp_path: Path, umask: int, mode: int
) -> None:
    old = os.umask(umask)
    try:
        out = build(spec_mod.builtin("2021"), tmp_path / "t.xlsx")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == mode
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"], "no temporary file left"


def test_a_notes_text_longer_than_a_cell_is_shown_shortened_not_refused() -> None:
    long = "甲" * 40000
    data = workbook_bytes(spec_mod.builtin("2021"), notes=[["迁移说明"], ["1", long]])
    sheet = openpyxl.load_workbook(io.BytesIO(data))["迁移说明"]
    shown = sheet["B2"].value
    assert len(shown) == 32767 and shown.startswith("甲" * 100) and "共 40000 字" in shown


def test_a_narrative_longer_than_its_cell_shows_turns_orange(built) -> None:
    """Each multi-line text cell says in its prompt how much it shows and prints, and turns orange
    (explained on 填报说明) when it holds more; the row may be made taller."""
    spec, _, wb, _ = built
    lay = layout(spec)
    long = [c for c in spec.inputs() if c.kind.family == "text" and c.key.startswith("narrative.")]
    assert long
    for cell in long:
        pos = lay.cells[cell.key]
        ws = wb[pos.sheet]
        (dv,) = [dv for dv in ws.data_validations.dataValidation if pos.a1 in dv.sqref]
        most = int(dv.prompt.split("最多显示、打印约 ")[1].split(" 字")[0])
        assert 1000 <= most <= 2000, (cell.key, most)
        rules = [r for rng in ws.conditional_formatting for r in rng.rules if pos.a1 in str(rng.sqref)]
        assert f"LEN({pos.a1})>{most}" in [f for r in rules for f in r.formula], cell.key
    legend = " ".join(str(c.value) for row in wb["填报说明"].iter_rows() for c in row if c.value)
    assert "显示不全" in legend
