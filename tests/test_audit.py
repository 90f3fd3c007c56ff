"""``xlreport audit``: a folder of mixed published reports (web pages, Word, PDF, pasted text,
wrong files) read into collect's summary, with the narrative's mismatches."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from conftest import PUBLISHED, example, run_cli
from support import libreoffice
from support import published as pub
from test_collect import filled
from xlreport.checks.validate import validate_document
from xlreport.edition.resolve import for_document
from xlreport.workflows import audit, collect

HEADER = [head for head, _, _ in audit.AUDIT_COLUMNS]


def values(name: str, **changed: Any) -> tuple[Any, dict[str, Any]]:
    doc = example(name)
    spec = for_document(doc, None, None)
    return spec, {**validate_document(doc, spec).values, **changed}


def summary(out: Path) -> list[dict[str, str]]:
    with (out / collect.SUMMARY_CSV).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def problems(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / collect.PROBLEMS).read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Published reports of four units in four formats, one with a narrative that contradicts its
    tables, the seed's real pasted text, two files that are not reports and one that is garbage."""
    root = tmp_path_factory.mktemp("published")
    spec, v = values("pingtan_2021",
                     **{"narrative.overview": "本年度共收到政府信息公开申请 9999 件，未发生行政复议。"})
    (root / "平潭2021.html").write_text(pub.word_html(spec, v), encoding="utf-8")
    spec, v = values("pingtan_2022")
    (root / "平潭2022.md").write_text(pub.markdown(spec, v), encoding="utf-8")
    spec, v = values("suqian_city_2023")
    (root / "宿迁").mkdir()
    pub.docx(spec, v, root / "宿迁" / "宿迁2023.docx")
    (root / "桑垌2020.txt").write_text((PUBLISHED / "sangdong_2020.txt").read_text("utf-8"),
                                      encoding="utf-8")
    (root / "旧版.doc").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512)
    (root / "报表.xlsx").write_bytes(b"PK\x03\x04")
    (root / "乱码.html").write_bytes(bytes(range(256)) * 16)
    return root


