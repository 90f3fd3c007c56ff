"""Reading a filled workbook: recognise the template, verify its structure, read, check.

:func:`read_workbook` is the whole pipeline, a pure function of the file::

    precheck (vetted) → recognise (template metadata → spec) → verify sheets, defined names, labels
             → parse each input cell (value policy) → validate.check (blanks, totals, rules)

A value is only ever read from the cell its defined name points at, and only if that name points
exactly where the template put it and every label around it is still the template's: anything
else is tampering and the file is refused (:class:`~xlreport.errors.UnreadableInput`, exit 2)
with a message naming what changed.  Totals and checks are never read from the file; they are
recomputed from the input cells — but every total must still hold the template's formula, and
every value a distribution copy locked (recorded in the metadata) must be unchanged, or the
printed copy would not show the report.  Problems in the data (a text in a count cell, a total
typed over) are :class:`~xlreport.problems.Problem` records in the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..checks.entries import same
from ..checks.problems import Problem
from ..checks.validate import LastYear, Result, check, value_problem
from ..checks.values import clip, parse, shown
from ..edition.load import builtin
from ..edition.spec import BUILTIN_EDITIONS, Spec
from ..errors import UnreadableInput
from . import registry, xlsx
from .cells import a1, parse_a1
from .layout import META_SHEET, NOTES_SHEET, PREFILLED, TEMPLATE_ID, Layout, layout
from .precheck import DEFAULT_LIMITS, Limits, vetted
from .registry import Released

#: Where a workbook's cells and labels are: the current layout or a released older one.
Placed = Layout | Released

GENERATOR = f"xlreport {__version__}"
#: Rows of the metadata sheet that are read (key in column A, value in column B).
META_ROWS = 32
#: How many changed places a tampering message names before it says "and N more".
SHOWN = 3

_GET_TEMPLATE = (
    "请使用收集报表的单位下发的填报模板（由 xlreport build 生成的 .xlsx）填写后重新提交"
)
_UNDO = (
    "请撤销这些改动（不要插入、删除行列，不要修改标签和工作表），"
    "或把数据重新填写到一份新的填报模板中后提交"
)


@dataclass
class ReadResult:
    """A read workbook: the checked report, where it came from, and the template it was made from."""

    result: Result
    source: dict[str, str]
    template: dict[str, str]
    invalid: frozenset[str]

    @property
    def spec(self) -> Spec:
        return self.result.spec

    @property
    def valid(self) -> bool:
        return self.result.valid

    @property
    def problems(self) -> list[Problem]:
        return self.result.problems

    @property
    def year(self) -> int | None:
        year = self.result.values.get("unit.year")
        return year if isinstance(year, int) else None

    def document(self) -> dict[str, Any]:
        """The report in the upload format, with its ``source`` beside the statistics."""
        return self.result.document(source=self.source)


def read_workbook(
    path: Path,
    *,
    spec: Spec | None = None,
    strict: bool = False,
    prev: LastYear | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ReadResult:
    """Read and check a filled workbook; raise :class:`UnreadableInput` if it cannot be trusted.

    ``spec`` defaults to the built-in edition named in the workbook's metadata; ``prev`` holds
    last year's values for the cross-year rules (see :func:`previous`).
    """
    path = Path(path)
    file = vetted(path, limits=limits)
    data = file.data
    with xlsx.open_workbook(data, path.name, file.zf) as book:
        meta = metadata(book)
        spec, lay = recognise(meta, spec, path.name)
        _verify_sheets(book, lay)
        _verify_names(book, lay)
        grids = book.read_sheets(_extent(lay))
        _verify_labels(book.name, grids, lay)
        raws = {key: book.value(grids[sheet].get(at)) for key, sheet, at in _inputs(spec, lay)}
        overwritten = _overwritten(book, spec, lay, grids)
    values, problems = _values(spec, lay, raws)
    problems[:0] = overwritten + _changed(spec, lay, meta, raws)
    invalid = frozenset(key for p in problems if p.is_error for key in p.keys)
    result = check(
        spec, values, prev=prev, strict=strict, invalid=invalid, locate=lambda k: lay.cells[k].a1
    )
    result.problems[:0] = problems
    source = {
        "file": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "edition": spec.edition,
        "template_version": meta.get("template_version", ""),
        "generator": GENERATOR,
    }
    return ReadResult(result, source, meta, invalid)


# --------------------------------------------------------------------------- recognising


def metadata(book: xlsx.Workbook) -> dict[str, str]:
    """The template metadata (very hidden sheet, key in column A, value in column B)."""

    if book.sheet(META_SHEET) is None:
        raise UnreadableInput(
            f"文件“{book.name}”不是用 xlreport 填报模板填写的（缺少模板信息），无法确认各数据的位置；"
            + _GET_TEMPLATE,
            code="foreign",
        )
    grid = book.read_sheets({META_SHEET: (META_ROWS - 1, 1)})[META_SHEET]
    meta: dict[str, str] = {}
    for row in range(META_ROWS):
        key, value = grid.get((row, 0)), grid.get((row, 1))
        if key is not None and key.text:
            meta.setdefault(key.text.strip(), (value.text or "").strip() if value else "")
    return meta


def recognise(meta: Mapping[str, str], spec: Spec | None, name: str) -> tuple[Spec, Placed]:
    """The spec to read a workbook with and where its template put everything, or
    :class:`UnreadableInput`.

    This is the one place that decides which templates are readable: the current layout of each
    built-in edition (or of the ``spec`` passed in), and every older layout of a built-in edition
    registered in :mod:`xlreport.workbook.registry`.
    """
    template_id = meta.get("template_id", "")
    if template_id != TEMPLATE_ID:
        found = f"模板标识为“{template_id[:40]}”" if template_id else "没有模板标识"
        raise UnreadableInput(
            f"文件“{name}”{found}，不是本系统的填报模板（应为“{TEMPLATE_ID}”）；" + _GET_TEMPLATE,
            code="foreign",
        )
    edition = meta.get("edition", "")
    if spec is None:
        if edition not in BUILTIN_EDITIONS:
            readable = "、".join(BUILTIN_EDITIONS)
            raise UnreadableInput(
                f"文件“{name}”的填报模板是“{edition[:20]}”年版，这里能读的是 {readable} 年版；"
                "如果它是省、市制定的自定义版本，请用生成这份模板的规格文件读取（加 --spec 规格.yaml），"
                "否则" + _GET_TEMPLATE[1:],
                code="unknown_template",
            )
        spec = builtin(edition)
    elif edition != spec.edition:
        raise UnreadableInput(
            f"文件“{name}”的填报模板是“{edition[:20]}”年版，而指定的规格是 {spec.edition} 年版；"
            f"请用 {spec.edition} 年版的填报模板填写，或用生成这份模板的规格文件读取",
            code="unknown_template",
        )
    version, digest = meta.get("template_version", ""), meta.get("layout_digest")
    if version == spec.template_version and digest == _layout(spec).digest:
        return spec, _layout(spec)
    builtin_spec = spec.edition in BUILTIN_EDITIONS and spec.digest == builtin(spec.edition).digest
    released = registry.find(spec.edition, version) if builtin_spec else None
    if released is not None and released.digest == digest:
        return released.spec(), released
    if version != spec.template_version and released is None:
        known = registry.versions(spec.edition) if builtin_spec else [spec.template_version]
        raise UnreadableInput(
            f"文件“{name}”由未知版本的 {spec.edition} 年版填报模板生成（模板版本“{version[:20]}”，"
            f"本程序认识的是“{'”“'.join(known)}”），无法确认各数据的位置；"
            "请用最新的填报模板（xlreport build 生成）重新填写，"
            + ("或升级 xlreport" if builtin_spec else "或用生成这份模板时的规格文件读取（--spec）"),
            code="unknown_template",
        )
    raise UnreadableInput(
        f"文件“{name}”的模板信息写明是 {spec.edition} 年版第“{version[:20]}”版模板，"
        "但表格布局与该版本不同（模板信息或模板可能被其他程序改动过），无法确认各数据的位置；"
        "请用最新的填报模板（xlreport build 生成）重新填写",
        code="unknown_template",
    )


@cache
def _layout(spec: Spec) -> Layout:
    return layout(spec)


@cache
def _inputs(spec: Spec, lay: Placed) -> tuple[tuple[str, str, tuple[int, int]], ...]:
    """(key, sheet, (row, col)) of every input cell (not a total) of ``lay``."""
    return tuple((key, pos.sheet, (pos.row, pos.col)) for key, pos in lay.cells.items()
                 if not spec.cell(key).computed)


@cache
def _extent(lay: Placed) -> dict[str, tuple[int, int]]:
    """Per sheet, the last row and column holding a cell or label of the template."""
    extent: dict[str, tuple[int, int]] = {}
    places = [(p.sheet, p.row, p.col) for p in lay.cells.values()]
    places += [(lb.sheet, lb.row, lb.col) for lb in lay.labels]
    for sheet, row, col in places:
        last_row, last_col = extent.get(sheet, (0, 0))
        extent[sheet] = (max(last_row, row), max(last_col, col))
    return extent


# --------------------------------------------------------------------------- structure


def _tampered(name: str, what: str) -> UnreadableInput:
    return UnreadableInput(
        f"文件“{name}”的填报模板结构被改动过，不能保证读到正确的数据：{what}。{_UNDO}",
        code="tampered",
    )


def _verify_sheets(book: xlsx.Workbook, lay: Placed) -> None:
    """Every sheet of the template present under its name; no sheet added but the notes of a
    migrated workbook.  Hidden, shown and reordered sheets are fine (a LibreOffice save turns very
    hidden into hidden)."""

    expected = [n for n in lay.sheet_names if n != META_SHEET]
    present = [s.name for s in book.sheets]
    changes = [f"缺少工作表“{n}”（被删除或改名）" for n in expected if n not in present]
    changes += [f"多出工作表“{n}”" for n in present
                if n not in expected and n not in (META_SHEET, NOTES_SHEET)]
    changes += [f"工作表“{n}”出现了不止一次" for n in dict.fromkeys(present)
                if present.count(n) > 1]
    if changes:
        raise _tampered(book.name, "；".join(changes))


#: A name that does not point where the template put it: key, row, col, (sheet, row, col), text.
_Moved = tuple[str, int, int, "tuple[str, int, int] | None", str]


#: Defined names found right for a layout, by (id of the names, layout) → those names: a workbook
#: part parsed once (``xlsx`` keeps it by content) is verified once per layout.
_NAMES_OK: dict[tuple[int, Placed], Mapping[str, list[str]]] = {}


def _verify_names(book: xlsx.Workbook, lay: Placed) -> None:
    """Every cell's defined name points at exactly the template's cell, and only there."""
    key = (id(book.names), lay)
    if _NAMES_OK.get(key) is book.names:
        return
    _check_names(book, lay)
    if len(_NAMES_OK) >= 64:
        _NAMES_OK.clear()
    _NAMES_OK[key] = book.names


def _check_names(book: xlsx.Workbook, lay: Placed) -> None:
    missing: list[str] = []
    moved: dict[str, list[_Moved]] = {}
    for key, pos in lay.cells.items():
        found = book.names.get(key.lower(), [])
        if not found:
            missing.append(key)
            continue
        target = _name_target(found[0]) if len(found) == 1 else None
        if target != (pos.sheet, pos.row, pos.col):
            shown = found[0] if len(found) == 1 else f"{len(found)} 个不同位置"
            moved.setdefault(pos.sheet, []).append((key, pos.row, pos.col, target, shown))
    changes: list[str] = []
    for sheet, items in moved.items():
        key, row, col, target, shown = items[0]
        if target is not None:
            shown = a1(target[1], target[2])
            shown = shown if target[0] == sheet else f"工作表“{target[0]}”{shown}"
        where = f"{key} 应在 {a1(row, col)}，现在指向 {shown}"
        changes.append(
            f"工作表“{sheet}”有 {len(items)} 个填报单元格的名称与模板位置不符（如 {where}）"
            + _shift(items, sheet)
        )
    if missing:
        more = f"等 {len(missing)} 个" if len(missing) > 1 else ""
        changes.append(f"缺少单元格名称 {missing[0]}{more}（名称被删除）")
    if changes:
        raise _tampered(book.name, "；".join(changes))


def _shift(items: list[_Moved], sheet: str) -> str:
    """``，整体下移了 1 行（插入了行）`` when every moved name moved by the same rows/columns."""
    deltas = {
        (t[1] - row, t[2] - col) if t is not None and t[0] == sheet else None
        for _, row, col, t, _ in items
    }
    if len(items) == 1:
        return "，名称被改动过"
    if len(deltas) != 1 or None in deltas:
        return "，可能插入或删除了行、列，或修改了名称"
    ((rows, cols),) = (d for d in deltas if d is not None)
    moves = []
    if rows:
        moves.append(f"{'下' if rows > 0 else '上'}移了 {abs(rows)} 行")
    if cols:
        moves.append(f"{'右' if cols > 0 else '左'}移了 {abs(cols)} 列")
    cause = "插入" if rows > 0 or cols > 0 else "删除"
    return f"，整体{'、'.join(moves)}（{cause}了行或列）"


@lru_cache(maxsize=4096)
def _name_target(formula: str) -> tuple[str, int, int] | None:
    """``'三、依申请公开'!$B$5`` (quoted or not, or a one-cell range) → (sheet, row, col)."""
    text = formula.strip().removeprefix("=")
    sheet, bang, ref = text.rpartition("!")
    if not bang or not sheet:
        return None
    if sheet.startswith("'") and sheet.endswith("'") and len(sheet) > 1:
        sheet = sheet[1:-1].replace("''", "'")
    elif "'" in sheet:
        return None
    first, _, last = ref.partition(":")
    start = parse_a1(first)
    if start is None or (last and parse_a1(last) != start):
        return None
    return sheet, start[0], start[1]


def _verify_labels(name: str, grids: Mapping[str, xlsx.Grid], lay: Placed) -> None:
    """Every label of the template (titles, headings, row and column labels) still in place."""
    wrong: dict[str, list[tuple[Any, str]]] = {}
    for label in lay.labels:
        cell = grids[label.sheet].get((label.row, label.col))
        found = _label_text(cell)
        if found != label.text.strip():
            wrong.setdefault(label.sheet, []).append((label, found))
    if not wrong:
        return
    changes = []
    for sheet, items in wrong.items():
        label, found = items[0]
        ref = a1(label.row, label.col)
        now = f"“{clip(found)}”" if found else "空白"
        moved = _find_label(grids[sheet], label)
        if moved:
            hint = f"；这个标签现在在 {moved}，可能插入或删除了行、列"
        elif len(items) == 1:
            hint = "，标签文字被修改过"
        else:
            hint = "，可能插入或删除了行、列，或修改了标签文字"
        more = f"共 {len(items)} 处不符，" if len(items) > 1 else ""
        changes.append(
            f"工作表“{sheet}”{more}如 {ref} 应为“{clip(label.text)}”，现在是{now}{hint}"
        )
    raise _tampered(name, "；".join(changes))


def _label_text(cell: xlsx.RawCell | None) -> str:
    if cell is None or cell.text is None or cell.formula is not None:
        return "" if cell is None or cell.formula is None else f"={cell.formula}"
    return cell.text.strip()


def _find_label(grid: xlsx.Grid, label: Any) -> str | None:
    """Where a label's text now is, within a few rows or columns of its place."""
    text = label.text.strip()
    for distance in range(1, 11):
        for row, col in ((label.row + distance, label.col), (label.row - distance, label.col),
                         (label.row, label.col + distance), (label.row, label.col - distance)):
            if _label_text(grid.get((row, col))) == text:
                return a1(row, col)
    return None


