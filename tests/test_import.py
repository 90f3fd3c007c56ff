"""``xlreport import``: published reports (HTML, DOCX, PDF, pasted text, Markdown) back into data.

Round trips go data → document (tests/support/published.py, in the shapes real reports come in)
→ import → the same values; the seed's real published text must import to its example with
exactly the rows it misprints reported; messy and hostile inputs are read exactly or refused.
"""

from __future__ import annotations

import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE_NAMES, PUBLISHED, example, run_cli, write_json
from support import libreoffice
from support import published as pub
from xlreport.checks.validate import validate_document
from xlreport.edition import builtin
from xlreport.edition.resolve import for_document
from xlreport.edition.spec import Spec
from xlreport.published.document import tables
from xlreport.published.mapping import printed_tables
from xlreport.published.reader import import_report
from xlreport.published.text import label, value

SEED = PUBLISHED / "sangdong_2020.txt"
WRITERS = {
    "html": lambda spec, v, p: p.write_text(pub.word_html(spec, v), encoding="utf-8"),
    "txt": lambda spec, v, p: p.write_text(pub.pasted(spec, v), encoding="utf-8"),
    "spaced.txt": lambda spec, v, p: p.write_text(pub.spaced(spec, v), encoding="utf-8"),
    "md": lambda spec, v, p: p.write_text(pub.markdown(spec, v), encoding="utf-8"),
    "docx": lambda spec, v, p: pub.docx(spec, v, p),
}


def statistics(spec: Spec, values: dict[str, Any]) -> dict[str, Any]:
    return {k: values.get(k) for k, c in spec.cells.items() if c.numeric}


def expected(name: str) -> tuple[Spec, dict[str, Any]]:
    doc = example(name)
    spec = for_document(doc, None, None)
    return spec, validate_document(doc, spec).values


def write(kind: str, spec: Spec, values: dict[str, Any], path: Path) -> Path:
    WRITERS[kind](spec, values, path)
    return path


# --------------------------------------------------------------------------- the seed


def test_seed_imports_to_its_example_with_each_misprinted_row_an_error() -> None:
    spec, want = expected("sangdong_2020")
    got = import_report(SEED)
    errors = [(p.code, p.extra["where"]["line"]) for p in got.result.errors]
    # 表三 (六)(七) and 四 print 8 numbers for 7 columns; 表四 prints 16 for 15 (lines 90-92, 99)
    assert errors == [("count", 90), ("count", 91), ("count", 92), ("count", 99)]
    assert "16 个数，而这张表有 15 列" in got.result.errors[-1].message
    bad = {k for p in got.result.errors for k in p.keys}
    assert len(bad) == 3 * 7 + 15
    assert all(got.result.values[k] is None for k in bad)
    same = {k: v for k, v in statistics(spec, want).items() if k not in bad}
    assert {k: got.result.values[k] for k in same} == same
    assert got.result.values["unit.name"] == "夏邑县桑垌乡人民政府"
    assert got.result.values["unit.year"] == 2020
    assert got.spec.edition == "2019"
    assert got.result.values["narrative.other_matters"] == "无"
    assert got.result.values["narrative.overview"].startswith("(一) 主动公开政府信息的情况")


def test_seed_on_the_command_line_exits_1_and_reports_where_each_value_was_found(
    tmp_path: Path,
) -> None:
    report = tmp_path / "problems.json"
    done = run_cli("import", SEED, "--report", report)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "表四（第 99 行）：印有 16 个数，而这张表有 15 列" in done.stderr
    summary = json.loads(report.read_text("utf-8"))
    assert summary["errors"] == 4 and summary["source"]["format"] == "text"
    located = {x["key"]: x for x in summary["located"]}
    assert located["requests.new.natural_person"] == {
        "key": "requests.new.natural_person", "text": "0", "format": "text", "line": 70, "column": 3}
    assert summary["problems"][0]["where"] == {"format": "text", "line": 90}


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_example_round_trips_through_every_document_shape(
    tmp_path: Path, name: str, kind: str
) -> None:
    spec, want = expected(name)
    path = write(kind, spec, want, tmp_path / f"{name}.{kind}")
    got = import_report(path)
    assert got.problems == []
    assert got.spec.edition == spec.edition
    assert statistics(spec, got.result.values) == statistics(spec, want)
    assert got.result.values["unit.name"] == want["unit.name"]
    assert got.result.values["unit.year"] == want["unit.year"]


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice is not installed")
@pytest.mark.parametrize("name", ["pingtan_2021", "sangdong_2020"])
def test_a_pdf_printed_by_libreoffice_round_trips_with_tables_across_pages(
    tmp_path: Path, name: str
) -> None:
    spec, want = expected(name)
    pdf = libreoffice.convert(write("docx", spec, want, tmp_path / f"{name}.docx"), tmp_path, "pdf")
    report = tmp_path / "problems.json"
    done = run_cli("import", pdf, "-o", tmp_path / "out.json", "--report", report)
    assert done.returncode == 0, done.stderr
    got = json.loads((tmp_path / "out.json").read_text("utf-8"), parse_float=Decimal)
    assert got["source"]["format"] == "pdf"
    back = validate_document({k: v for k, v in got.items() if k != "source"}, spec).values
    assert statistics(spec, back) == statistics(spec, want)
    pages = {x.get("page") for x in json.loads(report.read_text("utf-8"))["located"]}
    assert len(pages) >= 2  # the tables really do cross pages


