"""The text around the tables: the title (unit and year) and the narrative sections 一 to 六.

The title is the first paragraph naming 政府信息公开工作年度报告; the year is the four digits before
年 in it and the unit is the rest (``夏邑县桑垌乡人民政府2020年政府信息公开工作年度报告``).  A section
starts at a short paragraph beginning with its numeral (``五、``), in order, and runs to the next
one; the edition's narrative cells are the sections whose label starts with the same numeral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..edition.spec import Spec
from .grid import Document, Paragraph
from .text import clean, label

NUMERALS = "一二三四五六七八九十"
#: The title is looked for among the first paragraphs only.
TITLE_PARAGRAPHS = 12
#: A heading is short; a longer paragraph starting with ``二、`` is text.
HEADING_CHARS = 40
_REPORT = "政府信息公开工作年度报告"
_TITLE = re.compile(r"^(?P<before>.*?)(?<!\d)(?P<year>[12]\d{3})\s*年度?\s*(?P<after>.*?)"
                    r"政府信息公开工作年度报告")


@dataclass(frozen=True)
class Title:
    """What the title says: the unit and the year (None where it says nothing)."""

    unit: str | None
    year: int | None
    paragraph: Paragraph | None


def title(doc: Document) -> Title:
    """The unit and year from the report's title: the first paragraph naming the report, or the
    fewest consecutive paragraphs that do so together (a PDF wraps a long title over lines)."""
    paragraphs = list(doc.paragraphs())[:TITLE_PARAGRAPHS]
    texts = [clean(p.text).replace(" ", "") for p in paragraphs]

    def names(i: int, j: int) -> bool:
        return _REPORT in label("".join(texts[i:j]))

    for width in (1, 2, 3):
        for i in range(len(texts) - width + 1):
            j = i + width
            if names(i, j) and not names(i + 1, j) and not names(i, j - 1):
                return _parse_title("".join(texts[i:j]), paragraphs[i])
    return Title(None, None, None)


def _parse_title(text: str, para: Paragraph) -> Title:
    match = _TITLE.match(text)
    if match is None:
        return Title(None, None, para)
    unit = (match["before"] + match["after"]).strip("《》“”\"' ")
    unit = unit.removeprefix("关于").removesuffix("的").strip()
    return Title(unit or None, int(match["year"]), para)


def narrative(doc: Document, spec: Spec, skip_lines: set[int]) -> dict[str, str | None]:
    """The text of each narrative cell of ``spec`` (key → text, None where the section is empty
    or missing); lines of pasted text that were part of a table are left out."""
    wanted: dict[str, str] = {}
    for cell in spec.cells.values():
        if cell.key.startswith("narrative.") and cell.type == "text" and cell.row_path:
            head, sep, _ = cell.row_path[-1].partition("、")
            if sep and head in NUMERALS:
                wanted[head] = cell.key
    texts: dict[str, list[str]] = {key: [] for key in wanted.values()}
    current: str | None = None
    after = -1
    for para in doc.paragraphs():
        if para.where.line is not None and para.where.line in skip_lines:
            continue
        text = clean(para.text)
        numeral = _heading(text, after)
        if numeral is not None:
            after = NUMERALS.index(numeral)
            current = wanted.get(numeral)
            rest = _after_heading(text, numeral, spec)
            if current is not None and rest:
                texts[current].append(rest)
            continue
        if current is not None and text:
            texts[current].append(text)
    return {key: "\n".join(lines) or None for key, lines in texts.items()}


def _heading(text: str, after: int) -> str | None:
    """The numeral of a section heading that may come after section ``after`` (an index)."""
    if len(text) > HEADING_CHARS and "。" in text:
        return None
    head, sep, _ = text.partition("、")
    if sep and len(head) == 1 and head in NUMERALS and NUMERALS.index(head) > after:
        return head
    return None


def _after_heading(text: str, numeral: str, spec: Spec) -> str:
    """Text printed on the heading's own line after the heading words (``六、其他需要报告的事项：无``)."""
    for cell in spec.cells.values():
        if cell.key.startswith("narrative.") and cell.row_path and (
            cell.row_path[-1].startswith(numeral + "、")
        ):
            heading = cell.row_path[-1]
            if label(text).startswith(label(heading)):
                rest = text[len(heading):] if text.startswith(heading) else ""
                return rest.lstrip("：:。 ").strip()
    return ""
