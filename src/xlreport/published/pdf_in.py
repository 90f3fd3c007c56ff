"""Reading the text layer of a PDF with pdfplumber, in a child process with time and memory limits.

Why pdfplumber and not ``pdftotext -layout``: a published table's label cells are narrow, and
their text wraps; ``pdftotext -layout`` writes the wrapped fragments on lines of their own between
the numbers (``4.保护   0  0 …`` / ``第三方`` / ``合法权`` / ``益``), so a row could only be rebuilt by
guessing from column offsets.  pdfplumber finds the table's ruling lines and gives every cell with
its merged extent, so a PDF is read as the same grid as HTML and DOCX.  It is also a pure-Python
wheel that pip installs on Windows, where a county office has no poppler.  Its price is that a
hostile PDF (a Flate bomb, a page of a million operators) costs memory and time inside the
process that parses it; so parsing runs in a child process under ``RLIMIT_AS`` and a time limit,
after the page count has been checked, and hands back plain JSON.  In the child, pdfminer inflates
every stream with a size limit (:data:`MAX_STREAM`; a Flate bomb stops at once instead of filling
the memory), and a stream with a broken checksum is read in one pass (pdfminer's own fallback
joins its output byte by byte, in quadratic time).

Text wrapped inside a cell is one text (a narrow column wraps ``309`` as ``30`` over ``9``): the
lines of a cell are joined without a space.  A table that continues at the top of the next page
with the same columns is joined to the part before it; a row cut in two by the page break (its
label's last characters at the top of the next page, no number among them) is joined back into
one row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UnreadableInput
from .grid import Document, Paragraph, Span, Table, Where
from .text import clean, value

if TYPE_CHECKING:
    from .reader import Limits

#: Column boundaries of two table parts agree within this many points.
TOLERANCE = 2.0
#: No stream of a PDF is inflated past this many bytes: a report's content streams are some
#: kilobytes, its embedded fonts a few megabytes.
MAX_STREAM = 64 * 1024 * 1024


def read_pdf(data: bytes, name: str, limits: Limits) -> Document:
    """The paragraphs and tables of a PDF's text layer."""
    pages = _extract(data, name, limits)
    blocks: list[Paragraph | Table] = []
    tables = 0
    last: tuple[Table, list[float]] | None = None
    for number, page in enumerate(pages, 1):
        items = sorted(
            [("line", line["top"], line) for line in page["lines"]]
            + [("table", table["top"], table) for table in page["tables"]],
            key=lambda item: item[1],
        )
        first = True
        for kind, _top, item in items:
            if kind == "line":
                text = clean(item["text"])
                if text:
                    blocks.append(Paragraph(text, Where("pdf", page=number, line=item["line"])))
                    last = None
                first = False
                continue
            if first and last is not None and _same_columns(last[1], item["columns"]):
                _continue(last[0], item, number, last[0].where.table or 0)
                first = False
                continue
            tables += 1
            table = _table(item, number, tables)
            blocks.append(table)
            last = (table, item["columns"])
            first = False
        if not page["tables"]:
            last = None if any(clean(x["text"]) for x in page["lines"]) else last
    if not blocks:
        raise UnreadableInput(
            f"PDF 文件“{name}”中没有文字层（可能是扫描件或图片），无法读取；请使用网页版或 Word 版的报告",
            code="no_text",
        )
    return Document("pdf", blocks)


def _table(item: dict[str, Any], page: int, number: int) -> Table:
    rows = [[Span(cell["text"], Where("pdf", page=page, table=number, row=r + 1, column=cell["col"] + 1),
                  rowspan=cell["rowspan"], colspan=cell["colspan"])
             for cell in row] for r, row in enumerate(item["rows"])]
    return Table(_positioned(rows, item), Where("pdf", page=page, table=number))


