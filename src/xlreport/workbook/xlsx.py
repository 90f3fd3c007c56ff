"""A small, exact, bounded reader of the parts of an .xlsx that xlreport needs — no openpyxl.

After :func:`xlreport.precheck.precheck` has vetted the file, :func:`open_workbook` opens the zip
once and reads ``xl/workbook.xml`` (sheets, defined names, protection) and its relationships.
:meth:`Workbook.read_sheets` then reads only the worksheets asked for, only up to the last row
asked for, and resolves only the shared strings those cells use.  A cell comes back as a neutral
:class:`RawCell` — the XML type, the exact text of its value, its formula — so a number is the
decimal text Excel or LibreOffice wrote, never a float; :meth:`Workbook.value` turns it into the
raw value :func:`xlreport.values.parse` takes.

Every member goes through :func:`~xlreport.precheck.open_member` with a size limit, and every XML
part through expat with the protections of ``defusedxml``: a DTD, an entity declaration or an
external reference stops the parse.  Anything malformed raises
:class:`~xlreport.errors.UnreadableInput`; nothing else escapes.

Rows and columns are 0-based here, as in :mod:`xlreport.layout`; :func:`a1` and :func:`parse_a1`
are the only conversions between ``(row, col)`` and ``B5``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from pyexpat import ExpatError, ParserCreate, XMLParserType

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from ..checks.values import Formula, FormulaError, Raw, XmlNumber
from ..errors import UnreadableInput
from .cells import MAX_ROWS, a1, parse_a1
from .precheck import MB, open_member

_CHUNK = 64 * 1024
_STRINGS_CHUNK = 16 * 1024
_RESAVE = "请在 Excel 或 WPS 中重新保存后提交"
_REL_TYPE = "/relationships/"

#: Largest inflated size of each kind of member xlreport reads (the template's are a few KB).
LIMITS = {"workbook": 4 * MB, "rels": 1 * MB, "sheet": 16 * MB, "strings": 16 * MB, "styles": 4 * MB}

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
#: Built-in number formats that show a date or time (14–22, 45–47 everywhere; 27–36 and 50–58
#: in Chinese, Japanese and Korean versions of Excel and WPS).
_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?![hms]+\])[^\]]*\]', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RawCell:
    """One cell as stored: XML type (``t``), exact value text, formula text, style index."""

    type: str = "n"
    text: str | None = None
    formula: str | None = None
    style: int = 0


@dataclass(frozen=True)
class SheetEntry:
    """One sheet of ``xl/workbook.xml``: its name, ``visible|hidden|veryHidden``, its part."""

    name: str
    state: str
    part: str | None


Grid = dict[tuple[int, int], RawCell]


@dataclass
class Workbook:
    """An opened workbook: sheet list, workbook-scoped defined names, and lazy access to cells."""

    name: str
    zf: zipfile.ZipFile
    sheets: tuple[SheetEntry, ...]
    names: dict[str, list[str]]
    structure_locked: bool
    date1904: bool
    rels: dict[str, tuple[str, str]] = field(repr=False)
    _sst: _StringTable | None = field(default=None, repr=False)

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zf.close()

    def sheet(self, name: str) -> SheetEntry | None:
        return next((s for s in self.sheets if s.name == name), None)

    def read_sheets(self, wanted: Mapping[str, tuple[int, int]]) -> dict[str, Grid]:
        """Cells of each sheet ``name → (last row, last column)`` (0-based, inclusive).

        Reading stops at the first row past the last one asked for; shared strings are resolved
        for the cells returned, and only as far into the table as they need.
        """
        grids: dict[str, Grid] = {}
        for name, (last_row, last_col) in wanted.items():
            entry = self.sheet(name)
            if entry is None or entry.part is None:
                raise UnreadableInput(f"工作簿“{self.name}”中找不到工作表“{name}”", code="damaged")
            grids[name] = _SheetParser(self, entry, last_row, last_col).run()
        indexes = {int(c.text or 0) for g in grids.values() for c in g.values() if c.type == "s"}
        if indexes:
            strings = self._strings(max(indexes))
            for grid in grids.values():
                for pos, cell in grid.items():
                    if cell.type == "s":
                        grid[pos] = RawCell("s", strings[int(cell.text or 0)], cell.formula,
                                            cell.style)
        return grids

    def value(self, cell: RawCell | None) -> Raw:
        """What :func:`xlreport.values.parse` takes for ``cell``: a typed formula with its cached
        result, a formula error, an exact number, a date (a number in a date format), text…"""
        if cell is None:
            return None
        plain = self._plain(cell)
        return Formula(cell.formula, plain) if cell.formula is not None else plain

    def _plain(self, cell: RawCell) -> Raw:
        text = cell.text
        if text is None or (text == "" and cell.type not in ("s", "str", "inlineStr")):
            return None
        kind = cell.type
        if kind in ("s", "str", "inlineStr"):
            return text
        if kind == "b":
            return text.strip() in ("1", "true")
        if kind == "e":
            return FormulaError(text.strip())
        if kind == "d":
            try:
                return dt.datetime.fromisoformat(text.strip())
            except ValueError:
                return text
        number = XmlNumber(text.strip())
        if cell.style and cell.style in self._date_styles:
            return self._date(number)
        return number

    def _date(self, number: XmlNumber) -> Raw:
        epoch = dt.datetime(1904, 1, 1) if self.date1904 else dt.datetime(1899, 12, 30)
        try:
            return epoch + dt.timedelta(days=float(number))
        except (ValueError, OverflowError):
            return number

    def _part(self, rel_type: str) -> str | None:
        """The part of the workbook relationship of ``rel_type`` (``styles``, ``sharedStrings``)."""
        for kind, target in self.rels.values():
            if kind.endswith(_REL_TYPE + rel_type):
                return target
        return None

    def _strings(self, last: int) -> list[str]:
        """Shared strings 0…``last`` at least."""
        part = self._part("sharedStrings")
        if self._sst is None and part is not None:
            self._sst = _StringTable(self, part)
        strings = self._sst.upto(last) if self._sst is not None else []
        if last >= len(strings):
            raise _damaged(self.name, f"单元格引用的共享字符串第 {last + 1} 项不存在")
        return strings

    @cached_property
    def _date_styles(self) -> frozenset[int]:
        part = self._part("styles")
        return _parse_date_styles(self, part) if part is not None else frozenset()

    def parse(self, part: str, kind: str, handler: _Handler) -> None:
        """Feed member ``part`` to ``handler`` through a defused expat parser."""
        _expat(self.name, part, _member(self.zf, self.name, part, kind), handler)


def open_workbook(data: bytes, name: str) -> Workbook:
    """Open a pre-checked .xlsx held in ``data``; ``name`` is its file name for messages."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as exc:
        raise _damaged(name, "不是完整的 zip 结构") from exc
    try:
        rels = _parse_rels(zf, name, "xl/_rels/workbook.xml.rels", "xl/workbook.xml")
        info = _WorkbookHandler()
        _expat(name, "xl/workbook.xml", _member(zf, name, "xl/workbook.xml", "workbook"), info)
    except BaseException:
        zf.close()
        raise
    sheets = tuple(
        SheetEntry(sheet, state, rels[rid][1] if rid in rels else None)
        for sheet, state, rid in info.sheets
    )
    return Workbook(name, zf, sheets, info.names, info.locked, info.date1904, rels)


