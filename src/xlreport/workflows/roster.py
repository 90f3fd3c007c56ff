"""A list of units (单位名单): who an office sends copies to (``build --units``) and expects
returns from (``collect --units``).

One reader for both kinds of file an office keeps its list in: a CSV file (UTF-8, with or without
BOM, or GBK as Excel saves it on a Chinese Windows) and an Excel workbook (.xlsx: its first
visible sheet, through the bounded, defused reader of :mod:`xlreport.workbook.xlsx`).  The columns
are 单位名称 (required), 年度 and 统一社会信用代码 (optional), under a header row: row 1, or the
one row among the first :data:`HEADER_ROWS` that names 单位名称 (a title above the table).  A year
or a code typed as a number is read as what it shows; a date, an error value or a code whose
digits a spreadsheet has rounded away is refused.

Every row is checked before anything is done: a bad year or code, two rows for the same unit
(names compared without spaces and width differences, or the same file name or code), or a year
other than the season's stop the whole run, naming the rows as the spreadsheet numbers them
(``名单.xlsx 第 5 行：…``).  The season's year is one fact: ``--year``, or else the one year the
list gives; rows with a blank 年度 take it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path

from ..checks.values import Formula, FormulaError, Raw, XmlNumber
from ..edition.kinds import credit_code_ok
from ..edition.spec import Spec
from ..errors import UnreadableInput, UsageError, os_reason
from ..workbook import xlsx
from ..workbook.precheck import MB, Limits, precheck
from .units import Identity, code_key, safe_file_name, unit_key

NAME, YEAR, CODE = "单位名称", "年度", "统一社会信用代码"
#: The header row may stand this far down, below a title (rows of the spreadsheet).
HEADER_ROWS = 20
#: The most units a list may hold, the most columns read, the largest file (bytes).
MAX_UNITS, MAX_COLUMNS, MAX_BYTES = 20_000, 64, 5 * MB
#: How many row numbers or names a message lists before it says "and N more".
SHOWN = 10
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et", ".ods")
_LIMITS = Limits(max_file_bytes=MAX_BYTES)


@dataclass(frozen=True)
class Unit:
    """One unit of a list (or typed on the command line): ``line`` is its row in the list's file
    (0 when typed)."""

    name: str
    year: int | None = None
    code: str | None = None
    line: int = 0

    def file_name(self) -> str:
        """The name of this unit's distribution copy."""
        year = f"_{self.year}年度" if self.year is not None else ""
        return f"{safe_file_name(self.name)}{year}_政府信息公开年度报告统计表.xlsx"


@dataclass(frozen=True)
class Roster:
    """A list of units read and checked: the file it came from (as messages name it), its units
    in order, the season's year (``--year``, or the one year the list gives; None when neither
    gives one) and whether it was asked for (``--year``)."""

    source: str
    units: tuple[Unit, ...]
    year: int | None
    asked: bool = False

    def find(self, name: str, code: str | None = None) -> Unit | None:
        """The listed unit a return is from, by :class:`~.units.Identity`: the same 统一社会信用代码
        when both have one, else the same name (ignoring spaces, width and case, as duplicates
        are matched) — a namesake with another code is not it."""
        if code and (found := self._by_code.get(code_key(code))) is not None:
            return found
        found = self._by_name.get(unit_key(name)) if name else None
        if found is None or not Identity(name, code or "").same(Identity(found.name, found.code or "")):
            return None
        return found

    def copies(self, year: int | None) -> dict[str, Unit]:
        """The listed units by the (case-folded) name of their distribution copy for ``year``."""
        return {Unit(u.name, u.year or year).file_name().casefold(): u for u in self.units}

    @cached_property
    def _by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units if u.code}

    @cached_property
    def _by_name(self) -> dict[str, Unit]:
        return {unit_key(u.name): u for u in self.units}


