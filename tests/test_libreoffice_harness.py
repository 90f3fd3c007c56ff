"""The LibreOffice harness itself, on a small protected workbook made on the fly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from support import libreoffice

pytestmark = pytest.mark.skipif(
    not libreoffice.available(), reason="LibreOffice (soffice + python3-uno) is not installed"
)

OTHER_SHEET = "二、主动公开"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """Demo!B2 ``demo.a`` and B3 ``demo.b`` unlocked, B4 ``demo.total`` = B2+B3 locked, protected."""
    path = tmp_path / "demo.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Demo")
    unlocked = workbook.add_format({"locked": False})
    sheet.write_blank("B2", None, unlocked)
    sheet.write_blank("B3", None, unlocked)
    sheet.write_formula("B4", "=B2+B3", None, "未校验")
    sheet.protect()
    other = workbook.add_worksheet(OTHER_SHEET)
    other.write_blank("B5", None, unlocked)
    workbook.add_worksheet("hidden").hide()
    workbook.define_name("demo.a", "=Demo!$B$2")
    workbook.define_name("demo.b", "=Demo!$B$3")
    workbook.define_name("demo.total", "=Demo!$B$4")
    workbook.close()
    return path


@pytest.fixture
def stale(tmp_path: Path) -> Path:
    """Demo!B4 = B2+B3 with inputs 12 and 30 but a stale cached result of 99."""
    path = tmp_path / "stale.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Demo")
    sheet.write_column("B2", [12, 30])
    sheet.write_formula("B4", "=B2+B3", None, 99)
    workbook.close()
    return path


def office_processes_under(directory: Path) -> list[str]:
    """Command lines of live processes that mention ``directory`` (the harness's temp dirs)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(directory) in text:
            found.append(text)
    return found


def test_fill_recalculates_and_saves_xlsx(demo: Path, tmp_path: Path) -> None:
    dst = tmp_path / "filled.xlsx"
    cells = libreoffice.fill(demo, dst, {"demo.a": "12", "demo.b": "30"})
    assert cells["demo.a"] == {
        "string": "12",
        "value": 12.0,
        "formula": "12",
        "type": "VALUE",
        "error": 0,
    }
    assert libreoffice.read(dst, ["demo.total"])["demo.total"]["value"] == 42
    sheet = openpyxl.load_workbook(dst, data_only=True)["Demo"]
    assert [sheet["B2"].value, sheet["B3"].value, sheet["B4"].value] == [12, 30, 42]
    assert sheet.protection.sheet


def test_fill_all_fills_each_workbook_with_its_own_values(demo: Path, tmp_path: Path) -> None:
    second = tmp_path / "second.xlsx"
    second.write_bytes(demo.read_bytes())
    outs = [tmp_path / "out1.xlsx", tmp_path / "out2.xlsx"]
    cells = libreoffice.fill_all([(demo, outs[0], {"demo.a": "1", "demo.b": "2"}),
                                  (second, outs[1], {"demo.a": "10", "demo.b": "20"})])
    assert [c["demo.a"]["value"] for c in cells] == [1, 10]
    totals = [openpyxl.load_workbook(out, data_only=True)["Demo"]["B4"].value for out in outs]
    assert totals == [3, 30]
    with pytest.raises(ValueError, match="different names"):
        libreoffice.fill_all([(demo, outs[0], {}), (demo, outs[1], {})])


def test_fill_parses_text_like_the_input_line(demo: Path, tmp_path: Path) -> None:
    cells = libreoffice.fill(
        demo, tmp_path / "filled.xlsx", {"demo.a": "12件", "demo.b": "=1+1", "demo.total": "=B3*2"}
    )
    assert (cells["demo.a"]["type"], cells["demo.a"]["string"]) == ("TEXT", "12件")
    assert (cells["demo.b"]["type"], cells["demo.b"]["value"]) == ("FORMULA", 2)
    assert cells["demo.total"]["value"] == 4  # API entry bypasses protection


def test_fill_types_as_a_person_into_sheet_references(demo: Path, tmp_path: Path) -> None:
    cells = libreoffice.fill(
        demo,
        tmp_path / "filled.xlsx",
        {"demo.a": "1"},
        type_as_person={"Demo.B3": "2", f"$'{OTHER_SHEET}'.B5": "说明"},
    )
    assert cells["Demo.B3"]["value"] == 2
    assert cells[f"$'{OTHER_SHEET}'.B5"]["string"] == "说明"


def test_locked_cell_refuses_typing_and_unlocked_accepts(demo: Path) -> None:
    assert libreoffice.probe_typing(demo, "demo.total", "999") is False
    assert libreoffice.probe_typing(demo, "demo.a", "999") is True


def test_read_lists_sheets_and_resolves_names_and_references(demo: Path) -> None:
    result = libreoffice.read(demo, ["demo.total", "Demo.B4", f"$'{OTHER_SHEET}'.B5"])
    assert result["demo.total"]["formula"] == result["Demo.B4"]["formula"] == "=B2+B3"
    assert result[f"$'{OTHER_SHEET}'.B5"]["type"] == "EMPTY"
    assert result["sheets"] == [
        {"name": "Demo", "visible": True},
        {"name": OTHER_SHEET, "visible": True},
        {"name": "hidden", "visible": False},
    ]


def test_read_and_recalc_save_replace_stale_cached_results(stale: Path, tmp_path: Path) -> None:
    assert libreoffice.read(stale, ["Demo.B4"])["Demo.B4"]["value"] == 42
    dst = tmp_path / "saved.xlsx"
    libreoffice.recalc_save(stale, dst)
    assert openpyxl.load_workbook(dst, data_only=True)["Demo"]["B4"].value == 42


def test_convert_recalculates_on_load(stale: Path, tmp_path: Path) -> None:
    xlsx = libreoffice.convert(stale, tmp_path / "out", "xlsx")
    assert openpyxl.load_workbook(xlsx, data_only=True)["Demo"]["B4"].value == 42
    pdf = libreoffice.convert(stale, tmp_path / "out", "pdf")
    assert pdf == tmp_path / "out" / "stale.pdf"
    assert pdf.stat().st_size > 1000
    assert pdf.read_bytes().startswith(b"%PDF")


def test_unknown_target_fails_with_a_clear_message(demo: Path, tmp_path: Path) -> None:
    with pytest.raises(libreoffice.LibreOfficeError, match="neither a defined name"):
        libreoffice.fill(demo, tmp_path / "x.xlsx", {"demo.missing": "1"})


def test_timeout_kills_the_office(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(libreoffice.LibreOfficeError, match=r"timed out|timeout"):
        libreoffice.read(demo, ["demo.total"], timeout=0.5)
    libreoffice.read(demo, ["demo.total"])
    assert office_processes_under(tmp_path) == []
