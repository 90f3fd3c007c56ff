"""The low-level workbook reader (xlreport.xlsx): exact cells, names, sheets, and its limits."""

from __future__ import annotations

import datetime as dt
import io
import time
import zipfile
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlreport.checks.values import Formula, FormulaError, XmlNumber
from xlreport.errors import UnreadableInput
from xlreport.workbook import cells, xlsx

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _workbook_xml(sheets: list[tuple[str, str]], names: str = "", extra: str = "") -> str:
    entries = "".join(
        f'<sheet name="{name}" sheetId="{i + 1}" {state} r:id="rId{i + 1}"/>'
        for i, (name, state) in enumerate(sheets)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><workbook {NS} {RNS}>{extra}'
            f"<sheets>{entries}</sheets><definedNames>{names}</definedNames></workbook>")


def _book(
    sheet_data: str | list[str],
    *,
    strings: str | None = None,
    styles: str | None = None,
    names: str = "",
    sheet_names: list[tuple[str, str]] | None = None,
    workbook: str | None = None,
    extra: str = "",
) -> xlsx.Workbook:
    """A minimal workbook from raw XML pieces, opened with :func:`xlsx.open_workbook`."""
    datas = [sheet_data] if isinstance(sheet_data, str) else sheet_data
    sheet_names = sheet_names or [(f"表{i + 1}", "") for i in range(len(datas))]
    rels = [f'<Relationship Id="rId{i + 1}" Type="{REL}/worksheet" '
            f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(datas))]
    members = {
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": workbook or _workbook_xml(sheet_names, names, extra),
    }
    for i, data in enumerate(datas):
        members[f"xl/worksheets/sheet{i + 1}.xml"] = (
            f"<worksheet {NS}><sheetData>{data}</sheetData></worksheet>"
        )
    if strings is not None:
        members["xl/sharedStrings.xml"] = f"<sst {NS}>{strings}</sst>"
        rels.append(f'<Relationship Id="rS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
    if styles is not None:
        members["xl/styles.xml"] = f"<styleSheet {NS}>{styles}</styleSheet>"
        rels.append(f'<Relationship Id="rT" Type="{REL}/styles" Target="/xl/styles.xml"/>')
    members["xl/_rels/workbook.xml.rels"] = f"<Relationships>{''.join(rels)}</Relationships>"
    return _raw_book(members)


def _raw_book(members: dict[str, str]) -> xlsx.Workbook:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text.encode("utf-8"))
    return xlsx.open_workbook(buf.getvalue(), "测试.xlsx")


def _values(book: xlsx.Workbook, last_row: int = 20, last_col: int = 20) -> dict[str, object]:
    with book:
        grid = book.read_sheets({"表1": (last_row, last_col)})["表1"]
        return {cells.a1(r, c): book.value(cell) for (r, c), cell in grid.items()}


def _refused(code: str, phrase: str, make) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(UnreadableInput) as info:
        make()
    assert info.value.code == code, info.value.message
    assert phrase in info.value.message, info.value.message
    assert "测试.xlsx" in info.value.message
    return info.value.message


@given(st.integers(0, cells.MAX_ROWS - 1), st.integers(0, cells.MAX_COLS - 1))
def test_a1_round_trip(row: int, col: int) -> None:
    assert cells.parse_a1(cells.a1(row, col)) == (row, col)
    ref = cells.a1(row, col)
    letters = ref.rstrip("0123456789")
    assert cells.parse_a1(f"${letters}${ref[len(letters):]}") == (row, col)


def test_a1_known_and_invalid() -> None:
    assert cells.a1(4, 1) == "B5"
    assert cells.a1(0, 26) == "AA1"
    assert cells.a1(0, 16383) == "XFD1"
    assert cells.parse_a1("$B$5") == (4, 1)
    for bad in ("B0", "XFE1", "B1048577", "5B", "B5:C6", "", "#REF!"):
        assert cells.parse_a1(bad) is None


def test_cells_are_exact_and_typed() -> None:
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>4166.241619</v></c>'
        '<c r="C1"><v>1.5E-2</v></c><c r="D1" t="b"><v>1</v></c><c r="E1" t="e"><v>#DIV/0!</v></c></row>'
        '<row r="2"><c r="A2"><f>B1+1</f><v>4167.241619</v></c><c r="B2" t="str"><f>"a"&amp;"b"</f>'
        '<v>ab</v></c><c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D2"><f>1+1</f></c>'
        '<c r="E2" t="inlineStr"><is><t>  １２ </t></is></c><c r="F2" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="A3" s="1"><v>45296</v></c><c r="B3" s="2"><v>45296</v></c>'
        '<c r="C3" t="s"><v>2</v></c><c r="D3"/><c r="E3" t="d"><v>2024-01-05T00:00:00</v></c></row>'
    )
    strings = (
        "<si><t>总计</t></si>"
        '<si><r><rPr><b/></rPr><t>一、本年</t></r><r><t xml:space="preserve">新收 </t></r>'
        "<rPh sb=\"0\" eb=\"1\"><t>ヨミ</t></rPh></si>"
        "<si><t>第一行_x000D_\n第二行</t></si>"
    )
    styles = (
        '<numFmts count="1"><numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;"/>'
        '</numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="176"/><xf numFmtId="4"/></cellXfs>'
    )
    got = _values(_book(rows, strings=strings, styles=styles))
    assert got == {
        "A1": "总计",
        "B1": "4166.241619",
        "C1": "1.5E-2",
        "D1": True,
        "E1": "#DIV/0!",
        "A2": Formula("B1+1", "4167.241619"),
        "B2": Formula('"a"&"b"', "ab"),
        "C2": Formula("1/0", "#DIV/0!"),
        "D2": Formula("1+1", None),
        "E2": "  １２ ",
        "F2": "一、本年新收 ",
        "A3": dt.datetime(2024, 1, 5),
        "B3": "45296",
        "C3": "第一行\r\n第二行",
        "D3": None,
        "E3": dt.datetime(2024, 1, 5),
    }
    assert isinstance(got["B1"], XmlNumber) and Decimal(got["B1"]) == Decimal("4166.241619")
    assert isinstance(got["E1"], FormulaError)
    assert isinstance(got["C2"], Formula) and isinstance(got["C2"].cached, FormulaError)


