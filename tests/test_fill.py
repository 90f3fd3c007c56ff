"""xlreport fill: a report in the upload format written into a fresh template, and read back."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from conftest import EXAMPLE_NAMES, example, modified, run_cli, write_json
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.checks.validate import validate_document
from xlreport.workflows import fill

HOSTILE = {
    "unit.name": '=HYPERLINK("http://evil.example/","点我")',
    "unit.contact": "+cmd|' /C calc'!A0",
    "unit.phone": "@SUM(1+1)*cmd|' /C calc'!A0",
    "narrative.overview": "-2+3\n=1+1",
}


def _statistics(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_") and k != "source"}


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_fill_then_read_gives_back_every_example(tmp_path: Path, name: str) -> None:
    doc = example(name)
    src = write_json(tmp_path / f"{name}.json", doc)
    book = tmp_path / f"{name}.xlsx"
    result = run_cli("fill", src, "-o", book)
    assert result.returncode == 0, result.stderr
    assert f"已写入 {book}" in result.stderr
    out = tmp_path / "read.json"
    result = run_cli("read", book, "-o", out)
    assert result.returncode == 0, result.stderr
    back = report.loads(out.read_text("utf-8"))
    spec = spec_mod.builtin(doc["edition"])
    assert back["source"]["template_version"] == spec.template_version
    assert report.flatten(back, spec).items() >= report.flatten(doc, spec).items(), "every value"
    absent = set(spec.cells) - set(report.flatten(doc, spec))
    assert all(spec.cell(k).optional for k in absent), "only optional cells are left out"
    assert _statistics(back) == validate_document(doc, spec).document(), "and nothing else"


def test_text_is_always_written_as_text(tmp_path: Path) -> None:
    doc = {**example("pingtan_2022"), "narrative": {}}
    for key, value in HOSTILE.items():
        doc = modified(doc, key, value)
    book = tmp_path / "hostile.xlsx"
    assert run_cli("fill", write_json(tmp_path / "r.json", doc), "-o", book).returncode == 0
    wb = openpyxl.load_workbook(book)
    spec = spec_mod.builtin("2021")
    names = {key: wb.defined_names[key].attr_text for key in HOSTILE}
    for key, value in HOSTILE.items():
        sheet, ref = names[key].split("!")
        cell = wb[sheet.strip("'")][ref.replace("$", "")]
        assert cell.data_type == "s", key
        assert cell.value == value, key
        assert spec.cell(key).sheet == sheet.strip("'")
    out = tmp_path / "back.json"
    assert run_cli("read", book, "-o", out).returncode == 0
    back = report.loads(out.read_text("utf-8"))
    assert back["unit"]["name"] == HOSTILE["unit.name"]
    assert back["narrative"]["overview"] == HOSTILE["narrative.overview"]


def test_values_leave_out_totals_blanks_and_wrong_shapes() -> None:
    spec = spec_mod.builtin("2021")
    doc = modified(example("pingtan_2021"), "requests.new.commercial", None)
    doc = modified(doc, "requests.new.research", {"x": 1})
    doc = modified(doc, "requests.new.other", Decimal("2.0"))
    doc = modified(doc, "proactive.fees.amount", Decimal("4166.241619"))
    values = fill.values(doc, spec)
    assert not any(spec.cell(k).computed for k in values)
    assert "requests.new.commercial" not in values and "requests.new.research" not in values
    assert values["requests.new.other"] == 2 and type(values["requests.new.other"]) is int
    assert values["proactive.fees.amount"] == Decimal("4166.241619")
    huge = modified(doc, "proactive.fees.amount", Decimal("123456789012.123456"))
    assert fill.values(huge, spec)["proactive.fees.amount"] == "123456789012.123456"


def test_a_report_with_errors_is_written_and_its_problems_listed(tmp_path: Path) -> None:
    doc = modified(example("pingtan_2022"), "requests.new.natural_person", 999)
    book, problems = tmp_path / "back.xlsx", tmp_path / "problems.json"
    result = run_cli("fill", write_json(tmp_path / "r.json", doc), "-o", book, "--report", problems)
    assert result.returncode == 1 and book.exists()
    assert "不通过" in result.stderr
    assert json.loads(problems.read_text("utf-8"))["errors"] >= 1
    assert run_cli("read", book).returncode == 1, "the unit gets the same errors to correct"


def test_the_template_option_picks_edition_and_a_custom_spec(tmp_path: Path) -> None:
    template = tmp_path / "t2019.xlsx"
    assert run_cli("build", "--edition", "2019", "-o", template).returncode == 0
    src = write_json(tmp_path / "r.json", example("sangdong_2020"))
    book = tmp_path / "filled.xlsx"
    result = run_cli("fill", src, "--template", template, "-o", book)
    assert result.returncode == 0, result.stderr
    assert run_cli("read", book).returncode == 0
    other = tmp_path / "t2021.xlsx"
    assert run_cli("build", "-o", other).returncode == 0
    result = run_cli("fill", src, "--template", other, "-o", book)
    assert result.returncode == 0, result.stderr
    assert "proactive.procurement.amount" in result.stderr, "an older edition is migrated, listed"
    assert result.stdout == "", "stdout carries data only"


def test_fill_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    not_a_template = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(not_a_template)
    src = write_json(tmp_path / "r.json", example("pingtan_2022"))
    result = run_cli("fill", src, "--template", not_a_template, "-o", tmp_path / "x.xlsx")
    assert result.returncode == 2 and "不是用 xlreport 填报模板填写的" in result.stderr
    custom = write_json(tmp_path / "c.json", {**example("pingtan_2022"), "edition": "2021-sheng"})
    result = run_cli("fill", custom, "-o", tmp_path / "x.xlsx")
    assert result.returncode == 2 and "--spec" in result.stderr
