"""A report in the upload format written into a fresh template (``xlreport fill``).

Last year's report as a starting point, a roll-up, a correction sent back to a unit: the values go
into the input cells of a new template, built by :func:`xlreport.workbook.template.workbook_bytes`, where every text
is written as text (a unit name ``=HYPERLINK(…)`` stays a harmless string).  Totals are the
template's formulas.  ``xlreport read`` of the result gives back the same report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..checks import report
from ..checks.validate import Result, validate_document
from ..edition.load import builtin
from ..edition.migration import apply, plan
from ..edition.resolve import edition_of, for_document, requested
from ..edition.spec import BUILTIN_EDITIONS, Spec
from ..errors import UnreadableInput, UsageError
from ..outputs import Outputs, write_atomic
from ..workbook import reader, xlsx
from ..workbook.precheck import precheck
from ..workbook.template import workbook_bytes
from .migrate import Outcome


@dataclass(frozen=True)
class Filled:
    """A report written into a template: its own check, and what changed on the way."""

    result: Result
    #: The report was of another edition and was migrated (what moved, what was dropped).
    migrated: Outcome | None = None
    #: The ``--template`` given was of another template version: (its version, the one written).
    versions: tuple[str, str] | None = None


def fill_report(
    report_file: Path, output: Path, *, template: Path | None = None,
    edition: str | None = None, spec_file: Path | None = None, outputs: Outputs | None = None,
) -> Filled:
    """Write the upload JSON report ``report_file`` into a fresh template at ``output``, at once
    or as one of ``outputs`` (committed by the caller).

    The template's edition is that of ``template`` (a workbook whose edition and version are
    copied), of ``edition``/``spec_file``, or else the report's own.  A report of another edition
    is migrated along the edition's plan.  The report is written whatever its problems; they are
    in :attr:`Filled.result`.
    """
    doc = report.load(report_file)
    target, versions = None, None
    if template is not None:
        custom = requested(None, spec_file) if spec_file is not None else None
        target, version = template_spec(template, custom)
        if version != target.template_version:
            versions = (version, target.template_version)
    elif edition or spec_file:
        target = requested(edition, spec_file)
    stated = edition_of(doc, None) if isinstance(doc, dict) else ""
    own = target is not None and stated in ("", target.edition)
    source = target if own and target is not None else for_document(doc, None, None)
    target = target or source
    result = validate_document(doc, source)
    filled, migrated = values(doc, source), None
    if source is not target:
        moved = apply(plan(source, target), filled)
        migrated = Outcome(
            {"file": Path(report_file).name, "edition": source.edition, "template_version": ""},
            {"file": Path(output).name, "edition": target.edition,
             "template_version": target.template_version},
            moved,
        )
        filled = moved.values
    data = workbook_bytes(target, values=filled)
    if outputs is not None:
        outputs.write(Path(output), data)
    else:
        write_atomic(Path(output), data, inputs=[report_file, template, spec_file])
    return Filled(result, migrated, versions)


def values(doc: Mapping[str, Any], spec: Spec) -> dict[str, Any]:
    """The input cells of ``doc`` that a template can hold, by key.

    Blanks and totals are left out; a value of the wrong shape (an object, a list, true/false) is
    left out too — the schema check of the same report names it.  A whole number in a count cell
    becomes an ``int``; a number a spreadsheet cannot hold exactly is written as its text.
    """
    out: dict[str, Any] = {}
    for key, value in report.flatten(doc, spec).items():
        cell = spec.cell(key)
        if cell.computed or value is None or isinstance(value, bool):
            continue
        if isinstance(value, Decimal):
            if not value.is_finite():
                continue
            if not cell.kind.places and value == value.to_integral_value():
                value = int(value)
            elif Decimal(repr(float(value))) != value:
                value = format(value, "f")
        if isinstance(value, int | Decimal | str):
            out[key] = value
    return out


def template_spec(path: Path, spec: Spec | None = None) -> tuple[Spec, str]:
    """The spec to fill for a template workbook (its edition; ``spec`` for a custom edition) and
    the template version written in it."""
    precheck(path)
    with xlsx.open_workbook(path.read_bytes(), path.name) as book:
        meta = reader.metadata(book)
    edition = meta.get("edition", "")
    if spec is None:
        if edition not in BUILTIN_EDITIONS:
            raise UnreadableInput(
                f"模板“{path.name}”是“{edition[:20]}”年版，不是内置版本；请用 --spec 指定它的规格文件",
                code="unknown_template",
            )
        spec = builtin(edition)
    elif spec.edition != edition:
        raise UsageError(f"模板“{path.name}”是 {edition[:20]} 年版，而规格文件是 {spec.edition} 年版")
    return spec, meta.get("template_version", "")
