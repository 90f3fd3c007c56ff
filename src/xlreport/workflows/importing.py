"""``xlreport import``: published reports (HTML, DOCX, PDF, pasted text) back into upload JSON.

One file goes to ``-o`` (or stdout); several go to ``--out-dir``, one ``单位_年度.json`` each.  A
report is written only when it is valid; its problems, and where every value was found, go to
``--report``.  No output ever replaces an input.
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
from ..published.reader import Imported, import_report
from ..workbook.template import write_atomic
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
    ``edition``, when given; last year's report for the cross-year rules), the valid ones written
    (``output`` for one file, ``out_dir`` for many), the problem list to ``report``."""
    spec = requested(edition, spec_file) if spec_file is not None else None
    last = last_year.load(previous) if previous is not None else None
    outcomes = run(files, output=output, out_dir=out_dir, spec=spec,
                   edition=None if spec else edition, unit=unit, year=year, strict=strict,
                   previous=last)
    if report is not None:
        write_report(report, outcomes)
    return outcomes


def run(
    files: Sequence[Path],
    *,
    output: Path | None = None,
    out_dir: Path | None = None,
    spec: Spec | None = None,
    edition: str | None = None,
    unit: str | None = None,
    year: int | None = None,
    strict: bool = False,
    previous: Previous | None = None,
) -> list[Outcome]:
    """Import every file; write the valid ones (``output`` for one file, ``out_dir`` for many).

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
    for target in [output] if output is not None else []:
        _not_an_input(target, inputs)
    outcomes = []
    taken: set[str] = set()
    for path in inputs:
        outcome = Outcome(path)
        try:
            outcome.imported = import_report(
                path, spec=spec, edition=edition, unit=unit, year=year, strict=strict,
                prev=previous.values if previous is not None else None,
            )
        except XlreportError as exc:
            if len(inputs) == 1:
                raise
            outcome.error = exc
        if outcome.imported is not None and previous is not None:
            previous.check_year(outcome.imported.year)
        if outcome.valid and out_dir is not None:
            assert outcome.imported is not None
            outcome.output = out_dir / _file_name(outcome.imported, path, taken)
            _not_an_input(outcome.output, inputs)
            write_atomic(outcome.output, dumps(outcome.imported.document()).encode("utf-8"))
        elif outcome.valid and output is not None and str(output) != "-":
            assert outcome.imported is not None
            outcome.output = output
            write_atomic(output, dumps(outcome.imported.document()).encode("utf-8"))
        outcomes.append(outcome)
    return outcomes


def report_json(outcomes: list[Outcome]) -> dict[str, Any]:
    """``--report``: one file's problem list, or ``{"files": […]}`` for several."""
    if len(outcomes) == 1 and outcomes[0].imported is not None:
        return outcomes[0].imported.summary()
    return {"files": [o.summary() for o in outcomes]}


def write_report(path: Path, outcomes: list[Outcome]) -> None:
    _not_an_input(path, [o.path for o in outcomes])
    write_atomic(path, dumps(report_json(outcomes)).encode("utf-8"))


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


def _not_an_input(target: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output that would overwrite one of the inputs."""
    for src in inputs:
        try:
            same = target.exists() and target.samefile(src)
        except OSError:
            same = False
        if same or target.resolve() == src.resolve():
            raise UsageError(f"输出文件“{target}”就是输入文件，不能覆盖输入；请换一个输出文件名")
