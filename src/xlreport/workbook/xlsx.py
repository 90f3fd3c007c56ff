"""A small, exact, bounded reader of the parts of an .xlsx that xlreport needs — no openpyxl.

After :func:`xlreport.precheck.precheck` has vetted the file, :func:`open_workbook` takes its bytes
(and the zip directory the pre-check parsed, if given) and reads ``xl/workbook.xml`` (sheets,
defined names, protection) and its relationships.  :meth:`Workbook.read_sheets` then reads only the
worksheets asked for, only up to the last row asked for, and resolves only the shared strings those
cells use.  A cell comes back as a neutral :class:`RawCell` — the XML type, the exact text of its
value, its formula — so a number is the decimal text Excel or LibreOffice wrote, never a float;
:meth:`Workbook.value` turns it into the raw value :func:`xlreport.values.parse` takes.

Every member is inflated with a size limit (:func:`~xlreport.precheck.open_member`, or the same
bound here), and every XML part goes through expat with the protections of ``defusedxml``: a DTD,
an entity declaration or an external reference stops the parse.  Anything malformed raises
:class:`~xlreport.errors.UnreadableInput`; nothing else escapes.

Two shortcuts keep a read cheap, and each gives exactly what the expat path gives or steps aside
for it (``tests/test_reader_fast.py`` checks this on random rewrites of real parts):

* A worksheet is inflated only through ``</sheetData>`` (what follows is formatting and
  validation), and its cells are cut into tokens by one regular expression over the bytes.  Each
  distinct token is read once (by a strict pattern of the simple grammar every writer uses, or by
  expat on that token alone) and remembered; the part before the cells goes through expat.  Any
  token outside that grammar, a gap between tokens, or anything before the cells that the cell
  parser would act on sends the whole sheet to the expat parser.  The shared strings are read the
  same way, one ``<si>`` per token.
* The parse of the structural parts (workbook, relationships, styles, shared strings) is kept per
  content: the sha256 of the member's stored bytes with its method, declared size and CRC.  A part
  seen before is not inflated again.

Rows and columns are 0-based here, as in :mod:`xlreport.layout`; :func:`a1` and :func:`parse_a1`
are the only conversions between ``(row, col)`` and ``B5``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from pyexpat import ExpatError, ParserCreate, XMLParserType
from typing import TypeVar

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from ..checks.values import Formula, FormulaError, Raw, XmlNumber
from ..errors import UnreadableInput
from .cells import MAX_COLS, MAX_ROWS, a1, parse_a1
from .precheck import MB, open_member, stored_span

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

_T = TypeVar("_T")


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
    """An opened workbook: sheet list, workbook-scoped defined names, and lazy access to cells.

    ``names`` and ``rels`` may be shared with other workbooks of the same content: read only.
    """

    name: str
    zf: zipfile.ZipFile
    sheets: tuple[SheetEntry, ...]
    names: dict[str, list[str]]
    structure_locked: bool
    date1904: bool
    rels: dict[str, tuple[str, str]] = field(repr=False)
    data: bytes = field(default=b"", repr=False)
    _sst: Sequence[str] | _StringTable | None = field(default=None, repr=False)

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
        shared: list[tuple[Grid, tuple[int, int], RawCell, int]] = []
        for name, (last_row, last_col) in wanted.items():
            entry = self.sheet(name)
            if entry is None or entry.part is None:
                raise UnreadableInput(f"工作簿“{self.name}”中找不到工作表“{name}”", code="damaged")
            grid = grids[name] = self._grid(entry.name, entry.part, last_row, last_col)
            shared += [(grid, pos, c, int(c.text or 0)) for pos, c in grid.items() if c.type == "s"]
        if shared:
            strings = self._strings(max(index for *_, index in shared))
            for grid, pos, cell, index in shared:
                grid[pos] = RawCell("s", strings[index], cell.formula, cell.style)
        return grids

    def _grid(self, sheet: str, part: str, last_row: int, last_col: int) -> Grid:
        cells = self._through(part, "sheet", b"</sheetData")
        grid = fast_grid(cells, last_row, last_col) if cells is not None else None
        if grid is None:
            grid = full_grid(self.name, sheet, part, self.member(part, "sheet"), last_row, last_col)
        return grid

    def value(self, cell: RawCell | None) -> Raw:
        """What :func:`xlreport.values.parse` takes for ``cell``: a typed formula with its cached
        result, a formula error, an exact number, a date (a number in a date format), text…"""
        if cell is None:
            return None
        plain = self._plain(cell)
        return Formula(cell.formula, plain) if cell.formula is not None else plain

    def _plain(self, cell: RawCell) -> Raw:
        text = cell.text
        kind = cell.type
        if kind in ("s", "str", "inlineStr"):
            return text
        if not text:
            return None
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

    def _strings(self, last: int) -> Sequence[str]:
        """Shared strings 0…``last`` at least."""
        part = self._part("sharedStrings")
        if self._sst is None and part is not None:
            self._sst = _cached(self.zf, self.data, self.name, part, "strings", (), self._table)
        if isinstance(self._sst, _StringTable):
            strings: Sequence[str] = self._sst.upto(last)
        else:
            strings = self._sst if self._sst is not None else ()
        if last >= len(strings):
            raise _damaged(self.name, f"单元格引用的共享字符串第 {last + 1} 项不存在")
        return strings

    def _table(self, part: str, source: bytes) -> tuple[Sequence[str] | _StringTable, bool]:
        """The shared strings: all of them at once (kept by content), or parsed as needed."""
        strings = fast_strings(source)
        if strings is not None:
            return strings, True
        return _StringTable(self.name, part, source), False

    @cached_property
    def _date_styles(self) -> frozenset[int]:
        part = self._part("styles")
        if part is None:
            return frozenset()
        return _cached(self.zf, self.data, self.name, part, "styles", (),
                       lambda part, source: (_parse_date_styles(self.name, part, source), True))

    def member(self, part: str, kind: str) -> bytes:
        """Member ``part`` inflated, refusing one larger than the limit for its ``kind``."""
        return _member(self.zf, self.name, part, kind, self.data)


    def _through(self, part: str, kind: str, marker: bytes) -> bytes | None:
        """Member ``part`` inflated from its start through the first ``marker`` and the ``>``
        after it, within its limit; None where the whole member must be read (not deflated, no
        marker, more than a fast read takes on)."""
        info = _info(self.zf, self.name, part, kind)
        span = stored_span(self.data, info) if self.data else None
        if span is None or info.compress_type != zipfile.ZIP_DEFLATED:
            return None
        return _inflate_through(self.data, span, min(info.file_size, _FAST_MAX), marker)


def open_workbook(data: bytes, name: str, zf: zipfile.ZipFile | None = None) -> Workbook:
    """Open a pre-checked .xlsx held in ``data``; ``name`` is its file name for messages, ``zf``
    the zip directory of ``data`` if already parsed (:func:`~xlreport.precheck.vetted`)."""
    if zf is None:
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as exc:
            raise _damaged(name, "不是完整的 zip 结构") from exc
    try:
        rels = _parse_rels(zf, name, "xl/_rels/workbook.xml.rels", "xl/workbook.xml", data)
        info = _cached(zf, data, name, "xl/workbook.xml", "workbook", (), _book_info(name))
    except BaseException:
        zf.close()
        raise
    sheets = tuple(
        SheetEntry(sheet, state, rels[rid][1] if rid in rels else None)
        for sheet, state, rid in info.sheets
    )
    return Workbook(name, zf, sheets, info.names, info.locked, info.date1904, rels, data)


def forget() -> None:
    """Drop every part and token kept from the workbooks read so far: the next read costs what
    the first read of a process costs."""
    _PARTS.clear()
    for kept in (_TOKENS, _SI_TEXTS, _HEADS):
        kept.clear()
        kept.size = 0


def _book_info(name: str) -> Callable[[str, bytes], tuple[_WorkbookHandler, bool]]:
    def parse(part: str, source: bytes) -> tuple[_WorkbookHandler, bool]:
        info = _WorkbookHandler()
        _expat(name, part, source, info)
        return info, True

    return parse


# --------------------------------------------------------------------------- members


#: Parsed structural parts, by (kind, context, method, declared CRC and size, sha256 of the
#: stored bytes): one part stored the same way always inflates and parses the same.
_PARTS: dict[tuple[object, ...], object] = {}
_PARTS_KEPT = 64
#: Parts kept by content are at most this large inflated.
_PART_MAX = 256 * 1024
#: A fast read of a worksheet inflates at most this much; a larger one goes to the full parser.
_FAST_MAX = 4 * MB


def _info(zf: zipfile.ZipFile, name: str, part: str, kind: str) -> zipfile.ZipInfo:
    """The directory entry of ``part``, refusing one declared larger than the limit of ``kind``."""
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
    return info


def _member(zf: zipfile.ZipFile, name: str, part: str, kind: str, data: bytes = b"") -> bytes:
    """Member ``part`` inflated, refusing one larger than the limit for its ``kind``."""
    info = _info(zf, name, part, kind)
    span = stored_span(data, info) if data else None
    inflated = _inflate(data, span, info) if span is not None else None
    return inflated if inflated is not None else open_member(zf, part, LIMITS[kind])


def _inflate(data: bytes, span: tuple[int, int], info: zipfile.ZipInfo) -> bytes | None:
    """The stored bytes ``data[span]`` inflated, if that gives exactly the declared size and CRC
    (what zipfile would return); None where zipfile must decide (and refuse).  The declared size
    is within the member's limit, so inflating stops there."""
    raw = memoryview(data)[span[0] : span[1]]
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(raw)
    else:
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(raw, info.file_size + 1)
        except zlib.error:
            return None
        if not inflater.eof:
            return None
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        return None
    return out


