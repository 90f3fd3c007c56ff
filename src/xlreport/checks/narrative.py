"""What the narrative says about the statistics, compared with the tables.

A report's text often restates its key figures — 共收到政府信息公开申请 749 件，其中本年新收 713 件、
上年结转 36 件；办结 740 件，结转下年度继续办理 9 件；未发生行政复议、行政诉讼；制发行政规范性文件 3 件.
:func:`narrative_problems` finds such statements in the narrative cells and compares each with the
tables; a figure that differs is a warning naming the section, the sentence, the figure and what the
table says (``正文称收到申请 749 件，表三为 713 + 36 = 740 件``).

A statement is read only when it is unambiguous: one number (``N 件``/``宗``/``起``) after exactly
one figure named since the previous number in the same clause (several figures share a number only
with 各/均/都), or a clause that names a figure after 未/没有/无 and prints no number (0).  Request
figures are read only in a sentence (or under a heading) that speaks of 申请.  The request and
appeal figures are the edition's totals by key; the rows and columns of 规章 and 行政规范性文件 are
found by their labels in the spec, so both editions' wordings (新制作/制发, 废止, 现行有效 …) follow
the spec.  Anything else is left alone: a missed statement costs nothing, a wrong warning would.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..edition.spec import Spec
from .problems import Problem


@dataclass(frozen=True)
class Figure:
    """A figure the narrative may state: its name in a message, the sums of cells it may mean (a
    statement agrees with the tables when it equals any one of them) and the names of the first
    sum's terms when it has several."""

    name: str
    readings: tuple[tuple[str, ...], ...]
    terms: str = ""


_NEW, _OVER = "requests.new.total", "requests.carried_over.total"
#: Request and appeal figures: the words that name one in a clause (tried in this order at each
#: place), and what it means.
_NAMED: tuple[tuple[str, str, Figure], ...] = (
    ("carried_forward", r"结转(?:至|到)?下一?年度?|转入下一?年度?|下一?年度?继续办理",
     Figure("结转下年度继续办理的申请", (("requests.carried_forward.total",),))),
    ("carried_over", r"上一?年度?结转|结转上一?年度?|上一?年度?遗留",
     Figure("上年结转的申请", ((_OVER,),))),
    ("new", r"新收|新受理|新接收|新接到|新增",
     Figure("本年新收的申请", ((_NEW,),))),
    ("processed", r"办结|办理完毕|完成办理|已办理|共办理|答复",
     Figure("办理（办结）的申请", (("requests.results.total.total",),))),
    ("received", r"收到|受理|接收|接到|共收",
     # 共收到 N 件 means the new and the carried-over requests, or in some reports the new ones
     Figure("收到的申请", ((_NEW, _OVER), (_NEW,)), "本年新收 + 上年结转")),
    ("review", r"行政复议", Figure("行政复议", (("appeals.review.total",),))),
    ("litigation", r"行政诉讼|提起诉讼|被诉|应诉",
     Figure("行政诉讼", (("appeals.litigation_direct.total", "appeals.litigation_after_review.total"),),
            "未经复议直接起诉 + 复议后起诉")),
)
_REQUESTS = {"carried_forward", "carried_over", "new", "processed", "received"}
#: Figures a negated clause sets to 0 (未收到申请, 未发生行政复议); 未办结 says nothing exact.
_NEGATABLE = {"received", "new", "review", "litigation", "made"}
#: Documents of table 二 by a word naming them, and the label that finds their row in the spec.
_DOCUMENTS = (("规章", r"规章(?!制度)"), ("规范性文件", r"规范性文件"))
#: What is done to documents (tried in this order), and the words of the column label it means.
_ACTIONS = (
    ("total", r"累计公开|对外公开总|公开总数", "对外公开总"),
    ("repealed", r"废止|废除", "废止"),
    ("in_force", r"现行有效", "现行有效"),
    ("made", r"制发|制定|制作|新制|出台|印发", "制"),
    ("published", r"新公开|公开", "新公开"),
)
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)\s*(?:件次|件|宗|起)")
_EACH = re.compile(r"各|均|都")
_NEGATION = re.compile(r"未(?!经|予|按|能)|没有|尚无|暂无|无(?!正当|法)")
_SENTENCE = re.compile(r"[^。！？；;!?\n]+[。！？；;!?]?")
_CLAUSE = re.compile(r"[，,：:（）()]")
#: A line this short without 。 is a heading; it gives the lines after it their subject.
_HEADING = 40
#: A sentence is quoted in a message up to this many characters.
_QUOTE = 80


def narrative_problems(spec: Spec, values: Mapping[str, Any]) -> list[Problem]:
    """A warning for every figure the narrative states that differs from the tables."""
    figures = _document_figures(spec)
    out: list[Problem] = []
    for cell in spec.cells.values():
        text = values.get(cell.key)
        if not cell.key.startswith("narrative.") or cell.type != "text" or not isinstance(text, str):
            continue
        section = cell.row_path[-1] if cell.row_path else cell.key
        for sentence, stated in _statements(text, figures):
            for figure, number in stated:
                problem = _compare(spec, values, section, sentence, figure, number)
                if problem is not None:
                    out.append(problem)
    return out


def _document_figures(spec: Spec) -> dict[tuple[str, str], Figure]:
    """(document, action) → the figure of table 二 whose row and column labels name them."""
    out: dict[tuple[str, str], Figure] = {}
    for cell in spec.cells.values():
        if not cell.numeric or not cell.row_path or not cell.col_path:
            continue
        row, col = cell.row_path[-1], cell.col_path[-1]
        for document, _ in _DOCUMENTS:
            if row != document and not (document == "规范性文件" and row == "行政规范性文件"):
                continue
            for action, _, words in _ACTIONS:
                if words in col and (document, action) not in out:
                    out[document, action] = Figure(f"{row}（{col}）", ((cell.key,),))
    return out


