"""The published annual report as a document model, derived from the edition spec.

:func:`tables` gives the statistical tables exactly as the official format prints them — caption
rows, merged column headings over a corner, nested row headings, one cell per value with its key —
as a grid of :class:`TableCell` with row and column spans.  It depends on the spec alone, so a
renderer writes it and an importer of published documents reads by it.  :func:`document` adds
what one report says: its title, preamble, the narrative of each section and every value as the
text to print.  Renderers (:mod:`.docx`, :mod:`.html`) draw a :class:`Document` and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..edition.publication import Publication, Section, fill
from ..edition.spec import Block, Node, Spec, runs
from ..errors import SpecError, UsageError

#: Kinds of table cells: a block's caption row, the corner over the row headings, a column
#: heading, a row heading, a value.
CAPTION, CORNER, COLUMN, ROW, VALUE = "caption", "corner", "column", "row", "value"
#: Characters per line a row-heading column is made wide enough for, at least and at most.
_MIN_CHARS, _MAX_CHARS = 5, 12


@dataclass(frozen=True)
class TableCell:
    """One cell of a printed table, at ``row``, ``col`` (0-based) spanning ``rowspan`` × ``colspan``.

    A heading has its ``text``; a value has its cell ``key`` and, to find it by labels, the row
    headings left of it (``rows``, the block caption first) and the column headings above it
    (``columns``, outermost first).
    """

    row: int
    col: int
    kind: str
    text: str = ""
    key: str | None = None
    rowspan: int = 1
    colspan: int = 1
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()

    @property
    def heading(self) -> bool:
        """A header cell (``<th>``): everything but a value."""
        return self.kind != VALUE


@dataclass(frozen=True)
class Table:
    """One printed table: the section it belongs to, its grid size, the number of leading rows
    repeated on every page (``head``; 0 when the table stacks several blocks, each with its own
    headings) and its cells in reading order (row by row, left to right)."""

    section: str
    sheet: str
    width: int
    height: int
    head: int
    cells: tuple[TableCell, ...]

    def rows(self) -> list[list[TableCell]]:
        """The cells that start in each row, left to right."""
        out: list[list[TableCell]] = [[] for _ in range(self.height)]
        for cell in self.cells:
            out[cell.row].append(cell)
        return out

    def values(self) -> list[TableCell]:
        """The value cells, in reading order."""
        return [c for c in self.cells if c.kind == VALUE]

    @property
    def label_columns(self) -> int:
        """How many columns on the left hold row headings (0 for table 四)."""
        return min(c.col for c in self.values())

    def column_shares(self) -> list[float]:
        """The share of the table's width each column gets (they add up to 1).

        Value columns are equal: all the width when there are no row headings, else half of it
        between them (each 1/16 to 1/4 of the width).  The row-heading columns share the rest in
        proportion to the characters per line of the widest heading that stands in one of them
        alone, spread over the rows it spans (5 to 12: a longer heading wraps).
        """
        labels = self.label_columns
        data = self.width - labels
        if not labels:
            return [1 / data] * data
        value = min(max(0.5 / data, 1 / 16), 1 / 4, 0.9 / data)
        weights = [_MIN_CHARS] * labels
        for cell in self.cells:
            if cell.kind == ROW and cell.colspan == 1:
                lines = -(-len(cell.text) // cell.rowspan)
                weights[cell.col] = max(weights[cell.col], min(lines, _MAX_CHARS))
        rest = 1 - value * data
        return [rest * w / sum(weights) for w in weights] + [value] * data


def tables(spec: Spec) -> list[Table]:
    """Every table of the published report of ``spec``, in the order of its sections."""
    pub = _publication(spec)
    return [_table(spec, s) for s in pub.sections if s.table is not None]


def section_table(spec: Spec, section: Section) -> Table | None:
    """The table printed in ``section``, or None when it prints none."""
    return _table(spec, section) if section.table is not None else None


def _publication(spec: Spec) -> Publication:
    pub = spec.publication
    if pub is None:
        raise SpecError(
            f"{spec.edition} 年版的规格文件没有 publication 一节（报告标题、开头一段和各部分），"
            "不能生成发布用的报告；写法见 docs/spec.md 第 5 节",
            code="spec_publication",
        )
    if pub.broken:
        raise SpecError(pub.broken[0], code="spec_publication")
    return pub


def _table(spec: Spec, section: Section) -> Table:
    sheet = spec.sheet(section.table or "")
    chosen = [
        (i, b) for i, b in enumerate(sheet.blocks) if not section.blocks or b.caption in section.blocks
    ]
    width = max(b.row_depth() + len(b.data_columns()) for _, b in chosen)
    keys = {(c.block, c.row_index, c.col_index): c.key for c in spec.cells.values()
            if c.sheet == sheet.name}
    grid = _Grid(width)
    head = 0
    for index, block in chosen:
        caption = block.caption if block.caption and block.caption != section.title else None
        head = grid.block(block, caption, lambda ri, ci, i=index: keys[i, ri, ci])
    return Table(
        section=section.title,
        sheet=sheet.name,
        width=width,
        height=grid.row,
        head=head if len(chosen) == 1 else 0,
        cells=tuple(sorted(grid.cells, key=lambda c: (c.row, c.col))),
    )


class _Grid:
    """Places blocks one under the other on a grid ``width`` columns wide."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.row = 0
        self.cells: list[TableCell] = []

    def block(self, block: Block, caption: str | None, key_of: Any) -> int:
        """Place ``block``; returns how many rows its caption and headings take."""
        top = self.row
        captions: tuple[str, ...] = ()
        if caption:
            self.cells.append(TableCell(self.row, 0, CAPTION, caption, colspan=self.width))
            captions = (caption,)
            self.row += 1
        depth = block.row_depth()
        bands = block.data_columns()
        depths = [max(len(c[b]) for c in bands) for b in range(len(bands[0]))]
        height = sum(depths)
        if depth:
            self.cells.append(TableCell(self.row, 0, CORNER, block.corner or "",
                                        rowspan=height, colspan=depth))
        above = self._column_headings(block, bands, depths, depth)
        self.row += height
        head = self.row - top
        rows, cols = block.leaf_rows(), block.leaf_columns()
        names = self._row_headings(rows, depth)
        for ri in range(len(rows)):
            for ci in range(len(cols)):
                at = ri * len(cols) + ci if block.transposed else ci
                col = depth + at
                last = self.width - 1 if at == len(bands) - 1 else col
                self.cells.append(TableCell(
                    self.row if block.transposed else self.row + ri, col, VALUE,
                    key=key_of(ri, ci), colspan=last - col + 1,
                    rows=captions + (() if block.transposed else names[ri]),
                    columns=above[at],
                ))
        self.row += 1 if block.transposed else len(rows)
        return head

    def _column_headings(
        self, block: Block, bands: list[tuple[tuple[Node, ...], ...]], depths: list[int], depth: int
    ) -> list[tuple[str, ...]]:
        """Merged headings over the data columns; for each column, the headings above it."""
        above: list[list[str]] = [[] for _ in bands]
        band_top = self.row
        for band, band_depth in enumerate(depths):
            for level in range(band_depth):
                i = 0
                while i < len(bands):
                    prefix = _prefix(bands[i], band, level)
                    j = i
                    while j + 1 < len(bands) and _prefix(bands[j + 1], band, level) == prefix:
                        j += 1
                    if prefix is not None:
                        path = bands[i][band]
                        text = path[level].label or block.value_header or ""
                        leaf = level == len(path) - 1
                        last = self.width - 1 if j == len(bands) - 1 else depth + j
                        self.cells.append(TableCell(
                            band_top + level, depth + i, COLUMN, text,
                            rowspan=band_depth - level if leaf else 1, colspan=last - depth - i + 1,
                        ))
                        if text:
                            for k in range(i, j + 1):
                                above[k].append(text)
                    i = j + 1
            band_top += band_depth
        return [tuple(a) for a in above]

    def _row_headings(self, rows: list[tuple[Node, ...]], depth: int) -> list[tuple[str, ...]]:
        """Nested row headings down the left; for each leaf row, the headings that name it."""
        names: list[list[str]] = [[] for _ in rows]
        for level in range(depth):
            for i, j in runs(rows, level):
                path = rows[i]
                if level < len(path):
                    leaf = level == len(path) - 1
                    self.cells.append(TableCell(
                        self.row + i, level, ROW, path[level].label,
                        rowspan=j - i + 1, colspan=depth - level if leaf else 1,
                    ))
                    for k in range(i, j + 1):
                        names[k].append(path[level].label)
        return [tuple(n) for n in names]


