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
      - from: "2021"                 # (in the 2019 edition) several old cells became one
        sums:                        # new cell: the exact sum of the old ones
          "requests.results.other.{col}":
            - "requests.results.other.no_correction.{col}"
            - "requests.results.other.unpaid_fee.{col}"
            - "requests.results.other.misc.{col}"

``{name}`` stands for one key segment and takes the same value on both sides.  :func:`plan` turns
the declarations into a key-to-key :class:`Plan`; :func:`apply` moves values along it and lists
every value that has no place in the new edition, every sum it made and every new cell left to
fill.  This is the pure key-to-key part; moving a filled workbook is :mod:`xlreport.workflows.migrate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import MAX_PREC, Context, Decimal, localcontext
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import SpecError
from .kinds import Kind

if TYPE_CHECKING:
    from .spec import Spec

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
#: Adding amounts never rounds: every digit of every part is kept.
_EXACT = Context(prec=MAX_PREC)


@dataclass(frozen=True)
class Declaration:
    """What a spec says about reports of an earlier edition (one item of ``migrations:``)."""

    source: str
    renames: tuple[tuple[str, str], ...]
    splits: tuple[tuple[str, tuple[str, ...]], ...]
    #: (new pattern, the old patterns whose cells add up into it)
    sums: tuple[tuple[str, tuple[str, ...]], ...]
    note: str
    where: str = field(compare=False)

    @classmethod
    def from_data(cls, raw: Mapping[str, Any], spec: Spec, where: str) -> Declaration:
        """Parse one declaration; every new-side pattern must name cells of ``spec``."""
        decl = cls(
            source=str(raw["from"]),
            renames=tuple((str(k), str(v)) for k, v in raw.get("renames", {}).items()),
            splits=tuple((str(k), tuple(map(str, v))) for k, v in raw.get("splits", {}).items()),
            sums=tuple((str(k), tuple(map(str, v))) for k, v in raw.get("sums", {}).items()),
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
        for new, parts in self.sums:
            for old in parts:
                yield old, new


@dataclass(frozen=True)
class Plan:
    """Where each cell of ``old`` goes in ``new``: ``moves`` one to one, ``sums`` several old cells
    (in order) added into one new cell; ``notes`` says what to check in a new cell."""

    old: Spec
    new: Spec
    moves: dict[str, str]
    notes: dict[str, str]
    sums: dict[str, tuple[str, ...]] = field(default_factory=dict)


class Dropped(NamedTuple):
    """A value of the old report that the new one does not take."""

    key: str
    label: str
    value: Any
    note: str = ""


class Part(NamedTuple):
    """One old cell of a sum, and its value (None when it was blank)."""

    key: str
    label: str
    value: Any


class Summed(NamedTuple):
    """A cell of the new edition that holds the sum of several old cells."""

    key: str
    label: str
    value: Any
    parts: list[Part]


class ToFill(NamedTuple):
    """A cell of the new edition that nothing in the old report fills."""

    key: str
    label: str
    note: str = ""


class Migrated(NamedTuple):
    """The new report's values (new key → value), what was dropped, what is left to fill, and
    which values are sums of old cells."""

    values: dict[str, Any]
    dropped: list[Dropped]
    to_fill: list[ToFill]
    summed: list[Summed]


def plan(old: Spec, new: Spec) -> Plan:
    """Key-to-key moves from ``old`` to ``new``: declared renames, splits and sums, then equal keys."""
    moves: dict[str, str] = {}
    sums: dict[str, tuple[str, ...]] = {}
    taken: set[str] = set()
    notes: dict[str, str] = {}

    def claim(old_keys: list[str], new_key: str, where: str) -> None:
        for i, old_key in enumerate(old_keys):
            if old_key in moves or old_key in old_keys[:i] or any(old_key in p for p in sums.values()):
                raise SpecError(f"{where}：“{old_key}”被迁移到了两个地方", code="spec")
        if new_key in taken:
            raise SpecError(f"{where}：有两个旧单元格都迁移到“{new_key}”", code="spec")
        taken.add(new_key)

    def move(old_key: str, new_key: str, where: str) -> None:
        claim([old_key], new_key, where)
        moves[old_key] = new_key

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
        for target, patterns in decl.sums:
            groups: dict[str, list[str]] = {}
            for pattern in patterns:
                for key, bound in _expand(pattern, old, decl.where):
                    if (new_key := _fill(target, bound)) in new.cells:
                        groups.setdefault(new_key, []).append(key)
            for new_key, keys in groups.items():
                claim(keys, new_key, decl.where)
                sums[new_key] = tuple(keys)
    summed = {key for keys in sums.values() for key in keys}
    for key in old.cells:
        if key not in moves and key not in summed and key in new.cells and key not in taken:
            moves[key] = key
    return Plan(old, new, moves, notes, sums)


def apply(plan: Plan, values: Mapping[str, Any], *, year: int | None = None) -> Migrated:
    """Move ``values`` (old key → value) along ``plan``.

    Totals are not moved (the new template computes them).  A sum is exact; it is blank when
    every part is blank.  A report year outside the new edition's years becomes the nearest one
    (or ``year``), and the old year is listed as dropped.
    """
    old, new = plan.old, plan.new
    out: dict[str, Any] = {}
    dropped: list[Dropped] = []
    summed_from = {key for keys in plan.sums.values() for key in keys}
    for key, cell in old.cells.items():
        value = values.get(key)
        target = plan.moves.get(key)
        target_cell = new.cells.get(target) if target else None
        if key in summed_from or value is None or (
                target_cell is not None and cell.computed and target_cell.computed):
            continue
        if target is None or target_cell is None or target_cell.computed:
            dropped.append(Dropped(key, cell.where, value, f"{new.edition} 年版没有这一项"))
            continue
        out[target] = _convert(value, target_cell.kind)
    summed: list[Summed] = []
    for target, keys in plan.sums.items():
        target_cell = new.cells[target]
        parts = [Part(k, old.cell(k).where, values.get(k)) for k in keys]
        given = [p for p in parts if p.value is not None]
        if not given:
            continue
        if target_cell.computed:
            dropped += [Dropped(p.key, p.label, p.value, f"{new.edition} 年版没有这一项")
                        for p in given if not old.cell(p.key).computed]
            continue
        if not all(isinstance(p.value, int | Decimal) and not isinstance(p.value, bool) for p in given):
            dropped += [Dropped(p.key, p.label, p.value,
                                f"与另外几项相加计入“{target_cell.where}”，但其中有不是数字的，没有相加")
                        for p in given]
            continue
        with localcontext(_EXACT):
            total = sum((p.value for p in given), start=0)
        out[target] = _convert(total, target_cell.kind)
        summed.append(Summed(target, target_cell.where, out[target], parts))
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
    sources = {*plan.moves.values(), *plan.sums}
    to_fill = [
        ToFill(key, cell.where, plan.notes.get(key, "选填" if cell.optional else ""))
        for key, cell in new.cells.items()
        if not cell.computed and (key not in sources or key in plan.notes)
    ]
    return Migrated(out, dropped, to_fill, summed)


def year_outside(plan: Plan, values: Mapping[str, Any]) -> int | None:
    """The report year of ``values`` when the new edition's years do not include it, else None."""
    first, last = plan.new.years
    for old_key, new_key in plan.moves.items():
        value = values.get(old_key)
        if (plan.new.cell(new_key).kind.family == "year" and isinstance(value, int)
                and not isinstance(value, bool) and not first <= value <= last):
            return value
    return None


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
