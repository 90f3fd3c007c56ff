"""Last year's report, for the cross-year rules: the one loader, from upload JSON, a filled
workbook or a published report, with the one check that it is of the year before and of the same
unit (:class:`~xlreport.workflows.units.Identity`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checks import report
from ..checks.validate import previous_values
from ..checks.values import parse_json
from ..edition.resolve import edition_of, for_document
from ..edition.spec import Spec
from ..errors import UnreadableInput, UsageError
from ..published.reader import SUFFIXES, import_report
from ..workbook.precheck import looks_like_workbook
from ..workbook.reader import ReadResult, read_workbook
from .units import Identity


@dataclass(frozen=True)
class Previous:
    """Last year's report for the cross-year rules: its values, its year and its unit."""

    values: dict[str, Any]
    year: int | None
    file: str
    unit: Identity

    def check(self, values: Mapping[str, Any]) -> None:
        """Refuse a previous report that cannot serve the report of ``values``: not of the year
        before its year, or not of its unit (what either does not say is not compared)."""
        self.check_year(year_of(values))
        self.check_unit(Identity.of(values))

    def check_year(self, year: int | None) -> None:
        """Refuse a previous report that is not of the year before ``year``."""
        if year is not None and self.year is not None and self.year != year - 1:
            raise UsageError(
                f"上年报告“{self.file}”是 {self.year} 年度的，而本报告是 {year} 年度，"
                f"应使用 {year - 1} 年度的报告",
                code="previous_year",
            )

    def check_unit(self, unit: Identity) -> None:
        """Refuse a previous report of another unit than ``unit``."""
        by_code = bool(unit.code and self.unit.code)
        if not (by_code or (unit.key and self.unit.key)) or self.unit.same(unit):
            return
        raise UsageError(
            f"上年报告“{self.file}”是{self.unit.named(by_code)}的，本报告是{unit.named(by_code)}的："
            "请给出本单位的上年报告",
            code="previous_unit",
        )


def load(path: Path, spec: Spec | None = None) -> Previous:
    """Last year's report, as upload JSON, a filled workbook or a published report (HTML, DOCX,
    PDF, text); its own data problems do not matter, cells that could not be read take no part
    in the cross-year rules.  ``spec`` is this year's edition when ``--spec`` gave it: last
    year's report of that edition is read with it, one of a built-in edition as always."""
    path = Path(path)
    if path.suffix.lower() in SUFFIXES:
        imported = import_report(path)
        kept = {k: v for k, v in imported.result.values.items() if v is not None}
        doc, spec = report.nest(kept, imported.spec), imported.spec
    elif looks_like_workbook(path):
        last = _read_last_workbook(path, spec)
        kept = {k: v for k, v in last.result.values.items() if v is not None}
        doc, spec = report.nest(kept, last.spec), last.spec
    else:
        doc = report.load(path)
        spec = spec if spec is not None and _of_edition(doc, spec) else for_document(doc, None, None)
    unit = doc.get("unit") if isinstance(doc, Mapping) else None
    year = unit.get("year") if isinstance(unit, Mapping) else None
    return Previous(previous_values(doc, spec), _whole(year), path.name, _identity(unit, spec))


def _of_edition(doc: object, spec: Spec | None) -> bool:
    """Whether the JSON report ``doc`` declares the edition of ``spec`` (False without one)."""
    return spec is not None and isinstance(doc, dict) and edition_of(doc, None) == spec.edition


def _read_last_workbook(path: Path, spec: Spec | None) -> ReadResult:
    """Last year's filled workbook: of a built-in edition, or of ``spec``'s when it is not."""
    try:
        return read_workbook(path)
    except UnreadableInput as exc:
        if spec is None or exc.code != "unknown_template":
            raise
    return read_workbook(path, spec=spec)


def _identity(unit: object, spec: Spec) -> Identity:
    """The unit of last year's report: its name and 统一社会信用代码 read by the value policy (one
    that is not a valid code is no code)."""
    fields: dict[str, Any] = {}
    for key in ("unit.name", "unit.code"):
        cell = spec.cells.get(key)
        raw = unit.get(key.partition(".")[2]) if isinstance(unit, Mapping) else None
        if cell is not None:
            parsed = parse_json(raw, cell.type, year_range=spec.years)
            fields[key] = None if parsed.is_error else parsed.value
    return Identity.of(fields)


def year_of(values: Mapping[str, Any]) -> int | None:
    """The report year of a checked report's values (None when it is missing or unusable)."""
    return _whole(values.get("unit.year"))


def _whole(year: object) -> int | None:
    return year if isinstance(year, int) and not isinstance(year, bool) else None

