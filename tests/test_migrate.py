"""Migration between editions: declared renames, splits and sums, nothing dropped silently."""

from __future__ import annotations

import json
import re
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, example, modified, run_cli, write_json
from support import libreoffice, workbooks
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.checks.validate import validate_document
from xlreport.edition import migration
from xlreport.edition.kinds import KINDS
from xlreport.errors import SpecError
from xlreport.workbook import template
from xlreport.workbook.layout import NOTES_SHEET
from xlreport.workbook.reader import read_workbook
from xlreport.workflows import migrate

OLD, NEW = spec_mod.builtin("2019"), spec_mod.builtin("2021")
PROVINCE = REPO / "docs" / "examples" / "province.yaml"
COLUMNS = ("natural_person", "commercial", "research", "public_interest", "legal_services", "other")

#: Every input cell of the 2019 edition that has no place in the 2021 edition.
UNMAPPED_2019 = {
    *(f"proactive.{r}.{c}" for r in ("regulations", "normative_documents")
      for c in ("made", "published", "total_published")),
    *(f"proactive.{r}.{c}" for r in ("licensing", "penalty", "coercion", "fees")
      for c in ("prior_items", "change")),
    "proactive.other_services.prior_items", "proactive.other_services.change",
    "proactive.other_services.decisions",
    "proactive.procurement.projects", "proactive.procurement.amount",
}


def sangdong_values(**changes: object) -> dict[str, object]:
    doc = example("sangdong_2020")
    for key, value in changes.items():
        doc = modified(doc, key.replace("__", "."), value)
    return report.flatten(doc, OLD)


def test_2019_to_2021_lists_every_unmapped_cell() -> None:
    moved = migration.apply(migration.plan(OLD, NEW), sangdong_values())
    assert {d.key for d in moved.dropped} == {*UNMAPPED_2019, "unit.year"}
    assert all(d.value == 0 for d in moved.dropped if d.key != "unit.year")
    year = next(d for d in moved.dropped if d.key == "unit.year")
    assert (year.value, moved.values["unit.year"]) == (2020, 2021), "year brought into range, listed"
    assert "2021—2100" in year.note
    label = next(d.label for d in moved.dropped if d.key == "proactive.procurement.amount")
    assert label == "表二 第二十条第（九）项 / 政府集中采购，采购总金额（单位：万元，保留4位小数）"
    assert moved.values["unit.name"] == "夏邑县桑垌乡人民政府"
    assert moved.values["proactive.licensing.decisions"] == 0, "same key, carried"
    assert not any(NEW.cell(k).computed for k in moved.values), "totals are recomputed, not moved"


def test_new_cells_to_fill_and_the_split_are_listed() -> None:
    moved = migration.apply(migration.plan(OLD, NEW), sangdong_values())
    to_fill = {t.key: t.note for t in moved.to_fill}
    new_only = {k for k, c in NEW.cells.items() if not c.computed and k not in OLD.cells}
    assert new_only <= set(to_fill)
    assert "proactive.regulations.issued" in to_fill and "narrative.processing_fees.billed" in to_fill
    assert to_fill["narrative.processing_fees.billed"] == "选填"
    for sub in ("misc", "no_correction", "unpaid_fee"):
        assert "已拆分为 3 项，原数值全部计入了“3.其他”" in to_fill[f"requests.results.other.{sub}.commercial"]
    assert set(to_fill) == new_only, "the catch-all is new too: filled, but flagged"


def test_the_split_carries_the_old_value_to_the_catch_all() -> None:
    values = sangdong_values(requests__results__other__natural_person=5)
    moved = migration.apply(migration.plan(OLD, NEW), values)
    assert moved.values["requests.results.other.misc.natural_person"] == 5
    assert "requests.results.other.no_correction.natural_person" not in moved.values
    assert not any(d.key.startswith("requests.") for d in moved.dropped)


