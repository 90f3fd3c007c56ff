"""Finding the statistics of an edition in a read document, by the edition's labels only.

:func:`printed_tables` says how the format prints each table (row label paths, column label paths,
the key of every position); it is the one place that derives that from the spec.  :func:`locate`
then finds every value of those tables in a :class:`~.grid.Document`:

* a row of a table is recognised by its row label: the labels printed in that row, joined after
  :func:`~.text.label`, must equal the end of exactly one row's label path (``（三）不予公开``
  ``1.属于国家秘密`` and ``1.属于国家秘密`` alone both name one row); a table without row labels
  (表四) is recognised by its header;
* a row's columns come from the header printed above it: in a table with positions (HTML, DOCX,
  PDF) each column is the position whose header labels end with that column's label path; in
  pasted text the header must carry every column label and the values are taken in the format's
  column order;
* a row whose number of values differs from its number of columns, a row found in two places, a
  value printed across two columns, a table whose header lacks a column: an error naming the table,
  the row and the counts, and those cells stay blank (``None``) — nothing is ever chosen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from ..checks.problems import Problem
from ..checks.values import XmlNumber, parse
from ..edition.spec import Spec, short_table
from .grid import Document, Slot, Span, Table, Where
from .text import clean, label, value

#: How many label-only rows above a table's first row may hold its header.
HEADER_ROWS = 8
#: How many label-only lines of pasted text may carry the start of a broken row label.
PENDING_ROWS = 3
#: The columns of a table part that are read in the format's order (no positions to go by).
IN_ORDER: list[int] = []


@dataclass(frozen=True)
class Printed:
    """One statistics table as the format prints it: label paths of its rows and columns, and
    the key of every (row, column) position.  A table without row labels has one row ``()``."""

    sheet: str
    name: str
    columns: tuple[tuple[str, ...], ...]
    rows: tuple[tuple[str, ...], ...]
    keys: tuple[tuple[str, ...], ...]
    caption: str | None = None
    corner: str | None = None
    column_caption: str | None = None

    @property
    def labelled(self) -> bool:
        return self.rows != ((),)

    def row_name(self, r: int) -> str:
        """``表三 三、本年度办理结果 / （六）其他处理``; just the table's name without row labels."""
        return " ".join([self.name, " / ".join(self.rows[r])]) if self.labelled else self.name


def printed_tables(spec: Spec) -> tuple[Printed, ...]:
    """Every statistics table of ``spec`` as printed in a published report.

    A block whose cells are numbers is one table; a transposed block (表四) prints its rows as
    column groups above a single row of values.
    """
    index = {(c.sheet, c.block, c.row_index, c.col_index): c.key for c in spec.cells.values()}
    out = []
    for sheet in spec.sheets:
        for bi, block in enumerate(sheet.blocks):
            rows = [tuple(n.label for n in p if n.label) for p in block.leaf_rows()]
            cols = [tuple(n.label for n in p if n.label) for p in block.leaf_columns()]
            first = spec.cells[index[sheet.name, bi, 0, 0]]
            if not first.numeric:
                continue
            key = [[index[sheet.name, bi, r, c] for c in range(len(cols))] for r in range(len(rows))]
            heads = {"caption": block.caption, "corner": block.corner,
                     "column_caption": block.column_caption}
            table = short_table(sheet.title)
            if table == sheet.title and block.caption:  # a table inside a narrative section
                name = f"{block.caption}中的表格"
            else:
                name = table + (f" {block.caption}" if block.caption else "")
            if block.transposed:
                out.append(Printed(
                    sheet.name, name,
                    columns=tuple(r + c for r in rows for c in cols),
                    rows=((),),
                    keys=(tuple(k for row in key for k in row),),
                    **heads,
                ))
            else:
                out.append(Printed(sheet.name, name, tuple(cols), tuple(rows),
                                   tuple(tuple(row) for row in key), **heads))
    return tuple(out)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Found:
    """A value located in the document: the text printed there, and where."""

    key: str
    text: str
    where: Where

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "text": self.text, **self.where.to_json()}