# --------------------------------------------------------------------------- totals, pre-fills


def _overwritten(
    book: xlsx.Workbook, spec: Spec, lay: Placed, grids: Mapping[str, xlsx.Grid]
) -> list[Problem]:
    """Every total that no longer holds the template's formula (a number typed over it after
    removing the sheet protection, another formula): the printed copy would not show the report."""
    problems = []
    for key, expected in lay.formulas.items():
        pos = lay.cells[key]
        raw = grids[pos.sheet].get((pos.row, pos.col))
        found = raw.formula if raw is not None else None
        if found is not None and _formula_text(found) == _formula_text(expected):
            continue
        cell = spec.cell(key)
        where = f"{cell.where}（{key}）"
        if found is None:
            content = book.value(raw)
            now = f"被改写为“{clip(shown(content), 40)}”" if content is not None else "被清空了"
        else:
            now = f"的公式被改成了“={clip(found, 40)}”"
        problems.append(Problem(
            severity="error", code="overwritten", keys=(key,),
            message=f"{where}：总计单元格{now}，应为公式 ={expected}（各项之和）；"
                    "请改回这个公式，或在一份新的填报模板中重新填写",
            actual=shown(book.value(raw)) if raw is not None else None,
            sheet=cell.sheet, cell=pos.a1,
        ))
    return problems


