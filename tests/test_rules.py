"""The rule engine: parsing, exact evaluation, and rendering as Excel formulas."""

from __future__ import annotations

from decimal import Decimal

import pytest

from xlreport import edition as spec_mod
from xlreport.checks import rules as engine
from xlreport.edition import rules


def test_parse_signed_terms_constants_and_prev() -> None:
    lhs, op, rhs = rules.parse("a.b = prev.a.b + c.d - e.f - 2")
    assert op == "="
    assert lhs == (rules.Term(1, "a.b"),)
    assert rhs == (
        rules.Term(1, "a.b", prev=True),
        rules.Term(1, "c.d"),
        rules.Term(-1, "e.f"),
        rules.Term(-1, constant=2),
    )
    assert rules.parse("-a.b <= 0")[0] == (rules.Term(-1, "a.b"),)


@pytest.mark.parametrize("expr", ["a.b", "a.b = ", "= a.b", "a.b == c.d = e.f", "a.b c.d = 1",
                                  "a.b + + c.d = 1", "a.b = c.d * 2", "import os = 1"])
def test_parse_refuses_malformed_expressions(expr: str) -> None:
    with pytest.raises(rules.RuleError):
        rules.parse(expr)


def test_balance_renders_as_an_excel_formula() -> None:
    spec = spec_mod.builtin("2021")
    check = next(c for c in spec.checks() if c.name == "checks.balance.natural_person")
    ref = {
        "requests.new.natural_person": "B5",
        "requests.carried_over.natural_person": "B6",
        "requests.results.total.natural_person": "B29",
        "requests.carried_forward.natural_person": "B30",
    }.__getitem__
    assert engine.excel_side(check, check.lhs, ref) == "B5+B6"
    assert engine.excel_side(check, check.rhs, ref) == "B29+B30"
    assert engine.excel_result(check, "E2", "F2") == (
        'IF(ISERROR((E2)-(F2)),"不通过",IF(ROUND((E2)-(F2),6)=0,"通过","不通过"))'
    )


def test_cross_year_checks_cannot_become_formulas() -> None:
    spec = spec_mod.builtin("2021")
    check = next(c for c in spec.checks() if c.cross_year)
    with pytest.raises(rules.RuleError):
        engine.excel_side(check, check.rhs, str)


def test_totals_rule_sums_the_declared_parts() -> None:
    spec = spec_mod.builtin("2021")
    check = next(c for c in spec.checks() if c.name == "checks.results_total.natural_person")
    assert check.target == "requests.results.total.natural_person"
    assert [t.key for t in check.rhs] == list(spec.cell(check.target).parts)
    assert len(check.rhs) == 21


def test_evaluation_is_exact_decimal() -> None:
    spec = spec_mod.builtin("2021")
    values = {key: 0 for key, cell in spec.cells.items() if cell.numeric}
    values["proactive.fees.amount"] = Decimal("0.1")
    completed = engine.complete(spec, {**values, "requests.new.total": None})
    assert completed["requests.new.total"] == 0
    outcomes = engine.evaluate(spec, completed)
    assert all(o.ok for o in outcomes)
    assert not any(o.check.cross_year for o in outcomes)


def test_complete_computes_nested_totals_and_leaves_given_ones() -> None:
    spec = spec_mod.builtin("2021")
    values = {key: 1 for key, cell in spec.cells.items() if cell.numeric and not cell.computed}
    values = {**values, **dict.fromkeys((k for k, c in spec.cells.items() if c.computed), None)}
    values["requests.new.total"] = 99
    completed = engine.complete(spec, values)
    assert completed["requests.new.total"] == 99
    assert completed["requests.results.total.natural_person"] == 21
    assert completed["requests.results.total.total"] == 21 * 6
    assert completed["appeals.review.total"] == 4


def test_missing_values_leave_a_check_unevaluated() -> None:
    spec = spec_mod.builtin("2021")
    outcomes = engine.evaluate(spec, {}, prev={})
    assert outcomes and all(o.ok is None for o in outcomes)
