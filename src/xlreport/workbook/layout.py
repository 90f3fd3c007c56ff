"""Where everything sits in the workbook: a pure function of the spec, shared by template and reader.

:func:`layout` places every sheet of a :class:`~xlreport.spec.Spec` the way the official table is
printed — sheet title, then each block as caption row, merged column headings over a corner, nested
row headings down the left, and the data cells — and adds the workbook's own sheets (填报说明,
校验结果 and the very hidden metadata sheet), the rows of 校验结果 (:mod:`xlreport.checks.entries`),
the hidden state cell of every input (in hidden columns right of its table) and each total's
formula.  The template writes exactly this; the reader checks
a filled copy against it (sheet names, labels, positions) and reads values from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from ..checks.entries import entry_checks, rule_checks
from ..edition.spec import Block, Node, Spec, runs
from .cells import a1, sheet_ref

META_SHEET = "_xlreport"
TEMPLATE_ID = "xlreport/gov-info-disclosure-annual-report"
#: Rows of the metadata sheet (key in column A, value in column B), in this order.
META_KEYS = (
    "template_id", "edition", "template_version", "spec_digest", "layout_digest", "generator"
)
#: Then one row per locked pre-filled value of a distribution copy: ``prefilled.unit.name``.
PREFILLED = "prefilled."
INSTRUCTIONS_SHEET = "填报说明"
CHECKS_SHEET = "校验结果"
#: The first sheet of a migrated workbook: what was not carried over, what is left to fill.
NOTES_SHEET = "迁移说明"

#: Rows of every sheet of the spec before its first block: the title, then a subtitle line.
TITLE_ROW, SUBTITLE_ROW, FIRST_BLOCK_ROW = 0, 1, 2
#: 校验结果: the overall status row, the heading row of the table of checks, its first row, columns.
STATUS_ROW, CHECKS_HEADER_ROW, FIRST_CHECK_ROW = 1, 3, 4
CHECK_COLUMNS = ("序号", "检查内容", "级别", "左边的值", "右边的值", "结果")
NUMBER_COL, TEXT_COL, SEVERITY_COL, LHS_COL, RHS_COL, RESULT_COL = range(len(CHECK_COLUMNS))
STATUS_COL = SEVERITY_COL


@dataclass(frozen=True)
class Position:
    """A cell of the workbook, 0-based."""

    sheet: str
    row: int
    col: int

    @property
    def a1(self) -> str:
        """``B5``."""
        return a1(self.row, self.col)

    @property
    def ref(self) -> str:
        """Absolute cross-sheet reference for formulas: ``'三、依申请公开'!$B$5``."""
        return sheet_ref(self.sheet, self.row, self.col)


@dataclass(frozen=True)
class Label:
    """A fixed text of the workbook that the reader verifies; for a merged heading, its top-left
    cell.  ``kind`` (title, caption, corner, column, row) and the merge's last row and column say
    how it is drawn; they take no part in comparisons."""

    sheet: str
    row: int
    col: int
    text: str
    kind: str = field(default="", compare=False)
    last_row: int = field(default=-1, compare=False)
    last_col: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class SheetGrid:
    """How one sheet of the spec is drawn: width and height in cells, the rows repeated on every
    printed page, where panes freeze, rows sized for several lines, columns of row headings."""

    name: str
    title: str
    width: int
    height: int
    repeat: tuple[int, int] | None
    freeze: tuple[int, int] | None
    lines: dict[int, int]
    label_cols: int


class Layout:
    """The geometry of the whole workbook; see :func:`layout`."""

    def __init__(
        self,
        spec: Spec,
        grids: dict[str, SheetGrid],
        cells: dict[str, Position],
        checks: dict[str, Position],
        merges: dict[Position, tuple[int, int]],
        labels: tuple[Label, ...],
        cell_labels: dict[str, tuple[Label, ...]],
        notes: dict[str, str],
        states: dict[str, Position],
        formulas: dict[str, str],
    ) -> None:
        self.spec = spec
        self.grids = grids
        self.sheet_names: tuple[str, ...] = (INSTRUCTIONS_SHEET, *grids, CHECKS_SHEET, META_SHEET)
        self.cells = cells
        self.checks = checks
        self.merges = merges
        self.labels = labels
        self.notes = notes
        #: The hidden cell beside each input cell holding its state (see :mod:`checks.entries`).
        self.states = states
        #: The formula of each total (without ``=``), as the template writes it.
        self.formulas = formulas
        self._cell_labels = cell_labels
        self.digest = _digest(self)

    def labels_of(self, key: str) -> tuple[Label, ...]:
        """The row headings (with the block caption), then the column headings, of cell ``key``."""
        return self._cell_labels[key]

    def span(self, pos: Position) -> tuple[int, int]:
        """Last row and column of the cell at ``pos``: itself unless it is merged."""
        return self.merges.get(pos, (pos.row, pos.col))


@cache
def layout(spec: Spec) -> Layout:
    """The layout of ``spec`` (cached per spec object)."""
    builder = _Builder(spec)
    for sheet in spec.sheets:
        builder.sheet(sheet.name, sheet.title, sheet.blocks)
    status = Position(CHECKS_SHEET, STATUS_ROW, STATUS_COL)
    builder.merges[status] = (STATUS_ROW, RESULT_COL)
    checks = {"checks.status": status}
    names = [e.name for e in entry_checks(spec)] + [c.name for c in rule_checks(spec)]
    for i, name in enumerate(names):
        checks[name] = Position(CHECKS_SHEET, FIRST_CHECK_ROW + i, RESULT_COL)
    cells = {key: builder.cells[key] for key in spec.cells}
    states = {}
    for cell in spec.inputs():
        pos = cells[cell.key]
        states[cell.key] = Position(pos.sheet, pos.row, pos.col + builder.grids[pos.sheet].width + 1)
    formulas = {
        c.key: "SUM(" + ",".join(_local(cells[c.key], cells[p]) for p in c.parts) + ")"
        for c in spec.cells.values() if c.computed
    }
    return Layout(
        spec,
        builder.grids,
        cells,
        checks,
        builder.merges,
        tuple(builder.labels),
        builder.cell_labels,
        builder.notes,
        states,
        formulas,
    )


def _local(here: Position, there: Position) -> str:
    """A reference to ``there`` from a formula at ``here``: ``B5`` on the same sheet."""
    return there.a1 if there.sheet == here.sheet else there.ref


# --------------------------------------------------------------------------- placing blocks


@dataclass
class _Column:
    """One data column of a block: its heading path in bands (each band a nested heading tree —
    column caption, column tree; transposed: row tree, column tree) and the sheet columns it spans."""

    bands: tuple[tuple[Node, ...], ...]
    first: int
    last: int


class _Builder:
    def __init__(self, spec: Spec) -> None:
        self.keys = {(c.sheet, c.block, c.row_index, c.col_index): c.key for c in spec.cells.values()}
        self.grids: dict[str, SheetGrid] = {}
        self.cells: dict[str, Position] = {}
        self.merges: dict[Position, tuple[int, int]] = {}
        self.labels: list[Label] = []
        self.cell_labels: dict[str, tuple[Label, ...]] = {}
        self.notes: dict[str, str] = {}

    def label(
        self, sheet: str, row: int, col: int, text: str, kind: str, last_row: int, last_col: int
    ) -> Label:
        made = Label(sheet, row, col, text, kind, last_row, last_col)
        if (last_row, last_col) != (row, col):
            self.merges[Position(sheet, row, col)] = (last_row, last_col)
        self.labels.append(made)
        return made

    def sheet(self, name: str, title: str, blocks: Sequence[Block]) -> None:
        width = max(b.row_depth() + len(b.data_columns()) for b in blocks)
        self.label(name, TITLE_ROW, 0, title, "title", TITLE_ROW, width - 1)
        row = FIRST_BLOCK_ROW
        lines: dict[int, int] = {}
        repeat = freeze = None
        for index, block in enumerate(blocks):
            row, header_end = self.block(name, index, block, row, width, lines)
            if len(blocks) == 1:
                repeat = (TITLE_ROW, header_end)
                if len(block.leaf_rows()) > 10:
                    freeze = (header_end + 1, block.row_depth())
        label_cols = max(b.row_depth() for b in blocks)
        self.grids[name] = SheetGrid(name, title, width, row, repeat, freeze, lines, label_cols)

    def block(
        self, sheet: str, index: int, block: Block, row: int, width: int, lines: dict[int, int]
    ) -> tuple[int, int]:
        """Place ``block`` from ``row`` on; returns the next free row and its last heading row."""
        caption: tuple[Label, ...] = ()
        if block.caption:
            caption = (self.label(sheet, row, 0, block.caption, "caption", row, width - 1),)
            row += 1
        depth = block.row_depth()
        columns = _place_columns(block, depth, width)
        height = sum(_band_depths(columns))
        if depth:
            self.corner(sheet, row, depth, height, block.corner or "")
        col_labels = self.column_headings(sheet, block, columns, row)
        row += height
        rows, cols = block.leaf_rows(), block.leaf_columns()
        row_labels = self.row_headings(sheet, block, rows, row, depth)
        for ri, rpath in enumerate(rows):
            if any(n.lines for n in rpath):
                lines[row + ri] = max(n.lines or 1 for n in rpath)
            for ci, cpath in enumerate(cols):
                key = self.keys[sheet, index, ri, ci]
                at = ri * len(cols) + ci if block.transposed else ci
                pos = Position(sheet, row if block.transposed else row + ri, columns[at].first)
                self.cells[key] = pos
                if columns[at].last > pos.col:
                    self.merges[pos] = (pos.row, columns[at].last)
                self.cell_labels[key] = (*caption, *row_labels[ri], *col_labels[at])
                if notes := [n.note for n in (*rpath, *cpath) if n.note]:
                    self.notes[key] = "；".join(notes)
        return row + (1 if block.transposed else len(rows)), row - 1

    def corner(self, sheet: str, top: int, depth: int, height: int, text: str) -> None:
        last = (top + height - 1, depth - 1)
        if text:
            self.label(sheet, top, 0, text, "corner", *last)
        elif last != (top, 0):
            self.merges[Position(sheet, top, 0)] = last

    def column_headings(
        self, sheet: str, block: Block, columns: list[_Column], top: int
    ) -> list[tuple[Label, ...]]:
        """Merged headings over the data columns; for each column, the headings above it."""
        above: list[list[Label]] = [[] for _ in columns]
        band_top = top
        for band, depth in enumerate(_band_depths(columns)):
            for level in range(depth):
                i = 0
                while i < len(columns):
                    path = columns[i].bands[band]
                    prefix = _prefix(columns[i], band, level)
                    j = i
                    while j + 1 < len(columns) and _prefix(columns[j + 1], band, level) == prefix:
                        j += 1
                    text = path[level].label or block.value_header if prefix else None
                    if text:
                        leaf = level == len(path) - 1
                        made = self.label(sheet, band_top + level, columns[i].first, text, "column",
                                          band_top + (depth - 1 if leaf else level), columns[j].last)
                        for k in range(i, j + 1):
                            above[k].append(made)
                    i = j + 1
            band_top += depth
        return [tuple(a) for a in above]

    def row_headings(
        self, sheet: str, block: Block, rows: list[tuple[Node, ...]], top: int, depth: int
    ) -> list[tuple[Label, ...]]:
        """Nested row headings down the left; for each leaf row, the headings that name it."""
        names: list[list[Label]] = [[] for _ in rows]
        for level in range(depth):
            for i, j in runs(rows, level):
                path = rows[i]
                if level < len(path):
                    leaf = level == len(path) - 1
                    made = self.label(sheet, top + i, level, path[level].label, "row",
                                      top + j, depth - 1 if leaf else level)
                    for k in range(i, j + 1):
                        names[k].append(made)
        return [tuple(n) for n in names]


def _place_columns(block: Block, depth: int, width: int) -> list[_Column]:
    """Data columns from ``depth`` on; the last one is widened to the sheet's width."""
    out = [_Column(b, depth + i, depth + i) for i, b in enumerate(block.data_columns())]
    out[-1].last = width - 1
    return out


def _band_depths(columns: list[_Column]) -> list[int]:
    return [max(len(c.bands[b]) for c in columns) for b in range(len(columns[0].bands))]


def _prefix(column: _Column, band: int, level: int) -> tuple[object, ...] | None:
    """What identifies the heading of ``column`` at ``level`` of ``band``; None if it has none."""
    path = column.bands[band]
    if level >= len(path):
        return None
    return (*column.bands[:band], path[: level + 1])


def _digest(lay: Layout) -> str:
    """sha256 over sheet names, every position and merge, every label's text and every total's
    formula (what the reader relies on; the hidden state cells are not read)."""
    data = {
        "sheets": list(lay.sheet_names),
        "cells": {k: [p.sheet, p.row, p.col] for k, p in lay.cells.items()},
        "checks": {k: [p.sheet, p.row, p.col] for k, p in lay.checks.items()},
        "merges": sorted([p.sheet, p.row, p.col, *end] for p, end in lay.merges.items()),
        "labels": [[lb.sheet, lb.row, lb.col, lb.text] for lb in lay.labels],
        "formulas": lay.formulas,
    }
    canon = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()