def _positioned(rows: list[list[Span]], item: dict[str, Any]) -> list[list[Span]]:
    """Rows with an empty span filling every position no cell starts at or covers (a PDF table's
    rows list only their own cells; expansion must not shift them left)."""
    width = len(item["columns"]) - 1
    covered: set[tuple[int, int]] = set()
    for r, row in enumerate(item["rows"]):
        for cell in row:
            for dr in range(cell["rowspan"]):
                for dc in range(cell["colspan"]):
                    covered.add((r + dr, cell["col"] + dc))
    out = []
    for r, (row, raw) in enumerate(zip(rows, item["rows"], strict=True)):
        starts = {cell["col"]: span for cell, span in zip(raw, row, strict=True)}
        filled: list[Span] = []
        for c in range(width):
            if c in starts:
                filled.append(starts[c])
            elif (r, c) not in covered:
                filled.append(Span("", Where("pdf", row=r + 1, column=c + 1)))
        out.append(filled)
    return out


def _same_columns(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= TOLERANCE for x, y in zip(a, b, strict=True))


def _continue(table: Table, item: dict[str, Any], page: int, number: int) -> None:
    """Append the part of ``table`` printed at the top of the next page."""
    rows = _table(item, page, number).rows
    if rows and table.rows and _is_cut_row(rows[0]):
        _join_cut_row(table, rows[0])
    table.rows.extend(rows)
    table._grid = None


def _is_cut_row(row: list[Span]) -> bool:
    """The rest of a row cut by the page break: some text, and no number in it."""
    texts = [s for s in row if clean(s.text)]
    return bool(texts) and all(value(s.text) is None for s in texts)


def _join_cut_row(table: Table, tail: list[Span]) -> None:
    """Move the text of a row's cut-off ``tail`` into the row above, position by position, when
    every piece of it lies under a cell that starts in that row; the tail's cells stay (empty),
    since their row spans cover the rows after it."""
    grid = table.grid()
    index = len(table.rows) - 1
    starts = {c: slot.span for c, slot in enumerate(grid[index])
              if slot is not None and slot.top and slot.left}
    pieces: dict[int, Span] = {}
    c = 0
    for span in tail:
        if clean(span.text):
            pieces[c] = span
        c += span.colspan
    if not pieces or not set(pieces) <= set(starts):
        return
    row = table.rows[index]
    for i, span in enumerate(row):
        for c, start in starts.items():
            if start is span and c in pieces:
                row[i] = Span(span.text + pieces[c].text, span.where, span.rowspan, span.colspan)
    for i, span in enumerate(tail):
        if any(span is piece for piece in pieces.values()):
            tail[i] = Span("", span.where, span.rowspan, span.colspan)


# --------------------------------------------------------------------------- the child process


def _extract(data: bytes, name: str, limits: Limits) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="xlreport-pdf-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        command = [sys.executable, "-m", "xlreport.published.pdf_in", str(src),
                   str(limits.max_pdf_pages), str(limits.pdf_memory_bytes)]
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
        try:
            done = subprocess.run(command, capture_output=True, timeout=limits.pdf_seconds,
                                  check=False, env=env)
        except subprocess.TimeoutExpired:
            raise UnreadableInput(
                f"PDF 文件“{name}”读取超过 {limits.pdf_seconds:g} 秒，可能是异常或恶意构造的文件，已停止",
                code="timeout",
            ) from None
    out = done.stdout.decode("utf-8", errors="replace")
    try:
        answer = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        answer = {}
    if "error" in answer:
        raise UnreadableInput(answer["error"].replace("{name}", name), code=answer.get("code", "pdf"))
    if done.returncode != 0 or "pages" not in answer:
        raise UnreadableInput(
            f"PDF 文件“{name}”无法读取（已损坏，或超出内存上限 {limits.pdf_memory_bytes // 2**20} MB）",
            code="damaged",
        )
    pages: list[dict[str, Any]] = answer["pages"]
    return pages


