"""A :class:`~.document.Document` as a Word file (python-docx), in the typography of government
documents (GB/T 9704): A4 portrait, title 宋体 22 pt bold, body 仿宋 16 pt with a two-character
indent, first-level headings 黑体, second-level 楷体, tables in 宋体 sized to the text width,
heading rows repeated on every page (a caption or heading row kept with the row after it), no
row split across pages, page numbers ``— 1 —``.

Fonts are named in the East-Asian font attribute as well (``w:eastAsia``), which is the one Word
and WPS use for Chinese text.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document as new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from .document import MISSING, SUBHEADING, Document, Paragraph, Table

#: Page and margins of GB/T 9704 (top, bottom, left, right), and the text width between them.
PAGE = (Mm(210), Mm(297))
MARGINS = (Mm(37), Mm(35), Mm(28), Mm(26))
TEXT_WIDTH = Mm(156)
TITLE_FONT, BODY_FONT, HEADING_FONT, SUBHEADING_FONT, TABLE_FONT = "宋体", "仿宋", "黑体", "楷体", "宋体"
BODY_SIZE, TITLE_SIZE = Pt(16), Pt(22)
#: Table text: 五号 (10.5 pt), or 小五 (9 pt) when a value column is narrower than 11 mm.
TABLE_SIZE, SMALL_TABLE_SIZE, NARROW = Pt(10.5), Pt(9), Mm(11)
#: Space between a table cell's border and its text, left and right.
CELL_MARGIN = Mm(1)
LINE = Pt(28)
DRAFT = "草稿"


def render(doc: Document) -> bytes:
    """The DOCX file of ``doc``."""
    word = new_docx()
    _page(word, doc.draft)
    _styles(word)
    _paragraph(word, doc.title, TITLE_FONT, TITLE_SIZE, bold=True, center=True, line=Pt(40))
    for p in doc.preamble:
        _text(word, p)
    for part in doc.parts:
        heading = word.add_paragraph(style="Heading 1")
        _run(heading, part.title, HEADING_FONT, BODY_SIZE)
        for p in part.paragraphs:
            _text(word, p)
        if part.table is not None:
            _table(word, part.table, doc)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _page(word: Any, draft: bool) -> None:
    section = word.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE
    (section.top_margin, section.bottom_margin,
     section.left_margin, section.right_margin) = MARGINS
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(footer, "— ", TITLE_FONT, Pt(14))
    _page_number(footer)
    _run(footer, " —", TITLE_FONT, Pt(14))
    if draft:
        header = section.header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        run = _run(header, DRAFT, HEADING_FONT, Pt(16), bold=True)
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


def _page_number(paragraph: Any) -> None:
    """A PAGE field (begin, instruction, separator, shown number, end — one run each): Word, WPS
    and LibreOffice show the number of each page."""
    for kind in ("begin", " PAGE ", "separate", "1", "end"):
        run = _run(paragraph, "", TITLE_FONT, Pt(14))
        if kind in ("begin", "separate", "end"):
            part = OxmlElement("w:fldChar")
            part.set(qn("w:fldCharType"), kind)
        else:
            part = OxmlElement("w:instrText" if kind.strip() == "PAGE" else "w:t")
            part.set(qn("xml:space"), "preserve")
            part.text = kind
        run._r.append(part)


def _styles(word: Any) -> None:
    """Normal as body text, Heading 1 and 2 as the two heading levels, all black."""
    normal = word.styles["Normal"]
    _font(normal.element, BODY_FONT)
    normal.font.size = BODY_SIZE
    fmt = normal.paragraph_format
    fmt.line_spacing = LINE
    fmt.space_before = fmt.space_after = Pt(0)
    for name, font in (("Heading 1", HEADING_FONT), ("Heading 2", SUBHEADING_FONT)):
        style = word.styles[name]
        _font(style.element, font)
        style.font.size = BODY_SIZE
        style.font.bold = False
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
        fmt = style.paragraph_format
        fmt.line_spacing = LINE
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.first_line_indent = Pt(32)
        fmt.keep_with_next = True


def _text(word: Any, p: Paragraph) -> None:
    if p.kind == SUBHEADING:
        _run(word.add_paragraph(style="Heading 2"), p.text, SUBHEADING_FONT, BODY_SIZE)
        return
    para = word.add_paragraph()
    para.paragraph_format.first_line_indent = Pt(32)
    para.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    run = _run(para, p.text, BODY_FONT, BODY_SIZE)
    if p.kind == MISSING:
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _paragraph(
    word: Any, text: str, font: str, size: Pt, *, bold: bool = False, center: bool = False,
    line: Pt = LINE,
) -> Any:
    para = word.add_paragraph()
    if center:
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.paragraph_format.line_spacing = line
    para.paragraph_format.space_after = Pt(16)
    _run(para, text, font, size, bold=bold)
    return para


def _run(paragraph: Any, text: str, font: str, size: Pt, *, bold: bool = False) -> Any:
    run = paragraph.add_run(text)
    _font(run._r, font)
    run.font.size = size
    run.font.bold = bold
    return run


def _font(element: Any, name: str) -> None:
    """Name the font for Latin and East-Asian text alike."""
    fonts = element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _table(word: Any, table: Table, doc: Document) -> None:
    grid = word.add_table(rows=table.height, cols=table.width)
    grid.style = word.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    _cell_margins(grid)
    widths = [int(TEXT_WIDTH * share) for share in table.column_shares()]
    narrow = min(widths[table.label_columns:]) < NARROW
    size = SMALL_TABLE_SIZE if narrow else TABLE_SIZE
    for i, column in enumerate(grid.columns):
        column.width = widths[i]
    for r, row in enumerate(grid.rows):
        props = row._tr.get_or_add_trPr()
        props.append(OxmlElement("w:cantSplit"))
        if r < table.head:
            props.append(OxmlElement("w:tblHeader"))
        for i, cell in enumerate(row.cells):
            cell.width = widths[i]
    headings = {c.row for c in table.cells} - {c.row for c in table.values()}
    for cell in table.cells:
        target = grid.cell(cell.row, cell.col)
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(grid.cell(cell.row + cell.rowspan - 1, cell.col + cell.colspan - 1))
        target.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        para = target.paragraphs[0]
        para.paragraph_format.line_spacing = 1.0
        para.paragraph_format.first_line_indent = Pt(0)
        para.paragraph_format.keep_with_next = cell.row in headings
        para.alignment = WD_ALIGN_PARAGRAPH.LEFT if cell.kind == "row" else WD_ALIGN_PARAGRAPH.CENTER
        _run(para, doc.text(cell), TABLE_FONT, size)
    word.add_paragraph()


def _cell_margins(grid: Any) -> None:
    """The table as wide as the text, its cells' text 1 mm from the borders."""
    width = grid._tbl.tblPr.find(qn("w:tblW"))
    if width is not None:
        width.set(qn("w:type"), "dxa")
        width.set(qn("w:w"), str(int(TEXT_WIDTH.twips)))
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        width = OxmlElement(f"w:{side}")
        width.set(qn("w:w"), str(int(CELL_MARGIN.twips)))
        width.set(qn("w:type"), "dxa")
        margins.append(width)
    props = grid._tbl.tblPr
    look = props.find(qn("w:tblLook"))
    if look is not None:
        look.addprevious(margins)
    else:
        props.append(margins)
