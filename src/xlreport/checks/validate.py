"""Checking a report: blanks, required cells, totals and every rule — one pipeline for all inputs.

:func:`check` takes the values of a report keyed by cell key (from upload JSON or from a workbook)
and returns a :class:`Result`.  :func:`validate_document` puts the upload JSON through the JSON
Schema first.  The reader of filled workbooks calls :func:`check` too, so every rule and every
message exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from typing import Any

from ..edition.spec import Cell, Spec
from ..errors import UnreadableInput
from . import report, rules
from .problems import Problem
from .values import Parsed, Raw, described, parse_json, shown

Locate = Callable[[str], str | None]
#: Last year's values for the cross-year rules, or a function that picks them from this year's
#: values (by the unit and year they name): a file is then read once, before its pair is known.
LastYear = Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any] | None]


@dataclass
class Result:
    """What checking a report found: its completed values and the problems."""

    spec: Spec
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def document(self, **meta: Any) -> dict[str, Any]:
        """The report in the upload format (nested JSON object)."""
        return report.nest(self.values, self.spec, **meta)

    def summary(self) -> dict[str, Any]:
        """The machine-readable problem report (``--report``)."""
        return {
            "valid": self.valid,
            "edition": self.spec.edition,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_json() for p in self.problems],
        }


def check(
    spec: Spec,
    values: Mapping[str, Any],
    *,
    prev: LastYear | None = None,
    strict: bool = False,
    invalid: frozenset[str] = frozenset(),
    locate: Locate | None = None,
) -> Result:
    """Check ``values`` (cell key → int/Decimal/str/None) against ``spec``.

    ``prev`` may be a function of this report's values (unreadable cells None, blanks 0) that
    returns last year's values, or None when there is no report of last year to compare with.

    Blank statistics become 0 with one warning per table (errors when ``strict``); a table whose
    statistics are all blank is an error (:func:`statistics`); blank totals are computed;
    ``invalid`` keys (already reported by the caller) are left out of every rule.
    ``locate`` gives a cell reference (``B5``) for a key, for messages about workbooks.
    """
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    blanks: dict[str, list[Cell]] = {}
    for key, cell in spec.cells.items():
        value = values.get(key)
        if key in invalid:
            out[key] = None
        elif value is None and cell.statistic and not cell.computed:
            blanks.setdefault(cell.sheet, []).append(cell)
            out[key] = cell.kind.zero
        elif value is None and not cell.optional and not cell.computed:
            problems.append(_required(cell, locate))
            out[key] = None
        else:
            out[key] = value
    for sheet, cells in blanks.items():
        whole = len(cells) == len(statistics(spec)[sheet])
        problems.append(_blank_table(cells, locate) if whole else _blank(cells, strict, locate))
    if callable(prev):
        prev = prev(out)
    completed = rules.complete(spec, {k: v for k, v in out.items() if k not in invalid})
    numbers = _numeric(spec)
    numeric = {k: v for k, v in completed.items() if v is not None and k in numbers}
    for outcome in rules.evaluate(spec, numeric, prev):
        if outcome.ok is False:
            problems.append(_placed(outcome.problem(spec), spec, locate))
    out.update({k: v for k, v in completed.items() if k not in invalid})
    return Result(spec, out, problems)


def value_problem(cell: Cell, raw: Raw | Decimal, parsed: Parsed, locate: Locate | None = None) -> Problem:
    """The problem the value policy found in one cell — the same code and message whether the
    value came from a workbook or from JSON; a workbook's problem also names its sheet and cell."""
    assert parsed.code is not None and parsed.severity is not None
    sheet, ref = _place(cell, locate)
    text = f"{cell.where}（{cell.key}）：{described(raw)}，{parsed.hint}"
    if parsed.is_error:
        text += f"；应填写{cell.kind.label}"
    return Problem(
        severity=parsed.severity,
        code=parsed.code,
        keys=(cell.key,),
        message=text,
        actual=shown(raw),
        sheet=sheet,
        cell=ref,
    )


