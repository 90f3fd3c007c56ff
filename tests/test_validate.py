"""``xlreport validate``: the examples pass, every rule catches its breakage, bad input is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import ENV, EXAMPLE_NAMES, EXAMPLES, example, get, modified, run_cli, write_json
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.checks.validate import previous_values, validate_document


def bump(doc: dict[str, Any], *keys: str, by: int = 1) -> dict[str, Any]:
    for key in keys:
        doc = modified(doc, key, get(doc, key) + by)
    return doc


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_published_examples_are_valid(name: str) -> None:
    proc = run_cli("validate", EXAMPLES / f"{name}.json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().endswith("通过。")


def test_cross_year_pair_as_published_passes() -> None:
    proc = run_cli(
        "validate", EXAMPLES / "pingtan_2022.json", "--previous", EXAMPLES / "pingtan_2021.json"
    )
    assert proc.returncode == 0, proc.stderr
    assert "警告" not in proc.stderr


# Each breakage changes the published 平潭 2021 report so that exactly one rule fails.
BREAKAGES = {
    "balance": (
        ("requests.new.natural_person", "requests.new.total"),
        {"checks.balance.natural_person", "checks.balance.total"},
    ),
    "results_total": (
        ("requests.results.granted.natural_person", "requests.results.granted.total"),
        {"checks.results_total.natural_person"},
    ),
    "row_total": (
        ("requests.results.withheld.state_secret.total",),
        {"checks.row_total.results.withheld.state_secret"},
    ),
    "appeals_total": (("appeals.review.total",), {"checks.appeals_total.review"}),
}


@pytest.mark.parametrize("rule_id", BREAKAGES)
def test_breaking_a_rule_fails_naming_rule_and_keys(tmp_path: Path, rule_id: str) -> None:
    keys, failing = BREAKAGES[rule_id]
    doc = bump(example("pingtan_2021"), *keys)
    report = tmp_path / "problems.json"
    proc = run_cli("validate", write_json(tmp_path / "r.json", doc), "--report", report)
    assert proc.returncode == 1, proc.stderr
    problems = json.loads(report.read_text("utf-8"))["problems"]
    assert {p["rule"] for p in problems} == {rule_id}
    assert all(p["severity"] == "error" for p in problems)
    assert len(problems) == len(failing)
    for problem in problems:
        assert set(keys) & set(problem["keys"]), problem
        assert problem["expected"] != problem["actual"]
        assert problem["message"] in proc.stderr


def test_results_total_message_names_table_row_column_and_values(tmp_path: Path) -> None:
    doc = bump(example("pingtan_2021"), "requests.results.total.natural_person", by=-6)
    result = validate_document(doc, spec_mod.builtin("2021"))
    messages = [p.message for p in result.problems if p.rule == "results_total"]
    assert messages == ["表三 三、本年度办理结果 / （七）总计，自然人：各项之和为 63，填报为 57"]


def test_carry_over_mismatch_between_years(tmp_path: Path) -> None:
    previous = bump(
        example("pingtan_2021"),
        "requests.carried_forward.natural_person",
        "requests.carried_forward.total",
        by=2,
    )
    report = tmp_path / "p.json"
    proc = run_cli(
        "validate", EXAMPLES / "pingtan_2022.json",
        "--previous", write_json(tmp_path / "prev.json", previous), "--report", report,
    )
    assert proc.returncode == 1
    problems = json.loads(report.read_text("utf-8"))["problems"]
    assert {p["rule"] for p in problems} == {"carry_over"}
    assert {tuple(p["keys"]) for p in problems} == {
        ("requests.carried_over.natural_person",), ("requests.carried_over.total",)
    }
    assert "上年报告“四、结转下年度继续办理”" in proc.stderr


def test_in_force_drift_is_a_warning(tmp_path: Path) -> None:
    previous = bump(example("pingtan_2021"), "proactive.normative_documents.in_force", by=-59)
    report = tmp_path / "p.json"
    proc = run_cli(
        "validate", EXAMPLES / "pingtan_2022.json",
        "--previous", write_json(tmp_path / "prev.json", previous), "--report", report,
    )
    assert proc.returncode == 0, proc.stderr
    (problem,) = json.loads(report.read_text("utf-8"))["problems"]
    assert problem["rule"] == "in_force" and problem["severity"] == "warning"
    assert problem["expected"] == 665 - 59 + 88 - 55 and problem["actual"] == 698
    assert "行政规范性文件" in problem["message"]


def test_previous_report_of_the_older_edition_still_checks_carry_over() -> None:
    prev_doc = example("sangdong_2020")
    prev = previous_values(prev_doc, spec_mod.builtin("2019"))
    doc = modified(example("pingtan_2021"), "requests.carried_over.other", 1)
    doc = modified(doc, "requests.carried_over.total", 1)
    result = validate_document(doc, spec_mod.builtin("2021"), prev=prev)
    assert {p.rule for p in result.errors} >= {"carry_over"}
    assert not [p for p in result.problems if p.rule == "in_force"]


def test_previous_report_of_the_wrong_year_is_refused() -> None:
    proc = run_cli(
        "validate", EXAMPLES / "pingtan_2021.json", "--previous", EXAMPLES / "pingtan_2022.json"
    )
    assert proc.returncode == 2
    assert "应使用 2020 年度的报告" in proc.stderr


def test_money_stays_exact(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    for name, amount in (("pingtan_2021", "24252.311082"), ("suqian_city_2023", "59237.2449")):
        proc = run_cli("validate", EXAMPLES / f"{name}.json", "-o", out)
        assert proc.returncode == 0, proc.stderr
        assert f'"amount": {amount}' in out.read_text("utf-8")
    doc = modified(example("pingtan_2021"), "proactive.fees.amount", Decimal("4166.241619"))
    proc = run_cli("validate", write_json(tmp_path / "r.json", doc), "-o", out)
    assert proc.returncode == 0
    assert '"amount": 4166.241619' in out.read_text("utf-8")
    assert json.loads(out.read_text("utf-8"), parse_float=Decimal)["proactive"]["fees"][
        "amount"
    ] == Decimal("4166.241619")


def test_money_with_more_than_six_decimals_is_an_error(tmp_path: Path) -> None:
    doc = modified(example("pingtan_2021"), "proactive.fees.amount", Decimal("1.1234567"))
    proc = run_cli("validate", write_json(tmp_path / "r.json", doc))
    assert proc.returncode == 1
    assert "最多保留 6 位小数" in proc.stderr and "1.1234567" in proc.stderr


def test_blank_cells_warn_compactly_and_totals_are_computed(tmp_path: Path) -> None:
    doc = example("pingtan_2021")
    for key in ("requests.new.commercial", "requests.new.research", "appeals.review.pending"):
        doc = modified(doc, key, None)
    for key in ("requests.new.total", "requests.results.total.natural_person"):
        doc = modified(doc, key, None)
    out = tmp_path / "out.json"
    proc = run_cli("validate", write_json(tmp_path / "r.json", doc), "-o", out)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("警告")]
    assert len(warnings) == 2, "one warning per table"
    assert "表三有 2 个空白单元格" in warnings[0] and "商业企业" in warnings[0]
    assert "表四有 1 个空白单元格" in warnings[1]
    completed = json.loads(out.read_text("utf-8"))
    assert completed["requests"]["new"]["total"] == 70
    assert completed["requests"]["results"]["total"]["natural_person"] == 63
    assert completed["requests"]["new"]["commercial"] == 0
    strict = run_cli("validate", tmp_path / "r.json", "--strict")
    assert strict.returncode == 1 and "不能留空" in strict.stderr


def test_required_unit_name(tmp_path: Path) -> None:
    doc = modified(example("pingtan_2021"), "unit.name", "  ")
    proc = run_cli("validate", write_json(tmp_path / "r.json", doc))
    assert proc.returncode == 1 and "填报单位" in proc.stderr


BAD_INPUT = {
    "malformed JSON": ('{"edition": "2021",', 2, "不是有效的 JSON：第 1 行"),
    "not an object": ("[1, 2, 3]", 2, "最外层应为对象"),
    "unknown edition": ('{"edition": "2030"}', 2, "不是内置版本"),
    "edition of another type": ('{"edition": 2021}', 2, "edition 应为字符串"),
    "not UTF-8": (b"\xff\xfe{", 2, "不是 UTF-8"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_unreadable_input_gives_one_chinese_line(tmp_path: Path, case: str) -> None:
    content, code, phrase = BAD_INPUT[case]
    path = tmp_path / "r.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    proc = run_cli("validate", path)
    assert proc.returncode == code
    assert phrase in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_string_in_a_count_cell_is_invalid_data(tmp_path: Path) -> None:
    doc = modified(example("pingtan_2021"), "requests.new.research", "12件")
    proc = run_cli("validate", write_json(tmp_path / "r.json", doc))
    assert proc.returncode == 1
    assert (
        "科研机构（requests.new.research）：填写的是“12件”，只填写数字，不要带单位或文字；"
        "应填写不小于 0 的整数"
    ) in proc.stderr


def test_unknown_member_and_wrong_edition_option(tmp_path: Path) -> None:
    doc = modified(example("pingtan_2021"), "proactive.procurement", {"projects": 1})
    proc = run_cli("validate", write_json(tmp_path / "r.json", doc))
    assert proc.returncode == 1 and "procurement" in proc.stderr
    proc = run_cli("validate", EXAMPLES / "pingtan_2021.json", "--edition", "2019")
    assert proc.returncode == 2 and "不一致" in proc.stderr


def test_whole_decimal_in_a_count_cell_is_an_integer() -> None:
    doc = modified(example("pingtan_2021"), "appeals.review.upheld", Decimal("1.0"))
    result = validate_document(doc, spec_mod.builtin("2021"))
    assert result.valid and result.values["appeals.review.upheld"] == 1


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("validate",), "缺少参数 报告.json"),
        (("validate", "x.json", "--foo"), "没有 --foo 这个选项"),
        (("nosuchcommand",), "没有 nosuchcommand 这个命令"),
        (("schema", "--edition", "1999"), "没有“1999”这个格式版本"),
    ],
)
def test_usage_mistakes_are_explained_in_chinese(args: tuple[str, ...], phrase: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert phrase in proc.stderr and "Traceback" not in proc.stderr


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.startswith("xlreport ")
    proc = run_cli("--help")
    assert proc.returncode == 0 and "校验上报格式的 JSON 报告" in proc.stdout


@pytest.mark.parametrize(
    "number", ["1" + "0" * 30, "1e400", "1" * 5000, "1e999999999", "-1e999999999"]
)
def test_numbers_no_spreadsheet_can_hold_are_refused(number: str, tmp_path: Path) -> None:
    text = (EXAMPLES / "pingtan_2021.json").read_text("utf-8")
    doc = report.loads(text)
    doc["requests"]["new"]["research"] = "PLACEHOLDER"
    path = tmp_path / "r.json"
    path.write_text(report.dumps(doc).replace('"PLACEHOLDER"', number), "utf-8")
    out = tmp_path / "out.json"
    proc = run_cli("validate", path, "-o", out, "--report", tmp_path / "p.json")
    assert proc.returncode == 1, proc.stderr
    assert "科研机构（requests.new.research）" in proc.stderr and "数字过大" in proc.stderr
    problems = report.load(tmp_path / "p.json")["problems"]
    assert [p["code"] for p in problems if p["keys"] == ["requests.new.research"]] == ["not_a_number"]
    assert not out.exists() or out.stat().st_size < 100_000


def test_money_with_more_digits_than_a_spreadsheet_keeps_is_refused(tmp_path: Path) -> None:
    doc = modified(example("pingtan_2021"), "proactive.fees.amount", Decimal("12345678901.123456"))
    proc = run_cli("validate", write_json(tmp_path / "r.json", doc))
    assert proc.returncode == 1 and "有效数字超过 15 位" in proc.stderr


# JSON that does not say one thing, or says what no workbook can hold: refused by every command
# that reads a report, naming the place (and nothing is written).
AMBIGUOUS = {
    "key written twice": (
        lambda text: text.replace('"natural_person": ', '"natural_person": 5, "natural_person": ', 1),
        "的键“natural_person”写了不止一次"),
    "top-level key twice": (lambda text: text.replace("{", '{"edition": "2021",', 1),
                            "最外层的键“edition”写了不止一次"),
    "NUL": (lambda text: text.replace('"name": "', '"name": "甲\\u0000', 1),
            "“unit.name”含有空字符"),
    "half a surrogate pair": (lambda text: text.replace('"name": "', '"name": "\\ud800', 1),
                              "“unit.name”含有不完整的 Unicode 字符"),
    "text longer than a cell": (
        lambda text: text.replace('"name": "', '"name": "' + "长" * 32_768, 1),
        "“unit.name”有 32785 个字符，超过了一个单元格最多能容纳的 32767 个"),
}


@pytest.mark.parametrize("case", AMBIGUOUS)
def test_ambiguous_json_is_refused_naming_the_place(tmp_path: Path, case: str) -> None:
    change, phrase = AMBIGUOUS[case]
    path = tmp_path / "r.json"
    path.write_text(change((EXAMPLES / "pingtan_2021.json").read_text("utf-8")), encoding="utf-8")
    for args in (["validate", path, "-o", tmp_path / "out.json"],
                 ["fill", path, "-o", tmp_path / "out.xlsx"],
                 ["merge", path, EXAMPLES / "pingtan_2022.json", "-o", tmp_path / "out.json"]):
        proc = run_cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert phrase in proc.stderr and "内部错误" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_the_same_key_in_different_objects_is_fine() -> None:
    doc = report.loads('{"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 1}, {"x": 1}]}')
    assert doc == {"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 1}, {"x": 1}]}
    assert report.loads('{"s": "\\ud83d\\ude00\\t\\n", "t": "' + "字" * 32_767 + '"}')["s"] == "😀\t\n"


def test_millions_of_empty_lists_are_refused_before_they_are_built(tmp_path: Path) -> None:
    """12 MB of ``[]`` under a note key: refused from a scan of the text, in little memory (the
    child's own peak, VmHWM)."""
    path = tmp_path / "注释.json"
    path.write_text('{"_comment": [' + ",".join(["[]"] * 4_000_000) + "]}", encoding="utf-8")
    code = (
        "import re, sys\n"
        "from pathlib import Path\n"
        "from xlreport.checks import report\n"
        "from xlreport.errors import UnreadableInput\n"
        "try:\n"
        "    report.load(Path(sys.argv[1]))\n"
        "except UnreadableInput as exc:\n"
        "    peak = re.search(r'VmHWM:\\s*(\\d+)', Path('/proc/self/status').read_text()).group(1)\n"
        "    print(exc.code, peak)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                          env=ENV, timeout=120, check=False)
    code_, peak = proc.stdout.split()
    assert code_ == "too_large", proc.stderr
    assert int(peak) < 150 * 1024, f"{peak} KB"
    proc = run_cli("validate", path)
    assert proc.returncode == 2 and "个列表或对象" in proc.stderr, proc.stderr


def test_a_long_narrative_full_of_commas_is_still_a_report(tmp_path: Path) -> None:
    doc = example("pingtan_2022")
    doc["_note"] = "，".join(["a,b"] * 8_000)
    path = write_json(tmp_path / "长.json", doc)
    assert report.load(path)["_note"] == doc["_note"]


def test_a_text_longer_than_a_cell_holds_is_refused_with_its_length() -> None:
    """The schema's maxLength (32767, what one cell holds) and the value policy say the same."""
    doc = {**example("pingtan_2021"), "narrative": {"overview": "甲" * 40000}}
    result = validate_document(doc, spec_mod.builtin("2021"))
    (problem,) = [p for p in result.problems if "narrative.overview" in p.keys]
    assert problem.is_error and "共 40000 字，一个单元格最多 32767 字" in problem.message
    assert not result.valid
