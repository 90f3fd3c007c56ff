"""One report checked: a filled workbook (``xlreport read``) or upload JSON (``xlreport validate``).

Both take last year's report the same way: loaded by :func:`xlreport.workflows.previous.load`
before the report, its values given to the cross-year rules, its year and its unit checked against
the report's own once the report is read, so the same wrong previous-year file gets the same
answer from either command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..checks import report
from ..checks.validate import Result, validate_document
from ..edition.resolve import for_document, requested
from ..workbook.reader import ReadResult, read_workbook
from . import previous as last_year


def read_report(
    workbook: Path, *, spec_file: Path | None = None, previous: Path | None = None,
    strict: bool = False,
) -> ReadResult:
    """Read and check a filled workbook (with ``spec_file``'s custom edition when given)."""
    spec = requested(None, spec_file) if spec_file is not None else None
    last = last_year.load(previous, spec) if previous is not None else None
    read = read_workbook(workbook, spec=spec, strict=strict, prev=last.values if last else None)
    if last is not None:
        last.check(read.result.values)
    return read


@dataclass(frozen=True)
class Validated:
    """A checked upload JSON report, the notes (top-level ``_`` items) it carried, and each
    number as it was written (``12.50``; the checked values are canonical, ``12.5``)."""

    result: Result
    notes: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        """The completed report (blanks as 0, totals computed), its notes kept."""
        return self.result.document(**self.notes)


def validate_report(
    report_file: Path, *, edition: str | None = None, spec_file: Path | None = None,
    previous: Path | None = None, strict: bool = False,
) -> Validated:
    """Check an upload JSON report: its edition reconciled with ``edition``/``spec_file``, then
    the JSON Schema and every rule."""
    asked = requested(None, spec_file) if spec_file is not None else None
    last = last_year.load(previous, asked) if previous is not None else None
    doc = report.load(report_file)
    spec = for_document(doc, edition, spec_file)
    result = validate_document(doc, spec, prev=last.values if last else None, strict=strict)
    if last is not None:
        last.check(result.values)
    written = {k: v for k, v in report.flatten(doc, spec).items()
               if isinstance(v, int | Decimal) and not isinstance(v, bool)}
    return Validated(result, {k: v for k, v in doc.items() if k.startswith("_")}, written)