def _inflate_through(data: bytes, span: tuple[int, int], limit: int, marker: bytes) -> bytes | None:
    """The deflated bytes ``data[span]`` inflated through the first ``marker`` and the next
    ``>``, at most ``limit`` bytes; None if the stream is damaged or ends, or the limit comes,
    first."""
    inflater = zlib.decompressobj(-15)
    out = bytearray()
    at, end = span
    searched = 0
    found = -1
    pending = b""
    try:
        while at < end or pending:
            if not pending:
                pending, at = data[at : min(at + _CHUNK, end)], at + _CHUNK
            out += inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if found < 0:
                found = out.find(marker, max(searched - len(marker), 0))
                searched = len(out)
            close = out.find(b">", found) if found >= 0 else -1
            if close >= 0:
                return bytes(out[: close + 1]) if close < limit else None
            if len(out) > limit or inflater.eof:
                return None
    except zlib.error:
        return None
    return None


def _cached(
    zf: zipfile.ZipFile,
    data: bytes,
    name: str,
    part: str,
    kind: str,
    context: tuple[object, ...],
    parse: Callable[[str, bytes], tuple[_T, bool]],
) -> _T:
    """``parse(part, inflated member)``, kept by the member's stored content when it says so.

    The key is the sha256 of the stored bytes, the method, and the declared size and CRC, so a hit
    is a member that inflated, passed its CRC and parsed before; never the CRC alone.
    """
    info = _info(zf, name, part, kind)
    span = stored_span(data, info) if data and info.file_size <= _PART_MAX else None
    key: tuple[object, ...] | None = None
    if span is not None:
        digest = hashlib.sha256(memoryview(data)[span[0] : span[1]]).digest()
        key = (kind, *context, info.compress_type, info.CRC, info.file_size, digest)
        if key in _PARTS:
            return _PARTS[key]  # type: ignore[return-value]
    inflated = _inflate(data, span, info) if span is not None else None
    value, keep = parse(part, inflated if inflated is not None else open_member(
        zf, part, LIMITS[kind]))
    if key is not None and keep:
        if len(_PARTS) >= _PARTS_KEPT:
            del _PARTS[next(iter(_PARTS))]
        _PARTS[key] = value
    return value


