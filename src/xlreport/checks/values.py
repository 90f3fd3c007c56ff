"""Turn one raw cell content into a typed value, applying the value policy.

:func:`parse` never raises for bad *data*: it returns a :class:`Parsed` whose ``code`` (one of
:data:`xlreport.problems.CODES`) and ``severity`` say what was wrong, plus a short Chinese ``hint``
of what to type instead.  The caller turns codes into full messages naming the sheet and cell.

Numbers
    A numeric cell in xlsx holds an IEEE double.  When the text of ``<v>`` has at most 15
    significant digits it is taken exactly (``XmlNumber("4166.241619")`` → ``4166.241619``); a
    Python ``float`` is read as ``Decimal(repr(f))``, its shortest round-trip spelling, which is what
    was typed whenever that had at most 15 significant digits.  Excel keeps only 15 significant
    digits of what is typed but may write 17 (``0.57999999999999996`` for a typed ``0.58``); a
    longer spelling is therefore read as Excel displays it, rounded to 15 significant digits.  That
    is silent when it merely undoes the 17-digit spelling of a double, and a ``normalised`` warning
    when the double itself has more digits (a pasted computed value such as
    ``0.30000000000000004``, or a 16-digit number typed in LibreOffice).

    Counts and money are at most 15 digits before the decimal point (more is ``not_a_number``,
    "too large"), whatever their spelling, so ``XmlNumber("1E+5")`` is 100000 but ``"1E+20"`` is
    rejected.  Text never uses scientific notation: ``"1e5"`` typed as text is ``not_a_number``.

    Money is returned as an exact ``Decimal`` without trailing fractional zeros or exponent
    (``"12.50"`` → ``Decimal("12.5")``, ``1E+2`` → ``Decimal("100")``); more than 6 decimals
    (counted on the value, so ``"1.5000000"`` is fine) is ``too_many_decimals``.

Text in a number cell
    A count, amount or year stored as text is an error — ``text_number`` when the text spells a
    number (``"12"``, ``"１２"``, ``"1,234"``, ``"2025年"``), else ``not_a_number`` (``"12件"``):
    the workbook adds numbers only (``SUM`` leaves text out in every spreadsheet program), so
    reading ``"12"`` as 12 would give a report whose totals differ from the printed workbook.
    Empty cells and the words of :data:`BLANK_TOKENS` (after stripping :data:`SPACES`) are blank.
    The workbook's own checks (:mod:`xlreport.checks.entries`) decide every cell the same way.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TypeAlias

from ..edition.kinds import (
    CREDIT_CODE_CHARS,
    LIMIT_DIGITS,
    MAX_TEXT,
    Kind,
    credit_code_ok,
    kind,
)
from .problems import CODES, Severity

__all__ = [
    "BLANK_TOKENS",
    "SPACES",
    "Formula",
    "FormulaError",
    "Parsed",
    "Raw",
    "XmlNumber",
    "clip",
    "described",
    "is_blank",
    "parse",
    "parse_json",
    "shown",
]


class XmlNumber(str):
    """A numeric cell; the string is the exact text of its ``<v>`` element (``"1.5E-2"``)."""

    __slots__ = ()


class FormulaError(str):
    """A formula whose result is an error value; the string is that value (``"#VALUE!"``)."""

    __slots__ = ()


@dataclass(frozen=True)
class Formula:
    """A formula typed into an input cell: its text and the cached result (``None`` if none)."""

    text: str
    cached: Raw = None


#: What a workbook reader hands over for one cell.
Raw: TypeAlias = (
    "bool | int | float | str | dt.datetime | dt.date | dt.time | dt.timedelta | Formula | None"
)

#: Cell contents (after stripping whitespace) that mean "nothing filled in".
BLANK_TOKENS = frozenset({"", "/", "／", "-", "－", "--", "—", "——", "–", "无", "空"})


@dataclass(frozen=True)
class Parsed:
    """The typed value of one cell, plus at most one problem with it.

    ``value`` is ``int`` (count, signed_count, year), ``Decimal`` (money), ``str`` (text,
    credit_code) or ``None`` (an error, or a blank text/year/credit_code cell).  ``code`` and
    ``severity`` are both ``None`` or both set; ``hint`` is a short Chinese note for the user.
    """

    value: int | Decimal | str | None
    code: str | None = None
    severity: Severity | None = None
    hint: str = ""

    def __post_init__(self) -> None:
        if (self.code is None) != (self.severity is None):
            raise ValueError("code and severity go together")
        if self.code is not None and self.code not in CODES:
            raise ValueError(f"unknown problem code {self.code!r}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class _Bad(Exception):
    """Internal: the cell is an error with this code and hint."""

    def __init__(self, code: str, hint: str) -> None:
        super().__init__(code)
        self.code = code
        self.hint = hint


#: What is stripped from both ends of a typed text: space, tab, line breaks, NBSP and the
#: ideographic space — exactly what the workbook's own checks strip (see :mod:`.entries`).
SPACES = " \t\n\r\u00a0\u3000"
_EDGE_SPACE = re.compile(f"^[{SPACES}]+|[{SPACES}]+$")
#: Full-width ASCII (１２，３４５．６, ＡＢＣ) and U+2212 MINUS SIGN to plain ASCII.
_TO_ASCII = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x2212: ord("-")}
_TEXT_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)")
_SCIENTIFIC = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_XML_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_LEADING_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(?:\.[0-9]*)?")
_LIMIT = Decimal(10**LIMIT_DIGITS)
_EXCEL_DIGITS = Context(prec=15, rounding=ROUND_HALF_UP)


def _strip(text: str) -> str:
    """``text`` without the :data:`SPACES` around it."""
    return _EDGE_SPACE.sub("", text)


def is_blank(raw: object) -> bool:
    """True for an empty cell or a text that only says "nothing here" (see :data:`BLANK_TOKENS`)."""
    if raw is None:
        return True
    return (
        isinstance(raw, str)
        and not isinstance(raw, XmlNumber | FormulaError)
        and _strip(raw) in BLANK_TOKENS
    )


def shown(raw: Raw | Decimal) -> str:
    """A value as the clerk typed or sees it: ``12件``, ``=B5+1``, ``#VALUE!``, ``4166.241619``."""
    if isinstance(raw, Formula):
        return f"={raw.text}"
    if isinstance(raw, FormulaError):
        return str(raw)
    if isinstance(raw, XmlNumber):
        try:
            raw = Decimal(raw)
        except ArithmeticError:
            return str(raw)
    if isinstance(raw, Decimal):
        exponent = raw.as_tuple().exponent
        return format(raw, "f") if isinstance(exponent, int) and abs(exponent) <= 40 else str(raw)
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(" ")
    if isinstance(raw, dt.date | dt.time):
        return raw.isoformat()
    return str(raw)


