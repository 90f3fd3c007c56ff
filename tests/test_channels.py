"""One bad value, one problem: a workbook and an upload JSON get the same code and message.

Each case types the same value into a cell of a real template (openpyxl, as a person's program
saves it) and writes it into the upload JSON of the same report; both go through xlreport's
checks.  A problem from the workbook also names its sheet and cell.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import example
from support import workbooks
from xlreport import edition
from xlreport.checks import report
from xlreport.checks.problems import Problem
from xlreport.checks.validate import validate_document
from xlreport.workbook import template
from xlreport.workbook.reader import read_workbook

SPEC = edition.builtin("2021")
NATURAL = "requests.new.natural_person"
GRANTED = "requests.results.granted.natural_person"
FEES = "proactive.fees.amount"
YEAR = "unit.year"
CODE = "unit.code"

#: (cell, value in the workbook, the same value in JSON, expected code)
CASES = [
    (NATURAL, "12件", "12件", "not_a_number"),
    (NATURAL, "abc", "abc", "not_a_number"),
    (NATURAL, -3, -3, "negative"),
    (NATURAL, 1.5, Decimal("1.5"), "fraction"),
    (NATURAL, 10**16, 10**16, "not_a_number"),
    (NATURAL, True, True, "not_a_number"),
    (FEES, 1.1234567, Decimal("1.1234567"), "too_many_decimals"),
    (FEES, -2.5, Decimal("-2.5"), "negative"),
    (FEES, "3.5元", "3.5元", "not_a_number"),
    (YEAR, 1999, 1999, "year_range"),
    (YEAR, 2021.5, Decimal("2021.5"), "fraction"),
    (CODE, "91350128MA31234561", "91350128MA31234561", "credit_code"),
    (CODE, "91350128MA3123456", "91350128MA3123456", "credit_code"),
    (CODE, "91350128MA3123456I", "91350128MA3123456I", "credit_code"),
]


@pytest.fixture(scope="module")
def blank_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template.build(SPEC, tmp_path_factory.mktemp("channels") / "模板.xlsx")


def _typed() -> dict[str, Any]:
    """The typed cells of a valid real report (平潭 2021); totals are the workbook's to compute."""
    flat = report.flatten(example("pingtan_2021"), SPEC)
    return {k: v for k, v in flat.items() if not SPEC.cell(k).computed}


def _from_workbook(blank: Path, folder: Path, changes: dict[str, Any]) -> list[Problem]:
    values = {k: v for k, v in {**_typed(), **changes}.items() if v is not None}
    path = workbooks.fill(blank, folder / "返回.xlsx", values)
    return read_workbook(path).problems


def _from_json(changes: dict[str, Any]) -> list[Problem]:
    values = {**_typed(), **changes}
    values.update({k: None for k in SPEC.cells if SPEC.cell(k).computed})
    return validate_document(report.nest(values, SPEC), SPEC).problems


def _same(workbook: list[Problem], json: list[Problem]) -> None:
    def fields(p: Problem) -> tuple[object, ...]:
        return (p.severity, p.code, p.rule, p.keys, p.message, p.expected, p.actual)

    assert [fields(p) for p in workbook] == [fields(p) for p in json]
    assert all(p.sheet is None and p.cell is None for p in json)


@pytest.mark.parametrize(("key", "in_workbook", "in_json", "code"), CASES)
def test_a_bad_value_is_the_same_problem_from_a_workbook_and_from_json(
    key: str, in_workbook: Any, in_json: Any, code: str, blank_template: Path, tmp_path: Path
) -> None:
    from_workbook = _from_workbook(blank_template, tmp_path, {key: in_workbook})
    from_json = _from_json({key: in_json})
    _same(from_workbook, from_json)
    (problem,) = [p for p in from_workbook if key in p.keys]
    assert problem.code == code
    assert (problem.sheet, problem.cell) == workbooks.cell_ref(blank_template, key)
    assert problem.cell in problem.text and problem.message in problem.text
    assert all(p.sheet is not None for p in from_workbook)


def test_normalised_credit_code_is_the_same_warning(blank_template: Path, tmp_path: Path) -> None:
    typed = "91350128ma31234562"[:17] + "0"
    good = next(typed[:17].upper() + c for c in edition.kinds.CREDIT_CODE_CHARS
                if edition.kinds.credit_code_ok(typed[:17].upper() + c))
    lower = good.lower()
    from_workbook = _from_workbook(blank_template, tmp_path, {CODE: lower})
    from_json = _from_json({CODE: lower})
    _same(from_workbook, from_json)
    (problem,) = from_workbook
    assert (problem.severity, problem.code) == ("warning", "normalised") and good in problem.message


def test_rule_problems_agree_and_carry_the_total_cell(blank_template: Path, tmp_path: Path) -> None:
    granted = _typed()[GRANTED] + 5
    from_workbook = _from_workbook(blank_template, tmp_path, {GRANTED: granted})
    from_json = _from_json({GRANTED: granted})
    _same(from_workbook, from_json)
    assert [(p.code, p.rule) for p in from_workbook] == [("rule", "balance")] * 2  # 自然人, 总计
    total = "requests.results.total.natural_person"
    (problem,) = [p for p in from_workbook if total in p.keys]
    assert (problem.sheet, problem.cell) == workbooks.cell_ref(blank_template, total)
    assert all(p.cell is not None for p in from_workbook)


def test_required_cells_agree_and_name_their_cell(blank_template: Path, tmp_path: Path) -> None:
    from_workbook = _from_workbook(blank_template, tmp_path, {"unit.name": None})
    from_json = _from_json({"unit.name": None})
    _same(from_workbook, from_json)
    (problem,) = from_workbook
    assert problem.code == "required"
    assert (problem.sheet, problem.cell) == workbooks.cell_ref(blank_template, "unit.name")
