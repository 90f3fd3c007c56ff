"""The fast readers of ``xlreport.workbook.xlsx`` against its expat parser.

A worksheet's cells (``fast_grid``) and the shared strings (``fast_strings``) are read by a
tokenising pass; each must give exactly what the expat parser gives (``full_grid``,
``_StringTable``), or return None so that the expat parser decides.  Checked on random sheets and
string tables (attributes in any order and quoting, white space, inline and rich text, references,
CDATA, comments, odd or missing references, formulas, error values, dates, prefixes, hostile
bytes), on random rewrites of a real template's parts, and on whole workbooks read with and
without the fast paths.  The structural parts kept by content are kept by their bytes, never by
the CRC a file declares.
"""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import example
from support import workbooks
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.errors import UnreadableInput
from xlreport.workbook import reader, template, xlsx
from xlreport.workbook.cells import a1

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
BOOK, SHEET, PART = "测试.xlsx", "表1", "xl/worksheets/sheet1.xml"
SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _full_grid(data: bytes, last_row: int, last_col: int) -> xlsx.Grid | str:
    try:
        return xlsx.full_grid(BOOK, SHEET, PART, data, last_row, last_col)
    except UnreadableInput as exc:
        return f"refused: {exc.code}"


def _full_strings(data: bytes) -> list[str] | str:
    try:
        return list(xlsx._StringTable(BOOK, "xl/sharedStrings.xml", data).upto(10**9))
    except UnreadableInput as exc:
        return f"refused: {exc.code}"


def _same_grid(data: bytes, last_row: int, last_col: int) -> xlsx.Grid | None:
    """The fast reading of a sheet, asserted equal to the full one unless it stepped aside."""
    fast = xlsx.fast_grid(data, last_row, last_col)
    if fast is not None:
        assert fast == _full_grid(data, last_row, last_col), data.decode("utf-8", "replace")
    return fast


def _same_strings(data: bytes) -> tuple[str, ...] | None:
    fast = xlsx.fast_strings(data)
    if fast is not None:
        assert list(fast) == _full_strings(data), data.decode("utf-8", "replace")
    return fast


# --------------------------------------------------------------------------- random XML

#: Characters typed as themselves (and, for the special ones, as references).
SAFE = "0123456789-.,E+ abcxyz中文表年_\t\n"
#: Pieces of text that only the expat parser may read, or that it refuses.
ODD = ["\r\n", "\r", "&nbsp;", "&", "&#0;", "&#xD800;", "\x01", "\x0c", "\ufffe", "]]>",
       "<![CDATA[a<b&c]]>", "<!--n-->", "<?pi x?>", "&#X41;", "&#x110000;", "\x85", "\U0001f600"]


def _pick(draw: st.DrawFn, usual: list[str], odd_ones: list[str], odd: bool) -> str:
    """One of ``usual``, or now and then (if ``odd``) one of ``odd_ones``."""
    if odd and odd_ones and draw(st.integers(0, 24)) == 0:
        return draw(st.sampled_from(odd_ones))
    return draw(st.sampled_from(usual))


