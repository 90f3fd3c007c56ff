"""The workbook layout: every cell placed once, headings that name each cell, a digest that moves."""

from __future__ import annotations

import copy

import pytest
import yaml

from xlreport import edition as spec_mod
from xlreport.checks.entries import entry_checks
from xlreport.workbook.layout import (
    CHECKS_SHEET,
    INSTRUCTIONS_SHEET,
    META_SHEET,
    Position,
    layout,
)

EDITIONS = spec_mod.BUILTIN_EDITIONS


def _covered(lay, pos: Position) -> set[tuple[str, int, int]]:
    last_row, last_col = lay.span(pos)
    return {(pos.sheet, r, c) for r in range(pos.row, last_row + 1)
            for c in range(pos.col, last_col + 1)}


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_cell_has_its_own_place(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    lay = layout(spec)
    assert set(lay.cells) == set(spec.cells)
    taken: set[tuple[str, int, int]] = set()
    places = [*lay.cells.values(), *lay.checks.values(),
              *(Position(lb.sheet, lb.row, lb.col) for lb in lay.labels)]
    for pos in places:
        area = _covered(lay, pos)
        assert not area & taken, pos
        taken |= area
    for key, pos in lay.cells.items():
        assert pos.sheet == spec.cell(key).sheet


@pytest.mark.parametrize("edition", EDITIONS)
def test_sheets_in_workbook_order(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    assert layout(spec).sheet_names == (
        INSTRUCTIONS_SHEET, *(s.name for s in spec.sheets), CHECKS_SHEET, META_SHEET
    )


@pytest.mark.parametrize("edition", EDITIONS)
def test_labels_of_name_the_cell(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    lay = layout(spec)
    extras = {b.column_caption for s in spec.sheets for b in s.blocks} | {
        b.value_header for s in spec.sheets for b in s.blocks}
    for key, cell in spec.cells.items():
        found = lay.labels_of(key)
        assert all(lb in lay.labels for lb in found)
        texts = [lb.text for lb in found if lb.text not in extras]
        assert texts == [*cell.row_path, *cell.col_path], key
        pos = lay.cells[key]
        for lb in found:  # a heading is in the cell's row (to its left) or column (above it)
            last_row, last_col = lb.last_row, lb.last_col
            beside = lb.row <= pos.row <= last_row and last_col < pos.col
            above = lb.col <= pos.col <= last_col and last_row < pos.row
            assert beside or above, (key, lb)


def test_official_headings_of_table_three() -> None:
    lay = layout(spec_mod.builtin("2021"))
    corner = next(lb for lb in lay.labels if lb.kind == "corner" and lb.sheet == "三、依申请公开")
    assert (corner.last_row - corner.row + 1, corner.last_col - corner.col + 1) == (3, 3)
    assert corner.text.startswith("（本列数据的勾稽关系为")
    texts = [lb.text for lb in lay.labels_of("requests.results.withheld.state_secret.commercial")]
    assert texts == ["三、本年度办理结果", "（三）不予公开", "1.属于国家秘密",
                     "申请人情况", "法人或其他组织", "商业企业"]
    appeals = [lb.text for lb in lay.labels_of("appeals.litigation_after_review.pending")]
    assert appeals == ["行政诉讼", "复议后起诉", "尚未审结"]
    review = lay.cells["appeals.review.upheld"]
    assert lay.cells["appeals.litigation_after_review.total"] == Position(
        "四、复议诉讼", review.row, review.col + 14)


def test_checks_in_workbook_exclude_cross_year() -> None:
    spec = spec_mod.builtin("2021")
    lay = layout(spec)
    names = [e.name for e in entry_checks(spec)]
    names += [c.name for c in spec.checks() if not c.cross_year]
    assert list(lay.checks) == ["checks.status", *names]
    assert all(pos.sheet == CHECKS_SHEET for pos in lay.checks.values())
    rows = [pos.row for pos in lay.checks.values()][1:]
    assert rows == list(range(rows[0], rows[0] + len(rows)))


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_every_input_has_a_state_cell_right_of_its_table(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    lay = layout(spec)
    assert set(lay.states) == {c.key for c in spec.inputs()}
    assert len(set(lay.states.values())) == len(lay.states)
    for key, at in lay.states.items():
        pos, grid = lay.cells[key], lay.grids[lay.cells[key].sheet]
        assert (at.sheet, at.row) == (pos.sheet, pos.row)
        assert grid.width < at.col <= 2 * grid.width


def test_every_total_sums_its_parts() -> None:
    lay = layout(spec_mod.builtin("2021"))
    assert lay.formulas["requests.new.total"] == "SUM(D6,E6,F6,G6,H6,I6)"
    assert set(lay.formulas) == {c.key for c in lay.spec.cells.values() if c.computed}


def test_digest_is_stable_and_follows_labels() -> None:
    path = spec_mod.builtin_path("2021")
    data = yaml.safe_load(path.read_text("utf-8"))
    first = layout(spec_mod.from_data(copy.deepcopy(data))).digest
    assert layout(spec_mod.from_data(copy.deepcopy(data))).digest == first
    assert layout(spec_mod.builtin("2021")).digest == first
    changed = copy.deepcopy(data)
    changed["sheets"][2]["blocks"][0]["columns"][0]["label"] = "自然人（个人）"
    assert layout(spec_mod.from_data(changed)).digest != first


def test_position_references() -> None:
    pos = Position("三、依申请公开", 4, 1)
    assert pos.a1 == "B5"
    assert pos.ref == "'三、依申请公开'!$B$5"
    assert Position("it's", 0, 0).ref == "'it''s'!$A$1"
