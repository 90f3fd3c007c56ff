"""Published reports made for tests, in the shapes real ones come in.

A report (cell key → value) is laid out as the format prints it (:func:`layout`: header cells
with rowspan/colspan, nested row labels spanning their rows) and written as

* :func:`word_html` — a web page as government sites publish Word-pasted text: the article in a
  layout table, ``<p class=MsoNormal>`` in every cell, a ``<span>``/``<font>`` per run of
  characters, long labels broken by ``<br>``, ``&nbsp;``, ``<o:p>``, conditional comments;
* :func:`docx` — a Word document with merged cells (python-docx);
* :func:`pasted` — the text a browser copies from the page: one line per row, a tab between
  cells, row-spanned cells written only in their first row (as ``sangdong_2020.txt``);
* :func:`spaced` — text copied from a PDF viewer: spaces between cells;
* :func:`markdown` — Markdown tables (no spans: nested labels in their own columns).

A PDF is made from the DOCX by LibreOffice (``tests/support/libreoffice.convert``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlreport.checks import rules
from xlreport.edition.spec import Spec
from xlreport.published.mapping import Printed, printed_tables
from xlreport.published.text import value

SECTIONS_2 = "二、主动公开政府信息情况"


@dataclass(frozen=True)
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    header: bool = False


def shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def complete(spec: Spec, inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs with every total computed (what a published report prints)."""
    return {**inputs, **rules.complete(spec, inputs)}


def _tree(paths: list[tuple[str, ...]], depth: int) -> list[list[tuple[str, int, int, int]]]:
    """Per level, the cells (label, first leaf, leaves covered, rows spanned) of a label tree."""
    levels: list[list[tuple[str, int, int, int]]] = [[] for _ in range(depth)]
    for i, path in enumerate(paths):
        for level, part in enumerate(path):
            prev = paths[i - 1] if i else None
            if prev is not None and prev[: level + 1] == path[: level + 1]:
                label, first, n, span = levels[level][-1]
                levels[level][-1] = (label, first, n + 1, span)
                continue
            span = depth - level if level == len(path) - 1 else 1
            levels[level].append((part, i, 1, span))
    return levels


def layout(printed: Printed, values: dict[str, Any]) -> list[list[Cell]]:
    """The printed table as rows of cells with spans: caption, header rows, then the rows."""
    labelled = printed.labelled
    row_depth = max((len(r) for r in printed.rows), default=0) if labelled else 0
    cols = list(printed.columns)
    caption_rows = 1 if printed.column_caption else 0
    col_depth = max(len(c) for c in cols) + caption_rows
    width = row_depth + len(cols)
    out: list[list[Cell]] = []
    if printed.caption and printed.name.startswith("表"):
        out.append([Cell(printed.caption, colspan=width, header=True)])
    header: list[list[Cell]] = [[] for _ in range(col_depth)]
    if labelled:
        header[0].append(Cell(printed.corner or "", rowspan=col_depth, colspan=row_depth,
                              header=True))
    if printed.column_caption:
        header[0].append(Cell(printed.column_caption, colspan=len(cols), header=True))
    levels = _tree(cols, col_depth - caption_rows)
    for level, cells in enumerate(levels):
        for label, _first, n, span in cells:
            header[level + caption_rows].append(Cell(label, rowspan=span, colspan=n, header=True))
    out.extend(header)
    row_levels = _tree(list(printed.rows), row_depth) if labelled else []
    for r, keys in enumerate(printed.keys):
        row: list[Cell] = []
        for cells in row_levels:
            for label, first, n, span in cells:
                if first == r:
                    row.append(Cell(label, rowspan=n, colspan=span))
        row.extend(Cell(shown(values.get(k))) for k in keys)
        out.append(row)
    return out


def _section_tables(spec: Spec) -> dict[str, list[Printed]]:
    out: dict[str, list[Printed]] = {}
    for printed in printed_tables(spec):
        title = spec.sheet(printed.sheet).title
        section = printed.caption if not printed.name.startswith("表") else title
        out.setdefault(section or title, []).append(printed)
    return out