def clip(text: str, limit: int = 30) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def described(raw: Raw | Decimal) -> str:
    """What was found in a cell, in words: ``填写的是“12件”`` or ``填写的是公式“=A1/0”（结果为 #DIV/0!）``."""
    text = clip(shown(raw), 40)
    if isinstance(raw, Formula):
        result = f"（结果为 {raw.cached}）" if isinstance(raw.cached, FormulaError) else ""
        return f"填写的是公式“{text}”{result}"
    return f"填写的是“{text}”"


def parse(raw: Raw, kind_name: str, *, year_range: tuple[int, int] = (2000, 2100)) -> Parsed:
    """The typed value of ``raw`` — what a workbook cell holds — read as the kind ``kind_name``."""
    if raw.__class__ is XmlNumber:
        plain = _plain_integer(raw, kind_name, year_range)
        if plain is not None:
            return plain
    elif raw is None:
        blank = _BLANK.get(kind_name)
        if blank is None:
            blank = _BLANK[kind_name] = _parse(None, kind(kind_name), year_range)
        return blank
    try:
        return _parse(raw, kind(kind_name), year_range)
    except _Bad as bad:
        return Parsed(None, bad.code, "error", bad.hint)


#: What an empty cell of each kind is (it does not depend on the years).
_BLANK: dict[str, Parsed] = {}
#: Results of the commonest cell of all, a plain integer in a number or year cell, by
#: (text, kind, years): what :func:`_parse` gives for it (``tests/test_values.py`` checks).
_PLAIN: dict[tuple[str, str, tuple[int, int]], Parsed] = {}