def _prefix(bands: tuple[tuple[Node, ...], ...], band: int, level: int) -> tuple[object, ...] | None:
    """What identifies a column's heading at ``level`` of ``band``; None if it has none there."""
    path = bands[band]
    if level >= len(path):
        return None
    return (*bands[:band], path[: level + 1])


# --------------------------------------------------------------------------- one report

#: Kinds of paragraphs: body text, a second-level heading (（一）…), a gap left to fill in a draft.
BODY, SUBHEADING, MISSING = "body", "subheading", "missing"


@dataclass(frozen=True)
class Paragraph:
    text: str
    kind: str = BODY


@dataclass(frozen=True)
class Part:
    """One numbered section as printed: heading, paragraphs, then its table (if any)."""

    title: str
    paragraphs: tuple[Paragraph, ...]
    table: Table | None = None


@dataclass(frozen=True)
class Document:
    """One report ready to draw: ``values`` holds the printed text of every value cell (blank
    where the data is blank), ``missing`` the sections left without their text."""

    title: str
    preamble: tuple[Paragraph, ...]
    parts: tuple[Part, ...]
    values: dict[str, str]
    draft: bool
    missing: tuple[str, ...]

    def text(self, cell: TableCell) -> str:
        """What a table cell shows: its heading, or the value of its key."""
        return self.values.get(cell.key, "") if cell.key is not None else cell.text


