"""The published annual report as a document model, derived from the edition spec.

:func:`tables` gives the statistical tables exactly as the official format prints them — caption
rows, merged column headings over a corner, nested row headings, one cell per value with its key —
as a grid of :class:`TableCell` with row and column spans.  It depends on the spec alone, so a
renderer writes it and an importer of published documents reads by it.  :func:`document` adds
what one report says: its title, preamble, the narrative of each section and every value as the
text to print.  Renderers (:mod:`.docx`, :mod:`.html`) draw a :class:`Document` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..edition.publication import Section
from ..edition.spec import Block, Node, Spec
from ..errors import SpecError

#: Kinds of table cells: a block's caption row, the corner over the row headings, a column
#: heading, a row heading, a value.
CAPTION, CORNER, COLUMN, ROW, VALUE = "caption", "corner", "column", "row", "value"


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


def tables(spec: Spec) -> list[Table]:
    """Every table of the published report of ``spec``, in the order of its sections."""
    pub = _publication(spec)
    return [_table(spec, s) for s in pub.sections if s.table is not None]


def section_table(spec: Spec, section: Section) -> Table | None:
    """The table printed in ``section``, or None when it prints none."""
    return _table(spec, section) if section.table is not None else None


def _publication(spec: Spec) -> Any:
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
    width = max(_row_depth(b) + len(_data_columns(b)) for _, b in chosen)
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
        depth = _row_depth(block)
        bands = _data_columns(block)
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
            i = 0
            while i < len(rows):
                path = rows[i]
                j = i
                while j + 1 < len(rows) and rows[j + 1][: level + 1] == path[: level + 1]:
                    j += 1
                if level < len(path):
                    leaf = level == len(path) - 1
                    self.cells.append(TableCell(
                        self.row + i, level, ROW, path[level].label,
                        rowspan=j - i + 1, colspan=depth - level if leaf else 1,
                    ))
                    for k in range(i, j + 1):
                        names[k].append(path[level].label)
                i = j + 1
        return [tuple(n) for n in names]


def _row_depth(block: Block) -> int:
    """Columns of row headings: none for a transposed block, whose rows become column groups."""
    return 0 if block.transposed else max(len(p) for p in block.leaf_rows())


def _data_columns(block: Block) -> list[tuple[tuple[Node, ...], ...]]:
    """Heading bands of each data column: (column caption,) column path — or, for a transposed
    block, row path then column path."""
    cols = block.leaf_columns()
    if block.transposed:
        return [(rpath, cpath) for rpath in block.leaf_rows() for cpath in cols]
    if block.column_caption:
        caption = (Node(label=block.column_caption),)
        return [(caption, cpath) for cpath in cols]
    return [(cpath,) for cpath in cols]


def _prefix(bands: tuple[tuple[Node, ...], ...], band: int, level: int) -> tuple[object, ...] | None:
    """What identifies a column's heading at ``level`` of ``band``; None if it has none there."""
    path = bands[band]
    if level >= len(path):
        return None
    return (*bands[:band], path[: level + 1])
