"""Reading a Word document (``.docx``) with python-docx.

Before python-docx sees the file, its zip is bounded: members, each member's and the total
inflated size and the compression ratio, as declared in the central directory (Python's zipfile
never inflates a member past its declared size).  The body is then read in order — paragraphs,
and tables whose merged cells are taken from the document's own grid (``w:gridSpan`` across,
``w:vMerge`` down, ``w:gridBefore`` for a row that starts late).
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING, Any

from ..errors import UnreadableInput
from .grid import Document, Paragraph, Span, Table, Where
from .text import clean

if TYPE_CHECKING:
    from .reader import Limits

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MIN_RATIO_BYTES = 1024 * 1024
MAX_RATIO = 200


def read_docx(data: bytes, name: str, limits: Limits) -> Document:
    """The paragraphs and tables of a Word document."""
    _check_zip(data, name, limits)
    import docx  # deferred: python-docx (and lxml) only when a .docx is read, after the zip check

    try:
        document = docx.Document(io.BytesIO(data))
    except (SyntaxError, KeyError, ValueError, zipfile.BadZipFile):  # lxml's XMLSyntaxError too
        raise UnreadableInput(f"Word 文档“{name}”已损坏或不是 .docx 格式", code="damaged") from None
    except Exception:  # python-docx raises its own PackageNotFoundError and others
        raise UnreadableInput(f"Word 文档“{name}”无法打开（文件结构不完整或已损坏）",
                              code="damaged") from None
    blocks: list[Paragraph | Table] = []
    counts = {"table": 0, "paragraph": 0, "cells": 0}
    _body(document.element.body, blocks, counts, limits.max_cells, name)
    if not blocks:
        raise UnreadableInput(f"Word 文档“{name}”中没有可读的文字", code="empty")
    return Document("docx", blocks)


def _check_zip(data: bytes, name: str, limits: Limits) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
        raise UnreadableInput(f"“{name}”不是完整的 Word 文档（zip 结构有误）", code="damaged") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_docx_members:
            raise _bomb(name, f"包含 {len(infos):,} 个压缩成员")
        total = 0
        for info in infos:
            size = info.file_size
            if size > limits.max_docx_member_bytes:
                raise _bomb(name, f"中的 {info.filename} 解压后有 {size // (1024 * 1024)} MB")
            if size > MIN_RATIO_BYTES and size > MAX_RATIO * max(info.compress_size, 1):
                raise _bomb(name, f"中的 {info.filename} 压缩比超过 {MAX_RATIO}:1")
            total += size
        if total > limits.max_docx_total_bytes:
            raise _bomb(name, f"解压后共有 {total // (1024 * 1024)} MB")
        names = {info.filename for info in infos}
    if "word/document.xml" not in names:
        kind = "Excel 工作簿" if any(n.startswith("xl/") for n in names) else "zip 压缩包或其他文档"
        raise UnreadableInput(f"“{name}”不是 Word 文档，而是{kind}", code="not_docx")


def _bomb(name: str, detail: str) -> UnreadableInput:
    return UnreadableInput(
        f"Word 文档“{name}”{detail}，超出安全上限，可能是异常或恶意构造的文件，已拒绝读取",
        code="zip_bomb",
    )


def _body(parent: Any, blocks: list[Paragraph | Table], counts: dict[str, int],
          max_cells: int, name: str) -> None:
    for child in parent.iterchildren():
        tag = child.tag
        if tag == f"{W}p":
            text = clean(_text(child))
            if text:
                counts["paragraph"] += 1
                blocks.append(Paragraph(text, Where("docx", line=counts["paragraph"])))
        elif tag == f"{W}tbl":
            counts["table"] += 1
            blocks.append(_table(child, counts, max_cells, name))
        elif tag in (f"{W}sdt", f"{W}sdtContent", f"{W}customXml"):
            _body(child, blocks, counts, max_cells, name)


def _text(element: Any) -> str:
    """The text of a paragraph or cell: its runs' text, tabs and breaks as spaces, hidden runs
    (``w:vanish``) left out."""
    parts: list[str] = []
    for node in element.iter(f"{W}t", f"{W}tab", f"{W}br", f"{W}cr", f"{W}p"):
        tag = node.tag
        if tag == f"{W}t":
            run = node.getparent()
            props = run.find(f"{W}rPr") if run is not None else None
            if props is not None and props.find(f"{W}vanish") is not None:
                continue
            parts.append(node.text or "")
        elif tag == f"{W}p":
            parts.append(" ")
        else:
            parts.append(" ")
    return "".join(parts)


def _table(tbl: Any, counts: dict[str, int], max_cells: int, name: str) -> Table:
    number = counts["table"]
    raw: list[list[tuple[Any, int, str | None]]] = []
    for tr in tbl.iterchildren(f"{W}tr"):
        row: list[tuple[Any, int, str | None]] = []
        before = tr.find(f"{W}trPr/{W}gridBefore")
        if before is not None:
            row.append((None, _int(before), None))
        for tc in tr.iterchildren(f"{W}tc"):
            counts["cells"] += 1
            if counts["cells"] > max_cells:
                raise UnreadableInput(
                    f"Word 文档“{name}”中的表格单元格超过 {max_cells:,} 个，不像一份年度报告，已拒绝读取",
                    code="too_large",
                )
            span = tc.find(f"{W}tcPr/{W}gridSpan")
            merge = tc.find(f"{W}tcPr/{W}vMerge")
            state = None if merge is None else (merge.get(f"{W}val") or "continue")
            row.append((tc, _int(span) if span is not None else 1, state))
        raw.append(row)
    # grid column of every cell, then how far each vMerge restart reaches down
    starts: list[list[int]] = []
    for row in raw:
        col, cols = 0, []
        for _tc, span, _state in row:
            cols.append(col)
            col += span
        starts.append(cols)
    rows: list[list[Span]] = []
    for r, row in enumerate(raw):
        out: list[Span] = []
        for c, (tc, span, state) in enumerate(row):
            if state == "continue":
                continue
            where = Where("docx", table=number, row=r + 1, column=c + 1)
            if tc is None:
                out.append(Span("", where, colspan=span))
                continue
            down = 1
            if state == "restart":
                col = starts[r][c]
                while r + down < len(raw) and _continues(raw[r + down], starts[r + down], col):
                    down += 1
            out.append(Span(clean(_text(tc)), where, rowspan=down, colspan=span))
        rows.append(out)
    return Table(rows, Where("docx", table=number))


def _continues(row: list[tuple[Any, int, str | None]], starts: list[int], col: int) -> bool:
    return any(s == col and state == "continue" for (_, _, state), s in zip(row, starts, strict=True))


def _int(element: Any) -> int:
    try:
        return max(1, min(int(element.get(f"{W}val") or 1), 1000))
    except ValueError:
        return 1