@dataclass(frozen=True)
class Narrative:
    """Text given beside the data (``--text``): an opening that replaces the preamble, and the
    text of sections by their number (``一``)."""

    lead: str | None
    sections: dict[str, str]


def document(
    spec: Spec,
    values: Mapping[str, Any],
    *,
    blank: Collection[str] = (),
    narrative: Narrative | None = None,
    draft: bool = False,
) -> Document:
    """The document of one report: ``values`` by cell key (totals completed), ``blank`` the keys
    the data left blank (printed blank), ``narrative`` text that takes the place of the report's
    own narrative cells; a section without text is listed in ``missing`` and, in a ``draft``,
    marked 【待填写：…】."""
    pub = _publication(spec)
    printed = {k: "" if k in blank else printed_value(v) for k, v in values.items()}
    narrative = narrative or Narrative(None, {})
    title = fill(pub.title, printed) or pub.title
    lead = paragraphs(narrative.lead or "")
    if lead and lead[0].text == title:
        lead = lead[1:]
    if lead:
        preamble = lead
    else:
        sentences = [t for t in (fill(s, printed) for s in pub.preamble) if t]
        preamble = (Paragraph("".join(sentences)),) if sentences else ()
    parts: list[Part] = []
    missing: list[str] = []
    for section in pub.sections:
        body: tuple[Paragraph, ...] = ()
        if section.text is not None:
            text = narrative.sections.get(section.number) or printed.get(section.text, "")
            body = paragraphs(text)
            if not body:
                missing.append(section.title)
                body = (Paragraph(f"【待填写：{section.title}】", MISSING),)
        if section.statement is not None and (sentence := fill(section.statement, printed)):
            body += (Paragraph(sentence),)
        parts.append(Part(section.title, body, section_table(spec, section)))
    return Document(title, preamble, tuple(parts), printed, draft, tuple(missing))


def printed_value(value: Any) -> str:
    """A value as printed: numbers digit for digit as the data has them (12, 4166.241619,
    0.50), texts as written, blank as nothing."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


_SUBHEADING = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
_SECTION_HEADING = re.compile(r"^#*\s*([一二三四五六七八九十]+)、")
#: A line longer than this, or with a full stop, is a paragraph even if it starts like a heading.
_HEADING_CHARS = 40


def paragraphs(text: str) -> tuple[Paragraph, ...]:
    """Text as paragraphs, one per non-blank line; a short line starting （一） is a heading."""
    out = []
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            out.append(Paragraph(line, SUBHEADING if _is_heading(line, _SUBHEADING) else BODY))
    return tuple(out)


def _is_heading(line: str, pattern: re.Pattern[str]) -> bool:
    return bool(pattern.match(line)) and len(line) <= _HEADING_CHARS and "。" not in line


def narrative(text: str, spec: Spec, *, name: str = "正文") -> Narrative:
    """Split a Markdown or plain text by its section headings (``一、总体情况``, ``## 五、…``).

    Text before the first heading replaces the preamble (a first line that is a Markdown title
    ``# …`` is left out: the title comes from the data).  A heading may only open a section that
    has text; writing under the heading of a table, or the same heading twice, is refused.
    """
    pub = _publication(spec)
    by_number = {s.number: s for s in pub.sections}
    lead: list[str] = []
    found: dict[str, list[str]] = {}
    current = lead
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    for line in lines:
        stripped = line.strip()
        heading = _SECTION_HEADING.match(stripped)
        if heading and heading.group(1) in by_number and _is_heading(stripped, _SECTION_HEADING):
            number = heading.group(1)
            if number in found:
                raise UsageError(f"{name}中“{number}、”这一部分写了两次，请只保留一处")
            current = found[number] = []
            continue
        current.append(line)
    sections = {}
    for number, body in found.items():
        content = "\n".join(body).strip()
        section = by_number[number]
        if section.text is None:
            if content:
                raise UsageError(
                    f"{name}中“{section.title}”下面写了文字，而这一部分是统计表，由报告的数据生成；"
                    "请删去这一部分的内容（标题可以保留）"
                )
            continue
        sections[number] = content
    return Narrative("\n".join(lead).strip() or None, sections)