@dataclass
class Located:
    """Everything :func:`locate` found: values by key, problems, keys that must stay blank, and
    the text lines that were part of a table (the narrative leaves them out)."""

    values: dict[str, Found] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)
    used_lines: set[int] = field(default_factory=set)
    tables_found: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- rows of a document


@dataclass
class Row:
    """One row of a document's table as the mapping sees it."""

    table: Table
    index: int
    labels: list[Span]
    values: list[Span]
    trailing_text: list[Span]

    @property
    def label_text(self) -> str:
        return "".join(label(s.text) for s in self.labels)

    @property
    def where(self) -> Where:
        """The row itself: its table and row, or its line of text."""
        spans = self.labels or self.values or self.trailing_text
        at = spans[0].where if spans else self.table.where
        if self.table.positional:
            return Where(at.format, table=at.table, row=self.index + 1, page=at.page)
        return Where(at.format, line=at.line, page=at.page)


def _row_of(table: Table, i: int) -> Row:
    """Split one row into its label cells (up to the first value) and the rest.

    In a table with positions the label cells include those spanning down from above (the
    parents of a nested row label); empty cells are skipped, a horizontally spanned cell counts
    once.
    """
    spans: list[Span] = []
    if table.positional:
        seen: set[int] = set()
        for slot in table.grid()[i]:
            if slot is None or id(slot.span) in seen:
                continue
            seen.add(id(slot.span))
            if slot.top or not _is_value(slot.span):
                spans.append(slot.span)
    else:
        spans = list(table.rows[i])
    spans = [s for s in spans if clean(s.text)]
    labels: list[Span] = []
    values: list[Span] = []
    trailing: list[Span] = []
    for span in spans:
        if values or trailing:
            (values if _is_value(span) and not trailing else trailing).append(span)
        elif _is_value(span):
            values.append(span)
        else:
            labels.append(span)
    return Row(table, i, labels, values, trailing)


def _is_value(span: Span) -> bool:
    return value(span.text) is not None


def _rows(table: Table) -> Iterator[Row]:
    for i in range(len(table.rows)):
        yield _row_of(table, i)


# --------------------------------------------------------------------------- locating


@dataclass
class _Match:
    printed: Printed
    row: int
    doc_row: Row


def locate(doc: Document, spec: Spec) -> Located:
    """Find every value of every statistics table of ``spec`` in ``doc``."""
    out = Located()
    tables = printed_tables(spec)
    index = _label_index(tables)
    matches: list[_Match] = []
    header_rows: dict[int, list[Row]] = {}
    for table in doc.tables():
        pending: list[Row] = []
        run: list[Row] = []
        for row in _rows(table):
            if not row.values and not row.trailing_text and not row.labels:
                continue
            if not row.values:
                run.append(row)
                pending = [*pending[-(PENDING_ROWS - 1):], row]
                continue
            match = _match_row(row, pending, index, out)
            if match is not None:
                matches.append(match)
                header_rows.setdefault(id(row), run[-HEADER_ROWS:])
            elif not row.labels:
                header_rows.setdefault(id(row), run[-HEADER_ROWS:])
                matches.extend(_unlabelled(row, run[-HEADER_ROWS:], tables))
            else:
                _unmatched(row, pending, out)
            pending = []
            run = []
    _read_matches(matches, header_rows, out)
    return out


def _label_index(tables: Iterable[Printed]) -> dict[str, list[tuple[Printed, int]]]:
    """Joined label forms of every end of every row's label path → the rows they name."""
    index: dict[str, list[tuple[Printed, int]]] = {}
    for printed in tables:
        if not printed.labelled:
            continue
        for r, path in enumerate(printed.rows):
            forms = [label(part) for part in path]
            for k in range(len(forms)):
                index.setdefault("".join(forms[k:]), []).append((printed, r))
    return index