def sections(spec: Spec, values: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The report in printed order: (heading, [paragraph text | Printed table]) per section."""
    tables = _section_tables(spec)
    narrative = {c.row_path[-1]: c.key for c in spec.cells.values()
                 if c.key.startswith("narrative.") and c.type == "text"}
    headings = sorted({*narrative, *(t for t in tables)}, key=_order)
    out = []
    for heading in headings:
        body: list[Any] = []
        key = narrative.get(heading)
        if key and values.get(key):
            body.extend(str(values[key]).split("\n"))
        body.extend(tables.get(heading, []))
        out.append((heading, body))
    return out


def _order(heading: str) -> int:
    return "一二三四五六七八九十".index(heading[0])


def title(values: dict[str, Any]) -> str:
    return f"{values.get('unit.name') or ''}{values.get('unit.year')}年政府信息公开工作年度报告"


# --------------------------------------------------------------------------- HTML


def _runs(text: str, pieces: int = 3) -> str:
    """``text`` as Word writes it: a span per run, a font inside, a ``<br>`` in long labels."""
    if not text:
        return "<o:p>&nbsp;</o:p>"
    step = max(1, len(text) // pieces)
    parts = [text[i : i + step] for i in range(0, len(text), step)]
    out = []
    for i, part in enumerate(parts):
        escaped = html.escape(part)
        if i == 1 and len(text) > 14 and value(text) is None:  # labels only, never a number
            escaped = "<br>\n" + escaped
        out.append(f"<span style='font-size:10.5pt;font-family:宋体;mso-bidi-font-family:宋体'>"
                   f"<font face=\"宋体\">{escaped}</font></span>")
    return "".join(out)


def _html_table(printed: Printed, values: dict[str, Any]) -> str:
    rows = []
    for row in layout(printed, values):
        cells = []
        for cell in row:
            attrs = "".join([
                f" rowspan={cell.rowspan}" if cell.rowspan > 1 else "",
                f' colspan="{cell.colspan}"' if cell.colspan > 1 else "",
            ])
            cells.append(f"<td{attrs} valign=middle style='border:solid windowtext 1.0pt;"
                         f"padding:0cm 5.4pt 0cm 5.4pt'><p class=MsoNormal align=center "
                         f"style='text-align:center'>{_runs(cell.text)}<o:p></o:p></p></td>")
        rows.append("<tr style='height:20.0pt'>\n" + "\n".join(cells) + "\n</tr>")
    return ("<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0 "
            "style='border-collapse:collapse'>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


def word_html(spec: Spec, values: dict[str, Any]) -> str:
    """A government web page with the report pasted from Word."""
    body = [f"<p class=MsoNormal align=center style='text-align:center'><b><span "
            f"style='font-size:22.0pt'>{html.escape(title(values))}</span></b></p>"]
    for heading, parts in sections(spec, values):
        body.append(f"<p class=MsoNormal style='text-indent:32.0pt'><b><span>"
                    f"{_runs(heading, 2)}</span></b><o:p></o:p></p>")
        for part in parts:
            if isinstance(part, Printed):
                body.append(_html_table(part, values))
            else:
                body.append(f"<p class=MsoNormal style='text-indent:32.0pt'>"
                            f"<span>{html.escape(part)}</span></p>")
    return (
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\">\n"
        "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head>"
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
        f"<title>{html.escape(title(values))}</title>"
        "<style>p.MsoNormal{margin:0cm;font-size:10.5pt}</style>"
        "<script>var _hmt = _hmt || [];</script></head>\n<body>\n"
        "<div class=\"header\">首页 &gt; 政府信息公开 &gt; 年度报告</div>\n"
        "<table width=\"100%\" class=\"layout\"><tr><td>\n"
        "<div class=\"TRS_Editor\"><div class=WordSection1>\n"
        "<!--[if gte mso 9]><xml><w:WordDocument></w:WordDocument></xml><![endif]-->\n"
        + "\n".join(body)
        + "\n</div></div>\n</td></tr></table>\n"
        "<div style=\"display:none\">隐藏的统计代码 12345</div>\n"
        "</body></html>\n"
    )


# --------------------------------------------------------------------------- text


def _grid_text(printed: Printed, values: dict[str, Any], sep: str) -> list[str]:
    lines = []
    for row in layout(printed, values):
        fields = []
        for cell in row:
            fields.append(cell.text)
            fields.extend([""] * (cell.colspan - 1) if sep == "\t" else [])
        lines.append(sep.join(fields) if sep == "\t" else " ".join(f for f in fields if f))
    return lines


def pasted(spec: Spec, values: dict[str, Any], *, sep: str = "\t") -> str:
    """The text a browser copies from the page (tabs), or a PDF viewer (``sep=" "``)."""
    lines = [title(values), ""]
    for heading, parts in sections(spec, values):
        lines.extend([heading, ""])
        for part in parts:
            if isinstance(part, Printed):
                lines.extend(_grid_text(part, values, sep))
            else:
                lines.append(part)
            lines.append("")
    return "\n".join(lines)


def spaced(spec: Spec, values: dict[str, Any]) -> str:
    return pasted(spec, values, sep=" ")


def markdown(spec: Spec, values: dict[str, Any]) -> str:
    """Markdown: each table a grid without spans (a spanned cell's text in its first position)."""
    lines = [f"# {title(values)}", ""]
    for heading, parts in sections(spec, values):
        lines.extend([f"## {heading}", ""])
        for part in parts:
            if isinstance(part, Printed):
                grid = _flat(layout(part, values))
                lines.append("| " + " | ".join(grid[0]) + " |")
                lines.append("|" + "---|" * len(grid[0]))
                lines.extend("| " + " | ".join(row) + " |" for row in grid[1:])
            else:
                lines.append(part)
            lines.append("")
    return "\n".join(lines)


def _flat(rows: list[list[Cell]]) -> list[list[str]]:
    """Rows of cells with spans as a plain grid: a spanned cell's text only where it starts."""
    taken: dict[tuple[int, int], str] = {}
    width = 0
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken[r + dr, c + dc] = cell.text if dr == dc == 0 else ""
            c += cell.colspan
            width = max(width, c)
    return [[taken.get((r, c), "") for c in range(width)] for r in range(len(rows))]


# --------------------------------------------------------------------------- DOCX


def docx(spec: Spec, values: dict[str, Any], path: Path, *, repeat_header: bool = False) -> Path:
    """A Word document of the report, tables with merged cells."""
    import docx as python_docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = python_docx.Document()
    style = document.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    document.add_heading(title(values), level=1)
    for heading, parts in sections(spec, values):
        document.add_paragraph(heading)
        for part in parts:
            if not isinstance(part, Printed):
                document.add_paragraph(part)
                continue
            rows = layout(part, values)
            flat = _flat(rows)
            table = document.add_table(rows=len(flat), cols=len(flat[0]))
            table.style = "Table Grid"
            taken: set[tuple[int, int]] = set()
            for r, row in enumerate(rows):
                c = 0
                for cell in row:
                    while (r, c) in taken:
                        c += 1
                    for dr in range(cell.rowspan):
                        for dc in range(cell.colspan):
                            taken.add((r + dr, c + dc))
                    target = table.cell(r, c)
                    if cell.rowspan > 1 or cell.colspan > 1:
                        target = target.merge(table.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
                    target.text = cell.text
                    c += cell.colspan
                if repeat_header and any(cell.header for cell in row):
                    tr_pr = table.rows[r]._tr.get_or_add_trPr()
                    flag = OxmlElement("w:tblHeader")
                    flag.set(qn("w:val"), "true")
                    tr_pr.append(flag)
    document.save(str(path))
    return path