def test_same_edition_carries_everything() -> None:
    doc = example("pingtan_2022")
    values = report.flatten(doc, NEW)
    moved = migration.apply(migration.plan(NEW, NEW), values)
    assert moved.dropped == [] and moved.to_fill == []
    assert moved.values == {k: v for k, v in values.items() if not NEW.cell(k).computed}


def test_back_to_the_older_edition() -> None:
    moved = migration.apply(migration.plan(NEW, OLD), report.flatten(example("pingtan_2022"), NEW))
    year = next(d for d in moved.dropped if d.key == "unit.year")
    assert (year.value, moved.values["unit.year"]) == (2022, 2020)
    assert "proactive.fees.amount" in {d.key for d in moved.dropped}
    assert not any(d.key.startswith("requests.") for d in moved.dropped), "（六）'s sub-rows are summed"
    assert moved.values["requests.results.other.natural_person"] == 2
    assert moved.values["requests.results.other.commercial"] == 2
    assert "proactive.procurement.amount" in {t.key for t in moved.to_fill}


def test_values_take_the_new_type_and_year_can_be_set() -> None:
    moved = migration.apply(migration.plan(OLD, NEW), sangdong_values(), year=2025)
    assert moved.values["unit.year"] == 2025
    assert not any(d.key == "unit.year" for d in moved.dropped)
    money, count = KINDS["money"], KINDS["count"]
    assert migration._convert(3, money) == Decimal(3)
    assert migration._convert(Decimal("3.0"), count) == 3 and type(migration._convert(Decimal(3), count)) is int


def _custom(tmp_path: Path, migrations: str, base: str = "2021") -> Path:
    path = tmp_path / "custom.yaml"
    path.write_text(f'extends: "{base}"\nedition: "{base}-x"\ntemplate_version: "1"\n'
                    + textwrap.dedent(migrations), encoding="utf-8")
    return path


@pytest.mark.parametrize(("migrations", "expected"), [
    ('migrations:\n  - from: "2021"\n    renames: {"requests.new.{col}": "requests.nu.{col}"}\n',
     "第 5 行（migrations/0）：“requests.nu.{col}”没有对应 2021-x 年版的任何单元格"),
    ('migrations:\n  - from: "2021"\n    renames: {"requests.new.{col}": "requests.new.total"}\n',
     "占位符不一致"),
    ('migrations:\n  - from: "2021"\n    renames: {"requests.{row}.{col}": "requests.{row}"}\n',
     "占位符不一致"),
])
def test_declarations_are_checked_at_load(tmp_path: Path, migrations: str, expected: str) -> None:
    with pytest.raises(SpecError) as err:
        spec_mod.load(_custom(tmp_path, migrations))
    assert expected in err.value.message


def test_declarations_are_checked_against_the_old_edition(tmp_path: Path) -> None:
    spec = spec_mod.load(_custom(tmp_path, """\
        migrations:
          - from: "2021"
            renames:
              "requests.new.{col}": "requests.carried_over.{col}"
              "requests.carried_over.{col}": "requests.new.{col}"
        """))
    moved = migration.apply(migration.plan(NEW, spec), {"requests.new.commercial": 3,
                                                    "requests.carried_over.commercial": 1})
    assert moved.values == {"requests.carried_over.commercial": 3, "requests.new.commercial": 1}
    broken = spec_mod.load(_custom(tmp_path, """\
        migrations:
          - from: "2021"
            renames: {"requests.nu.{col}": "requests.new.{col}"}
        """))
    with pytest.raises(SpecError, match=re.escape("“requests.nu.{col}”没有对应 2021 年版的任何单元格")):
        migration.plan(NEW, broken)
    twice = spec_mod.load(_custom(tmp_path, """\
        migrations:
          - from: "2021"
            renames:
              "requests.new.{col}": "requests.carried_over.{col}"
              "requests.carried_forward.{col}": "requests.carried_over.{col}"
        """))
    with pytest.raises(SpecError, match="有两个旧单元格都迁移到"):
        migration.plan(NEW, twice)


SUB_ROWS = ("no_correction", "unpaid_fee", "misc")


