"""Reading a published report back into checked data: the whole pipeline for one file.

::

    bounded read → format (by content) → reader (HTML, DOCX, PDF, text) → Document
                 → edition (by its labels) → locate the tables' values → title, narrative
                 → checks.validate.check (blanks, totals, every rule)

Every value comes from the one place the edition's labels point at; what cannot be placed
exactly is a problem and the cell stays blank.  :class:`Imported` keeps where every value came
from, for ``--report``.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..checks.narrative import narrative_problems
from ..checks.problems import Problem
from ..checks.validate import Result, check
from ..edition.load import builtin
from ..edition.spec import BUILTIN_EDITIONS, Spec
from ..errors import UnreadableInput, os_reason
from .docx_in import read_docx
from .grid import Document
from .html_in import read_html
from .mapping import Found, Located, locate, printed_tables, typed
from .pdf_in import read_pdf
from .sections import Title, narrative, title
from .text import label
from .text_in import decode, read_text

MB = 1024 * 1024
GENERATOR = f"xlreport {__version__}"


@dataclass(frozen=True)
class Limits:
    """Bounds on what is read at all (see docs/import.md)."""

    max_file_bytes: int = 20 * MB
    max_pdf_bytes: int = 50 * MB
    max_pdf_pages: int = 200
    max_docx_members: int = 2000
    max_docx_member_bytes: int = 50 * MB
    max_docx_total_bytes: int = 100 * MB
    max_html_depth: int = 200
    max_html_elements: int = 200_000
    max_cells: int = 100_000
    pdf_seconds: float = 60.0
    pdf_memory_bytes: int = 256 * MB


DEFAULT_LIMITS = Limits()
SUFFIXES = {".html": "html", ".htm": "html", ".xhtml": "html", ".docx": "docx", ".pdf": "pdf",
            ".txt": "text", ".md": "text", ".markdown": "text", ".text": "text"}


@dataclass
class Imported:
    """A published report read back: the checked result, where each value was found, the source."""

    result: Result
    source: dict[str, str]
    located: dict[str, Found] = field(default_factory=dict)

    @property
    def spec(self) -> Spec:
        return self.result.spec

    @property
    def valid(self) -> bool:
        return self.result.valid

    @property
    def problems(self) -> list[Problem]:
        return self.result.problems

    @property
    def year(self) -> int | None:
        year = self.result.values.get("unit.year")
        return year if isinstance(year, int) else None

    def document(self) -> dict[str, Any]:
        """The report in the upload format, with its ``source``."""
        return self.result.document(source=self.source)

    def summary(self) -> dict[str, Any]:
        """The problem list of ``--report``, with where every value was found."""
        out = self.result.summary()
        out["source"] = self.source
        out["located"] = [f.to_json() for f in self.located.values()]
        return out


def import_report(
    path: Path,
    *,
    spec: Spec | None = None,
    edition: str | None = None,
    unit: str | None = None,
    year: int | None = None,
    strict: bool = False,
    prev: Mapping[str, Any] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Imported:
    """Read and check one published report; raise :class:`UnreadableInput` if it cannot be read."""
    path = Path(path)
    data = read_bounded(path, limits)
    kind = sniff(data, path)
    doc = parse(data, kind, path.name, limits)
    chosen = spec or _edition(doc, edition, year)
    return _checked(doc, chosen, path.name, data, kind, unit, year, strict, prev)


def read_bounded(path: Path, limits: Limits) -> bytes:
    """The whole file, refusing missing, non-regular, empty and oversized files before reading."""
    name = path.name
    cap = limits.max_pdf_bytes if path.suffix.lower() == ".pdf" else limits.max_file_bytes
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise UnreadableInput(f"“{name}”是文件夹，不是一份报告", code="not_found")
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableInput(f"“{name}”不是普通文件", code="not_found")
        if info.st_size > cap:
            raise UnreadableInput(
                f"“{name}”有 {info.st_size / MB:.1f} MB，超过上限 {cap / MB:.0f} MB，不像一份年度报告",
                code="too_large",
            )
        with path.open("rb") as fh:
            data = fh.read(cap + 1)
    except FileNotFoundError:
        raise UnreadableInput(f"找不到文件“{name}”，请检查文件名和所在文件夹", code="not_found") from None
    except PermissionError:
        raise UnreadableInput(f"没有权限读取文件“{name}”", code="not_found") from None
    except OSError as exc:
        raise UnreadableInput(f"无法读取文件“{name}”：{os_reason(exc)}", code="not_found") from None
    if not data:
        raise UnreadableInput(f"“{name}”是空文件（0 字节）", code="empty")
    if len(data) > cap:
        raise UnreadableInput(f"“{name}”超过上限 {cap / MB:.0f} MB", code="too_large")
    return data


def sniff(data: bytes, path: Path) -> str:
    """The format of a file by its content (the name only decides between HTML and text)."""
    name = path.name
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK"):
        return "docx"
    if data.startswith(bytes.fromhex("D0CF11E0A1B11AE1")):
        raise UnreadableInput(
            f"“{name}”是旧版 Word 文档（.doc）或其他 Office 旧格式，请在 Word 或 WPS 中另存为 .docx 后重试",
            code="legacy",
        )
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    suffix = SUFFIXES.get(path.suffix.lower())
    markup = head.startswith(b"<") or b"<html" in head or b"<table" in head or b"<body" in head
    if suffix == "html" or (markup and suffix != "text"):
        return "html"
    if suffix in ("text", None):
        return "text"
    raise UnreadableInput(f"“{name}”的内容与扩展名 {path.suffix} 不符，无法读取", code="not_report")


def parse(data: bytes, kind: str, name: str, limits: Limits) -> Document:
    """The document read by the reader for ``kind``."""
    if kind == "html":
        return read_html(data, name, max_depth=limits.max_html_depth, max_cells=limits.max_cells,
                         max_elements=limits.max_html_elements)
    if kind == "docx":
        return read_docx(data, name, limits)
    if kind == "pdf":
        return read_pdf(data, name, limits)
    return read_text(decode(data, name), name, max_items=limits.max_cells)


# --------------------------------------------------------------------------- edition


def _edition(doc: Document, asked: str | None, year: int | None) -> Spec:
    """The edition whose own labels the document prints (``--edition`` if given); when neither
    edition's own labels are there, the edition in force for the report's year."""
    if asked:
        return builtin(asked)
    specs = [builtin(e) for e in BUILTIN_EDITIONS]
    printed = _document_labels(doc)
    own = {s.edition: _labels(s) - set().union(*(_labels(o) for o in specs if o is not s))
           for s in specs}
    present = {e: sorted(labels & printed) for e, labels in own.items() if labels & printed}
    if len(present) == 1:
        return builtin(next(iter(present)))
    if len(present) > 1:
        shown = "；".join(f"{e} 年版的“{'”“'.join(v[:2])}”" for e, v in present.items())
        raise UnreadableInput(
            f"文件中同时有两个版本报表格式的标签（{shown}），无法确定版本"
            "（用 xlreport import 读取时可以加 --edition 指定）",
            code="edition",
        )
    year = year or title(doc).year
    for s in specs:
        if year is not None and s.years[0] <= year <= s.years[1]:
            return s
    raise UnreadableInput(
        "文件中找不到能确定报表格式版本的统计表标签，也看不出报告年度"
        "（用 xlreport import 读取时可以加 --edition 指定版本）",
        code="edition",
    )


def _labels(spec: Spec) -> set[str]:
    out: set[str] = set()
    for printed in printed_tables(spec):
        for path in (*printed.rows, *printed.columns):
            out.update(label(part) for part in path)
    return out


def _document_labels(doc: Document) -> set[str]:
    out: set[str] = set()
    for table in doc.tables():
        for row in table.rows:
            out.update(label(span.text) for span in row)
    return out


# --------------------------------------------------------------------------- checking


def _checked(
    doc: Document,
    spec: Spec,
    name: str,
    data: bytes,
    kind: str,
    unit: str | None,
    year: int | None,
    strict: bool,
    prev: Mapping[str, Any] | None,
) -> Imported:
    found = locate(doc, spec)
    problems = list(found.problems)
    values: dict[str, Any] = {}
    invalid = set(found.invalid)
    for key, where in found.values.items():
        typed_value, problem = typed(where, spec)
        if problem is not None:
            problems.append(problem)
            if problem.is_error:
                invalid.add(key)
        values[key] = typed_value
    problems.extend(_missing(spec, found, invalid))
    head = title(doc)
    values.update(_unit(spec, head, unit, year, problems))
    values.update({k: v for k, v in narrative(doc, spec, found.used_lines).items() if v})
    result = check(spec, values, prev=prev, strict=strict, invalid=frozenset(invalid))
    result.problems[:0] = problems
    result.problems.extend(narrative_problems(spec, result.values))
    source = {
        "file": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "format": kind,
        "edition": spec.edition,
        "generator": GENERATOR,
    }
    return Imported(result, source, found.values)


def _missing(spec: Spec, found: Located, invalid: set[str]) -> list[Problem]:
    """A table or row that is not in the document: its cells stay blank, an error each (unless
    all its cells are optional, or all are totals that are computed anyway)."""
    out = []
    for printed in printed_tables(spec):
        keys = [k for row in printed.keys for k in row]
        if all(spec.cell(k).optional for k in keys):
            continue
        if printed.name not in found.tables_found:
            rows = "、".join(f"“{r[-1]}”" for r in printed.rows[:3] if r)
            out.append(Problem(
                severity="error", code="table_missing", keys=tuple(keys),
                message=f"文件中找不到{printed.name}" + (f"（{rows}等行）" if rows else "")
                + "，这张表的数都没有读取",
            ))
            invalid.update(keys)
            continue
        for r, row_keys in enumerate(printed.keys):
            absent = [k for k in row_keys if k not in found.values and k not in found.invalid]
            if absent and not all(spec.cell(k).computed for k in absent):
                out.append(Problem(
                    severity="error", code="table_missing", keys=tuple(absent),
                    message=f"{printed.row_name(r)}：文件中找不到这一行，这一行的数都没有读取",
                ))
                invalid.update(absent)
    return out


def _unit(
    spec: Spec, head: Title, unit: str | None, year: int | None, problems: list[Problem]
) -> dict[str, Any]:
    """Unit name and year: ``--unit``/``--year`` first, else the title's."""
    values: dict[str, Any] = {}
    name = unit if unit is not None else head.unit
    when = year if year is not None else head.year
    if "unit.name" in spec.cells and name:
        values["unit.name"] = name
    if "unit.year" in spec.cells and when is not None:
        lo, hi = spec.years
        if lo <= when <= hi:
            values["unit.year"] = when
        else:
            problems.append(Problem(
                severity="error", code="year_range", keys=("unit.year",),
                message=f"报告年度 {when} 不在 {spec.edition} 年版格式的适用年度（{lo}–{hi}）内；"
                "请核对报告年度（用 xlreport import 读取时可以加 --year、--edition 指定）",
            ))
    if (name is None or when is None) and head.paragraph is None:
        problems.append(Problem(
            severity="warning", code="table_missing",
            message="文件开头找不到“…年政府信息公开工作年度报告”标题"
            "（用 xlreport import 读取时可以加 --unit、--year 指定单位名称和年度）",
        ))
    return values
