"""Moving a report from one edition (or template version) to another without losing a value.

Cells with the same key in both editions carry over.  A spec may declare, for reports of an
earlier edition, where cells went (``migrations:`` in the spec)::

    migrations:
      - from: "2019"
        renames:                     # the value moves as it is
          "proactive.x.{col}": "proactive.y.{col}"
        splits:                      # one old cell became several: the first receives the value
          "requests.results.other.{col}":
            - "requests.results.other.misc.{col}"
            - "requests.results.other.no_correction.{col}"

``{name}`` stands for one key segment and takes the same value on both sides.  :func:`plan` turns
the declarations into a key-to-key :class:`Plan`; :func:`apply` moves values along it and lists
every value that has no place in the new edition and every new cell left to fill.
:func:`migrate_workbook` does all of it for a filled workbook: read it with its own edition and
template version, move the values, and write a fresh template of the new edition holding them,
with a first sheet (:data:`SHEET`) that lists what was not carried over and what is left to fill.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from xml.sax.saxutils import escape, quoteattr

from .errors import SpecError
from .spec import Spec

if TYPE_CHECKING:
    from .reader import ReadResult

#: Name of the sheet that lists, in a migrated workbook, what was not carried over.
SHEET = "迁移说明"

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Declaration:
    """What a spec says about reports of an earlier edition (one item of ``migrations:``)."""

    source: str
    renames: tuple[tuple[str, str], ...]
    splits: tuple[tuple[str, tuple[str, ...]], ...]
    note: str
    where: str = field(compare=False)

    @classmethod
    def from_data(cls, raw: Mapping[str, Any], spec: Spec, where: str) -> Declaration:
        """Parse one declaration; every new-side pattern must name cells of ``spec``."""
        decl = cls(
            source=str(raw["from"]),
            renames=tuple((str(k), str(v)) for k, v in raw.get("renames", {}).items()),
            splits=tuple((str(k), tuple(map(str, v))) for k, v in raw.get("splits", {}).items()),
            note=str(raw.get("note", "")),
            where=where,
        )
        for old, new in decl.pairs():
            names = set(_PLACEHOLDER.findall(old))
            if set(_PLACEHOLDER.findall(new)) != names:
                raise SpecError(f"{where}：“{old}”与“{new}”的占位符不一致", code="spec")
            if not _matches(new, spec.cells):
                raise SpecError(
                    f"{where}：“{new}”没有对应 {spec.edition} 年版的任何单元格", code="spec"
                )
        return decl

    def pairs(self) -> Iterable[tuple[str, str]]:
        """Every (old pattern, new pattern) it mentions."""
        yield from self.renames
        for old, targets in self.splits:
            for new in targets:
                yield old, new


@dataclass(frozen=True)
class Plan:
    """Where each cell of ``old`` goes in ``new``; ``notes`` says what to check in a new cell."""

    old: Spec
    new: Spec
    moves: dict[str, str]
    notes: dict[str, str]


class Dropped(NamedTuple):
    """A value of the old report that the new one does not take."""

    key: str
    label: str
    value: Any
    note: str = ""


class ToFill(NamedTuple):
    """A cell of the new edition that nothing in the old report fills."""

    key: str
    label: str
    note: str = ""


class Migrated(NamedTuple):
    """The new report's values (new key → value), what was dropped, what is left to fill."""

    values: dict[str, Any]
    dropped: list[Dropped]
    to_fill: list[ToFill]


