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

from support import libreoffice
from xlreport import edition as spec
from xlreport.checks import entries
from xlreport.edition.rules import PASS
from xlreport.workbook.layout import Position, layout
from xlreport.workbook.reader import read_workbook
from xlreport.workbook.template import build

pytestmark = pytest.mark.skipif(
    not libreoffice.available(), reason="LibreOffice (soffice + python3-uno) is not installed"
)

def _status(described: dict[str, Any]) -> str:
    return described["checks.status"]["string"]


@pytest.mark.parametrize("edition", spec.BUILTIN_EDITIONS)
def test_typing_one_value_at_a_time_keeps_the_status_true(edition: str, tmp_path: Path) -> None:
    """LibreOffice with its default settings (cached results kept on load, no full recalculation)
    shows read's verdict before anything is typed and after every value typed."""
    sp = spec.builtin(edition)
    count = next(c.key for c in sp.inputs() if c.type == "count" and c.key.startswith("requests.new."))
    granted = count.replace("requests.new.", "requests.results.granted.")
    money = next(c.key for c in sp.inputs() if c.type == "money")
    steps: list[tuple[str, Any]] = [
        ("unit.name", "桑垌乡人民政府"),
        ("unit.year", sp.years[0]),
        (count, 5),  # five new requests, none answered: the balance fails
        (money, Decimal("4166.241619")),
        (granted, 5),  # answered: it holds again
    ]
    blank = build(sp, tmp_path / "blank.xlsx")
    shown = libreoffice.type_steps(blank, [(k, _text(v)) for k, v in steps], ["checks.status"])
    values: dict[str, Any] = {}
    verdicts = []
    for i, described in enumerate(shown):
        if i:
            key, value = steps[i - 1]
            values[key] = value
        want = entries.shown(sp, values).status
        read = read_workbook(build(sp, tmp_path / f"step{i}.xlsx", values=values))
        assert _status(described) == want, (i, values)
        assert (want == PASS) == read.valid, (i, [p.text for p in read.result.errors])
        verdicts.append(want == PASS)
    assert verdicts == [False, False, True, False, False, True]


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
