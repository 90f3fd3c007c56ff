"""An edition of the report as data: sheets, blocks, cells and rules, loaded from a YAML spec file.

A spec file describes each table the way it is printed — a block of row labels × column labels,
nested where the official table nests them — and the cells are expanded from that grid: every
(leaf row, leaf column) pair is one cell whose key is the block prefix followed by the keys of the
row and column nodes.  Totals are declared on a row or column node (``total: true``) and each total
cell knows the cells it sums (:attr:`Cell.parts`).  Everything else in xlreport — template, schema,
reader, checks, messages — is derived from the :class:`Spec` built here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from .kinds import Kind, kind
from .publication import Publication
from .source import Locate, Locator

if TYPE_CHECKING:  # a spec holds its rules and declarations, and they are read against a spec
    from .migration import Declaration
    from .rules import Check, Rule

DEFAULT_EDITION = "2021"
BUILTIN_EDITIONS = ("2021", "2019")

_CN_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Node:
    """One row or column heading; ``key`` is None for a pure grouping heading (法人或其他组织)."""

    label: str
    key: str | None = None
    children: tuple[Node, ...] = ()
    total: bool = False
    type: str | None = None
    optional: bool | None = None
    required: bool | None = None
    lines: int | None = None
    note: str | None = None

    def leaves(self, path: tuple[Node, ...] = ()) -> Iterator[tuple[Node, ...]]:
        """Paths from this node down to each leaf, in printed order."""
        here = (*path, self)
        if not self.children:
            yield here
        for child in self.children:
            yield from child.leaves(here)


@dataclass(frozen=True)
class Cell:
    """One cell of the report: its upload key, where it is printed, its type, what it sums."""

    key: str
    sheet: str
    table: str
    block: int
    row_path: tuple[str, ...]
    col_path: tuple[str, ...]
    row_index: int
    col_index: int
    type: str
    optional: bool
    parts: tuple[str, ...] = ()

    @property
    def computed(self) -> bool:
        return bool(self.parts)

    @property
    def kind(self) -> Kind:
        """What the cell holds (:data:`~xlreport.edition.kinds.KINDS`)."""
        return kind(self.type)

    @property
    def numeric(self) -> bool:
        return self.kind.numeric

    @property
    def statistic(self) -> bool:
        """A number of the tables: a blank one is read as 0 (with a warning)."""
        return self.numeric and not self.optional

    @property
    def row_label(self) -> str:
        return "/".join(self.row_path)

    @property
    def col_label(self) -> str:
        return "/".join(self.col_path)

    @property
    def short_table(self) -> str:
        return short_table(self.table)

    @property
    def where(self) -> str:
        """Where the cell is printed, in words: ``表三 一、本年新收政府信息公开申请数量，自然人``."""
        row = " / ".join(self.row_path)
        return f"{self.short_table} {row}，{self.col_label}" if self.col_path else (
            f"{self.short_table} {row}"
        )


@dataclass(frozen=True)
class Block:
    """A printed grid: optional caption, corner heading, row and column heading trees."""

    prefix: str
    rows: tuple[Node, ...]
    columns: tuple[Node, ...]
    caption: str | None = None
    corner: str | None = None
    column_caption: str | None = None
    value_header: str | None = None
    transposed: bool = False
    type: str | None = None
    optional: bool = False

    def leaf_rows(self) -> list[tuple[Node, ...]]:
        return [p for node in self.rows for p in node.leaves()]

    def leaf_columns(self) -> list[tuple[Node, ...]]:
        return [p for node in self.columns for p in node.leaves()]

    def row_depth(self) -> int:
        """Columns of row headings: none when transposed, its rows becoming column groups."""
        return 0 if self.transposed else max(len(p) for p in self.leaf_rows())

    def data_columns(self) -> list[tuple[tuple[Node, ...], ...]]:
        """Heading bands of each data column: (column caption,) column path — or, when
        transposed, row path then column path.  The workbook and the published table both
        draw their headings from these."""
        cols = self.leaf_columns()
        if self.transposed:
            return [(rpath, cpath) for rpath in self.leaf_rows() for cpath in cols]
        if self.column_caption:
            caption = (Node(label=self.column_caption),)
            return [(caption, cpath) for cpath in cols]
        return [(cpath,) for cpath in cols]


def runs(paths: list[tuple[Node, ...]], level: int) -> list[tuple[int, int]]:
    """The runs ``(first, last)`` of consecutive heading paths sharing their first ``level + 1``
    nodes: one merged heading cell each at that level."""
    out, i = [], 0
    while i < len(paths):
        j = i
        while j + 1 < len(paths) and paths[j + 1][: level + 1] == paths[i][: level + 1]:
            j += 1
        out.append((i, j))
        i = j + 1
    return out


@dataclass(frozen=True)
class Sheet:
    name: str
    title: str
    blocks: tuple[Block, ...]

    @property
    def short(self) -> str:
        return short_table(self.title)


@dataclass(frozen=True, eq=False)
class Spec:
    """A whole edition: metadata, sheets, cells by key (in printed order), rules."""

    edition: str
    title: str
    document: str
    template_version: str
    years: tuple[int, int]
    sheets: tuple[Sheet, ...]
    cells: dict[str, Cell]
    rules: tuple[Rule, ...]
    source: str
    digest: str
    titles: dict[str, str] = field(default_factory=dict)
    publication: Publication | None = None
    #: The rules expanded into single checks, in order (:meth:`checks`), once per spec.
    expanded: tuple[Check, ...] = field(default=(), repr=False)
    #: The ``migrations:`` of the spec file as written, and the locator of its lines; they are
    #: parsed into :attr:`migrations` when first used (reading a report never uses them).
    migration_data: tuple[Any, ...] = field(default=(), repr=False)
    locate: Locate | None = field(default=None, repr=False)

    @cached_property
    def migrations(self) -> tuple[Declaration, ...]:
        """What the spec declares about reports of earlier editions (see :mod:`.migration`)."""
        if not self.migration_data:
            return ()
        # deferred: only migrating and filling use the declarations
        from .migration import Declaration

        locate = self.locate or Locator(Path(self.source), None)
        return tuple(Declaration.from_data(raw, self, locate(["migrations", i]))
                     for i, raw in enumerate(self.migration_data))

    def cell(self, key: str) -> Cell:
        return self.cells[key]

    def inputs(self) -> list[Cell]:
        return [c for c in self.cells.values() if not c.computed]

    def sheet(self, name: str) -> Sheet:
        return next(s for s in self.sheets if s.name == name)

    def checks(self) -> list[Check]:
        """Every rule expanded into its single checks (see :mod:`xlreport.rules`)."""
        if self.rules and not self.expanded:
            return [check for rule in self.rules for check in rule.expand(self)]
        return list(self.expanded)


def short_table(title: str) -> str:
    """``三、收到和处理…`` → ``表三``; other titles are kept as they are."""
    head, sep, _ = title.partition("、")
    return f"表{head}" if sep and head and all(ch in _CN_NUMERALS for ch in head) else title


# --------------------------------------------------------------------------- building


def _node(raw: dict[str, Any]) -> Node:
    return Node(
        label=raw["label"],
        key=raw.get("key"),
        children=tuple(_node(c) for c in raw.get("children", ())),
        total=bool(raw.get("total", False)),
        type=raw.get("type"),
        optional=raw.get("optional"),
        required=raw.get("required"),
        lines=raw.get("lines"),
        note=raw.get("note"),
    )


def sheet_of(raw: dict[str, Any]) -> Sheet:
    blocks = []
    for b in raw["blocks"]:
        columns = tuple(_node(c) for c in b.get("columns", ())) or (Node(label=""),)
        blocks.append(
            Block(
                prefix=b["prefix"],
                rows=tuple(_node(r) for r in b["rows"]),
                columns=columns,
                caption=b.get("caption"),
                corner=b.get("corner"),
                column_caption=b.get("column_caption"),
                value_header=b.get("value_header"),
                transposed=bool(b.get("transposed", False)),
                type=b.get("type"),
                optional=bool(b.get("optional", False)),
            )
        )
    return Sheet(name=raw["name"], title=raw["title"], blocks=tuple(blocks))


def _labels(path: tuple[Node, ...]) -> tuple[str, ...]:
    return tuple(n.label for n in path if n.label)


def _keys(path: tuple[Node, ...]) -> list[str]:
    return [n.key for n in path if n.key]


def expand(sheets: tuple[Sheet, ...], locate: Locate) -> tuple[dict[str, Cell], dict[str, str]]:
    """Every cell of every block, in printed order, with the parts of each total."""
    cells: dict[str, Cell] = {}
    titles: dict[str, str] = {}
    for si, sheet in enumerate(sheets):
        for bi, block in enumerate(sheet.blocks):
            titles.setdefault(block.prefix, sheet.title)
            rows, cols = block.leaf_rows(), block.leaf_columns()
            grid: dict[tuple[int, int], str] = {}
            for ri, rpath in enumerate(rows):
                for ci, cpath in enumerate(cols):
                    key = ".".join([block.prefix, *_keys(rpath), *_keys(cpath)])
                    place = ["sheets", si, "blocks", bi]
                    if key in cells:
                        raise SpecError(f"{locate(place)}：单元格键名“{key}”重复", code="spec")
                    _record_titles(titles, block.prefix, rpath, cpath)
                    nodes = (*rpath, *cpath)
                    kind = _first(n.type for n in (*cpath, *rpath)) or block.type or "count"
                    optional = _first(n.optional for n in (*cpath, *rpath))
                    if optional is None:
                        optional = block.optional
                    if _first(n.required for n in nodes):
                        optional = False
                    caption = (block.caption,) if block.caption else ()
                    cells[key] = Cell(
                        key=key,
                        sheet=sheet.name,
                        table=sheet.title,
                        block=bi,
                        row_path=caption + _labels(rpath),
                        col_path=_labels(cpath),
                        row_index=ri,
                        col_index=ci,
                        type=kind,
                        optional=bool(optional),
                    )
                    grid[ri, ci] = key
            _add_totals(cells, grid, rows, cols)
    return cells, titles


def _record_titles(
    titles: dict[str, str], prefix: str, rpath: tuple[Node, ...], cpath: tuple[Node, ...]
) -> None:
    """Label of each key prefix; a heading under a keyless group keeps the group's name
    (法人或其他组织/其他), so that it is never ambiguous."""
    key = prefix
    for path in (rpath, cpath):
        group: list[str] = []
        for node in path:
            if not node.key:
                group.append(node.label)
                continue
            key = f"{key}.{node.key}"
            titles.setdefault(key, "/".join([*group, node.label]))
            group = []


def _first(values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _add_totals(
    cells: dict[str, Cell],
    grid: dict[tuple[int, int], str],
    rows: list[tuple[Node, ...]],
    cols: list[tuple[Node, ...]],
) -> None:
    """A total column sums its sibling leaf columns in each row; a total row sums its sibling
    leaf rows in each column.  Where both meet, the row sum wins (as the printed format does)."""

    def siblings(paths: list[tuple[Node, ...]], index: int) -> list[int]:
        path = paths[index]
        parent = path[:-1]
        return [
            i
            for i, other in enumerate(paths)
            if other[: len(parent)] == parent and not any(n.total for n in other[len(parent) :])
        ]

    for ri in range(len(rows)):
        for ci in range(len(cols)):
            key = grid[ri, ci]
            if cols[ci][-1].total:
                parts = tuple(grid[ri, j] for j in siblings(cols, ci))
            elif rows[ri][-1].total:
                parts = tuple(grid[i, ci] for i in siblings(rows, ri))
            else:
                continue
            cells[key] = replace(cells[key], parts=parts)
