"""Reading filled workbooks: exact round trips, the value policy, saves by other programs, caches.

Every workbook is made here from a fresh template (``template.build``) and filled with openpyxl
through the defined names (no cached formula results, as openpyxl writes them).
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, example
from support import workbooks
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.checks.validate import check
from xlreport.checks.values import BLANK_TOKENS
from xlreport.workbook import template
from xlreport.workbook.reader import ReadResult, read_workbook
from xlreport.workflows.previous import load as previous

EDITIONS = ("2021", "2019")
CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    return {e: template.build(spec.builtin(e), folder / f"模板{e}.xlsx") for e in EDITIONS}


def inputs_of(doc: dict[str, Any], edition: str) -> dict[str, Any]:
    """The typed cells of a report (totals are computed, not typed; null is a blank cell)."""
    sp = spec.builtin(edition)
    flat = report.flatten(doc, sp)
    return {k: v for k, v in flat.items() if not sp.cell(k).computed and v is not None}


def without_source(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "source"}


def expected(edition: str, values: dict[str, Any]) -> dict[str, Any]:
    """What reading a workbook holding ``values`` must give: blanks 0, totals computed."""
    return check(spec.builtin(edition), values).document()


# --------------------------------------------------------------------------- round trips


def _credit_code(body: str) -> str:
    weights = [pow(3, i, 31) for i in range(17)]
    total = sum(CODE_CHARS.index(c) * w for c, w in zip(body, weights, strict=True))
    return body + CODE_CHARS[-total % 31]


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
NAME_CHARS = st.one_of(CJK, st.sampled_from("（）、·0123456789ABCabc"))
NAMES = st.text(NAME_CHARS, min_size=1, max_size=40).filter(
    lambda s: s.strip() == s and s not in BLANK_TOKENS
)
NARRATIVE = st.text(st.one_of(NAME_CHARS, st.sampled_from("，。；\n ")), min_size=1, max_size=300).map(
    str.strip
).filter(lambda s: s and s not in BLANK_TOKENS)
COUNTS = st.one_of(st.just(0), st.integers(0, 999_999_999), st.integers(0, 50))
MONEY = st.one_of(
    st.just(Decimal(0)),
    st.just(Decimal("4166.241619")),
    st.builds(
        lambda whole, frac, places: (Decimal(whole) + Decimal(frac % 10**places).scaleb(-places)).normalize()
        if places else Decimal(whole),
        st.integers(0, 999_999_999),
        st.integers(0, 999_999),
        st.integers(0, 6),
    ),
)


def _strategy(cell: spec.Cell, sp: spec.Spec) -> st.SearchStrategy[Any]:
    kind = cell.type
    if kind == "count":
        base: st.SearchStrategy[Any] = COUNTS
    elif kind == "signed_count":
        base = st.integers(-999_999_999, 999_999_999)
    elif kind == "money":
        base = MONEY
    elif kind == "year":
        base = st.integers(*sp.years)
    elif kind == "credit_code":
        base = st.text(st.sampled_from(CODE_CHARS), min_size=17, max_size=17).map(_credit_code)
    elif cell.key == "unit.name":
        base = NAMES
    else:
        base = NARRATIVE if cell.key.startswith("narrative") else NAMES
    return st.one_of(st.none(), base) if cell.optional else base


@st.composite
def reports(draw: st.DrawFn, edition: str) -> dict[str, Any]:
    """A random valid report's typed cells (every rule holds)."""
    sp = spec.builtin(edition)
    values = {c.key: draw(_strategy(c, sp)) for c in sp.inputs()}
    columns = [k.rsplit(".", 1)[1] for k in sp.cells if k.startswith("requests.new.")]
    for col in columns:
        if sp.cell(f"requests.new.{col}").computed:
            continue
        done = sum(
            values[c.key] for c in sp.inputs()
            if c.key.startswith("requests.results.") and c.key.endswith(f".{col}")
        )
        outgoing = done + values[f"requests.carried_forward.{col}"]
        values[f"requests.carried_over.{col}"] %= outgoing + 1
        values[f"requests.new.{col}"] = outgoing - values[f"requests.carried_over.{col}"]
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize("edition", EDITIONS)
def test_round_trip(edition: str, templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp(f"round{edition}")

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(reports(edition))
    def round_trip(values: dict[str, Any]) -> None:
        path = workbooks.fill(templates[edition], folder / "filled.xlsx", values)
        read = read_workbook(path)
        assert [p for p in read.problems if p.code != "blank"] == []
        assert read.valid
        want = expected(edition, values)
        assert report.dumps(without_source(read.document())) == report.dumps(want)

    round_trip()


@pytest.mark.parametrize("name", ["pingtan_2021", "pingtan_2022", "suqian_city_2023", "sangdong_2020"])
def test_examples_round_trip(name: str, templates: dict[str, Path], tmp_path: Path) -> None:
    doc = example(name)
    values = inputs_of(doc, doc["edition"])
    path = workbooks.fill(templates[doc["edition"]], tmp_path / f"{name}.xlsx", values)
    read = read_workbook(path)
    assert read.valid, [p.message for p in read.result.errors]
    got = report.flatten(read.document(), read.spec)
    for key, value in report.flatten(doc, read.spec).items():
        if value is not None:
            assert got[key] == value, key


def test_source_is_kept_apart_from_the_statistics(templates: dict[str, Path], tmp_path: Path) -> None:
    doc = example("pingtan_2021")
    path = workbooks.fill(templates["2021"], tmp_path / "平潭.xlsx", inputs_of(doc, "2021"))
    read = read_workbook(path)
    import hashlib

    out = read.document()
    assert out["edition"] == "2021"
    assert out["source"] == {
        "file": "平潭.xlsx",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "edition": "2021",
        "template_version": spec.builtin("2021").template_version,
        "generator": f"xlreport {__import__('xlreport').__version__}",
    }
    assert list(out)[-1] == "source"
    assert out["proactive"]["fees"]["amount"] == Decimal("24252.311082")


# --------------------------------------------------------------------------- value policy


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    """A valid 2021 report's typed cells (平潭 2021)."""
    return inputs_of(example("pingtan_2021"), "2021")


def _read_with(
    templates: dict[str, Path], folder: Path, base: dict[str, Any], changes: dict[str, Any]
) -> tuple[ReadResult, Path]:
    """Read the base report with ``changes`` typed in (None leaves a cell empty)."""
    values = {**base}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    path = workbooks.fill(templates["2021"], folder / "filled.xlsx", values)
    return read_workbook(path), path


NATURAL = "requests.new.natural_person"
FEES = "proactive.fees.amount"


@pytest.mark.parametrize(
    ("key", "typed", "value"),
    [
        (NATURAL, "64", 64),
        (NATURAL, " 64 ", 64),
        (NATURAL, "６４", 64),
        ("proactive.licensing.decisions", "2,293", 2293),
        (FEES, "24252.311082", Decimal("24252.311082")),
    ],
)
def test_numbers_stored_as_text_are_errors_naming_the_number(
    key: str, typed: str, value: Any, templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]
) -> None:
    """The workbook's totals leave text out, so read does too: an error that says what to type."""
    read, path = _read_with(templates, tmp_path, base, {key: typed})
    assert not read.valid
    (problem,) = read.result.errors
    sheet, ref = workbooks.cell_ref(path, key)
    assert (problem.code, problem.sheet, problem.cell, problem.keys) == ("text_number", sheet, ref, (key,))
    assert typed.strip() in problem.text and ref in problem.text and key in problem.text
    assert f"直接输入数字 {value}" in problem.text and "不会计入" in problem.text