def _member(zf: zipfile.ZipFile, name: str, part: str, kind: str) -> bytes:
    """Member ``part`` inflated, refusing one larger than the limit for its ``kind``."""
    limit = LIMITS[kind]
    try:
        info = zf.getinfo(part)
    except KeyError:
        raise _damaged(name, f"缺少 {part}") from None
    if info.file_size > limit:
        raise UnreadableInput(
            f"文件“{name}”中的 {part} 解压后有 {info.file_size / MB:.1f} MB，超过上限 "
            f"{limit / MB:.0f} MB；请删除报表以外的多余内容（整行整列的格式、图片、粘贴进来的大表格）"
            "后重新保存再提交",
            code="too_large",
        )
    return open_member(zf, part, limit)


# --------------------------------------------------------------------------- XML plumbing


class _Stop(Exception):
    """Raised by a handler once it has everything it needs."""


class _Handler:
    """Receives the events of one XML part straight from expat (no namespace processing: an
    element name may carry a prefix, ``x:c``, which handlers strip)."""

    collecting = False

    def __init__(self) -> None:
        self.parts: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element starts."""

    def end(self, name: str) -> None:
        """An element ends."""

    def data(self, text: str) -> None:
        if self.collecting:
            self.parts.append(text)


def _parser(handler: _Handler) -> XMLParserType:
    """An expat parser feeding ``handler`` that refuses what ``defusedxml`` refuses: a DTD
    (hence any entity declaration) and external references."""

    def doctype(name: str, sysid: str | None, pubid: str | None, internal: int) -> None:
        raise DTDForbidden(name, sysid, pubid)

    def entity(name: str, *args: object) -> None:
        raise EntitiesForbidden(name, None, None, None, None, None)

    def external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    parser = ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    return parser


def _feed(book: str, part: str, parser: XMLParserType, chunk: bytes, final: bool) -> bool:
    """Parse one chunk; False once the handler stopped the parse."""
    try:
        parser.Parse(chunk, final)
    except _Stop:
        return False
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise UnreadableInput(
            f"文件“{book}”的 {part} 含有 XML 文档类型或实体声明（DTD），Excel 和 WPS 不会写出这种内容，"
            f"可能是恶意构造的文件，已拒绝读取；{_RESAVE}",
            code="hostile",
        ) from None
    except ExpatError as exc:
        raise _damaged(book, f"{part} 不是有效的 XML（第 {exc.lineno} 行）") from None
    except (ValueError, OverflowError) as exc:
        raise _damaged(book, f"{part} 中的数据有误（{exc}）") from None
    return True


def _expat(book: str, part: str, data: bytes, handler: _Handler) -> None:
    """Parse ``data`` into ``handler`` in chunks, until its end or until the handler stops."""
    parser = _parser(handler)
    for at in range(0, len(data), _CHUNK):
        if not _feed(book, part, parser, data[at : at + _CHUNK], False):
            return
    _feed(book, part, parser, b"", True)


def _local(name: str) -> str:
    return name.rpartition(":")[2] if ":" in name else name


def _damaged(name: str, detail: str) -> UnreadableInput:
    return UnreadableInput(f"文件“{name}”已损坏或不完整（{detail}），{_RESAVE}", code="damaged")


def _unescape(text: str) -> str:
    """OOXML writes control characters as ``_x000D_``; turn them back."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


