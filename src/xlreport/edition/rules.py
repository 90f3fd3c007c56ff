"""The rule engine: consistency rules written once, checked in Python and rendered as Excel formulas.

A rule in a spec file is either

* ``check: A + B = C + D`` — an equation (or ``<=``, ``>=``) over cell keys, where a key may carry
  placeholders (``requests.new.{col}``) expanded over the lists in ``over``, and ``prev.`` marks a
  value from last year's report; or
* ``totals: requests.**.total`` — every computed total cell matching the pattern (``*`` is one key
  segment, ``**`` one or more) must equal the sum of the cells it totals.

:meth:`Rule.expand` turns a rule into single :class:`Check` objects.  A check is evaluated with exact
:class:`~decimal.Decimal` arithmetic (:func:`evaluate`) and rendered as an Excel formula over cell
references (:meth:`Check.excel_side`, :meth:`Check.excel_result`); the template and the reader use
these, so each rule exists exactly once.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spec import Spec

Number = int | Decimal
PASS, FAIL = "通过", "不通过"

_KEY = r"[a-z][a-z0-9_]*(?:\.(?:[a-z0-9_]+|\{[a-z_]+\}))*"
_TOKEN = re.compile(rf"\s*(?:(?P<op><=|>=|==|=)|(?P<sign>[+-])|(?P<num>\d+)|(?P<ref>{_KEY}))")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


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
class Rule:
    """A consistency rule as written in the spec."""

    id: str
    severity: str
    description: str
    message: str | None = None
    over: tuple[tuple[str, tuple[str, ...]], ...] = ()
    check: str | None = None
    totals: str | None = None

    @classmethod
    def from_data(cls, raw: Mapping[str, Any]) -> Rule:
        over = tuple((var, tuple(str(v) for v in vals)) for var, vals in raw.get("over", {}).items())
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
        for combo in itertools.product(*(vals for _, vals in self.over)):
            bound = dict(zip(names, combo, strict=True))
            expr = _PLACEHOLDER.sub(lambda m, b=bound: b[m.group(1)], text)
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
            head = _PLACEHOLDER.sub(lambda m: bound[m.group(1)], head)
            if head in spec.titles:
                return spec.titles[head]
    return bound[var]

def plain(value: Decimal) -> Number:
    return int(value) if value == value.to_integral_value() else value


def _num(value: Decimal) -> str:
    return str(plain(value))