def read_roster(path: Path, specs: Sequence[Spec], *, year: int | None = None) -> Roster:
    """The units listed in ``path`` (CSV or .xlsx), each checked against the editions ``specs``
    (a year must be one of theirs); the season's year is ``year`` or the one the list gives, and
    rows with a blank 年度 take it.  :class:`UsageError` or :class:`UnreadableInput` name the
    rows at fault."""
    path = Path(path)
    if year is not None:
        check_year(specs, year)
    rows = _rows(path)
    header_line, header = _header(path.name, rows)
    columns = _columns(path.name, header_line, header)
    units: list[Unit] = []
    for line, cells in rows:
        if line <= header_line or not any(_filled(c) for c in cells):
            continue
        fields = {what: cells[i] if i < len(cells) else None for what, i in columns.items()}
        where = f"{path.name} 第 {line} 行："
        name = _text(fields.get(NAME), NAME, where)
        if _heading(name) == NAME:  # the header repeated (a printed list's second page)
            continue
        units.append(check_unit(Unit(
            name=name,
            year=_year(fields.get(YEAR), where),
            code=_code(fields.get(CODE), where),
            line=line,
        ), specs, where))
    if not units:
        raise UnreadableInput(f"{path.name} 中列名下面没有单位")
    season = _season(path.name, units, year)
    units = [u if u.year is not None else Unit(u.name, season, u.code, u.line) for u in units]
    _refuse_duplicates(units, path.name)
    return Roster(path.name, tuple(units), season, asked=year is not None)


def check_unit(unit: Unit, specs: Sequence[Spec], where: str = "") -> Unit:
    """``unit`` with its fields tidied (code upper-cased), or :class:`UsageError` saying what is
    wrong; ``where`` (``名单.csv 第 3 行：``) starts the message."""
    name = unit.name.strip()
    if not name:
        raise UsageError(f"{where}单位名称不能为空")
    if not safe_file_name(name):
        raise UsageError(f"{where}单位名称“{name}”去掉文件名不能用的字符后为空")
    if unit.year is not None:
        check_year(specs, unit.year, where)
    code = unit.code.strip().upper() if unit.code else None
    if code and not credit_code_ok(code):
        raise UsageError(
            f"{where}统一社会信用代码“{unit.code}”不对：应为 18 位数字或大写字母，最后一位校验码要与前 17 位相符"
        )
    return Unit(name, unit.year, code or None, unit.line)


def check_year(specs: Sequence[Spec], year: int, where: str = "") -> int:
    """``year``, or :class:`UsageError` if none of the editions ``specs`` applies to it."""
    if any(s.years[0] <= year <= s.years[1] for s in specs):
        return year
    if len(specs) == 1:
        first, last = specs[0].years
        raise UsageError(f"{where}年度 {year} 不在 {specs[0].edition} 年版适用的 {first}—{last} 年之间")
    ranges = "，".join(f"{s.edition} 年版 {s.years[0]}—{s.years[1]}" for s in specs)
    raise UsageError(f"{where}年度 {year} 不在任何一个格式版本适用的年度之内（{ranges}）")


def rows_named(lines: Sequence[int]) -> str:
    """``第 3、5、9 行`` (the first :data:`SHOWN`, then how many more)."""
    shown = "、".join(str(n) for n in lines[:SHOWN])
    more = f" 等 {len(lines)} 行" if len(lines) > SHOWN else " 行"
    return f"第 {shown}{more}"


# --------------------------------------------------------------------------- the season's year


def _season(source: str, units: Sequence[Unit], year: int | None) -> int | None:
    """The season's year: ``year`` (``--year``) when given — no row may give another — else the
    one year the rows give (they may not give two)."""
    by_year: dict[int, list[int]] = {}
    for unit in units:
        if unit.year is not None:
            by_year.setdefault(unit.year, []).append(unit.line)
    if year is not None:
        other = {y: lines for y, lines in by_year.items() if y != year}
        if other:
            said = "，".join(f"{rows_named(lines)}是 {y} 年度" for y, lines in sorted(other.items()))
            first = min(other)
            raise UsageError(
                f"{source} {said}，而 --year 是 {year} 年度：一次分发或收集只能是同一个年度。"
                f"请把名单中这些行的年度改为 {year} 或删去（空着的按 --year），"
                f"或者改用 --year {first}"
            )
        return year
    if len(by_year) > 1:
        said = "，".join(f"{rows_named(lines)}是 {y} 年度" for y, lines in sorted(by_year.items()))
        raise UsageError(
            f"{source} 中的年度不止一个：{said}；一次分发或收集只能是同一个年度。"
            "请把名单改成同一个年度，或删去年度一列，用 --year 指定"
        )
    return next(iter(by_year), None)


# --------------------------------------------------------------------------- the table


Row = tuple[int, list[Raw]]


