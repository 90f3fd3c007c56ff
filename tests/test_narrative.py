"""The narrative's figures against the tables (xlreport.checks.narrative), for both editions and
through ``xlreport import`` of the seed's real published text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import PUBLISHED, example, run_cli
from xlreport.checks.narrative import narrative_problems
from xlreport.checks.validate import validate_document
from xlreport.edition import builtin
from xlreport.edition.resolve import for_document
from xlreport.edition.spec import Spec
from xlreport.published.reader import import_report

SEED = PUBLISHED / "sangdong_2020.txt"


def values(edition: str, **given: int) -> tuple[Spec, dict[str, Any]]:
    """A report of ``edition`` with every statistic 0 but the totals ``given`` (dots as __)."""
    spec = builtin(edition)
    out: dict[str, Any] = {k: 0 for k, c in spec.cells.items() if c.numeric}
    out.update({k.replace("__", "."): v for k, v in given.items()})
    return spec, out


def warned(spec: Spec, vals: dict[str, Any], text: str) -> list[str]:
    return [p.message for p in narrative_problems(spec, {**vals, "narrative.overview": text})]


REQUESTS = {"requests__new__total": 713, "requests__carried_over__total": 36,
            "requests__results__total__total": 740, "requests__carried_forward__total": 9}


@pytest.mark.parametrize("edition", ["2019", "2021"])
def test_figures_that_agree_with_the_tables_give_no_warning(edition: str) -> None:
    spec, vals = values(edition, **REQUESTS, appeals__review__total=2,
                        appeals__litigation_direct__total=1)
    text = ("（二）政府信息依申请公开办理情况\n"
            "2021年，共受理政府信息公开申请749件，其中本年新收713件，上年结转36件；办结740件，"
            "结转下年度继续办理9件。本年度发生行政复议2件、行政诉讼1件。")
    assert warned(spec, vals, text) == []


def test_the_issue_example_names_the_sentence_and_the_sum() -> None:
    spec, vals = values("2021", requests__new__total=713, requests__carried_over__total=36)
    got = warned(spec, vals, "本年度共受理政府信息公开申请 750 件。")
    assert got == ["一、总体情况：正文“本年度共受理政府信息公开申请 750 件”称收到的申请为 750 件，"
                   "表三为 713 + 36 = 749 件（本年新收 + 上年结转）；请核对正文或统计表"]


def test_received_may_mean_the_new_requests_only() -> None:
    spec, vals = values("2021", requests__new__total=713, requests__carried_over__total=36)
    assert warned(spec, vals, "共收到政府信息公开申请713件。") == []


@pytest.mark.parametrize(("text", "figure", "table"), [
    ("其中本年新收政府信息公开申请714件。", "本年新收的申请为 714 件", "表三为 713 件"),
    ("收到申请749件，上年结转35件。", "上年结转的申请为 35 件", "表三为 36 件"),
    ("全年办结政府信息公开申请741件。", "办理（办结）的申请为 741 件", "表三为 740 件"),
    ("申请结转下年度继续办理8件。", "结转下年度继续办理的申请为 8 件", "表三为 9 件"),
    ("全年共发生行政复议３件。", "行政复议为 3 件", "表四为 2 件"),
    ("被提起行政诉讼2起。", "行政诉讼为 2 件", "表四为 1 + 0 = 1 件"),
])
def test_each_figure_that_differs_is_a_warning(text: str, figure: str, table: str) -> None:
    spec, vals = values("2021", **REQUESTS, appeals__review__total=2,
                        appeals__litigation_direct__total=1)
    (got,) = warned(spec, vals, text)
    assert f"称{figure}，{table}" in got and text.rstrip("。") in got


@pytest.mark.parametrize(("edition", "text", "figure"), [
    ("2021", "本年度制发规章0件、行政规范性文件2件，废止行政规范性文件1件。",
     "行政规范性文件（本年制发件数）为 2 件"),
    ("2021", "现行有效行政规范性文件12件。", "行政规范性文件（现行有效件数）为 12 件"),
    ("2019", "本年新制作规范性文件2件，对外公开总数10件。", "规范性文件（本年新制作数量）为 2 件"),
])
def test_documents_of_table_two_follow_the_labels_of_the_edition(
    edition: str, text: str, figure: str
) -> None:
    spec, vals = values(edition)
    got = warned(spec, vals, text)
    assert got and f"称{figure}，表二为 0 件" in got[0]
    assert all("规章" not in g.split("称")[1].split("，")[0] for g in got)


def test_a_negated_clause_states_zero() -> None:
    spec, vals = values("2021", appeals__review__total=1, requests__new__total=3)
    got = warned(spec, vals, "本年度未发生政府信息公开行政复议、行政诉讼案件。本机关没有收到公开申请。")
    assert len(got) == 2
    assert "称行政复议为 0 件，表四为 1 件" in got[0]
    assert "称收到的申请为 0 件，表三为 3 + 0 = 3 件" in got[1]


@pytest.mark.parametrize("text", [
    "行政复议、行政诉讼5件。",                   # one number for two figures, no 各: not read
    "收到群众来信5件。",                         # not about 申请
    "召开会议25次，主动公开政府信息13条，办理12345热线30个。",
    "完善规章制度3件。",
    "无正当理由大量反复申请的，不予处理。",
    "申请均已办结，按时办结率100%。",
    "2021年收到行政复议申请1件。",               # 收到 and 行政复议 share the number
])
def test_statements_that_are_not_exact_are_left_alone(text: str) -> None:
    spec, vals = values("2021", appeals__review__total=2, requests__new__total=7)
    assert warned(spec, vals, text) == []


def test_each_gives_one_number_to_several_figures() -> None:
    spec, vals = values("2021", appeals__review__total=2)
    (got,) = warned(spec, vals, "行政复议、行政诉讼各2件。")
    assert "称行政诉讼为 2 件" in got


def test_a_blank_or_unreadable_figure_is_not_compared() -> None:
    spec, vals = values("2021")
    vals["requests.new.total"] = None
    assert warned(spec, vals, "共收到政府信息公开申请749件。") == []


def test_the_request_heading_gives_the_next_lines_their_subject() -> None:
    spec, vals = values("2021", requests__new__total=3)
    text = "（二）政府信息依申请公开办理情况\n本年度新收3件，办结4件。\n（三）平台建设\n办结4件。"
    (got,) = warned(spec, vals, text)
    assert "“本年度新收3件，办结4件”称办理（办结）的申请为 4 件" in got


# --------------------------------------------------------------------------- through import


def _seed(tmp_path: Path, old: str, new: str) -> Path:
    text = SEED.read_text("utf-8")
    assert old in text
    path = tmp_path / "sangdong_2020.txt"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_seed_says_it_received_no_requests_and_its_tables_agree() -> None:
    got = import_report(SEED)
    assert [p for p in got.problems if p.code == "narrative"] == []


def test_import_warns_when_the_seed_text_states_a_figure_its_tables_do_not_have(
    tmp_path: Path,
) -> None:
    path = _seed(tmp_path, "2020年度我乡没有接到群众主动要求公开政府信息的申请。",
                 "2020年度我乡共收到政府信息公开申请2件，均已办结。")
    got = import_report(path)
    (problem,) = [p for p in got.problems if p.code == "narrative"]
    assert problem.severity == "warning" and problem.actual == 2 and problem.expected == 0
    assert problem.keys == ("requests.new.total", "requests.carried_over.total")
    assert "正文“2020年度我乡共收到政府信息公开申请2件，均已办结”" in problem.message
    done = run_cli("import", path)
    assert done.returncode == 1  # the seed's misprinted rows stay errors
    assert "称收到的申请为 2 件，表三为 0 + 0 = 0 件" in done.stderr


def test_a_valid_report_with_a_narrative_mismatch_still_exits_0(tmp_path: Path) -> None:
    doc = example("pingtan_2021")
    spec = for_document(doc, None, None)
    vals = validate_document(doc, spec).values
    from support import published as pub

    vals["narrative.overview"] = "本年度共发生行政复议 99 件。"
    path = tmp_path / "pingtan_2021.html"
    path.write_text(pub.word_html(spec, vals), encoding="utf-8")
    done = run_cli("import", path, "-o", tmp_path / "out.json")
    assert done.returncode == 0, done.stderr
    assert "称行政复议为 99 件" in done.stderr


# --------------------------------------------------------------------------- through publish


def test_publish_checks_the_text_it_prints_against_the_tables(tmp_path: Path) -> None:
    text = tmp_path / "正文.md"
    text.write_text("## 一、总体情况\n本年度共收到政府信息公开申请 9999 件，未发生行政复议。\n\n"
                    "## 五、存在的主要问题及改进情况\n无\n\n## 六、其他需要报告的事项\n无\n", "utf-8")
    source = PUBLISHED.parent / "examples" / "pingtan_2021.json"
    out = tmp_path / "报告.html"
    done = run_cli("publish", source, "-o", out, "--text", text)
    assert done.returncode == 0, done.stderr  # a warning: the report is still published
    assert out.exists()
    assert "警告：一、总体情况：正文“本年度共收到政府信息公开申请 9999 件，未发生行政复议”称收到的申请为 9999 件" \
        in done.stderr
    spec = for_document(example("pingtan_2021"), None, None)
    review = validate_document(example("pingtan_2021"), spec).values["appeals.review.total"]
    assert ("称行政复议为 0 件" in done.stderr) == (review != 0)
