"""Moving a filled workbook to another edition or template version without losing a value.

The workbook is read with its own edition and template version, its values moved along the
edition's migration plan (:mod:`xlreport.edition.migration`), and a fresh template of the new
edition written holding them, with a first sheet (迁移说明) that lists what was not carried over and
what is left to fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..edition.migration import Dropped, Migrated, apply, plan
from ..edition.spec import Spec
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
            "to_fill": [t._asdict() for t in self.moved.to_fill],
        }

    def lines(self) -> list[str]:
        """The same, for a person: what has no place in the new edition, what is left to fill."""
        src, dst = self.source, self.target
        out = [
            f"已把 {src['file']}（{_version(src)}）迁移到 {dst['file']}（{_version(dst)}），"
            f"带过去 {len(self.moved.values)} 项数据。",
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
    moved = apply(plan(read.spec, new_spec), values, year=year)
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
    return rows