def _reports(edition: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = builtin(edition)
    inputs = [c for c in spec.inputs() if c.numeric]
    kinds = {
        "count": st.integers(0, 10**7),
        "signed_count": st.integers(-(10**5), 10**5),
        "money": st.decimals(min_value=0, max_value=10**8, places=6, allow_nan=False,
                             allow_infinity=False),
    }
    cells = st.fixed_dictionaries({c.key: kinds[c.type] for c in inputs})
    unit = st.sampled_from(["夏邑县桑垌乡人民政府", "平潭综合实验区管委会", "某某市 某某局"])
    year = st.integers(*spec.years).filter(lambda y: y <= 2100)
    return st.builds(lambda v, u, y: {**pub.complete(spec, v), "unit.name": u, "unit.year": y},
                     cells, unit, year)


@pytest.mark.parametrize("kind", ["html", "txt", "md", "docx"])
@pytest.mark.parametrize("edition", ["2021", "2019"])
def test_random_reports_round_trip(tmp_path_factory: Any, edition: str, kind: str) -> None:
    spec = builtin(edition)

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_reports(edition))
    def check(values: dict[str, Any]) -> None:
        path = write(kind, spec, values, tmp_path_factory.mktemp("r") / f"r.{kind}")
        got = import_report(path)
        # random inputs break the balance rules; every other problem would be the importer's
        assert [p.message for p in got.problems if p.code != "rule"] == []
        assert statistics(spec, got.result.values) == statistics(spec, values)
        assert got.result.values["unit.name"] == values["unit.name"].replace(" ", "")

    check()


# --------------------------------------------------------------------------- messy variants


def _html(name: str = "pingtan_2021") -> tuple[Spec, dict[str, Any], str]:
    spec, want = expected(name)
    return spec, want, pub.word_html(spec, want)


def test_a_table_split_in_two_by_a_page_break_imports(tmp_path: Path) -> None:
    spec, want, page = _html()
    cut = "<tr style='height:20.0pt'>\n<td rowspan=5"  # (五) 不予处理 starts a new part
    assert page.count(cut) == 1
    page = page.replace(cut, "</tbody></table><p>第 2 页</p><table border=1><tbody>" + cut)
    got = import_report(_save(tmp_path / "split.html", page))
    assert got.problems == []
    assert statistics(spec, got.result.values) == statistics(spec, want)


def test_a_row_with_one_number_too_many_is_an_error_and_its_cells_stay_blank(
    tmp_path: Path,
) -> None:
    _spec, _want, page = _html()
    rows = page.split("</tr>")
    [i] = [i for i, row in enumerate(rows) if "行政许可" in re.sub(r"<[^>]+>|\s", "", row)]
    rows[i] += "<td><p class=MsoNormal><span>7</span></p></td>\n"
    page = "</tr>".join(rows)
    got = import_report(_save(tmp_path / "extra.html", page))
    [error] = got.result.errors
    assert error.code == "count"
    assert error.message.startswith(
        "表二 第二十条第（五）项 行政许可（第 2 个表格第 3 行）：印有 2 个数，而这张表有 1 列")
    assert got.result.values["proactive.licensing.decisions"] is None