def _match_row(
    row: Row, pending: list[Row], index: dict[str, list[tuple[Printed, int]]], out: Located
) -> _Match | None:
    """The one printed row that ``row``'s labels name; label-only rows just above may carry the
    start of a label broken across lines (pasted text)."""
    own = row.label_text
    if not own:
        return None
    tries: list[str] = []
    if not row.table.positional:
        tries.extend("".join(p.label_text for p in pending[k:]) + own for k in range(len(pending)))
    tries.append(own)
    for text in tries:
        named = index.get(text, [])
        if len(named) == 1:
            printed, r = named[0]
            return _Match(printed, r, row)
        if len(named) > 1:
            names = "、".join(p.row_name(r) for p, r in named)
            out.problems.append(_problem(
                "unmatched", row.where,
                f"{row.where.words()}的行名“{clean(''.join(s.text for s in row.labels))}”"
                f"可以是多行（{names}），这一行的数没有读取",
            ))
            return None
    return None


def _unmatched(row: Row, pending: list[Row], out: Located) -> None:
    text = clean(" ".join(s.text for s in row.labels))
    out.problems.append(_problem(
        "unmatched", row.where,
        f"{row.where.words()}的“{text}”对应不上报表格式中的任何一行，这一行的 {len(row.values)} 个数"
        "没有读取；请核对行名是否与格式一致",
    ))


def _unlabelled(row: Row, run: list[Row], tables: Iterable[Printed]) -> list[_Match]:
    """A row of values without labels belongs to the table without row labels whose header is
    printed just above it."""
    out = []
    header = Counter(label(s.text) for r in run for s in r.labels)
    for printed in tables:
        if printed.labelled:
            continue
        need = Counter(label(c[-1]) for c in printed.columns)
        groups = {label(part) for c in printed.columns for part in c[:-1]}
        if all(header[k] >= n for k, n in need.items()) and groups <= set(header):
            out.append(_Match(printed, 0, row))
    return out


# --------------------------------------------------------------------------- reading values


def _read_matches(
    matches: list[_Match], header_rows: dict[int, list[Row]], out: Located
) -> None:
    by_row: dict[tuple[str, int], list[_Match]] = {}
    for m in matches:
        by_row.setdefault((m.printed.name, m.row), []).append(m)
    columns_of: dict[tuple[str, int], list[int] | None] = {}
    for (name, r), found in by_row.items():
        printed = found[0].printed
        out.tables_found.add(name)
        if len(found) > 1:
            places = "、".join(m.doc_row.where.words() for m in found)
            out.problems.append(_problem(
                "twice", found[0].doc_row.where,
                f"{printed.row_name(r)}：在文件中出现了 {len(found)} 次（{places}），"
                "不知道应采用哪一处，这一行的数都没有读取",
                keys=printed.keys[r],
            ))
            out.invalid.update(printed.keys[r])
            continue
        m = found[0]
        table = m.doc_row.table
        if not table.positional:
            out.used_lines.update(_lines(m.doc_row))
            out.used_lines.update(n for h in header_rows.get(id(m.doc_row), []) for n in _lines(h))
        at = (name, id(table))
        if at not in columns_of:
            columns_of[at] = _columns(m, header_rows, matches, out)
        positions = columns_of[at]
        if positions is None and table.positional:
            out.invalid.update(printed.keys[r])
            continue
        _read_row(m, positions, out)


def _lines(row: Row) -> Iterator[int]:
    for span in (*row.labels, *row.values, *row.trailing_text):
        if span.where.line is not None:
            yield span.where.line