def test_back_to_2019_the_three_sub_rows_are_summed_exactly() -> None:
    moves = migration.plan(NEW, OLD)
    for col in (*COLUMNS, "total"):
        assert moves.sums[f"requests.results.other.{col}"] == tuple(
            f"requests.results.other.{sub}.{col}" for sub in SUB_ROWS)
    values = report.flatten(example("suqian_city_2023"), NEW)
    values["requests.results.other.no_correction.research"] = None
    values["requests.results.other.unpaid_fee.research"] = None
    values["requests.results.other.misc.research"] = None
    values["requests.results.other.no_correction.public_interest"] = 2
    values["requests.new.public_interest"] += 2  # the balance holds in the 2021 report
    values["requests.results.other.unpaid_fee.public_interest"] = None
    values["requests.results.other.misc.public_interest"] = None
    moved = migration.apply(moves, values, year=2020)
    got = {k: v for k, v in moved.values.items() if k.startswith("requests.results.other.")}
    assert got == {"requests.results.other.natural_person": 40 + 10 + 287,
                   "requests.results.other.commercial": 3, "requests.results.other.public_interest": 2,
                   "requests.results.other.legal_services": 1, "requests.results.other.other": 0}, (
        "blank + blank + blank stays blank (research); one value makes the sum (public_interest)")
    assert type(got["requests.results.other.natural_person"]) is int
    summed = {s.key: s for s in moved.summed}
    assert set(summed) == set(got), "every sum is listed, the blank one is not a sum"
    one = summed["requests.results.other.natural_person"]
    assert [(p.key, p.value) for p in one.parts] == [
        ("requests.results.other.no_correction.natural_person", 40),
        ("requests.results.other.unpaid_fee.natural_person", 10),
        ("requests.results.other.misc.natural_person", 287)]
    assert one.label == "表三 三、本年度办理结果 / （六）其他处理，自然人"
    assert [p.value for p in summed["requests.results.other.public_interest"].parts] == [2, None, None]
    assert not any(d.key.startswith("requests.") for d in moved.dropped), "nothing of 表三 lost"
    assert not any(t.key.startswith("requests.") for t in moved.to_fill), "a sum needs no check"
    doc = validate_document(report.nest(moved.values, OLD), OLD)
    assert not [p for p in doc.errors if p.rule in ("balance", "results_total")], doc.errors


def test_a_part_that_is_not_a_number_is_listed_not_summed() -> None:
    values = {"requests.results.other.misc.commercial": 3,
              "requests.results.other.no_correction.commercial": "3件"}
    moved = migration.apply(migration.plan(NEW, OLD), values)
    assert "requests.results.other.commercial" not in moved.values
    dropped = {d.key: d for d in moved.dropped}
    assert dropped["requests.results.other.no_correction.commercial"].value == "3件"
    assert dropped["requests.results.other.misc.commercial"].value == 3
    assert "（六）其他处理，法人或其他组织/商业企业" in dropped["requests.results.other.misc.commercial"].note


def _money_sum(tmp_path: Path) -> spec_mod.Spec:
    """A custom 2019 edition whose 采购总金额 (money) is declared the sum of two amounts of a 2021
    report: only to add money up."""
    return spec_mod.load(_custom(tmp_path, """\
        migrations:
          - from: "2021"
            sums:
              "proactive.procurement.amount":
                - "proactive.fees.amount"
                - "narrative.processing_fees.billed"
        """, base="2019"))