def test_two_tables_claiming_to_be_table_three_are_an_error_for_every_row(tmp_path: Path) -> None:
    spec, _want, page = _html()
    start = page.index("<table class=MsoNormalTable", page.index("三、收到和处理"))
    end = page.index("</table>", start) + len("</table>")
    page = page[:end] + page[start:end] + page[end:]
    got = import_report(_save(tmp_path / "twice.html", page))
    twice = [p for p in got.result.errors if p.code == "twice"]
    assert len(twice) == len(printed_tables(spec)[4].rows)
    assert all(got.result.values[k] is None for p in twice for k in p.keys)
    assert "出现了 2 次" in twice[0].message


def test_a_row_label_matching_nothing_is_named_and_its_row_is_missing(tmp_path: Path) -> None:
    spec, want = expected("pingtan_2021")
    text = pub.pasted(spec, want).replace("行政强制\t", "行政检查\t", 1)
    got = import_report(_save(tmp_path / "label.txt", text))
    codes = sorted(p.code for p in got.result.errors)
    assert codes == ["table_missing", "unmatched"]
    assert any("“行政检查”对应不上" in p.message for p in got.result.errors)
    assert got.result.values["proactive.coercion.decisions"] is None


def test_full_width_digits_and_thousands_separators_are_read_with_a_warning(
    tmp_path: Path,
) -> None:
    spec, want = expected("suqian_city_2023")
    text = pub.pasted(spec, want).replace("\t1808595\n", "\t1,808,595\n").replace("\t11\n", "\t１１\n")
    got = import_report(_save(tmp_path / "wide.txt", text))
    notes = sorted(p.message.split("：")[-1] for p in got.result.warnings)
    assert notes == ["“1,808,595”含千分位逗号，已按 1808595 读取", "“１１”含全角数字，已按 11 读取"]
    assert statistics(spec, got.result.values) == statistics(spec, want)


def test_blank_marks_are_blank_cells(tmp_path: Path) -> None:
    spec, want = expected("pingtan_2021")
    text = pub.pasted(spec, want).replace("规章\t0\t0\t0", "规章\t/\t—\t无")
    got = import_report(_save(tmp_path / "blank.txt", text))
    [warning] = got.result.warnings
    assert warning.code == "blank" and "规章" in warning.message
    strict = run_cli("import", tmp_path / "blank.txt", "--strict")
    assert strict.returncode == 1


def test_a_label_broken_across_lines_of_pasted_text_is_joined(tmp_path: Path) -> None:
    spec, want = expected("pingtan_2022")
    text = pub.pasted(spec, want).replace("（二）部分公开（区分处理的，", "（二）部分公开（区分处理的，\n", 1)
    got = import_report(_save(tmp_path / "broken.txt", text))
    assert got.problems == []
    assert statistics(spec, got.result.values) == statistics(spec, want)


def test_labels_are_compared_in_one_form() -> None:
    assert label("（三）不予公开 1．属于国家 秘密") == label("(三)不予公开1.属于国家秘密")
    assert label("3、危及\u201c三安全一稳定\u201d") == label('3.危及"三安全一稳定"')
    assert label("行政规范性文件") == label("规范性文件")
    assert value("１２") is not None and value("12件") is None and value("1 2") is None


def test_unit_and_year_come_from_the_options_when_the_title_is_missing(tmp_path: Path) -> None:
    spec, want = expected("pingtan_2021")
    text = pub.pasted(spec, want).split("\n", 1)[1]
    out = tmp_path / "out.json"
    done = run_cli("import", _save(tmp_path / "t.txt", text), "--unit", "某局", "--year", "2021",
                   "-o", out)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text("utf-8"))["unit"]["name"] == "某局"
    without = run_cli("import", tmp_path / "t.txt")
    assert without.returncode == 1 and "--unit" in without.stderr


# --------------------------------------------------------------------------- where it is used


def test_read_previous_accepts_a_published_report(tmp_path: Path) -> None:
    spec, last = expected("pingtan_2021")
    html = write("html", spec, last, tmp_path / "上年年报.html")
    this = example("pingtan_2022")
    done = run_cli("validate", write_json(tmp_path / "2022.json", this), "--previous", html)
    assert done.returncode == 0, done.stderr
    this["requests"]["carried_over"]["natural_person"] += 1
    this["requests"]["carried_over"]["total"] += 1
    this["requests"]["new"]["natural_person"] -= 1
    this["requests"]["new"]["total"] -= 1
    broken = run_cli("validate", write_json(tmp_path / "b.json", this), "--previous", html)
    assert broken.returncode == 1 and "上年结转" in broken.stderr


