"""``xlreport import``: published reports (HTML, DOCX, PDF, pasted text) back into upload JSON.

One file goes to ``-o`` (or stdout); several go to ``--out-dir``, one ``单位_年度.json`` each.  A
report is written only when it is valid; its problems, and where every value was found, go to
``--report``.  Every output is written through :class:`xlreport.outputs.Outputs`: all together
or none, never over an input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checks.report import dumps
from ..edition.resolve import requested
from ..edition.spec import Spec
from ..errors import UsageError, XlreportError
from ..outputs import Outputs, folder
from ..published.reader import Imported, import_report
from . import previous as last_year
from .previous import Previous
from .units import safe_file_name


@dataclass
class Outcome:
    """One input file: what it imported to, or why it could not be read; where it was written."""

    path: Path
    imported: Imported | None = None
    error: XlreportError | None = None
    output: Path | None = None

    @property
    def valid(self) -> bool:
        return self.imported is not None and self.imported.valid

    def summary(self) -> dict[str, Any]:
        if self.imported is None:
            assert self.error is not None
            return {"file": self.path.name, "valid": False, "unreadable": self.error.code,
                    "message": self.error.message}
        return {"file": self.path.name, **self.imported.summary()}


def import_files(
    files: Sequence[Path],
    *,
    output: Path | None = None,
    out_dir: Path | None = None,
    edition: str | None = None,
    spec_file: Path | None = None,
    unit: str | None = None,
    year: int | None = None,
    previous: Path | None = None,
    strict: bool = False,
    report: Path | None = None,
) -> list[Outcome]:
    """``xlreport import``: every file imported (with ``spec_file``'s custom edition, or
    ``edition``, when given; last year's report for the cross-year rules); the valid reports
    (``output`` for one file, ``out_dir`` for many) and the problem list (``report``) written
    together, all or none, never over an input.  ``output`` ``-`` (or none) leaves the one
    report to the caller (stdout).

    A single file that cannot be read raises (exit 2); of several, each is reported and the rest
    go on.
    """
    if not files:
        raise UsageError("请给出要读取的已公开报告文件")
    if len(files) > 1 and out_dir is None:
        raise UsageError("读取多个文件时请用 --out-dir 指定输出文件夹")
    if output is not None and out_dir is not None:
        raise UsageError("-o 和 --out-dir 只能用一个")
    if len(files) > 1 and (unit is not None or year is not None or previous is not None):
        raise UsageError("--unit、--year、--previous 只能用于一个文件")
    inputs = [Path(f) for f in files]
    with Outputs([*inputs, spec_file, previous]) as staged:
        for target in (output, report):
            if target is not None and str(target) != "-":
                staged.check(target)
        spec = requested(edition, spec_file) if spec_file is not None else None
        last = last_year.load(previous, spec) if previous is not None else None
        outcomes = [_one(path, len(inputs) == 1, spec, None if spec else edition, unit, year,
                         strict, last) for path in inputs]
        taken: set[str] = set()
        for outcome in outcomes:
            if not outcome.valid or outcome.imported is None:
                continue
            if out_dir is not None:
                outcome.output = folder(out_dir) / _file_name(outcome.imported, outcome.path, taken)
            elif output is not None and str(output) != "-":
                outcome.output = output
            if outcome.output is not None:
                staged.write(outcome.output, dumps(outcome.imported.document()))
        if report is not None and str(report) != "-":
            staged.write(report, dumps(report_json(outcomes)))
        staged.commit()
    return outcomes


def _one(
    path: Path,
    alone: bool,
    spec: Spec | None,
    edition: str | None,
    unit: str | None,
    year: int | None,
    strict: bool,
    last: Previous | None,
) -> Outcome:
    """One file imported; a file that cannot be read raises when it is the only one."""
    outcome = Outcome(path)
    try:
        outcome.imported = import_report(
            path, spec=spec, edition=edition, unit=unit, year=year, strict=strict,
            prev=last.values if last is not None else None,
        )
    except XlreportError as exc:
        if alone:
            raise
        outcome.error = exc
    if outcome.imported is not None and last is not None:
        last.check(outcome.imported.result.values)
    return outcome


def report_json(outcomes: list[Outcome]) -> dict[str, Any]:
    """``--report``: one file's problem list, or ``{"files": […]}`` for several."""
    if len(outcomes) == 1 and outcomes[0].imported is not None:
        return outcomes[0].imported.summary()
    return {"files": [o.summary() for o in outcomes]}


def _file_name(imported: Imported, path: Path, taken: set[str]) -> str:
    values = imported.result.values
    name = safe_file_name(str(values.get("unit.name") or "")) or safe_file_name(path.stem) or "报告"
    year = values.get("unit.year")
    stem = f"{name}_{year}" if year else name
    candidate, n = stem, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem}_{n}"
    taken.add(candidate.casefold())
    return f"{candidate}.json"
