"""``xlreport merge``: the roll-up is the exact cell-by-cell sum, and what cannot be summed is refused."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import REPO, example, modified, run_cli, write_json
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.checks.validate import check
from xlreport.errors import UsageError
from xlreport.workflows import merge, units

THREE_2021 = ("pingtan_2021", "pingtan_2022", "suqian_city_2023")


def same_year(names: tuple[str, ...] = THREE_2021, year: int = 2023) -> list[dict[str, Any]]:
    """The examples as reports of one year, each of its own unit."""
    docs = []
    for i, name in enumerate(names):
        doc = copy.deepcopy(example(name))
        doc["unit"] = {"name": f"{doc['unit']['name']}（{i + 1}）", "year": year}
        docs.append(doc)
    return docs


def write_all(tmp_path: Path, docs: list[dict[str, Any]]) -> list[Path]:
    return [write_json(tmp_path / f"r{i}.json", doc) for i, doc in enumerate(docs)]


def test_roll_up_of_the_three_2021_examples_is_the_cell_by_cell_sum(tmp_path: Path) -> None:
    docs = same_year()
    out = tmp_path / "total.json"
    proc = run_cli("merge", *write_all(tmp_path, docs), "-o", out, "--unit", "某市汇总")
    assert proc.returncode == 0, proc.stderr
    total = report.load(out)
    spec = spec_mod.builtin("2021")
    flat = report.flatten(total, spec)
    numeric = [k for k, c in spec.cells.items() if c.numeric]
    for key in numeric:
        parts = [report.flatten(d, spec).get(key) for d in docs]
        expected = None if all(p is None for p in parts) else sum(p or 0 for p in parts)
        assert flat[key] == expected, key
    assert flat["proactive.fees.amount"] == sum(
        Decimal(str(example(n)["proactive"]["fees"]["amount"])) for n in THREE_2021
    )
    assert total["unit"] == {"name": "某市汇总", "year": 2023, "code": None, "contact": None,
                             "phone": None}
    units = total["source"]["units"]
    assert [u["name"] for u in units] == [d["unit"]["name"] for d in docs]
    assert [u["file"] for u in units] == ["r0.json", "r1.json", "r2.json"]
    assert all(len(u["sha256"]) == 64 for u in units)
    assert "已汇总 3 个单位的 2023 年度报告" in proc.stderr
    check = run_cli("validate", out)
    assert check.returncode == 0, check.stderr


def test_money_is_summed_exactly_and_blanks_count_zero() -> None:
    docs = same_year(("pingtan_2021", "pingtan_2022"))
    docs[0] = modified(docs[0], "proactive.fees.amount", Decimal("0.1"))
    docs[1] = modified(docs[1], "proactive.fees.amount", Decimal("0.200000"))
    docs[1] = modified(docs[1], "proactive.penalty.decisions", None)
    spec = spec_mod.builtin("2021")
    loaded = [
        merge.Loaded(f"{i}.json", "0" * 64, _validated(doc, spec)) for i, doc in enumerate(docs)
    ]
    values = merge.merge(loaded).result.values
    assert values["proactive.fees.amount"] == Decimal("0.3")
    assert str(values["proactive.fees.amount"]) == "0.3"
    assert values["proactive.penalty.decisions"] == docs[0]["proactive"]["penalty"]["decisions"]
    assert values["unit.name"] == merge.DEFAULT_UNIT


def test_optional_numbers_are_summed_where_given_and_text_is_not() -> None:
    spec = spec_mod.builtin("2021")
    a = {"narrative.processing_fees.billed": Decimal("1.5"), "narrative.overview": "甲",
         "requests.new.natural_person": 2}
    b = {"narrative.processing_fees.billed": None, "narrative.overview": "乙",
         "requests.new.natural_person": 3}
    out = merge.summed(spec, [a, b])
    assert out["narrative.processing_fees.billed"] == Decimal("1.5")
    assert out["narrative.processing_fees.notices"] is None
    assert out["narrative.overview"] is None
    assert out["requests.new.natural_person"] == 5
    assert out["requests.new.total"] is None


def _validated(doc: dict[str, Any], spec: spec_mod.Spec) -> Any:
    from xlreport.checks.validate import validate_document

    return validate_document(doc, spec)


def test_reports_of_different_years_are_refused_naming_the_files() -> None:
    from conftest import EXAMPLES

    proc = run_cli("merge", EXAMPLES / "pingtan_2021.json", EXAMPLES / "pingtan_2022.json")
    assert proc.returncode == 2
    assert "报告年度不同" in proc.stderr
    assert "2021 年度：pingtan_2021.json" in proc.stderr
    assert "2022 年度：pingtan_2022.json" in proc.stderr
    assert proc.stdout == ""


def test_reports_of_different_editions_are_refused(tmp_path: Path) -> None:
    paths = write_all(tmp_path, [example("sangdong_2020"), example("pingtan_2021")])
    proc = run_cli("merge", *paths)
    assert proc.returncode == 2
    assert "格式版本不同" in proc.stderr
    assert "2019 年版：r0.json；2021 年版：r1.json" in proc.stderr


def test_year_option_names_the_reports_of_another_year(tmp_path: Path) -> None:
    paths = write_all(tmp_path, same_year(("pingtan_2021", "pingtan_2022")))
    proc = run_cli("merge", *paths, "--year", "2024")
    assert proc.returncode == 2
    assert "不是 2024 年度的" in proc.stderr and "r0.json、r1.json" in proc.stderr


def test_the_same_unit_twice_is_refused(tmp_path: Path) -> None:
    docs = same_year(("pingtan_2021", "pingtan_2022"))
    docs[1]["unit"]["name"] = docs[0]["unit"]["name"].replace("（", "(").replace("）", ")") + " "
    proc = run_cli("merge", *write_all(tmp_path, docs))
    assert proc.returncode == 2
    assert "同一单位有多份报告" in proc.stderr and "r0.json、r1.json" in proc.stderr


def test_an_invalid_report_is_refused_with_its_errors(tmp_path: Path) -> None:
    docs = same_year(("pingtan_2021", "pingtan_2022"))
    docs[1] = modified(docs[1], "appeals.review.total", 999)
    out = tmp_path / "total.json"
    proc = run_cli("merge", *write_all(tmp_path, docs), "-o", out)
    assert proc.returncode == 1
    assert "r1.json：错误：" in proc.stderr
    assert "不能汇总：1 份报告有错误" in proc.stderr
    assert not out.exists()


def test_an_unreadable_report_stops_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    proc = run_cli("merge", bad)
    assert proc.returncode == 2 and "bad.json" in proc.stderr


def test_library_refuses_an_empty_list_and_an_invalid_report() -> None:
    with pytest.raises(UsageError, match="没有要汇总的报告"):
        merge.merge([])
    spec = spec_mod.builtin("2021")
    broken = modified(same_year(("pingtan_2021",))[0], "appeals.review.total", 999)
    loaded = merge.Loaded("x.json", "0" * 64, _validated(broken, spec))
    with pytest.raises(UsageError, match=r"x\.json"):
        merge.merge([loaded])


def test_unit_key_folds_width_spaces_and_case() -> None:
    """One identity rule for build's duplicates, collect and merge."""
    assert units.unit_key(" 平潭 (管委会) ") == units.unit_key("平潭（管委会）")
    assert units.unit_key("ＡＢ ｃ") == units.unit_key("abc") == "abc"
    assert units.unit_key("甲镇") != units.unit_key("乙镇")


