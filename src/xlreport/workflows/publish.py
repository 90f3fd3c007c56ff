"""Publishing a report (``xlreport publish``): the official annual report rendered from its data.

::

    load the report (upload JSON, a filled workbook or a merged total) and check it
      → refuse it if it is invalid or a section has no text (unless a draft)
      → the narrative to be printed against the tables (checks.narrative: warnings)
      → the document (published.document) → DOCX / HTML / PDF, each written atomically

A document rendered from the validated data cannot disagree with it: every number is the data's
own, and a report that fails its checks is not published except as a draft marked 草稿.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks.narrative import narrative_problems
from ..checks.problems import Problem
from ..checks.validate import Result
from ..edition.publication import Publication
from ..edition.spec import Spec
from ..errors import UnreadableInput, UsageError, os_reason
from ..outputs import Outputs
from ..published import docx, html, pdf
from ..published.document import Document, Narrative, document, narrative
from ..workbook.precheck import looks_like_workbook
from .check import read_report, validate_report

#: What each output suffix is written as.
FORMATS = {".docx": "docx", ".html": "html", ".htm": "html", ".pdf": "pdf"}
#: A text file of the narrative larger than this is not a report's text.
MAX_TEXT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Loaded:
    """A checked report, the cells its data left blank (printed blank) and the values to print."""

    result: Result
    blank: frozenset[str]
    values: dict[str, Any]


@dataclass
class Published:
    """What publishing did: the check of the report, what stops it from being published (empty
    when it was), and the files written."""

    result: Result
    refusals: list[Problem] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    draft: bool = False
    #: Where the text to be printed states a figure its tables do not have.
    narrative: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.result.valid and not self.refusals


def load(path: Path, spec_file: Path | None = None) -> Loaded:
    """Read and check a report: a filled workbook (zip) or upload JSON, a merged total included.
    A number is printed as the JSON writes it (``12.50``), a computed total as computed."""
    path = Path(path)
    if looks_like_workbook(path):
        result, written = read_report(path, spec_file=spec_file).result, {}
    else:
        checked = validate_report(path, spec_file=spec_file)
        result, written = checked.result, checked.written
    blank = frozenset(k for p in result.problems if p.code == "blank" for k in p.keys)
    values = {k: written[k] if k in written and written[k] == v else v
              for k, v in result.values.items()}
    return Loaded(result, blank, values)


def publish(
    path: Path,
    outputs: Sequence[Path],
    *,
    spec_file: Path | None = None,
    text_file: Path | None = None,
    draft: bool = False,
    fragment: bool = False,
) -> Published:
    """Render the report at ``path`` into each of ``outputs`` (format by suffix).

    Nothing is written when the report is invalid or a section lacks its text, unless ``draft``:
    then the gaps are marked 【待填写：…】 and every page says 草稿.
    """
    with Outputs([path, spec_file, text_file]) as staged:
        kinds = _formats(outputs, staged)
        if "pdf" in kinds:
            pdf.soffice()
        loaded = load(path, spec_file)
        spec = loaded.result.spec
        text = narrative(_read_text(text_file), spec, name=text_file.name) if text_file else None
        doc = document(spec, loaded.values, blank=loaded.blank, narrative=text, draft=draft)
        done = Published(loaded.result, _missing(doc, spec.publication, text), draft=draft)
        done.narrative = narrative_problems(spec, _printed_text(loaded.values, spec, text))
        if not draft and not done.valid:
            return done
        rendered: dict[str, bytes] = {}
        for out, kind in zip(outputs, kinds, strict=True):
            if kind not in rendered:
                rendered[kind] = _render(kind, doc, rendered, fragment)
            done.written.append(staged.write(out, rendered[kind], suffixes=tuple(FORMATS)))
        staged.commit()
    return done


def _printed_text(values: dict[str, Any], spec: Spec, text: Narrative | None) -> dict[str, Any]:
    """The values with the narrative cells as they will be printed (``--text`` replaces a
    section's own text)."""
    if text is None or spec.publication is None:
        return values
    out = dict(values)
    for section in spec.publication.sections:
        if section.text and section.number in text.sections:
            out[section.text] = text.sections[section.number]
    return out


def _render(kind: str, doc: Document, rendered: dict[str, bytes], fragment: bool) -> bytes:
    if kind == "html":
        return html.render(doc, fragment=fragment).encode("utf-8")
    word = rendered.get("docx") or docx.render(doc)
    if kind == "docx":
        return word
    rendered.setdefault("docx", word)
    return pdf.from_docx(word)


def _formats(outputs: Sequence[Path], staged: Outputs) -> list[str]:
    """The format of each output; refuses an unknown suffix, an output that is an input, and
    the same output twice — before anything is read."""
    if not outputs:
        raise UsageError("请用 -o 指定输出文件，如 -o 报告.docx（也可以是 .html、.pdf，可以写几个 -o）")
    kinds = []
    seen: set[Path] = set()
    for out in outputs:
        kind = FORMATS.get(out.suffix.lower())
        if kind is None:
            raise UsageError(f"不知道把报告写成什么格式：“{out.name}”；输出文件名应以 .docx、.html 或 .pdf 结尾")
        staged.check(out)
        if out.resolve() in seen:
            raise UsageError(f"输出文件“{out.name}”写了两次")
        seen.add(out.resolve())
        kinds.append(kind)
    return kinds


def _missing(doc: Document, publication: Publication | None, text: Narrative | None) -> list[Problem]:
    """One error naming every section without its text, and where to write it."""
    if not doc.missing:
        return []
    where = "在填报模板的“文字部分”填写，或用 --text 给出正文文件（以各部分的标题分段）"
    if text is not None:
        where = "在 --text 的正文文件中以这些标题分段写上（或在填报模板的“文字部分”填写）"
    sections = publication.sections if publication is not None else ()
    keys = tuple(s.text for s in sections if s.title in doc.missing and s.text)
    return [Problem(
        severity="error", code="required", keys=keys,
        message=f"报告缺少这些部分的文字：{'、'.join(doc.missing)}；请{where}",
    )]


def _read_text(path: Path) -> str:
    """The narrative file: UTF-8 (with or without BOM) or GBK text."""
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise UnreadableInput(f"正文文件 {path.name} 太大（{size} 字节），不是一份报告的文字", code="too_large")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableInput(f"找不到正文文件 {path}", code="not_found") from None
    except OSError as exc:
        raise UnreadableInput(f"无法读取正文文件 {path}：{os_reason(exc)}", code="not_found") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableInput(f"正文文件 {path.name} 不是 UTF-8 或 GBK 编码的文本", code="text_encoding")