# --------------------------------------------------------------------------- XML plumbing


class _Stop(Exception):
    """Raised by a handler once it has everything it needs."""


class _Unusual(Exception):
    """Raised by a fast reader's handler: this part needs the full parser."""


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
    zf: zipfile.ZipFile, name: str, part: str, source: str, data: bytes = b""
) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target part) of ``part``, targets resolved against ``source``."""
    base = PurePosixPath(source).parent

    def parse(part: str, xml: bytes) -> tuple[dict[str, tuple[str, str]], bool]:
        rels: dict[str, tuple[str, str]] = {}

        class Rels(_Handler):
            def start(self, name: str, attrs: dict[str, str]) -> None:
                if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
                    target = attrs.get("Target", "")
                    path = target.lstrip("/") if target.startswith("/") else str(base / target)
                    rels[attrs.get("Id", "")] = (attrs.get("Type", ""), _normalise(path))

        _expat(name, part, xml, Rels())
        return rels, True

    return _cached(zf, data, name, part, "rels", (source,), parse)


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


def full_grid(book: str, sheet: str, part: str, data: bytes, last_row: int, last_col: int) -> Grid:
    """The cells of worksheet ``sheet`` (member ``part`` inflated in ``data``) up to
    ``last_row``/``last_col``, by expat; :class:`UnreadableInput` if malformed."""
    parser = _SheetParser(book, sheet, last_row, last_col)
    _expat(book, part, data, parser)
    return parser.cells


class _SheetParser(_TextCollector):
    """The cells of one worksheet up to ``last_row``/``last_col``."""

    def __init__(self, book: str, sheet: str, last_row: int, last_col: int) -> None:
        super().__init__()
        self.book, self.sheet = book, sheet
        self.last_row, self.last_col = last_row, last_col
        self.cells: Grid = {}
        self.row = -1
        self.col = -1
        self.cell: dict[str, str] | None = None
        self.target: str | None = None
        self.values: dict[str, str] = {}

    def _bad(self, detail: str) -> UnreadableInput:
        return _damaged(self.book, f"工作表“{self.sheet}”{detail}")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if ":" in name:
            name = name.rpartition(":")[2]
        if name == "c":
            self.place(attrs.get("r"))
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

    def place(self, ref: str | None) -> None:
        """Where the cell that starts goes: its ``r``, or the column after the last one."""
        if ref is None:
            self.col += 1
        else:
            pos = parse_a1(ref)
            if pos is None or pos[0] != self.row or pos[1] <= self.col:
                raise self._bad(f"的单元格引用“{ref[:20]}”有误")
            self.col = pos[1]

    def end(self, name: str) -> None:
        if ":" in name:
            name = name.rpartition(":")[2]
        if self.cell is None:
            if name == "sheetData":  # the cells are done; the rest is formatting and validation
                raise _Stop
            return
        if name == "c":
            self.store(self.cell)
            self.cell = None
        elif name == self.target and name != "is":
            self.values[name] = "".join(self.parts)
            self.target, self.collecting = None, False
        elif name == "is":
            self.values["v"] = self.take()
            self.target = None
        elif self.target == "is":
            self.text_end(name)

    def store(self, attrs: dict[str, str]) -> None:
        """The cell that ends, from its attributes and the ``values`` of its elements."""
        if self.row < 0:
            raise self._bad("的单元格不在任何行中")
        if self.col > self.last_col:
            return
        cell = _raw_cell(attrs, self.values)
        if cell is None:
            text = self.values.get("v") or ""
            raise self._bad(f"{a1(self.row, self.col)} 的共享字符串编号“{text[:20]}”有误")
        self.cells[self.row, self.col] = cell


def _raw_cell(attrs: Mapping[str, str], values: Mapping[str, str]) -> RawCell | None:
    """A cell from its attributes and the text of its ``<v>`` (or ``<is>``) and ``<f>``; None if
    it is a shared string whose number is no number."""
    return _raw(attrs.get("t", "n"), values.get("v"), values.get("f"), attrs.get("s"))


def _raw(kind: str, text: str | None, formula: str | None, style: str | None) -> RawCell | None:
    """:func:`_raw_cell` from the attributes ``t`` and ``s`` and the texts it reads."""
    if kind == "s" and text is not None:
        index = _int(text, -1)
        if index < 0:
            return None
        text = str(index)
    elif kind in ("str", "inlineStr") and text is not None:
        text = _unescape(text)
    return RawCell(kind, text, formula, _int(style, 0) if style else 0)


def _int(text: str, default: int) -> int:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 10 else default


class _Strings(_TextCollector):
    """The shared strings in document order; rich-text runs are joined."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.text_start(_local(name))

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag == "si":
            self.items.append(self.take())
        else:
            self.text_end(tag)


