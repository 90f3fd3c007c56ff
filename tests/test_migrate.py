"""Migration between editions: declared renames and splits, nothing dropped silently."""

from __future__ import annotations

import re
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import example, modified
from xlreport import migrate, report
from xlreport import spec as spec_mod
from xlreport.errors import SpecError

OLD, NEW = spec_mod.builtin("2019"), spec_mod.builtin("2021")
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
    moved = migrate.apply(migrate.plan(OLD, NEW), sangdong_values())
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
    moved = migrate.apply(migrate.plan(OLD, NEW), sangdong_values())
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
    moved = migrate.apply(migrate.plan(OLD, NEW), values)
    assert moved.values["requests.results.other.misc.natural_person"] == 5
    assert "requests.results.other.no_correction.natural_person" not in moved.values
    assert not any(d.key.startswith("requests.") for d in moved.dropped)


def test_same_edition_carries_everything() -> None:
    doc = example("pingtan_2022")
    values = report.flatten(doc, NEW)
    moved = migrate.apply(migrate.plan(NEW, NEW), values)
    assert moved.dropped == [] and moved.to_fill == []
    assert moved.values == {k: v for k, v in values.items() if not NEW.cell(k).computed}


def test_values_take_the_new_type_and_year_can_be_set() -> None:
    moved = migrate.apply(migrate.plan(OLD, NEW), sangdong_values(), year=2025)
    assert moved.values["unit.year"] == 2025
    assert not any(d.key == "unit.year" for d in moved.dropped)
    assert migrate._convert(3, "money") == Decimal(3)
    assert migrate._convert(Decimal("3.0"), "count") == 3 and type(migrate._convert(Decimal(3), "count")) is int


def test_carry_maps_last_years_values_to_the_new_keys() -> None:
    values = {"requests.results.other.natural_person": 4, "requests.carried_forward.total": 2,
              "proactive.procurement.projects": 1}
    assert migrate.carry(migrate.plan(OLD, NEW), values) == {
        "requests.results.other.misc.natural_person": 4, "requests.carried_forward.total": 2}


def _custom(tmp_path: Path, migrations: str) -> Path:
    path = tmp_path / "custom.yaml"
    path.write_text('extends: "2021"\nedition: "2021-x"\ntemplate_version: "1"\n'
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
    moved = migrate.apply(migrate.plan(NEW, spec), {"requests.new.commercial": 3,
                                                    "requests.carried_over.commercial": 1})
    assert moved.values == {"requests.carried_over.commercial": 3, "requests.new.commercial": 1}
    broken = spec_mod.load(_custom(tmp_path, """\
        migrations:
          - from: "2021"
            renames: {"requests.nu.{col}": "requests.new.{col}"}
        """))
    with pytest.raises(SpecError, match=re.escape("“requests.nu.{col}”没有对应 2021 年版的任何单元格")):
        migrate.plan(NEW, broken)
    twice = spec_mod.load(_custom(tmp_path, """\
        migrations:
          - from: "2021"
            renames:
              "requests.new.{col}": "requests.carried_over.{col}"
              "requests.carried_forward.{col}": "requests.carried_over.{col}"
        """))
    with pytest.raises(SpecError, match="有两个旧单元格都迁移到"):
        migrate.plan(NEW, twice)
