"""The locked Excel workbook a unit fills in, written with xlsxwriter from the spec and its layout.

Every label comes from the spec, every position from :mod:`xlreport.layout`, every check formula
from :mod:`xlreport.checks.rules` and :mod:`xlreport.checks.entries`; only the fixed texts of the
workbook itself (填报说明, the headings of 校验结果, the colour legend, prompts) live here.  The same
spec and values always give the same bytes.

Every formula is written with its exact result for the values written, computed by
:func:`xlreport.checks.entries.shown`: a program that keeps cached results on opening
(LibreOffice does for files written by xlsxwriter; Excel in Protected View) shows the truth, and
recalculating as values are typed keeps it true.

:func:`written` also returns what the build decided from its pre-filled values besides writing
them (:class:`Decided`: what every formula shows, how many lines each text takes), and
:func:`decided` computes the same without building: :mod:`xlreport.workbook.copies` patches a
copy only when it decides as the build it patches.

Pre-filled values: a string is always written as a string (``=HYPERLINK(…)`` stays text); ``int``
and :class:`~decimal.Decimal` as numbers.  An xlsx number is a double, so a Decimal is accepted
only if it survives that exactly — any value with at most 15 significant digits does
(``Decimal(repr(float(d))) == d``); others raise :class:`ValueError`.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from .. import __version__
from ..checks import entries
from ..checks.entries import SEVERITY_WORDS, EntryCheck, Shown
from ..checks.rules import excel_compare, excel_result, excel_side
from ..checks.values import FormulaError
from ..edition.kinds import LIMIT_DIGITS, MAX_TEXT
from ..edition.rules import FAIL, PASS, Check
from ..edition.spec import Cell, Spec
from ..outputs import write_atomic
from .cells import column
from .layout import (
    CHECK_COLUMNS,
    CHECKS_HEADER_ROW,
    CHECKS_SHEET,
    FIRST_CHECK_ROW,
    INSTRUCTIONS_SHEET,
    LHS_COL,
    META_KEYS,
    META_SHEET,
    NOTES_SHEET,
    NUMBER_COL,
    PREFILLED,
    RESULT_COL,
    RHS_COL,
    SEVERITY_COL,
    STATUS_COL,
    STATUS_ROW,
    SUBTITLE_ROW,
    TEMPLATE_ID,
    TEXT_COL,
    TITLE_ROW,
    Label,
    Layout,
    Position,
    SheetGrid,
    layout,
)

#: Fixed document dates, so that a build is reproducible byte for byte.
DOCUMENT_DATE = datetime(2021, 9, 26)
#: Printable area of A4 landscape with the margins below, in points.
PRINT_WIDTH, PRINT_HEIGHT = (11.69 - 1.0) * 72, (8.27 - 1.4) * 72

FONT = {"font_name": "宋体", "font_charset": 134, "font_scheme": "none", "font_size": 11}
COLOURS = {
    "input": "#FFF2CC",
    "computed": "#DDEBF7",
    "prefilled": "#E2EFDA",
    "heading": "#F2F2F2",
    "bad": "#FFC7CE",
    "bad_text": "#9C0006",
    "good": "#C6EFCE",
    "good_text": "#006100",
    "long": "#FCE4D6",
}
LEGEND = (
    ("input", "填写", "需要填写的单元格；只有这些单元格可以输入。"),
    ("computed", "自动计算", "总计和校验结果，由表格自动计算，不用填写。"),
    ("prefilled", "已预填", "汇总单位已经填好的内容，不能修改。"),
    ("bad", "有问题", "填写的内容不符合要求，或与相关数字对不上（勾稽关系不一致），请核对修改。"),
    ("long", "显示不全", "文字超过一个单元格能显示、打印的字数（选中单元格时的提示写明约多少字），"
     "超出的部分在屏幕上和打印时看不到；请精简。"),
)
STEPS = (
    "1. 先填“基本信息”：填报单位、报告年度等（浅绿色的已由汇总单位填好）。",
    "2. 依次填写各统计表和“文字部分”中的浅黄色单元格；选中单元格时会显示填写要求。",
    "3. 统计数填阿拉伯数字：没有发生的填 0，不要留空，也不要填“/”“—”“无”或带单位；"
    "金额的单位见表头，最多保留 6 位小数。",
    "4. 浅蓝色的总计由表格自动计算，不用填写。",
    "5. 填完后查看“校验结果”：总体结果为“通过”才能上报；未通过的检查和相关单元格会标成红色。"
    "“通过”与汇总单位读取报表时的结论一致（跨年度检查除外）。",
    "6. 保存为 .xlsx 格式后按要求交回；不要另存为 .et、.xls 或 .csv，不要改动工作表名称。",
)
RECALC = (
    "打开时显示的总计和校验结果就是按表中数值算出的结果，填写时自动更新，不需要手动重新计算。"
)
PROTECTED = (
    "工作表已保护，只能在浅黄色单元格中输入；请不要撤销保护、插入或删除行列。"
    "文字较多时，可拖动行号的下边线把行拉高；需要说明的情况请写在“文字部分”。"
)
#: Excel's tallest row, in points, and how many lines of text it holds.
MAX_ROW_HEIGHT = 409
_MAX_LINES = int((MAX_ROW_HEIGHT - 5) / 14.5)
#: Width of a multi-line text input (characters of the default font: a CJK character is two).
LONG_TEXT_WIDTH = 110
#: How much wider than 宋体 a substitute font may set Chinese text.
_SLACK = 1.1
CHECKED = "填写时自动检查以下勾稽关系，结果见“校验结果”（“错误”必须改正，“警告”请核实）："
CROSS_YEAR = "以下检查需要上年的报告，由汇总单位读取报表时进行，不在“校验结果”中："

#: Column widths of 迁移说明 (序号, 位置, 键名, 数值, 说明).
NOTES_WIDTHS = (6, 60, 44, 14, 60)


def build(
    spec: Spec,
    path: Path,
    *,
    values: Mapping[str, object] | None = None,
    lock_keys: Collection[str] = (),
) -> Path:
    """Write the workbook of ``spec`` to ``path`` (atomically) and return ``path``.

    ``values`` pre-fills input cells (values of computed cells are ignored: a total is always its
    formula); ``lock_keys`` locks those cells, as distribution copies do with the unit fields.
    """
    return write_atomic(Path(path), workbook_bytes(spec, values=values, lock_keys=lock_keys))


def workbook_bytes(
    spec: Spec,
    *,
    values: Mapping[str, object] | None = None,
    lock_keys: Collection[str] = (),
    notes: Sequence[Sequence[str]] = (),
) -> bytes:
    """The workbook of ``spec`` as xlsx bytes; see :func:`build`.  ``notes`` (rows of text) adds
    the protected sheet 迁移说明 in front, shown when the file is opened, as migration does."""
    return written(spec, values=values, lock_keys=lock_keys, notes=notes).data


@dataclass(frozen=True)
class Decided:
    """What a build decides from its pre-filled values besides writing them where they go: what
    every formula shows (:func:`xlreport.checks.entries.shown`), and how many lines each pre-filled
    text takes in its cell (the height of its row follows)."""

    shown: entries.Result
    lines: dict[str, int]


@dataclass(frozen=True)
class Written:
    """A workbook as xlsx bytes, the width in characters of each of its text inputs, and what
    the build decided from its pre-filled values."""

    data: bytes
    rooms: dict[str, float]
    decided: Decided


def written(
    spec: Spec,
    *,
    values: Mapping[str, object] | None = None,
    lock_keys: Collection[str] = (),
    notes: Sequence[Sequence[str]] = (),
) -> Written:
    """The workbook of :func:`workbook_bytes`, with what its build decided from ``values``."""
    filled = prefill(spec, values or {}, lock_keys)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # xlsxwriter only warns about bad options
        writer = _Writer(spec, buffer, filled, frozenset(lock_keys), notes)
        writer.write()
    decision = Decided(writer.shown, _text_lines(writer.rooms, filled))
    return Written(_lock_structure(buffer.getvalue()), dict(writer.rooms), decision)


def decided(
    spec: Spec, values: Mapping[str, object], lock_keys: Collection[str], rooms: Mapping[str, float]
) -> Decided:
    """What a build of ``spec`` with ``values`` (checked by :func:`prefill`) pre-filled and
    ``lock_keys`` locked decides from them, given the widths ``rooms`` of its text inputs (those
    of :class:`Written`): the same as that build's :attr:`Written.decided`, without building."""
    return Decided(_shown(spec, values, lock_keys), _text_lines(rooms, values))


