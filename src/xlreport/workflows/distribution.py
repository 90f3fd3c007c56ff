"""Distribution copies: one workbook per unit, its unit fields filled in and locked.

The units come from a list (CSV or .xlsx, read and checked by :mod:`xlreport.workflows.roster`):
every row is checked before anything is written, and the season's year is one fact — a row
giving another year than ``--year`` stops the whole run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..edition.spec import DEFAULT_EDITION, Spec
from ..errors import UsageError
from ..outputs import write_atomic
from ..workbook.copies import copies
from ..workbook.template import build
from .roster import Unit, check_unit, check_year, read_roster

#: Where ``xlreport build`` writes a blank template when no file is named.
TEMPLATES = Path("templates")
#: The phase of the progress callback while copies are written.
PHASE = "生成分发用模板"


@dataclass(frozen=True)
class Built:
    """A template written: where, and the labels of the cells filled in and locked."""

    path: Path
    locked: tuple[str, ...] = ()


def template_name(spec: Spec) -> str:
    """The file name of a blank template of ``spec``."""
    suffix = "" if spec.edition == DEFAULT_EDITION else f"_{spec.edition}"
    return f"report_template{suffix}.xlsx"


def build_template(
    spec: Spec, output: Path | None = None, *, unit: str | None = None, year: int | None = None,
    code: str | None = None,
) -> Built:
    """A blank template, or one for a unit (its name, year and code filled in and locked) or for a
    year; written to ``output`` or to a file name made from what it holds."""
    if code is not None and unit is None:
        raise UsageError("指定 --code 时也要用 --unit 给出单位名称")
    if unit is None and year is None:
        return Built(build(spec, output or TEMPLATES / template_name(spec)))
    if unit is not None:
        one = check_unit(Unit(unit, year, code), [spec])
        default = Path(one.file_name())
    else:
        one = Unit("", check_year([spec], year) if year is not None else None)
        default = Path(f"report_template_{year}.xlsx")
    return _build_for(spec, one, output or default)


def build_copies(
    spec: Spec, units: Path, out_dir: Path, *, year: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Built]:
    """One workbook per unit listed in ``units`` (CSV or .xlsx), in ``out_dir``; every row is
    checked before the first file is written, rows with a blank 年度 take ``year`` (or the one
    year the list gives).  ``progress(phase, done, total)`` follows along.  Copies of one kind
    are built once and patched (:func:`xlreport.workbook.copies.copies`), each byte for byte
    what building it alone gives."""
    listed = read_roster(units, [spec], year=year).units
    made = copies(spec, [_values(spec, one) for one in listed])
    built = []
    for done, one in enumerate(listed):
        if progress is not None:
            progress(PHASE, done, len(listed))
        built.append(_build_for(spec, one, out_dir / one.file_name(), next(made)))
    if progress is not None:
        progress(PHASE, len(listed), len(listed))
    return built


def _values(spec: Spec, unit: Unit) -> dict[str, object]:
    """The unit fields of ``spec`` to pre-fill (and lock): those ``unit`` has."""
    found = {"unit.name": unit.name, "unit.year": unit.year, "unit.code": unit.code}
    return {k: v for k, v in found.items() if v not in (None, "") and k in spec.cells}


def _build_for(spec: Spec, unit: Unit, path: Path, data: bytes | None = None) -> Built:
    """The copy of ``unit`` written to ``path``: ``data`` when made already, else built now."""
    values = _values(spec, unit)
    path = (build(spec, path, values=values, lock_keys=list(values)) if data is None
            else write_atomic(path, data))
    return Built(path, tuple(spec.cell(k).row_path[-1] for k in values))
