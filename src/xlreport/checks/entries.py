"""What the workbook shows, decided as ``xlreport read`` decides it — in Python and as formulas.

Every input cell of a workbook has a hidden *state* cell: a number saying what :func:`values.parse
<xlreport.checks.values.parse>` makes of its content —

===  =====================================================================================
 0   fine
 1   a blank statistic, counted as 0 (a warning)
 2   wrong: not what the cell takes, or a pre-filled value changed (an error)
 3   worth a look: a number or date in a text cell, a code in small letters (a warning)
 4   a required cell left blank (an error)
===  =====================================================================================

:func:`state` computes it with the value policy itself; :func:`state_formula` writes the same
decision as a formula over the cell, with only functions that Excel 2010 and later, WPS,
LibreOffice and Gnumeric compute alike (no array idioms: Gnumeric evaluates ``MID(x,ROW(…),1)``
differently; ``ISLOGICAL`` before ``ISNUMBER``: LibreOffice's TRUE is a number).

The checks of 校验结果 are derived from the spec (:func:`entry_checks`): one row per required
cell and, per sheet, one row counting wrong cells, one counting the statistics that are not blank
(a sheet whose statistics are all blank is an error), one counting blank statistics and one
counting cells worth a look — followed by every rule of the edition that needs no previous report.
:func:`shown` computes everything the workbook's formulas compute — states, totals (``SUM`` leaves
text out), both sides and the result of every check, and the overall status — so that a workbook is
written with its exact results (:mod:`xlreport.workbook.template`) and tests can compare them with
what a spreadsheet program computes.  ``checks.status`` says 通过 exactly when ``xlreport read``
finds no error in the cells the workbook can see.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from ..edition.kinds import CREDIT_CODE_CHARS, CREDIT_CODE_WEIGHTS, LIMIT_DIGITS, MAX_TEXT, Kind
from ..edition.rules import FAIL, PASS, Check, Term
from ..edition.spec import Cell, Spec
from .validate import statistics as tables
from .values import (
    BLANK_TOKENS,
    SPACES,
    Formula,
    FormulaError,
    Raw,
    XmlNumber,
    parse,
)

OK, BLANK, WRONG, NOTE, MISSING = range(5)
#: Severity words of the 校验结果 sheet.
SEVERITY_WORDS = {"error": "错误", "warning": "警告"}
#: Separator of the blank words in the formula's lookup text; no blank word contains it.
_BAR = "|"
#: Text a formula may hold in one string literal.
_LITERAL = 255
_NO_PREFILL = object()
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)

#: A value as a formula shows it: an exact number, text, or an error value (``#VALUE!``).
Shown = Decimal | str | FormulaError


@dataclass(frozen=True)
class EntryCheck:
    """One row of 校验结果 counting input cells in one ``state`` (``outside``: the cells not in it);
    it holds when the count ``op`` ``bound`` holds — by default, when no cell is counted."""

    name: str
    severity: str
    description: str
    sheet: str
    keys: tuple[str, ...]
    state: int
    outside: bool = False
    op: str = "="
    bound: int = 0

    def count(self, states: Mapping[str, int]) -> int:
        """The cells counted, given every input's state."""
        return sum((states[k] == self.state) != self.outside for k in self.keys)


@dataclass(frozen=True)
class Result:
    """Everything the workbook's formulas show for the cells as they are (see :func:`shown`)."""

    states: dict[str, int]
    totals: dict[str, Shown]
    sides: dict[str, tuple[Shown, Shown]]
    results: dict[str, str]
    status: str


# --------------------------------------------------------------------------- the checks