def _shown(spec: Spec, values: Mapping[str, object], lock_keys: Collection[str]) -> entries.Result:
    """What every formula shows with ``values`` pre-filled, those of ``lock_keys`` kept."""
    fixed = {k: v for k, v in values.items() if k in lock_keys}
    return entries.shown(spec, values, prefilled=fixed)  # type: ignore[arg-type]


def prefill(
    spec: Spec, values: Mapping[str, object], lock_keys: Collection[str]
) -> dict[str, object]:
    """The input values to write, checked: known keys, writable types, exact numbers
    (:class:`ValueError` otherwise; see the module docstring)."""
    for key in lock_keys:
        if key not in spec.cells or spec.cell(key).computed:
            raise ValueError(f"cannot lock {key!r}: not an input cell of edition {spec.edition}")
    out: dict[str, object] = {}
    for key, value in values.items():
        if key not in spec.cells:
            raise ValueError(f"no cell {key!r} in edition {spec.edition}")
        if value is None or spec.cell(key).computed:
            continue
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise ValueError(f"{key}: text longer than {MAX_TEXT} characters")
        elif isinstance(value, bool) or not isinstance(value, int | Decimal | float):
            raise ValueError(f"{key}: cannot write a {type(value).__name__}")
        elif not math.isfinite(value) or Decimal(repr(float(value))) != value:
            raise ValueError(f"{key}: {value} cannot be stored exactly in a spreadsheet cell")
        out[key] = value
    return out