@pytest.mark.parametrize("token", ["", "/", "-", "—", "无"])
def test_blanks_read_as_zero_with_one_warning_per_table(
    token: str, templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]
) -> None:
    changes = {NATURAL: token, "requests.results.granted.research": token, "appeals.review.upheld": token}
    base = {**base, NATURAL: 0, "requests.results.granted.natural_person": 0}
    base["requests.carried_forward.natural_person"] = 0
    values = {k: v for k, v in {**base, **changes}.items() if v != ""}
    path = workbooks.fill(templates["2021"], tmp_path / "blank.xlsx", values)
    read = read_workbook(path)
    blanks = [p for p in read.problems if p.code == "blank"]
    assert [(p.severity, p.sheet) for p in blanks] == [("warning", "三、依申请公开"), ("warning", "四、复议诉讼")]
    assert set(blanks[0].keys) >= {NATURAL, "requests.results.granted.research"}
    _, ref = workbooks.cell_ref(path, NATURAL)
    assert f"[{ref}]" in blanks[0].message
    assert read.result.values[NATURAL] == 0 and read.result.values["appeals.review.upheld"] == 0

    strict = read_workbook(path, strict=True)
    assert not strict.valid
    assert [p.severity for p in strict.problems if p.code == "blank"] == ["error", "error"]