def test_import_refuses_a_previous_report_of_another_unit(tmp_path: Path) -> None:
    spec, this = expected("pingtan_2022")
    txt = write("txt", spec, this, tmp_path / "2022.txt")
    last = example("pingtan_2021")
    assert run_cli("import", txt, "--previous", write_json(tmp_path / "上年.json", last)).returncode == 0
    last["unit"]["name"] = "平潭县教育局"
    done = run_cli("import", txt, "--previous", write_json(tmp_path / "教育局.json", last))
    assert done.returncode == 2 and done.stdout == ""
    assert "上年报告“教育局.json”是“平潭县教育局”的，本报告是“平潭综合实验区（管委会，全区汇总）”的" in done.stderr


def test_several_files_go_to_an_output_folder_and_none_replaces_an_input(tmp_path: Path) -> None:
    spec, want = expected("pingtan_2021")
    a = write("html", spec, want, tmp_path / "a.html")
    b = write("docx", spec, want, tmp_path / "b.docx")
    out = tmp_path / "out"
    done = run_cli("import", a, b, SEED, "--out-dir", out, "--report", tmp_path / "all.json")
    assert done.returncode == 1, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "平潭综合实验区（管委会，全区汇总）_2021.json", "平潭综合实验区（管委会，全区汇总）_2021_2.json"]
    files = json.loads((tmp_path / "all.json").read_text("utf-8"))["files"]
    assert [f["valid"] for f in files] == [True, True, False]
    same = run_cli("import", a, "-o", a)
    assert same.returncode == 2 and "就是输入文件" in same.stderr and "写出会把它覆盖" in same.stderr


# --------------------------------------------------------------------------- hostile inputs


def _save(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _pdf_with_pages(n: int) -> bytes:
    """A valid PDF of ``n`` empty pages, written by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [" + " ".join(f"{i + 3} 0 R" for i in range(n))
               + f"] /Count {n} >>"]
    objects += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * n
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _docx_bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"<w:document>" + b" " * (300 * 1024 * 1024))
    return path


HOSTILE = {
    "deep.html": lambda p: _save(p, "<div>" * 100_000 + "x"),
    "huge.html": lambda p: _sparse(p, 100 * 1024 * 1024),
    "garbage.html": lambda p: _save(p, bytes(range(256)) * 64),
    "garbage.docx": lambda p: _save(p, b"PK\x03\x04" + bytes(range(256)) * 16),
    "bomb.docx": _docx_bomb,
    "pages.pdf": lambda p: _save(p, _pdf_with_pages(10_000)),
    "broken.pdf": lambda p: _save(p, b"%PDF-1.7\n" + bytes(range(256)) * 64),
    "old.docx": lambda p: _save(p, bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 1024),
    "empty.txt": lambda p: _save(p, b""),
    "cells.html": lambda p: _save(p, "<table>" + "<tr><td>1</td><td>2</td></tr>" * 60_000),
}


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_are_refused_with_exit_2(tmp_path: Path, name: str) -> None:
    path = HOSTILE[name](tmp_path / name)
    done = run_cli("import", path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("无法处理：") and "内部错误" not in done.stderr


@pytest.mark.parametrize("edition", ["2019", "2021"])
def test_the_importer_reads_each_value_under_the_labels_publish_prints_it_under(edition: str) -> None:
    """mapping.printed_tables (what import locates by) and published.document.tables (what
    publish draws) derive from the same blocks of the spec: every value has the same row and
    column label paths in both (a section's own title is not printed again as a caption)."""
    spec = builtin(edition)
    sections = {s.title for s in spec.publication.sections} if spec.publication else set()
    where = {}
    for printed in printed_tables(spec):
        caption = (printed.caption,) if printed.caption and printed.caption not in sections else ()
        heads = (printed.column_caption,) if printed.column_caption else ()
        for r, row in enumerate(printed.keys):
            for c, key in enumerate(row):
                where[key] = (caption + printed.rows[r], heads + printed.columns[c])
    drawn = {c.key: (tuple(c.rows), tuple(c.columns)) for t in tables(spec) for c in t.values()}
    assert drawn == where