@st.composite
def _text(draw: st.DrawFn, odd: bool) -> str:
    """Text of an element as written in XML: references, OOXML escapes and, if ``odd``, pieces
    for expat alone (CR, CDATA, comments) or that it refuses."""
    atoms = []
    for _ in range(draw(st.integers(0, 6))):
        choice = draw(st.integers(0, 80 if odd else 7))
        if choice <= 3:
            atoms.append(draw(st.sampled_from(SAFE)))
        elif choice == 4:
            atoms.append(draw(st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", ">", '"', "'"])))
        elif choice == 5:
            code = draw(st.sampled_from([0x9, 0xA, 0xD, 0x20, 0x35, 0x4E2D, 0xE000, 0xFFFD, 0x10000]))
            atoms.append(draw(st.sampled_from([f"&#{code};", f"&#x{code:x};", f"&#x{code:X};", f"&#000{code};"])))
        elif choice == 6:
            atoms.append(draw(st.sampled_from(["_x000D_", "_x000a_", "_x005F_x000D_", "_xZZ_"])))
        elif choice == 7:
            atoms.append(draw(st.sampled_from(["425", "4166.241619", "1.5E-2", " 12 ", "#DIV/0!"])))
        elif choice == 80:
            atoms.append(draw(st.sampled_from(ODD)))
        else:
            atoms.append(draw(st.sampled_from(SAFE)))
    return "".join(atoms)


@st.composite
def _tag(draw: st.DrawFn, name: str, attrs: list[tuple[str, str]], odd: bool, close: bool = False) -> str:
    """A start tag (``close``: self-closing) with ``attrs`` in any order, either quote, any
    white space; if ``odd``, an entity, a line break or a repeat in an attribute."""
    attrs = list(draw(st.permutations(attrs)))
    if odd and draw(st.integers(0, 29)) == 0:
        attrs.append(draw(st.sampled_from([("r", "A1"), ("s", "1&#10;"), ("t", "s\n"), ("x:r", "B2")])))
    spaces = [" ", "  ", "\n", "\t", " \n "]
    out = f"<{name}"
    for key, value in attrs:
        quote = draw(st.sampled_from(['"', "'"]))
        eq = draw(st.sampled_from(["=", "=", " = "]))
        out += _pick(draw, spaces, ["\r\n"], odd) + f"{key}{eq}{quote}{value}{quote}"
    out += draw(st.sampled_from(["", "", " ", "\n"]))
    return out + ("/>" if close else ">")


@st.composite
def _cell(draw: st.DrawFn, row: int, col: int, odd: bool) -> str:
    prefix = _pick(draw, [""], ["x:"], odd)
    attrs: list[tuple[str, str]] = []
    where = _pick(draw, ["ok"] * 6 + ["missing", "dollar"], ["lower", "bad", "behind", "elsewhere"], odd)
    refs = {"ok": a1(row, col), "dollar": "$" + a1(row, col), "lower": a1(row, col).lower(),
            "bad": draw(st.sampled_from(["A0", "XFE1", "1A", "A1048577", "A 1"])),
            "behind": a1(row, max(col - 1, 0)), "elsewhere": a1(row + 1, col)}
    if where != "missing":
        attrs.append(("r", refs[where]))
    kind = draw(st.sampled_from([None, "n", "s", "str", "inlineStr", "b", "e", "d", "x"]))
    if kind:
        attrs.append(("t", kind))
    if draw(st.booleans()):
        attrs.append(("s", draw(st.sampled_from(["0", "1", "15", " 2", "x", "99999999999"]))))
    if draw(st.integers(0, 5)) == 0:
        attrs.append(draw(st.sampled_from([("cm", "1"), ("vm", "2"), ("x14ac:dyDescent", "0.25")])))
    content = _pick(draw, ["none", "v", "v", "v_empty", "f_v", "f_shared", "f", "is", "is_rich",
                           "is_rph", "v_is", "is_empty"], ["nested", "extra", "comment"], odd)
    if content == "none" and draw(st.booleans()):
        return draw(_tag(f"{prefix}c", attrs, odd, close=True))
    value = draw(_text(odd))
    if kind == "s":
        value = _pick(draw, ["0", "1", "2", "7", " 1 "], ["x", "-1", value], odd)
    t = f"{prefix}t"
    inner = {
        "none": "",
        "v": f"<{prefix}v>{value}</{prefix}v>",
        "v_empty": f"<{prefix}v/>",
        "f_v": f"<{prefix}f>{draw(_text(odd))}</{prefix}f><{prefix}v>{value}</{prefix}v>",
        "f_shared": f'<{prefix}f t="shared" si="0"/><{prefix}v>{value}</{prefix}v>',
        "f": f"<{prefix}f>SUM(A1:B2)</{prefix}f>",
        "is": f"<{prefix}is>{draw(_tag(t, [('xml:space', 'preserve')] if draw(st.booleans()) else [], odd))}"
              f"{value}</{t}></{prefix}is>",
        "is_rich": f"<{prefix}is><r><rPr><b/><sz val=\"11\"/></rPr><{t}>{value}</{t}></r>"
                   f"<r><{t} xml:space=\"preserve\">{draw(_text(odd))} </{t}></r></{prefix}is>",
        "is_rph": f"<{prefix}is><{t}>{value}</{t}><rPh sb=\"0\" eb=\"1\"><{t}>ヨミ</{t}></rPh>"
                  f"<phoneticPr fontId=\"1\"/></{prefix}is>",
        "v_is": f"<{prefix}v>1</{prefix}v><{prefix}is><{t}>{value}</{t}></{prefix}is>",
        "is_empty": f"<{prefix}is/>",
        "nested": f"<{prefix}v>{value}<{prefix}is><{t}>x</{t}></{prefix}is></{prefix}v>",
        "extra": f"<extLst><ext><{prefix}v>9</{prefix}v></ext></extLst><{prefix}v>{value}</{prefix}v>",
        "comment": f"<!-- c --><{prefix}v>{value}</{prefix}v>",
    }[content]
    pad = st.sampled_from(["", "", "\n  ", " "])
    end = f"</{prefix}c{draw(st.sampled_from(['', ' ']))}>"
    return f"{draw(_tag(f'{prefix}c', attrs, odd))}{draw(pad)}{inner}{draw(pad)}{end}"


@st.composite
def _sheet(draw: st.DrawFn, odd: bool) -> bytes:
    """A worksheet: a head (declaration, namespaces, formatting before the cells), rows of
    cells, and a tail of formatting and validation after them."""
    rows = []
    row = -1
    gaps = ["", "", "\n", "  "], ["<!-- r -->", "\r\n", "junk"]
    for _ in range(draw(st.integers(0, 6))):
        numbered = _pick(draw, ["yes"] * 5 + ["no"], ["odd"], odd)
        row += 1 if numbered == "no" else int(_pick(draw, ["1", "1", "1", "2", "5"], ["0", "-1"], odd))
        attrs = []
        if numbered == "yes":
            attrs.append(("r", str(row + 1)))
        elif numbered == "odd":
            attrs.append(("r", draw(st.sampled_from(["0", "x", " 3", "1048577", "٣"]))))
        if draw(st.booleans()):
            attrs.append(("spans", "1:20"))
        if draw(st.booleans()):
            attrs.append(("ht", "19.5"))
        count = draw(st.integers(0, 5))
        if count == 0 and draw(st.booleans()):
            rows.append(draw(_tag("row", attrs, odd, close=True)))
            continue
        cells = []
        col = -1
        for _ in range(count):
            col += draw(st.sampled_from([1, 1, 2, 3]))
            cells.append(_pick(draw, *gaps, odd) + draw(_cell(max(row, 0), col, odd)))
        end = _pick(draw, ["</row>", "</row>", "</row >"], ["", "</x:row>"], odd)
        rows.append(draw(_tag("row", attrs, odd)) + "".join(cells) + _pick(draw, *gaps, odd) + end)
    decl = _pick(draw, ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
                        '<?xml version="1.0" encoding="utf-8"?>', ""],
                 ['<?xml version="1.0" encoding="ISO-8859-1"?>', '<!DOCTYPE x [<!ENTITY e "e">]>'], odd)
    head = _pick(draw, ['<dimension ref="A1:T30"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>',
                        "", '<cols><col min="1" max="2" width="12.7"/></cols>'],
                 ["<!-- <sheetData> -->", '<sheetPr><c r="A1"/></sheetPr>', '<sheetPr><row r="1"/></sheetPr>',
                  "<x:sheetData/>"], odd)
    opening = _pick(draw, ["<sheetData>", "<sheetData >"], ["<sheetData/>", "<sheetData a='1' a='2'>"], odd)
    tail = _pick(draw, ['</sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells></worksheet>',
                        "</sheetData><conditionalFormatting><never-closed></worksheet>",
                        "\n</sheetData>\n</worksheet>", "</sheetData >"],
                 ["", "</sheetData", "</row></sheetData></worksheet>"], odd)
    body = "".join(_pick(draw, *gaps, odd) + r for r in rows)
    if opening == "<sheetData/>":
        body, tail = "", tail.replace("</sheetData>", "", 1)
    text = f"{decl}<worksheet {NS}>{head}{opening}{body}{tail}"
    data = text.encode("utf-8")
    if odd and draw(st.integers(0, 19)) == 0:
        at = data.rfind(b"1")
        data = data[:at] + b"\xff" + data[at + 1 :] if at >= 0 else data
    if odd and draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data


@SETTINGS
@given(_sheet(odd=True), st.integers(-1, 8), st.integers(-1, 20))
def test_a_random_sheet_reads_the_same_fast_or_not_at_all(data: bytes, last_row: int, last_col: int) -> None:
    _same_grid(data, last_row, last_col)


@SETTINGS
@given(_sheet(odd=False), st.integers(0, 8), st.integers(0, 20))
def test_a_sheet_in_the_simple_grammar_is_read_fast(data: bytes, last_row: int, last_col: int) -> None:
    """Whatever the cells hold and however the tags are spelt, the fast reader reads every
    well-formed sheet a writer of Excel files makes (unless the expat parser refuses it)."""
    fast = _same_grid(data, last_row, last_col)
    if fast is None:
        assert isinstance(_full_grid(data, last_row, last_col), str), data.decode()


@st.composite
def _strings(draw: st.DrawFn, odd: bool) -> bytes:
    items = []
    for _ in range(draw(st.integers(0, 6))):
        shape = _pick(draw, ["t", "t", "preserve", "rich", "rph", "empty", "t_empty", "two"],
                      ["prefix", "attr", "stray", "split"], odd)
        text = draw(_text(odd))
        items.append({
            "t": f"<si><t>{text}</t></si>",
            "preserve": f'<si><t xml:space="preserve">{text}</t></si>',
            "rich": f'<si><r><rPr><sz val="11"/><rFont val="宋体"/><charset val="134"/></rPr>'
                    f'<t xml:space="preserve">{text}</t></r><r><t>{draw(_text(odd))}</t></r></si>',
            "rph": f'<si><t>{text}</t><rPh sb="0" eb="1"><t>ヨミ</t></rPh><phoneticPr fontId="1"/></si>',
            "empty": "<si/>",
            "t_empty": "<si><t/></si>",
            "two": f"<si>\n  <t>{text}</t>\n</si>",
            "prefix": f"<x:si><x:t>{text}</x:t></x:si>",
            "attr": f'<si a="1"><t>{text}</t></si>',
            "stray": f"<si><t>{text}</t></si><t>stray</t>",
            "split": "<si><r><t>a&am</t></r><r><t>p;b</t></r></si>",
        }[shape])
    decl = _pick(draw, ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', ""],
                 ['<?xml version="1.0" encoding="ISO-8859-1"?>', '<!DOCTYPE x [<!ENTITY e "e">]>'], odd)
    opening = _pick(draw, [f'<sst {NS} count="9" uniqueCount="9">', "<sst>"],
                    ["<sst><t>before</t>", "<x:sst>", "<sst><extLst/>"], odd)
    tail = _pick(draw, ["</sst>", "</sst>\n", "\n</sst>"],
                 ["<extLst/></sst>", "", "</sst><!-- after -->", "</sst>junk"], odd)
    body = "".join(_pick(draw, ["", "", "\n"], ["<!-- s -->"], odd) + item for item in items)
    return f"{decl}{opening}{body}{tail}".encode()


@SETTINGS
@given(_strings(odd=True))
def test_random_shared_strings_read_the_same_fast_or_not_at_all(data: bytes) -> None:
    _same_strings(data)


@SETTINGS
@given(_strings(odd=False))
def test_shared_strings_in_the_usual_forms_are_read_fast(data: bytes) -> None:
    if b"<si" in data and _same_strings(data) is None:
        assert isinstance(_full_strings(data), str), data.decode()


# --------------------------------------------------------------------------- a real template


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 2021 template as xlsxwriter writes it (shared strings, cached results) and the 平潭
    report typed into it with openpyxl (every text an inline string, no cached results)."""
    folder = tmp_path_factory.mktemp("fast")
    sp = spec.builtin("2021")
    blank = template.build(sp, folder / "模板.xlsx")
    flat = report.flatten(example("pingtan_2021"), sp)
    values = {k: v for k, v in flat.items() if v is not None and not sp.cell(k).computed}
    return {"blank": blank, "filled": workbooks.fill(blank, folder / "平潭.xlsx", values)}


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _sheets(path: Path) -> list[tuple[bytes, int, int]]:
    """Each worksheet xlreport reads, with the last row and column it reads."""
    lay = reader._layout(spec.builtin("2021"))
    members = _members(path)
    out = []
    for name, (last_row, last_col) in reader._extent(lay).items():
        out.append((members[workbooks.sheet_part(path, name)], last_row, last_col))
    return out


_CELL_XML = re.compile(rb'<c r="[A-Z]+[0-9]+"[^>]*?(?:/>|>.*?</c>)', re.S)


def _rewrite(cell: bytes, how: str, value: str) -> bytes:
    """One cell of a real sheet written another way (or broken)."""
    text = cell.decode()
    ref = re.search(r'r="([A-Z]+[0-9]+)"', text)
    assert ref is not None
    if how == "attrs_reordered":
        tag = re.match(r"<c ([^>]*?)(/?)>", text)
        assert tag is not None
        attrs = re.findall(r'\S+="[^"]*"', tag.group(1))
        return f"<c {' '.join(reversed(attrs))}{tag.group(2)}>{text[tag.end():]}".encode()
    def holding(content: str) -> Callable[[str], str]:
        """The cell, without its type, holding ``content`` (which may begin with a type)."""
        return lambda t: re.sub(r'(<c [^>]*?)(?: t="[^"]*")?\s*/?>.*', lambda m: m.group(1) + content,
                                t, flags=re.S)

    def closed(change: Callable[[str], str]) -> Callable[[str], str]:
        return lambda t: change(t) if "</c>" in t else t

    changes: dict[str, Callable[[str], str]] = {
        "spaced": lambda t: t.replace(" ", " \n\t ").replace("><", ">\n <"),
        "single_quotes": lambda t: t.replace('"', "'"),
        "no_reference": lambda t: t.replace(f' r="{ref.group(1)}"', "", 1),
        "wrong_reference": lambda t: t.replace(ref.group(1), "A1", 1),
        "inline_string": holding(f' t="inlineStr"><is><t>{value}</t></is></c>'),
        "rich_inline": holding(f' t="inlineStr"><is><r><rPr><b/></rPr><t>{value}</t></r><r><t>尾</t></r></is></c>'),
        "number": holding(f"><v>{value}</v></c>"),
        "referenced_digits": lambda t: re.sub(r"<v>([0-9])", r"<v>&#x3\1;", t),
        "cdata": lambda t: re.sub(r"<v>([^<]*)</v>", r"<v><![CDATA[\1]]></v>", t),
        "comment": closed(lambda t: t.replace("</c>", "<!-- 注 --></c>")),
        "carriage_return": lambda t: re.sub(r"<v>", "<v>\r\n", t),
        "error_value": holding(' t="e"><f>1/0</f><v>#DIV/0!</v></c>'),
        "date": holding(' t="d"><v>2024-01-05T00:00:00</v></c>'),
        "shared_formula": holding('><f t="shared" si="0"/><v>3</v></c>'),
        "prefixed": closed(lambda t: t.replace("<c ", "<x:c ").replace("</c>", "</x:c>")
                           .replace("<v>", "<x:v>").replace("</v>", "</x:v>")),
        "bad_string_number": holding(' t="s"><v>x</v></c>'),
        "malformed": lambda t: t.replace("</c>", "</v>") if "</c>" in t else t[:-2] + ">",
    }
    return changes[how](text).encode()


REWRITES = ["attrs_reordered", "spaced", "single_quotes", "no_reference", "wrong_reference",
            "inline_string", "rich_inline", "number", "referenced_digits", "cdata", "comment",
            "carriage_return", "error_value", "date", "shared_formula", "prefixed",
            "bad_string_number", "malformed"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rewrites_of_a_real_sheet_read_the_same_fast_or_not_at_all(books: dict[str, Path], data: st.DataObject) -> None:
    sheets = _sheets(books[data.draw(st.sampled_from(sorted(books)))])
    xml, last_row, last_col = data.draw(st.sampled_from(sheets))
    cells = list(_CELL_XML.finditer(xml))
    chosen = data.draw(st.lists(st.integers(0, len(cells) - 1), max_size=4, unique=True))
    value = data.draw(st.sampled_from(["12", "4166.241619", "一、本年新收", "a&amp;b", "_x000D_", " 7 "]))
    out = bytearray(xml)
    for i in sorted(chosen, reverse=True):
        m = cells[i]
        out[m.start():m.end()] = _rewrite(m.group(), data.draw(st.sampled_from(REWRITES)), value)
    if data.draw(st.booleans()):
        last_row, last_col = data.draw(st.integers(0, 40)), data.draw(st.integers(0, 25))
    _same_grid(bytes(out), last_row, last_col)


def test_the_real_parts_are_read_fast(books: dict[str, Path]) -> None:
    for path in books.values():
        for xml, last_row, last_col in _sheets(path):
            assert _same_grid(xml, last_row, last_col) is not None
    assert _same_strings(_members(books["blank"])["xl/sharedStrings.xml"]) is not None


# --------------------------------------------------------------------------- whole workbooks


def outcome(path: Path) -> Any:
    """Everything a read gives (or the refusal), to compare two reads."""
    try:
        got = reader.read_workbook(path)
    except UnreadableInput as exc:
        return exc.code, exc.message
    return got.document(), [p.to_json() for p in got.problems], got.template, sorted(got.invalid)


class _Forgetful(dict[object, object]):
    """A cache that keeps nothing."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def expat_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the expat parser from now on, and nothing kept by content."""
    monkeypatch.setattr(xlsx, "fast_grid", lambda *args: None)
    monkeypatch.setattr(xlsx, "fast_strings", lambda *args: None)
    monkeypatch.setattr(xlsx, "_PARTS", _Forgetful())
    monkeypatch.setattr(reader, "_NAMES_OK", _Forgetful())


def test_workbooks_read_the_same_with_and_without_the_fast_paths(
    books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = list(books.values())
    filled = books["filled"]
    sheet = workbooks.sheet_part(filled, "三、依申请公开")
    for i, how in enumerate(REWRITES):
        def change(xml: str, how: str = how) -> str:
            cells = list(_CELL_XML.finditer(xml.encode()))
            m = cells[len(cells) // 2]
            return (xml.encode()[: m.start()] + _rewrite(m.group(), how, "12") + xml.encode()[m.end():]).decode()
        files.append(workbooks.patch(filled, tmp_path / f"改{i}.xlsx", {sheet: change}))
    fast = [outcome(p) for p in files]
    expat_only(monkeypatch)
    assert [outcome(p) for p in files] == fast


def _forge_crc(path: Path, part: str, crc: int) -> None:
    """Declare ``crc`` for ``part`` in both its local header and the central directory."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(part).header_offset
    data[local + 14 : local + 18] = struct.pack("<I", crc)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == part.encode():
            data[central + 16 : central + 20] = struct.pack("<I", crc)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as zf:
        assert crc == zf.getinfo(part).CRC


def test_parts_are_kept_by_their_bytes_not_by_the_crc_they_declare(books: dict[str, Path], tmp_path: Path) -> None:
    """A workbook part whose names were repointed but whose declared CRC was set to that of the
    original (already read and kept) is read from its own bytes: its CRC fails, it is damaged."""
    original = books["filled"]
    reader.read_workbook(original)
    with zipfile.ZipFile(original) as zf:
        crc = zf.getinfo("xl/workbook.xml").CRC
    changed = workbooks.patch(original, tmp_path / "改名称.xlsx",
                              {"xl/workbook.xml": lambda xml: xml.replace("$D$6", "$D$7", 1)})
    _forge_crc(changed, "xl/workbook.xml", crc)
    with pytest.raises(UnreadableInput) as info:
        reader.read_workbook(changed)
    assert info.value.code == "damaged" and "xl/workbook.xml" in info.value.message
    unforged = workbooks.patch(original, tmp_path / "改名称2.xlsx",
                               {"xl/workbook.xml": lambda xml: xml.replace("$D$6", "$D$7", 1)})
    with pytest.raises(UnreadableInput) as info:
        reader.read_workbook(unforged)
    assert info.value.code == "tampered"