@pytest.mark.parametrize(
    ("key", "typed", "code", "phrase"),
    [
        (NATURAL, "12件", "not_a_number", "不要带单位或文字"),
        (NATURAL, "abc", "not_a_number", "应填写一个数字"),
        (NATURAL, -3, "negative", "数量不能为负数"),
        (NATURAL, 1.5, "fraction", "数量应为整数"),
        (FEES, Decimal("1.1234567"), "too_many_decimals", "最多保留 6 位小数"),
        (FEES, "=1/0", "formula", "公式没有可用的结果"),
        (NATURAL, "=B6+1", "formula", "公式没有可用的结果"),
        ("unit.year", 1999, "year_range", "2021–2100"),
        ("unit.year", "二〇二一", "not_a_number", "应填写一个数字"),
        ("unit.code", "91350128MA3123456" + ("1" if _credit_code("91350128MA3123456")[-1] != "1"
                                            else "2"), "credit_code", "校验位"),
    ],
)
def test_bad_values_name_the_cell_the_value_and_the_fix(
    key: str, typed: Any, code: str, phrase: str,
    templates: dict[str, Path], tmp_path: Path, base: dict[str, Any],
) -> None:
    read, path = _read_with(templates, tmp_path, base, {key: typed})
    assert not read.valid
    (problem,) = read.result.errors
    sheet, ref = workbooks.cell_ref(path, key)
    assert (problem.code, problem.severity, problem.sheet, problem.cell, problem.keys) == (
        code, "error", sheet, ref, (key,)
    )
    cell = spec.builtin("2021").cell(key)
    shown = str(typed)
    for part in (sheet, ref, key, cell.row_path[-1], shown if not isinstance(typed, float) else "1.5",
                 phrase, "应填写"):
        assert part in problem.text, (part, problem.text)
    assert read.result.values[key] is None
    assert key in read.invalid


def test_a_bad_cell_takes_no_part_in_the_rules(
    templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]
) -> None:
    read, _ = _read_with(templates, tmp_path, base, {NATURAL: "六十四"})
    assert [p.code for p in read.result.errors] == ["not_a_number"]
    assert read.result.values["requests.new.total"] is None


def test_missing_unit_name_is_an_error(templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]) -> None:
    read, path = _read_with(templates, tmp_path, base, {"unit.name": None})
    (problem,) = read.result.errors
    sheet, ref = workbooks.cell_ref(path, "unit.name")
    assert (problem.code, problem.sheet, problem.cell) == ("required", sheet, ref)
    assert "填报单位" in problem.message


def test_a_blank_token_in_a_narrative_is_kept_as_typed(
    templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]
) -> None:
    read, _ = _read_with(templates, tmp_path, base, {"narrative.problems": "无", "narrative.overview": "  "})
    assert read.valid
    assert read.result.values["narrative.problems"] == "无"
    assert read.result.values["narrative.overview"] is None


def test_money_keeps_every_digit(templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]) -> None:
    for typed in (Decimal("4166.241619"), Decimal("0.000001"), Decimal("123456789.123456")):
        read, _ = _read_with(templates, tmp_path, base, {FEES: typed})
        amount = read.result.values[FEES]
        assert isinstance(amount, Decimal) and amount == Decimal(str(typed)), typed
        assert f'"amount": {typed}' in report.dumps(read.document())