@cache
def entry_checks(spec: Spec) -> tuple[EntryCheck, ...]:
    """The rows of 校验结果 about what was typed, in sheet order (see the module docstring)."""
    rows: list[EntryCheck] = []
    tags: set[str] = set()
    for index, sheet in enumerate(spec.sheets):
        cells = [c for c in spec.inputs() if c.sheet == sheet.name]
        if not cells:
            continue
        tag = sheet.blocks[0].prefix
        tag = tag if tag not in tags else f"{tag}{index + 1}"
        tags.add(tag)
        short = sheet.short
        for cell in cells:
            if required(cell):
                rows.append(EntryCheck(
                    f"checks.required.{cell.key}", "error",
                    f"{cell.where}：必须填写（{cell.kind.label}）", sheet.name, (cell.key,), MISSING,
                ))
        kinds = "、".join(dict.fromkeys(c.kind.label for c in cells if c.kind.family != "text"))
        wanted = f"应填{kinds}" if kinds else f"文字最多 {MAX_TEXT} 字"
        rows.append(EntryCheck(
            f"checks.entries.{tag}", "error",
            f"{short}：不符合填写要求的单元格个数（{wanted}；不符合的已标红）",
            sheet.name, tuple(c.key for c in cells), WRONG,
        ))
        statistics = tables(spec).get(sheet.name, ())
        if statistics:
            rows.append(EntryCheck(
                f"checks.blank_table.{tag}", "error",
                f"{short}：不空白的统计单元格个数（至少 1 个；整张表全部空白的，如确无数据请填写 0）",
                sheet.name, statistics, BLANK, outside=True, op=">=", bound=1,
            ))
            rows.append(EntryCheck(
                f"checks.blanks.{tag}", "warning",
                f"{short}：空白的统计单元格个数（按 0 计；没有发生的请填 0）",
                sheet.name, statistics, BLANK,
            ))
        notes = [c for c in cells if c.kind.family in ("text", "credit_code")]
        if notes:
            what = []
            if any(c.kind.family == "text" for c in notes):
                what.append("文字单元格中填的是数字、日期或 TRUE/FALSE，已按文字读取")
            if any(c.kind.family == "credit_code" for c in notes):
                what.append("代码中有小写字母，已按大写读取")
            rows.append(EntryCheck(
                f"checks.notes.{tag}", "warning",
                f"{short}：需要核实的单元格个数（{'；'.join(what)}）",
                sheet.name, tuple(c.key for c in notes), NOTE,
            ))
    return tuple(rows)


def rule_checks(spec: Spec) -> tuple[Check, ...]:
    """The rules' checks the workbook evaluates: those that need no previous report."""
    return tuple(c for c in spec.checks() if not c.cross_year)


def required(cell: Cell) -> bool:
    """A cell that must be filled: not optional, not computed, not a statistic (those count 0)."""
    return not cell.optional and not cell.computed and not cell.statistic


# --------------------------------------------------------------------------- Python


def state(
    cell: Cell, content: Raw | Decimal, years: tuple[int, int], prefilled: object = _NO_PREFILL
) -> int:
    """The state of an input cell holding ``content`` (a formula counts as its result).

    ``prefilled`` is the value a distribution copy put there: anything else is wrong.
    """
    if isinstance(content, Formula):
        content = content.cached
    if isinstance(content, Decimal):  # a value about to be written: as the file will hold it
        content = XmlNumber(format(content, "f"))
    if prefilled is not _NO_PREFILL and not same(content, prefilled):
        return WRONG
    parsed = parse(content, cell.type, year_range=years)
    if parsed.code == "blank":
        return BLANK if cell.statistic else MISSING if required(cell) else OK
    if parsed.is_error:
        return WRONG
    if parsed.severity == "warning" and cell.kind.family in ("text", "credit_code"):
        return NOTE
    return OK


def same(content: Raw | Decimal, prefilled: object) -> bool:
    """Whether a cell still holds exactly the pre-filled ``prefilled`` (text or number)."""
    if isinstance(content, Formula):
        content = content.cached
    if isinstance(prefilled, str):
        return type(content) is str and content == prefilled
    if isinstance(content, bool) or not isinstance(content, int | float | Decimal | XmlNumber):
        return False
    return _number(content) == Decimal(str(prefilled))


def shown(
    spec: Spec,
    contents: Mapping[str, Raw | Decimal],
    *,
    prefilled: Mapping[str, object] | None = None,
    typed_over: Mapping[str, Decimal] | None = None,
) -> Result:
    """What every formula of the workbook shows when the input cells hold ``contents``.

    ``contents`` maps input keys to what the cell holds (missing keys are empty cells);
    ``prefilled`` the values a distribution copy locked in; ``typed_over`` the totals whose
    formula was replaced by a number (the sheet unprotected and a number typed over it).
    """
    prefilled = prefilled or {}
    states = {
        c.key: state(c, contents.get(c.key), spec.years, prefilled.get(c.key, _NO_PREFILL))
        for c in spec.inputs()
    }
    numbers: dict[str, Decimal | FormulaError] = {
        c.key: _number(contents.get(c.key)) for c in spec.inputs()
    }
    totals: dict[str, Shown] = {}

    def value(key: str) -> Decimal | FormulaError:
        if key in numbers:
            return numbers[key]
        total = typed_over[key] if typed_over and key in typed_over else _sum(
            value(p) for p in spec.cell(key).parts
        )
        numbers[key] = total
        totals[key] = total
        return total

    for cell in spec.cells.values():
        if cell.computed:
            value(cell.key)
    sides: dict[str, tuple[Shown, Shown]] = {}
    results: dict[str, str] = {}
    for entry in entry_checks(spec):
        count, bound = Decimal(entry.count(states)), Decimal(entry.bound)
        sides[entry.name] = (count, bound)
        results[entry.name] = _result(entry.op, count, bound)
    for check in rule_checks(spec):
        lhs, rhs = (_side(side, value) for side in (check.lhs, check.rhs))
        sides[check.name] = (lhs, rhs)
        results[check.name] = _result(check.op, lhs, rhs)
    severities = {e.name: e.severity for e in entry_checks(spec)}
    severities |= {c.name: c.rule.severity for c in rule_checks(spec)}
    failed = sum(results[n] == FAIL for n, s in severities.items() if s == "error")
    return Result(states, totals, sides, results, status_text(failed))