class _TextCollector(_Handler):
    """Collects the text of ``<t>`` elements, skipping phonetic runs (``<rPh>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.phonetic = 0

    def text_start(self, tag: str) -> None:
        if tag == "rPh":
            self.phonetic += 1
        elif tag == "t" and not self.phonetic:
            self.collecting = True

    def text_end(self, tag: str) -> None:
        if tag == "rPh":
            self.phonetic -= 1
        elif tag == "t":
            self.collecting = False

    def take(self) -> str:
        text = _unescape("".join(self.parts))
        self.parts = []
        return text


# --------------------------------------------------------------------------- parts


def _parse_rels(
    zf: zipfile.ZipFile, name: str, part: str, source: str
) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target part) of ``part``, targets resolved against ``source``."""
    rels: dict[str, tuple[str, str]] = {}
    base = PurePosixPath(source).parent

    class Rels(_Handler):
        def start(self, name: str, attrs: dict[str, str]) -> None:
            if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
                target = attrs.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else str(base / target)
                rels[attrs.get("Id", "")] = (attrs.get("Type", ""), _normalise(path))

    _expat(name, part, _member(zf, name, part, "rels"), Rels())
    return rels


def _normalise(path: str) -> str:
    out: list[str] = []
    for piece in path.split("/"):
        if piece == "..":
            if out:
                out.pop()
        elif piece not in ("", "."):
            out.append(piece)
    return "/".join(out)


class _WorkbookHandler(_Handler):
    """Sheets, workbook-scoped defined names, structure protection and the date system."""

    def __init__(self) -> None:
        super().__init__()
        self.sheets: list[tuple[str, str, str | None]] = []
        self.names: dict[str, list[str]] = {}
        self.locked = False
        self.date1904 = False
        self._name: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "definedName":
            scoped = "localSheetId" in attrs
            self._name = None if scoped else attrs.get("name", "").lower()
            self.parts = []
            self.collecting = not scoped
        elif tag == "sheet":
            rid = next((v for k, v in attrs.items() if k == "id" or k.endswith(":id")), None)
            self.sheets.append((attrs.get("name", ""), attrs.get("state", "visible"), rid))
        elif tag == "workbookProtection":
            self.locked = attrs.get("lockStructure", "0") in ("1", "true")
        elif tag == "workbookPr":
            self.date1904 = attrs.get("date1904", "0") in ("1", "true")

    def end(self, name: str) -> None:
        if self._name is not None and _local(name) == "definedName":
            self.names.setdefault(self._name, []).append("".join(self.parts).strip())
            self._name = None
            self.collecting = False