def _columns(
    m: _Match, header_rows: dict[int, list[Row]], matches: list[_Match], out: Located
) -> list[int] | None:
    """Grid position of each printed column, from the header above the table's first matched row
    (or, for a table continued after a page break, the header of the part before it)."""
    printed, table = m.printed, m.doc_row.table
    firsts = [x for x in matches if x.printed is printed and x.doc_row.table is table]
    first = min(firsts, key=lambda x: x.doc_row.index)
    header = header_rows.get(id(first.doc_row), [])
    if not table.positional:
        return _check_text_header(printed, header, first.doc_row, out)
    positions = _positions(printed, table, [h.index for h in header])
    if positions is not None:
        return positions
    if not header and any(x.printed is printed and x.doc_row.table is not table
                          and _before(x.doc_row.table, table) for x in matches):
        return IN_ORDER  # the rest of a table after a page break, without a header of its own
    missing = _missing_columns(printed, header)
    out.problems.append(_problem(
        "header", first.doc_row.where,
        f"{printed.name}：{first.doc_row.where.words()}以上的表头中找不到"
        f"{'、'.join(f'“{c}”' for c in missing) or '各列'}列，或有两列标签相同，这张表的数都没有读取",
        keys=tuple(k for row in printed.keys for k in row),
    ))
    return None


def _before(a: Table, b: Table) -> bool:
    return a.where.table is not None and b.where.table is not None and a.where.table < b.where.table


def _positions(printed: Printed, table: Table, header: list[int]) -> list[int] | None:
    """Position of each printed column in ``table`` given its header rows, if every column is
    under exactly one header cell (a header cell spanning positions counts once, at its left).

    A grid without spans (Markdown, a table whose merged cells were split) prints a group
    heading only at its first position; when the header as printed places no column, each empty
    header cell with a heading below it is read as part of the heading on its left.
    """
    if not header:
        return None
    grid = table.grid()
    width = len(grid[0]) if grid else 0
    slots = [[grid[i][c] for c in range(width)] for i in header]
    texts = [["" if s is None else label(s.span.text) for s in row] for row in slots]
    lefts = [[s is None or s.left for s in row] for row in slots]
    found = _placed(printed, texts, lefts)
    if found is None:
        filled = [row[:] for row in texts]
        for i in range(len(filled) - 2, -1, -1):
            for c in range(1, width):
                if not filled[i][c] and filled[i][c - 1] and filled[i + 1][c]:
                    filled[i][c] = filled[i][c - 1]
                    lefts[i][c] = False
        found = _placed(printed, filled, lefts)
    return found


def _placed(printed: Printed, texts: list[list[str]], lefts: list[list[bool]]) -> list[int] | None:
    width = len(texts[0]) if texts else 0
    stacks: list[tuple[list[str], bool]] = []
    for c in range(width):
        stack: list[str] = []
        left = True
        for i, row in enumerate(texts):
            text = row[c]
            if text and (not stack or stack[-1] != text):
                stack.append(text)
                left = lefts[i][c]
            elif text:
                left = left and lefts[i][c]
        stacks.append((stack, left))
    positions = []
    for path in printed.columns:
        forms = [label(p) for p in path]
        at = [c for c, (stack, left) in enumerate(stacks)
              if left and stack and stack[-1] == forms[-1] and _subsequence(forms, stack)]
        if len(at) != 1:
            return None
        positions.append(at[0])
    return positions if len(set(positions)) == len(positions) else None