@pytest.fixture(scope="module")
def audited(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("out")
    done = run_cli("audit", folder, "--out-dir", out, "--jobs", "2")
    return out, done


def test_every_file_gets_one_row_worst_first(audited: tuple[Path, Any]) -> None:
    out, done = audited
    assert done.returncode == 1, done.stderr  # the seed's misprinted rows are errors
    rows = summary(out)
    assert list(rows[0]) == HEADER
    by_file = {r["文件"]: r for r in rows}
    assert set(by_file) == {"平潭2021.html", "平潭2022.md", "宿迁/宿迁2023.docx", "桑垌2020.txt",
                            "旧版.doc", "报表.xlsx", "乱码.html"}
    assert [r["状态"] for r in rows] == sorted(
        (r["状态"] for r in rows), key=collect.STATUSES.index)
    assert {f: r["状态"] for f, r in by_file.items()} == {
        "乱码.html": "无法读取", "旧版.doc": "无法读取", "报表.xlsx": "无法读取",
        "桑垌2020.txt": "不通过", "平潭2021.html": "有警告", "平潭2022.md": "通过",
        "宿迁/宿迁2023.docx": "通过"}
    seed = by_file["桑垌2020.txt"]
    assert (seed["单位"], seed["年度"], seed["版本"], seed["错误数"]) == ("夏邑县桑垌乡人民政府", "2020",
                                                                     "2019", "4")
    assert "印有 8 个数，而这张表有 7 列" in seed["第一个错误"]
    assert by_file["旧版.doc"]["第一个错误"].startswith("不是已公开的报告：是旧版 Word 文档（.doc）")
    assert "xlreport collect" in by_file["报表.xlsx"]["第一个错误"]
    assert by_file["乱码.html"]["第一个错误"].startswith("“乱码.html”不是网页")
    assert "共 7 个文件：无法读取 3，不通过 1，有警告 1，通过 2；正文与统计表不符的 1 份" in done.stderr


def test_the_narrative_mismatches_have_their_own_columns(audited: tuple[Path, Any]) -> None:
    out, _ = audited
    rows = {r["文件"]: r for r in summary(out)}
    mismatched = rows["平潭2021.html"]
    assert mismatched["正文与表格不符数"] == "2"
    said = mismatched["正文与表格不符之处"].split("；请核对正文或统计表；")
    assert "称收到的申请为 9999 件" in said[0] and "称行政复议为 0 件" in said[1]
    assert mismatched["第一个警告"].startswith("一、总体情况：正文“本年度共收到政府信息公开申请 9999 件")
    assert all(r["正文与表格不符数"] == "0" for f, r in rows.items() if f != "平潭2021.html")


def test_valid_reports_are_written_and_every_problem_is_listed(audited: tuple[Path, Any]) -> None:
    out, _ = audited
    rows = {r["文件"]: r for r in summary(out)}
    written = {r["上报文件"] for r in rows.values() if r["上报文件"]}
    assert written == {p.name for p in out.glob("*.json")}
    assert len(written) == 3
    doc = json.loads((out / rows["平潭2022.md"]["上报文件"]).read_text("utf-8"))
    assert doc["source"]["format"] == "text" and doc["source"]["file"] == "平潭2022.md"
    lines = problems(out)
    reasons = {p["file"]: p.get("reason") for p in lines if p["code"] == "unreadable"}
    assert reasons == {"旧版.doc": "not_report", "报表.xlsx": "not_report", "乱码.html": "not_html"}
    assert sum(p["file"] == "桑垌2020.txt" and p["code"] == "count" for p in lines) == 4
    assert sum(p["code"] == "narrative" for p in lines) == 2


def test_the_workbook_summary_has_the_same_rows(audited: tuple[Path, Any]) -> None:
    out, _ = audited
    sheet = openpyxl.load_workbook(out / collect.SUMMARY_XLSX, read_only=True)["核对结果"]
    got = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert got[0] == HEADER
    assert got[1:] == [list(r.values()) for r in summary(out)]


def test_two_published_reports_of_one_unit_and_year_are_both_flagged(tmp_path: Path) -> None:
    spec, v = values("pingtan_2022")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.html").write_text(pub.word_html(spec, v), encoding="utf-8")
    (tmp_path / "in" / "b.txt").write_text(pub.pasted(spec, v), encoding="utf-8")
    done = audit.audit([tmp_path / "in"], tmp_path / "out", jobs=1)
    assert [r.status for r in done.rows] == ["不通过", "不通过"]
    assert all("还有 1 份报表" in r.first_error for r in done.rows)


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice is not installed")
def test_a_pdf_is_read_in_the_worker_pool_too(tmp_path: Path) -> None:
    spec, v = values("pingtan_2021")
    (tmp_path / "src").mkdir()
    docx = pub.docx(spec, v, tmp_path / "src" / "平潭.docx")
    (tmp_path / "in").mkdir()
    libreoffice.convert(docx, tmp_path / "in", "pdf")
    done = audit.audit([tmp_path / "in"], tmp_path / "out", jobs=1)
    (row,) = done.rows
    assert (row.file, row.status, row.year, row.errors) == ("平潭.pdf", "通过", 2021, 0)


def test_nothing_to_read_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = run_cli("audit", tmp_path / "empty", "--out-dir", tmp_path / "out")
    assert done.returncode == 2
    assert "没有找到要读取的文件（请指定已公开的报告所在的文件夹或文件）" in done.stderr


def test_collect_pairs_returns_with_last_years_published_reports(tmp_path: Path) -> None:
    """``collect --previous-dir`` takes last year's reports as published documents too."""
    folder, prev, out = tmp_path / "in", tmp_path / "prev", tmp_path / "out"
    folder.mkdir()
    prev.mkdir()
    filled(folder / "甲.xlsx", "pingtan_2022", unit="甲镇")
    filled(folder / "乙.xlsx", "pingtan_2022", unit="乙镇")
    spec, v = values("pingtan_2021", **{"unit.name": "甲镇"})
    (prev / "甲镇2021.html").write_text(pub.word_html(spec, v), encoding="utf-8")
    forward = dict(v, **{"unit.name": "乙镇", "requests.carried_forward.natural_person": 99,
                         "requests.carried_forward.total": 99})
    (prev / "乙镇2021.txt").write_text(pub.pasted(spec, forward), encoding="utf-8")
    done = run_cli("collect", folder, "--out-dir", out, "--previous-dir", prev)
    rows = {r["文件"]: r for r in summary(out)}
    assert rows["甲.xlsx"]["上年报告"] == "甲镇2021.html" and rows["甲.xlsx"]["状态"] == "通过"
    assert rows["乙.xlsx"]["上年报告"] == "乙镇2021.txt" and rows["乙.xlsx"]["状态"] == "不通过"
    assert any(p.get("rule") == "carry_over" for p in problems(out) if p["file"] == "乙.xlsx")
    assert "上年报告：找到 2 个单位" in done.stderr