class _StringTable(_Strings):
    """The shared strings, parsed as far as needed and resumed when more are needed."""

    def __init__(self, book: str, part: str, source: bytes) -> None:
        super().__init__()
        self.book, self.part, self.source = book, part, source
        self.parser = _parser(self)
        self.at = 0

    def upto(self, last: int) -> list[str]:
        """At least the strings 0…``last``, unless the table ends first."""
        while len(self.items) <= last and self.at <= len(self.source):
            chunk = self.source[self.at : self.at + _STRINGS_CHUNK]
            self.at += _STRINGS_CHUNK
            _feed(self.book, self.part, self.parser, chunk, self.at > len(self.source))
        return self.items


def _parse_date_styles(book: str, part: str, source: bytes) -> frozenset[int]:
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
    _expat(book, part, source, handler)
    dates = {i for i, f in handler.formats.items() if _is_date_format(f)}
    dates |= _DATE_FORMATS - handler.formats.keys()
    return frozenset(i for i, fmt in enumerate(handler.xfs) if fmt in dates)


def _is_date_format(code: str) -> bool:
    """Whether a number format code shows a date or time (``yyyy"年"m"月"``, ``[h]:mm``)."""
    section = _FORMAT_NOISE.sub("", code.split(";", 1)[0]).lower()
    return section != "general" and any(ch in section for ch in "ymdhs")


# --------------------------------------------------------------------------- fast reading
#
# What expat would make of a part, found without a callback per element.  The part before the
# first token goes through expat itself (``_head``); after it the bytes are cut into tokens by a
# loose pattern that must leave no gap, and each distinct token is read once — by a pattern over
# its bytes for the usual cell or string (``_PLAIN_CELL``, ``_PLAIN_SI``), by a strict pattern
# of the simple grammar (``_CELL``, ``_ROW``, ``_SI``, ``_SI_RICH``: attributes without
# references or line breaks, text without a CR or ``]]>``, only the five named references and
# character numbers), or by expat on that token alone — and the result kept (``_TOKENS``,
# ``_SI_TEXTS``).  Whatever none of them vouches for returns None, and the caller uses the
# full parser.