def status_text(failed: int) -> str:
    """``checks.status`` when ``failed`` error-level checks do not hold."""
    return PASS if failed == 0 else f"{FAIL}（{failed} 项检查未通过，见下表）"


def _number(content: Raw | Decimal) -> Decimal | FormulaError:
    """What ``SUM`` takes from a cell: its number, 0 for text, TRUE/FALSE and blanks, or its error."""
    if isinstance(content, Formula):
        content = content.cached
    if isinstance(content, FormulaError):
        return content
    if isinstance(content, XmlNumber):
        try:
            return Decimal(content)
        except ArithmeticError:
            return Decimal(0)
    if isinstance(content, bool) or content is None or isinstance(content, str):
        return Decimal(0)
    if isinstance(content, int | Decimal):
        return Decimal(content)
    if isinstance(content, float):
        return Decimal(repr(content)) if math.isfinite(content) else FormulaError("#NUM!")
    if isinstance(content, dt.datetime | dt.date):
        moment = content if isinstance(content, dt.datetime) else dt.datetime(*content.timetuple()[:3])
        return Decimal(repr((moment - _EXCEL_EPOCH).total_seconds() / 86400))
    if isinstance(content, dt.time):
        return Decimal(repr((content.hour * 3600 + content.minute * 60 + content.second) / 86400))
    if isinstance(content, dt.timedelta):
        return Decimal(repr(content.total_seconds() / 86400))
    raise TypeError(f"unexpected cell content {content!r}")


def _sum(values: Iterable[Decimal | FormulaError]) -> Decimal | FormulaError:
    total = Decimal(0)
    for v in values:
        if isinstance(v, FormulaError):
            return v
        total += v
    return total


def _side(
    terms: tuple[Term, ...], value: Callable[[str], Decimal | FormulaError]
) -> Decimal | FormulaError:
    """``SUM(plus terms)-SUM(minus terms)`` as the workbook computes it."""
    parts: list[Decimal | FormulaError] = []
    for t in terms:
        v = Decimal(t.constant) if t.key is None else value(t.key)
        parts.append(v if isinstance(v, FormulaError) else t.sign * v)
    return _sum(parts)


def _result(op: str, lhs: Shown, rhs: Shown) -> str:
    """What :func:`~xlreport.checks.rules.excel_compare` shows: ROUND(difference, 6) compared."""
    if not isinstance(lhs, Decimal) or not isinstance(rhs, Decimal):
        return FAIL
    diff = (lhs - rhs).quantize(Decimal("1E-6"), rounding=ROUND_HALF_UP)
    holds = {"=": diff == 0, "<=": diff <= 0, ">=": diff >= 0}[op]
    return PASS if holds else FAIL


# --------------------------------------------------------------------------- formulas


def state_formula(
    cell: Cell, ref: str, years: tuple[int, int], prefilled: object = _NO_PREFILL
) -> str:
    """The formula (without ``=``) computing :func:`state` of the cell at ``ref``."""
    missing = MISSING if required(cell) else OK
    blank = _blank_text(ref)
    family = cell.kind.family
    if family in ("number", "year"):
        if family == "year":
            first, last = years
            bad = f"OR({ref}<{first},{ref}>{last},{ref}<>INT({ref}))"
            empty = missing
        else:
            bad = _bad_number(cell.kind, ref)
            empty = BLANK if cell.statistic else OK
        inner = (f"IF(OR(ISERROR({ref}),ISLOGICAL({ref})),{WRONG},IF(ISNUMBER({ref}),"
                 f"IF({bad},{WRONG},{OK}),IF({blank},{empty},{WRONG})))")
    elif family == "credit_code":
        code = _trimmed(ref)
        checked = f"IF({_code_ok(code)},IF(EXACT({code},UPPER({code})),{OK},{NOTE}),{WRONG})"
        inner = (f"IF(ISERROR({ref}),{WRONG},IF(ISTEXT({ref}),IF({blank},{missing},{checked}),"
                 f"IF(ISBLANK({ref}),{missing},{WRONG})))")
    else:
        text = f"IF(LEN({ref})>{MAX_TEXT},{WRONG},{f'IF({blank},{missing},{OK})' if missing else OK})"
        inner = (f"IF(ISERROR({ref}),{WRONG},IF(ISTEXT({ref}),{text},"
                 f"IF(ISBLANK({ref}),{missing},{NOTE})))")
    if prefilled is _NO_PREFILL:
        return inner
    if isinstance(prefilled, str):
        kept = f"AND(ISTEXT({ref}),EXACT({ref},{_literal(prefilled)}))"
    else:
        kept = f"AND(ISNUMBER({ref}),NOT(ISLOGICAL({ref})),{ref}={Decimal(str(prefilled))})"
    return f"IF(ISERROR({ref}),{WRONG},IF({kept},{inner},{WRONG}))"