def test_identity_the_code_wins_when_both_have_one() -> None:
    Identity = units.Identity
    assert Identity("平潭 (管委会)").same(Identity("平潭（管委会）"))
    assert Identity("甲镇", "A").same(Identity("甲街道", "a"))
    assert not Identity("甲镇", "A").same(Identity("甲镇", "B"))
    assert Identity("甲镇", "A").same(Identity("甲镇")) and not Identity("甲镇").same(Identity("乙镇"))
    assert not Identity("").same(Identity(""))


UNITS = st.builds(units.Identity, st.sampled_from(["甲镇", " 甲 镇", "乙镇", ""]),
                  st.sampled_from(["", "C1", "C2"]))


@given(st.lists(st.tuples(UNITS, st.sampled_from([2021, 2022])), max_size=8), UNITS,
       st.sampled_from([2021, 2022]))
def test_by_unit_finds_what_identity_same_matches(
    listed: list[tuple[units.Identity, int]], unit: units.Identity, year: int
) -> None:
    """Found by two dictionaries, exactly what a scan with :meth:`Identity.same` finds: entries of a
    unit listed twice are left out; then the one of the unit's code, else the only one that
    matches."""
    entries = [units.Listed(u, y, i) for i, (u, y) in enumerate(listed)]
    index = units.ByUnit(entries)
    twice = {e.item for e in entries
             if any(o is not e and o.year == e.year and o.unit.same(e.unit) for o in entries)}
    assert {e.item for e, _ in index.twice} == twice
    kept = [e for e in entries if e.item not in twice]
    assert len(index) == len(kept)
    matches = [e for e in kept if e.year == year and e.unit.same(unit)]
    by_code = [e for e in matches if unit.code and e.unit.code]
    want = by_code[0].item if by_code else matches[0].item if len(matches) == 1 else None
    assert index.find(unit, year) == want


def test_roll_up_workbook_reads_back_to_the_same_json(tmp_path: Path) -> None:
    out, book, back = tmp_path / "total.json", tmp_path / "total.xlsx", tmp_path / "back.json"
    proc = run_cli("merge", *write_all(tmp_path, same_year()), "-o", out, "--xlsx", book)
    assert proc.returncode == 0, proc.stderr
    read = run_cli("read", book, "-o", back)
    assert read.returncode == 0, read.stderr
    total, again = report.load(out), report.load(back)
    assert again["source"]["file"] == "total.xlsx"
    assert {k: v for k, v in again.items() if k != "source"} == {
        k: v for k, v in total.items() if k != "source"
    }