def _plain_integer(raw: str, kind_name: str, year_range: tuple[int, int]) -> Parsed | None:
    """:func:`parse` of a numeric cell whose text is 1–15 ASCII digits, read as a number (count,
    amount) or a year in ``year_range``; None for anything else."""
    key = (raw, kind_name, year_range)
    known = _PLAIN.get(key)
    if known is not None:
        return known
    if not (0 < len(raw) <= 15 and raw.isascii() and raw.isdigit()):
        return None
    cell_kind = kind(kind_name)
    number = int(raw)
    if cell_kind.family == "number":
        value: int | Decimal = Decimal(number) if cell_kind.places else number
    elif cell_kind.family == "year" and year_range[0] <= number <= year_range[1]:
        value = number
    else:
        return None
    if len(_PLAIN) >= 10_000:
        _PLAIN.clear()
    known = _PLAIN[key] = Parsed(value)
    return known


def parse_json(
    value: object, kind_name: str, *, year_range: tuple[int, int] = (2000, 2100)
) -> Parsed:
    """The typed value of ``value`` — one scalar of an upload JSON — read as ``kind_name``.

    The same policy as :func:`parse` with JSON's own types: ``null`` is blank (``Parsed(None)``),
    numbers are exact and must fit what the kind and a spreadsheet can hold (at most 15
    significant digits), a quoted number in a number cell is an error, not text to convert.
    """
    cell_kind = kind(kind_name)
    if value is None:
        return Parsed(None)
    try:
        return _json(value, cell_kind, year_range)
    except _Bad as bad:
        return Parsed(None, bad.code, "error", bad.hint)


def _json(value: object, kind: Kind, year_range: tuple[int, int]) -> Parsed:
    if kind.family == "text":
        if not isinstance(value, str):
            raise _Bad("schema", "应为文字（JSON 字符串，加引号）")
        if len(value) > MAX_TEXT:
            raise _Bad("too_long", f"共 {len(value)} 字，一个单元格最多 {MAX_TEXT} 字；请精简")
        return Parsed(value if _strip(value) else None)
    if kind.family == "credit_code":
        if not isinstance(value, str):
            raise _Bad("credit_code", "应填写 18 位统一社会信用代码（JSON 字符串，加引号）")
        return _credit_code(value)
    if isinstance(value, bool):
        raise _Bad("not_a_number", "应填写数字，不要填写 TRUE/FALSE")
    if isinstance(value, str):
        raise _Bad("not_a_number", f"数字不要加引号，应写 {_plain(_text_number(value))}")
    if not isinstance(value, int | Decimal):
        raise _Bad("not_a_number", "应填写一个数字，如 12 或 3.5")
    number = Decimal(value)
    if not number.is_finite():
        raise _Bad("not_a_number", "不是有效数字")
    if number.copy_abs() >= _LIMIT and kind.family == "year":
        lo, hi = year_range
        raise _Bad("year_range", f"年度应在 {lo}–{hi} 之间")
    if number.copy_abs() >= _LIMIT:
        raise _Bad("not_a_number", f"数字过大（整数部分超过 {LIMIT_DIGITS} 位），请核对")
    number = _canonical(number)
    checked = _checked(number, kind, year_range)
    if len(number.as_tuple().digits) > 15:
        raise _Bad("not_a_number", "有效数字超过 15 位，表格无法精确保存，请核对")
    return Parsed(checked)


def _parse(raw: Raw, kind: Kind, year_range: tuple[int, int]) -> Parsed:
    if isinstance(raw, Formula):
        return _formula(raw, kind, year_range)
    if isinstance(raw, FormulaError):
        raise _Bad("formula", f"公式结果为错误值 {raw}，请直接填写数值")
    if is_blank(raw):
        if kind.numeric:
            return Parsed(kind.zero, "blank", "warning", "空白按 0 计；如确为 0，请填写 0")
        return Parsed(None, "blank", "warning")
    if kind.family == "text":
        return _text(raw)
    if kind.family == "credit_code":
        return _credit_code(raw)
    number, note = _number(raw, kind)
    value = _checked(number, kind, year_range)
    return Parsed(value, "normalised", "warning", note) if note else Parsed(value)


