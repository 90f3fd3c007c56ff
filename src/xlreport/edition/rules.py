"""The rule engine: consistency rules written once, checked in Python and rendered as Excel formulas.

A rule in a spec file is either

* ``check: A + B = C + D`` — an equation (or ``<=``, ``>=``) over cell keys, where a key may carry
  placeholders (``requests.new.{col}``) expanded over the values given in ``over``, and ``prev.``
  marks a value from last year's report; or
* ``totals: requests.**.total`` — every computed total cell matching the pattern (``*`` is one key
  segment, ``**`` one or more) must equal the sum of the cells it totals.

A placeholder's values are a set read from the layout (:class:`Among`: ``{columns: requests}`` is
every column of 表三, ``{rows: requests.results}`` every row under 三、本年度办理结果), so a row or
column added to the edition is checked without editing the rule; an explicit list is still
accepted, and :meth:`Rule.gaps` names a list that covers only part of such a set.

:meth:`Rule.expand` turns a rule into single :class:`Check` objects.  A check is evaluated with exact
:class:`~decimal.Decimal` arithmetic (:func:`evaluate`) and rendered as an Excel formula over cell
references (:meth:`Check.excel_side`, :meth:`Check.excel_result`); the template and the reader use
these, so each rule exists exactly once.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .spec import Block, Node, Spec

Number = int | Decimal
PASS, FAIL = "通过", "不通过"

_KEY = r"[a-z][a-z0-9_]*(?:\.(?:[a-z0-9_]+|\{[a-z_]+\}))*"
_TOKEN = re.compile(rf"\s*(?:(?P<op><=|>=|==|=)|(?P<sign>[+-])|(?P<num>\d+)|(?P<ref>{_KEY}))")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_SEGMENTS = r"[a-z0-9_]+(?:\.[a-z0-9_]+)*"
_AXES = {"rows": "行", "columns": "列"}
_SHOWN = 8  # missing members named in a warning; the rest are counted


def _substitute(text: str, bound: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by its bound value."""
    return _PLACEHOLDER.sub(lambda m: bound[m.group(1)], text)


class RuleError(ValueError):
    """A rule that cannot be parsed or refers to cells the spec does not have."""


@dataclass(frozen=True)
class Term:
    """One signed operand: a cell of this year's report, of last year's (``prev``), or a constant."""

    sign: int
    key: str | None = None
    prev: bool = False
    constant: int = 0

    def excel(self, ref: Callable[[str], str]) -> str:
        return str(self.constant) if self.key is None else ref(self.key)


@dataclass(frozen=True)
class Check:
    """One expanded instance of a rule: ``lhs op rhs``."""

    rule: Rule
    name: str
    lhs: tuple[Term, ...]
    op: str
    rhs: tuple[Term, ...]
    labels: tuple[tuple[str, str], ...] = ()
    bindings: tuple[str, ...] = ()
    target: str | None = None

    @property
    def cross_year(self) -> bool:
        return any(t.prev for t in (*self.lhs, *self.rhs))

    @property
    def keys(self) -> tuple[str, ...]:
        """This year's cells the check reads, in order, each once."""
        seen = dict.fromkeys(t.key for t in (*self.lhs, *self.rhs) if t.key and not t.prev)
        return tuple(seen)

    def message(self, spec: Spec, lhs: Decimal, rhs: Decimal) -> str:
        if self.target is not None and not self.rule.message:
            where = spec.cell(self.target).where
            return f"{where}：各项之和为 {_num(rhs)}，填报为 {_num(lhs)}"
        template = self.rule.message or f"{self.rule.description}：左边为 {{lhs}}，右边为 {{rhs}}"
        return template.format(lhs=_num(lhs), rhs=_num(rhs), **dict(self.labels))

    def describe(self, spec: Spec) -> str:
        """What this single check compares, for the 校验结果 sheet."""
        if self.target is not None:
            return f"{spec.cell(self.target).where}：总计等于各项之和"
        labels = dict(self.labels)
        head = "，".join(labels.values())
        return f"{self.rule.description}（{head}）" if head else self.rule.description


