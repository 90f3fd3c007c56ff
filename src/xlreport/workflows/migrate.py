"""Moving a filled workbook to another edition or template version without losing a value.

The workbook is read with its own edition and template version, its values moved along the
edition's migration plan (:mod:`xlreport.edition.migration`), and a fresh template of the new
edition written holding them, with a first sheet (迁移说明) that lists what was not carried over,
what was added up and what is left to fill.  A report year that the new edition does not cover is
refused unless the new year is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..edition.migration import Dropped, Migrated, Summed, apply, plan, year_outside
from ..edition.spec import Spec
from ..errors import UsageError
from ..outputs import Outputs, write_atomic
from ..workbook.reader import ReadResult, read_workbook
from ..workbook.template import workbook_bytes


@dataclass(frozen=True)
class Outcome:
    """A migrated workbook: where from, where to, and what moved."""

    source: dict[str, str]
    target: dict[str, str]
    moved: Migrated

    def to_json(self) -> dict[str, Any]:
        """The ``--report`` of ``xlreport migrate``."""
        return {
            "from": self.source,
            "to": self.target,
            "carried": len(self.moved.values),
            "dropped": [d._asdict() for d in self.moved.dropped],
            "summed": [{**s._asdict(), "parts": [p._asdict() for p in s.parts]}
                       for s in self.moved.summed],
            "to_fill": [t._asdict() for t in self.moved.to_fill],
        }

    def lines(self) -> list[str]:
        """The same, for a person: what has no place in the new edition, what was added up, what
        is left to fill."""
        src, dst, summed = self.source, self.target, self.moved.summed
        out = [
            f"已把 {src['file']}（{_version(src)}）迁移到 {dst['file']}（{_version(dst)}），"
            f"带过去 {len(self.moved.values)} 项数据。",
        ]
        if summed:
            out.append(f"其中 {len(summed)} 项是原表几项之和（新版本中合为一项）：")
            out += [f"  {s.label}（{s.key}）：{_shown(s.value)} = {_parts(s)}" for s in summed]
        out += [
            f"新版本中没有位置、没有带过去的数据 {len(self.moved.dropped)} 项"
            + ("：" if self.moved.dropped else "。"),
        ]
        out += [f"  {d.label}（{d.key}）：{_shown(d.value)}{_note(d.note)}" for d in self.moved.dropped]
        out.append(f"需要填写或核实的单元格 {len(self.moved.to_fill)} 项"
                   + ("：" if self.moved.to_fill else "。"))
        out += [f"  {t.label}（{t.key}）{_note(t.note)}" for t in self.moved.to_fill]
        return out


def migrate_workbook(
    old: Path,
    new_spec: Spec,
    out: Path,
    *,
    old_spec: Spec | None = None,
    year: int | None = None,
    outputs: Outputs | None = None,
) -> Outcome:
    """Move the values of the filled workbook ``old`` into a fresh template of ``new_spec``
    written to ``out``, at once or as one of ``outputs`` (committed by the caller)."""
    read = read_workbook(old, spec=old_spec)
    values, unreadable = _old_values(read)
    moves = plan(read.spec, new_spec)
    _check_year(Path(old).name, new_spec, year, year_outside(moves, values))
    moved = apply(moves, values, year=year)
    moved = moved._replace(dropped=[*unreadable, *moved.dropped])
    source = {"file": Path(old).name, "edition": read.spec.edition,
              "template_version": read.source.get("template_version", "")}
    target = {"file": Path(out).name, "edition": new_spec.edition,
              "template_version": new_spec.template_version}
    outcome = Outcome(source, target, moved)
    data = workbook_bytes(new_spec, values=moved.values, notes=_sheet_rows(outcome))
    if outputs is not None:
        outputs.write(Path(out), data)
    else:
        write_atomic(Path(out), data, inputs=[old])
    return outcome


def _check_year(name: str, spec: Spec, given: int | None, outside: int | None) -> None:
    """Refuse a year the new edition does not cover: the ``--year`` given, or else the report's."""
    first, last = spec.years
    if given is not None and not first <= given <= last:
        raise UsageError(f"--year {given} 不在 {spec.edition} 年版适用的年度（{first}—{last}）内，"
                         f"请写这个范围内的年度，如 --year {min(max(given, first), last)}",
                         code="migrate_year")
    if given is None and outside is not None:
        raise UsageError(f"“{name}”是 {outside} 年度的报告，而 {spec.edition} 年版只用于 {first}—{last} "
                         f"年度的报告；请用 --year 写明新报表的年度，如 --year {min(max(outside, first), last)}",
                         code="migrate_year")


def _old_values(read: ReadResult) -> tuple[dict[str, Any], list[Dropped]]:
    """The values as filled in (blank cells stay blank) and the cells that could not be read."""
    spec = read.spec
    blank = {k for p in read.problems if p.code == "blank" for k in p.keys}
    values = {
        k: None if k in blank or k in read.invalid else v
        for k, v in read.result.values.items()
        if not spec.cell(k).computed
    }
    unreadable = [
        Dropped(key, spec.cell(key).where, p.actual, f"原表中这一格无法识别，没有迁移：{p.text}")
        for p in read.problems
        if p.is_error
        for key in p.keys
        if key in read.invalid
    ]
    return values, unreadable


def _version(side: Mapping[str, str]) -> str:
    version = side["template_version"]
    return f"{side['edition']} 年版" + (f"，模板版本 {version}" if version else "")


def _shown(value: object) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _parts(summed: Summed) -> str:
    """The old cells of a sum with their values: ``40（key）+ 空白（key）+ …``."""
    return " + ".join(f"{'空白' if p.value is None else _shown(p.value)}（{p.key}）" for p in summed.parts)


def _note(note: str) -> str:
    return f"——{note}" if note else ""


def _sheet_rows(outcome: Outcome) -> list[list[str]]:
    src, dst, moved = outcome.source, outcome.target, outcome.moved
    rows = [
        [f"迁移说明：{src['file']}（{_version(src)}）→ {_version(dst)}"],
        ["本工作簿由 xlreport migrate 生成。原表中能对应上的数据已填入各表；请核对下面列出的各项，"
         "填写新增的单元格后再上报。本页不参与读取。"],
        [],
        [f"一、新版本中没有位置、没有带过去的数据（{len(moved.dropped)} 项）"],
        ["序号", "原表中的位置", "键名", "原数值", "说明"],
        *([str(i), d.label, d.key, _shown(d.value), d.note] for i, d in enumerate(moved.dropped, 1)),
        [],
        [f"二、需要填写或核实的单元格（{len(moved.to_fill)} 项）"],
        ["序号", "新表中的位置", "键名", "", "说明"],
        *([str(i), t.label, t.key, "", t.note] for i, t in enumerate(moved.to_fill, 1)),
    ]
    if moved.summed:
        rows += [
            [],
            [f"三、原表几项相加后带过去的数据（{len(moved.summed)} 项）"],
            ["序号", "新表中的位置", "键名", "数值", "原表中相加的各项"],
            *([str(i), s.label, s.key, _shown(s.value), _parts(s)] for i, s in enumerate(moved.summed, 1)),
        ]
    return rows
