"""A report in the upload format written into a fresh template (``xlreport fill``).

Last year's report as a starting point, a roll-up, a correction sent back to a unit: the values go
into the input cells of a new template, built by :func:`xlreport.template.build`, where every text
is written as text (a unit name ``=HYPERLINK(…)`` stays a harmless string).  Totals are the
template's formulas.  ``xlreport read`` of the result gives back the same report.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..checks import report
from ..edition.load import builtin
from ..edition.spec import BUILTIN_EDITIONS, Spec
from ..errors import UnreadableInput, UsageError
from ..workbook.precheck import precheck


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
    from ..workbook import reader, xlsx

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