def _lock_structure(data: bytes) -> bytes:
    """Protect the workbook structure (no API in xlsxwriter): add ``<workbookProtection>`` after
    ``<workbookPr>`` in ``xl/workbook.xml``, keeping every other member as it is."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = source.read(info)
            if info.filename == "xl/workbook.xml":
                member, count = re.subn(
                    rb"(<workbookPr\b[^>]*/>)", rb'\1<workbookProtection lockStructure="1"/>', member
                )
                assert count == 1, "xl/workbook.xml without <workbookPr/>"
            target.writestr(info, member)
    return out.getvalue()


def text_width(text: str) -> int:
    """Width in columns of the default font: a CJK character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# --------------------------------------------------------------------------- writing


class _Writer:
    def __init__(
        self,
        spec: Spec,
        target: io.BytesIO,
        prefill: dict[str, object],
        locked: frozenset[str],
        notes: Sequence[Sequence[str]] = (),
    ) -> None:
        self.spec = spec
        self.notes = notes
        self.lay: Layout = layout(spec)
        self.prefill = prefill
        self.locked = locked
        self.fixed = {k: v for k, v in prefill.items() if k in locked}
        self.shown = _shown(spec, prefill, locked)
        self.book = xlsxwriter.Workbook(
            target, {"in_memory": True, "default_format_properties": dict(FONT)}
        )
        self.formats: dict[str, Format] = {}
        self.widths_of: dict[str, dict[int, float]] = {}
        self.rooms: dict[str, float] = {}  # text cell key → its width in characters
        self.heights_of: dict[str, dict[int, float]] = {}
        self.entry_checks = entries.entry_checks(spec)
        self.checks = entries.rule_checks(spec)
        self.checks_of: dict[str, list[str]] = {}  # cell key → names of the rules reading it
        for check in self.checks:
            for key in check.keys:
                self.checks_of.setdefault(key, []).append(check.name)

    def write(self) -> None:
        book, spec = self.book, self.spec
        book.set_properties({
            "title": f"{spec.title}统计表（{spec.edition} 年版）",
            "subject": spec.document,
            "author": "xlreport",
            "comments": f"{TEMPLATE_ID} {self.meta()['template_version']}",
            "created": DOCUMENT_DATE,
        })
        for key, value in self.meta().items():
            book.set_custom_property(f"xlreport.{key}", value)
        notes = book.add_worksheet(NOTES_SHEET) if self.notes else None
        self.instructions(book.add_worksheet(INSTRUCTIONS_SHEET))
        for grid in self.lay.grids.values():
            self.table(book.add_worksheet(grid.name), grid)
        self.check_sheet(book.add_worksheet(CHECKS_SHEET))
        self.meta_sheet(book.add_worksheet(META_SHEET))
        if notes is not None:
            self.notes_sheet(notes)
        for key, pos in (*self.lay.cells.items(), *self.lay.checks.items()):
            book.define_name(key, f"={pos.ref}")
        book.close()

    def meta(self) -> dict[str, str]:
        spec = self.spec
        values = (TEMPLATE_ID, spec.edition, spec.template_version, spec.digest,
                  self.lay.digest, f"xlreport {__version__}")
        return dict(zip(META_KEYS, values, strict=True))

    def prefilled_rows(self) -> dict[str, str]:
        """The locked pre-filled values, recorded so that the reader can tell when one changed."""
        return {f"{PREFILLED}{key}": _text_of(value) for key, value in self.fixed.items()}

    # ----------------------------------------------------------------- formats

    def fmt(self, name: str) -> Format:
        """The named cell format (made once)."""
        if name not in self.formats:
            self.formats[name] = self.book.add_format(_FORMATS[name])
        return self.formats[name]

    def input_format(self, cell: Cell, long: bool) -> Format:
        """Unlocked and yellow (or locked and green when pre-filled); text as text, numbers to
        the right, a multi-line text from the top."""
        prefilled = cell.key in self.locked
        name = f"{'prefilled' if prefilled else 'input'}_{cell.type}{'_long' if long else ''}"
        if name not in self.formats:
            props: dict[str, Any] = {
                **_BORDER, "locked": prefilled,
                "bg_color": COLOURS["prefilled" if prefilled else "input"],
                "align": "right" if cell.numeric else "left",
            }
            if cell.kind.as_text:
                props["num_format"] = "@"
            if long:
                props["valign"] = "top"
            self.formats[name] = self.book.add_format(props)
        return self.formats[name]

    def column(self, ws: Worksheet, col: int, width: float) -> None:
        self.widths_of.setdefault(ws.name, {})[col] = width
        ws.set_column(col, col, width)

    def row(self, ws: Worksheet, row: int, height: float) -> None:
        self.heights_of.setdefault(ws.name, {})[row] = height
        ws.set_row(row, height)

    # ----------------------------------------------------------------- sheets

    def table(self, ws: Worksheet, grid: SheetGrid) -> None:
        """One sheet of the spec: labels, input cells, totals, help, protection, print setup."""
        lay = self.lay
        labels = [lb for lb in lay.labels if lb.sheet == grid.name]
        cells = [c for c in self.spec.cells.values() if c.sheet == grid.name]
        widths = self.widths(grid, labels, cells)
        for col, width in enumerate(widths):
            self.column(ws, col, width)
        for cell in cells:
            if cell.type == "text":
                pos = lay.cells[cell.key]
                self.rooms[cell.key] = sum(widths[pos.col: lay.span(pos)[1] + 1]) - 1.5
        heights = self.heights(grid, labels, widths)
        for row in range(grid.height):
            self.row(ws, row, heights.get(row, _line_height(1)))
        self.row(ws, TITLE_ROW, 30)
        ws.set_column(grid.width, 2 * grid.width, None, None, {"hidden": True})  # state cells
        for lb in labels:
            self.label(ws, lb)
        self.subtitle(ws, grid, cells)
        for cell in cells:
            self.cell(ws, cell)
        self.finish(ws, grid.title, grid.width, grid.height, grid.repeat)
        if grid.freeze:
            ws.freeze_panes(*grid.freeze)
        if any(c.kind.as_text for c in cells):
            text_cells = " ".join(lay.cells[c.key].a1 for c in cells if c.kind.family != "year")
            ws.ignore_errors({"number_stored_as_text": text_cells})

    def label(self, ws: Worksheet, lb: Label) -> None:
        if lb.kind == "row":
            name = "row_group" if lb.last_row > lb.row and lb.last_col == lb.col else "row_leaf"
        else:
            name = {"title": "title", "caption": "caption", "corner": "corner"}.get(lb.kind, "heading")
        self.merge(ws, lb.row, lb.col, lb.last_row, lb.last_col, self.fmt(name))
        ws.write_string(lb.row, lb.col, lb.text, self.fmt(name))

    def merge(self, ws: Worksheet, row: int, col: int, last_row: int, last_col: int,
              fmt: Format) -> None:
        if (last_row, last_col) != (row, col):
            ws.merge_range(row, col, last_row, last_col, "", fmt)

    def subtitle(self, ws: Worksheet, grid: SheetGrid, cells: list[Cell]) -> None:
        """Under the title: which unit and year (a formula), or where to type on the unit sheet."""
        fmt = self.fmt("subtitle")
        self.merge(ws, SUBTITLE_ROW, 0, SUBTITLE_ROW, grid.width - 1, fmt)
        unit = [k for k in ("unit.name", "unit.year") if k in self.spec.cells]
        if len(unit) < 2 or any(c.key in unit for c in cells):
            ws.write_string(SUBTITLE_ROW, 0, "请在浅黄色单元格中填写；选中单元格时会显示填写要求。", fmt)
            return
        name, year = (self.prefill.get(k) for k in unit)
        errors = [v for v in (name, year) if isinstance(v, FormulaError)]
        cached = errors[0] if errors else f"填报单位：{_text_of(name)}　　报告年度：{_text_of(year)}"
        formula = '="填报单位："&unit.name&"　　报告年度："&unit.year'
        ws.write_formula(SUBTITLE_ROW, 0, formula, fmt, cached)

    def cell(self, ws: Worksheet, cell: Cell) -> None:
        """An input cell (pre-filled or blank, with validation) or a total (a formula)."""
        pos = self.lay.cells[cell.key]
        last_row, last_col = self.lay.span(pos)
        if cell.computed:
            fmt = self.fmt("computed")
            self.merge(ws, pos.row, pos.col, last_row, last_col, fmt)
            ws.write_formula(pos.row, pos.col, "=" + self.lay.formulas[cell.key], fmt,
                             _cached(self.shown.totals[cell.key]))
        else:
            fmt = self.input_format(cell, pos.row in self.lay.grids[pos.sheet].lines)
            self.merge(ws, pos.row, pos.col, last_row, last_col, fmt)
            value = self.prefill.get(cell.key)
            if isinstance(value, str):
                ws.write_string(pos.row, pos.col, value, fmt)
            elif value is not None:
                ws.write_number(pos.row, pos.col, float(value), fmt)  # type: ignore[arg-type]
            else:
                ws.write_blank(pos.row, pos.col, None, fmt)
            if cell.key not in self.locked:
                self.validation(ws, cell, pos)
            self.state(ws, cell, pos)
        self.highlight(ws, cell, pos)

    def state(self, ws: Worksheet, cell: Cell, pos: Position) -> None:
        """The hidden state cell of an input (see :mod:`xlreport.checks.entries`)."""
        at = self.lay.states[cell.key]
        kept = {"prefilled": self.fixed[cell.key]} if cell.key in self.fixed else {}
        formula = entries.state_formula(cell, pos.a1, self.spec.years, **kept)
        ws.write_formula(at.row, at.col, "=" + formula, None, self.shown.states[cell.key])

    def validation(self, ws: Worksheet, cell: Cell, pos: Position) -> None:
        """Data validation by type, with the prompt shown while the cell is selected."""
        prompt = cell.kind.prompt.format(self.spec.years)
        text = prompt.text
        if note := self.lay.notes.get(cell.key):
            text = f"{note}。{text}"
        if most := self.most(cell, pos):
            text += (f"文字多时可拖动行号下边线拉高这一行；一个单元格最多显示、打印约 {most} 字，"
                     "超过时单元格变为橙色。")
        options: dict[str, Any] = {"input_title": prompt.title, "input_message": text}
        if prompt.error:
            options |= {"error_title": prompt.error_title, "error_message": prompt.error}
        options |= _accepts(cell, pos.a1, self.spec.years)
        ws.data_validation(pos.row, pos.col, pos.row, pos.col, options)

    def most(self, cell: Cell, pos: Position) -> int:
        """How many characters a multi-line text cell shows and prints at Excel's tallest row
        (Chinese characters, a little room for other fonts); 0 for every other cell."""
        if pos.row not in self.lay.grids[pos.sheet].lines or cell.key not in self.rooms:
            return 0
        return _MAX_LINES * int(self.rooms[cell.key] / 2 / _SLACK)

    def highlight(self, ws: Worksheet, cell: Cell, pos: Position) -> None:
        """Red when the value is wrong or missing (its state cell says so), or a rule on it fails;
        orange when a text is longer than its cell can show (red comes first)."""
        tests = []
        if not cell.computed:
            state = self.lay.states[cell.key].a1
            tests += [f"{state}={entries.WRONG}", f"{state}={entries.MISSING}"]
        tests += [f'{name}="{FAIL}"' for name in self.checks_of.get(cell.key, ())]
        if tests:
            formula = tests[0] if len(tests) == 1 else f"OR({','.join(tests)})"
            ws.conditional_format(pos.row, pos.col, pos.row, pos.col,
                                  {"type": "formula", "criteria": "=" + formula,
                                   "format": self.fmt("bad_cf")})
        if most := self.most(cell, pos):
            ws.conditional_format(pos.row, pos.col, pos.row, pos.col,
                                  {"type": "formula", "criteria": f"=LEN({pos.a1})>{most}",
                                   "format": self.fmt("long_cf")})

    def finish(self, ws: Worksheet, title: str, width: int, height: int,
               repeat: tuple[int, int] | None) -> None:
        """Protection and print setup shared by every visible sheet: A4 landscape, one page wide
        — and one page tall too when the sheet nearly fits on one page anyway."""
        ws.protect("", {"format_rows": True})  # rows may be made taller for long texts
        ws.hide_gridlines(2)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 1 if self.nearly_one_page(ws.name, width, height) else 0)
        ws.center_horizontally()
        ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
        ws.set_header(f'&C&"宋体,常规"&9{_escape(self.spec.title)}　{_escape(title)}')
        ws.set_footer('&C&"宋体,常规"&9第 &P 页，共 &N 页')
        ws.print_area(0, 0, height - 1, width - 1)
        if repeat:
            ws.repeat_rows(*repeat)

    def nearly_one_page(self, sheet: str, width: int, height: int) -> bool:
        """Whether the sheet, scaled to the page width, is at most a quarter page too tall."""
        widths, heights = self.widths_of.get(sheet, {}), self.heights_of.get(sheet, {})
        points = sum(_column_points(widths.get(c, 8.43)) for c in range(width))
        scale = min(1.0, PRINT_WIDTH / points)
        tall = sum(heights.get(r, 15) for r in range(height)) * scale
        return tall <= 1.25 * PRINT_HEIGHT

    # ----------------------------------------------------------------- geometry

    def widths(self, grid: SheetGrid, labels: list[Label], cells: list[Cell]) -> list[float]:
        """Column widths from the headings: label columns as wide as their texts (capped; long
        texts wrap), data columns wide enough for their headings and numbers, text inputs wide."""
        need = [0] * grid.width
        for lb in labels:
            if lb.kind in ("row", "column") and lb.last_col == lb.col:
                need[lb.col] = max(need[lb.col], text_width(lb.text))
        data = _clamp(max(need[grid.label_cols:], default=0) + 2, 11, 16)  # all alike
        widths: list[float] = []
        for col in range(grid.width):
            if col < grid.label_cols:
                last = col == grid.label_cols - 1
                widths.append(_clamp(need[col] + 2, 12 if last else 8, 40 if last else 12))
            else:
                widths.append(data)
        for cell in cells:
            pos = self.lay.cells[cell.key]
            span = range(pos.col, self.lay.span(pos)[1] + 1)
            long = pos.row in grid.lines and cell.kind.family == "text"
            wanted = LONG_TEXT_WIDTH if long else cell.kind.width
            short = wanted - sum(widths[c] for c in span)
            for c in span:
                widths[c] += max(short, 0) / len(span)
        return [round(w, 2) for w in widths]

    def heights(self, grid: SheetGrid, labels: list[Label], widths: list[float]) -> dict[int, float]:
        """Row heights in points: enough lines for every wrapped label, and the narrative rows."""
        lines: dict[int, int] = {}
        for lb in labels:
            if lb.kind == "title":
                continue
            room = sum(widths[lb.col: lb.last_col + 1]) - 1.5
            need = math.ceil(text_width(lb.text) / max(room, 1))
            rows = lb.last_row - lb.row + 1
            for row in range(lb.row, lb.last_row + 1):
                lines[row] = max(lines.get(row, 1), math.ceil(need / rows))
        for row, count in grid.lines.items():
            lines[row] = max(lines.get(row, 1), count)
        for key, count in _text_lines(self.rooms, self.prefill).items():
            pos = self.lay.cells[key]
            if pos.sheet == grid.name:
                lines[pos.row] = max(lines.get(pos.row, 1), count)
        return {row: min(_line_height(count), MAX_ROW_HEIGHT) for row, count in lines.items()}

    # ----------------------------------------------------------------- fixed sheets

    def instructions(self, ws: Worksheet) -> None:
        """填报说明: what the workbook is, how to fill it, the colours, the rules in plain words."""
        spec = self.spec
        self.column(ws, 0, 14)
        self.column(ws, 1, 100)
        self.merge(ws, 0, 0, 0, 1, self.fmt("title"))
        ws.write_string(0, 0, INSTRUCTIONS_SHEET, self.fmt("title"))
        self.row(ws, 0, 30)
        first, last = spec.years
        years = f"{first} 年度及以后" if last >= 2100 else f"{first}—{last} 年度"
        meta = self.meta()
        in_book = [r for r in spec.rules if not any(c.cross_year for c in r.expand(spec))]
        cross = [r for r in spec.rules if r not in in_book]
        rows: list[tuple[str, str, str]] = [
            ("报表", f"{spec.title}（统计表部分），格式依据{spec.document}。", ""),
            ("版本", f"{spec.edition} 年版格式，模板第 {spec.template_version} 版，适用于{years}的报告；"
                     f"由 {meta['generator']} 生成。", ""),
            ("填写步骤", "\n".join(STEPS), ""),
        ]
        rows.append(("颜色", "单元格的底色表示：", ""))
        rows += [("", text, colour) for colour, _, text in LEGEND]
        rows.append(("自动校验", CHECKED + "\n" + "\n".join(
            f"{i}. {r.description}（{SEVERITY_WORDS[r.severity]}）" for i, r in enumerate(in_book, 1)
        ), ""))
        if cross:
            rows.append(("跨年度校验", CROSS_YEAR + "\n" + "\n".join(
                f"{i}. {r.description}（{SEVERITY_WORDS[r.severity]}）" for i, r in enumerate(cross, 1)
            ), ""))
        rows += [("重新计算", RECALC, ""), ("注意", PROTECTED, "")]
        legend = {colour: word for colour, word, _ in LEGEND}
        for i, (head, text, colour) in enumerate(rows, start=2):
            if colour:
                ws.write_string(i, 0, legend[colour], self.fmt(f"legend_{colour}"))
            else:
                ws.write_string(i, 0, head, self.fmt("note_head"))
            ws.write_string(i, 1, text, self.fmt("note"))
            count = sum(math.ceil(max(text_width(t), 1) / 97) for t in text.split("\n"))
            self.row(ws, i, _line_height(count))
        self.finish(ws, INSTRUCTIONS_SHEET, 2, len(rows) + 2, None)
        if not self.notes:
            ws.activate()

    def notes_sheet(self, ws: Worksheet) -> None:
        """迁移说明: plain protected text in front of everything, the sheet shown on opening."""
        for col, width in enumerate(NOTES_WIDTHS):
            self.column(ws, col, width)
        for r, row in enumerate(self.notes):
            for c, text in enumerate(row):
                if len(text) > MAX_TEXT:  # a cell holds no more; say so rather than fail
                    mark = f"……（共 {len(text)} 字，此处只显示前一部分）"
                    text = text[: MAX_TEXT - len(mark)] + mark
                if text:
                    ws.write_string(r, c, text)
        ws.set_tab_color("#FFC000")
        ws.protect()
        ws.activate()

    def check_sheet(self, ws: Worksheet) -> None:
        """校验结果: one line per check with both sides' values, and the overall status."""
        widths = (6, 96, 8, 12, 12, 10)
        for col, width in enumerate(widths):
            self.column(ws, col, width)
        last_col = len(CHECK_COLUMNS) - 1
        self.merge(ws, 0, 0, 0, last_col, self.fmt("title"))
        ws.write_string(0, 0, CHECKS_SHEET, self.fmt("title"))
        self.row(ws, 0, 30)
        self.merge(ws, STATUS_ROW, 0, STATUS_ROW, STATUS_COL - 1, self.fmt("caption"))
        ws.write_string(STATUS_ROW, 0, "总体结果（所有“错误”级检查都通过才算通过）", self.fmt("caption"))
        self.row(ws, STATUS_ROW, 24)
        note_row = STATUS_ROW + 1
        self.merge(ws, note_row, 0, note_row, last_col, self.fmt("subtitle"))
        ws.write_string(note_row, 0, "随填写自动更新；跨年度检查由汇总单位读取报表时进行，见“填报说明”。",
                        self.fmt("subtitle"))
        for col, head in enumerate(CHECK_COLUMNS):
            ws.write_string(CHECKS_HEADER_ROW, col, head, self.fmt("heading"))
        rows: list[EntryCheck | Check] = [*self.entry_checks, *self.checks]
        for i, row in enumerate(rows):
            self.check_row(ws, FIRST_CHECK_ROW + i, i + 1, row)
        self.status(ws, len(rows))
        last_row = FIRST_CHECK_ROW + max(len(rows), 1) - 1
        ws.conditional_format(FIRST_CHECK_ROW, 0, last_row, last_col, {
            "type": "formula", "criteria": f'=${column(RESULT_COL)}{FIRST_CHECK_ROW + 1}="{FAIL}"',
            "format": self.fmt("bad_cf")})
        self.finish(ws, CHECKS_SHEET, len(CHECK_COLUMNS), last_row + 1, (0, CHECKS_HEADER_ROW))
        ws.freeze_panes(FIRST_CHECK_ROW, 0)

    def check_row(self, ws: Worksheet, row: int, number: int, check: EntryCheck | Check) -> None:
        """One line of 校验结果: what is checked, its level, both sides and the result."""
        fmt = self.fmt("check")
        ws.write_number(row, NUMBER_COL, number, self.fmt("check_center"))
        lhs_value, rhs_value = self.shown.sides[check.name]
        lhs, rhs = (Position(CHECKS_SHEET, row, c).a1 for c in (LHS_COL, RHS_COL))
        number_fmt = self.fmt("check_number")
        if isinstance(check, EntryCheck):
            text, severity = check.description, check.severity
            ws.write_formula(row, LHS_COL, "=" + entries.count_formula(check, self.state_ranges(check)),
                             number_fmt, _cached(lhs_value))
            ws.write_number(row, RHS_COL, check.bound, number_fmt)
            result = excel_compare(check.op, lhs, rhs)
        else:
            text, severity = check.describe(self.spec), check.rule.severity
            for col, side, value in ((LHS_COL, check.lhs, lhs_value), (RHS_COL, check.rhs, rhs_value)):
                formula = "=" + excel_side(check, side, lambda key: key)
                ws.write_formula(row, col, formula, number_fmt, _cached(value))
            result = excel_result(check, lhs, rhs)
        ws.write_string(row, TEXT_COL, text, fmt)
        self.row(ws, row, _line_height(math.ceil(text_width(text) / 94)))
        ws.write_string(row, SEVERITY_COL, SEVERITY_WORDS[severity], self.fmt("check_center"))
        ws.write_formula(row, RESULT_COL, "=" + result, self.fmt("check_center"),
                         self.shown.results[check.name])

    def state_ranges(self, check: EntryCheck) -> list[str]:
        """The state cells of a row's cells: one cell, or the block of hidden columns of its sheet
        (every state cell there belongs to the sheet's inputs)."""
        places = [self.lay.states[k] for k in check.keys]
        if len(places) == 1:
            return [places[0].ref]
        rows = [p.row for p in places]
        cols = [p.col for p in places]
        sheet = places[0].sheet
        first = Position(sheet, min(rows), min(cols)).ref
        return [f"{first}:{Position(sheet, max(rows), max(cols)).a1}"]

    def status(self, ws: Worksheet, count: int) -> None:
        """checks.status: exactly 通过 when every error-level check holds, else 不通过…."""
        fmt = self.fmt("status")
        self.merge(ws, STATUS_ROW, STATUS_COL, STATUS_ROW, RESULT_COL, fmt)
        first, last = FIRST_CHECK_ROW, FIRST_CHECK_ROW + count - 1
        sev = f"{column(SEVERITY_COL)}{first + 1}:{column(SEVERITY_COL)}{last + 1}"
        res = f"{column(RESULT_COL)}{first + 1}:{column(RESULT_COL)}{last + 1}"
        failed = f'COUNTIFS({sev},"{SEVERITY_WORDS["error"]}",{res},"{FAIL}")'
        formula = f'=IF({failed}=0,"{PASS}","{FAIL}（"&{failed}&" 项检查未通过，见下表）")'
        ws.write_formula(STATUS_ROW, STATUS_COL, formula, fmt, self.shown.status)
        at = f"${column(STATUS_COL)}${STATUS_ROW + 1}"
        ws.conditional_format(STATUS_ROW, STATUS_COL, STATUS_ROW, RESULT_COL, {
            "type": "formula", "criteria": f'={at}="{PASS}"', "format": self.fmt("good_cf")})
        ws.conditional_format(STATUS_ROW, STATUS_COL, STATUS_ROW, RESULT_COL, {
            "type": "formula", "criteria": f'={at}<>"{PASS}"', "format": self.fmt("bad_cf")})

    def meta_sheet(self, ws: Worksheet) -> None:
        """The very hidden sheet by which the reader recognises the workbook."""
        for row, (key, value) in enumerate({**self.meta(), **self.prefilled_rows()}.items()):
            ws.write_string(row, 0, key)
            ws.write_string(row, 1, value)
        self.column(ws, 0, 18)
        self.column(ws, 1, 70)
        ws.protect()
        ws.very_hidden()


