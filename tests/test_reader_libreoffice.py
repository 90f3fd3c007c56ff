"""Workbooks filled in a real LibreOffice, typed like a person, read back exactly.

One office session per workbook (≈2 s), run two at a time; every example of
``tests/data/examples`` is typed into a fresh template of its edition and must read back with every
published value and exit 0.
"""

from __future__ import annotations

import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLE_NAMES, example, run_cli
from support import libreoffice, workbooks
from test_reader_fast import expat_only, outcome
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.workbook import template
from xlreport.workbook.reader import read_workbook

pytestmark = pytest.mark.skipif(
    not libreoffice.available(), reason="LibreOffice (soffice + python3-uno) is not installed"
)

NATURAL = "requests.new.natural_person"
#: What is typed into the 平潭 2021 report for the value-policy session, and what must come of it.
TYPED = {
    NATURAL: "=60+4",
    "requests.new.commercial": "'0",
    "requests.new.public_interest": "2件",
    "requests.new.other": "=1/0",
    "appeals.review.pending": "—",
    "proactive.fees.amount": "24252.311082",
}
BY_PERSON = {"proactive.licensing.decisions": "2293", "unit.contact": "张三"}


def _text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _typed_cells(name: str) -> dict[str, str]:
    doc = example(name)
    sp = spec.builtin(doc["edition"])
    flat = report.flatten(doc, sp)
    return {k: _text(v) for k, v in flat.items() if v is not None and not sp.cell(k).computed}


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every example, and the value-policy workbook, typed in LibreOffice (two at a time)."""
    folder = tmp_path_factory.mktemp("libreoffice")
    blanks = {e: template.build(spec.builtin(e), folder / f"模板{e}.xlsx") for e in ("2021", "2019")}
    jobs = {name: (blanks[example(name)["edition"]], _typed_cells(name)) for name in EXAMPLE_NAMES}
    policy = {k: v for k, v in {**_typed_cells("pingtan_2021"), **TYPED}.items() if k not in BY_PERSON}
    jobs["policy"] = (blanks["2021"], policy)

    def run(name: str) -> tuple[str, Path]:
        src, values = jobs[name]
        dst = folder / f"{name}.xlsx"
        if name == "policy":  # typed through the dispatcher in a session of its own (see notes)
            src = folder / "typed.xlsx"
            libreoffice.fill(blanks["2021"], src, {}, type_as_person=BY_PERSON)
        libreoffice.fill(src, dst, values)
        return name, dst

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_typed_in_libreoffice_read_back_exactly(name: str, filled: dict[str, Path]) -> None:
    path = filled[name]
    with zipfile.ZipFile(path) as zf:
        assert 'state="hidden"' in zf.read("xl/workbook.xml").decode()  # saved by LibreOffice
    read = read_workbook(path)
    assert read.valid, [p.message for p in read.result.errors]
    assert [p.code for p in read.problems if p.code != "blank"] == []
    doc = example(name)
    got = report.flatten(read.document(), read.spec)
    for key, value in report.flatten(doc, read.spec).items():
        if value is not None:
            assert report.dumps(got[key]) == report.dumps(value), (key, got[key], value)

    run = run_cli("read", path)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert report.flatten(json.loads(run.stdout, parse_float=Decimal), read.spec) == got


def test_value_policy_in_libreoffice(filled: dict[str, Path]) -> None:
    path = filled["policy"]
    read = read_workbook(path)
    by_key = {p.keys[0]: p for p in read.problems if len(p.keys) == 1}
    values = read.result.values

    assert values[NATURAL] == 64
    assert (by_key[NATURAL].code, by_key[NATURAL].severity) == ("formula", "warning")
    assert "“=60+4”" in by_key[NATURAL].message and "已采用公式结果 64" in by_key[NATURAL].message

    text = by_key["requests.new.commercial"]  # '0: a text the workbook's totals leave out
    assert (text.code, text.severity, text.actual) == ("text_number", "error", "0")

    bad = by_key["requests.new.public_interest"]
    assert (bad.code, bad.severity, bad.actual) == ("not_a_number", "error", "2件")

    error = by_key["requests.new.other"]
    assert (error.code, error.severity, error.actual) == ("formula", "error", "=1/0")
    assert "#DIV/0!" in error.message

    (blank,) = [p for p in read.problems if p.code == "blank"]
    assert blank.keys == ("appeals.review.pending",) and blank.severity == "warning"

    assert values["proactive.fees.amount"] == Decimal("24252.311082")
    assert values["proactive.licensing.decisions"] == 2293
    assert values["unit.contact"] == "张三"
    assert sorted(p.code for p in read.result.errors) == ["formula", "not_a_number", "text_number"]


def test_stale_caches_read_the_same_as_no_caches(
    filled: dict[str, Path], tmp_path: Path
) -> None:
    """A LibreOffice file whose input was changed behind its cached totals reads exactly as an
    openpyxl file (no caches at all) holding the same inputs."""
    saved = filled["pingtan_2021"]
    sheet, ref = workbooks.cell_ref(saved, NATURAL)
    part = workbooks.sheet_part(saved, sheet)
    stale = workbooks.set_cached(saved, tmp_path / "stale.xlsx", part, ref, "65")

    sp = spec.builtin("2021")
    values = {k: v for k, v in report.flatten(example("pingtan_2021"), sp).items()
              if v is not None and not sp.cell(k).computed}
    blank = template.build(sp, tmp_path / "模板.xlsx")
    fresh = workbooks.fill(blank, tmp_path / "fresh.xlsx", {**values, NATURAL: 65})

    stale_read, fresh_read = read_workbook(stale), read_workbook(fresh)
    assert stale_read.result.values["requests.new.total"] == 71
    assert [p.to_json() for p in stale_read.problems] == [p.to_json() for p in fresh_read.problems]
    assert [p.rule for p in stale_read.result.errors] == ["balance", "balance"]
    assert stale_read.result.values == fresh_read.result.values


def test_previous_year_workbook_from_libreoffice(filled: dict[str, Path]) -> None:
    run = run_cli("read", filled["pingtan_2022"], "--previous", filled["pingtan_2021"])
    assert run.returncode == 0, run.stderr


def test_what_libreoffice_writes_reads_the_same_by_expat_alone(
    filled: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """LibreOffice's own XML (rich-text shared strings, ``t="n"``, ``aca`` formulas, its styles)
    is read by the fast paths exactly as by the expat parser alone."""
    files = sorted(filled.values())
    fast = [outcome(path) for path in files]
    expat_only(monkeypatch)
    assert [outcome(path) for path in files] == fast
