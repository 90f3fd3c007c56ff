"""``xlreport publish``: the published report, read back from the real files it writes.

Every DOCX is opened with python-docx and every HTML page parsed with html.parser: each table cell
must be the spec's label or the report's value (digit for digit, blank where the data is blank),
with the merges of the official format.  Each PDF is made by LibreOffice from the DOCX; its text
(pdftotext) holds every label and value in reading order, and no word runs past the right margin.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docx as python_docx
import pytest

from conftest import (
    ENV,
    EXAMPLE_NAMES,
    EXAMPLES,
    PUBLISHED,
    example,
    get,
    modified,
    run_cli,
    write_json,
)
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.checks.validate import validate_document
from xlreport.published.document import ROW, VALUE, Table, tables

needs_office = pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                                  reason="LibreOffice and poppler are needed for PDF")

NARRATIVE = """\
一、总体情况
（一）主动公开
本年度主动公开政府信息，及时更新政府信息公开专栏。
（二）依申请公开
依法办理政府信息公开申请。
五、存在的主要问题及改进情况
公开内容还不够全面，明年进一步完善。
六、其他需要报告的事项
无。
"""
#: A4 is 595.3 pt wide; the right margin is 26 mm (73.7 pt); justified text may touch it.
RIGHT_EDGE = 595.3 - 26 / 25.4 * 72 + 1.0


# --------------------------------------------------------------------------- reading back


def expected(doc: dict[str, Any], spec: spec_mod.Spec) -> dict[str, str]:
    """What each value cell must show: the data's own value, a computed total where the data
    left the total blank, nothing where it left an input blank."""
    raw = report.flatten(doc, spec)
    completed = validate_document(doc, spec).values
    out = {}
    for key, cell in spec.cells.items():
        value = raw.get(key)
        if value is None and cell.computed:
            value = completed[key]
        out[key] = "" if value is None else (format(value, "f") if isinstance(value, Decimal) else str(value))
    return out


def docx_tables(path: Path) -> list[Any]:
    return python_docx.Document(str(path)).tables


def assert_docx_table(grid: Any, table: Table, values: dict[str, str]) -> None:
    assert (len(grid.rows), len(grid.columns)) == (table.height, table.width), table.section
    for cell in table.cells:
        got = grid.cell(cell.row, cell.col)
        want = values[cell.key] if cell.kind == VALUE else cell.text
        assert got.text == want, (table.section, cell)
        for r in range(cell.row, cell.row + cell.rowspan):
            for c in range(cell.col, cell.col + cell.colspan):
                assert grid.cell(r, c)._tc is got._tc, ("merge", table.section, cell, r, c)


class _Tables(HTMLParser):
    """Every <table> as rows of (tag, text, rowspan, colspan, attrs); headings and paragraphs."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[tuple[str, str, int, int, dict[str, str]]]]] = []
        self.headings: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self._cell: list[Any] | None = None
        self._heading: list[Any] | None = None
        self.section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = [tag, "", int(a.get("rowspan", 1)), int(a.get("colspan", 1)), a]
        elif tag in ("h1", "h2", "h3"):
            self._heading = [tag, ""]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(tuple(self._cell))
            self._cell = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append(tuple(self._heading))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1] += data
        if self._heading is not None:
            self._heading[1] += data


def parse_html(text: str) -> _Tables:
    parser = _Tables()
    parser.feed(text)
    parser.close()
    return parser


def html_grid(rows: list[list[tuple[str, str, int, int, dict[str, str]]]]) -> dict[tuple[int, int], Any]:
    """Each HTML cell placed on the grid the way a browser places it."""
    taken: dict[tuple[int, int], Any] = {}
    for r, cells in enumerate(rows):
        c = 0
        for cell in cells:
            while (r, c) in taken:
                c += 1
            for dr in range(cell[2]):
                for dc in range(cell[3]):
                    taken[r + dr, c + dc] = (r, c, cell) if (dr, dc) == (0, 0) else (r, c)
            c += cell[3]
    return taken