_WS = rb"[ \t\r\n]*"
_B_SPACE = b" \t\r\n"
#: One element or row tag of ``<sheetData>``, with the white space before it (loose: a strict
#: pattern reads each token).
_TOKEN = re.compile(
    _WS + rb"(?:<c(?=[ \t\r\n/>])[^>]*/>"
    rb"|<c(?=[ \t\r\n/>])[^>]*>[^<]*(?:<(?!/c[ \t\r\n]*>)[^<]*)*</c" + _WS + rb">"
    rb"|<row(?=[ \t\r\n/>])[^>]*>|</row" + _WS + rb">)"
)
_SI_TOKEN = re.compile(
    _WS + rb"(?:<si(?=[ \t\r\n/>])[^>]*/>"
    rb"|<si(?=[ \t\r\n/>])[^>]*>[^<]*(?:<(?!/si[ \t\r\n]*>)[^<]*)*</si" + _WS + rb">)"
)
_SHEET_DATA = re.compile(rb"<sheetData(?=[ \t\r\n/>])[^>]*?(/?)>")
_SHEET_DATA_END = re.compile(rb"</sheetData" + _WS + rb">")
_SI_START = re.compile(rb"<si(?=[ \t\r\n/>])[^>]*>")
_SST_END = re.compile(rb"</sst" + _WS + rb">" + _WS)

_S = r"[ \t\r\n]*"
_ATTRS = (r"((?:[ \t\r\n]+[A-Za-z_:][-A-Za-z0-9_.:]*" + _S
          + r"""=""" + _S + r"""(?:"[^"<>&\t\n\r]*"|'[^'<>&\t\n\r]*'))*)""" + _S)
_TEXT = r"([^<]*)"
_CELL = re.compile(
    _S + "<c" + _ATTRS + "(?:/>|>" + _S
    + "(?:<f" + _ATTRS + "(?:/>|>" + _TEXT + "</f" + _S + ">)" + _S + ")?"
    + "(?:<v" + _ATTRS + "(?:/>|>" + _TEXT + "</v" + _S + ">)" + _S + ")?"
    + "(?:<is()" + _S + "(?:/>|>" + _S
    + "(?:<t" + _ATTRS + "(?:/>|>" + _TEXT + "</t" + _S + ">)" + _S + ")?"
    + "</is" + _S + ">)" + _S + ")?"
    + "</c" + _S + ">)"
)
#: The cell most writers write for a number, a shared string or a formula with its result, in
#: this attribute order; text of printable characters without ``<`` or ``>``, ``&`` only in a
#: named reference (bytes past ASCII must still decode, as UTF-8, to characters expat takes).
_PLAIN_CHARS = rb"[\x20-\x25\x27-\x3b\x3d\x3f-\x7e\x80-\xff]*"
_PLAIN_TEXT = rb"(" + _PLAIN_CHARS + rb"(?:&(?:lt|gt|amp|quot|apos);" + _PLAIN_CHARS + rb")*)"
_PLAIN_CELL = re.compile(
    rb'[ \t\n]*<c r="([A-Z]{1,3}[1-9][0-9]{0,6})"(?: s="([0-9]{1,9})")?'
    rb'(?: t="(n|s|str|b|e|d)")?(?:/>|>'
    rb'(?:<f(?: aca="(?:false|true)")?>' + _PLAIN_TEXT + rb"</f>)?"
    rb"(?:<v>" + _PLAIN_TEXT + rb"</v>)?</c>)"
)
#: The shared string most writers write: one run of such text.
_PLAIN_SI = re.compile(rb'[ \t\n]*<si><t(?: xml:space="preserve")?>' + _PLAIN_TEXT + rb"</t></si>")
_ROW = re.compile(_S + "<row" + _ATTRS + "(/?)>")
_ROW_END = re.compile(_S + "</row" + _S + ">")
_SI = re.compile(_S + "<si" + _S + "(?:/>|>" + _S
                 + "(?:<t" + _ATTRS + "(?:/>|>" + _TEXT + "</t" + _S + ">)" + _S + ")?"
                 + "</si" + _S + ">)")
_ANY_ATTRS = (r"(?:[ \t\r\n]+[A-Za-z_:][-A-Za-z0-9_.:]*" + _S + "=" + _S
              + r"""(?:"[^"<>&\t\n\r]*"|'[^'<>&\t\n\r]*'))*""" + _S)
