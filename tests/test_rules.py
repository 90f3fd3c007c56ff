"""The rule engine: parsing, exact evaluation, and rendering as Excel formulas."""

from __future__ import annotations

import re
from dataclasses import replace
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
    assert engine.excel_side(check, check.lhs, ref) == "SUM(B5,B6)"
    assert engine.excel_side(check, check.rhs, ref) == "SUM(B29,B30)"
    assert engine.excel_result(check, "E2", "F2") == (
        'IF(ISERROR((E2)-(F2)),"不通过",IF(ROUND((E2)-(F2),6)=0,"通过","不通过"))'
    )


def test_a_side_with_subtracted_terms_sums_them_apart() -> None:
    spec = spec_mod.builtin("2021")
    check = next(c for c in spec.checks() if c.rule.id == "in_force")
    side = tuple(t for t in check.rhs if not t.prev)
    assert engine.excel_side(check, side, str.upper) == (
        "SUM(PROACTIVE.REGULATIONS.ISSUED)-SUM(PROACTIVE.REGULATIONS.REPEALED)")


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


# --------------------------------------------------------------------------- sets named from the layout

REQUESTER_COLUMNS = ["natural_person", "commercial", "research", "public_interest",
                     "legal_services", "other", "total"]
#: The ``over`` lists the built-in editions wrote by hand before they named sets.
HAND_LISTS = {
    "balance": {"col": REQUESTER_COLUMNS},
    "results_total": {"col": REQUESTER_COLUMNS[:-1]},
    "carry_over": {"col": REQUESTER_COLUMNS},
    "in_force": {"row": ["regulations", "normative_documents"]},
}


def _rendered(spec: spec_mod.Spec) -> list[tuple[object, ...]]:
    """Every check as the template and the reader see it: name, terms, labels, Excel formulas,
    sheet text and a message."""
    out = []
    for c in spec.checks():
        ref = "<{}>".format
        formulas = None if c.cross_year else (engine.excel_side(c, c.lhs, ref),
                                              engine.excel_side(c, c.rhs, ref))
        out.append((c.name, c.rule.id, c.lhs, c.op, c.rhs, c.labels, c.bindings, c.target, formulas,
                    c.describe(spec), c.message(spec, Decimal(1), Decimal(2))))
    return out


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_builtin_sets_expand_to_the_former_hand_lists(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    data = spec_mod.resolved(spec_mod.builtin_path(edition))
    named = [r for r in data["rules"] if isinstance(next(iter(r.get("over", {}).values()), None), dict)]
    assert {r["id"] for r in named} == set(HAND_LISTS) & {r.id for r in spec.rules}, "sets, not lists"
    for raw in named:
        raw["over"] = HAND_LISTS[raw["id"]]
    by_hand = spec_mod.from_data(data)
    assert _rendered(spec) == _rendered(by_hand)
    assert len(spec.checks()) == {"2021": 50, "2019": 46}[edition]


def _among(spec: spec_mod.Spec, **raw: object) -> tuple[str, ...]:
    return rules.Among.from_data(raw).members(spec)


def test_a_set_is_every_leaf_under_a_position() -> None:
    spec = spec_mod.builtin("2021")
    assert _among(spec, columns="requests") == tuple(REQUESTER_COLUMNS)
    assert _among(spec, columns="requests", skip_totals=True) == tuple(REQUESTER_COLUMNS[:-1])
    assert _among(spec, columns="requests.法人或其他组织") == tuple(REQUESTER_COLUMNS[1:-1])
    results = _among(spec, rows="requests.results")
    assert results[:3] == ("granted", "partially_granted", "withheld.state_secret")
    assert results[-1] == "total" and len(results) == 22
    assert _among(spec, rows="requests.results.other") == ("no_correction", "unpaid_fee", "misc")
    assert _among(spec, rows="proactive", block="第二十条第（六）项") == ("penalty", "coercion")
    assert _among(spec, rows="appeals") == ("review", "litigation_direct", "litigation_after_review")


@pytest.mark.parametrize(("raw", "phrase"), [
    ({"columns": "requests.totl"}, "没有找到列的位置“requests.totl”；是不是“requests”？"),
    ({"rows": "requests.results.wihheld"}, "是不是“requests.results.withheld”？"),
    ({"rows": "proactive"}, "“proactive”在多个表格块中都有（表二第二十条第（一）项、表二第二十条第（五）项"),
    ({"rows": "proactive", "block": "第二十条第（九）项"}, "（在表格块“第二十条第（九）项”中）"),
    ({"rows": "requests.new"}, "“requests.new”下面没有别的行，它本身就是最末一级"),
    ({"columns": "unit"}, "“unit”下面没有可以逐项展开的列"),
    ({"columns": "requests", "rows": "requests"}, "over 中的取值要写成一个列表"),
])
def test_a_set_that_names_nothing_is_refused(raw: dict[str, object], phrase: str) -> None:
    with pytest.raises(rules.RuleError, match=re.escape(phrase)):
        _among(spec_mod.builtin("2021"), **raw)


def test_a_hand_list_that_covers_part_of_a_set_is_named() -> None:
    spec = spec_mod.builtin("2021")
    whole = rules.Rule.from_data({"id": "x", "severity": "warning", "description": "d",
                                  "over": {"col": REQUESTER_COLUMNS}, "check": "requests.new.{col} >= 0"})
    assert whole.gaps(spec) == []
    part = replace(whole, over=(("col", ("natural_person", "research", "total")),))
    [(var, text)] = part.gaps(spec)
    assert var == "col"
    assert "列出的 3 项只是表三的每一列中的一部分" in text
    assert "缺少 commercial（法人或其他组织/商业企业）、public_interest（法人或其他组织/社会公益组织）、" \
           "legal_services（法人或其他组织/法律服务机构）、other（法人或其他组织/其他）" in text
    assert "请改写为 col: {columns: requests}" in text
    rows = rules.Rule.from_data({"id": "y", "severity": "warning", "description": "d",
                                 "over": {"row": ["regulations"]},
                                 "check": "proactive.{row}.in_force >= proactive.{row}.issued"})
    [(_, text)] = rows.gaps(spec)
    assert "缺少 normative_documents（行政规范性文件）" in text
    assert "row: {rows: proactive, block: 第二十条第（一）项}" in text
    results = replace(rows, over=(("row", ("granted",)),), check="requests.results.{row}.total >= 0")
    [(_, text)] = results.gaps(spec)
    assert "表三“三、本年度办理结果”下的每一行（总计除外）" in text and "等 20 项" in text
    assert replace(rows, over=(("row", ("granted", "new")),), check="requests.{row}.total >= 0").gaps(
        spec) == [], "a list that is part of no set the keys fit is left alone"