def assert_html_table(rows: Any, table: Table, values: dict[str, str]) -> None:
    placed = html_grid(rows)
    assert len(placed) == table.width * table.height, table.section
    for cell in table.cells:
        found = placed[cell.row, cell.col]
        assert len(found) == 3, (table.section, cell)
        tag, text, rowspan, colspan, attrs = found[2]
        want = values[cell.key] if cell.kind == VALUE else cell.text
        assert (tag, text, rowspan, colspan) == (
            "td" if cell.kind == VALUE else "th", want, cell.rowspan, cell.colspan), (table.section, cell)
        if tag == "th":
            assert attrs["scope"] in ("row", "rowgroup", "col", "colgroup")


def pdf_text(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_tables(pdf: Path, model: list[Table]) -> tuple[list[list[list[str | None]]], list[float]]:
    """The tables of the PDF (pdfplumber finds them by their ruling lines) as grids of cell texts
    (None where a merged cell continues), a table continued on the next page joined again without
    its repeated heading rows — its columns placed by their left edges, since a piece of a table
    may lack some of them; and the right edge of every table piece and word."""
    import pdfplumber

    pieces: list[list[list[tuple[float, str]]]] = []
    edges: list[float] = []
    with pdfplumber.open(str(pdf)) as doc:
        for page in doc.pages:
            for found in page.find_tables():
                edges.append(found.bbox[2])
                texts = found.extract()
                pieces.append([
                    [(float(box[0]), text or "") for box, text in zip(row.cells, texts[i], strict=True)
                     if box is not None]
                    for i, row in enumerate(found.rows)
                ])
            edges.extend(float(w["x1"]) for w in page.extract_words())
    grids = []
    for table in model:
        rows = pieces.pop(0)
        while len(rows) < table.height and pieces:
            rows += pieces.pop(0)[table.head:]
        lefts: list[float] = []
        for x in sorted({x for row in rows for x, _ in row}):
            if not lefts or x - lefts[-1] > 2:  # one column's edge, a point apart on two pages
                lefts.append(x)
        grid: list[list[str | None]] = []
        for row in rows:
            line: list[str | None] = [None] * len(lefts)
            for x, text in row:
                line[min(range(len(lefts)), key=lambda i, x=x: abs(lefts[i] - x))] = text
            grid.append(line)
        grids.append(grid)
    assert not pieces, "tables in the PDF that the document does not have"
    return grids, edges


def assert_pdf_table(grid: list[list[str | None]], table: Table, values: dict[str, str]) -> None:
    """Each cell's text where the model puts it; a row heading that spans a page break may be
    printed on any row it spans."""
    assert (len(grid), {len(r) for r in grid}) == (table.height, {table.width}), table.section

    def text(r: int, c: int) -> str | None:
        found = grid[r][c]
        return None if found is None else re.sub(r"\s+", "", found)

    for cell in table.cells:
        want = values[cell.key] if cell.kind == VALUE else cell.text
        rows = range(cell.row, cell.row + cell.rowspan) if cell.kind == ROW else [cell.row]
        assert any(text(r, cell.col) == re.sub(r"\s+", "", want) for r in rows), (
            table.section, cell, [text(r, cell.col) for r in rows])


# --------------------------------------------------------------------------- publishing


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Each example, and a county total merged from two of them, published as DOCX, HTML, PDF."""
    work = tmp_path_factory.mktemp("published")
    text = work / "正文.md"
    text.write_text(NARRATIVE, "utf-8")
    inputs = {name: EXAMPLES / f"{name}.json" for name in EXAMPLE_NAMES}
    other = modified(example("pingtan_2021"), "unit.name", "另一个单位")
    write_json(work / "other.json", other)
    merged = run_cli("merge", inputs["pingtan_2021"], work / "other.json", "-o", work / "total.json",
                     "--unit", "某县汇总")
    assert merged.returncode == 0, merged.stderr
    inputs["total"] = work / "total.json"
    out: dict[str, dict[str, Path]] = {}
    for name, source in inputs.items():
        files = {kind: work / f"{name}.{kind}" for kind in ("docx", "html", "pdf")}
        wanted = files if shutil.which("soffice") else {k: v for k, v in files.items() if k != "pdf"}
        args: list[Any] = ["publish", source]
        for path in wanted.values():
            args += ["-o", path]
        narrative = PUBLISHED / "sangdong_2020.md" if name == "sangdong_2020" else text
        done = run_cli(*args, "--text", narrative, timeout=300)
        assert done.returncode == 0, done.stderr
        out[name] = wanted | {"source": source}
    return out


def _doc(path: Path) -> tuple[dict[str, Any], spec_mod.Spec]:
    doc = report.load(path)
    return doc, spec_mod.builtin(doc["edition"])


@pytest.mark.parametrize("name", [*EXAMPLE_NAMES, "total"])
def test_every_docx_table_cell_is_the_label_or_the_value(
    name: str, published: dict[str, dict[str, Path]]
) -> None:
    doc, spec = _doc(published[name]["source"])
    values = expected(doc, spec)
    grids = docx_tables(published[name]["docx"])
    model = tables(spec)
    assert len(grids) == len(model)
    for grid, table in zip(grids, model, strict=True):
        assert_docx_table(grid, table, values)


@pytest.mark.parametrize("name", [*EXAMPLE_NAMES, "total"])
def test_every_html_table_cell_is_the_label_or_the_value(
    name: str, published: dict[str, dict[str, Path]]
) -> None:
    doc, spec = _doc(published[name]["source"])
    values = expected(doc, spec)
    page = parse_html(published[name]["html"].read_text("utf-8"))
    model = tables(spec)
    assert len(page.tables) == len(model)
    for rows, table in zip(page.tables, model, strict=True):
        assert_html_table(rows, table, values)
    titles = [s.title for s in spec.publication.sections]
    assert [t for tag, t in page.headings if tag == "h2"] == titles
    unit = doc["unit"]
    assert page.headings[0] == ("h1", f"{unit['name']}{unit['year']}年政府信息公开工作年度报告")


@needs_office
@pytest.mark.parametrize("name", [*EXAMPLE_NAMES, "total"])
def test_the_pdf_holds_every_label_and_value_within_the_margins(
    name: str, published: dict[str, dict[str, Path]]
) -> None:
    doc, spec = _doc(published[name]["source"])
    values = expected(doc, spec)
    pdf = published[name]["pdf"]
    grids, edges = pdf_tables(pdf, tables(spec))
    for grid, table in zip(grids, tables(spec), strict=True):
        assert_pdf_table(grid, table, values)
    text = re.sub(r"\s+", "", pdf_text(pdf))
    unit = doc["unit"]
    assert f"{unit['name']}{unit['year']}年政府信息公开工作年度报告" in text
    assert all(s.title in text for s in spec.publication.sections)
    assert "草稿" not in text
    assert max(edges) <= RIGHT_EDGE, f"{name}: a table or word ends at {max(edges):.1f} pt, past the right margin"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "595.3" in info and "841.8" in info, "A4 portrait"


def test_numbers_are_printed_as_the_data_writes_them(tmp_path: Path) -> None:
    doc = modified(example("pingtan_2021"), "proactive.fees.amount", Decimal("12.50"))
    doc = modified(doc, "narrative", {"overview": "（一）主动公开\n正文", "problems": "无", "other_matters": "无",
                                      "processing_fees": {"notices": 2, "billed": Decimal("0.10"),
                                                          "collected": None}})
    doc = modified(doc, "requests.new.commercial", None)
    doc = modified(doc, "requests.new.total", None)
    source = write_json(tmp_path / "r.json", doc)
    done = run_cli("publish", source, "-o", tmp_path / "r.docx", "-o", tmp_path / "r.html")
    assert done.returncode == 0, done.stderr
    spec = spec_mod.builtin("2021")
    cells = {c.key: c for t in tables(spec) for c in t.values()}
    grids = dict(zip([t.section for t in tables(spec)], docx_tables(tmp_path / "r.docx"), strict=True))

    def shown(key: str) -> str:
        cell = cells[key]
        table = next(t for t in tables(spec) if cell in t.cells)
        return grids[table.section].cell(cell.row, cell.col).text

    assert shown("proactive.fees.amount") == "12.50"
    assert shown("narrative.processing_fees.billed") == "0.10"
    assert shown("narrative.processing_fees.collected") == ""
    assert shown("requests.new.commercial") == "", "blank as the data says"
    assert shown("requests.new.total") == str(
        sum(v for k, v in doc["requests"]["new"].items() if v is not None)), "a blank total is computed"
    html = (tmp_path / "r.html").read_text("utf-8")
    assert "12.50" in html and "收费通知总金额0.10元" not in html, "a sentence with a blank value is left out"


# --------------------------------------------------------------------------- the seed


NUMBER = re.compile(r"-?[\d.]+")
#: Rows where the seed's page prints one number more than the table has columns (all zeros, so
#: which one is extra cannot be told): 表三's last three rows and 表四's only row.
SEED_EXTRA = {("三", "（六）其他处理"), ("三", "（七）总计"), ("三", "四、结转下年度继续办理"), ("四", "")}


def _seed_tables() -> dict[str, list[list[str]]]:
    """The seed's published page: each line of 表二、三、四 as its tab-separated tokens."""
    lines = (PUBLISHED / "sangdong_2020.txt").read_text("utf-8").splitlines()
    heads = {"二、主动公开政府信息情况": "二", "三、收到和处理政府信息公开申请情况": "三",
             "四、政府信息公开行政复议、行政诉讼情况": "四", "五、存在的主要问题及改进情况": ""}
    out: dict[str, list[list[str]]] = {}
    current = ""
    for line in lines:
        if line.strip() in heads:
            current = heads[line.strip()]
        elif current and (tokens := [t.strip() for t in line.split("\t") if t.strip()]):
            out.setdefault(current, []).append(tokens)
    return out


def _official(text: str) -> str:
    """The seed page's label written as the format writes it: full-width brackets, no spaces."""
    return re.sub(r"\s+", "", text).replace("(", "（").replace(")", "）")


def test_the_seed_page_and_the_published_seed_agree_table_by_table(
    published: dict[str, dict[str, Path]]
) -> None:
    seed = _seed_tables()
    spec = spec_mod.builtin("2019")
    values = expected(report.load(EXAMPLES / "sangdong_2020.json"), spec)
    page = parse_html(published["sangdong_2020"]["html"].read_text("utf-8"))
    extra = set()
    for number, rows in zip("二三四", page.tables, strict=True):
        cells = [c for row in rows for c in row]
        seed_cells = [t for line in seed[number] for t in line]
        assert sorted(_official(c[1]) for c in cells if c[0] == "th") == sorted(
            _official(t) for t in seed_cells if not NUMBER.fullmatch(t)), f"labels of 表{number}"
        ours = [[c[1] for c in row if c[0] == "td"] for row in rows]
        ours = [[*([c[1] for c in row if c[0] == "th"] or [""])[-1:], numbers]
                for row, numbers in zip(rows, ours, strict=True) if numbers]
        theirs = [[t for t in line if NUMBER.fullmatch(t)] for line in seed[number]]
        theirs = [numbers for numbers in theirs if numbers]
        assert len(ours) == len(theirs), f"rows of numbers in 表{number}"
        for (label, mine), printed in zip(ours, theirs, strict=True):  # type: ignore[misc]
            assert printed[:len(mine)] == mine, (number, label)
            if len(printed) != len(mine):
                assert len(printed) == len(mine) + 1, (number, label)
                extra.add((number, _official(label) if number == "三" else ""))
        assert [n for _, row in ours for n in row] == [values[k] for k in _keys(spec, number)]
    assert extra == SEED_EXTRA


def _keys(spec: spec_mod.Spec, number: str) -> list[str]:
    table = next(t for t in tables(spec) if t.section.startswith(number))
    return [c.key for c in table.values()]


def test_the_seed_narrative_is_printed_as_written(published: dict[str, dict[str, Path]]) -> None:
    page = (published["sangdong_2020"]["html"]).read_text("utf-8")
    parsed = parse_html(page)
    assert ("h3", "(一) 主动公开政府信息的情况") in parsed.headings
    assert ("h3", "(六) 县级以上人民政府实施信息公开工作考核、社会评议和责任追究结果情况") in parsed.headings
    assert "桑垌乡政府设有便民服务大厅" in page and "<p class=\"body\">无</p>" in page
    assert page.count("夏邑县桑垌乡人民政府2020年政府信息公开工作年度报告") == 2, "title and <title> only"
    assert "统计期限自2020年1月1日起至2020年12月31日止" in page


# --------------------------------------------------------------------------- refusing


def _broken(tmp_path: Path) -> Path:
    doc = example("pingtan_2021")
    doc = modified(doc, "requests.new.natural_person", get(doc, "requests.new.natural_person") + 1)
    return write_json(tmp_path / "broken.json", doc)


def test_an_invalid_report_is_not_published(tmp_path: Path) -> None:
    out = tmp_path / "报告.docx"
    done = run_cli("publish", _broken(tmp_path), "-o", out, "--text", _text(tmp_path))
    assert done.returncode == 1
    assert not out.exists()
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("不能发布：表三") and "--draft" in last, done.stderr
    assert "内部错误" not in done.stderr


@needs_office
def test_a_draft_of_an_invalid_report_says_draft_on_every_page(tmp_path: Path) -> None:
    out = tmp_path / "草稿.pdf"
    html = tmp_path / "草稿.html"
    done = run_cli("publish", _broken(tmp_path), "-o", out, "-o", html, "--draft", timeout=300)
    assert done.returncode == 1, "the data is still invalid"
    assert "已写入" in done.stderr and "草稿" in done.stderr
    pages = pdf_text(out).split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2 and all("草稿" in p for p in pages)
    assert "【待填写：一、总体情况】" in pages[0]
    text = html.read_text("utf-8")
    assert '<p class="draft">草稿</p>' in text and "<mark" in text


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "正文.md"
    path.write_text(NARRATIVE, "utf-8")
    return path


def test_missing_text_is_refused_naming_each_section_and_marked_in_a_draft(tmp_path: Path) -> None:
    source = EXAMPLES / "pingtan_2021.json"
    done = run_cli("publish", source, "-o", tmp_path / "a.docx")
    assert done.returncode == 1 and not (tmp_path / "a.docx").exists()
    assert "一、总体情况、五、存在的主要问题及改进情况、六、其他需要报告的事项" in done.stderr
    partial = tmp_path / "part.md"
    partial.write_text("## 五、存在的主要问题及改进情况\n无\n", "utf-8")
    done = run_cli("publish", source, "-o", tmp_path / "a.docx", "--text", partial, "--draft")
    assert done.returncode == 1 and (tmp_path / "a.docx").exists()
    word = python_docx.Document(str(tmp_path / "a.docx"))
    marked = [r for p in word.paragraphs for r in p.runs if r.font.highlight_color is not None]
    assert [r.text for r in marked] == ["【待填写：一、总体情况】", "【待填写：六、其他需要报告的事项】"]
    assert "草稿" in word.sections[0].header.paragraphs[0].text


def test_text_under_a_table_heading_or_twice_is_refused(tmp_path: Path) -> None:
    source = EXAMPLES / "pingtan_2021.json"
    wrong = tmp_path / "wrong.md"
    wrong.write_text(NARRATIVE + "二、主动公开政府信息情况\n规章 0 件\n", "utf-8")
    done = run_cli("publish", source, "-o", tmp_path / "a.html", "--text", wrong)
    assert done.returncode == 2 and "二、主动公开政府信息情况" in done.stderr and "统计表" in done.stderr
    wrong.write_text(NARRATIVE + "五、存在的主要问题及改进情况\n又写一遍\n", "utf-8")
    done = run_cli("publish", source, "-o", tmp_path / "a.html", "--text", wrong)
    assert done.returncode == 2 and "写了两次" in done.stderr
    assert not (tmp_path / "a.html").exists()


def test_usage_mistakes_exit_2_before_reading(tmp_path: Path) -> None:
    source = EXAMPLES / "pingtan_2021.json"
    done = run_cli("publish", source, "-o", tmp_path / "a.odt")
    assert done.returncode == 2 and ".docx、.html 或 .pdf" in done.stderr
    copy = tmp_path / "r.html"
    copy.write_text("{}", "utf-8")
    done = run_cli("publish", copy, "-o", copy)
    assert done.returncode == 2 and "就是输入文件" in done.stderr and copy.read_text("utf-8") == "{}"
    done = run_cli("publish", tmp_path / "none.json", "-o", tmp_path / "a.html")
    assert done.returncode == 2 and "找不到文件" in done.stderr


def test_without_libreoffice_a_pdf_is_refused_saying_how_to_install_it(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "xlreport", "publish", str(EXAMPLES / "pingtan_2021.json"),
         "-o", str(tmp_path / "a.pdf"), "--text", str(_text(tmp_path))],
        capture_output=True, text=True, env={**ENV, "PATH": str(empty)}, timeout=120, check=False,
    )
    assert done.returncode == 2 and "LibreOffice" in done.stderr and "安装" in done.stderr
    assert not (tmp_path / "a.pdf").exists()


