"""Units: who a report is from, and the file names made from a unit's name — one rule each."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_NAME = 60  # characters of a unit's name kept in a file name
_FORBIDDEN = re.compile(r'[/\\:*?"<>|]+')
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$")


def unit_key(name: str) -> str:
    """A unit's identity: its name with full-width forms folded, every space removed, case folded."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def code_key(code: str) -> str:
    """A 统一社会信用代码 as compared: full-width forms folded, spaces removed, upper case."""
    return "".join(unicodedata.normalize("NFKC", code).split()).upper()


@dataclass(frozen=True)
class Identity:
    """Who a report is from: its unit's name and 统一社会信用代码 ("" when it has none).

    Two reports are of the same unit when both have a code and the codes are the same, or, when
    either has none, when the names are the same (:func:`unit_key`): the code wins when both have
    one, so a renamed unit is still itself and two units of one name are not."""

    name: str
    code: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", code_key(self.code))

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Identity:
        """The identity named by a report's values (``unit.name``, ``unit.code``)."""
        name, code = values.get("unit.name"), values.get("unit.code")
        return cls(name.strip() if isinstance(name, str) else "", code if isinstance(code, str) else "")

    @property
    def key(self) -> str:
        return unit_key(self.name)

    def same(self, other: Identity) -> bool:
        """Whether ``other`` is the same unit (see the class docstring)."""
        if self.code and other.code:
            return self.code == other.code
        return bool(self.key) and self.key == other.key

    def named(self, by_code: bool = False) -> str:
        """``“甲镇人民政府”``, with its code when ``by_code`` (the code told the two apart)."""
        code = f"（统一社会信用代码 {self.code}）" if by_code and self.code else ""
        return f"“{self.name or '（未填单位名称）'}”{code}"


@dataclass(frozen=True)
class Listed(Generic[T]):
    """One item of a unit and a year (a report of last year, say)."""

    unit: Identity
    year: int
    item: T


class ByUnit(Generic[T]):
    """Items of one unit each per year, found by a unit as :meth:`Identity.same` matches: by code
    when both have one, else by name.  Items that match each other (one unit found twice) are
    left out, listed in :attr:`twice` with the others they match."""

    def __init__(self, listed: Iterable[Listed[T]]) -> None:
        by_code: dict[tuple[str, int], list[Listed[T]]] = {}
        by_name: dict[tuple[str, int], list[Listed[T]]] = {}
        for entry in listed:
            if entry.unit.code:
                by_code.setdefault((entry.unit.code, entry.year), []).append(entry)
            by_name.setdefault((entry.unit.key, entry.year), []).append(entry)
        self.twice: list[tuple[Listed[T], list[Listed[T]]]] = []
        for entry in (e for group in by_name.values() for e in group):
            others = [o for o in self._matching(by_code, by_name, entry.unit, entry.year)
                      if o is not entry]
            if others:
                self.twice.append((entry, others))
        left_out = {id(e) for e, _ in self.twice}
        self._by_code = {k: [e for e in g if id(e) not in left_out] for k, g in by_code.items()}
        self._by_name = {k: [e for e in g if id(e) not in left_out] for k, g in by_name.items()}
        self._count = sum(len(g) for g in self._by_name.values())

    @staticmethod
    def _matching(
        by_code: Mapping[tuple[str, int], list[Listed[T]]],
        by_name: Mapping[tuple[str, int], list[Listed[T]]],
        unit: Identity, year: int,
    ) -> list[Listed[T]]:
        """Every entry of ``year`` that is the same unit as ``unit``, those matched by code first."""
        coded = by_code.get((unit.code, year), []) if unit.code else []
        named = [e for e in by_name.get((unit.key, year), [])
                 if unit.key and not (unit.code and e.unit.code)]
        return [*coded, *named]

    def find(self, unit: Identity, year: int) -> T | None:
        """The item of ``unit`` and ``year``: the one of its code, else the only one of its
        name (None when there is none, or several units of that name)."""
        found = self._matching(self._by_code, self._by_name, unit, year)
        if unit.code and found and found[0].unit.code:
            return found[0].item
        return found[0].item if len(found) == 1 else None

    def __len__(self) -> int:
        return self._count


def safe_file_name(name: str) -> str:
    """``name`` usable as a file name on Windows, macOS and Linux, Chinese kept: control characters
    dropped, a run of ``/\\:*?"<>|`` becomes ``_``, spaces collapsed, no leading or trailing dots,
    spaces or ``_``, not a reserved device name, at most :data:`MAX_NAME` characters ("" when
    nothing is left)."""
    text = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = _FORBIDDEN.sub("_", text)
    text = " ".join(text.split())[:MAX_NAME].strip(" ._")
    if _RESERVED.match(text):
        text = f"_{text}"
    return text
