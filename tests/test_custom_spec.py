"""Custom editions: ``extends`` + ``changes`` resolve to a complete spec; mistakes name file and line."""

from __future__ import annotations

import json
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from conftest import REPO, example, run_cli, write_json
from support import libreoffice, workbooks
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.checks.validate import check
from xlreport.errors import SpecError
from xlreport.workbook.reader import read_workbook

PROVINCE = REPO / "docs" / "examples" / "province.yaml"
HEAD = 'extends: "2021"\nedition: "2021-x"\ntemplate_version: "1"\n'


def custom(tmp_path: Path, body: str, head: str = HEAD, name: str = "custom.yaml") -> Path:
    path = tmp_path / name
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return path


def test_the_documented_example_adds_a_row_and_a_rule() -> None:
    base, spec = spec_mod.builtin("2021"), spec_mod.load(PROVINCE)
    assert spec.edition == "2021-sheng" and spec.template_version == "1"
    added = [k for k in spec.cells if k not in base.cells]
    assert added == [f"requests.online.{c}" for c in (
        "natural_person", "commercial", "research", "public_interest", "legal_services", "other", "total"
    )]
    keys = list(spec.cells)
    assert keys.index("requests.online.natural_person") == keys.index("requests.new.total") + 1
    assert spec.cell("requests.online.total").parts[0] == "requests.online.natural_person"
    assert [r.id for r in spec.rules] == [*(r.id for r in base.rules), "online_within_new"]
    assert "checks.row_total.online" in {c.name for c in spec.checks()}, "inherited rules cover the row"
    assert spec.digest != base.digest
    assert spec.migrations == base.migrations, "the base's migration declarations are inherited"


