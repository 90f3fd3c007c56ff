"""The rule engine: each check of an edition evaluated with exact Decimal arithmetic and rendered
as an Excel formula.

The rules themselves are data of the edition (:mod:`xlreport.edition.rules`: parsed and expanded into
single :class:`~xlreport.edition.rules.Check` objects when the spec loads).  Here a check meets values:
:func:`evaluate` decides it in Python, :func:`excel_side` and :func:`excel_result` write the same
comparison as a formula for the workbook, so each rule exists exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from ..edition.rules import FAIL, PASS, Check, Number, RuleError, Term, plain
from ..edition.spec import Spec
from .problems import Problem


def sides(
    check: Check, values: Mapping[str, Number | None], prev: Mapping[str, Number | None] | None = None
) -> tuple[Decimal, Decimal] | None:
    """Both sides' values, or None when a value is missing (no previous report, a bad cell).

    Whole numbers are added as ints (exact, and most of a report is counts); a side with a
    decimal in it is added in Decimal, as before."""
    out = []
    for side in (check.lhs, check.rhs):
        total: int | Decimal = 0
        for t in side:
            if t.key is None:
                value: Number | None = t.constant
            else:
                source = prev if t.prev else values
                value = None if source is None else source.get(t.key)
            if value is None:
                return None
            total += t.sign * (value if type(value) is int else Decimal(value))
        out.append(Decimal(total))
    return out[0], out[1]


def holds(check: Check, lhs: Decimal, rhs: Decimal) -> bool:
    op = check.op
    return lhs == rhs if op == "=" else lhs <= rhs if op == "<=" else lhs >= rhs


def excel_side(check: Check, side: Sequence[Term], ref: Callable[[str], str]) -> str:
    """``SUM(B5,C5)-SUM(D5)`` for one side; ``prev`` terms cannot be rendered (no such cells).

    ``SUM`` because it leaves text out in every spreadsheet program, where ``+`` converts some
    texts to numbers and not others (LibreOffice refuses ``"１２"`` and ``"1.5"``, Gnumeric takes
    them); the reader refuses text in a number cell for the same reason.
    """
    if any(t.prev for t in side):
        raise RuleError(f"{check.name} 需要上年报告，无法写成公式")
    plus = [t.excel(ref) for t in side if t.sign > 0]
    minus = [t.excel(ref) for t in side if t.sign < 0]
    text = f"SUM({','.join(plus)})" if plus else ""
    return text + (f"-SUM({','.join(minus)})" if minus else "")


def excel_result(check: Check, lhs: str, rhs: str) -> str:
    """Formula (without ``=``) that shows 通过 or 不通过 given the two sides' cells."""
    return excel_compare(check.op, lhs, rhs)


def excel_compare(op: str, lhs: str, rhs: str) -> str:
    """``IF(…)`` showing 通过 when ``lhs op rhs`` holds to 6 decimals, 不通过 otherwise (also when
    either side is an error value)."""
    compare = {"=": "=0", "<=": "<=0", ">=": ">=0"}[op]
    diff = f"({lhs})-({rhs})"
    return f'IF(ISERROR({diff}),"{FAIL}",IF(ROUND({diff},6){compare},"{PASS}","{FAIL}"))'


@dataclass(frozen=True)
class Outcome:
    """The result of evaluating one check: ``ok`` is None when it could not be evaluated."""

    check: Check
    lhs: Decimal | None
    rhs: Decimal | None
    ok: bool | None

    def problem(self, spec: Spec) -> Problem:
        assert self.lhs is not None and self.rhs is not None
        c = self.check
        expected, actual = (self.rhs, self.lhs)
        return Problem(
            severity=c.rule.severity,
            code="rule",
            rule=c.rule.id,
            keys=c.keys,
            message=c.message(spec, self.lhs, self.rhs),
            expected=plain(expected),
            actual=plain(actual),
        )


def complete(spec: Spec, values: Mapping[str, Number | None]) -> dict[str, Number | None]:
    """A copy of ``values`` where each blank (None) total is computed from its parts."""
    out = dict(values)
    for key, parts in _totals(spec):
        if out.get(key) is None:
            known = [v for p in parts if (v := out.get(p)) is not None]
            if len(known) == len(parts):
                out[key] = sum(known, start=0)
    return out


@cache
def _totals(spec: Spec) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The computed cells and their parts, each after the totals among its parts: the order in
    which :func:`complete` fills them in (once per spec)."""
    order: list[tuple[str, tuple[str, ...]]] = []
    seen: set[str] = set()

    def visit(key: str) -> None:
        cell = spec.cell(key)
        if key in seen or not cell.computed:
            return
        seen.add(key)
        for part in cell.parts:
            visit(part)
        order.append((key, cell.parts))

    for key in spec.cells:
        visit(key)
    return tuple(order)


def evaluate(
    spec: Spec,
    values: Mapping[str, Number | None],
    prev: Mapping[str, Number | None] | None = None,
) -> list[Outcome]:
    """Evaluate every check of ``spec``; cross-year checks only when ``prev`` is given."""
    outcomes = []
    for check in _checks(spec):
        if check.cross_year and prev is None:
            continue
        found = sides(check, values, prev)
        if found is None:
            outcomes.append(Outcome(check, None, None, None))
        else:
            outcomes.append(Outcome(check, *found, holds(check, *found)))
    return outcomes


@cache
def _checks(spec: Spec) -> tuple[Check, ...]:
    """The expanded checks of a spec, once per spec object (a spec is immutable)."""
    return tuple(spec.checks())
