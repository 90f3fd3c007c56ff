"""The tables of the published report, derived from the edition spec: every number of the edition
once, every label as the spec writes it, a grid covered exactly once by its cells; and one
report's document: values digit for digit, the preamble and the narrative."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlreport import edition as spec_mod
from xlreport.published import html
from xlreport.published.document import COLUMN, ROW, VALUE, Narrative, document, narrative, tables


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_every_number_of_the_edition_is_in_one_table_cell(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    keys = [c.key for t in tables(spec) for c in t.values()]
    numeric = [k for k, c in spec.cells.items() if c.numeric]
    assert sorted(keys) == sorted(numeric)


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_the_cells_of_a_table_cover_its_grid_exactly_once(edition: str) -> None:
    for table in tables(spec_mod.builtin(edition)):
        seen: dict[tuple[int, int], str] = {}
        for cell in table.cells:
            for r in range(cell.row, cell.row + cell.rowspan):
                for c in range(cell.col, cell.col + cell.colspan):
                    assert (r, c) not in seen, (table.section, r, c, cell, seen.get((r, c)))
                    seen[r, c] = cell.text or str(cell.key)
        assert len(seen) == table.width * table.height, table.section


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_a_value_is_named_by_the_labels_of_its_cell(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    for table in tables(spec):
        for cell in table.values():
            spec_cell = spec.cell(cell.key or "")
            path = spec_cell.col_path
            assert cell.columns[len(cell.columns) - len(path):] == path, cell
            shown = cell.rows + cell.columns
            assert [lb for lb in spec_cell.row_path if lb != table.section] == [
                lb for lb in shown if lb in spec_cell.row_path], cell


def test_table_three_prints_the_official_headings() -> None:
    three = next(t for t in tables(spec_mod.builtin("2021")) if t.section.startswith("三、"))
    assert (three.width, three.head) == (10, 3)
    first = three.rows()[0]
    assert first[0].text.startswith("（本列数据的勾稽关系为") and (first[0].rowspan, first[0].colspan) == (3, 3)
    assert (first[1].text, first[1].colspan) == ("申请人情况", 7)
    second = [(c.text, c.rowspan, c.colspan) for c in three.rows()[1]]
    assert second == [("自然人", 2, 1), ("法人或其他组织", 1, 5), ("总计", 2, 1)]
    results = next(c for c in three.cells if c.kind == ROW and c.text == "三、本年度办理结果")
    assert results.rowspan == 22 and results.colspan == 1


def test_table_four_is_one_row_of_fifteen_numbers_under_three_heading_rows() -> None:
    four = next(t for t in tables(spec_mod.builtin("2019")) if t.section.startswith("四、"))
    assert (four.width, four.height, four.head) == (15, 4, 3)
    assert [c.text for c in four.rows()[0]] == ["行政复议", "行政诉讼"]
    assert [c.text for c in four.rows()[1]] == ["未经复议直接起诉", "复议后起诉"]
    assert len(four.rows()[3]) == 15 and all(c.kind == VALUE for c in four.rows()[3])
    assert all(c.kind == COLUMN for r in four.rows()[:3] for c in r)


def test_the_fee_table_of_2021_is_printed_in_section_six_without_repeating_its_heading() -> None:
    six = tables(spec_mod.builtin("2021"))[-1]
    assert six.section == "六、其他需要报告的事项" and six.head == 1
    assert [c.text for c in six.rows()[0]] == [
        "项目", "发出收费通知的件数", "收费通知总金额（元）", "实际收取的总金额（元）"]


# --------------------------------------------------------------------------- one report's document

SPEC = spec_mod.builtin("2021")
NUMBERS = [k for k, c in SPEC.cells.items() if c.numeric]


def _value(key: str) -> st.SearchStrategy[object]:
    kind = SPEC.cell(key).type
    if kind == "money":
        return st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False) | st.sampled_from(
            [Decimal("0.50"), Decimal("12.000100")])
    return st.integers(min_value=-5 if kind == "signed_count" else 0, max_value=10**7)


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "td":
            self._in = True
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = self._in and tag != "td"

    def handle_data(self, data: str) -> None:
        if self._in:
            self.cells[-1] += data


@settings(max_examples=40, deadline=None)
@given(st.fixed_dictionaries({k: st.none() | _value(k) for k in NUMBERS}))
def test_every_value_is_printed_digit_for_digit_or_blank(values: dict[str, object]) -> None:
    blank = {k for k, v in values.items() if v is None}
    doc = document(SPEC, {**values, "unit.name": "某单位", "unit.year": 2025}, blank=blank, draft=True)
    parser = _Cells()
    parser.feed(html.render(doc))
    keys = [c.key for t in tables(SPEC) for c in t.values()]
    want = ["" if values[k] is None else format(values[k], "f") if isinstance(values[k], Decimal)
            else str(values[k]) for k in keys]
    assert parser.cells == want


def test_the_preamble_leaves_out_a_sentence_about_a_blank_value() -> None:
    base = {"unit.name": "某乡人民政府", "unit.year": 2025}
    without = document(SPEC, base).preamble[0].text
    assert "统计期限自2025年1月1日起至2025年12月31日止" in without and "联系人" not in without
    full = document(SPEC, {**base, "unit.contact": "张三", "unit.phone": "0370-1234567"}).preamble[0].text
    assert "联系人：张三，电话：0370-1234567" in full


def test_text_before_the_first_heading_replaces_the_preamble_and_the_title_is_not_repeated() -> None:
    text = ("# 标题\n某乡人民政府2025年政府信息公开工作年度报告\n本报告由某乡编制。\n"
            "一、总体情况\n（一）主动公开\n正文一段。\n")
    found = narrative(text, SPEC)
    assert found == Narrative("某乡人民政府2025年政府信息公开工作年度报告\n本报告由某乡编制。",
                              {"一": "（一）主动公开\n正文一段。"})
    doc = document(SPEC, {"unit.name": "某乡人民政府", "unit.year": 2025}, narrative=found, draft=True)
    assert [p.text for p in doc.preamble] == ["本报告由某乡编制。"]
    assert [(p.kind, p.text) for p in doc.parts[0].paragraphs] == [("subheading", "（一）主动公开"),
                                                                    ("body", "正文一段。")]
    assert doc.missing == ("五、存在的主要问题及改进情况", "六、其他需要报告的事项")