def _formula_text(formula: str) -> str:
    """A formula compared as written by any program: no ``=``, ``$`` or spaces, upper case."""
    return formula.removeprefix("=").replace("$", "").replace(" ", "").upper()


def _changed(
    spec: Spec, lay: Placed, meta: Mapping[str, str], raws: Mapping[str, Any]
) -> list[Problem]:
    """Every locked value of a distribution copy (recorded in the metadata) that was changed."""
    problems = []
    for name, old in meta.items():
        key = name.removeprefix(PREFILLED)
        if not name.startswith(PREFILLED) or key not in spec.cells or spec.cell(key).computed:
            continue
        cell = spec.cell(key)
        expected: object = old
        if cell.numeric or cell.type == "year":
            try:
                expected = Decimal(old)
            except ArithmeticError:
                continue
        if same(raws.get(key), expected):
            continue
        raw = raws.get(key)
        ref = lay.cells[key].a1
        now = f"“{clip(shown(raw), 40)}”" if raw is not None else "空白"
        problems.append(Problem(
            severity="error", code="prefilled", keys=(key,),
            message=f"{cell.where}（{key}）：汇总单位预填的是“{old}”，"
                    f"现在是{now}；请改回“{old}”，或向汇总单位要一份新的填报表",
            expected=old, actual=shown(raw) if raw is not None else None,
            sheet=cell.sheet, cell=ref,
        ))
    return problems


# --------------------------------------------------------------------------- values


def _values(
    spec: Spec, lay: Placed, raws: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """Each input cell parsed with the value policy; problems name the sheet, cell and labels.

    Blanks are left as None: :func:`~xlreport.validate.check` reports them, one warning per table.
    A text cell keeps whatever was typed (even “无”), except that a required one must say something.
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, raw in raws.items():
        cell = spec.cell(key)
        parsed = parse(raw, cell.type, year_range=spec.years)
        if parsed.code == "blank":
            keep = cell.kind.family == "text" and cell.optional and isinstance(raw, str)
            values[key] = raw.strip() if keep and _visible(raw) else None
            continue
        values[key] = parsed.value
        if parsed.code is not None:
            problems.append(value_problem(cell, raw, parsed, lambda k: lay.cells[k].a1))
    return values, problems


def _visible(text: str) -> bool:
    return any(ch.isprintable() and not ch.isspace() for ch in text)