def _place(cell: Cell, locate: Locate | None) -> tuple[str | None, str | None]:
    """(sheet, cell) of a problem about ``cell`` of a workbook; (None, None) for JSON."""
    ref = locate(cell.key) if locate else None
    return (cell.sheet, ref) if ref else (None, None)


def _placed(problem: Problem, spec: Spec, locate: Locate | None) -> Problem:
    """A rule problem from a workbook, with the sheet and cell of its first computed key (the
    total the rule is about), else of its first key."""
    if locate is None or not problem.keys:
        return problem
    cells = [spec.cell(k) for k in problem.keys]
    first = next((c for c in cells if c.computed), cells[0])
    sheet, ref = _place(first, locate)
    return replace(problem, sheet=sheet, cell=ref)


def _required(cell: Cell, locate: Locate | None) -> Problem:
    sheet, ref = _place(cell, locate)
    return Problem(
        severity="error",
        code="required",
        keys=(cell.key,),
        message=f"{cell.where}：必须填写（{cell.kind.label}）",
        sheet=sheet,
        cell=ref,
    )


@cache
def _numeric(spec: Spec) -> frozenset[str]:
    """The cells that hold numbers (the only ones a rule adds up)."""
    return frozenset(key for key, cell in spec.cells.items() if cell.numeric)


@cache
def statistics(spec: Spec) -> dict[str, tuple[str, ...]]:
    """The statistics typed into each sheet that has any (its table): when every one is blank, the
    table was not filled in — an error, not a count of blanks."""
    out: dict[str, list[str]] = {}
    for cell in spec.inputs():
        if cell.statistic:
            out.setdefault(cell.sheet, []).append(cell.key)
    return {sheet: tuple(keys) for sheet, keys in out.items()}


def _blank_table(cells: list[Cell], locate: Locate | None) -> Problem:
    return Problem(
        severity="error",
        code="blank_table",
        keys=tuple(c.key for c in cells),
        message=f"{cells[0].short_table}全部空白（{len(cells)} 个统计单元格都没有填写）：如确无数据请填写 0",
        sheet=cells[0].sheet if locate else None,
    )


def _blank(cells: list[Cell], strict: bool, locate: Locate | None) -> Problem:
    by_row: dict[str, list[Cell]] = {}
    for cell in cells:
        by_row.setdefault(" / ".join(cell.row_path), []).append(cell)
    parts = []
    for row, row_cells in by_row.items():
        cols = "、".join(
            f"{c.col_label or '内容'}{_ref(c.key, locate)}" for c in row_cells
        )
        parts.append(f"{row}（{cols}）")
    short = cells[0].short_table
    verb = "不能留空，没有发生请填 0" if strict else "按 0 计；如确为 0 建议填写 0"
    return Problem(
        severity="error" if strict else "warning",
        code="blank",
        keys=tuple(c.key for c in cells),
        message=f"{short}有 {len(cells)} 个空白单元格{verb}：{'；'.join(parts)}",
        sheet=cells[0].sheet if locate else None,
    )


def _ref(key: str, locate: Locate | None) -> str:
    ref = locate(key) if locate else None
    return f"[{ref}]" if ref else ""


# --------------------------------------------------------------------------- upload JSON