class _SheetParser(_TextCollector):
    """The cells of one worksheet up to ``last_row``/``last_col``."""

    def __init__(self, book: Workbook, entry: SheetEntry, last_row: int, last_col: int) -> None:
        super().__init__()
        self.book, self.entry = book, entry
        self.last_row, self.last_col = last_row, last_col
        self.cells: Grid = {}
        self.row = -1
        self.col = -1
        self.cell: dict[str, str] | None = None
        self.target: str | None = None
        self.values: dict[str, str] = {}

    def run(self) -> Grid:
        assert self.entry.part is not None
        self.book.parse(self.entry.part, "sheet", self)
        return self.cells

    def _bad(self, detail: str) -> UnreadableInput:
        return _damaged(self.book.name, f"工作表“{self.entry.name}”{detail}")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if ":" in name:
            name = name.rpartition(":")[2]
        if name == "c":
            ref = attrs.get("r")
            if ref is None:
                self.col += 1
            else:
                pos = parse_a1(ref)
                if pos is None or pos[0] != self.row or pos[1] <= self.col:
                    raise self._bad(f"的单元格引用“{ref[:20]}”有误")
                self.col = pos[1]
            self.cell, self.values = attrs, {}
        elif self.cell is not None:
            if name == "v" or name == "f":
                self.target, self.collecting, self.parts = name, True, []
            elif name == "is":
                self.target, self.parts = "is", []
            elif self.target == "is":
                self.text_start(name)
        elif name == "row":
            number = attrs.get("r")
            row = self.row + 1 if number is None else _int(number, 0) - 1
            if not self.row < row < MAX_ROWS:
                raise self._bad(f"的行号“{(number or '')[:20]}”有误")
            if row > self.last_row:
                raise _Stop
            self.row, self.col = row, -1

    def end(self, name: str) -> None:
        if ":" in name:
            name = name.rpartition(":")[2]
        if self.cell is None:
            if name == "sheetData":  # the cells are done; the rest is formatting and validation
                raise _Stop
            return
        if name == "c":
            self._store(self.cell)
            self.cell = None
        elif name == self.target and name != "is":
            self.values[name] = "".join(self.parts)
            self.target, self.collecting = None, False
        elif name == "is":
            self.values["v"] = self.take()
            self.target = None
        elif self.target == "is":
            self.text_end(name)

    def _store(self, attrs: dict[str, str]) -> None:
        if self.row < 0:
            raise self._bad("的单元格不在任何行中")
        if self.col > self.last_col:
            return
        kind = attrs.get("t", "n")
        text = self.values.get("v")
        if kind == "s" and text is not None:
            index = _int(text, -1)
            if index < 0:
                raise self._bad(f"{a1(self.row, self.col)} 的共享字符串编号“{text[:20]}”有误")
            text = str(index)
        elif kind in ("str", "inlineStr") and text is not None:
            text = _unescape(text)
        style = attrs.get("s")
        self.cells[self.row, self.col] = RawCell(
            kind, text, self.values.get("f"), _int(style, 0) if style else 0
        )


def _int(text: str, default: int) -> int:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 10 else default


class _StringTable(_TextCollector):
    """The shared strings, parsed as far as needed and resumed when more are needed; rich-text
    runs are joined."""

    def __init__(self, book: Workbook, part: str) -> None:
        super().__init__()
        self.book, self.part = book, part
        self.source = _member(book.zf, book.name, part, "strings")
        self.parser = _parser(self)
        self.at = 0
        self.items: list[str] = []

    def upto(self, last: int) -> list[str]:
        """At least the strings 0…``last``, unless the table ends first."""
        while len(self.items) <= last and self.at <= len(self.source):
            chunk = self.source[self.at : self.at + _STRINGS_CHUNK]
            self.at += _STRINGS_CHUNK
            _feed(self.book.name, self.part, self.parser, chunk, self.at > len(self.source))
        return self.items

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.text_start(_local(name))

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag == "si":
            self.items.append(self.take())
        else:
            self.text_end(tag)


def _parse_date_styles(book: Workbook, part: str) -> frozenset[int]:
    """Indexes of the cell formats (``cellXfs``) that show numbers as dates or times."""

    class Styles(_Handler):
        def __init__(self) -> None:
            super().__init__()
            self.formats: dict[int, str] = {}
            self.xfs: list[int] = []
            self.in_xfs = False

        def start(self, name: str, attrs: dict[str, str]) -> None:
            tag = _local(name)
            if tag == "numFmt":
                self.formats[_int(attrs.get("numFmtId", ""), -1)] = attrs.get("formatCode", "")
            elif tag == "cellXfs":
                self.in_xfs = True
            elif tag == "xf" and self.in_xfs:
                self.xfs.append(_int(attrs.get("numFmtId", "0"), 0))

        def end(self, name: str) -> None:
            if _local(name) == "cellXfs":
                raise _Stop

    handler = Styles()
    book.parse(part, "styles", handler)
    dates = {i for i, f in handler.formats.items() if _is_date_format(f)}
    dates |= _DATE_FORMATS - handler.formats.keys()
    return frozenset(i for i, fmt in enumerate(handler.xfs) if fmt in dates)


def _is_date_format(code: str) -> bool:
    """Whether a number format code shows a date or time (``yyyy"年"m"月"``, ``[h]:mm``)."""
    section = _FORMAT_NOISE.sub("", code.split(";", 1)[0]).lower()
    return section != "general" and any(ch in section for ch in "ymdhs")