def _rows(path: Path) -> list[Row]:
    """(row number, cells) of each record of the list, a workbook's or a CSV file's."""
    is_workbook = path.suffix.lower() in _WORKBOOK_SUFFIXES
    if not is_workbook:
        data = _read(path)
        is_workbook = data.startswith((b"PK", bytes.fromhex("D0CF11E0")))
    if is_workbook:
        return _sheet_rows(path)
    return _csv_rows(path.name, data)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UnreadableInput(f"找不到文件 {path}", code="not_found") from None
    except IsADirectoryError:
        raise UnreadableInput(f"“{path}”是文件夹，请给出单位名单文件（.csv 或 .xlsx）",
                              code="not_found") from None
    except OSError as exc:
        raise UnreadableInput(f"无法读取 {path}：{os_reason(exc)}", code="not_found") from None
    if len(data) > MAX_BYTES:
        raise UnreadableInput(f"{path.name} 超过 {MAX_BYTES // MB} MB，不像是一份单位名单",
                              code="too_large")
    if not data:
        raise UnreadableInput(f"{path.name} 是空文件（0 字节）", code="empty")
    return data


def _csv_rows(name: str, raw: bytes) -> list[Row]:
    """(line number, cells) of each CSV record; UTF-8 (BOM or not) or GBK."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableInput(f"{name} 不是 UTF-8 或 GBK 编码的 CSV 文件，也不是 Excel 工作簿（.xlsx）",
                              code="not_text")
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[Row] = []
    try:
        for row in reader:
            cells: list[Raw] = list(row[:MAX_COLUMNS])
            out.append((reader.line_num, cells))
            if len(out) > MAX_UNITS + HEADER_ROWS:
                raise _too_many(name)
    except csv.Error as exc:
        why = (f"有一格超过 {csv.field_size_limit()} 个字符，不像是单位名单" if "field larger" in str(exc)
               else "引号没有配对，或含有不能出现在 CSV 中的字符")
        raise UnreadableInput(f"{name} 第 {reader.line_num} 行不是有效的 CSV：{why}") from None
    return out


def _sheet_rows(path: Path) -> list[Row]:
    """(row number, cells) of each row of the workbook's first visible sheet."""
    precheck(path, limits=_LIMITS)
    data = _read(path)
    with xlsx.open_workbook(data, path.name) as book:
        sheets = [s for s in book.sheets if s.state == "visible"] or list(book.sheets)
        if not sheets or sheets[0].part is None:
            raise UnreadableInput(f"{path.name} 中没有可以读取的工作表")
        sheet = sheets[0].name
        grid = book.read_sheets({sheet: (MAX_UNITS + HEADER_ROWS, MAX_COLUMNS - 1)})[sheet]
        by_row: dict[int, list[Raw]] = {}
        for (r, c), cell in sorted(grid.items()):
            cells = by_row.setdefault(r + 1, [])
            cells.extend([None] * (c - len(cells)))
            cells.append(book.value(cell))
    if any(_filled(c) for c in by_row.get(MAX_UNITS + HEADER_ROWS + 1, [])):
        raise _too_many(path.name)
    return sorted(by_row.items())


def _too_many(source: str) -> UnreadableInput:
    return UnreadableInput(f"{source} 超过 {MAX_UNITS + HEADER_ROWS} 行，不像是一份单位名单"
                           f"（最多 {MAX_UNITS} 个单位）", code="too_large")


def _header(source: str, rows: Sequence[Row]) -> tuple[int, list[str]]:
    """(row number, headings) of the header: the first row, or else the one row near the top
    that names 单位名称."""
    top = [(line, [_heading(c) for c in cells]) for line, cells in rows if line <= HEADER_ROWS]
    named = [(line, heads) for line, heads in top if NAME in heads]
    if top and named and named[0][0] == top[0][0]:
        return named[0]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise UnreadableInput(
            f"{source} 的第 {'、'.join(str(line) for line, _ in named)} 行都写着“{NAME}”，"
            "不能确定哪一行是列名；请把列名放在第一行，或删去多余的一行"
        )
    raise UnreadableInput(
        f"{source} 的第一行（或前 {HEADER_ROWS} 行中的一行）应为列名，且要有“{NAME}”一列"
        f"（可选：{YEAR}、{CODE}）"
    )


