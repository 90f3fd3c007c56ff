"""A :class:`~.document.Document` as HTML: one standalone page (its own print CSS, no scripts, no
external resources) or, for pasting into a website's editor, a fragment with inline styles only.

Tables are semantic: heading rows in ``<thead>`` (repeated on every printed page), headings as
``<th scope>``, merged headings with ``rowspan``/``colspan``, values as ``<td>``.  Both forms draw
from one table of styles (:data:`STYLES`): the page names them as classes in its ``<style>``, the
fragment writes them on each element.
"""

from __future__ import annotations

from html import escape

from .document import CAPTION, COLUMN, CORNER, MISSING, ROW, SUBHEADING, Document, Table, TableCell

FONTS = {
    "song": "'SimSun','宋体','Songti SC','Noto Serif CJK SC',serif",
    "fangsong": "'FangSong','仿宋','STFangsong','Noto Serif CJK SC',serif",
    "hei": "'SimHei','黑体','Heiti SC','Noto Sans CJK SC',sans-serif",
    "kai": "'KaiTi','楷体','STKaiti','Noto Serif CJK SC',serif",
}

#: Every style of the document, by class name.
STYLES: dict[str, str] = {
    "report": f"max-width:156mm;margin:0 auto;font-family:{FONTS['fangsong']};font-size:16pt;"
              "line-height:28pt;color:#000",
    "title": f"font-family:{FONTS['song']};font-size:22pt;font-weight:bold;text-align:center;"
             "line-height:36pt;margin:0 0 16pt",
    "draft": f"font-family:{FONTS['hei']};font-size:16pt;font-weight:bold;color:#c00000;text-align:right;"
             "margin:0",
    "body": "text-indent:2em;text-align:justify;margin:0",
    "heading": f"font-family:{FONTS['hei']};font-size:16pt;font-weight:normal;text-indent:2em;margin:0",
    "subheading": f"font-family:{FONTS['kai']};font-size:16pt;font-weight:normal;text-indent:2em;margin:0",
    "missing": "background:#ffff00",
    "table": f"border-collapse:collapse;width:100%;margin:8pt 0 16pt;font-family:{FONTS['song']};"
             "font-size:10.5pt;line-height:1.3;table-layout:fixed",
    "small": "font-size:9pt",
    "th": "border:1px solid #000;padding:2pt 1mm;font-weight:normal;text-align:center;"
          "vertical-align:middle",
    "row": "text-align:left",
    "td": "border:1px solid #000;padding:2pt 1mm;text-align:center;vertical-align:middle",
}

PRINT_CSS = """\
@page { size: A4 portrait; margin: 37mm 26mm 35mm 28mm; }
@media print {
  .report { max-width: none; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  .draft { position: fixed; top: 0; right: 0; }
}"""

#: A value column narrower than this share of the width prints its table in 9 pt (see docx).
NARROW_SHARE = 11 / 156


class _Styler:
    """Writes a style as ``class="…"`` (page) or ``style="…"`` (fragment)."""

    def __init__(self, inline: bool) -> None:
        self.inline = inline

    def __call__(self, *names: str) -> str:
        if self.inline:
            return f' style="{escape(";".join(STYLES[n] for n in names))}"'
        return f' class="{" ".join(names)}"'


def render(doc: Document, *, fragment: bool = False) -> str:
    """The HTML of ``doc``: a whole page, or a fragment with inline styles only."""
    style = _Styler(fragment)
    out: list[str] = [f"<article{style('report')}>"]
    if doc.draft:
        out.append(f"<p{style('draft')}>草稿</p>")
    out.append(f"<h1{style('title')}>{escape(doc.title)}</h1>")
    for p in doc.preamble:
        out.append(_paragraph(p.text, p.kind, style))
    for part in doc.parts:
        out.append(f"<section>\n<h2{style('heading')}>{escape(part.title)}</h2>")
        out.extend(_paragraph(p.text, p.kind, style) for p in part.paragraphs)
        if part.table is not None:
            out.append(_table(part.table, doc, style))
        out.append("</section>")
    out.append("</article>")
    body = "\n".join(out) + "\n"
    if fragment:
        return body
    css = "\n".join(f".{name} {{ {rule}; }}" for name, rule in STYLES.items())
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(doc.title)}{'（草稿）' if doc.draft else ''}</title>\n"
        f"<style>\n{css}\n{PRINT_CSS}\n</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _paragraph(text: str, kind: str, style: _Styler) -> str:
    if kind == SUBHEADING:
        return f"<h3{style('subheading')}>{escape(text)}</h3>"
    if kind == MISSING:
        return f"<p{style('body')}><mark{style('missing')}>{escape(text)}</mark></p>"
    return f"<p{style('body')}>{escape(text)}</p>"


def _table(table: Table, doc: Document, style: _Styler) -> str:
    shares = table.column_shares()
    small = min(shares[table.label_columns:]) < NARROW_SHARE
    out = [f"<table{style('table', 'small') if small else style('table')}>", "<colgroup>"]
    out.extend(f'<col style="width:{share * 100:.2f}%">' for share in shares)
    out.append("</colgroup>")
    rows = table.rows()
    if table.head:
        out.append("<thead>")
    for r, cells in enumerate(rows):
        if r == table.head:
            if table.head:
                out.append("</thead>")
            out.append("<tbody>")
        out.append("<tr>" + "".join(_cell(c, doc, style) for c in cells) + "</tr>")
    out.append("</tbody>\n</table>")
    return "\n".join(out)


def _cell(cell: TableCell, doc: Document, style: _Styler) -> str:
    spans = (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "") + (
        f' colspan="{cell.colspan}"' if cell.colspan > 1 else "")
    text = escape(doc.text(cell))
    if not cell.heading:
        return f"<td{spans}{style('td')}>{text}</td>"
    if cell.kind == ROW:
        scope = "rowgroup" if cell.rowspan > 1 else "row"
        return f'<th scope="{scope}"{spans}{style("th", "row")}>{text}</th>'
    scopes = {CAPTION: "colgroup", CORNER: "col", COLUMN: "colgroup" if cell.colspan > 1 else "col"}
    return f'<th scope="{scopes[cell.kind]}"{spans}{style("th")}>{text}</th>'
