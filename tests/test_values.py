"""Tests for the value policy: one raw cell content → one typed value plus at most one problem."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlreport.checks import values
from xlreport.checks.problems import CODES
from xlreport.checks.values import (
    BLANK_TOKENS,
    SPACES,
    Formula,
    FormulaError,
    Parsed,
    XmlNumber,
    is_blank,
    parse,
)
from xlreport.edition.kinds import KINDS, credit_code_ok

D = Decimal
W, E = "warning", "error"
#: Valid by the GB 32100-2015 check (verified by hand-computing the weighted sum).
VALID_CODES = [
    "91350100M000100Y43",
    "11100000000013127D",
    "91110000802100433B",
    "91440300708461136T",
    "911100001000013406",
]
FULL = str.maketrans("0123456789+-.,", "０１２３４５６７８９＋－．，")


def check(raw: object, kind: str, value: object, code: str | None, severity: str | None) -> Parsed:
    """Parse and assert value (type and exact spelling, via repr), code and severity."""
    got = parse(raw, kind, year_range=(2019, 2100))  # type: ignore[arg-type]
    assert (repr(got.value), got.code, got.severity) == (repr(value), code, severity), got
    assert got.code is None or got.code in CODES
    assert (got.severity == E) == got.is_error
    if got.is_error:
        assert got.hint, "every error says what to type instead"
    return got


# --- counts --------------------------------------------------------------------------------------

COUNT_CASES = [
    # numeric cells: no warning
    (12, 12, None, None),
    (0, 0, None, None),
    (2822652, 2822652, None, None),
    (12.0, 12, None, None),
    (XmlNumber("12"), 12, None, None),
    (XmlNumber("123456789012"), 123456789012, None, None),
    (XmlNumber("1E+5"), 100000, None, None),
    (XmlNumber("1.2E+1"), 12, None, None),
    (XmlNumber("999999999999999"), 999999999999999, None, None),
    (999999999999999, 999999999999999, None, None),
    # numbers stored as text: the workbook does not add them up
    ("12", None, "text_number", E),
    (" 12 ", None, "text_number", E),
    ("\u00a012\u00a0", None, "text_number", E),
    ("\u300012\u200b", None, "not_a_number", E),  # a zero-width space is not stripped
    ("１２", None, "text_number", E),
    ("＋１２", None, "text_number", E),
    ("+12", None, "text_number", E),
    ("1,234", None, "text_number", E),
    ("1，234", None, "text_number", E),
    ("１，２３４", None, "text_number", E),
    ("1,234,567", None, "text_number", E),
    ("12.0", None, "text_number", E),
    ("１２．０", None, "text_number", E),
    ("012", None, "text_number", E),
    ("-0", None, "text_number", E),
    ("2822652", None, "text_number", E),
    # blank
    (None, 0, "blank", W),
    *((token, 0, "blank", W) for token in ["", "   ", "/", "-", "—", "－", "–", "——", "无", "空"]),
    ("\u00a0/\u00a0", 0, "blank", W),
    # not a number
    ("12件", None, "not_a_number", E),
    ("12 件", None, "not_a_number", E),
    ("abc", None, "not_a_number", E),
    ("1.2.3", None, "not_a_number", E),
    ("12 34", None, "not_a_number", E),
    ("1,23", None, "not_a_number", E),
    ("1,2345", None, "not_a_number", E),
    ("1234,567", None, "not_a_number", E),
    (",123", None, "not_a_number", E),
    ("1e5", None, "not_a_number", E),
    ("1E+5", None, "not_a_number", E),
    ("12%", None, "not_a_number", E),
    ("(12)", None, "not_a_number", E),
    ("١٢", None, "not_a_number", E),  # Arabic-Indic digits are not accepted
    ("①", None, "not_a_number", E),
    ("12。5", None, "not_a_number", E),
    ("=1+2", None, "not_a_number", E),
    (True, None, "not_a_number", E),
    (False, None, "not_a_number", E),
    (dt.datetime(2024, 1, 12), None, "not_a_number", E),
    (dt.date(2024, 1, 12), None, "not_a_number", E),
    (dt.time(12, 0), None, "not_a_number", E),
    (dt.timedelta(hours=12), None, "not_a_number", E),
    (float("nan"), None, "not_a_number", E),
    (float("inf"), None, "not_a_number", E),
    (XmlNumber("abc"), None, "not_a_number", E),
    (XmlNumber(""), None, "not_a_number", E),
    # too large: more than 15 digits
    (10**15, None, "not_a_number", E),
    (XmlNumber("1E+20"), None, "not_a_number", E),
    ("1,000,000,000,000,000", None, "text_number", E),
    (1e20, None, "not_a_number", E),
    # negative
    (-1, None, "negative", E),
    ("-12", None, "text_number", E),
    ("－１２", None, "text_number", E),
    ("\u221212", None, "text_number", E),
    (XmlNumber("-3"), None, "negative", E),
    # fraction
    (12.5, None, "fraction", E),
    ("12.5", None, "text_number", E),
    (XmlNumber("0.5"), None, "fraction", E),
    # formulas
    (FormulaError("#VALUE!"), None, "formula", E),
    (FormulaError("#DIV/0!"), None, "formula", E),
    (Formula("=A1+1", 3), 3, "formula", W),
    (Formula("=A1+1", 3.0), 3, "formula", W),
    (Formula("=A1+1", XmlNumber("3")), 3, "formula", W),
    (Formula('="12"', "12"), None, "text_number", E),
    (Formula("=A1*0.1", 12.000000000000002), 12, "formula", W),
    (Formula("=A1", None), None, "formula", E),
    (Formula('=IF(A1,"",1)', ""), None, "formula", E),
    (Formula("=1/0", FormulaError("#DIV/0!")), None, "formula", E),
    (Formula("=A1-B1", -3), None, "negative", E),
    (Formula("=A1/2", 1.5), None, "fraction", E),
    (Formula('="x"', "x"), None, "not_a_number", E),
]


@pytest.mark.parametrize(("raw", "value", "code", "severity"), COUNT_CASES)
def test_count(raw: object, value: object, code: str | None, severity: str | None) -> None:
    check(raw, "count", value, code, severity)


def test_count_hints() -> None:
    assert "整数" in parse(12.5, "count").hint
    assert "日期" in parse(dt.datetime(2024, 1, 12), "count").hint
    assert "单位" in parse("12件", "count").hint
    assert "科学计数法" in parse("1e5", "count").hint
    assert "逗号" in parse("1,23", "count").hint
    assert "15 位" in parse(10**15, "count").hint
    assert "公式" in parse(Formula("=A1-B1", -3), "count").hint


SIGNED_CASES = [
    (-3, -3, None, None),
    (-3.0, -3, None, None),
    (XmlNumber("-3"), -3, None, None),
    ("-3", None, "text_number", E),
    ("－３", None, "text_number", E),
    ("\u22123", None, "text_number", E),
    ("+3", None, "text_number", E),
    ("-1,234", None, "text_number", E),
    (None, 0, "blank", W),
    ("-", 0, "blank", W),
    ("-3.5", None, "text_number", E),
    ("- 3", None, "not_a_number", E),
    (-(10**15), None, "not_a_number", E),
]


@pytest.mark.parametrize(("raw", "value", "code", "severity"), SIGNED_CASES)
def test_signed_count(raw: object, value: object, code: str | None, severity: str | None) -> None:
    check(raw, "signed_count", value, code, severity)


# --- money ---------------------------------------------------------------------------------------

MONEY_CASES = [
    (XmlNumber("4166.241619"), D("4166.241619"), None, None),
    (4166.241619, D("4166.241619"), None, None),
    (12, D("12"), None, None),
    (12.5, D("12.5"), None, None),
    (XmlNumber("1.5E-2"), D("0.015"), None, None),
    (XmlNumber("1E+2"), D("100"), None, None),
    (XmlNumber("0.000001"), D("0.000001"), None, None),
    (XmlNumber("-0"), D("0"), None, None),
    # Excel's 17-digit spelling of a typed value is read as typed, silently
    (XmlNumber("0.57999999999999996"), D("0.58"), None, None),
    (XmlNumber("1.4999999999999999E-2"), D("0.015"), None, None),
    (XmlNumber("1234561.1000000001"), D("1234561.1"), None, None),
    # a double with more than 15 digits is read as Excel shows it, with a warning
    (0.1 + 0.2, D("0.3"), "normalised", W),
    (XmlNumber("0.30000000000000004"), D("0.3"), "normalised", W),
    (XmlNumber("1234567890.123456"), D("1234567890.12346"), "normalised", W),
    # text: the workbook does not add it up
    ("4166.241619", None, "text_number", E),
    ("４１６６．２４１６１９", None, "text_number", E),
    ("1,234.5", None, "text_number", E),
    ("12.50", None, "text_number", E),
    ("1.5000000", None, "text_number", E),
    (".5", None, "text_number", E),
    ("5.", None, "text_number", E),
    ("123456789012345.123456", None, "text_number", E),
    # blank
    (None, D("0"), "blank", W),
    ("无", D("0"), "blank", W),
    ("／", D("0"), "blank", W),
    # errors
    ("1.1234567", None, "text_number", E),
    (XmlNumber("1.1234567"), None, "too_many_decimals", E),
    (0.1234567, None, "too_many_decimals", E),
    ("-1.5", None, "text_number", E),
    (-0.5, None, "negative", E),
    ("12元", None, "not_a_number", E),
    ("¥12", None, "not_a_number", E),
    ("1.2万", None, "not_a_number", E),
    (dt.date(2024, 1, 1), None, "not_a_number", E),
    ("1e-3", None, "not_a_number", E),
    (XmlNumber("1E+15"), None, "not_a_number", E),
    (Formula("=A1*2", 8332.483238), D("8332.483238"), "formula", W),
    (Formula("=A1*2", FormulaError("#REF!")), None, "formula", E),
]


@pytest.mark.parametrize(("raw", "value", "code", "severity"), MONEY_CASES)
def test_money(raw: object, value: object, code: str | None, severity: str | None) -> None:
    check(raw, "money", value, code, severity)


def test_money_hints() -> None:
    assert "6 位小数" in parse(XmlNumber("1.1234567"), "money").hint
    assert "0.30000000000000004" in parse(0.1 + 0.2, "money").hint
    assert "负数" in parse(-1, "money").hint
    assert "不会计入" in parse("12", "count").hint and "12" in parse("１２", "count").hint


# --- text ----------------------------------------------------------------------------------------

TEXT_CASES = [
    ("  某某镇人民政府 ", "某某镇人民政府", None, None),
    ("\u00a0第一行\n第二行\u3000", "第一行\n第二行", None, None),
    ("=1+2", "=1+2", None, None),
    ("12", "12", None, None),
    ("0012", "0012", None, None),
    (13800138000, "13800138000", "normalised", W),
    (13800138000.0, "13800138000", "normalised", W),
    (XmlNumber("13800138000"), "13800138000", "normalised", W),
    (XmlNumber("1.3800138E+10"), "13800138000", "normalised", W),
    (3.5, "3.5", "normalised", W),
    (XmlNumber("1.10101199001011E+17"), "110101199001011000", "normalised", W),
    (True, "TRUE", "normalised", W),
    (dt.datetime(2024, 3, 1), "2024-03-01", "normalised", W),
    (dt.datetime(2024, 3, 1, 8, 30), "2024-03-01 08:30:00", "normalised", W),
    (dt.date(2024, 3, 1), "2024-03-01", "normalised", W),
    (dt.time(8, 30), "08:30:00", "normalised", W),
    (None, None, "blank", W),
    ("", None, "blank", W),
    (" 无 ", None, "blank", W),
    ("/", None, "blank", W),
    (FormulaError("#N/A"), None, "formula", E),
    (Formula("=A1", "某某镇"), "某某镇", "formula", W),
    (Formula("=A1", None), None, "formula", E),
]


@pytest.mark.parametrize(("raw", "value", "code", "severity"), TEXT_CASES)
def test_text(raw: object, value: object, code: str | None, severity: str | None) -> None:
    check(raw, "text", value, code, severity)


def test_text_warns_of_digits_lost_by_excel() -> None:
    assert "文本格式" in parse(XmlNumber("1.10101199001011E+17"), "text").hint


# --- year ----------------------------------------------------------------------------------------

YEAR_CASES = [
    (2024, 2024, None, None),
    (2024.0, 2024, None, None),
    (XmlNumber("2024"), 2024, None, None),
    (2019, 2019, None, None),
    (2100, 2100, None, None),
    ("2024", None, "text_number", E),
    ("２０２４", None, "text_number", E),
    ("2024年", None, "text_number", E),
    (" 2024 年 ", None, "text_number", E),
    (None, None, "blank", W),
    ("/", None, "blank", W),
    (2018, None, "year_range", E),
    (2101, None, "year_range", E),
    (-2024, None, "year_range", E),
    (XmlNumber("1E+20"), None, "year_range", E),
    (2024.5, None, "fraction", E),
    ("二〇二四", None, "not_a_number", E),
    ("2024年度", None, "not_a_number", E),
    (dt.datetime(2024, 1, 1), None, "not_a_number", E),
    (True, None, "not_a_number", E),
    (Formula("=YEAR(TODAY())", 2024), 2024, "formula", W),
]


@pytest.mark.parametrize(("raw", "value", "code", "severity"), YEAR_CASES)
def test_year(raw: object, value: object, code: str | None, severity: str | None) -> None:
    check(raw, "year", value, code, severity)


def test_year_range_is_passed_in() -> None:
    assert parse(2000, "year").value == 2000  # default (2000, 2100)
    assert parse(2000, "year", year_range=(2019, 2100)).code == "year_range"
    assert "2019–2100" in parse(2000, "year", year_range=(2019, 2100)).hint


# --- credit code ---------------------------------------------------------------------------------

CREDIT_CASES = [
    *((code, code, None, None) for code in VALID_CODES),
    (" 91350100M000100Y43\u00a0", "91350100M000100Y43", None, None),
    ("91350100m000100y43", "91350100M000100Y43", "normalised", W),
    ("９１３５０１００Ｍ０００１００Ｙ４３", None, "credit_code", E),  # full width: no formula can tell
    (None, None, "blank", W),
    ("", None, "blank", W),
    ("无", None, "blank", W),
    ("91350100M000100Y4", None, "credit_code", E),
    ("91350100M000100Y433", None, "credit_code", E),
    ("91350100M000100Y44", None, "credit_code", E),
    ("91350100M000100Y34", None, "credit_code", E),
    ("91350100MO00100Y43", None, "credit_code", E),  # letter O
    ("91350100I000100Y43", None, "credit_code", E),  # letter I
    ("9135 0100M000100Y43", None, "credit_code", E),
    ("91350100-M000100Y4", None, "credit_code", E),
    (911100001000013406, None, "credit_code", E),  # a number: Excel keeps 15 digits
    (XmlNumber("9.11100001000013E+17"), None, "credit_code", E),
    (9.11100001000013e17, None, "credit_code", E),
    (True, None, "credit_code", E),
    (dt.date(2024, 1, 1), None, "credit_code", E),
    (FormulaError("#N/A"), None, "formula", E),
]


@pytest.mark.parametrize(("raw", "value", "code", "severity"), CREDIT_CASES)
def test_credit_code(raw: object, value: object, code: str | None, severity: str | None) -> None:
    check(raw, "credit_code", value, code, severity)


def test_credit_code_hints() -> None:
    assert "18 位" in parse("91350100M000100Y4", "credit_code").hint
    assert "O" in parse("91350100MO00100Y43", "credit_code").hint
    assert "校验位" in parse("91350100M000100Y44", "credit_code").hint
    assert "文本格式" in parse(911100001000013406, "credit_code").hint


@pytest.mark.parametrize("code", VALID_CODES)
def test_credit_code_ok_on_verified_codes(code: str) -> None:
    assert credit_code_ok(code)


@pytest.mark.parametrize(
    "code",
    ["", "91350100M000100Y4", "91350100M000100Y433", "91350100m000100y43", "91350100M000100Y44",
     "91350100MO00100Y43", "９１３５０１００Ｍ０００１００Ｙ４３", "11100000000013127E",
     "11100000000013217D"],
)  # fmt: skip
def test_credit_code_ok_rejects(code: str) -> None:
    assert not credit_code_ok(code)


ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@given(st.text(ALPHABET, min_size=17, max_size=17), st.integers(0, 17), st.integers(1, 30))
def test_credit_code_detects_any_single_substitution(body: str, at: int, shift: int) -> None:
    code = next(body + c for c in ALPHABET if credit_code_ok(body + c))
    assert [c for c in ALPHABET if credit_code_ok(body + c)] == [code[17]]
    wrong = ALPHABET[(ALPHABET.index(code[at]) + shift) % 31]
    assert not credit_code_ok(code[:at] + wrong + code[at + 1 :])


# --- blanks and API ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", " ", "\u00a0", "\u3000", "\n", *BLANK_TOKENS, " 无 "])
def test_is_blank(raw: object) -> None:
    assert is_blank(raw)


@pytest.mark.parametrize(
    "raw", [0, 0.0, "0", "x", XmlNumber("0"), FormulaError("#N/A"), Formula("=A1"), False]
)
def test_is_not_blank(raw: object) -> None:
    assert not is_blank(raw)


def test_unknown_kind_and_content_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="kind"):
        parse("1", "number")
    with pytest.raises(TypeError):
        parse(object(), "count")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse(object(), "text")  # type: ignore[arg-type]


def test_parsed_is_consistent() -> None:
    with pytest.raises(ValueError, match="together"):
        Parsed(1, "blank")
    with pytest.raises(ValueError, match="unknown"):
        Parsed(1, "nope", "warning")
    with pytest.raises(AttributeError):
        Parsed(1).value = 2  # type: ignore[misc]


# --- properties ----------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=10**15 - 1, places=6)
#: An xlsx number is a double: at most 15 significant digits survive (Excel keeps 15).
money_in_a_double = money.filter(lambda d: len(d.normalize().as_tuple().digits) <= 15)
counts = st.integers(0, 10**15 - 1)



@given(money_in_a_double)
def test_money_numeric_cell_round_trips(d: Decimal) -> None:
    for raw in (XmlNumber(str(d)), XmlNumber(f"{float(d):.17G}"), float(d)):
        got = parse(raw, "money")
        assert (got.value, got.code) == (d, None), raw


@given(money)
def test_money_as_text_is_refused_naming_the_number(d: Decimal) -> None:
    plain = format(d, "f")
    for text in (plain, format(d, ",f"), plain.translate(FULL), format(d, ",f").translate(FULL),
                 f"\u00a0+{plain} "):  # fmt: skip
        got = parse(text, "money")
        assert (got.value, got.code, got.severity) == (None, "text_number", E), text
        assert format(d.normalize(), "f").rstrip(".") in got.hint or not d, text


@given(counts)
def test_count_round_trips(n: int) -> None:
    for raw in (n, float(n), XmlNumber(str(n)), XmlNumber(f"{float(n):.17G}")):
        got = parse(raw, "count")
        assert (repr(got.value), got.code) == (repr(n), None), raw
    for text in (str(n), f"{n:,}", f"{n:,}".translate(FULL), f"{n}.0", f" {n} "):
        got = parse(text, "count")
        assert (got.value, got.code, got.severity) == (None, "text_number", E), text
        assert f"数字 {n}；" in got.hint + "；", text


@given(st.integers(-(10**15) + 1, 10**15 - 1))
def test_signed_count_round_trips(n: int) -> None:
    for raw in (n, float(n), XmlNumber(str(n))):
        assert parse(raw, "signed_count").value == n, raw
    for raw in (str(n), f"{n:,}".translate(FULL)):
        assert parse(raw, "signed_count").code == "text_number", raw


@given(st.text(), st.sampled_from(list(KINDS)))
def test_any_text_parses_without_raising(text: str, kind: str) -> None:
    got = parse(text, kind)
    assert got.code is None or got.code in CODES
    if got.is_error:
        assert got.value is None
    if kind == "text" and not is_blank(text):
        assert got.value == text.strip(SPACES)
    if kind in ("count", "signed_count", "money"):
        assert got.is_error or got.code == "blank"


def _policy(raw: object, kind: str, years: tuple[int, int]) -> Parsed:
    """The value policy without its shortcuts for plain integers and empty cells."""
    try:
        return values._parse(raw, KINDS[kind], years)  # type: ignore[arg-type]
    except values._Bad as bad:
        return Parsed(None, bad.code, "error", bad.hint)


numeric_texts = st.one_of(
    st.text("0123456789", max_size=18),
    st.text("0123456789٣²１ +-.eE", max_size=8),
    st.integers(0, 10**16).map(str),
)


@given(numeric_texts, st.sampled_from(list(KINDS)), st.sampled_from([(2000, 2100), (2019, 2030), (0, 9)]))
def test_the_shortcuts_give_what_the_policy_gives(text: str, kind: str, years: tuple[int, int]) -> None:
    """Plain integers (the commonest cell) and empty cells are answered from a table; the answer
    is the policy's, value (type and spelling), code, severity and hint, the first time and after."""
    for raw in (XmlNumber(text), None):
        expected = _policy(raw, kind, years)
        for _ in range(2):
            got = parse(raw, kind, year_range=years)
            assert (repr(got.value), got.code, got.severity, got.hint) == (
                repr(expected.value), expected.code, expected.severity, expected.hint)
