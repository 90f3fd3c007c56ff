"""Rolling reports up: the statistics of many units summed into one report of the same edition.

:func:`load` reads one report (upload JSON or a filled workbook) and checks it; :func:`merge` sums
the checked reports cell by cell with exact arithmetic and checks the sum with the same rules::

    load each file → refuse invalid ones, mixed editions or years, the same unit twice
                   → sum every statistic (blanks count 0) → complete the totals → validate

Text fields (contact, narrative) are not summed; the roll-up's unit is the one named by the
caller, and the units it contains are listed in its ``source.units``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Any

from .. import __version__
from ..checks import report
from ..checks.validate import Result, validate_document
from ..edition.resolve import builtin_of, edition_of, requested
from ..edition.spec import Spec
from ..errors import UnreadableInput, UsageError
from ..outputs import Outputs, write_atomic
from ..workbook.precheck import looks_like_workbook
from ..workbook.reader import read_workbook
from .units import unit_key

DEFAULT_UNIT = "汇总"
#: How many file names a refusal lists before it says "and N more".
SHOWN = 5
#: Enough digits that no sum of money is ever rounded (15 + 6 digits, times a million reports).
_EXACT = Context(prec=40)


@dataclass(frozen=True)
class Loaded:
    """One checked report and the file it came from."""

    file: str
    sha256: str
    result: Result

    @property
    def spec(self) -> Spec:
        return self.result.spec

    @property
    def unit(self) -> str:
        name = self.result.values.get("unit.name")
        return name if isinstance(name, str) else ""

    @property
    def year(self) -> int | None:
        year = self.result.values.get("unit.year")
        return year if isinstance(year, int) else None


@dataclass(frozen=True)
class Merged:
    """A roll-up: the checked sum and the reports it contains."""

    result: Result
    members: tuple[Loaded, ...]

    @property
    def source(self) -> dict[str, Any]:
        """Where the roll-up came from: every included unit with its file and checksum."""
        return {
            "edition": self.result.spec.edition,
            "generator": f"xlreport {__version__}",
            "units": [
                {
                    "name": m.unit,
                    "code": m.result.values.get("unit.code"),
                    "file": m.file,
                    "sha256": m.sha256,
                }
                for m in self.members
            ],
        }

    def document(self) -> dict[str, Any]:
        """The roll-up in the upload format, with ``source.units``."""
        return self.result.document(source=self.source)


def load(path: Path, *, strict: bool = False, spec: Spec | None = None) -> Loaded:
    """Read and check one report: upload JSON or a filled workbook (by its content), of a built-in
    edition or of ``spec`` (a custom edition) when given."""
    path = Path(path)
    if looks_like_workbook(path):
        read = read_workbook(path, spec=spec, strict=strict)
        return Loaded(path.name, read.source["sha256"], read.result)
    doc = report.load(path)
    if spec is None:
        spec = builtin_of(doc, f"“{path.name}”")
    elif (stated := edition_of(doc, None)) and stated != spec.edition:
        raise UnreadableInput(
            f"“{path.name}”的格式版本是 {stated}，而 --spec 给出的规格是 {spec.edition} 年版", code="edition"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Loaded(path.name, digest, validate_document(doc, spec, strict=strict))


@dataclass(frozen=True)
class RollUp:
    """What ``xlreport merge`` did: every report read and checked, and their sum (None when some
    report has errors: the sum would be wrong)."""

    loaded: tuple[Loaded, ...]
    merged: Merged | None

    @property
    def refused(self) -> list[Loaded]:
        """The reports with errors, which stop the roll-up."""
        return [r for r in self.loaded if not r.result.valid]

    def summary(self) -> dict[str, Any]:
        """``--report`` of a roll-up: its own problems, and under ``inputs`` each report's unit,
        file and problems (the warnings of valid reports)."""
        assert self.merged is not None
        inputs = [
            {"file": r.file, "unit": r.unit, "errors": len(r.result.errors),
             "warnings": len(r.result.warnings), "problems": [p.to_json() for p in r.result.problems]}
            for r in self.loaded
        ]
        return {**self.merged.result.summary(), "inputs": inputs}


def roll_up(
    paths: Sequence[Path], *, unit: str | None = None, year: int | None = None,
    strict: bool = False, workbook: Path | None = None, outputs: Outputs | None = None,
    spec_file: Path | None = None,
) -> RollUp:
    """Load and check every report (of ``spec_file``'s custom edition when given), and sum them
    when all are valid; a valid sum is also written as a filled template of their edition at
    ``workbook`` when given, at once or as one of ``outputs`` (committed by the caller)."""
    spec = requested(None, spec_file) if spec_file is not None else None
    loaded = tuple(load(path, strict=strict, spec=spec) for path in paths)
    if any(not r.result.valid for r in loaded):
        return RollUp(loaded, None)
    merged = merge(loaded, unit=DEFAULT_UNIT if unit is None else unit, year=year)
    if workbook is not None and merged.result.valid:
        # deferred: xlsxwriter, needed only to write the roll-up; collect reads through load()
        from ..workbook.template import workbook_bytes

        data = workbook_bytes(merged.result.spec, values=merged.result.values)
        if outputs is not None:
            outputs.write(workbook, data)
        else:
            write_atomic(workbook, data, inputs=[*paths, *([spec_file] if spec_file else [])])
    return RollUp(loaded, merged)


def merge(
    reports: Sequence[Loaded], *, unit: str = DEFAULT_UNIT, year: int | None = None
) -> Merged:
    """Sum ``reports`` into one report of ``unit``; :class:`UsageError` when they cannot be summed.

    Every report must be valid, of one edition and one year (``year`` when given), and each unit
    may appear once.
    """
    if not reports:
        raise UsageError("没有要汇总的报告", code="merge_empty")
    if not unit.strip():
        raise UsageError("汇总单位名称不能为空（--unit）", code="merge_unit")
    if invalid := [r.file for r in reports if not r.result.valid]:
        raise UsageError(f"有错误的报告不能汇总：{_names(invalid)}", code="merge_invalid")
    _same(reports, lambda r: r.spec.edition, "格式版本", "年版")
    if year is not None and (others := [r.file for r in reports if r.year != year]):
        raise UsageError(f"以下报告不是 {year} 年度的，不能汇总：{_names(others)}", code="merge_year")
    _same(reports, lambda r: r.year, "报告年度", "年度")
    _unique(reports)
    spec = reports[0].spec
    values = summed(spec, [r.result.values for r in reports])
    values["unit.name"] = unit.strip()
    values["unit.year"] = reports[0].year
    result = validate_document(report.nest(values, spec), spec)
    return Merged(result, tuple(reports))


def summed(spec: Spec, reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every numeric input cell summed over ``reports`` (None counts 0; all None stays None);
    totals are left blank for the checks to compute, text cells blank."""
    out: dict[str, Any] = {}
    for key, cell in spec.cells.items():
        if not cell.numeric or cell.computed:
            out[key] = None
            continue
        present = [v for r in reports if (v := r.get(key)) is not None]
        if not present:
            out[key] = None
        elif cell.kind.places:
            with localcontext(_EXACT):
                out[key] = _plain(sum((Decimal(v) for v in present), start=Decimal(0)))
        else:
            out[key] = sum(present, start=0)
    return out


def _plain(number: Decimal) -> Decimal:
    """An exact sum written as a workbook gives it back: 12.50 → 12.5, 1E+2 → 100."""
    normal = number.normalize(_EXACT)
    return Decimal(format(normal, "f")) if normal else Decimal(0)


def _same(
    reports: Sequence[Loaded], attr: Callable[[Loaded], object], what: str, unit: str
) -> None:
    groups: dict[object, list[str]] = {}
    for r in reports:
        groups.setdefault(attr(r), []).append(r.file)
    if len(groups) > 1:
        parts = [f"{value} {unit}：{_names(files)}" for value, files in groups.items()]
        raise UsageError(f"这些报告的{what}不同，不能汇总：{'；'.join(parts)}", code="merge_mixed")


def _unique(reports: Sequence[Loaded]) -> None:
    by_unit: dict[str, list[Loaded]] = {}
    for r in reports:
        by_unit.setdefault(unit_key(r.unit), []).append(r)
    twice = [group for group in by_unit.values() if len(group) > 1]
    if twice:
        parts = [f"“{g[0].unit}”（{_names([r.file for r in g])}）" for g in twice]
        raise UsageError(
            f"同一单位有多份报告，汇总会重复计算：{'；'.join(parts)}；请只保留每个单位的一份",
            code="merge_duplicate",
        )


def _names(files: Sequence[str]) -> str:
    shown = "、".join(files[:SHOWN])
    return shown + (f" 等 {len(files)} 个文件" if len(files) > SHOWN else "")
