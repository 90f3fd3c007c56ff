"""Two spreadsheet engines, one verdict: Gnumeric and LibreOffice compute what xlreport computes.

A corpus of workbooks written by xlreport — every example, a copy of an example broken for each
rule id, the blank template, a template with only the unit and the year, an example with one
statistics table left wholly blank (and with one cell of it filled), and each value-policy case
pasted into a valid copy — is recalculated by Gnumeric (``ssconvert --recalc``) and by
LibreOffice (recalculation on load).  In every file, as written and as each engine recalculated
it, every total, both sides and the result of every row of 校验结果 and ``checks.status`` equal
what :func:`xlreport.checks.entries.shown` computes; and ``checks.status`` says 通过 exactly when
``xlreport read`` finds the file valid.  The 统一社会信用代码 formula is proven on 25 codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from conftest import example
from support import gnumeric, libreoffice, workbooks
from xlreport import edition as spec_mod
from xlreport.checks import entries, report
from xlreport.edition.kinds import CREDIT_CODE_CHARS, CREDIT_CODE_WEIGHTS
from xlreport.edition.rules import FAIL, PASS
from xlreport.edition.spec import Spec
from xlreport.workbook.layout import layout
from xlreport.workbook.reader import read_workbook
from xlreport.workbook.template import build

pytestmark = [
    pytest.mark.skipif(not gnumeric.available(), reason="Gnumeric (ssconvert) is not installed"),
    pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice is not installed"),
]

BASES = {"2021": "pingtan_2021", "2019": "sangdong_2020"}
EXAMPLES = {"2021": ("pingtan_2021", "pingtan_2022", "suqian_city_2023"), "2019": ("sangdong_2020",)}
ENGINES = ("written", "gnumeric", "libreoffice")


def _code(rng: random.Random) -> str:
    body = "".join(rng.choice(CREDIT_CODE_CHARS) for _ in range(17))
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(body, CREDIT_CODE_WEIGHTS, strict=True))
    return body + CREDIT_CODE_CHARS[-total % 31]


def _inputs(name: str) -> tuple[Spec, dict[str, Any]]:
    doc = example(name)
    sp = spec_mod.builtin(doc["edition"])
    flat = report.flatten(doc, sp)
    return sp, {c.key: flat[c.key] for c in sp.inputs() if flat.get(c.key) is not None}


def _leaves(sp: Spec, key: str) -> list[str]:
    cell = sp.cell(key)
    if not cell.computed:
        return [key] if cell.numeric else []
    return [leaf for part in cell.parts for leaf in _leaves(sp, part)]


def _broken(sp: Spec, values: dict[str, Any], rule: str) -> Case:
    """``values`` with one input changed so that a check of ``rule`` fails in the workbook — or,
    for a rule that only a total typed over can break (a total against its own parts), the first
    total of the check typed over with a wrong number."""
    check = next(c for c in entries.rule_checks(sp) if c.rule.id == rule)
    for term in (*check.lhs, *check.rhs):
        for leaf in _leaves(sp, term.key) if term.key else []:
            for step in (1000, -1):
                changed = {**values, leaf: (values.get(leaf) or 0) + step}
                if changed[leaf] < 0 and sp.cell(leaf).kind.minimum is not None:
                    continue
                if entries.shown(sp, changed).results[check.name] == FAIL:
                    return Case(sp, changed)
    total = next(t.key for t in (*check.lhs, *check.rhs) if t.key and sp.cell(t.key).computed)
    over = {total: Decimal(999)}
    assert entries.shown(sp, values, typed_over=over).results[check.name] == FAIL, rule
    return Case(sp, values, after=over)


def _pasted(sp: Spec) -> dict[str, dict[str, Any]]:
    """Each case of the value policy, as a clerk pastes it into one cell of a valid copy."""
    count = next(c.key for c in sp.inputs() if c.type == "count")
    money = next(c.key for c in sp.inputs() if c.type == "money")
    code = next(c.key for c in sp.inputs() if c.type == "credit_code")
    valid = _code(random.Random(3))
    return {
        "negative_count": {count: -3},
        "fraction_count": {count: Decimal("2.5")},
        "seven_decimals": {money: Decimal("1.1234567")},
        "six_decimals": {money: Decimal("1.123456")},
        "text_count": {count: "12件"},
        "number_as_text": {count: "12"},
        "full_width_number": {count: "１２"},
        "blank_word": {count: "/"},
        "dash": {count: "—"},
        "too_large": {count: 10**15},
        "year_out_of_range": {"unit.year": 1999},
        "year_as_text": {"unit.year": "2025年"},
        "unit_blank_word": {"unit.name": "无"},
        "unit_as_number": {"unit.name": 12345},
        "code_valid": {code: valid},
        "code_lower_case": {code: valid.lower()},
        "code_spaces": {code: f" {valid}\u3000"},
        "code_wrong_check": {code: valid[:17] + ("0" if valid[17] != "0" else "1")},
        "code_short": {code: valid[:17]},
    }


@dataclass(frozen=True)
class Case:
    """One workbook of the corpus: the values xlreport writes (``locked`` ones as a distribution
    copy locks them), then ``after``: cells set by hand afterwards — a total typed over, a locked
    value changed once the protection was removed."""

    spec: Spec
    values: dict[str, Any]
    after: dict[str, Any] = field(default_factory=dict)
    locked: tuple[str, ...] = ()

    def shown(self) -> entries.Result:
        computed = {k: v for k, v in self.after.items() if self.spec.cell(k).computed}
        typed = {k: v for k, v in self.after.items() if k not in computed}
        return entries.shown(self.spec, {**self.values, **typed}, typed_over=computed,
                             prefilled={k: self.values[k] for k in self.locked})


def _corpus() -> dict[str, Case]:
    out: dict[str, Case] = {}
    for edition, base in BASES.items():
        sp = spec_mod.builtin(edition)
        year = sp.years[0]
        out[f"{edition}_blank"] = Case(sp, {})
        out[f"{edition}_unit_year"] = Case(sp, {"unit.name": "桑垌乡人民政府", "unit.year": year})
        for name in EXAMPLES[edition]:
            out[name] = Case(*_inputs(name))
        _, values = _inputs(base)
        for rule in dict.fromkeys(c.rule.id for c in entries.rule_checks(sp)):
            out[f"{edition}_broken_{rule}"] = _broken(sp, values, rule)
        for case, change in _pasted(sp).items():
            out[f"{edition}_{case}"] = Case(sp, {**values, **change})
        appeals = [c.key for c in sp.inputs() if c.statistic and c.key.startswith("appeals.")]
        out[f"{edition}_blank_table"] = Case(sp, {k: v for k, v in values.items() if k not in appeals})
        out[f"{edition}_one_cell_of_a_table"] = Case(
            sp, {k: v for k, v in values.items() if k not in appeals[1:]} | {appeals[0]: 0})
        unit = ("unit.name", "unit.year")
        copy = {**values, "unit.year": year}
        out[f"{edition}_copy"] = Case(sp, copy, locked=unit)
        out[f"{edition}_copy_year_changed"] = Case(sp, copy, after={"unit.year": year + 1}, locked=unit)
        out[f"{edition}_copy_name_changed"] = Case(sp, copy, after={"unit.name": "别的单位"}, locked=unit)
    return out


CORPUS = _corpus()


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """name → engine → the file as written by xlreport and as each engine recalculated it."""
    folder = tmp_path_factory.mktemp("engines")
    written = {}
    for name, case in CORPUS.items():
        path = build(case.spec, folder / f"{name}.xlsx", values=case.values, lock_keys=case.locked)
        if case.after:  # openpyxl keeps no cached result: only the engines' results count
            path = workbooks.fill(path, path, case.after)
        written[name] = path
    (folder / "gnumeric").mkdir()
    by_gnumeric = {n: gnumeric.recalc(p, folder / "gnumeric" / p.name) for n, p in written.items()}
    converted = libreoffice.convert_all(list(written.values()), folder / "libreoffice", "xlsx", timeout=30)
    by_libreoffice = dict(zip(written, converted, strict=True))
    return {n: {"written": written[n], "gnumeric": by_gnumeric[n], "libreoffice": by_libreoffice[n]}
            for n in CORPUS}


def _close(got: Any, want: entries.Shown) -> bool:
    if isinstance(want, Decimal):
        return isinstance(got, int | float) and abs(Decimal(repr(got)) - want) < Decimal("1E-6")
    return got == want


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(CORPUS))
def test_every_engine_shows_the_rule_engines_results(
    name: str, engine: str, recalculated: dict[str, dict[str, Path]]
) -> None:
    case = CORPUS[name]
    if engine == "written" and case.after:
        pytest.skip("cells set by hand with openpyxl, which writes no cached results")
    lay = layout(case.spec)
    want = case.shown()
    book = openpyxl.load_workbook(recalculated[name][engine], data_only=True)

    def at(pos: Any, offset: int = 0) -> Any:
        return book[pos.sheet].cell(pos.row + 1, pos.col + 1 + offset).value

    wrong = {k: (at(lay.cells[k]), v) for k, v in want.totals.items() if not _close(at(lay.cells[k]), v)}
    assert not wrong, wrong
    for check, result in want.results.items():
        pos = lay.checks[check]
        lhs, rhs = want.sides[check]
        got = (at(pos, -2), at(pos, -1), at(pos))
        assert _close(got[0], lhs) and _close(got[1], rhs) and got[2] == result, (check, got, want.sides[check])
    assert at(lay.checks["checks.status"]) == want.status


@pytest.mark.parametrize("name", list(CORPUS))
def test_the_workbooks_status_is_reads_verdict(name: str, recalculated: dict[str, dict[str, Path]]) -> None:
    read = read_workbook(recalculated[name]["written"])
    status = CORPUS[name].shown().status
    assert (status == PASS) == read.valid, (status, [p.text for p in read.result.errors])


def test_the_corpus_breaks_every_rule_and_every_kind_of_row() -> None:
    """Some file of the corpus fails each rule id, each required cell, a count of wrong cells and
    a count of blanks; and the examples pass."""
    for edition in BASES:
        sp = spec_mod.builtin(edition)
        failed = {check for case in CORPUS.values() if case.spec is sp
                  for check, result in case.shown().results.items() if result == FAIL}
        rules = {c.rule.id for c in entries.rule_checks(sp)}
        assert rules == {c.rule.id for c in entries.rule_checks(sp) if c.name in failed}
        kinds = {name.split(".")[1] for name in failed
                 if name.split(".")[1] in ("required", "entries", "blank_table", "blanks")}
        assert kinds == {"required", "entries", "blank_table", "blanks"}
        whole, one = (CORPUS[f"{edition}_{n}"].shown().results for n in ("blank_table", "one_cell_of_a_table"))
        assert whole["checks.blank_table.appeals"] == FAIL and one["checks.blank_table.appeals"] == PASS
        assert {f"checks.required.{k}" for k in ("unit.name", "unit.year")} <= failed
        for name in EXAMPLES[edition]:
            assert CORPUS[name].shown().status == PASS, name


def test_the_credit_code_formula_in_both_engines(tmp_path: Path) -> None:
    """The 统一社会信用代码 state formula (seventeen explicit terms, no array) on 12 valid and 13
    wrong codes gives the value policy's answer in Gnumeric and in LibreOffice."""
    sp = spec_mod.builtin("2021")
    cell = next(c for c in sp.inputs() if c.kind.family == "credit_code")
    rng = random.Random(7)
    valid = [_code(rng) for _ in range(12)]
    wrong_check = [v[:17] + CREDIT_CODE_CHARS[(CREDIT_CODE_CHARS.index(v[17]) + 1) % 31] for v in valid[:6]]
    full_width = valid[5].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    codes = [*valid, *wrong_check, valid[0].lower(), f" {valid[1]} ", valid[2][:17], valid[3] + "1",
             valid[4][:5] + "I" + valid[4][6:], full_width, valid[6][:9] + " " + valid[6][9:]]
    path = tmp_path / "codes.xlsx"
    book = xlsxwriter.Workbook(path)
    ws = book.add_worksheet("codes")
    for i, code in enumerate(codes):
        ws.write_string(i, 0, code)
        ws.write_formula(i, 1, "=" + entries.state_formula(cell, f"A{i + 1}", sp.years), None, -1)
    book.close()
    want = [entries.state(cell, code, sp.years) for code in codes]
    assert want.count(entries.OK) == 13 and want.count(entries.WRONG) == 11  # valid, spaced; wrong
    for got in (gnumeric.recalc(path, tmp_path / "g.xlsx"), libreoffice.convert(path, tmp_path / "lo", "xlsx")):
        sheet = openpyxl.load_workbook(got, data_only=True)["codes"]
        assert [sheet.cell(i + 1, 2).value for i in range(len(codes))] == want, got