# --------------------------------------------------------------------------- helpers

_BORDER = {"border": 1, "valign": "vcenter", "text_wrap": True}
_FORMATS: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"},
    "subtitle": {"align": "left", "valign": "vcenter"},
    "caption": {**_BORDER, "bold": True, "align": "center", "bg_color": COLOURS["heading"]},
    "corner": {**_BORDER, "align": "center", "bg_color": COLOURS["heading"]},
    "heading": {**_BORDER, "bold": True, "align": "center", "bg_color": COLOURS["heading"]},
    "row_group": {**_BORDER, "align": "center"},
    "row_leaf": {**_BORDER, "align": "left"},
    "computed": {**_BORDER, "bold": True, "bg_color": COLOURS["computed"], "align": "right"},
    "check": {**_BORDER, "align": "left"},
    "check_center": {**_BORDER, "align": "center"},
    "check_number": {**_BORDER, "align": "right", "bg_color": COLOURS["computed"]},
    "status": {**_BORDER, "bold": True, "align": "center", "font_size": 12},
    "note_head": {"bold": True, "valign": "top", "align": "left"},
    "note": {"valign": "top", "align": "left", "text_wrap": True},
    "legend_input": {**_BORDER, "align": "center", "bg_color": COLOURS["input"]},
    "legend_computed": {**_BORDER, "align": "center", "bg_color": COLOURS["computed"]},
    "legend_prefilled": {**_BORDER, "align": "center", "bg_color": COLOURS["prefilled"]},
    "legend_bad": {**_BORDER, "align": "center", "bg_color": COLOURS["bad"],
                   "font_color": COLOURS["bad_text"]},
    "legend_long": {**_BORDER, "align": "center", "bg_color": COLOURS["long"]},
    "bad_cf": {"bg_color": COLOURS["bad"], "font_color": COLOURS["bad_text"]},
    "good_cf": {"bg_color": COLOURS["good"], "font_color": COLOURS["good_text"]},
    "long_cf": {"bg_color": COLOURS["long"]},
}