def test_workbooks_can_be_merged_too(tmp_path: Path) -> None:
    from xlreport.workbook import template
    spec = spec_mod.builtin("2021")
    paths = []
    for i, doc in enumerate(same_year(("pingtan_2021", "pingtan_2022"))):
        flat = report.flatten(doc, spec)
        values = {k: v for k, v in flat.items() if not spec.cell(k).computed}
        paths.append(template.build(spec, tmp_path / f"单位{i}.xlsx", values=values))
    from_books = merge.merge([merge.load(p) for p in paths])
    from_json = merge.merge([merge.load(p) for p in write_all(tmp_path, same_year(
        ("pingtan_2021", "pingtan_2022")))])
    assert from_books.result.values == from_json.result.values
    assert [u["file"] for u in from_books.source["units"]] == ["单位0.xlsx", "单位1.xlsx"]


def test_each_inputs_warnings_are_listed_under_its_unit(tmp_path: Path) -> None:
    """A report with warnings is summed, and its warnings are shown under its unit — on the
    screen and under ``inputs`` of ``--report``."""
    docs = same_year(("pingtan_2021", "pingtan_2022"))
    docs[1]["appeals"]["review"] |= {"pending": None, "total": None}  # the total is computed
    paths, summary = write_all(tmp_path, docs), tmp_path / "问题.json"
    proc = run_cli("merge", *paths, "-o", tmp_path / "total.json", "--report", summary)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    unit = docs[1]["unit"]["name"]
    at = lines.index(f"“{unit}”（r1.json）有 1 个警告：")
    assert lines[at + 1].startswith("  警告：表四有 1 个空白单元格按 0 计")
    assert not any("r0.json" in line for line in lines), "a report without warnings is not listed"
    inputs = json.loads(summary.read_text("utf-8"))["inputs"]
    assert [(i["file"], i["unit"], i["errors"], i["warnings"]) for i in inputs] == [
        ("r0.json", docs[0]["unit"]["name"], 0, 0), ("r1.json", unit, 0, 1)]
    assert [p["code"] for p in inputs[1]["problems"]] == ["blank"]


PROVINCE = REPO / "docs" / "examples" / "province.yaml"


def test_merge_with_spec_sums_a_custom_editions_reports_and_writes_its_workbook(tmp_path: Path) -> None:
    """The province's reports (one upload JSON, one filled workbook) are summed with --spec, the
    added row too; the roll-up workbook is the province's, and reads back to the same report."""
    from xlreport.workbook import template

    spec = spec_mod.load(PROVINCE)
    flat = report.flatten(example("pingtan_2022"), spec)
    inputs = {k: v for k, v in flat.items() if v is not None and not spec.cell(k).computed}
    inputs |= {"requests.online.natural_person": 5, "requests.online.commercial": 1}
    upload = write_json(tmp_path / "甲镇.json", check(spec, {**inputs, "unit.name": "甲镇"}).document())
    book = template.build(spec, tmp_path / "乙镇.xlsx", values={**inputs, "unit.name": "乙镇"})
    for alone in (upload, book):
        refused = run_cli("merge", alone)
        assert refused.returncode == 2 and "--spec" in refused.stderr, refused.stderr

    out, total_book, back = tmp_path / "total.json", tmp_path / "total.xlsx", tmp_path / "back.json"
    proc = run_cli("merge", upload, book, "--spec", PROVINCE, "-o", out, "--xlsx", total_book,
                   "--unit", "某县汇总")
    assert proc.returncode == 0, proc.stderr
    total = report.load(out)
    assert total["edition"] == "2021-sheng" and total["unit"]["name"] == "某县汇总"
    assert total["requests"]["online"]["natural_person"] == 10
    assert total["requests"]["online"]["total"] == 12
    assert [u["file"] for u in total["source"]["units"]] == ["甲镇.json", "乙镇.xlsx"]
    read = run_cli("read", total_book, "--spec", PROVINCE, "-o", back)
    assert read.returncode == 0, read.stderr
    assert {k: v for k, v in report.load(back).items() if k != "source"} == {
        k: v for k, v in total.items() if k != "source"}
    assert run_cli("read", total_book).returncode == 2, "the province's workbook, not the national one"

    national = write_json(tmp_path / "national.json", same_year(("pingtan_2022",), 2022)[0])
    mixed = run_cli("merge", upload, national, "--spec", PROVINCE)
    assert mixed.returncode == 2
    assert "“national.json”的格式版本是 2021，而 --spec 给出的规格是 2021-sheng 年版" in mixed.stderr