def _columns(source: str, line: int, header: list[str]) -> dict[str, int]:
    """Which column holds each field (a field named twice is refused)."""
    columns: dict[str, int] = {}
    for i, head in enumerate(header):
        if head in (NAME, YEAR, CODE):
            if head in columns:
                raise UnreadableInput(f"{source} 第 {line} 行的列名中“{head}”出现了两次，"
                                      "不能确定用哪一列")
            columns[head] = i
    return columns


def _heading(cell: Raw) -> str:
    """A heading as compared: full width folded, no spaces (``单位 名称`` is 单位名称)."""
    return "".join(unicodedata.normalize("NFKC", cell).split()) if isinstance(cell, str) else ""


def _filled(cell: Raw) -> bool:
    return cell is not None and (not isinstance(cell, str) or bool(cell.strip()))


# --------------------------------------------------------------------------- the cells


def _plain(cell: Raw, what: str, where: str) -> Raw:
    """A cell without its formula (its cached result), an error value refused."""
    if isinstance(cell, Formula):
        cell = cell.cached
    if isinstance(cell, FormulaError):
        raise UsageError(f"{where}{what}一格是公式的错误结果“{cell}”，请改为直接填写")
    return cell


def _number(cell: XmlNumber) -> Decimal | None:
    try:
        number = Decimal(cell)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _text(cell: Raw, what: str, where: str) -> str:
    """A cell as text: a number as it shows (``123``, not ``123.0``)."""
    cell = _plain(cell, what, where)
    if cell is None:
        return ""
    if isinstance(cell, XmlNumber):
        number = _number(cell)
        if number is not None and number == number.to_integral_value():
            return str(int(number))
        return str(cell)
    if isinstance(cell, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        raise UsageError(f"{where}{what}一格是日期或时间（{cell}），请把这一列设为“文本”后重新填写")
    return str(cell).strip()


def _year(cell: Raw, where: str) -> int | None:
    """The 年度 of a row: ``2025``, ``2025年``, ``2025年度`` or the number 2025."""
    cell = _plain(cell, YEAR, where)
    if isinstance(cell, (dt.datetime, dt.date)):
        raise UsageError(f"{where}年度一格被设成了日期格式（显示为 {cell:%Y-%m-%d}）；请把这一列设为"
                         "“常规”或“文本”后重新填写四位数字，如 2025")
    if isinstance(cell, XmlNumber):
        number = _number(cell)
        if number is not None and number == number.to_integral_value() and 0 < number < 10_000:
            return int(number)
        raise UsageError(f"{where}年度“{cell}”应为四位数字，如 2025")
    text = _text(cell, YEAR, where).removesuffix("年度").removesuffix("年").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) != 4:
        raise UsageError(f"{where}年度“{text}”应为四位数字，如 2025")
    return int(text)


def _code(cell: Raw, where: str) -> str | None:
    """The 统一社会信用代码 of a row; one typed as a number is taken only if all 18 digits
    survived (a spreadsheet keeps 15 significant digits of a number)."""
    cell = _plain(cell, CODE, where)
    if isinstance(cell, XmlNumber):
        number = _number(cell)
        digits = str(int(number)) if number is not None and number == number.to_integral_value() else ""
        if credit_code_ok(digits):
            return digits
        raise UsageError(
            f"{where}统一社会信用代码存成了数字（{cell}），电子表格只保留 15 位有效数字，后几位已经丢失；"
            "请把这一列设为“文本”格式后重新输入这个代码"
        )
    return _text(cell, CODE, where) or None


def _refuse_duplicates(units: list[Unit], source: str) -> None:
    """Two rows for the same unit — same name (ignoring spaces and full/half width), same file
    name, or same code — stop the run, naming both rows."""
    found: dict[tuple[str, str], Unit] = {}
    for unit in units:
        keys = [
            ("name", unit_key(unit.name)),
            ("file", unit.file_name().casefold()),
        ]
        if unit.code:
            keys.append(("code", unit.code))
        for key in keys:
            if key in found:
                other = found[key]
                what = "统一社会信用代码相同" if key[0] == "code" else "是同一个单位"
                raise UsageError(
                    f"{source} 第 {other.line} 行“{other.name}”和第 {unit.line} 行“{unit.name}”"
                    f"{what}，请删去重复的一行"
                )
            found[key] = unit