AMOUNTS = st.none() | st.decimals(min_value=0, max_value=Decimal("1e15"), places=6,
                                  allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(fees=AMOUNTS, billed=AMOUNTS)
def test_money_sums_are_exact(tmp_path_factory: pytest.TempPathFactory, fees: Decimal | None,
                              billed: Decimal | None) -> None:
    spec = _money_sum(tmp_path_factory.mktemp("money"))
    moved = migration.apply(migration.plan(NEW, spec), {"proactive.fees.amount": fees,
                                                       "narrative.processing_fees.billed": billed})
    got = moved.values.get("proactive.procurement.amount")
    if fees is None and billed is None:
        assert got is None and moved.summed == []
    else:
        assert isinstance(got, Decimal)
        assert Fraction(got) == sum(Fraction(v) for v in (fees, billed) if v is not None)
        assert [s.key for s in moved.summed] == ["proactive.procurement.amount"]


def test_a_sum_is_checked_like_every_declaration(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="没有对应 2019-x 年版的任何单元格"):
        spec_mod.load(_custom(tmp_path, """\
            migrations:
              - from: "2021"
                sums: {"requests.results.nope.{col}": ["requests.new.{col}", "requests.carried_over.{col}"]}
            """, base="2019"))
    with pytest.raises(SpecError, match="占位符不一致"):
        spec_mod.load(_custom(tmp_path, """\
            migrations:
              - from: "2021"
                sums: {"requests.new.{col}": ["requests.new.{col}", "requests.carried_over.total"]}
            """, base="2019"))
    twice = spec_mod.load(_custom(tmp_path, """\
        migrations:
          - from: "2021"
            renames: {"requests.new.{col}": "requests.carried_over.{col}"}
            sums: {"requests.carried_forward.{col}": ["requests.new.{col}", "requests.carried_over.{col}"]}
        """, base="2019"))
    with pytest.raises(SpecError, match="被迁移到了两个地方"):
        migration.plan(NEW, twice)
    onto = spec_mod.load(_custom(tmp_path, """\
        migrations:
          - from: "2021"
            renames: {"requests.new.{col}": "requests.carried_over.{col}"}
            sums: {"requests.carried_over.{col}": ["requests.carried_forward.{col}", "requests.results.granted.{col}"]}
        """, base="2019"))
    with pytest.raises(SpecError, match="有两个旧单元格都迁移到"):
        migration.plan(NEW, onto)


# --------------------------------------------------------------------------- workbooks


@pytest.fixture(scope="module")
def sangdong_2019(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2020 report of 桑垌乡 filled into a 2019-edition template (openpyxl, like a person)."""
    folder = tmp_path_factory.mktemp("sangdong")
    blank = template.build(OLD, folder / "模板2019.xlsx")
    values = {k: v for k, v in sangdong_values().items() if not OLD.cell(k).computed}
    return workbooks.fill(blank, folder / "桑垌乡2020.xlsx", values)


def test_a_2019_workbook_migrates_to_a_valid_2021_report(tmp_path: Path, sangdong_2019: Path) -> None:
    new, notes = tmp_path / "桑垌乡2021.xlsx", tmp_path / "migrate.json"
    result = run_cli("migrate", sangdong_2019, "-o", new, "--report", notes, "--year", "2021")
    assert result.returncode == 0, result.stderr
    listed = json.loads(notes.read_text("utf-8"))
    version = spec_mod.builtin("2019").template_version
    assert listed["from"] == {"file": "桑垌乡2020.xlsx", "edition": "2019", "template_version": version}
    assert listed["to"]["edition"] == "2021"
    assert {d["key"] for d in listed["dropped"]} == UNMAPPED_2019
    assert listed["summed"] == [], "2019 → 2021 splits (六), it adds nothing up"
    for key in (*UNMAPPED_2019, "requests.results.other.no_correction.natural_person"):
        assert f"（{key}）" in result.stderr, key
    assert result.stdout == "", "stdout carries data only"
    sheet = openpyxl.load_workbook(new)[NOTES_SHEET]
    on_sheet = {row[2] for row in sheet.iter_rows(values_only=True) if row[2]}
    assert {*UNMAPPED_2019, *(t["key"] for t in listed["to_fill"])} <= on_sheet
    assert openpyxl.load_workbook(new).sheetnames[0] == NOTES_SHEET, "shown first"

    out = tmp_path / "read.json"
    result = run_cli("read", new, "-o", out)
    assert result.returncode == 0, result.stderr
    doc = report.loads(out.read_text("utf-8"))
    assert doc["edition"] == "2021" and doc["source"]["template_version"] == NEW.template_version
    assert doc["unit"] == {"name": "夏邑县桑垌乡人民政府", "year": 2021, "code": None,
                           "contact": None, "phone": None}
    assert validate_document(doc, NEW).valid
    assert run_cli("validate", write_json(tmp_path / "v.json", doc)).returncode == 0


def test_numbers_move_along_the_split_and_the_year_can_be_given(tmp_path: Path) -> None:
    doc = example("sangdong_2020")
    for key, value in {"requests.new.natural_person": 3, "requests.results.granted.natural_person": 1,
                       "requests.results.other.natural_person": 2}.items():
        doc = modified(doc, key, value)
    doc = validate_document(doc, OLD).document()
    old = workbooks.fill(template.build(OLD, tmp_path / "t.xlsx"), tmp_path / "old.xlsx",
                         {k: v for k, v in report.flatten(doc, OLD).items() if not OLD.cell(k).computed})
    new = tmp_path / "new.xlsx"
    result = run_cli("migrate", old, "-o", new, "--to", "2021", "--year", "2022")
    assert result.returncode == 0, result.stderr
    read = read_workbook(new)
    assert read.valid
    assert read.result.values["requests.results.other.misc.natural_person"] == 2
    assert read.result.values["requests.results.total.natural_person"] == 3
    assert read.year == 2022


def test_a_cell_that_cannot_be_read_is_listed_not_lost(tmp_path: Path, sangdong_2019: Path) -> None:
    sheet, ref = workbooks.cell_ref(sangdong_2019, "requests.new.commercial")
    broken = workbooks.edit(sangdong_2019, tmp_path / "broken.xlsx",
                            lambda book: book[sheet][ref].__setattr__("value", "3件"))
    moved = migrate.migrate_workbook(broken, NEW, tmp_path / "new.xlsx", year=2021)
    dropped = {d.key: d for d in moved.moved.dropped}
    assert dropped["requests.new.commercial"].value == "3件"
    assert "无法识别" in dropped["requests.new.commercial"].note


def test_into_a_custom_edition_and_back(tmp_path: Path) -> None:
    filled = tmp_path / "2021.xlsx"
    src = write_json(tmp_path / "r.json", example("pingtan_2022"))
    assert run_cli("fill", src, "-o", filled).returncode == 0
    custom, notes = tmp_path / "province.xlsx", tmp_path / "m.json"
    result = run_cli("migrate", filled, "--spec", PROVINCE, "-o", custom, "--report", notes)
    assert result.returncode == 0, result.stderr
    listed = json.loads(notes.read_text("utf-8"))
    assert listed["dropped"] == []
    assert [t["key"] for t in listed["to_fill"]] == [f"requests.online.{c}" for c in COLUMNS]
    custom = workbooks.fill(custom, tmp_path / "typed.xlsx", {"requests.online.natural_person": 1})
    result = run_cli("read", custom, "--spec", PROVINCE)
    assert result.returncode == 0, result.stderr
    back = tmp_path / "back.xlsx"
    result = run_cli("migrate", custom, "--from-spec", PROVINCE, "--to", "2021", "-o", back)
    assert result.returncode == 0, result.stderr
    assert "（requests.online.natural_person）：1" in result.stderr
    assert "（requests.online.commercial）" not in result.stderr, "a blank cell loses nothing"
    assert result.stdout == "", "stdout carries data only"
    assert read_workbook(back).result.values == read_workbook(filled).result.values


def test_previous_of_the_previous_edition(tmp_path: Path, sangdong_2019: Path) -> None:
    new = tmp_path / "2021.xlsx"
    assert run_cli("migrate", sangdong_2019, "-o", new, "--year", "2021").returncode == 0
    this_year = read_workbook(new).document()
    ok = write_json(tmp_path / "ok.json", this_year)
    last_json = write_json(tmp_path / "last.json", example("sangdong_2020"))
    for last in (sangdong_2019, last_json):
        result = run_cli("validate", ok, "--previous", last)
        assert result.returncode == 0, result.stderr
        assert run_cli("read", new, "--previous", last).returncode == 0
    wrong = dict(this_year, requests={**this_year["requests"], "carried_over": {
        **this_year["requests"]["carried_over"], "natural_person": 1, "total": 1}})
    wrong["requests"]["new"] = {**wrong["requests"]["new"], "natural_person": 0}
    bad = write_json(tmp_path / "bad.json", wrong)
    for last in (sangdong_2019, last_json):
        report_file = tmp_path / "problems.json"
        result = run_cli("validate", bad, "--previous", last, "--report", report_file)
        assert result.returncode == 1
        rules = {p["rule"] for p in json.loads(report_file.read_text("utf-8"))["problems"]}
        assert "carry_over" in rules, "2020 report (2019 edition) vs 2021 report: the rule applies"


def test_the_migrated_workbook_keeps_its_structure(tmp_path: Path, sangdong_2019: Path) -> None:
    new = tmp_path / "new.xlsx"
    migrate.migrate_workbook(sangdong_2019, NEW, new, year=2021)
    book = openpyxl.load_workbook(new)
    areas = {sheet.title: sheet.print_area for sheet in book.worksheets if sheet.print_area}
    assert areas and all(f"'{title}'!" in area for title, area in areas.items())
    assert [s.sheet_view.tabSelected for s in book.worksheets].count(True) == 1
    if not libreoffice.available():
        pytest.skip("LibreOffice is not installed")
    saved = tmp_path / "saved.xlsx"
    libreoffice.recalc_save(new, saved)
    read = read_workbook(saved)
    assert read.valid and NOTES_SHEET in openpyxl.load_workbook(saved).sheetnames


@pytest.fixture(scope="module")
def suqian_2021(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """宿迁市 2023 (2021 edition, values in all three sub-rows of （六）) written into a workbook by
    ``xlreport fill``; 科研机构 left blank in the three sub-rows, 社会公益组织 only in the first."""
    folder = tmp_path_factory.mktemp("suqian")
    doc = example("suqian_city_2023")
    changes = {f"requests.results.other.{sub}.research": None for sub in SUB_ROWS}
    changes.update({"requests.results.other.no_correction.public_interest": 2,
                    "requests.results.other.unpaid_fee.public_interest": None,
                    "requests.results.other.misc.public_interest": None,
                    "requests.new.public_interest": doc["requests"]["new"]["public_interest"] + 2})
    changes.update({k: None for k, c in NEW.cells.items() if c.computed})  # the template adds up
    for key, value in changes.items():
        doc = modified(doc, key, value)
    book = folder / "宿迁市2023.xlsx"
    result = run_cli("fill", write_json(folder / "r.json", doc), "-o", book)
    assert result.returncode == 0, result.stderr
    return book


def test_2021_to_2019_sums_the_sub_rows_and_passes_its_balance(tmp_path: Path, suqian_2021: Path) -> None:
    new, notes = tmp_path / "宿迁市2019版.xlsx", tmp_path / "migrate.json"
    result = run_cli("migrate", suqian_2021, "--to", "2019", "--year", "2020", "-o", new, "--report", notes)
    assert result.returncode == 0, result.stderr
    listed = json.loads(notes.read_text("utf-8"), parse_float=Decimal)
    summed = {s["key"]: s for s in listed["summed"]}
    assert set(summed) == {f"requests.results.other.{c}" for c in COLUMNS if c != "research"}
    natural = summed["requests.results.other.natural_person"]
    assert natural["value"] == 337 and natural["label"] == "表三 三、本年度办理结果 / （六）其他处理，自然人"
    assert [(p["key"], p["value"]) for p in natural["parts"]] == [
        (f"requests.results.other.{sub}.natural_person", v) for sub, v in zip(SUB_ROWS, (40, 10, 287), strict=True)]
    assert [p["value"] for p in summed["requests.results.other.public_interest"]["parts"]] == [2, None, None]
    assert not any(d["key"].startswith("requests.") for d in listed["dropped"])
    assert ("（requests.results.other.natural_person）：337 = 40（requests.results.other.no_correction."
            "natural_person） + 10（requests.results.other.unpaid_fee.natural_person） + 287（requests."
            "results.other.misc.natural_person）") in result.stderr
    assert "2（requests.results.other.no_correction.public_interest） + 空白（" in result.stderr
    sheet = openpyxl.load_workbook(new)[NOTES_SHEET]
    on_sheet = {row[2]: row for row in sheet.iter_rows(values_only=True) if row[2]}
    assert on_sheet["requests.results.other.natural_person"][3] == "337"

    out, problems = tmp_path / "read.json", tmp_path / "problems.json"
    result = run_cli("read", new, "-o", out, "--report", problems)
    assert result.returncode == 0, result.stderr
    rules = {p.get("rule") for p in json.loads(problems.read_text("utf-8"))["problems"]}
    assert not rules & {"balance", "results_total"}
    doc = report.loads(out.read_text("utf-8"))
    assert doc["edition"] == "2019" and doc["unit"]["year"] == 2020
    other = doc["requests"]["results"]["other"]
    assert (other["natural_person"], other["commercial"], other["public_interest"]) == (337, 3, 2)
    sheet_name, ref = workbooks.cell_ref(new, "requests.results.other.research")
    assert openpyxl.load_workbook(new)[sheet_name][ref].value is None, "blank in every sub-row stays blank"
    totals = doc["requests"]["results"]["total"]
    assert totals["natural_person"] == example("suqian_city_2023")["requests"]["results"]["total"][
        "natural_person"], "no application lost on the way"


def test_a_year_the_target_edition_does_not_cover_is_refused(tmp_path: Path, suqian_2021: Path,
                                                             sangdong_2019: Path) -> None:
    new = tmp_path / "new.xlsx"
    result = run_cli("migrate", suqian_2021, "--to", "2019", "-o", new)
    assert result.returncode == 2 and not new.exists()
    assert ("“宿迁市2023.xlsx”是 2023 年度的报告，而 2019 年版只用于 2019—2020 年度的报告；"
            "请用 --year 写明新报表的年度，如 --year 2020") in result.stderr
    result = run_cli("migrate", sangdong_2019, "-o", new)
    assert result.returncode == 2 and not new.exists()
    assert "2020 年度的报告，而 2021 年版只用于 2021—2100 年度" in result.stderr
    assert "--year 2021" in result.stderr
    result = run_cli("migrate", suqian_2021, "--to", "2019", "--year", "2023", "-o", new)
    assert result.returncode == 2 and not new.exists()
    assert "--year 2023 不在 2019 年版适用的年度（2019—2020）内" in result.stderr
    assert "内部错误" not in result.stderr
    result = run_cli("migrate", suqian_2021, "--to", "2019", "--year", "2019", "-o", new)
    assert result.returncode == 0, result.stderr
    assert read_workbook(new).year == 2019
    assert "unit.year" not in result.stderr, "the year asked for is no dropped value"


def test_fill_into_the_older_edition_sums_too(tmp_path: Path) -> None:
    src = write_json(tmp_path / "r.json", example("suqian_city_2023"))
    book = tmp_path / "2019.xlsx"
    result = run_cli("fill", src, "--edition", "2019", "-o", book)
    assert result.returncode == 0, result.stderr
    assert "（requests.results.other.natural_person）：337 = 40" in result.stderr
    read = read_workbook(book)
    assert read.valid, [p.message for p in read.problems]
    assert read.result.values["requests.results.other.natural_person"] == 337


def test_to_and_spec_are_one_or_the_other(tmp_path: Path, sangdong_2019: Path) -> None:
    result = run_cli("migrate", sangdong_2019, "--to", "2021", "--spec", PROVINCE, "-o", tmp_path / "x.xlsx")
    assert result.returncode == 2 and not (tmp_path / "x.xlsx").exists()
    assert "--to 和 --spec 只能用一个" in result.stderr, result.stderr
