"""``xlreport audit``: a folder of published reports checked the way ``collect`` checks returns.

A supervising office points it at the reports its units have published (web pages, Word, PDF,
pasted text; any mix).  Each file is imported (:func:`xlreport.published.reader.import_report`:
the statistics by their labels, every rule, the narrative against the tables) in collect's
worker pool, bounded in time, and gets one row of the summary: unit, year, edition, status, the
first error and warning, and where the text contradicts the tables.  The outputs are collect's —
``summary.xlsx``, ``summary.csv``, ``problems.jsonl`` and the upload JSON of every valid report —
written the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..published.reader import SUFFIXES, import_report
from .collect import COLUMNS, UNREADABLE, Collected, Kind, Progress, Read, Row, Task, gather

#: collect's columns without last year's report, with the narrative's mismatches.
AUDIT_COLUMNS = (
    *(c for c in COLUMNS if c[1] not in ("previous", "output", "duplicates")),
    ("正文与表格不符数", "narrative_count", 10),
    ("正文与表格不符之处", "narrative", 80),
    *(c for c in COLUMNS if c[1] in ("duplicates", "output")),
)
#: What to say about a file that is not a published report, by its suffix.
_NOT_PUBLISHED = {
    ".doc": "是旧版 Word 文档（.doc），请在 Word 或 WPS 中另存为 .docx",
    ".wps": "是 WPS 文字文档（.wps），请在 WPS 中另存为 .docx",
    ".xlsx": "是 Excel 工作簿；填好的报表请用 xlreport collect 读取",
    ".json": "是 JSON 文件；上报 JSON 请用 xlreport validate 校验",
    ".ofd": "是 OFD 版式文件，请改用网页版、Word 版或 PDF 版的报告",
}


def audit(
    inputs: Sequence[Path],
    out_dir: Path,
    *,
    jobs: int | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> Collected:
    """Import every published report under ``inputs``; the summary and reports to ``out_dir``."""
    return gather(inputs, out_dir, AUDIT, jobs=jobs, strict=strict, progress=progress)


def _read_published(task: Task) -> Read:
    imported = import_report(task.path, strict=task.strict)
    return Read(imported.result, imported.document() if imported.valid else None)


def _not_published(index: int, path: Path, shown: str) -> Row:
    if path.name.startswith("~$"):
        why = "是 Word/WPS 打开文件时生成的临时文件，不是报告；可以删除"
    else:
        suffix = path.suffix.lower()
        why = _NOT_PUBLISHED.get(
            suffix, f"扩展名为“{suffix or '（无）'}”，请提供网页（.html）、Word（.docx）、PDF 或文本（.txt）"
        )
    return Row(index, shown, UNREADABLE, errors=1, first_error=f"不是已公开的报告：{why}",
               reason="not_report")


AUDIT = Kind(
    reads=lambda path: path.suffix.lower() in SUFFIXES,
    read=_read_published,
    refuse=_not_published,
    what="已公开的报告所在的文件夹或文件",
    phase="读取已公开的报告",
    sheet="核对结果",
    columns=AUDIT_COLUMNS,
)
