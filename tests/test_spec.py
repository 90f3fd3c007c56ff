"""The built-in editions match the official field lists cell by cell, and bad specs are refused."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ENV, FORMAT, run_cli
from xlreport import edition as spec_mod
from xlreport.edition.source import read as read_source
from xlreport.errors import SpecError

#: The field lists' type column → (spec type, optional).
TSV_TYPES = {
    "text, required": ("text", False),
    "text, optional": ("text", True),
    "integer year, required": ("year", False),
    "text (18 characters, GB 32100 check character), optional": ("credit_code", True),
    "integer >= 0": ("count", False),
    "integer >= 0, optional": ("count", True),
    "integer (may be negative)": ("signed_count", False),
    "decimal >= 0, 万元, exact (keep every digit typed)": ("money", False),
    "decimal >= 0, 万元, exact": ("money", False),
    "decimal >= 0, optional": ("money", True),
}


def field_rows(edition: str) -> list[dict[str, str]]:
    with (FORMAT / f"fields-{edition}.tsv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_every_cell_matches_the_official_field_list(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    rows = field_rows(edition)
    assert [r["key"] for r in rows] == list(spec.cells), "keys and their printed order"
    for row in rows:
        cell = spec.cell(row["key"])
        assert cell.table == row["table"], row["key"]
        assert cell.row_label == row["row"], row["key"]
        assert cell.col_label == row["column"], row["key"]
        assert (cell.type, cell.optional) == TSV_TYPES[row["type"]], row["key"]
        expected_parts = [p.strip() for p in row["computed_as"].split("+") if p.strip()]
        assert list(cell.parts) == expected_parts, row["key"]


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_rules_expand_over_every_column(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    names = [c.name for c in spec.checks()]
    assert len(names) == len(set(names))
    balance = [n for n in names if n.startswith("checks.balance.")]
    assert len(balance) == 7
    totals = [c for c in spec.checks() if c.rule.id == "row_total"]
    assert len(totals) == len([k for k in spec.cells if k.startswith("requests.")]) // 7
    assert {c.target for c in spec.checks() if c.rule.id == "appeals_total"} == {
        "appeals.review.total",
        "appeals.litigation_direct.total",
        "appeals.litigation_after_review.total",
    }


def test_editions_differ_as_documented() -> None:
    new, old = spec_mod.builtin("2021"), spec_mod.builtin("2019")
    assert new.cell("proactive.normative_documents.issued").row_path[-1] == "行政规范性文件"
    assert old.cell("proactive.normative_documents.made").row_path[-1] == "规范性文件"
    assert "proactive.procurement.amount" in old.cells and "proactive.procurement.amount" not in new.cells
    assert new.cell("proactive.fees.amount").type == "money"
    assert old.cell("proactive.licensing.change").type == "signed_count"
    assert {r.id for r in new.rules} - {r.id for r in old.rules} == {"in_force"}


def test_digest_ignores_comments_and_follows_content(tmp_path: Path) -> None:
    text = spec_mod.builtin_path("2021").read_text("utf-8")
    commented = tmp_path / "a.yaml"
    commented.write_text("# 注释\n" + text, encoding="utf-8")
    assert spec_mod.load(commented).digest == spec_mod.builtin("2021").digest
    relabelled = tmp_path / "b.yaml"
    relabelled.write_text(text.replace("label: 规章", "label: 规章（含）"), encoding="utf-8")
    assert spec_mod.load(relabelled).digest != spec_mod.builtin("2021").digest


def _broken(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(spec_mod.builtin_path("2021").read_text("utf-8"))
    edit(data)
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _rule(data: dict, rule_id: str) -> dict:
    return next(r for r in data["rules"] if r["id"] == rule_id)


BROKEN = {
    "unknown key in a rule": (
        lambda d: _rule(d, "balance").update(check="requests.nw.{col} = requests.new.{col}"),
        "没有键名为“requests.nw.natural_person”的单元格",
    ),
    "placeholder without values": (
        lambda d: _rule(d, "balance").update(over={}),
        "over",
    ),
    "set at an unknown position": (
        lambda d: _rule(d, "balance").update(over={"col": {"columns": "request"}}),
        "规则“balance”有误：over 中 col 的取值 {columns: request}：没有找到列的位置“request”；是不是“requests”？",
    ),
    "set naming rows and columns at once": (
        lambda d: _rule(d, "balance").update(over={"col": {"columns": "requests", "rows": "requests"}}),
        "rules/0/over/col",
    ),
    "set with a misspelt item": (
        lambda d: _rule(d, "balance").update(over={"col": {"columns": "requests", "skip_total": True}}),
        "rules/0/over/col",
    ),
    "duplicate cell key": (
        lambda d: d["sheets"][1]["blocks"][0]["rows"].append({"key": "regulations", "label": "规章"}),
        "单元格键名“proactive.regulations.issued”重复",
    ),
    "duplicate rule id": (
        lambda d: d["rules"].append(dict(_rule(d, "balance"))),
        "规则编号“balance”重复",
    ),
    "unknown field in a node": (
        lambda d: d["sheets"][0]["blocks"][0]["rows"][0].update(lable="x"),
        "有不认识的项",
    ),
    "unknown type": (
        lambda d: d["sheets"][0]["blocks"][0]["rows"][0].update(type="integer"),
        "sheets/0/blocks/0/rows/0/type",
    ),
    "totals pattern that matches nothing": (
        lambda d: _rule(d, "appeals_total").update(totals="appeals.*.sum"),
        "没有匹配到任何总计单元格",
    ),
    "text cell in arithmetic": (
        lambda d: _rule(d, "balance").update(check="unit.name = requests.new.{col}"),
        "不是数字单元格",
    ),
    "malformed expression": (
        lambda d: _rule(d, "balance").update(check="requests.new.{col} + - requests.new.{col} = 0"),
        "连续的运算符",
    ),
    "comparison in the wrong place": (
        lambda d: _rule(d, "balance").update(check="requests.new.{col} + = requests.new.{col}"),
        "比较符号的位置不对",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_spec_is_refused_with_file_and_place(tmp_path: Path, case: str) -> None:
    edit, phrase = BROKEN[case]
    path = _broken(tmp_path, edit)
    with pytest.raises(SpecError) as info:
        spec_mod.load(path)
    message = str(info.value)
    assert "custom.yaml 第" in message and "行" in message
    assert phrase in message
    proc = run_cli("spec", "check", path)
    assert proc.returncode == 2
    assert phrase in proc.stderr and "Traceback" not in proc.stderr


def test_spec_error_points_at_the_right_line(tmp_path: Path) -> None:
    text = spec_mod.builtin_path("2021").read_text("utf-8")
    bad = text.replace("  - id: row_total\n", "  - id: row_total\n    colour: red\n")
    path = tmp_path / "custom.yaml"
    path.write_text(bad, encoding="utf-8")
    line = bad.splitlines().index("  - id: row_total") + 1
    with pytest.raises(SpecError, match=f"第 {line} 行"):
        spec_mod.load(path)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("edition: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match="不是有效的 YAML"):
        spec_mod.load(path)
    with pytest.raises(SpecError, match="找不到规格文件"):
        spec_mod.load(tmp_path / "missing.yaml")


def test_spec_check_accepts_the_builtin_editions() -> None:
    for edition in spec_mod.BUILTIN_EDITIONS:
        proc = run_cli("spec", "check", spec_mod.builtin_path(edition))
        assert proc.returncode == 0, proc.stderr
        assert f"{edition} 年版" in proc.stderr and "警告" not in proc.stderr


def _bomb(levels: int = 9) -> str:
    """A "billion laughs" spec: every level is nine aliases of the one before."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