def test_digest_is_that_of_the_resolved_data(tmp_path: Path) -> None:
    resolved = spec_mod.resolved(PROVINCE)
    assert "extends" not in resolved and "changes" not in resolved
    full = tmp_path / "full.yaml"
    full.write_text(yaml.safe_dump(resolved, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert spec_mod.load(full).digest == spec_mod.load(PROVINCE).digest
    same = custom(tmp_path, "", head="# 只改版本号\n" + HEAD)
    assert spec_mod.load(same).digest != spec_mod.builtin("2021").digest, "the edition is content"


def test_every_kind_of_change(tmp_path: Path) -> None:
    path = custom(tmp_path, """
        title: 改过的报告
        years: [2022, 2030]
        changes:
          - add_column: {key: online, label: 其中：网上申请}
            before: requests.total
          - add_row: {key: by_phone, label: 4.电话申请后撤回}
            under: requests.results.other
          - relabel_row: requests.results.other.misc
            label: 3.其他情形
          - relabel_column: requests.法人或其他组织
            label: 法人或者其他组织
          - remove_row: proactive.coercion
          - remove_column: appeals.pending
          - add_sheet:
              name: 附表
              title: 附表、本省补充
              blocks:
                - prefix: extra
                  rows: [{key: hotline, label: 热线电话受理件数}]
                  columns: [{key: count, label: 件数}]
            after: 四、复议诉讼
          - replace_rule:
              id: in_force
              severity: error
              description: 现行有效件数不为负
              check: proactive.regulations.in_force >= 0
          - remove_rule: carry_over
          - add_rule: {id: hotline, severity: warning, description: 热线, check: extra.hotline.count >= 0}
        """)
    spec = spec_mod.load(path)
    assert spec.title == "改过的报告" and spec.years == (2022, 2030)
    assert spec.cell("requests.new.online").col_label == "其中：网上申请"
    assert list(spec.cells).index("requests.new.online") == list(spec.cells).index("requests.new.total") - 1
    assert "requests.new.online" in spec.cell("requests.new.total").parts, "a sibling of 总计's parts"
    assert spec.cell("requests.results.other.by_phone.total").computed
    assert "requests.results.other.by_phone.natural_person" in spec.cell(
        "requests.results.total.natural_person").parts
    assert spec.cell("requests.results.other.misc.other").row_path[-1] == "3.其他情形"
    assert spec.cell("requests.new.commercial").col_path == ("法人或者其他组织", "商业企业")
    assert "proactive.coercion.decisions" not in spec.cells
    assert "appeals.review.pending" not in spec.cells
    assert [s.name for s in spec.sheets][-2:] == ["附表", "文字部分"]
    assert spec.cell("extra.hotline.count").table == "附表、本省补充"
    rules = {r.id: r for r in spec.rules}
    assert rules["in_force"].severity == "error" and "carry_over" not in rules
    assert list(rules)[-1] == "hotline"


def test_a_spec_may_extend_another_file(tmp_path: Path) -> None:
    custom(tmp_path, "changes:\n  - remove_row: proactive.coercion\n", name="a.yaml")
    child = custom(tmp_path, "changes:\n  - remove_row: narrative.problems\n",
                   head='extends: a.yaml\nedition: "b"\ntemplate_version: "2"\n', name="b.yaml")
    spec = spec_mod.load(child)
    assert spec.edition == "b" and spec.template_version == "2"
    assert not any(k.startswith(("proactive.coercion", "narrative.problems")) for k in spec.cells)


BROKEN = {
    "unknown path, with a suggestion": (
        "changes:\n  - add_row: {key: a, label: A}\n    after: requests.nw\n",
        "第 6 行（changes/0/after）：没有找到行“requests.nw”；是不是“requests.new”？",
    ),
    "ambiguous path": (
        "changes:\n  - add_column: {key: a, label: A}\n    after: proactive.decisions\n",
        "“proactive.decisions”在多个表格块中都有（第二十条第（五）项、第二十条第（六）项）",
    ),
    "misspelt item in an added node": (
        "changes:\n  - add_row: {key: a, lable: A}\n    after: requests.new\n",
        "第 5 行（changes/0/add_row）",
    ),
    "two operations in one change": (
        "changes:\n  - remove_row: proactive.coercion\n    remove_rule: balance\n",
        "第 5 行（changes/0）：每一项修改要写且只写一个操作",
    ),
    "a place that the operation does not take": (
        "changes:\n  - remove_row: proactive.coercion\n    after: proactive.penalty\n",
        "第 6 行（changes/0/after）：remove_row 不能和 after 一起写",
    ),
    "an added row without a place": (
        "changes:\n  - add_row: {key: a, label: A}\n",
        "第 5 行（changes/0）：add_row 要用 after、before 或 under",
    ),
    "a duplicate key": (
        "changes:\n  - add_row: {key: new, label: A}\n    after: requests.new\n",
        "第 5 行（changes/0/add_row/key）：同一位置已有键名为“new”的行",
    ),
    "an unknown rule": (
        "changes:\n  - remove_rule: balanse\n",
        "第 5 行（changes/0/remove_rule）：没有编号为“balanse”的规则",
    ),
    "an added rule with a wrong key": (
        "changes:\n  - add_rule: {id: r, severity: error, description: d, check: requests.nope.total = 0}\n",
        "第 5 行（changes/0/add_rule）：规则“r”有误：没有键名为“requests.nope.total”的单元格",
    ),
    "an inherited rule broken by a removal": (
        "changes:\n  - remove_row: requests.carried_forward\n",
        "custom.yaml 所扩展的规格文件 2021.yaml 第",
    ),
    "sheets in an extending spec": (
        "sheets: []\n",
        "第 4 行（sheets）：扩展其他版本（extends）的规格文件不能再写 sheets",
    ),
    "changes without extends": (
        None,
        "缺少配套的项",
    ),
    "an unknown base": (
        'extends: "2022"\nedition: "x"\ntemplate_version: "1"\n',
        "“2022”既不是内置版本（2021、2019），也找不到这个规格文件",
    ),
    "a cycle": (
        'extends: custom.yaml\nedition: "x"\ntemplate_version: "1"\n',
        "extends 循环引用了 custom.yaml",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_mistakes_are_located(tmp_path: Path, case: str) -> None:
    body, expected = BROKEN[case]
    if body is None:
        text = spec_mod.builtin_path("2021").read_text("utf-8") + "\nchanges: []\n"
        path = custom(tmp_path, text, head="")
    elif body.startswith("extends"):
        path = custom(tmp_path, body, head="")
    else:
        path = custom(tmp_path, body)
    with pytest.raises(SpecError) as err:
        spec_mod.load(path)
    assert expected in err.value.message
    result = run_cli("spec", "check", path)
    assert result.returncode == 2 and expected in result.stderr


def test_spec_export_prints_a_starting_point(tmp_path: Path) -> None:
    result = run_cli("spec", "export", "--edition", "2019")
    assert result.returncode == 0
    assert result.stdout == spec_mod.builtin_path("2019").read_text("utf-8"), "comments kept"
    result = run_cli("spec", "export", "--spec", PROVINCE)
    assert result.returncode == 0
    out = tmp_path / "full.yaml"
    out.write_text(result.stdout, encoding="utf-8")
    assert spec_mod.load(out).digest == spec_mod.load(PROVINCE).digest
    assert "requests.online.total" in spec_mod.load(out).cells


# --------------------------------------------------------------------------- end to end

ONLINE = {f"requests.online.{c}": n for c, n in zip(
    ("natural_person", "commercial", "research", "public_interest", "legal_services", "other"),
    (5, 1, 0, 0, 0, 0), strict=True)}


def _province_inputs(**extra: object) -> dict[str, object]:
    """The 平潭 2022 report's inputs plus the province's row (5 + 1 of 13 new requests online)."""
    spec = spec_mod.load(PROVINCE)
    flat = report.flatten(example("pingtan_2022"), spec)
    values = {k: v for k, v in flat.items() if v is not None and not spec.cell(k).computed}
    return {**values, **ONLINE, **extra}


@pytest.fixture(scope="module")
def province_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("province") / "省级模板.xlsx"
    result = run_cli("build", "--spec", PROVINCE, "-o", path)
    assert result.returncode == 0, result.stderr
    return path


def test_build_fill_read_validate_a_custom_edition(tmp_path: Path, province_template: Path) -> None:
    filled = workbooks.fill(province_template, tmp_path / "filled.xlsx", _province_inputs())
    out = tmp_path / "read.json"
    result = run_cli("read", filled, "--spec", PROVINCE, "-o", out)
    assert result.returncode == 0, result.stderr
    doc = report.loads(out.read_text("utf-8"))
    assert doc["edition"] == "2021-sheng"
    assert doc["requests"]["online"] == {**{k.rsplit(".", 1)[1]: v for k, v in ONLINE.items()},
                                         "total": 6}
    assert list(doc["requests"])[:2] == ["new", "online"], "in printed order"
    assert run_cli("validate", out, "--spec", PROVINCE).returncode == 0
    schema = json.loads(run_cli("schema", "--spec", PROVINCE).stdout)
    assert "online" in schema["properties"]["requests"]["required"]
    refused = run_cli("read", filled)
    assert refused.returncode == 2 and "2021-sheng" in refused.stderr


def test_the_added_rule_is_enforced(tmp_path: Path, province_template: Path) -> None:
    spec = spec_mod.load(PROVINCE)
    too_many = spec.cell("requests.new.commercial")
    new_commercial = report.flatten(example("pingtan_2022"), spec)[too_many.key]
    filled = workbooks.fill(province_template, tmp_path / "filled.xlsx",
                            _province_inputs(**{"requests.online.commercial": new_commercial + 2}))
    problems, out = tmp_path / "problems.json", tmp_path / "read.json"
    result = run_cli("read", filled, "--spec", PROVINCE, "--report", problems, "-o", out)
    assert result.returncode == 0, "a warning rule does not stop the report"
    found = [p for p in json.loads(problems.read_text("utf-8"))["problems"]
             if p["rule"] == "online_within_new"]
    assert [(p["severity"], p["keys"]) for p in found] == [
        ("warning", ["requests.online.commercial", "requests.new.commercial"]),
    ]
    assert f"表三 法人或其他组织/商业企业列：通过互联网提交的申请为 {new_commercial + 2}" in result.stderr
    result = run_cli("validate", out, "--spec", PROVINCE)
    assert result.returncode == 0 and "通过互联网提交的申请" in result.stderr


def test_fill_and_read_round_trip_a_custom_edition(tmp_path: Path) -> None:
    spec = spec_mod.load(PROVINCE)
    doc = check(spec, _province_inputs()).document()
    src = write_json(tmp_path / "r.json", doc)
    book, out = tmp_path / "filled.xlsx", tmp_path / "back.json"
    assert run_cli("fill", src, "--spec", PROVINCE, "-o", book).returncode == 0
    assert run_cli("read", book, "--spec", PROVINCE, "-o", out).returncode == 0
    back = report.loads(out.read_text("utf-8"))
    assert {k: v for k, v in back.items() if k != "source"} == doc


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice is not installed")
def test_a_custom_edition_typed_in_libreoffice(tmp_path: Path, province_template: Path) -> None:
    typed = {k: format(v, "f") if isinstance(v, Decimal) else str(v)
             for k, v in _province_inputs().items()}
    filled = tmp_path / "libreoffice.xlsx"
    cells = libreoffice.fill(province_template, filled, typed)
    assert cells["requests.online.natural_person"]["value"] == 5
    read = read_workbook(filled, spec=spec_mod.load(PROVINCE))
    assert read.valid, [p.message for p in read.result.errors]
    assert read.result.values["requests.online.total"] == 6
    assert read.source["edition"] == "2021-sheng"


# --------------------------------------------------------------------------- a new column, no rule edited

NEW_COLUMN = """
    changes:
      - add_column: {key: online, label: 其中：网上申请}
        before: requests.total
    """


def test_a_new_column_of_table_three_gets_every_column_check(tmp_path: Path) -> None:
    base, spec = spec_mod.builtin("2021"), spec_mod.load(custom(tmp_path, NEW_COLUMN))
    assert spec.rules == base.rules, "no rule is edited"
    checks = {c.name: c for c in spec.checks()}
    assert set(checks) - {c.name for c in base.checks()} == {
        "checks.balance.online", "checks.results_total.online", "checks.carry_over.online"}
    balance = checks["checks.balance.online"]
    assert balance.keys == ("requests.new.online", "requests.carried_over.online",
                            "requests.results.total.online", "requests.carried_forward.online")
    assert balance.message(spec, Decimal(4), Decimal(1)).startswith(
        "表三 其中：网上申请列：第一项加第二项之和为 4，第三项（七）总计加第四项之和为 1")
    results = checks["checks.results_total.online"]
    assert results.target == "requests.results.total.online"
    assert [t.key for t in results.rhs] == [
        k for k in spec.cells if k.startswith("requests.results.") and k.endswith(".online")
        and k != "requests.results.total.online"]
    assert [t.key for t in checks["checks.carry_over.online"].rhs] == ["requests.carried_forward.online"]
    row_totals = [c for c in spec.checks() if c.rule.id == "row_total"]
    assert len(row_totals) == len([c for c in base.checks() if c.rule.id == "row_total"])
    for row_total in row_totals:
        row = row_total.target.removesuffix(".total")
        assert f"{row}.online" in [t.key for t in row_total.rhs], row_total.name
    assert spec_mod.lint(custom(tmp_path, NEW_COLUMN, name="again.yaml"))[1] == []


def test_a_new_column_breaking_the_balance_is_refused_end_to_end(tmp_path: Path) -> None:
    path = custom(tmp_path, NEW_COLUMN)
    template = tmp_path / "模板.xlsx"
    built = run_cli("build", "--spec", path, "-o", template)
    assert built.returncode == 0, built.stderr
    spec = spec_mod.load(path)
    flat = report.flatten(example("pingtan_2022"), spec)
    values = {k: v for k, v in flat.items() if v is not None and not spec.cell(k).computed}
    online = {c.key: 0 for c in spec.inputs() if c.key.endswith(".online")}
    online |= {"requests.new.online": 4, "requests.results.granted.online": 1}
    filled = workbooks.fill(template, tmp_path / "填好.xlsx", {**values, **online})
    problems = tmp_path / "problems.json"
    result = run_cli("read", filled, "--spec", path, "--report", problems, "-o", tmp_path / "r.json")
    assert result.returncode == 1, result.stderr
    found = json.loads(problems.read_text("utf-8"))["problems"]
    errors = {(p["rule"], tuple(p["keys"])) for p in found if p["severity"] == "error"}
    assert errors == {
        ("balance", ("requests.new.online", "requests.carried_over.online",
                     "requests.results.total.online", "requests.carried_forward.online")),
        ("balance", ("requests.new.total", "requests.carried_over.total",
                     "requests.results.total.total", "requests.carried_forward.total")),
    }, "the new column and the total it is part of; nothing else"
    assert ("错误：表三 其中：网上申请列：第一项加第二项之和为 4，第三项（七）总计加第四项之和为 1，"
            "两者应相等") in result.stderr


def test_spec_check_warns_about_a_hand_list_that_misses_a_column(tmp_path: Path) -> None:
    hand = """
        changes:
          - add_column: {key: internet, label: 其中：网上申请}
            before: requests.total
          - add_rule:
              id: online_part
              severity: warning
              description: 表三每一列：本年新收不为负
              check: requests.new.{col} >= 0
              over: {col: [natural_person, commercial, research, public_interest, legal_services, other, total]}
        """
    path = custom(tmp_path, hand, name="省级.yaml")
    line = next(i for i, text in enumerate(path.read_text("utf-8").splitlines(), 1) if "over:" in text)
    result = run_cli("spec", "check", path)
    assert result.returncode == 0, "a warning, not an error"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("警告：")]
    assert warnings == [
        f"警告：规格文件 省级.yaml 第 {line} 行（changes/1/add_rule/over/col）：规则“online_part”的 over 中 col "
        "列出的 7 项只是表三的每一列中的一部分，缺少 internet（其中：网上申请），这条规则不检查它们；"
        "如果应当检查表三的每一列，请改写为 col: {columns: requests}，以后增加的列也会自动检查"
        "（有意只检查列出的几项时，可以不理会这条提示）"
    ], "the rule, the place it is written, the missing column, the fix"
    assert "规格文件正确" in result.stderr
    fixed = hand.replace("over: {col: [natural_person, commercial, research, public_interest, "
                         "legal_services, other, total]}", "over: {col: {columns: requests}}")
    result = run_cli("spec", "check", custom(tmp_path, fixed, name="改后.yaml"))
    assert result.returncode == 0 and "警告" not in result.stderr, result.stderr
    assert "展开为 61 项检查" in result.stderr, "one check more than the list: the new column"
    for documented in (PROVINCE, spec_mod.builtin_path("2021"), spec_mod.builtin_path("2019")):
        assert spec_mod.lint(Path(documented))[1] == [], documented