#: A rich-text string: runs of text, each with its font (``rPr``: empty elements of the usual
#: names), as Excel and LibreOffice write them.
_SI_RICH = re.compile(
    _S + "<si" + _S + ">" + _S + "(?:<r" + _S + ">" + _S
    + "(?:<rPr" + _S + ">(?:" + _S + "<(?:b|i|u|strike|sz|color|rFont|family|charset|scheme"
    + "|vertAlign|outline|shadow|condense|extend)" + _ANY_ATTRS + "/>)*" + _S + "</rPr" + _S
    + ">" + _S + ")?"
    + "<t" + _ANY_ATTRS + "(?:/>|>[^<]*</t" + _S + ">)" + _S + "</r" + _S + ">" + _S + ")+"
    + "</si" + _S + ">"
)
_RUN_TEXT = re.compile("<t(?:[ \t\r\n][^>]*)?>([^<]*)</t")
#: An attribute given twice in one tag (or what looks like it: then expat decides).
_REPEATED_ATTR = re.compile(r"[ \t\r\n]([^ \t\r\n=<>]+)" + _S + "=[^<>]*?[ \t\r\n]\\1" + _S + "=")
_PAIR = re.compile(r"""[ \t\r\n]+([^ \t\r\n=]+)[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')""")
#: Characters expat refuses in a document (or, CR, turns into LF), and the end of a CDATA section.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]|]]>")
_REFERENCE = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
#: What one kept token costs beside its bytes, about (the tuple, the cell, the dict entry).
_ENTRY = 400


class _Kept(dict[bytes, _T]):
    """What each token seen so far is, forgotten all at once when what is kept passes ``budget``
    bytes (each token counted twice, for what it is too, and ``_ENTRY``): a worker reading
    thousands of files stays within a few MB."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget = budget
        self.size = 0

    def keep(self, token: bytes, value: _T) -> None:
        if self.size > self.budget:
            self.clear()
            self.size = 0
        self[token] = value
        self.size += 2 * len(token) + _ENTRY


#: Each token of ``<sheetData>``: ``(_ROW_TAG, number or None, closed)``, ``(_ROW_CLOSE,)`` or
#: ``(_CELL_TAG, row, col (both -1 without a reference), cell or None for a bad shared-string
#: number, or _LATER: a plain cell made when first wanted)``.
_TOKENS: _Kept[tuple[object, ...]] = _Kept(8 * MB)
_SI_TEXTS: _Kept[str] = _Kept(4 * MB)
_HEADS: _Kept[bool] = _Kept(1 * MB)
_ROW_TAG, _ROW_CLOSE, _CELL_TAG = 0, 1, 2
_LATER = object()
#: A plain cell token longer than this (a long formula) is made only when its column is read.
_LONG = 200
_CELL_EVENTS = frozenset({"c", "row", "sheetData"})
_STRING_EVENTS = frozenset({"si", "t", "rPh"})


def _cover(pattern: re.Pattern[bytes], data: bytes, begin: int, end: int) -> list[bytes] | None:
    """The tokens of ``pattern`` that cover ``data[begin:end]`` (trailing whitespace left out)
    with no gap, or None when something between them is not a token."""
    stop = end
    while stop > begin and data[stop - 1] in _B_SPACE:
        stop -= 1
    tokens = pattern.findall(data, begin, stop)
    return tokens if sum(map(len, tokens)) == stop - begin else None


def fast_grid(data: bytes, last_row: int, last_col: int) -> Grid | None:
    """What :func:`full_grid` gives for a worksheet whose bytes ``data`` run at least through
    ``</sheetData>``, or None where only the full parser can tell (it may then refuse)."""
    found = _SHEET_DATA.search(data)
    if found is None or not _head(data, found.start(), found.end(), b"sheetData"):
        return None
    if found.group(1):
        return {}
    begin = found.end()
    # The last one: any before it breaks the tokens (the reader hands over the bytes through the
    # first, so the last is the first).
    end = data.rfind(b"</sheetData")
    if end < begin or _SHEET_DATA_END.match(data, end) is None:
        return None
    tokens = _cover(_TOKEN, data, begin, end)
    if tokens is None:
        return None
    grid: Grid = {}
    row = col = -1
    in_row = False
    known = _TOKENS
    for token in tokens:
        info = known.get(token)
        if info is None:
            info = _read_token(token)
            if info is None:
                return None
            known.keep(token, info)
        what = info[0]
        if what == _CELL_TAG:
            if not in_row:
                return None
            at = info[2]
            if at < 0:  # type: ignore[operator]
                col += 1
            elif info[1] != row or at <= col:  # type: ignore[operator]
                return None
            else:
                col = at  # type: ignore[assignment]
            if col <= last_col:
                cell = info[3]
                if cell is _LATER:
                    cell = _plain_cell(_PLAIN_CELL.fullmatch(token))  # type: ignore[arg-type]
                    known[token] = (*info[:3], cell)
                if cell is None:
                    return None
                grid[row, col] = cell  # type: ignore[assignment]
        elif what == _ROW_TAG:
            if in_row:
                return None
            number = info[1]
            new: int = row + 1 if number is None else number  # type: ignore[assignment]
            if not row < new < MAX_ROWS:
                return None
            if new > last_row:
                return grid
            row, col, in_row = new, -1, not info[2]
        else:
            if not in_row:
                return None
            in_row = False
    return None if in_row else grid


def fast_strings(data: bytes) -> tuple[str, ...] | None:
    """Every shared string of the table ``data``, as :class:`_StringTable` reads them, or None
    where only that parser can tell."""
    found = _SI_START.search(data)
    if found is None or not _head(data, found.start(), found.end(), b"si"):
        return None
    begin = found.start()
    end = data.rfind(b"</sst")
    if end < begin or _SST_END.fullmatch(data, end) is None:
        return None
    tokens = _cover(_SI_TOKEN, data, begin, end)
    if tokens is None:
        return None
    known = _SI_TEXTS
    out = []
    for token in tokens:
        text = known.get(token)
        if text is None:
            text = _read_si(token)
            if text is None:
                return None
            known.keep(token, text)
        out.append(text)
    return tuple(out)


class _Head(_Handler):
    """The part of a document before the first token: the token's start tag must be where it was
    found, as a child of the root for ``<si>``, with nothing before it that the cell or string
    parser would act on, in a document encoded in UTF-8."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.watched = _CELL_EVENTS if target == "sheetData" else _STRING_EVENTS
        self.depth = 0
        self.root = ""
        self.at = -1
        self.encoding_ok = True
        self.parser: XMLParserType | None = None

    def declared(self, version: str | None, encoding: str | None, standalone: int) -> None:
        self.encoding_ok = encoding is None or encoding.lower() == "utf-8"

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == self.target and (self.target == "sheetData" or (self.depth, self.root) == (1, "sst")):
            assert self.parser is not None
            self.at = self.parser.CurrentByteIndex
            raise _Stop
        if _local(name) in self.watched:
            raise _Unusual
        self.root = self.root or name
        self.depth += 1

    def end(self, name: str) -> None:
        if _local(name) in self.watched:
            raise _Unusual
        self.depth -= 1