def plan(old: Spec, new: Spec) -> Plan:
    """Key-to-key moves from ``old`` to ``new``: declared renames and splits, then equal keys."""
    moves: dict[str, str] = {}
    taken: set[str] = set()
    notes: dict[str, str] = {}

    def move(old_key: str, new_key: str, where: str) -> None:
        if old_key in moves:
            raise SpecError(f"{where}：“{old_key}”被迁移到了两个地方", code="spec")
        if new_key in taken:
            raise SpecError(f"{where}：有两个旧单元格都迁移到“{new_key}”", code="spec")
        moves[old_key] = new_key
        taken.add(new_key)

    declared = [d for d in new.migrations if d.source == old.edition] if old.edition != new.edition else []
    for decl in declared:
        for pattern, target in decl.renames:
            for key, bound in _expand(pattern, old, decl.where):
                if (new_key := _fill(target, bound)) in new.cells:
                    move(key, new_key, decl.where)
        for pattern, (target, *others) in decl.splits:
            for key, bound in _expand(pattern, old, decl.where):
                receiver = _fill(target, bound)
                if receiver not in new.cells:
                    continue
                move(key, receiver, decl.where)
                parts = [k for k in (receiver, *(_fill(o, bound) for o in others)) if k in new.cells]
                text = (f"“{old.cell(key).row_path[-1]}”已拆分为 {len(parts)} 项，原数值全部计入了"
                        f"“{new.cell(receiver).row_path[-1]}”，请按新的分类核实")
                for new_key in parts:
                    notes.setdefault(new_key, text)
    for key in old.cells:
        if key not in moves and key in new.cells and key not in taken:
            moves[key] = key
    return Plan(old, new, moves, notes)


def apply(plan: Plan, values: Mapping[str, Any], *, year: int | None = None) -> Migrated:
    """Move ``values`` (old key → value) along ``plan``.

    Totals are not moved (the new template computes them).  A report year outside the new
    edition's years becomes the nearest one (or ``year``), and the old year is listed as dropped.
    """
    old, new = plan.old, plan.new
    out: dict[str, Any] = {}
    dropped: list[Dropped] = []
    for key, cell in old.cells.items():
        value = values.get(key)
        target = plan.moves.get(key)
        target_cell = new.cells.get(target) if target else None
        if value is None or (target_cell is not None and cell.computed and target_cell.computed):
            continue
        if target_cell is None or target_cell.computed:
            dropped.append(Dropped(key, cell.where, value, f"{new.edition} 年版没有这一项"))
            continue
        out[target] = _convert(value, target_cell.type)
    for key, cell in new.cells.items():
        if cell.type != "year":
            continue
        first, last = new.years
        if year is not None:
            out[key] = year
        elif isinstance(out.get(key), int) and not first <= out[key] <= last:
            nearest = min(max(out[key], first), last)
            dropped.append(Dropped(
                key, cell.where, out[key],
                f"不在 {new.edition} 年版适用的年度（{first}—{last}）内，已改为 {nearest}",
            ))
            out[key] = nearest
    sources = set(plan.moves.values())
    to_fill = [
        ToFill(key, cell.where, plan.notes.get(key, "选填" if cell.optional else ""))
        for key, cell in new.cells.items()
        if not cell.computed and (key not in sources or key in plan.notes)
    ]
    return Migrated(out, dropped, to_fill)


def _convert(value: Any, kind: str) -> Any:
    if kind == "money" and isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if kind in ("count", "signed_count") and isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _regex(pattern: str) -> re.Pattern[str]:
    seen: set[str] = set()
    out = []
    for seg in pattern.split("."):
        m = _PLACEHOLDER.fullmatch(seg)
        if m is None:
            out.append(re.escape(seg))
        elif m.group(1) in seen:
            out.append(f"(?P={m.group(1)})")
        else:
            seen.add(m.group(1))
            out.append(f"(?P<{m.group(1)}>[a-z0-9_]+)")
    return re.compile(r"\.".join(out) + r"\Z")