@dataclass
class _State:
    """What a sentence has named so far: the document and action of table 二 it speaks of."""

    document: str | None = None
    action: str | None = None


def _statements(
    text: str, documents: Mapping[tuple[str, str], Figure]
) -> list[tuple[str, list[tuple[Figure, int]]]]:
    """Each sentence of ``text`` that states figures, with (figure, number) for each."""
    out = []
    about_requests = False
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if len(line) <= _HEADING and "。" not in line:
            about_requests = "申请" in line
        for sentence in _SENTENCE.findall(line):
            state = _State()
            requests = about_requests or "申请" in sentence
            stated = []
            for clause in _CLAUSE.split(unicodedata.normalize("NFKC", sentence)):
                stated += _clause(clause, state, requests, documents)
            if stated:
                out.append((sentence.strip().rstrip("。；;"), stated))
    return out


def _clause(
    clause: str, state: _State, requests: bool, documents: Mapping[tuple[str, str], Figure]
) -> list[tuple[Figure, int]]:
    """The figures one clause states (see the module docstring)."""
    tokens = sorted(_mentions(clause, requests) + [
        (m.start(), "number", m.group(1)) for m in _NUMBER.finditer(clause)
    ])
    out: list[tuple[Figure, int]] = []
    named: list[str] = []
    docs: list[str] = []
    acts: list[str] = []
    start = 0
    for at, kind, what in tokens:
        if kind == "figure":
            named.append(what)
        elif kind == "document":
            docs.append(what)
        elif kind == "action":
            acts.append(what)
        else:
            targets = _targets(named, docs, acts, state, documents)
            between = clause[start:at]
            if len(targets) == 1 or (targets and _EACH.search(between)):
                out += [(figure, int(what.replace(",", ""))) for figure in targets]
            named, docs, acts, start = [], [], [], at
    negated = _NEGATION.search(clause)
    if negated and not any(kind == "number" for _, kind, _ in tokens):
        after = [(at, kind, what) for at, kind, what in tokens if at > negated.start()]
        named = [w for _, k, w in after if k == "figure" and w in _NEGATABLE]
        docs = [w for _, k, w in after if k == "document"]
        acts = [w for _, k, w in after if k == "action" and w in _NEGATABLE]
        if docs and not acts:
            acts = ["made"]
        out += [(figure, 0) for figure in _targets(named, docs, acts, state, documents)]
    return out


def _mentions(clause: str, requests: bool) -> list[tuple[int, str, str]]:
    """Where ``clause`` names a figure, a document or an action: (place, kind, name)."""
    found: list[tuple[int, str, str]] = []
    names = [(n, w) for n, w, _ in _NAMED if requests or n not in _REQUESTS]
    for kind, choices in (("figure", names), ("document", list(_DOCUMENTS)),
                          ("action", [(n, w) for n, w, _ in _ACTIONS])):
        pattern = re.compile("|".join(f"(?P<{n}>{w})" for n, w in choices))
        found += [(m.start(), kind, m.lastgroup or "") for m in pattern.finditer(clause)]
    return found


def _targets(
    named: Sequence[str],
    docs: Sequence[str],
    acts: Sequence[str],
    state: _State,
    documents: Mapping[tuple[str, str], Figure],
) -> list[Figure]:
    """The figures a number after these mentions may state (more than one only with 各)."""
    figures = {n: f for n, _, f in _NAMED}
    out = [figures[n] for n in dict.fromkeys(named)]
    if docs or (acts and state.document):
        state.document = docs[-1] if docs else state.document
        state.action = acts[-1] if acts else state.action
        for document in dict.fromkeys(docs or [state.document or ""]):
            for action in dict.fromkeys(acts or [state.action or ""]):
                figure = documents.get((document, action))
                if figure is not None:
                    out.append(figure)
    return out


def _compare(
    spec: Spec,
    values: Mapping[str, Any],
    section: str,
    sentence: str,
    figure: Figure,
    number: int,
) -> Problem | None:
    """The warning when ``number`` equals none of the readings of ``figure`` in the tables."""
    readings: list[tuple[tuple[str, ...], list[Decimal]]] = []
    for keys in figure.readings:
        if not all(k in spec.cells for k in keys):
            continue
        parts = []
        for key in keys:
            part = values.get(key)
            if not isinstance(part, (int, Decimal)) or isinstance(part, bool):
                return None
            parts.append(Decimal(part))
        readings.append((keys, parts))
    if not readings or any(sum(parts, Decimal(0)) == number for _, parts in readings):
        return None
    keys, shown_parts = readings[0]
    total = sum(shown_parts, Decimal(0))
    table = spec.cell(keys[0]).table.partition("、")[0]
    shown = " + ".join(map(str, shown_parts)) + (f" = {total}" if len(shown_parts) > 1 else "")
    terms = f"（{figure.terms}）" if len(shown_parts) > 1 and figure.terms else ""
    quoted = sentence if len(sentence) <= _QUOTE else sentence[: _QUOTE - 1] + "…"
    return Problem(
        severity="warning", code="narrative", keys=keys, expected=total, actual=number,
        message=f"{section}：正文“{quoted}”称{figure.name}为 {number} 件，表{table}为 {shown} 件"
        f"{terms}；请核对正文或统计表",
        extra={"sentence": sentence},
    )
