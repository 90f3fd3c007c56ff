"""The template in a real spreadsheet program: LibreOffice computes what the Python engine computes.

Real reports are entered into the input cells, LibreOffice recalculates and saves as xlsx, and the
totals and check results it saved are compared with :func:`xlreport.checks.rules.complete` and
:func:`xlreport.checks.rules.evaluate`.  Two more copies have numbers broken on purpose — every total
overwritten in one of them, a leaf of every column changed — so that each check fails somewhere and
every check result, and ``checks.status``, must still agree with the engine.  Typing as a person
does is accepted in an input cell and refused in a total, a label and a pre-filled unit field.
Office sessions run two at a time (each costs one to two seconds).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from conftest import example
from support import libreoffice
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.checks import rules as engine
from xlreport.edition.rules import FAIL, PASS
from xlreport.workbook.layout import Position, layout
from xlreport.workbook.template import build

pytestmark = pytest.mark.skipif(
    not libreoffice.available(), reason="LibreOffice (soffice + python3-uno) is not installed"
)

EXAMPLES = ("pingtan_2021", "pingtan_2022", "suqian_city_2023", "sangdong_2020")
BROKEN = ("broken_even", "broken_odd")


def _inputs(name: str) -> tuple[spec.Spec, dict[str, Any]]:
    """The example's input values (blank numbers as 0, as a formula sees them)."""
    doc = example(name)
    sp = spec.builtin(doc["edition"])
    flat = report.flatten(doc, sp)
    values = {c.key: flat.get(c.key) for c in sp.inputs()}
    return sp, {k: (0 if v is None and sp.cell(k).numeric else v) for k, v in values.items()}


def _broken(parity: int) -> tuple[spec.Spec, dict[str, Any], dict[str, int]]:
    """pingtan_2021 with every other total overwritten by a wrong number, and the new requests
    of every other column raised by one."""
    sp, values = _inputs("pingtan_2021")
    totals = [c.key for c in sp.cells.values() if c.computed]
    true = engine.complete(sp, values)
    overwritten = {k: int(true[k]) + 7 + i for i, k in enumerate(totals) if i % 2 == parity}
    leaves = [k for k in values if k.startswith("requests.new.") and not sp.cell(k).computed]
    changed = {k: values[k] + 1 for i, k in enumerate(leaves) if i % 2 == parity}
    return sp, {**values, **changed}, overwritten


def _text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, spec.Spec, dict]]:
    """Each job filled in LibreOffice, recalculated and saved: path, spec, the values it holds."""
    folder = tmp_path_factory.mktemp("lo")
    blanks = {e: build(spec.builtin(e), folder / f"{e}.xlsx") for e in ("2021", "2019")}
    jobs: dict[str, tuple[spec.Spec, dict[str, Any], dict[str, int]]] = {}
    for name in EXAMPLES:
        sp, values = _inputs(name)
        jobs[name] = (sp, values, {})
    for parity, name in enumerate(BROKEN):
        jobs[name] = _broken(parity)

    def run(name: str) -> tuple[str, tuple[Path, spec.Spec, dict]]:
        sp, values, overwritten = jobs[name]
        typed = {k: _text(v) for k, v in {**values, **overwritten}.items() if v is not None}
        dst = folder / f"{name}.saved.xlsx"
        libreoffice.fill(blanks[sp.edition], dst, typed)
        return name, (dst, sp, engine.complete(sp, {**values, **overwritten}))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


def _computed(path: Path, sp: spec.Spec) -> tuple[dict[str, Any], dict[str, Any]]:
    """What LibreOffice saved in every total and every check cell."""
    book = openpyxl.load_workbook(path, data_only=True)
    lay = layout(sp)

    def value(pos: Any) -> Any:
        return book[pos.sheet].cell(pos.row + 1, pos.col + 1).value

    totals = {c.key: value(lay.cells[c.key]) for c in sp.cells.values() if c.computed}
    return totals, {name: value(pos) for name, pos in lay.checks.items()}


def _expected(sp: spec.Spec, values: dict[str, Any]) -> dict[str, str]:
    outcomes = engine.evaluate(sp, values)
    results = {o.check.name: PASS if o.ok else FAIL for o in outcomes}
    errors_hold = all(o.ok for o in outcomes if o.check.rule.severity == "error")
    return {**results, "checks.status": PASS if errors_hold else FAIL}


@pytest.mark.parametrize("name", EXAMPLES + BROKEN)
def test_libreoffice_agrees_with_the_engine(name: str, saved: dict) -> None:
    path, sp, values = saved[name]
    totals, checks = _computed(path, sp)
    for key, got in totals.items():
        assert got == values[key], key
    expected = _expected(sp, values)
    assert set(checks) == set(expected)
    for check, want in expected.items():
        got = checks[check]
        assert got == want if want == PASS else got.startswith(FAIL), (check, got, want)
    if name in EXAMPLES:
        assert checks["checks.status"] == PASS


def test_every_check_fails_somewhere(saved: dict) -> None:
    """The broken copies break every check of the workbook at least once."""
    failed: set[str] = set()
    for name in BROKEN:
        path, sp, _ = saved[name]
        failed |= {k for k, v in _computed(path, sp)[1].items() if v.startswith(FAIL)}
    assert failed == set(layout(spec.builtin("2021")).checks)


def test_typing_as_a_person(tmp_path: Path) -> None:
    """An input cell takes what is typed; a total, a label and a pre-filled unit field refuse it."""
    sp = spec.builtin("2021")
    lay = layout(sp)
    blank = build(sp, tmp_path / "blank.xlsx")
    copy = build(sp, tmp_path / "copy.xlsx", values={"unit.name": "桑垌乡人民政府"},
                 lock_keys=["unit.name"])
    label = next(lb for lb in lay.labels if lb.kind == "row" and lb.sheet == "三、依申请公开")
    probes = [
        (blank, "requests.new.natural_person", "12", True),
        (blank, "requests.new.total", "5", False),
        (blank, f"$'{label.sheet}'.{Position(label.sheet, label.row, label.col).a1}", "改掉", False),
        (copy, "unit.name", "别的单位", False),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        accepted = list(pool.map(lambda p: libreoffice.probe_typing(p[0], p[1], p[2]), probes))
    assert accepted == [p[3] for p in probes]