def _head(data: bytes, start: int, stop: int, target: bytes) -> bool:
    """Whether expat reads ``data[:stop]`` up to the start tag of ``target`` at ``start``, and
    nothing before it matters (see :class:`_Head`); remembered per head."""
    head = target + b" " + data[:stop]
    known = _HEADS.get(head)
    if known is not None:
        return known
    handler = _Head(target.decode())
    parser = _parser(handler)
    handler.parser = parser
    parser.XmlDeclHandler = handler.declared
    ok = False
    try:
        parser.Parse(data[:stop], False)
    except _Stop:
        ok = handler.at == start and handler.encoding_ok
    except (_Unusual, ExpatError, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden,
            ValueError, OverflowError):
        ok = False
    _HEADS.keep(head, ok)
    return ok


def _read_token(token: bytes) -> tuple[object, ...] | None:
    """What one token of ``<sheetData>`` is (see ``_TOKENS``), or None if expat would refuse it
    or it needs the context only the full parser has."""
    plain = _PLAIN_CELL.fullmatch(token)
    if plain is not None and (token.isascii() or _characters(token)):
        later = len(token) > _LONG  # made if its column is ever read
        return _cell_info(plain.group(1).decode(), _LATER if later else _plain_cell(plain))
    try:
        text = token.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lead = text.lstrip(" \t\r\n")[1:2]
    if lead == "c":
        return _read_cell(token, text)
    if _CONTROL.search(text):
        return None
    if lead == "r":
        row = _ROW.fullmatch(text)
        row_attrs = _attrs(row.group(1)) if row else None
        if row is None or row_attrs is None:
            return None
        number = row_attrs.get("r")
        return (_ROW_TAG, None if number is None else _int(number, 0) - 1, bool(row.group(2)))
    return (_ROW_CLOSE,) if _ROW_END.fullmatch(text) else None


def _characters(token: bytes) -> bool:
    """Whether ``token`` is UTF-8 of characters expat takes (``_PLAIN_CELL`` and ``_PLAIN_SI``
    let no control character through)."""
    try:
        token.decode()
    except UnicodeDecodeError:
        return False
    return b"\xef\xbf\xbe" not in token and b"\xef\xbf\xbf" not in token  # U+FFFE, U+FFFF


def _plain_cell(found: re.Match[bytes]) -> RawCell | None:
    """The cell of a token that matched ``_PLAIN_CELL`` and holds only characters expat takes;
    None for a bad shared-string number."""
    _, style, kind, formula, value = found.groups()
    return _raw(kind.decode() if kind else "n", None if value is None else _named(value.decode()),
                None if formula is None else _named(formula.decode()),
                style.decode() if style else None)