# --------------------------------------------------------------------------- other inputs


def test_a_filled_workbook_publishes_the_same_tables_as_its_json(tmp_path: Path) -> None:
    source = EXAMPLES / "pingtan_2022.json"
    book = tmp_path / "filled.xlsx"
    assert run_cli("fill", source, "-o", book).returncode == 0
    text = _text(tmp_path)
    for name, path in (("json", source), ("xlsx", book)):
        done = run_cli("publish", path, "-o", tmp_path / f"{name}.html", "--text", text)
        assert done.returncode == 0, done.stderr
    from_json = parse_html((tmp_path / "json.html").read_text("utf-8"))
    from_book = parse_html((tmp_path / "xlsx.html").read_text("utf-8"))
    assert from_json.tables == from_book.tables


def test_a_custom_edition_publishes_without_code(tmp_path: Path) -> None:
    province = Path(__file__).resolve().parents[1] / "docs" / "examples" / "province.yaml"
    spec = spec_mod.load(province)
    doc = json.loads((EXAMPLES / "pingtan_2021.json").read_text("utf-8"), parse_float=Decimal)
    doc["edition"] = spec.edition
    doc["requests"]["online"] = {"natural_person": 40, "commercial": 0, "research": 0, "public_interest": 1,
                                 "legal_services": 0, "other": 2, "total": 43}
    source = write_json(tmp_path / "sheng.json", doc)
    done = run_cli("publish", source, "--spec", province, "-o", tmp_path / "s.docx", "-o", tmp_path / "s.html",
                   "--text", _text(tmp_path))
    assert done.returncode == 0, done.stderr
    values = expected(doc, spec)
    for grid, table in zip(docx_tables(tmp_path / "s.docx"), tables(spec), strict=True):
        assert_docx_table(grid, table, values)
    page = parse_html((tmp_path / "s.html").read_text("utf-8"))
    cells = [c[1] for row in page.tables[1] for c in row]
    at = cells.index("其中：通过互联网提交的申请")
    assert cells[at + 1:at + 8] == ["40", "0", "0", "1", "0", "2", "43"]