def test_a_date_in_a_count_cell_is_not_read_as_a_number(
    templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]
) -> None:
    import datetime as dt

    read, _ = _read_with(templates, tmp_path, base, {NATURAL: dt.date(2024, 1, 5)})
    (problem,) = read.result.errors
    assert problem.code == "not_a_number" and "2024-01-05" in problem.message and "日期" in problem.message


# --------------------------------------------------------------------------- saves by other programs


def _libreoffice_like(xml: str) -> str:
    """What a LibreOffice save does to workbook.xml: very hidden → hidden, no workbook
    protection, defined names without quotes."""
    xml = xml.replace('state="veryHidden"', 'state="hidden"')
    xml = re.sub(r"<workbookProtection[^>]*/>", "", xml)
    return re.sub(r"(<definedName [^>]*>)'([^'!]+)'!", r"\1\2!", xml)


CUSTOM = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="KSOProductBuildVer">'
    "<vt:lpwstr>2052-11.1.0.14309</vt:lpwstr></property>"
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="3" name="ICV">'
    "<vt:lpwstr>ABC</vt:lpwstr></property>"
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="4" name="template_version">'
    "<vt:r8>1.0</vt:r8></property></Properties>"
)


@pytest.mark.parametrize("program", ["libreoffice", "wps", "reordered"])
def test_what_other_programs_do_on_save_is_tolerated(
    program: str, templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]
) -> None:
    filled = workbooks.fill(templates["2021"], tmp_path / "filled.xlsx", base)
    if program == "libreoffice":
        changes: dict[str, Any] = {"xl/workbook.xml": _libreoffice_like}
    elif program == "wps":
        changes = {"docProps/custom.xml": CUSTOM}
    else:
        changes = {"xl/workbook.xml": _reorder_sheets}
    saved = workbooks.patch(filled, tmp_path / "saved.xlsx", changes)
    if program == "libreoffice":
        assert ">'" not in _workbook_xml(saved) and 'state="hidden"' in _workbook_xml(saved)
    read = read_workbook(saved)
    assert read.valid
    assert without_source(read.document()) == without_source(read_workbook(filled).document())


def _workbook_xml(path: Path) -> str:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/workbook.xml").decode()


def _reorder_sheets(xml: str) -> str:
    sheets = re.findall(r"<sheet [^>]*/>", xml)
    return xml.replace("".join(sheets), "".join(reversed(sheets)))


# --------------------------------------------------------------------------- caches


def test_cached_results_are_never_trusted(
    templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]
) -> None:
    """A total whose cached result says one thing reads as its inputs say."""
    filled = workbooks.fill(templates["2021"], tmp_path / "filled.xlsx", base)
    sheet, ref = workbooks.cell_ref(filled, "requests.new.total")
    forged = workbooks.set_cached(filled, tmp_path / "forged.xlsx", workbooks.sheet_part(filled, sheet), ref,
                                  "999999")
    read = read_workbook(forged)
    assert read.valid
    assert read.result.values["requests.new.total"] == 70


# --------------------------------------------------------------------------- last year


def test_previous_report_as_json_or_workbook_across_editions(
    templates: dict[str, Path], tmp_path: Path, base: dict[str, Any]
) -> None:
    pingtan_2022 = example("pingtan_2022")
    this = workbooks.fill(templates["2021"], tmp_path / "2022.xlsx", inputs_of(pingtan_2022, "2021"))
    last_json = previous(EXAMPLES / "pingtan_2021.json")
    last_book = previous(workbooks.fill(templates["2021"], tmp_path / "2021.xlsx", base))
    assert last_json.values == last_book.values and last_book.year == 2021
    read = read_workbook(this, prev=last_book.values)
    assert read.valid and not [p for p in read.problems if p.rule == "carry_over"]

    broken = copy.deepcopy(last_book.values)
    broken["requests.carried_forward.natural_person"] += 1
    read = read_workbook(this, prev=broken)
    assert [p.rule for p in read.result.errors] == ["carry_over"]

    sangdong = previous(workbooks.fill(templates["2019"], tmp_path / "2020.xlsx",
                                       inputs_of(example("sangdong_2020"), "2019")))
    assert sangdong.year == 2020
    read = read_workbook(this, prev=sangdong.values)
    assert {p.rule for p in read.result.errors} == {"carry_over"}