@dataclass(frozen=True)
class Among:
    """The values of a placeholder read from the layout: every leaf row (or column) under a heading.

    ``at`` names the heading the way ``changes`` does — the block prefix, then the keys of the
    headings from the top down (``requests`` for the whole block, ``requests.results`` for the rows
    under 三、本年度办理结果); ``block`` picks one of several blocks with that prefix by caption or
    sheet name.  Each value is the key path of a leaf below the heading (``commercial``,
    ``withheld.state_secret``); ``skip_totals`` leaves out the totals (``total: true``).
    """

    axis: str
    at: str
    block: str | None = None
    skip_totals: bool = False

    @classmethod
    def from_data(cls, raw: Mapping[str, Any]) -> Among:
        axes = [axis for axis in _AXES if axis in raw]
        if len(axes) != 1 or set(raw) - {*_AXES, "block", "skip_totals"}:
            raise RuleError("over 中的取值要写成一个列表，或 {columns: 位置}、{rows: 位置}（可加 block、skip_totals）")
        block = raw.get("block")
        return cls(axes[0], str(raw[axes[0]]), None if block is None else str(block),
                   bool(raw.get("skip_totals", False)))

    @property
    def word(self) -> str:
        return _AXES[self.axis]

    def written(self) -> str:
        """The set as it is written in a spec file: ``{columns: requests}``."""
        extra = "".join([f", block: {self.block}" if self.block else "",
                         ", skip_totals: true" if self.skip_totals else ""])
        return f"{{{self.axis}: {self.at}{extra}}}"

    def members(self, spec: Spec) -> tuple[str, ...]:
        """The key path of every leaf under the heading, in printed order."""
        nodes = self._heading(spec)[2]
        if not nodes:
            raise RuleError(f"“{self.at}”下面没有别的{self.word}，它本身就是最末一级")
        out = []
        for node in nodes:
            for path in node.leaves():
                if self.skip_totals and any(n.total for n in path):
                    continue
                keys = [n.key for n in path if n.key]
                if not keys:
                    raise RuleError(f"“{self.at}”下面没有可以逐项展开的{self.word}")
                out.append(".".join(keys))
        if not out:
            raise RuleError(f"“{self.at}”下面除总计外没有别的{self.word}")
        return tuple(out)

    def describe(self, spec: Spec) -> str:
        """The set in words: ``表三的每一列``, ``表三“三、本年度办理结果”下的每一行``."""
        name, heading, _ = self._heading(spec)
        where = f"{name}“{heading.label}”下" if heading is not None else name
        return f"{where}的每一{self.word}" + ("（总计除外）" if self.skip_totals else "")

    def _heading(self, spec: Spec) -> tuple[str, Node | None, tuple[Node, ...]]:
        """Where the set is: the block's name in words, the heading (None: the whole block) and
        the nodes whose leaves are the members."""
        segs = self.at.split(".")
        found: list[tuple[str, Node | None, tuple[Node, ...]]] = []
        known: list[str] = []
        for sheet in spec.sheets:
            for blk in sheet.blocks:
                if self.block is not None and self.block not in (blk.caption, sheet.name):
                    continue
                name = sheet.short + (blk.caption or "")
                prefix = blk.prefix.split(".")
                nodes: tuple[Node, ...] = getattr(blk, self.axis)
                known += [blk.prefix, *_positions(blk, nodes)]
                if segs[: len(prefix)] != prefix:
                    continue
                rest = segs[len(prefix):]
                if not rest:
                    found.append((name, None, nodes))
                else:
                    found += [(name, hit, hit.children) for hit in _descend(nodes, rest)]
        within = f"（在表格块“{self.block}”中）" if self.block is not None else ""
        if not found:
            import difflib  # deferred: only a misspelt position needs a suggestion

            close = difflib.get_close_matches(self.at, known, n=1)
            hint = f"；是不是“{close[0]}”？" if close else "；位置写作“表格块前缀.键名”，如 requests.results"
            raise RuleError(f"没有找到{self.word}的位置“{self.at}”{within}{hint}")
        if len(found) > 1:
            names = "、".join(dict.fromkeys(name for name, _, _ in found))
            raise RuleError(
                f"“{self.at}”在多个表格块中都有（{names}），请加 block: 写明是哪一块（表格块标题或工作表名称）"
            )
        return found[0]