def test_a_custom_edition_may_change_the_preamble_and_must_publish_every_table(tmp_path: Path) -> None:
    spec_file = tmp_path / "local.yaml"
    spec_file.write_text(
        'extends: "2021"\nedition: "2021-local"\ntemplate_version: "1"\n'
        "publication:\n  preamble: [\"本报告由{unit.name}编制。\"]\n", "utf-8")
    doc = modified(example("pingtan_2021"), "edition", "2021-local")
    source = write_json(tmp_path / "r.json", doc)
    done = run_cli("publish", source, "--spec", spec_file, "-o", tmp_path / "r.html", "--text", _text(tmp_path))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r.html").read_text("utf-8")
    assert f"本报告由{doc['unit']['name']}编制。" in page and "国办公开办函" not in page
    spec_file.write_text(
        'extends: "2021"\nedition: "2021-local"\ntemplate_version: "1"\nchanges:\n'
        "  - add_sheet: {name: 附表, title: 附表, blocks: [{prefix: extra, rows: [{key: calls, label: 热线}],"
        " columns: [{key: count, label: 件数}]}]}\n", "utf-8")
    checked = run_cli("spec", "check", spec_file)
    assert checked.returncode == 0, "templates do not need the document"
    assert "注意：用 xlreport publish" in checked.stderr and "附表" in checked.stderr
    done = run_cli("publish", source, "--spec", spec_file, "-o", tmp_path / "r2.html", "--text", _text(tmp_path))
    assert done.returncode == 2 and "附表" in done.stderr and "publication" in done.stderr
    assert not (tmp_path / "r2.html").exists()