def _formula(raw: Formula, kind: Kind, year_range: tuple[int, int]) -> Parsed:
    cached = raw.cached
    if is_blank(cached) or isinstance(cached, Formula | FormulaError):
        raise _Bad("formula", "公式没有可用的结果；请直接填写数值，不要使用公式")
    try:
        inner = _parse(cached, kind, year_range)
    except _Bad as bad:
        raise _Bad(bad.code, f"公式结果不可用：{bad.hint}") from None
    shown = inner.value if not isinstance(inner.value, Decimal) else _plain(inner.value)
    return Parsed(inner.value, "formula", "warning", f"已采用公式结果 {shown}；请直接填写数值")


def _canonical(number: Decimal) -> Decimal:
    """``number`` without trailing fractional zeros or exponent: 12.50 → 12.5, 1E+2 → 100.

    Callers keep ``number`` below 10^15, so a positive exponent is small.
    """
    if not number:
        return Decimal(0)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite: every caller builds it from validated digits
    zeros = 0
    while zeros < -exponent and digits[len(digits) - 1 - zeros] == 0:
        zeros += 1
    digits, exponent = digits[: len(digits) - zeros], exponent + zeros
    if exponent > 0:
        digits, exponent = digits + (0,) * exponent, 0
    return Decimal((sign, digits, exponent))


def _plain(number: Decimal) -> str:
    return format(number, "f")


def _decimals(number: Decimal) -> int:
    """Decimal places of a canonical ``number``."""
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    return -exponent


def _cell_number(raw: int | float | XmlNumber) -> tuple[Decimal, str]:
    """The value of a numeric cell and a hint if it had to be rounded as Excel displays it."""
    if isinstance(raw, int):
        return Decimal(raw), ""
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _Bad("not_a_number", "单元格中不是有效数字，请重新填写")
        number = _canonical(Decimal(repr(raw)))
    else:
        if not _XML_NUMBER.fullmatch(raw):
            raise _Bad("not_a_number", "单元格中不是有效数字，请重新填写")
        number = _canonical(Decimal(raw))
    if len(number.as_tuple().digits) <= 15:
        return number, ""
    shown = _canonical(_EXCEL_DIGITS.plus(number))
    if Decimal(repr(float(number))) == shown:
        return shown, ""
    return (
        shown,
        f"单元格实际存储的是 {_plain(number)}，已按显示的 {_plain(shown)} 读取；如不对请重新输入",
    )


def _text_number(text: str) -> Decimal:
    """The number a text spells, accepting full-width forms and valid thousands separators."""
    text = _strip(text).translate(_TO_ASCII)
    if _TEXT_NUMBER.fullmatch(text):
        return _canonical(Decimal(text.replace(",", "")))
    if _SCIENTIFIC.fullmatch(text):
        raise _Bad("not_a_number", "请直接写出完整的数字，不要用科学计数法")
    if _LEADING_NUMBER.fullmatch(text):
        raise _Bad("not_a_number", "千分位逗号位置不对；请直接填写数字，如 1234")
    leading = _LEADING_NUMBER.match(text)
    if leading and any(c.isalpha() for c in text[leading.end() :]):
        raise _Bad("not_a_number", "只填写数字，不要带单位或文字")
    if re.search(r"[0-9]\s+[0-9]", text):
        raise _Bad("not_a_number", "数字中间不要有空格")
    raise _Bad("not_a_number", "应填写一个数字，如 12 或 3.5")