def _descend(nodes: Sequence[Node], rest: list[str]) -> Iterator[Node]:
    """The headings at ``rest`` below ``nodes``: keyless headings are skipped or named by label."""
    for node in nodes:
        if (node.key or node.label) == rest[0]:
            if len(rest) == 1:
                yield node
            else:
                yield from _descend(node.children, rest[1:])
        if not node.key:
            yield from _descend(node.children, rest)


def _positions(blk: Block, nodes: Sequence[Node], above: tuple[str, ...] = ()) -> Iterator[str]:
    """The position of every heading with something under it, as :class:`Among` names it."""
    for node in nodes:
        here = (*above, node.key or node.label)
        if node.children:
            yield ".".join([blk.prefix, *here])
        yield from _positions(blk, node.children, (*above, node.key) if node.key else above)


Values = tuple[str, ...] | Among


@dataclass(frozen=True)
class Rule:
    """A consistency rule as written in the spec."""

    id: str
    severity: Literal["error", "warning"]
    description: str
    message: str | None = None
    over: tuple[tuple[str, Values], ...] = ()
    check: str | None = None
    totals: str | None = None

    @classmethod
    def from_data(cls, raw: Mapping[str, Any]) -> Rule:
        over = tuple(
            (str(var), Among.from_data(vals) if isinstance(vals, Mapping) else tuple(str(v) for v in vals))
            for var, vals in raw.get("over", {}).items()
        )
        return cls(
            id=raw["id"],
            severity=raw["severity"],
            description=raw["description"],
            message=raw.get("message"),
            over=over,
            check=raw.get("check"),
            totals=raw.get("totals"),
        )

    def expand(self, spec: Spec) -> list[Check]:
        """All single checks of this rule in ``spec``; raises :class:`RuleError` if it is wrong."""
        text = self.check or self.totals or ""
        used = set(_PLACEHOLDER.findall(text))
        in_message = set(_PLACEHOLDER.findall(self.message or "")) - {"lhs", "rhs"}
        names = [var for var, _ in self.over]
        if unknown := sorted(used - set(names)):
            raise RuleError(f"占位符 {{{unknown[0]}}} 没有在 over 中给出取值")
        if stray := sorted(in_message - set(names)):
            raise RuleError(f"message 中的占位符 {{{stray[0]}}} 没有在 over 中给出取值")
        if unused := sorted(set(names) - used):
            raise RuleError(f"over 中的 {unused[0]} 在表达式中没有用到")
        checks: list[Check] = []
        for combo in itertools.product(*(self.values(spec).values())):
            bound = dict(zip(names, combo, strict=True))
            expr = _substitute(text, bound)
            labels = tuple((v, _binding_label(spec, text, v, bound)) for v in names)
            if self.check is not None:
                lhs, op, rhs = parse(expr)
                _require_keys(spec, (*lhs, *rhs))
                checks.append(Check(self, "", lhs, op, rhs, labels, bindings=combo))
            else:
                matches = _match_totals(spec, expr)
                if not matches:
                    raise RuleError(f"“{expr}”没有匹配到任何总计单元格")
                for key, captured in matches:
                    parts = tuple(Term(1, p) for p in spec.cell(key).parts)
                    name = ".".join(captured)
                    checks.append(Check(self, name, (Term(1, key),), "=", parts, labels, combo, key))
        return _named(self, checks)


    def values(self, spec: Spec) -> dict[str, tuple[str, ...]]:
        """Each placeholder's values in ``spec``: a set read from the layout, or the list as written."""
        out: dict[str, tuple[str, ...]] = {}
        for var, vals in self.over:
            if not isinstance(vals, Among):
                out[var] = vals
                continue
            try:
                out[var] = vals.members(spec)
            except RuleError as exc:
                raise RuleError(f"over 中 {var} 的取值 {vals.written()}：{exc}") from None
        return out

    def gaps(self, spec: Spec) -> list[tuple[str, str]]:
        """``(placeholder, warning)`` for each list in ``over`` that covers only part of a set of
        the layout — the rows or columns it leaves out are silently not checked."""
        out = []
        values = self.values(spec)
        text = self.check or self.totals or ""
        keys = frozenset(spec.cells)
        for var, vals in self.over:
            if isinstance(vals, Among):
                continue
            listed = set(vals)
            sets = [
                (among, members)
                for among, members in _sets(spec)
                if listed <= set(members)
                and all(_fits(keys, text, var, m) for m in members)
            ]
            if not sets or any(set(members) == listed for _, members in sets):
                continue
            among, members = min(sets, key=lambda s: len(s[1]))
            first = {name: vs[0] for name, vs in values.items()}
            missing = [m for m in members if m not in listed]
            named = "、".join(
                _with_label(m, _binding_label(spec, text, var, {**first, var: m}))
                for m in missing[:_SHOWN]
            ) + (f" 等 {len(missing)} 项" if len(missing) > _SHOWN else "")
            whole = among.describe(spec)
            out.append((var, (
                f"规则“{self.id}”的 over 中 {var} 列出的 {len(vals)} 项只是{whole}中的一部分，"
                f"缺少 {named}，这条规则不检查它们；如果应当检查{whole}，请改写为 "
                f"{var}: {among.written()}，以后增加的{among.word}也会自动检查"
                "（有意只检查列出的几项时，可以不理会这条提示）"
            )))
        return out