def test_cells_without_references_follow_each_other() -> None:
    got = _values(_book("<row><c><v>1</v></c><c><v>2</v></c></row><row><c r=\"B2\"><v>3</v></c></row>"))
    assert got == {"A1": "1", "B1": "2", "B2": "3"}


def test_reading_stops_after_the_last_row_asked_for() -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 200_001))
    book = _book(rows + '<row r="5"><c r="A5"><v>bad order, never reached</v></c></row>')
    start = time.perf_counter()
    got = _values(book, last_row=2, last_col=0)
    assert time.perf_counter() - start < 0.5
    assert got == {"A1": "1", "A2": "2", "A3": "3"}


def test_columns_after_the_last_one_asked_for_are_skipped() -> None:
    got = _values(_book('<row r="1"><c r="A1"><v>1</v></c><c r="Z1"><v>2</v></c></row>'), 5, 3)
    assert got == {"A1": "1"}


def test_reading_stops_at_the_end_of_the_cells() -> None:
    """What follows the cells (validation, conditional formats: most of a template's bytes) is
    never parsed."""
    rel = f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    book = _raw_book({
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": _workbook_xml([("表1", "")]),
        "xl/_rels/workbook.xml.rels": f"<Relationships>{rel}</Relationships>",
        "xl/worksheets/sheet1.xml": f'<worksheet {NS}><sheetData><row r="1"><c r="A1"><v>1</v>'
        "</c></row></sheetData><conditionalFormatting><never-closed></worksheet>",
    })
    assert _values(book) == {"A1": "1"}


@pytest.mark.parametrize(
    ("rows", "phrase"),
    [
        ('<row r="2"><c r="A1"><v>1</v></c></row>', "单元格引用“A1”有误"),
        ('<row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>1</v></c></row>', "单元格引用“A1”有误"),
        ('<row r="3"/><row r="2"/>', "行号“2”有误"),
        ('<row r="0"/>', "行号“0”有误"),
        ('<row r="1"><c r="A1" t="s"><v>x</v></c></row>', "共享字符串编号“x”有误"),
        ('<row r="1"><c r="A1" t="s"><v>7</v></c></row>', "共享字符串第 8 项不存在"),
        ('<row r="1"><c r="A1"><v>1</v></row>', "不是有效的 XML"),
    ],
)
def test_malformed_sheets_are_damaged(rows: str, phrase: str) -> None:
    _refused("damaged", phrase, lambda: _values(_book(rows, strings="<si><t>a</t></si>")))


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
EXTERNAL_DTD = '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.invalid/x.dtd">'
SHEET = f'<worksheet {NS}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'


@pytest.mark.parametrize("prolog", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"])
@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml",
                                  "xl/_rels/workbook.xml.rels"])
def test_dtds_and_entities_are_refused(prolog: str, part: str) -> None:
    rels = (f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
    members = {
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": _workbook_xml([("表1", "")]),
        "xl/worksheets/sheet1.xml": SHEET,
        "xl/sharedStrings.xml": f"<sst {NS}><si><t>a</t></si></sst>",
        "xl/_rels/workbook.xml.rels": f"<Relationships>{rels}</Relationships>",
    }
    members[part] = prolog + members[part].removeprefix('<?xml version="1.0" encoding="UTF-8"?>')
    start = time.perf_counter()
    message = _refused("hostile", part, lambda: _values(_raw_book(members)))
    assert "DTD" in message and "恶意" in message
    assert time.perf_counter() - start < 0.5


def test_oversized_member_is_refused_before_parsing() -> None:
    big = '<row r="1"><c r="A1"><v>1</v></c></row>' + " " * (xlsx.LIMITS["sheet"] + 1)
    start = time.perf_counter()
    _refused("too_large", "超过上限 16 MB", lambda: _values(_book(big)))
    assert time.perf_counter() - start < 1


def test_workbook_sheets_names_and_protection() -> None:
    names = (
        "<definedName name=\"Requests.New.X\">'表 1'!$B$5</definedName>"
        '<definedName name="local" localSheetId="0">表1!$A$1</definedName>'
        '<definedName name="_xlnm.Print_Area" localSheetId="0">表1!$A$1:$C$9</definedName>'
        '<definedName name="dup">表1!$A$1</definedName><definedName name="DUP">表1!$A$2</definedName>'
    )
    extra = '<workbookPr date1904="1"/><workbookProtection lockStructure="1"/>'
    with _book(["", ""], names=names, sheet_names=[("表1", ""), ("_meta", 'state="veryHidden"')],
               extra=extra) as book:
        assert [(s.name, s.state, s.part) for s in book.sheets] == [
            ("表1", "visible", "xl/worksheets/sheet1.xml"),
            ("_meta", "veryHidden", "xl/worksheets/sheet2.xml"),
        ]
        assert book.names == {"requests.new.x": ["'表 1'!$B$5"], "dup": ["表1!$A$1", "表1!$A$2"]}
        assert book.structure_locked and book.date1904
        assert book.sheet("表2") is None