def _number(raw: Raw, kind: Kind) -> tuple[Decimal, str]:
    """The number in a statistics or year cell, and a hint if it was normalised."""
    if isinstance(raw, bool):
        raise _Bad("not_a_number", "应填写数字，不要填写 TRUE/FALSE")
    if isinstance(raw, int | float | XmlNumber):
        return _cell_number(raw)
    if isinstance(raw, str):
        typed = _strip(raw)
        number = _text_number(typed[:-1] if kind.family == "year" and typed.endswith("年") else typed)
        raise _Bad(
            "text_number",
            f"这是文字，不是数字：表格的总计和校验不会计入它；请删去后直接输入数字 {_plain(number)}",
        )
    if isinstance(raw, dt.date | dt.time | dt.timedelta):
        if kind.family == "year":
            raise _Bad("not_a_number", "年度只填写四位数字，如 2024，不要填写日期")
        raise _Bad(
            "not_a_number", "单元格被识别为日期/时间；请把单元格格式设为“数值”后重新填写数字"
        )
    raise TypeError(f"unexpected cell content {raw!r}")


def _checked(number: Decimal, kind: Kind, year_range: tuple[int, int]) -> int | Decimal:
    """``number`` (canonical) as the value of a ``kind`` field, or :class:`_Bad`."""
    whole = _decimals(number) <= 0
    if kind.family == "year":
        lo, hi = year_range
        if not whole:
            raise _Bad("fraction", "年度应为整数，如 2024")
        if not lo <= number <= hi:
            raise _Bad("year_range", f"年度应在 {lo}–{hi} 之间")
        return int(number)
    if number.copy_abs() >= _LIMIT:
        raise _Bad("not_a_number", f"数字过大（整数部分超过 {LIMIT_DIGITS} 位），请核对")
    if kind.minimum is not None and number < kind.minimum:
        raise _Bad("negative", "金额不能为负数" if kind.places else "数量不能为负数")
    if kind.places:
        if _decimals(number) > kind.places:
            raise _Bad("too_many_decimals", f"金额最多保留 {kind.places} 位小数")
        return number
    if not whole:
        raise _Bad("fraction", "数量应为整数")
    return int(number)


def _text(raw: Raw) -> Parsed:
    if isinstance(raw, str) and len(raw) > MAX_TEXT:
        raise _Bad("too_long", f"共 {len(raw)} 字，一个单元格最多 {MAX_TEXT} 字；请精简")
    if isinstance(raw, XmlNumber | int | float) and not isinstance(raw, bool):
        number, note = _cell_number(raw)
        text = _plain(number)
        if _decimals(number) <= 0 and number.copy_abs() >= _LIMIT:
            note = "数字超过 15 位，Excel 可能已把末尾改成 0；请把单元格设为文本格式后重新填写"
        return Parsed(text, "normalised", "warning", note or f"数字已按文本 {text} 读取")
    if isinstance(raw, str):
        return Parsed(_strip(raw))
    if isinstance(raw, bool):
        text = "TRUE" if raw else "FALSE"
    elif isinstance(raw, dt.datetime):
        text = raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(" ")
    elif isinstance(raw, dt.date | dt.time):
        text = raw.isoformat()
    elif isinstance(raw, dt.timedelta):
        text = str(raw)
    else:
        raise TypeError(f"unexpected cell content {raw!r}")
    return Parsed(text, "normalised", "warning", f"已按文本 {text} 读取")


def _credit_code(raw: Raw) -> Parsed:
    if isinstance(raw, XmlNumber | int | float) and not isinstance(raw, bool):
        raise _Bad(
            "credit_code",
            "代码被存成了数字，Excel 只保留 15 位；请把单元格设为文本格式后重新填写 18 位代码",
        )
    if not isinstance(raw, str):
        raise _Bad("credit_code", "应填写 18 位统一社会信用代码")
    typed = _strip(raw)
    code = typed.upper()
    if len(code) != 18:
        raise _Bad("credit_code", f"应为 18 位，现为 {len(code)} 位")
    wrong = "".join(dict.fromkeys(c for c in code if c not in CREDIT_CODE_CHARS))
    if wrong:
        raise _Bad(
            "credit_code", f"含有不允许的字符“{wrong}”（只用半角的数字和大写字母，不含 I、O、Z、S、V）"
        )
    if not credit_code_ok(code):
        raise _Bad("credit_code", "校验位（第 18 位）不正确，请逐位核对")
    if code != typed:
        return Parsed(code, "normalised", "warning", f"已按 {code} 读取")
    return Parsed(code)
