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
every value that has no place in the new edition and every new cell left to fill.  This is the
pure key-to-key part; moving a filled workbook is :mod:`xlreport.workflows.migrate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import SpecError
from .kinds import Kind

if TYPE_CHECKING:
    from .spec import Spec

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
        if target is None or target_cell is None or target_cell.computed:
            dropped.append(Dropped(key, cell.where, value, f"{new.edition} 年版没有这一项"))
            continue
        out[target] = _convert(value, target_cell.kind)
    for key, cell in new.cells.items():
        if cell.kind.family != "year":
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


def _convert(value: Any, kind: Kind) -> Any:
    """``value`` as a cell of ``kind`` holds it: an amount as Decimal, a whole count as int."""
    if not kind.numeric or isinstance(value, bool):
        return value
    if kind.places and isinstance(value, int):
        return Decimal(value)
    if not kind.places and isinstance(value, Decimal) and value == value.to_integral_value():
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