def count_formula(entry: EntryCheck, ranges: Iterable[str]) -> str:
    """The number of cells ``entry`` counts (in its state, or not in it), given the ranges of their
    state cells; only the cells of ``entry`` are ever in its state there."""
    inside = "+".join(f"COUNTIF({r},{entry.state})" for r in ranges)
    return f"{len(entry.keys)}-({inside})" if entry.outside else inside


def _trimmed(ref: str) -> str:
    """``ref``'s text with every character of :data:`SPACES` made a space, then TRIMmed."""
    text = ref
    for ch in SPACES:
        if ch != " ":
            text = f"SUBSTITUTE({text},{_char(ch)},\" \")"
    return f"TRIM({text})"


def _char(ch: str) -> str:
    """A one-character string in a formula: ``CHAR(10)`` for control characters (the same in every
    code page), a literal otherwise."""
    return f"CHAR({ord(ch)})" if ord(ch) < 32 else f'"{ch}"'


def _blank_text(ref: str) -> str:
    """True when the cell's text is a blank word (:data:`BLANK_TOKENS`) once trimmed."""
    t = _trimmed(ref)
    words = sorted(w for w in BLANK_TOKENS if w)
    assert all(_BAR not in w for w in words)
    longest = max(len(w) for w in words)
    listed = _BAR + _BAR.join(words) + _BAR
    return (f'OR({t}="",AND(LEN({t})<{longest + 1},'
            f'ISNUMBER(FIND("{_BAR}"&{t}&"{_BAR}","{listed}"))))')


def _bad_number(kind: Kind, ref: str) -> str:
    """True when the number in ``ref`` is not what ``kind`` takes: below its minimum, more decimals
    than its places, or more than :data:`LIMIT_DIGITS` digits before the point."""
    wrong = [f"{ref}<{kind.minimum}"] if kind.minimum is not None else []
    wrong.append(too_many_places(ref, kind.places) if kind.places else f"{ref}<>INT({ref})")
    wrong.append(f"ABS({ref})>=1E+{LIMIT_DIGITS}")
    return f"OR({','.join(wrong)})"


def too_many_places(ref: str, places: int) -> str:
    """True when the number in ``ref`` has more than ``places`` decimals, as the value policy counts
    them on a number of at most 15 significant digits.

    Not ``ROUND(x,6)<>x``: Gnumeric compares the two doubles exactly and finds ``ROUND(9116.36,6)``
    different from 9116.36, where Excel and LibreOffice compare to 15 digits.  Here the decimals
    beyond ``places`` must exceed 4 parts in 10^16 of the number itself: a digit typed there is at
    least 10^-15 of a 15-digit number, the doubles' own rounding at most about 2.2 parts in 10^16.
    """
    scaled = f"{ref}*1E+{places}"
    return f"ABS({scaled}-ROUND({scaled},0))>ABS({ref})*4E-{16 - places}"


def _code_ok(code: str) -> str:
    """GB 32100 check character, seventeen explicit terms (no array formula)."""
    chars = f'"{CREDIT_CODE_CHARS}"'
    terms = "+".join(
        f"(FIND(UPPER(MID({code},{i},1)),{chars})-1)*{w}"
        for i, w in enumerate(CREDIT_CODE_WEIGHTS, 1)
    )
    return f"IFERROR(AND(LEN({code})=18,MID({chars},MOD(-({terms}),31)+1,1)=UPPER(RIGHT({code}))),FALSE)"


def _literal(text: str) -> str:
    """``text`` as a formula string; longer than one literal may be, joined with ``&``."""
    if not text:
        return '""'
    pieces = [text[i: i + _LITERAL] for i in range(0, len(text), _LITERAL)]
    return "&".join('"' + p.replace('"', '""') + '"' for p in pieces)
