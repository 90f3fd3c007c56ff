"""Last year's report, for the cross-year rules: the one loader, from upload JSON or a filled
workbook, with the one check that it is of the year before."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checks import report
from ..checks.validate import previous_values
from ..edition.resolve import for_document
from ..errors import UsageError
from ..published.reader import SUFFIXES, import_report
from ..workbook.precheck import looks_like_workbook
from ..workbook.reader import read_workbook


@dataclass(frozen=True)
class Previous:
    """Last year's report for the cross-year rules: its values and its year."""

    values: dict[str, Any]
    year: int | None
    file: str

    def check_year(self, year: int | None) -> None:
        """Refuse a previous report that is not of the year before ``year``."""
        if year is not None and self.year is not None and self.year != year - 1:
            raise UsageError(
                f"上年报告“{self.file}”是 {self.year} 年度的，而本报告是 {year} 年度，"
                f"应使用 {year - 1} 年度的报告",
                code="previous_year",
            )


def load(path: Path) -> Previous:
    """Last year's report, as upload JSON, a filled workbook or a published report (HTML, DOCX,
    PDF, text); its own data problems do not matter, cells that could not be read take no part
    in the cross-year rules."""
    path = Path(path)
    if path.suffix.lower() in SUFFIXES:
        imported = import_report(path)
        kept = {k: v for k, v in imported.result.values.items() if v is not None}
        doc, spec = report.nest(kept, imported.spec), imported.spec
    elif looks_like_workbook(path):
        last = read_workbook(path)
        kept = {k: v for k, v in last.result.values.items() if v is not None}
        doc, spec = report.nest(kept, last.spec), last.spec
    else:
        doc = report.load(path)
        spec = for_document(doc, None, None)
    unit = doc.get("unit") if isinstance(doc, Mapping) else None
    year = unit.get("year") if isinstance(unit, Mapping) else None
    return Previous(previous_values(doc, spec), _whole(year), path.name)


def year_of(values: Mapping[str, Any]) -> int | None:
    """The report year of a checked report's values (None when it is missing or unusable)."""
    return _whole(values.get("unit.year"))


def _whole(year: object) -> int | None:
    return year if isinstance(year, int) and not isinstance(year, bool) else None