def _accepts(cell: Cell, ref: str, years: tuple[int, int]) -> dict[str, Any]:
    """The data validation of an input cell, from its kind: what typing may put there."""
    kind = cell.kind
    if kind.family == "year":
        return {"validate": "integer", "criteria": "between", "minimum": years[0],
                "maximum": years[1]}
    if kind.family == "credit_code":
        return {"validate": "length", "criteria": "==", "value": 18}
    if kind.family != "number":
        return {"validate": "length", "criteria": "<=", "value": MAX_TEXT,
                "error_title": "文字太长", "error_message": f"一个单元格最多 {MAX_TEXT} 字。"}
    if kind.places:
        low = [f"{ref}>={kind.minimum}"] if kind.minimum is not None else []
        tests = [f"ISNUMBER({ref})", *low, f"NOT({entries.too_many_places(ref, kind.places)})"]
        return {"validate": "custom", "value": f"=AND({','.join(tests)})"}
    if kind.minimum is not None:
        return {"validate": "integer", "criteria": ">=", "value": kind.minimum}
    limit = 10**LIMIT_DIGITS - 1
    return {"validate": "integer", "criteria": "between", "minimum": -limit, "maximum": limit}


def _cached(value: Shown | int) -> float | str:
    """A result as xlsxwriter writes it: a number as a double, text, or an error value."""
    return value if isinstance(value, str) else float(value)


