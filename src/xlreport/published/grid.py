"""A published document as read: paragraphs and tables, every piece knowing where it was printed.

Each reader (HTML, DOCX, PDF, text) produces a :class:`Document`; nothing above the readers knows
which format it came from.  A :class:`Table` holds its cells as the document has them, with their
row and column spans; :meth:`Table.grid` expands the spans into a rectangle of :class:`Slot` s, so
that every printed position knows which cell covers it.  A table read from pasted text has no
reliable positions (``positional`` is False): its fields are only in reading order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import UnreadableInput

#: A table's grid has at most this many positions once its spans are expanded (the largest
#: table of a report has some 500).
MAX_POSITIONS = 200_000
#: How the formats are named in ``source.format`` and in messages.
FORMATS = {"html": "网页", "docx": "Word 文档", "pdf": "PDF 文件", "text": "文本"}


@dataclass(frozen=True)
class Where:
    """Where a piece of a document was printed; only the fields that mean something are set."""

    format: str
    table: int | None = None
    row: int | None = None
    column: int | None = None
    page: int | None = None
    line: int | None = None

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def words(self) -> str:
        """In words: ``第 2 个表格第 5 行第 3 格``, ``第 3 页第 12 行``, ``第 70 行第 3 项``."""
        parts = []
        if self.page is not None:
            parts.append(f"第 {self.page} 页")
        if self.table is not None:
            parts.append(f"第 {self.table} 个表格")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.line is not None:
            parts.append(f"第 {self.line} 行")
        if self.column is not None:
            parts.append(f"第 {self.column} {'项' if self.format == 'text' else '格'}")
        return "".join(parts)


@dataclass(frozen=True)
class Span:
    """One cell as printed: its text (line breaks kept as spaces) and how far it spans."""

    text: str
    where: Where
    rowspan: int = 1
    colspan: int = 1


@dataclass(frozen=True)
class Slot:
    """One position of an expanded table: the cell covering it, and whether the cell starts here."""

    span: Span
    top: bool
    left: bool

    @property
    def origin(self) -> bool:
        return self.top and self.left


@dataclass
class Table:
    """A printed table: rows of cells with spans (``positional``), or fields in reading order."""

    rows: list[list[Span]]
    where: Where
    positional: bool = True
    _grid: list[list[Slot | None]] | None = field(default=None, repr=False)

    def grid(self) -> list[list[Slot | None]]:
        """The rows with every span expanded; a position no cell covers is None."""
        if self._grid is None:
            self._grid = expand(self.rows, where=self.where)
        return self._grid


@dataclass(frozen=True)
class Paragraph:
    """A paragraph (or a line of pasted text) outside the tables."""

    text: str
    where: Where


Block = Paragraph | Table


@dataclass
class Document:
    """What a reader found: the blocks in printed order and the format it read."""

    format: str
    blocks: list[Block]

    def tables(self) -> Iterator[Table]:
        return (b for b in self.blocks if isinstance(b, Table))

    def paragraphs(self) -> Iterator[Paragraph]:
        return (b for b in self.blocks if isinstance(b, Paragraph))


def expand(
    rows: list[list[Span]],
    *,
    where: Where | None = None,
    max_width: int = 200,
    max_positions: int = MAX_POSITIONS,
) -> list[list[Slot | None]]:
    """Expand row and column spans into a rectangle, as a browser lays out an HTML table.

    A cell goes into the first free position of its row; a rowspan reaching past the last row is
    cut there.  Widths are bounded by ``max_width`` and the whole rectangle by ``max_positions``
    (hostile spans cannot make a huge grid: such a table is refused).
    """
    taken: dict[tuple[int, int], Slot] = {}
    width = 0
    for r, row in enumerate(rows):
        c = 0
        for span in row:
            while (r, c) in taken:
                c += 1
            if c >= max_width:
                break
            rs = max(1, min(span.rowspan, len(rows) - r))
            cs = max(1, min(span.colspan, max_width - c))
            if len(taken) + rs * cs > max_positions or len(rows) * max(width, c + cs) > max_positions:
                raise _too_large(where, max_positions)
            for dr in range(rs):
                for dc in range(cs):
                    taken[r + dr, c + dc] = Slot(span, top=dr == 0, left=dc == 0)
            c += cs
            width = max(width, c)
            if c >= max_width:
                break
    return [[taken.get((r, c)) for c in range(width)] for r in range(len(rows))]


def _too_large(where: Where | None, limit: int) -> UnreadableInput:
    table = where.words() if where is not None and where.table is not None else "一个表格"
    return UnreadableInput(
        f"文件中{table}按合并单元格展开后超过 {limit:,} 格，不像一份年度报告，可能是异常或恶意构造的文件，"
        "已拒绝读取",
        code="too_large",
    )