def _subsequence(needle: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(any(x == y for y in it) for x in needle)


def _missing_columns(printed: Printed, header: list[Row]) -> list[str]:
    have = Counter(label(s.text) for r in header for s in r.labels)
    need = Counter(label(c[-1]) for c in printed.columns)
    names = {label(c[-1]): c[-1] for c in printed.columns}
    return [names[k] for k, n in need.items() if have[k] < n]


def _check_text_header(
    printed: Printed, header: list[Row], first: Row, out: Located
) -> list[int] | None:
    """Pasted text has no positions: the header above must name every column."""
    missing = _missing_columns(printed, header)
    if missing:
        out.problems.append(_problem(
            "header", first.where,
            f"{printed.name}：{first.where.words()}以上的表头中没有"
            f"{'、'.join(f'“{c}”' for c in missing)}列，无法确认各数所在的列，按格式的列序读取",
            severity="warning",
        ))
    return None


def _read_row(m: _Match, positions: list[int] | None, out: Located) -> None:
    printed, row, r = m.printed, m.doc_row, m.row
    keys = printed.keys[r]
    n = len(printed.columns)
    if not positions:
        cells: list[Span | None] = list(row.values)
        extra = len(row.values) - n
        problem = (
            f"印有 {len(row.values)} 个数，而这张表有 {n} 列" if extra
            else _trailing(row)
        )
    else:
        cells, problem = _positional(row, positions)
    if problem:
        out.problems.append(_problem(
            "count", row.where,
            f"{printed.row_name(r)}（{row.where.words()}）：{problem}，"
            "不知道哪个数属于哪一列，这一行的数都没有读取",
            keys=keys,
        ))
        out.invalid.update(keys)
        return
    for key, span in zip(keys, cells, strict=True):
        if span is None:
            out.values[key] = Found(key, "", row.where)
            continue
        out.values[key] = Found(key, span.text, span.where)


def _trailing(row: Row) -> str:
    if row.trailing_text:
        text = clean(" ".join(s.text for s in row.trailing_text))
        return f"数字后面还有“{text}”"
    return ""


def _positional(row: Row, positions: list[int]) -> tuple[list[Span | None], str]:
    """The cells at the printed columns' positions; any other value printed in the row, or a
    value cell reaching into another column's position or down from the row above, makes the
    row unreadable."""
    grid = row.table.grid()[row.index]
    wanted = set(positions)
    cells: list[Span | None] = []
    spanned = False
    for c in positions:
        slot: Slot | None = grid[c] if c < len(grid) else None
        if slot is None or not clean(slot.span.text):
            cells.append(None)
            continue
        reach = range(c + 1, c + slot.span.colspan)
        if not slot.origin or any(p in wanted for p in reach):
            spanned = True
        cells.append(slot.span)
    counted = {id(s) for s in cells if s is not None}
    others = [
        s for c, s in enumerate(grid)
        if s is not None and s.origin and c not in wanted and id(s.span) not in counted
        and clean(s.span.text) and _is_value(s.span)
    ]
    if others:
        shown = sum(1 for s in cells if s is not None) + len(others)
        return cells, (f"印有 {shown} 个数，而这张表有 {len(positions)} 列" if shown != len(positions)
                       else f"有 {len(others)} 个数不在任何一列之下")
    if spanned:
        return cells, "有一个数跨了几列或几行"
    return cells, ""


def _problem(
    code: str,
    where: Where,
    message: str,
    *,
    keys: tuple[str, ...] = (),
    severity: str = "error",
) -> Problem:
    return Problem(severity="warning" if severity == "warning" else "error", code=code,
                   message=message, keys=keys, extra={"where": where.to_json()})


def typed(found: Found, spec: Spec) -> tuple[int | Decimal | str | None, Problem | None]:
    """The value of a located cell as its cell's type (count, money …), or the problem; a blank
    or a blank mark (``/``, ``—``, ``无``) is None."""
    cell = spec.cell(found.key)
    printed = value(found.text)
    shown = clean(found.text)
    if printed is None:
        return None, _problem(
            "not_a_number", found.where,
            f"{cell.where}（{found.where.words()}）：印的是“{shown}”，不是一个数",
            keys=(found.key,),
        )
    if printed.number is None:
        return None, None
    parsed = parse(XmlNumber(format(printed.number, "f")), cell.type)
    if parsed.is_error:
        return None, _problem(
            parsed.code or "not_a_number", found.where,
            f"{cell.where}（{found.where.words()}）：印的是“{shown}”，{parsed.hint}",
            keys=(found.key,),
        )
    if printed.note:
        return parsed.value, _problem(
            "normalised", found.where,
            f"{cell.where}（{found.where.words()}）：“{shown}”含{printed.note}，"
            f"已按 {format(printed.number, 'f')} 读取",
            keys=(found.key,), severity="warning",
        )
    return parsed.value, None
