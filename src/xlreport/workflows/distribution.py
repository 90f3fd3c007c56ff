"""Distribution copies: one workbook per unit, its unit fields filled in and locked.

A list of units is a CSV file (UTF-8, with or without BOM, or GBK as Excel saves it on a Chinese
Windows) with the columns 单位名称 (required), 年度 and 统一社会信用代码 (optional).  Every row
is checked before anything is written: a bad year or code, or two rows for the same unit (names
compared without spaces and width differences, or the same file name or code), stop the whole run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..edition.kinds import credit_code_ok
from ..edition.spec import DEFAULT_EDITION, Spec
from ..errors import UnreadableInput, UsageError, os_reason
from ..outputs import write_atomic
from ..workbook.copies import copies
from ..workbook.template import build
from .units import safe_file_name, unit_key

NAME, YEAR, CODE = "单位名称", "年度", "统一社会信用代码"
#: Where ``xlreport build`` writes a blank template when no file is named.
TEMPLATES = Path("templates")
#: The phase of the progress callback while copies are written.
PHASE = "生成分发用模板"


@dataclass(frozen=True)
class Unit:
    """One unit to send a workbook to; ``line`` is its line in the CSV file (0 when typed)."""

    name: str
    year: int | None = None
    code: str | None = None
    line: int = 0

    def values(self, spec: Spec) -> dict[str, object]:
        """The unit fields of ``spec`` to pre-fill (and lock): those this unit has."""
        found = {"unit.name": self.name, "unit.year": self.year, "unit.code": self.code}
        return {k: v for k, v in found.items() if v not in (None, "") and k in spec.cells}

    def file_name(self) -> str:
        year = f"_{self.year}年度" if self.year is not None else ""
        return f"{safe_file_name(self.name)}{year}_政府信息公开年度报告统计表.xlsx"


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
        one = check_unit(spec, Unit(unit, year, code))
        default = Path(one.file_name())
    else:
        one = Unit("", check_year(spec, year) if year is not None else None)
        default = Path(f"report_template_{year}.xlsx")
    return _build_for(spec, one, output or default)


def build_copies(
    spec: Spec, units: Path, out_dir: Path, *, year: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Built]:
    """One workbook per unit listed in the CSV file ``units``, in ``out_dir``; every row is
    checked before the first file is written.  ``progress(phase, done, total)`` follows along.
    Copies of one kind are built once and patched (:func:`xlreport.workbook.copies.copies`),
    each byte for byte what building it alone gives."""
    listed = read_units(units, spec, year=year)
    made = copies(spec, [one.values(spec) for one in listed])
    built = []
    for done, one in enumerate(listed):
        if progress is not None:
            progress(PHASE, done, len(listed))
        built.append(_build_for(spec, one, out_dir / one.file_name(), next(made)))
    if progress is not None:
        progress(PHASE, len(listed), len(listed))
    return built


def _build_for(spec: Spec, unit: Unit, path: Path, data: bytes | None = None) -> Built:
    """The copy of ``unit`` written to ``path``: ``data`` when made already, else built now."""
    values = unit.values(spec)
    path = (build(spec, path, values=values, lock_keys=list(values)) if data is None
            else write_atomic(path, data))
    return Built(path, tuple(spec.cell(k).row_path[-1] for k in values))


def check_unit(spec: Spec, unit: Unit, where: str = "") -> Unit:
    """``unit`` with its fields tidied (code upper-cased), or :class:`UsageError` saying what is
    wrong; ``where`` (``units.csv 第 3 行：``) starts the message."""
    name = unit.name.strip()
    if not name:
        raise UsageError(f"{where}单位名称不能为空")
    if not safe_file_name(name):
        raise UsageError(f"{where}单位名称“{name}”去掉文件名不能用的字符后为空")
    if unit.year is not None:
        check_year(spec, unit.year, where)
    code = unit.code.strip().upper() if unit.code else None
    if code and not credit_code_ok(code):
        raise UsageError(
            f"{where}统一社会信用代码“{unit.code}”不对：应为 18 位数字或大写字母，最后一位校验码要与前 17 位相符"
        )
    return Unit(name, unit.year, code or None, unit.line)


def check_year(spec: Spec, year: int, where: str = "") -> int:
    """``year``, or :class:`UsageError` if the edition does not apply to it."""
    first, last = spec.years
    if not first <= year <= last:
        raise UsageError(f"{where}年度 {year} 不在 {spec.edition} 年版适用的 {first}—{last} 年之间")
    return year


def read_units(path: Path, spec: Spec, *, year: int | None = None) -> list[Unit]:
    """The units listed in the CSV file ``path``; ``year`` is used where a row gives none."""
    rows = _rows(path)
    if not rows or NAME not in [h.strip() for h in rows[0][1]]:
        raise UnreadableInput(f"{path.name} 的第一行应为列名，且要有“{NAME}”一列（可选：{YEAR}、{CODE}）")
    header = [h.strip() for h in rows[0][1]]
    units: list[Unit] = []
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        fields = dict(zip(header, (cell.strip() for cell in row), strict=False))
        where = f"{path.name} 第 {line} 行："
        units.append(check_unit(spec, Unit(
            name=fields.get(NAME, ""),
            year=_year(fields.get(YEAR, ""), where) or year,
            code=fields.get(CODE) or None,
            line=line,
        ), where))
    if not units:
        raise UnreadableInput(f"{path.name} 中没有单位")
    _refuse_duplicates(units, path.name)
    return units


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each CSV record; UTF-8 (BOM or not) or GBK."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableInput(f"找不到文件 {path}", code="not_found") from None
    except OSError as exc:
        raise UnreadableInput(f"无法读取 {path}：{os_reason(exc)}", code="not_found") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableInput(f"{path.name} 不是 UTF-8 或 GBK 编码的 CSV 文件")
    reader = csv.reader(io.StringIO(text, newline=""))
    out = []
    try:
        for row in reader:
            out.append((reader.line_num, row))
    except csv.Error as exc:
        why = (f"有一格超过 {csv.field_size_limit()} 个字符，不像是单位名单" if "field larger" in str(exc)
               else "引号没有配对，或含有不能出现在 CSV 中的字符")
        raise UnreadableInput(f"{path.name} 第 {reader.line_num} 行不是有效的 CSV：{why}") from None
    return out


def _year(text: str, where: str) -> int | None:
    text = text.removesuffix("年度").removesuffix("年").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise UsageError(f"{where}年度“{text}”应为四位数字，如 2025")
    return int(text)


def _refuse_duplicates(units: list[Unit], source: str) -> None:
    """Two rows for the same unit — same name (ignoring spaces and full/half width), same file
    name, or same code — stop the run, naming both rows."""
    seen: dict[tuple[str, str], Unit] = {}
    for unit in units:
        keys = [
            ("name", unit_key(unit.name)),
            ("file", unit.file_name().casefold()),
        ]
        if unit.code:
            keys.append(("code", unit.code))
        for key in keys:
            if key in seen:
                other = seen[key]
                what = "统一社会信用代码相同" if key[0] == "code" else "是同一个单位"
                raise UsageError(
                    f"{source} 第 {other.line} 行“{other.name}”和第 {unit.line} 行“{unit.name}”"
                    f"{what}，请删去重复的一行"
                )
            seen[key] = unit