def _text_of(value: object) -> str:
    """A value as a formula joins it to text: ``2025``, ``4166.24``, or the text itself."""
    if value is None:
        return ""
    if isinstance(value, Decimal | float):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        return format(number.normalize(), "f") if number else "0"
    return str(value)


def _escape(text: str) -> str:
    """Header/footer text: ``&`` is a control character there."""
    return text.replace("&", "&&")


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _column_points(width: float) -> float:
    """Printed width of a column ``width`` characters wide (7-pixel digits, 5 pixels padding)."""
    return (width * 7 + 5) * 0.75


def _text_lines(rooms: Mapping[str, float], values: Mapping[str, object]) -> dict[str, int]:
    """Lines each text of ``values`` takes in its cell, for the text cells whose widths ``rooms``
    holds (so far)."""
    return {key: _lines(text, room) for key, room in rooms.items()
            if isinstance(text := values.get(key), str)}


def _lines(text: str, room: float) -> int:
    """Lines ``text`` takes in a cell ``room`` characters wide (with some room for other fonts)."""
    return sum(max(1, math.ceil(text_width(p) * _SLACK / max(room, 1))) for p in text.split("\n"))


def _line_height(lines: int) -> float:
    """Points for ``lines`` lines of 11 pt 宋体 with a little padding."""
    return round(14.5 * lines + 5, 2)
