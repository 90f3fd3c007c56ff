"""How an edition is published as a document: title, preamble and the sections in order.

The ``publication`` part of a spec file is data like the tables: the title and the preamble are
text templates whose ``{unit.name}``-style placeholders are cell keys, and each section names the
narrative cell, the sentence and the sheet (or some of its blocks) printed under its heading::

    publication:
      title: "{unit.name}{unit.year}年政府信息公开工作年度报告"
      preamble: [本报告根据…编制。, 本报告中所列数据的统计期限自{unit.year}年1月1日起至{unit.year}年12月31日止。]
      sections:
        - {title: 一、总体情况, text: narrative.overview}
        - {title: 二、主动公开政府信息情况, table: 二、主动公开}

A reference to a cell or sheet that the edition does not have (a custom edition removed it) does
not stop the spec from loading — templates and checks do not need the document — but it is kept
as a message, with the file and line, that publishing the report shows (:attr:`Publication.broken`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .source import Locate

if TYPE_CHECKING:
    from .spec import Cell, Sheet

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)\}")
_NUMBER = re.compile(r"^([一二三四五六七八九十]+)、")


@dataclass(frozen=True)
class Section:
    """One numbered section: its heading and what is printed under it, in this order — the
    narrative cell ``text``, the sentence ``statement``, the table of sheet ``table`` (only the
    blocks captioned in ``blocks`` when given)."""

    title: str
    text: str | None = None
    statement: str | None = None
    table: str | None = None
    blocks: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        """The Chinese numeral the heading starts with: ``一`` for ``一、总体情况``."""
        found = _NUMBER.match(self.title)
        return found.group(1) if found else ""


@dataclass(frozen=True)
class Publication:
    """The document of an edition; ``broken`` lists references the edition cannot satisfy."""

    title: str
    preamble: tuple[str, ...]
    sections: tuple[Section, ...]
    broken: tuple[str, ...] = ()


def placeholders(template: str) -> list[str]:
    """The cell keys a text template refers to, in order."""
    return _PLACEHOLDER.findall(template)


def fill(template: str, values: Mapping[str, str]) -> str | None:
    """``template`` with each placeholder replaced by its value; None when one of them is blank
    (a sentence about a blank value is left out rather than printed with a hole)."""
    if any(not values.get(key) for key in placeholders(template)):
        return None
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def from_data(
    raw: Mapping[str, Any],
    sheets: tuple[Sheet, ...],
    cells: Mapping[str, Cell],
    locate: Locate,
) -> Publication:
    """The publication of an edition, its references checked against its sheets and cells."""
    sections = tuple(
        Section(
            title=s["title"],
            text=s.get("text"),
            statement=s.get("statement"),
            table=s.get("table"),
            blocks=tuple(s.get("blocks", ())),
        )
        for s in raw.get("sections", ())
    )
    publication = Publication(raw.get("title", ""), tuple(raw.get("preamble", ())), sections)
    broken = tuple(_broken(raw, publication, sheets, cells, locate))
    return Publication(publication.title, publication.preamble, sections, broken)


def _broken(
    raw: Mapping[str, Any],
    pub: Publication,
    sheets: tuple[Sheet, ...],
    cells: Mapping[str, Cell],
    locate: Locate,
) -> Iterator[str]:
    here = ["publication"]
    if not pub.title:
        yield f"{locate(here)}：publication 要写 title（报告标题）"
    if not pub.sections:
        yield f"{locate(here)}：publication 要写 sections（报告的各部分）"
    templates: list[tuple[list[Any], str]] = [(["title"], pub.title)]
    templates += [(["preamble", i], text) for i, text in enumerate(pub.preamble)]
    by_name = {sheet.name: sheet for sheet in sheets}
    numbers: dict[str, int] = {}
    for i, section in enumerate(pub.sections):
        at = ["sections", i]
        if section.number in numbers:
            yield (f"{locate([*here, *at, 'title'])}：“{section.number}、”与第 {numbers[section.number] + 1} "
                   "部分重复；各部分的编号要各不相同")
        numbers.setdefault(section.number, i)
        if section.text is not None:
            cell = cells.get(section.text)
            if cell is None or cell.type != "text":
                yield f"{locate([*here, *at, 'text'])}：没有键名为“{section.text}”的文字单元格"
        if section.statement is not None:
            templates.append(([*at, "statement"], section.statement))
        if section.table is not None:
            sheet = by_name.get(section.table)
            if sheet is None:
                yield (f"{locate([*here, *at, 'table'])}：没有名为“{section.table}”的工作表"
                       f"（有 {'、'.join(by_name)}）")
                continue
            captions = [b.caption for b in sheet.blocks]
            for j, caption in enumerate(section.blocks):
                if caption not in captions:
                    yield (f"{locate([*here, *at, 'blocks', j])}：工作表“{sheet.name}”中没有标题为"
                           f"“{caption}”的表格块")
    for path, text in templates:
        for key in placeholders(text):
            if key not in cells:
                yield f"{locate([*here, *path])}：没有键名为“{key}”的单元格（{{{key}}}）"
        if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
            yield f"{locate([*here, *path])}：花括号只用来写单元格键名，如 {{unit.name}}"
    shown = {(s.table, c) for s in pub.sections if s.table for c in s.blocks}
    whole = {s.table for s in pub.sections if s.table and not s.blocks}
    numeric = {(c.sheet, c.block) for c in cells.values() if c.numeric}
    for si, sheet in enumerate(sheets):
        for bi, block in enumerate(sheet.blocks):
            if (sheet.name, bi) not in numeric or sheet.name in whole:
                continue
            if (sheet.name, block.caption) not in shown:
                what = f"的表格块“{block.caption}”" if block.caption else ""
                yield (f"{locate(['sheets', si, 'blocks', bi])}：工作表“{sheet.name}”{what}的数字不在"
                       f"发布的报告中；请在 publication 的 sections 中写上它（table: {sheet.name}）")