# --------------------------------------------------------------------------- the files themselves


def test_the_docx_follows_the_official_typography(published: dict[str, dict[str, Path]]) -> None:
    word = python_docx.Document(str(published["pingtan_2021"]["docx"]))
    section = word.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert (round(section.left_margin.mm), round(section.right_margin.mm)) == (28, 26)

    def east_asian(element: Any) -> str:
        fonts = element.rPr.rFonts
        return fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")

    title = word.paragraphs[0].runs[0]
    assert east_asian(title._r) == "宋体" and title.font.size.pt == 22
    assert east_asian(word.styles["Normal"].element) == "仿宋" and word.styles["Normal"].font.size.pt == 16
    assert east_asian(word.styles["Heading 1"].element) == "黑体"
    assert east_asian(word.styles["Heading 2"].element) == "楷体"
    three = word.tables[1]
    assert east_asian(three.cell(5, 5).paragraphs[0].runs[0]._r) == "宋体"
    flags = [(tr.trPr.find(_w("tblHeader")) is not None, tr.trPr.find(_w("cantSplit")) is not None)
             for tr in three._tbl.tr_lst]
    assert flags[:3] == [(True, True)] * 3 and all(f == (False, True) for f in flags[3:])
    footer = section.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "fldChar" in footer


def _w(tag: str) -> str:
    return f"{{http://schemas.openxmlformats.org/wordprocessingml/2006/main}}{tag}"


def test_the_html_page_stands_alone_and_the_fragment_has_inline_styles_only(
    published: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    page = published["pingtan_2021"]["html"].read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "@page" in page and "<thead>" in page
    assert not re.search(r"<script|<link|<img|src=|href=|url\(", page)
    done = run_cli("publish", EXAMPLES / "pingtan_2021.json", "-o", tmp_path / "f.html", "--fragment",
                   "--text", _text(tmp_path))
    assert done.returncode == 0, done.stderr
    fragment = (tmp_path / "f.html").read_text("utf-8")
    assert fragment.startswith("<article") and "<style" not in fragment and "class=" not in fragment
    assert "<html" not in fragment and 'style="' in fragment

    def cells(text: str) -> list[Any]:
        return [[[c[:4] for c in row] for row in t] for t in parse_html(text).tables]

    assert cells(fragment) == cells(page)