def _matches(pattern: str, keys: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    regex = _regex(pattern)
    return [(k, m.groupdict()) for k in keys if (m := regex.match(k))]


def _expand(pattern: str, spec: Spec, where: str) -> list[tuple[str, dict[str, str]]]:
    found = _matches(pattern, spec.cells)
    if not found:
        raise SpecError(f"{where}：“{pattern}”没有对应 {spec.edition} 年版的任何单元格", code="spec")
    return found


def _fill(pattern: str, bound: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: bound[m.group(1)], pattern)


# --------------------------------------------------------------------------- workbooks


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
    old: Path, new_spec: Spec, out: Path, *, old_spec: Spec | None = None, year: int | None = None
) -> Outcome:
    """Move the values of the filled workbook ``old`` into a fresh template of ``new_spec``."""
    from .reader import read_workbook
    from .template import workbook_bytes, write_atomic

    read = read_workbook(old, spec=old_spec)
    values, unreadable = _old_values(read)
    moved = apply(plan(read.spec, new_spec), values, year=year)
    moved = moved._replace(dropped=[*unreadable, *moved.dropped])
    source = {"file": Path(old).name, "edition": read.spec.edition,
              "template_version": read.source.get("template_version", "")}
    target = {"file": Path(out).name, "edition": new_spec.edition,
              "template_version": new_spec.template_version}
    outcome = Outcome(source, target, moved)
    data = with_sheet(workbook_bytes(new_spec, values=moved.values), SHEET, _sheet_rows(outcome))
    write_atomic(Path(out), data)
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
        Dropped(key, spec.cell(key).where, p.actual, f"原表中这一格无法识别，没有迁移：{p.message}")
        for p in read.problems
        if p.is_error
        for key in p.keys
        if key in read.invalid
    ]
    return values, unreadable


def _version(side: Mapping[str, str]) -> str:
    version = side["template_version"]
    return f"{side['edition']} 年版" + (f"，模板版本 {version}" if version else "")


def _shown(value: Any) -> str:
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


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_WIDTHS = (6, 60, 44, 14, 60)
_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def with_sheet(data: bytes, name: str, rows: list[list[str]]) -> bytes:
    """``data`` (an xlsx from :mod:`xlreport.template`) with a protected sheet of plain text added
    in front, shown when the file is opened; defined names keep pointing at their sheets."""
    source = zipfile.ZipFile(io.BytesIO(data))
    sheets = [int(n) for n in re.findall(r"xl/worksheets/sheet(\d+)\.xml", " ".join(source.namelist()))]
    part = f"worksheets/sheet{max(sheets) + 1}.xml"
    book = source.read("xl/workbook.xml").decode("utf-8")
    rels = source.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    types = source.read("[Content_Types].xml").decode("utf-8")
    rid = "rId{}".format(max(map(int, re.findall(r'Id="rId(\d+)"', rels))) + 1)
    sheet_id = max(map(int, re.findall(r'sheetId="(\d+)"', book))) + 1
    entry = f'<sheet name={quoteattr(name)} sheetId="{sheet_id}" r:id="{rid}"/>'
    book = re.sub(r'localSheetId="(\d+)"', lambda m: f'localSheetId="{int(m.group(1)) + 1}"', book)
    book = re.sub(r' (?:activeTab|firstSheet)="\d+"', "", book)
    edits = {
        "xl/workbook.xml": book.replace("<sheets>", "<sheets>" + entry, 1),
        "xl/_rels/workbook.xml.rels": rels.replace(
            "</Relationships>",
            f'<Relationship Id="{rid}" Type="{_REL}/worksheet" Target="{part}"/></Relationships>', 1),
        "[Content_Types].xml": types.replace(
            "</Types>", f'<Override PartName="/xl/{part}" ContentType="{_SHEET_TYPE}"/></Types>', 1),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = source.read(info)
            if info.filename in edits:
                member = edits[info.filename].encode("utf-8")
            elif info.filename.startswith("xl/worksheets/sheet"):
                member = member.replace(b' tabSelected="1"', b"", 1)
            target.writestr(info, member)
        target.writestr(f"xl/{part}", _sheet_xml(rows))
    return out.getvalue()


def _sheet_xml(rows: list[list[str]]) -> str:
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                   for i, w in enumerate(_WIDTHS, 1))
    lines = []
    for r, row in enumerate(rows, 1):
        cells = "".join(
            f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t xml:space="preserve">'
            f"{escape(_XML_CHARS.sub('', text))}</t></is></c>"
            for c, text in enumerate(row) if text
        )
        lines.append(f'<row r="{r}">{cells}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheetPr><tabColor rgb="FFFFC000"/></sheetPr>'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
        f'<sheetData>{"".join(lines)}</sheetData>'
        '<sheetProtection sheet="1" objects="1" scenarios="1"/>'
        "</worksheet>"
    )
