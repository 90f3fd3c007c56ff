"""The template in LibreOffice as a clerk uses it: typing one value at a time with the default
settings, the status stays read's verdict; typing is accepted in an input cell and refused in a
total, a label and a pre-filled unit field.  (Recalculated results over a corpus, in LibreOffice
and Gnumeric: ``test_engines.py``.)  Office sessions run two at a time.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import example
from support import libreoffice
from xlreport import edition as spec
from xlreport.checks import entries, report
from xlreport.edition.rules import PASS
from xlreport.workbook.layout import Position, layout
from xlreport.workbook.reader import read_workbook
from xlreport.workbook.template import build

pytestmark = pytest.mark.skipif(
    not libreoffice.available(), reason="LibreOffice (soffice + python3-uno) is not installed"
)

EXAMPLES = {"2021": "pingtan_2021", "2019": "sangdong_2020"}


def _follow(sp: spec.Spec, steps: list[tuple[str, Any, str]], tmp_path: Path) -> list[str]:
    """Enter ``steps`` into a blank template in LibreOffice with its default settings (cached
    results kept on load, never a full recalculation) and assert that ``checks.status`` shows,
    before the first step and after each, what the rule engine computes; and, whenever it
    changes or a value was pasted, that read gives the same verdict for the file as it stands."""
    blank = build(sp, tmp_path / "blank.xlsx")
    entered = [(k, _text(v), how) for k, v, how in steps]
    shown, _ = libreoffice.type_steps(blank, entered, ["checks.status"], timeout=600)
    values: dict[str, Any] = {}
    statuses: list[str] = []
    for i, described in enumerate(shown):
        if i:
            key, value, _how = steps[i - 1]
            values[key] = value
        want = entries.shown(sp, values).status
        assert described["checks.status"]["string"] == want, (i, steps[i - 1] if i else None)
        changed = i == 0 or want != statuses[-1] or steps[i - 1][2] != "type" or i == len(steps)
        statuses.append(want)
        if changed:
            read = read_workbook(build(sp, tmp_path / f"step{i}.xlsx", values=values))
            assert (want == PASS) == read.valid, (i, [p.text for p in read.result.errors])
    return statuses


@pytest.mark.parametrize("edition", spec.BUILTIN_EDITIONS)
def test_typing_one_value_at_a_time_keeps_the_status_true(edition: str, tmp_path: Path) -> None:
    """Typed as a person types (Name Box, input line, validation), the status follows each value:
    it turns 通过 once the unit, the year and a value in each statistics table are there."""
    sp = spec.builtin(edition)
    count = next(c.key for c in sp.inputs() if c.type == "count" and c.key.startswith("requests.new."))
    granted = count.replace("requests.new.", "requests.results.granted.")
    money = next(c.key for c in sp.inputs() if c.type == "money")
    proactive, appeals = (next(c.key for c in sp.inputs() if c.statistic and c.key.startswith(f"{p}."))
                          for p in ("proactive", "appeals"))
    steps: list[tuple[str, Any, str]] = [
        ("unit.name", "桑垌乡人民政府", "type"),
        ("unit.year", sp.years[0], "type"),
        (proactive, 0, "type"),
        (appeals, 0, "type"),  # 表三 is still wholly blank
        (count, 0, "type"),  # no table is blank any more
        (count, 5, "type"),  # five new requests, none answered: the balance fails
        (money, Decimal("4166.241619"), "type"),
        (granted, 5, "type"),  # answered: it holds again
    ]
    statuses = _follow(sp, steps, tmp_path)
    assert [s == PASS for s in statuses] == [False] * 5 + [True, False, False, True]


@pytest.mark.parametrize("edition", spec.BUILTIN_EDITIONS)
def test_entering_a_whole_report_keeps_the_status_true(edition: str, tmp_path: Path) -> None:
    """Every value of a real report entered one at a time, then wrong values pasted past the
    validation (a negative count, ``12件``, a number as text, seven decimals) and put right:
    the status is right after every single one.  Entered through the cell (as pasting does):
    LibreOffice 7.4 headless aborts after some 170 values typed through the dispatcher."""
    sp = spec.builtin(edition)
    flat = report.flatten(example(EXAMPLES[edition]), sp)
    steps: list[tuple[str, Any, str]] = [
        (c.key, flat[c.key], "paste") for c in sp.inputs() if flat.get(c.key) is not None
    ]
    count = next(k for k, _, _ in steps if sp.cell(k).type == "count")
    money = next(c.key for c in sp.inputs() if c.type == "money")
    wrong = []
    for key, value, how in ((count, -3, "paste"), (count, "12件", "paste"), (count, "12", "paste_text"),
                            (money, Decimal("1.1234567"), "paste")):
        wrong.append(len(steps) + 1)  # the status after this step
        steps += [(key, value, how), (key, flat.get(key) or 0, "paste")]
    statuses = _follow(sp, steps, tmp_path)
    assert statuses[0] != PASS and statuses[-1] == PASS
    assert [statuses[i] != PASS for i in wrong] == [True] * 4
    assert [statuses[i + 1] == PASS for i in wrong] == [True] * 4


def _text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


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


def test_a_long_overview_prints_completely(tmp_path: Path) -> None:
    """A filled copy whose 一、总体情况 has 1,000 characters in five sub-sections prints every one
    of them (LibreOffice PDF export, read back with pdftotext), and no placeholder anywhere."""
    sp = spec.builtin("2021")
    heads = ("（一）主动公开", "（二）依申请公开", "（三）政府信息管理", "（四）平台建设", "（五）监督保障")
    parts = []
    for i, head in enumerate(heads):
        sentences = "".join(f"{head}第{n}项工作按计划完成。" for n in range(1, 40))
        parts.append(sentences[: 200 - (i < 4)])
    overview = "\n".join(parts)
    assert len(overview) == 1000
    filled = build(sp, tmp_path / "filled.xlsx", values={
        "unit.name": "桑垌乡人民政府", "unit.year": 2025, "narrative.overview": overview})
    pdf = libreoffice.convert(filled, tmp_path, "pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    printed = "".join(text.split())
    for part in parts:
        assert part in printed, part[:20]
    assert "未校验" not in printed and "尚未计算" not in printed
    assert "通过" in printed