def _with_label(value: str, label: str) -> str:
    return value if label == value else f"{value}（{label}）"


def _sets(spec: Spec) -> Iterator[tuple[Among, tuple[str, ...]]]:
    """Every set :class:`Among` can name in ``spec``, with its members (each set once)."""
    seen: set[tuple[str, ...]] = set()
    for sheet in spec.sheets:
        for blk in sheet.blocks:
            for axis in _AXES:
                for at in [blk.prefix, *_positions(blk, getattr(blk, axis))]:
                    for skip in (False, True):
                        among = Among(axis, at, skip_totals=skip)
                        try:
                            members = among.members(spec)
                        except RuleError:
                            among = replace(among, block=blk.caption or sheet.name)
                            try:
                                members = among.members(spec)
                            except RuleError:
                                continue
                        if members not in seen:
                            seen.add(members)
                            yield among, members


def _fits(keys: frozenset[str], text: str, var: str, member: str) -> bool:
    """Whether every cell key in ``text`` that uses ``{var}`` exists with ``member`` put in."""
    for token in re.findall(r"[a-z0-9_{}*.]+", text):
        if f"{{{var}}}" not in token:
            continue
        segs = token.removeprefix("prev.").split(".")
        if all(seg == f"{{{var}}}" or not re.search(r"[{*]", seg) for seg in segs):
            if ".".join(member if seg == f"{{{var}}}" else seg for seg in segs) not in keys:
                return False
            continue
        parts = []
        for seg in segs:
            if seg == f"{{{var}}}":
                parts.append(re.escape(member))
            elif seg == "*":
                parts.append(r"[a-z0-9_]+")
            elif seg == "**" or _PLACEHOLDER.fullmatch(seg):
                parts.append(_SEGMENTS)
            else:
                parts.append(re.escape(seg))
        pattern = re.compile(r"\.".join(parts) + r"\Z")
        if not any(pattern.match(key) for key in keys):
            return False
    return True