def _child(path: str, max_pages: int, memory: int) -> dict[str, Any]:
    """Run in the child: every page's text lines and tables, as JSON-able data."""
    try:
        import resource  # deferred: POSIX only (no such module on Windows)

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):  # Windows has no RLIMIT_AS: the time limit stays
        pass
    # deferred: pdfplumber and pdfminer only in the child process that parses the PDF
    import pdfplumber
    from pdfminer import pdftypes
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1

    setattr(pdftypes, "zlib", _BoundedZlib)  # noqa: B010 - a module attribute of pdfminer
    setattr(pdftypes, "decompress_corrupted", _inflate_broken)  # noqa: B010

    try:
        with open(path, "rb") as fh:
            count = resolve1(resolve1(PDFDocument(PDFParser(fh)).catalog["Pages"])["Count"])
    except (PDFEncryptionError, PDFPasswordIncorrect):
        return {"error": "PDF 文件“{name}”设置了密码，请取消密码后重试", "code": "encrypted"}
    except Exception:
        return {"error": "PDF 文件“{name}”已损坏，无法读取", "code": "damaged"}
    if not isinstance(count, int) or count > max_pages:
        return {"error": f"PDF 文件“{{name}}”有 {count} 页，超过上限 {max_pages} 页，不像一份年度报告",
                "code": "too_large"}
    pages = []
    try:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                pages.append(_page(page))
                page.close()
    except Exception as exc:  # pdfplumber wraps what pdfminer raises in its own exception
        if not _caused_by(exc, StreamTooLarge):
            raise
        return {"error": f"PDF 文件“{{name}}”中有一段数据解压后超过 {MAX_STREAM // 2**20} MB，"
                "可能是异常或恶意构造的文件，已拒绝读取", "code": "zip_bomb"}
    return {"pages": pages}


def _caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    while exc is not None:
        if isinstance(exc, kind) or any(isinstance(a, kind) for a in exc.args):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class StreamTooLarge(Exception):
    """A stream of the PDF inflates past :data:`MAX_STREAM`."""


def _inflate(data: bytes, *, whole: bool = True) -> bytes:
    """``data`` inflated, refusing more than :data:`MAX_STREAM` bytes; ``whole`` requires the
    stream's end and checksum (as ``zlib.decompress``), else the checksum is not read."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data if whole else data[:-4], MAX_STREAM + 1)
    if len(out) > MAX_STREAM:
        raise StreamTooLarge
    if whole and not inflater.eof:
        raise zlib.error("incomplete or truncated stream")
    return out


def _inflate_broken(data: bytes) -> bytes:
    """pdfminer's reading of a stream whose checksum is wrong."""
    return _inflate(data, whole=False)


class _BoundedZlib:
    """What pdfminer's stream decoder uses of :mod:`zlib`, with the size limit."""

    error = zlib.error

    @staticmethod
    def decompress(data: bytes) -> bytes:
        return _inflate(data)


def _page(page: Any) -> dict[str, Any]:
    found = page.find_tables()
    boxes = [t.bbox for t in found]
    tables = [_table_data(t) for t in found]

    def outside(obj: dict[str, Any]) -> bool:
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    rest = page.filter(outside)
    lines = [{"text": ln["text"], "top": ln["top"], "line": i}
             for i, ln in enumerate(rest.extract_text_lines(), 1)]
    return {"lines": lines, "tables": tables}


def _table_data(table: Any) -> dict[str, Any]:
    """A table found by its ruling lines: column boundaries, and every cell where it starts with
    how many rows and columns it spans."""
    xs = _merge_close(sorted({round(x, 1) for c in table.cells for x in (c[0], c[2])}))
    ys = _merge_close(sorted({round(y, 1) for c in table.cells for y in (c[1], c[3])}))
    texts = table.extract()
    rows: list[list[dict[str, Any]]] = [[] for _ in range(len(ys) - 1)]
    for r, row in enumerate(table.rows):
        for c, box in enumerate(row.cells):
            if box is None:
                continue
            x0, top, x1, bottom = box
            col, at = _index(xs, x0), _index(ys, top)
            if at >= len(rows):
                continue
            rows[at].append({
                "col": col,
                "colspan": max(1, _index(xs, x1) - col),
                "rowspan": max(1, _index(ys, bottom) - at),
                "text": (texts[r][c] or "").replace("\n", ""),
            })
    for cells in rows:
        cells.sort(key=lambda cell: cell["col"])
    return {"top": table.bbox[1], "columns": xs, "rows": rows}


def _merge_close(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in values:
        if not out or v - out[-1] > TOLERANCE:
            out.append(v)
    return out


def _index(bounds: list[float], v: float) -> int:
    return min(range(len(bounds)), key=lambda i: abs(bounds[i] - v))


if __name__ == "__main__":
    try:
        result = _child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    except MemoryError:
        result = {"error": "PDF 文件“{name}”超出内存上限，可能是异常或恶意构造的文件，已拒绝读取",
                  "code": "too_large"}
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
