"""Reading a saved web page (``.html``/``.htm``) with the standard library's ``html.parser``.

Pages of government websites are Word-pasted markup: a ``<span>`` or ``<font>`` per run of
characters, ``<p class=MsoNormal>`` inside every cell, labels broken by ``<br>``, headers made of
rowspan/colspan cells, and often the whole article inside a layout table.  The parser builds a
small tree with the implicit closings of HTML (an open ``<td>`` ends at the next ``<td>``, an open
``<p>`` at the next block), bounded in depth and in cells.  A table that holds another table, or
has only one column, is layout: its content is read as paragraphs.  Hidden elements
(``display:none``, ``mso-hide:all``), scripts, styles and the head are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ..errors import UnreadableInput
from .grid import Document, Paragraph, Span, Table, Where
from .text import clean

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "param", "source", "track", "wbr", "basefont", "frame", "keygen"})
SKIPPED = frozenset({"script", "style", "head", "template", "noscript", "xml", "title", "svg",
                     "math", "iframe", "object", "select", "textarea", "button"})
BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt",
                    "dd", "blockquote", "pre", "section", "article", "header", "footer", "nav",
                    "aside", "main", "figure", "figcaption", "address", "table", "tr", "td",
                    "th", "caption", "hr", "center", "form", "fieldset", "body", "html"})
_CELL = frozenset({"td", "th"})
_SECTION = frozenset({"tbody", "thead", "tfoot"})
_HIDDEN = re.compile(r"display\s*:\s*none|mso-hide\s*:\s*all|visibility\s*:\s*hidden", re.I)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
_SPACE = re.compile(r"[ \t\r\n\f]+")
MAX_SPAN = 1000
_CELL_TAG = re.compile(r"<t[dh](?=[\s>/])", re.IGNORECASE)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)


class _Builder(HTMLParser):
    """A tree with HTML's implicit closings, refusing too deep a nesting, too many elements or
    too many cells."""

    def __init__(self, name: str, max_depth: int, max_cells: int, max_elements: int) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.stack = [self.root]
        self.name = name
        self.max_depth = max_depth
        self.max_cells = max_cells
        self.max_elements = max_elements
        self.cells = 0
        self.elements = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        self._close_implied(tag)
        self.elements += 1
        if self.elements > self.max_elements:
            raise _too_many(self.name, "标签", self.max_elements)
        node = Node(tag, {k.lower(): v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag in _CELL:
            self.cells += 1
            if self.cells > self.max_cells:
                raise _too_many(self.name, "表格单元格", self.max_cells)
        if tag in VOID:
            return
        self.stack.append(node)
        if len(self.stack) > self.max_depth:
            raise UnreadableInput(
                f"网页“{self.name}”的标签嵌套超过 {self.max_depth} 层，可能是异常或恶意构造的文件，已拒绝读取",
                code="too_deep",
            )

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag.lower() not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        boundary = {"table"} if tag in _CELL | _SECTION | {"tr", "p", "caption"} else set()
        for i in range(len(self.stack) - 1, 0, -1):
            here = self.stack[i].tag
            if here == tag:
                del self.stack[i:]
                return
            if here in boundary:
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)

    def _close_implied(self, tag: str) -> None:
        if tag in _CELL:
            self._pop_to({"td", "th"}, stop={"tr", "table"})
        elif tag == "tr":
            self._pop_to({"tr"}, stop={"table", *_SECTION})
        elif tag in _SECTION:
            self._pop_to(set(_SECTION), stop={"table"})
        elif tag == "li":
            self._pop_to({"li"}, stop={"ul", "ol", "td", "th", "table"})
        if tag in BLOCKS:
            self._pop_to({"p"}, stop={"td", "th", "table", "div", "li", "body", "blockquote"})

    def _pop_to(self, tags: set[str], *, stop: set[str]) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            here = self.stack[i].tag
            if here in tags:
                del self.stack[i:]
                return
            if here in stop:
                return


def decode(data: bytes) -> str:
    """The page's text: BOM, then the ``<meta charset>``, then UTF-8, then GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    declared = _CHARSET.search(data[:8192])
    candidates = ["utf-8", "gb18030"]
    if declared:
        name = declared.group(1).decode("ascii").lower()
        name = "gb18030" if name in ("gb2312", "gbk", "gb18030", "x-gbk") else name
        candidates.insert(0, name)
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace")


