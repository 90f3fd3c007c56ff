"""Field kinds: what a cell of the report holds — one table, read by every medium.

Each :class:`Kind` says, as data, what its cells take (family, decimals, lower bound), how it is
described to a clerk (label, input prompt, error message), how wide its input column is and
whether the workbook stores it as text.  The JSON Schema fragment is derived here
(:meth:`Kind.schema`); the value policy (``checks.values``) parses by :attr:`Kind.family`; the
workbook writer renders the same data as Excel data validation and highlighting.  Adding a kind
is one entry in :data:`KINDS` (plus a parser in ``checks.values`` if it is a new family).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "CREDIT_CODE_CHARS",
    "CREDIT_CODE_WEIGHTS",
    "KINDS",
    "LIMIT_DIGITS",
    "MAX_TEXT",
    "MONEY_PLACES",
    "Family",
    "Kind",
    "Prompt",
    "credit_code_ok",
    "kind",
]

Family = Literal["number", "year", "text", "credit_code"]

#: Digits before the decimal point a count or amount may have (Excel keeps 15 significant digits).
LIMIT_DIGITS = 15
#: Characters one cell holds (Excel refuses more); the most a text field may have.
MAX_TEXT = 32767
#: Decimal places an amount may have.
MONEY_PLACES = 6
#: The GB 32100-2015 alphabet of 统一社会信用代码 (no I, O, Z, S, V); a character's value is its index.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weight of each of the first 17 characters: 3^(i-1) mod 31.
CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


@dataclass(frozen=True)
class Prompt:
    """The input prompt and the error message a workbook shows for a cell of this kind.

    ``{first}``, ``{last}`` and ``{example}`` are filled in with the edition's year range.
    """

    title: str
    text: str
    error_title: str = ""
    error: str = ""

    def format(self, years: tuple[int, int]) -> Prompt:
        first, last = years
        words = {"first": first, "last": last, "example": min(max(2025, first), last)}
        return Prompt(*(part.format(**words) for part in
                        (self.title, self.text, self.error_title, self.error)))


@dataclass(frozen=True)
class Kind:
    """One kind of cell: what it takes and how it is described."""

    name: str
    #: What the cell holds, in words: ``不小于 0 的整数``.
    label: str
    family: Family
    prompt: Prompt
    #: Decimal places allowed (numbers and years).
    places: int = 0
    #: Lowest value allowed; ``None`` when negatives are allowed.
    minimum: int | None = 0
    #: Smallest width (characters) of the column an input of this kind sits in; 0: no minimum.
    width: float = 0
    #: Whether the workbook formats the cell as text (``@``), so Excel keeps what is typed.
    as_text: bool = False

    @property
    def numeric(self) -> bool:
        """A number of the statistical tables (count, amount), summed and checked by the rules."""
        return self.family == "number"

    @property
    def zero(self) -> int | Decimal:
        """What a blank number of this kind counts as: 0 (a ``Decimal`` 0 for amounts)."""
        return Decimal(0) if self.places else 0

    def schema(self, years: tuple[int, int], optional: bool) -> dict[str, Any]:
        """The JSON Schema fragment of a cell of this kind."""
        if self.family == "number":
            out: dict[str, Any] = {"type": ["number" if self.places else "integer", "null"]}
            if self.minimum is not None:
                out["minimum"] = self.minimum
            return out
        if self.family == "year":
            return {"type": "integer", "minimum": years[0], "maximum": years[1]}
        if self.family == "credit_code":
            return {"type": ["string", "null"], "pattern": f"^[{CREDIT_CODE_CHARS}]{{18}}$"}
        if optional:
            return {"type": ["string", "null"], "maxLength": MAX_TEXT}
        return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"\S"}


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(
        "count", "不小于 0 的整数", "number",
        Prompt("请填写整数",
               "填不小于 0 的整数，如 0、12、1500。没有发生的填 0，不要填“/”“—”或文字，不要带单位。",
               "应为整数", "这里只能填不小于 0 的整数（如 0、12、1500），不能有小数、单位或文字。"),
    ),
    Kind(
        "signed_count", "整数（可以为负数）", "number",
        Prompt("请填写整数", "填整数，比上一年减少时填负数（如 -3），没有变化的填 0。",
               "应为整数", "这里只能填整数（减少时填负数，如 -3），不能有小数、单位或文字。"),
        minimum=None,
    ),
    Kind(
        "money", f"不小于 0 的金额，最多 {MONEY_PLACES} 位小数", "number",
        Prompt("请填写金额",
               f"填不小于 0 的金额，单位见表头，最多 {MONEY_PLACES} 位小数，如 4166.241619。没有的填 0。",
               "金额有误", f"这里只能填不小于 0 的数字，最多 {MONEY_PLACES} 位小数，不能带单位或文字。"),
        places=MONEY_PLACES,
    ),
    Kind(
        "text", "文字", "text",
        Prompt("请填写", "直接输入文字；在单元格内换行请按 Alt+Enter（WPS、LibreOffice 相同）。"),
        minimum=None, width=60, as_text=True,
    ),
    Kind(
        "year", "年份", "year",
        Prompt("请填写年度", "填四位数字的年度，如 {example}。", "年度有误",
               "年度应为 {first} 至 {last} 之间的四位数字，如 {example}。"),
    ),
    Kind(
        "credit_code", "18 位统一社会信用代码", "credit_code",
        Prompt("统一社会信用代码",
               "18 位，由数字和大写字母组成（不含 I、O、Z、S、V），最后一位是校验码。没有可以不填。",
               "代码有误", "统一社会信用代码应为 18 位数字或大写字母，且最后一位校验码要与前 17 位相符；"
               "请对照证书核对。"),
        minimum=None, width=24, as_text=True,
    ),
)}


def kind(name: str) -> Kind:
    """The kind called ``name``; a spec can only name one of :data:`KINDS` (its schema says so)."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown field kind {name!r}") from None


def credit_code_ok(code: str) -> bool:
    """True if ``code`` is 18 characters of the GB 32100-2015 alphabet with a correct check char."""
    chars = CREDIT_CODE_CHARS
    if len(code) != 18 or any(c not in chars for c in code):
        return False
    total = sum(chars.index(c) * w for c, w in zip(code[:17], CREDIT_CODE_WEIGHTS, strict=True))
    return chars[-total % 31] == code[17]
