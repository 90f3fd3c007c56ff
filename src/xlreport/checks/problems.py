"""Problems found in a report's data: one frozen record each, rendered to JSON at the edge."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from ..codes import PROBLEMS

Severity = Literal["error", "warning"]

#: Every problem code, with what it means (the catalogue is :mod:`xlreport.codes`).
CODES = PROBLEMS


@dataclass(frozen=True)
class Problem:
    """One thing wrong (``error``) or worth a look (``warning``) in a report."""

    severity: Severity
    code: str
    message: str
    keys: tuple[str, ...] = ()
    rule: str | None = None
    expected: Decimal | int | str | None = None
    actual: Decimal | int | str | None = None
    sheet: str | None = None
    cell: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown problem code {self.code!r}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def place(self) -> str:
        """Where in a workbook, in words (``工作表“表三”C7 单元格``); empty for JSON reports."""
        if self.sheet is None:
            return ""
        return f"工作表“{self.sheet}”{self.cell} 单元格" if self.cell else f"工作表“{self.sheet}”"

    @property
    def text(self) -> str:
        """The message with its place: what a person reads."""
        return f"{self.message}（{self.place}）" if self.place else self.message

    def to_json(self) -> dict[str, object]:
        """The stable machine-readable form (see README, “问题报告”)."""
        out: dict[str, object] = {
            "severity": self.severity,
            "code": self.code,
            "rule": self.rule,
            "keys": list(self.keys),
            "message": self.message,
            "expected": self.expected,
            "actual": self.actual,
        }
        if self.sheet is not None:
            out["sheet"] = self.sheet
            out["cell"] = self.cell
        out.update(self.extra)
        return out

    def line(self) -> str:
        """One line for the terminal: ``错误：…`` or ``警告：…``."""
        return f"{'错误' if self.is_error else '警告'}：{self.text}"


def count(problems: Iterable[Problem]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for p in problems:
        if p.is_error:
            errors += 1
        else:
            warnings += 1
    return errors, warnings