SPEC_BOMBS = {
    "billion laughs": (_bomb(), "展开别名后超过"),
    "many aliases": ("a: &a 1\nb: [" + ", ".join(["*a"] * 60) + "]\n", "别名（*名称）超过 50 个"),
    "alias inside itself": ("a: &a [1, *a]\n", "循环引用"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "嵌套超过 32 层"),
    "too large": ("# " + "x" * (1024 * 1024) + "\n", "太大"),
}


@pytest.mark.parametrize("case", SPEC_BOMBS)
def test_spec_bombs_are_refused_before_they_are_built(tmp_path: Path, case: str) -> None:
    text, phrase = SPEC_BOMBS[case]
    path = tmp_path / "炸弹.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=re.escape(phrase)):
        spec_mod.load(path)
    for args in (["spec", "check", path], ["build", "--spec", path, "-o", tmp_path / "t.xlsx"]):
        proc = run_cli(*args, timeout=60)
        assert proc.returncode == 2 and phrase in proc.stderr, proc.stderr
        assert "内部错误" not in proc.stderr


def test_the_billion_laughs_spec_costs_little_memory(tmp_path: Path) -> None:
    """Refused within 100 MB (the whole process, Python and the libraries included).  The peak is
    the process's own (VmHWM): ``ru_maxrss`` would carry over the peak of the forking parent."""
    path = tmp_path / "炸弹.yaml"
    path.write_text(_bomb(), encoding="utf-8")
    code = (
        "import re, sys\n"
        "from pathlib import Path\n"
        "from xlreport.edition import load\n"
        "from xlreport.errors import SpecError\n"
        "try:\n"
        "    load(Path(sys.argv[1]))\n"
        "except SpecError:\n"
        "    status = Path('/proc/self/status').read_text()\n"
        "    print(re.search(r'VmHWM:\\s*(\\d+)', status).group(1))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                          env=ENV, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr
    assert int(proc.stdout) < 100 * 1024, f"{proc.stdout} KB"


def test_anchors_and_a_few_aliases_are_still_allowed(tmp_path: Path) -> None:
    text = spec_mod.builtin_path("2021").read_text("utf-8")
    text = text.replace("edition:", "x-note: &note 同一段说明\nx-again: *note\nedition:", 1)
    path = tmp_path / "别名.yaml"
    path.write_text(text, encoding="utf-8")
    data, _ = read_source(path)
    assert data["x-again"] == "同一段说明"