def _read_cell(token: bytes, text: str) -> tuple[object, ...] | None:
    found = _CELL.fullmatch(text) if not _CONTROL.search(text) else None
    if found is None:
        return _expat_cell(token)
    attrs = _attrs(found.group(1))
    if attrs is None or any(found.group(g) and _attrs(found.group(g)) is None for g in (2, 4, 7)):
        return None
    values: dict[str, str] = {}
    if found.group(2) is not None:
        values["f"] = found.group(3) or ""
    if found.group(4) is not None:
        values["v"] = found.group(5) or ""
    for key, value in values.items():
        if "&" in value:
            decoded = _references(value)
            if decoded is None:
                return None
            values[key] = decoded
    if found.group(6) is not None:
        inline = _references(found.group(8) or "")
        if inline is None:
            return None
        values["v"] = _unescape(inline)
    return _cell_info(attrs.get("r"), _raw_cell(attrs, values))


def _cell_info(ref: str | None, cell: object) -> tuple[object, ...] | None:
    if ref is None:
        return (_CELL_TAG, -1, -1, cell)
    pos = parse_a1(ref)
    return None if pos is None else (_CELL_TAG, *pos, cell)


class _OneCell(_SheetParser):
    """One ``<c>`` element read on its own by the full parser's own handler, wherever it is."""

    def __init__(self) -> None:
        super().__init__("", "", MAX_ROWS, MAX_COLS)
        self.row = 0
        self.refs: list[str | None] = []
        self.found: list[RawCell | None] = []

    def place(self, ref: str | None) -> None:
        self.refs.append(ref)

    def store(self, attrs: dict[str, str]) -> None:
        self.found.append(_raw_cell(attrs, self.values))

    def pristine(self) -> bool:
        """Whether the handler is as a new one: the full parser reads the next token the same."""
        return (self.cell is None and self.target is None and not self.collecting
                and not self.phonetic)


def _expat_cell(token: bytes) -> tuple[object, ...] | None:
    """A cell token outside the strict pattern, read by expat alone (rich inline text, a CR,
    a prefix…)."""
    handler = _OneCell()
    if not _parse_alone(handler, b"<x>" + token + b"</x>") or not handler.pristine():
        return None
    if len(handler.refs) != 1 or len(handler.found) != 1:
        return None
    return _cell_info(handler.refs[0], handler.found[0])


def _read_si(token: bytes) -> str | None:
    """The text of one ``<si>`` token as :class:`_Strings` reads it, or None if expat would
    refuse it."""
    usual = _PLAIN_SI.fullmatch(token)
    if usual is not None and (token.isascii() or _characters(token)):
        return _unescape(_named(usual.group(1).decode()))
    try:
        text = token.decode("utf-8")
    except UnicodeDecodeError:
        return None
    simple = not _CONTROL.search(text)
    found = _SI.fullmatch(text) if simple else None
    if found is not None and _attrs(found.group(1) or "") is not None:
        plain = _references(found.group(2) or "")
        if plain is not None:
            return _unescape(plain)
    if simple and _SI_RICH.fullmatch(text) and not _REPEATED_ATTR.search(text):
        runs = [_references(run) for run in _RUN_TEXT.findall(text)]
        if None not in runs:
            return _unescape("".join(runs))  # type: ignore[arg-type]
    handler = _Strings()
    if (not _parse_alone(handler, b"<sst>" + token + b"</sst>") or len(handler.items) != 1
            or handler.collecting or handler.phonetic):
        return None
    return handler.items[0]


def _parse_alone(handler: _Handler, document: bytes) -> bool:
    """Whether expat parses ``document`` into ``handler`` without a complaint."""
    try:
        _parser(handler).Parse(document, True)
    except (_Stop, ExpatError, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden,
            UnreadableInput, ValueError, OverflowError):
        return False
    return True


def _attrs(text: str) -> dict[str, str] | None:
    """The attributes of a tag that matched a strict pattern; None if one is given twice."""
    pairs = _PAIR.findall(text)
    attrs = {name: double or single for name, double, single in pairs}
    return attrs if len(attrs) == len(pairs) else None


def _named(text: str) -> str:
    """``text`` with its named references replaced (the only ones it has)."""
    if "&" not in text:
        return text
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _references(text: str) -> str | None:
    """``text`` with its references replaced as expat does; None if one is not a reference to a
    character a document may hold (or a bare ``&``)."""
    if "&" not in text:
        return text
    if "&#" not in text and text.count("&") == sum(text.count(f"&{name};") for name in _NAMED):
        return _named(text)
    wrong = False

    def one(m: re.Match[str]) -> str:
        nonlocal wrong
        if m.group(1):
            return _NAMED[m.group(1)]
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        if not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
                or 0x10000 <= code <= 0x10FFFF):
            wrong = True
            return ""
        return chr(code)

    out, count = _REFERENCE.subn(one, text)
    return None if wrong or count != text.count("&") else out