def _named(rule: Rule, checks: list[Check]) -> list[Check]:
    """Name each check ``checks.<rule id>[.<what it was expanded over>]``."""
    out = []
    for c in checks:
        suffix = [*c.bindings, *([c.name] if c.name else [])]
        name = ".".join(["checks", rule.id, *suffix]) if len(checks) > 1 else f"checks.{rule.id}"
        out.append(replace(c, name=name))
    if len({c.name for c in out}) != len(out):
        raise RuleError("展开后的检查名称重复")
    return out


def parse(expr: str) -> tuple[tuple[Term, ...], str, tuple[Term, ...]]:
    """``a.b + prev.c.d - 1 = e`` → (lhs terms, op, rhs terms).  No ``eval``."""
    sides: list[list[Term]] = [[]]
    op = None
    sign = 1
    expect_operand = True
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise RuleError(f"表达式“{expr}”第 {pos + 1} 个字符处无法识别")
        pos = m.end()
        if m.group("op"):
            if op is not None or expect_operand:
                raise RuleError(f"表达式“{expr}”中比较符号的位置不对")
            op = "=" if m.group("op") == "==" else m.group("op")
            sides.append([])
            sign, expect_operand = 1, True
        elif m.group("sign"):
            if not expect_operand:
                sign, expect_operand = (1 if m.group("sign") == "+" else -1), True
            elif m.group("sign") == "-" and not sides[-1]:
                sign = -sign
            else:
                raise RuleError(f"表达式“{expr}”中有连续的运算符")
        else:
            if not expect_operand:
                raise RuleError(f"表达式“{expr}”中两个数之间缺少 + 或 -")
            if m.group("num"):
                sides[-1].append(Term(sign, constant=int(m.group("num"))))
            else:
                ref = m.group("ref")
                prev = ref.startswith("prev.")
                sides[-1].append(Term(sign, ref.removeprefix("prev."), prev))
            sign, expect_operand = 1, False
    if op is None or expect_operand or not sides[0] or not sides[1]:
        raise RuleError(f"表达式“{expr}”应为“左边 = 右边”的形式（也可用 <= 或 >=）")
    return tuple(sides[0]), op, tuple(sides[1])


def _require_keys(spec: Spec, terms: Sequence[Term]) -> None:
    for t in terms:
        if t.key is None:
            continue
        if "{" in t.key:
            raise RuleError(f"“{t.key}”中的占位符没有取值")
        if t.key not in spec.cells:
            raise RuleError(f"没有键名为“{t.key}”的单元格")
        if not spec.cell(t.key).numeric:
            raise RuleError(f"“{t.key}”不是数字单元格，不能参与计算")


def _match_totals(spec: Spec, pattern: str) -> list[tuple[str, tuple[str, ...]]]:
    regex = []
    for seg in pattern.split("."):
        if seg == "**":
            regex.append(r"([a-z0-9_]+(?:\.[a-z0-9_]+)*)")
        elif seg == "*":
            regex.append(r"([a-z0-9_]+)")
        else:
            regex.append(re.escape(seg))
    compiled = re.compile(r"\.".join(regex) + r"\Z")
    out = []
    for key, cell in spec.cells.items():
        if cell.computed and (m := compiled.match(key)):
            out.append((key, m.groups()))
    return out


def _binding_label(spec: Spec, text: str, var: str, bound: Mapping[str, str]) -> str:
    """The printed label of a placeholder's value: ``{col}`` = natural_person → 自然人."""
    for token in re.findall(_KEY, text):
        if f"{{{var}}}" in token:
            head = token.removeprefix("prev.").split(f"{{{var}}}")[0] + bound[var]
            head = _substitute(head, bound)
            if head in spec.titles:
                return spec.titles[head]
    return bound[var]

def plain(value: Decimal) -> Number:
    return int(value) if value == value.to_integral_value() else value


def _num(value: Decimal) -> str:
    return str(plain(value))
