"""Reading pasted text (``.txt``) and Markdown (``.md``): lines, fields and Markdown tables.

Text copied from a web page or a PDF keeps a table's cells in reading order only: a browser
writes a tab between cells, a PDF viewer spaces.  So each line is split into fields — on tabs if
the text has any, otherwise on runs of spaces — and those lines become one table without
positions.  A Markdown table (``| a | b |`` lines) is a real grid and keeps its positions.  Every
line is also a paragraph, for the title and the narrative.
"""

from __future__ import annotations

import re

from ..errors import UnreadableInput
from .grid import Document, Paragraph, Span, Table, Where

_MD_RULE = re.compile(r"^\|?[\s:|-]*-[\s:|-]*\|?$")
_MD_DECORATION = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+(?=\S)|>\s*)|\*\*|__")
_SPACES = re.compile(r"[ \u00a0\u3000]+")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


def decode(data: bytes, name: str) -> str:
    """The text of a pasted report: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    if b"\0" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableInput(f"“{name}”不是文本文件（含有二进制内容）", code="not_text")
    for encoding in ("utf-8-sig", "utf-16", "gb18030"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableInput(
        f"“{name}”不是 UTF-8 或 GBK 编码的文本，请另存为 UTF-8 编码后重试", code="not_text"
    )


def read_text(text: str, name: str = "文本", *, max_items: int = 100_000) -> Document:
    """The paragraphs and tables of pasted text or Markdown; more than ``max_items`` lines and
    fields together are refused (a report has some thousands)."""
    if max(text.count("\n"), text.count("\r")) > max_items:
        raise _too_many(name, max_items)
    tabbed = "\t" in text
    items = 0
    blocks: list[Paragraph | Table] = []
    stream: list[list[Span]] = []
    markdown: list[list[Span]] = []
    tables = 0

    def close_markdown() -> None:
        nonlocal markdown, tables
        if markdown:
            tables += 1
            blocks.append(Table(markdown, Where("text", table=tables,
                                                line=markdown[0][0].where.line)))
            markdown = []

    for n, found in enumerate(_LINE.finditer(text), 1):
        raw = found.group()
        line = raw.strip()
        if not line:
            continue
        items += 1 + raw.count("\t") + raw.count("|") + raw.count(" ")
        if items > max_items:
            raise _too_many(name, max_items)
        if line.startswith("|"):
            if not _MD_RULE.match(line):
                cells = line.strip("|").split("|")
                markdown.append([Span(_plain(c), Where("text", line=n, column=j))
                                 for j, c in enumerate(cells, 1)])
            continue
        close_markdown()
        if tabbed and "\t" in raw:
            fields = raw.split("\t")
        else:
            blocks.append(Paragraph(_plain(line), Where("text", line=n)))
            fields = [line] if tabbed else _SPACES.split(line)
        stream.append([Span(_plain(f), Where("text", line=n, column=j))
                       for j, f in enumerate(fields, 1) if f.strip()])
    close_markdown()
    blocks.append(Table(stream, Where("text"), positional=False))
    return Document("text", blocks)


def _plain(text: str) -> str:
    """A line or cell without Markdown decoration (``## ``, ``**``, list bullets)."""
    return _MD_DECORATION.sub("", text).strip()


def _too_many(name: str, limit: int) -> UnreadableInput:
    return UnreadableInput(f"“{name}”中的行和数超过 {limit:,} 项，不像一份年度报告，已拒绝读取",
                           code="too_large")