def validate_document(
    doc: Any,
    spec: Spec,
    *,
    prev: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> Result:
    """JSON Schema first, then :func:`check` on every cell that passed it."""
    if not isinstance(doc, Mapping):
        kind = {list: "数组", str: "字符串", int: "数字", Decimal: "数字"}.get(type(doc), "非对象")
        raise UnreadableInput(f"上报 JSON 的最外层应为对象（{{…}}），实际是{kind}", code="not_object")
    problems, invalid = schema_problems(doc, spec)
    values: dict[str, Any] = {}
    for key, value in report.flatten(doc, spec).items():
        if key in invalid:
            continue
        cell = spec.cell(key)
        parsed = parse_json(value, cell.type, year_range=spec.years)
        if parsed.code is not None:
            problems.append(value_problem(cell, value, parsed))
        if parsed.is_error:
            invalid.add(key)
        else:
            values[key] = parsed.value
    result = check(spec, values, prev=prev, strict=strict, invalid=frozenset(invalid))
    result.problems[:0] = problems
    return result


def previous_values(doc: Any, spec: Spec) -> dict[str, Any]:
    """Values of last year's report for the cross-year rules (blanks as 0, totals computed); its
    year is checked by :mod:`xlreport.workflows.previous`."""
    if not isinstance(doc, Mapping):
        raise UnreadableInput("上年报告的最外层应为对象（{…}）", code="not_object")
    numeric: dict[str, Any] = {}
    for key, value in report.flatten(doc, spec).items():
        cell = spec.cell(key)
        parsed = parse_json(value, cell.type, year_range=spec.years)
        if cell.numeric and not parsed.is_error:
            numeric[key] = cell.kind.zero if parsed.value is None else parsed.value
    return {k: v for k, v in rules.complete(spec, numeric).items() if v is not None}


# --------------------------------------------------------------------------- JSON Schema


@cache
def _validator(spec: Spec) -> Any:
    import jsonschema  # deferred: jsonschema takes ~100 ms; reading a workbook never needs it

    from .schema import generate  # deferred: with jsonschema

    def is_integer(checker: Any, instance: Any) -> bool:
        if isinstance(instance, Decimal):
            return instance.is_finite() and instance == instance.to_integral_value()
        return isinstance(instance, int) and not isinstance(instance, bool)

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine("integer", is_integer)
    cls = jsonschema.validators.extend(base, type_checker=checker)
    return cls(generate(spec))


def schema_problems(doc: Mapping[str, Any], spec: Spec) -> tuple[list[Problem], set[str]]:
    """Schema violations as problems, and the cell keys they make unusable."""
    problems: list[Problem] = []
    invalid: set[str] = set()
    errors = sorted(_validator(spec).iter_errors(doc), key=lambda e: [str(p) for p in e.path])
    for err in errors:
        path = [str(p) for p in err.absolute_path]
        key = ".".join(path)
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            key = ".".join([*path, missing])
        cell = spec.cells.get(key)
        if cell is not None and _scalar(err.instance) and err.validator != "required":
            continue  # a value in a cell: the value policy reports it, as for a workbook
        problems.append(_schema_problem(err, key, cell, spec))
        if cell is not None:
            invalid.add(key)
        else:
            invalid.update(k for k in spec.cells if k.startswith(key + ".") or not key)
    return problems, invalid


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, bool | int | str | Decimal)


def _schema_problem(err: Any, key: str, cell: Cell | None, spec: Spec) -> Problem:
    where = f"{cell.where}（{key}）" if cell else (key or "最外层")
    v = err.validator
    if v == "required":
        text = "缺少这一项（空白单元格请写 null）" if cell else "缺少这一部分"
    elif v == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        text = f"有不属于 {spec.edition} 年版报表的项：{'、'.join(map(str, extra))}"
    elif v == "const":
        text = f"应为 {err.validator_value!r}"
    elif v == "maxLength":
        text = f"共 {len(err.instance)} 字，一个单元格最多 {err.validator_value} 字；请精简"
    elif cell is not None:
        text = f"应为{cell.kind.label}，填报为 {report.dumps(err.instance, indent=None).strip()}"
    else:
        text = f"应为对象（{{…}}），填报为 {report.dumps(err.instance, indent=None).strip()}"
    return Problem(
        severity="error",
        code="schema",
        keys=(key,) if key else (),
        message=f"{where}：{text}",
        actual=err.instance if isinstance(err.instance, (int, str, Decimal)) else None,
    )