def read_html(
    data: bytes, name: str, *, max_depth: int = 200, max_cells: int = 100_000,
    max_elements: int = 200_000,
) -> Document:
    """The paragraphs and tables of a web page."""
    if b"\0" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableInput(f"“{name}”不是网页（含有二进制内容），无法读取", code="not_html")
    text = decode(data)
    _count(text, name, max_cells, max_elements)
    builder = _Builder(name, max_depth, max_cells, max_elements)
    try:
        builder.feed(text)
        builder.close()
    except AssertionError:  # html.parser's own complaint about broken markup
        raise UnreadableInput(f"网页“{name}”的标签残缺，无法解析", code="not_html") from None
    walker = _Walker()
    walker.walk(builder.root)
    walker.flush()
    if not walker.blocks:
        raise UnreadableInput(f"“{name}”中没有可读的文字", code="empty")
    return Document("html", walker.blocks)


def _count(text: str, name: str, max_cells: int, max_elements: int) -> None:
    """Refuse a page with far too many elements or cells before parsing it (the parser would
    refuse it too, but only after reading that far): each element's tags bring at most two
    ``<``, and every cell starts with ``<td`` or ``<th``."""
    if text.count("<") > 2 * max_elements:
        raise _too_many(name, "标签", max_elements)
    for n, _ in enumerate(_CELL_TAG.finditer(text), 1):
        if n > max_cells:
            raise _too_many(name, "表格单元格", max_cells)


def _too_many(name: str, what: str, limit: int) -> UnreadableInput:
    return UnreadableInput(f"网页“{name}”中的{what}超过 {limit:,} 个，不像一份年度报告，已拒绝读取",
                           code="too_large")


class _Walker:
    """Turns the tree into paragraphs and tables, in printed order."""

    def __init__(self) -> None:
        self.blocks: list[Paragraph | Table] = []
        self.line: list[str] = []
        self.tables = 0
        self.paragraphs = 0

    def flush(self) -> None:
        text = clean(_SPACE.sub(" ", "".join(self.line)))
        self.line = []
        if text:
            self.paragraphs += 1
            self.blocks.append(Paragraph(text, Where("html", line=self.paragraphs)))

    def walk(self, node: Node) -> None:
        for child in node.children:
            if isinstance(child, str):
                self.line.append(child)
                continue
            if child.tag in SKIPPED or _hidden(child):
                continue
            if child.tag == "br":
                self.flush()
            elif child.tag == "table" and _is_data_table(child):
                self.flush()
                self._table(child)
            elif child.tag in BLOCKS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)

    def _table(self, node: Node) -> None:
        self.tables += 1
        number = self.tables
        rows: list[list[Span]] = []
        for r, tr in enumerate(_rows(node), 1):
            cells = [c for c in tr.children if isinstance(c, Node) and c.tag in _CELL]
            rows.append([
                Span(_cell_text(td), Where("html", table=number, row=r, column=c),
                     rowspan=_span(td, "rowspan"), colspan=_span(td, "colspan"))
                for c, td in enumerate(cells, 1)
                if not _hidden(td)
            ])
        self.blocks.append(Table(rows, Where("html", table=number)))


def _rows(table: Node) -> list[Node]:
    """The ``<tr>`` of a table (directly or in its thead/tbody/tfoot), not of tables inside it."""
    out: list[Node] = []
    for child in table.children:
        if isinstance(child, Node):
            if child.tag == "tr":
                out.append(child)
            elif child.tag in _SECTION:
                out.extend(c for c in child.children if isinstance(c, Node) and c.tag == "tr")
    return out


def _is_data_table(table: Node) -> bool:
    """A table of data: it holds no other table and has more than one column somewhere."""
    if _has_table(table):
        return False
    return any(
        sum(_span(c, "colspan") for c in tr.children if isinstance(c, Node) and c.tag in _CELL) > 1
        for tr in _rows(table)
    )


def _has_table(node: Node) -> bool:
    return any(isinstance(c, Node) and (c.tag == "table" or _has_table(c)) for c in node.children)


def _cell_text(node: Node) -> str:
    parts: list[str] = []

    def collect(n: Node) -> None:
        for child in n.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag in SKIPPED or _hidden(child):
                continue
            elif child.tag == "br" or child.tag in BLOCKS:
                parts.append(" ")
                collect(child)
                parts.append(" ")
            else:
                collect(child)

    collect(node)
    return clean(_SPACE.sub(" ", "".join(parts)))


def _span(node: Node, attr: str) -> int:
    raw = node.attrs.get(attr, "1").strip()
    digits = re.match(r"\d+", raw)
    return max(1, min(int(digits.group()), MAX_SPAN)) if digits else 1


def _hidden(node: Node) -> bool:
    return bool(_HIDDEN.search(node.attrs.get("style", ""))) or "hidden" in node.attrs
