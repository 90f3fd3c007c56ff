"""Labels and numbers as printed in a published report, brought to one comparable form.

A label is compared only after :func:`label`: full-width forms become half-width (NFKC), every
space, line break and zero-width character goes, brackets and quotes take one form, and the
numbering of an item (``1．`` ``1、`` ``1.``) is written one way.  The known wordings that differ
between editions or between real reports (:data:`ALIASES`) are folded into one.  Nothing else is
loosened: two labels are the same only if these forms are equal.

:func:`value` reads one printed value exactly: the digits as printed (``Decimal``), or blank.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

#: Wordings of one label in different editions or real reports, as label forms → one form.
#: 2019 试行格式 prints 规范性文件, the 2021 format 行政规范性文件; both name the same row.
ALIASES: dict[str, str] = {
    "行政规范性文件": "规范性文件",
}

#: What a published table prints for "nothing": blank, slashes, dashes, 无.
BLANKS = frozenset({"", "/", "-", "--", "—", "——", "–", "无", "空", "\\"})

_INVISIBLE = re.compile(r"[\s\u00a0\u200b\u200c\u200d\u2060\ufeff\u3000]+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "「": '"', "」": '"',
                         "〔": "[", "〕": "]", "【": "[", "】": "]", "﹙": "(", "﹚": ")"})
_ITEM_NUMBER = re.compile(r"(?<![0-9])([0-9]{1,2})[.、](?=\D)")
_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_PLAIN = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def label(text: str) -> str:
    """The comparable form of a printed label (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _INVISIBLE.sub("", text)
    text = _ITEM_NUMBER.sub(r"\1.", text)
    text = text.replace("—", "-").replace("－", "-")
    return ALIASES.get(text, text)


def clean(text: str) -> str:
    """``text`` with its runs of spaces and line breaks made one space, ends trimmed."""
    return _INVISIBLE.sub(" ", text).strip()


@dataclass(frozen=True)
class Value:
    """One printed value: a number (exact), blank (``number is None``), or not a value at all.

    ``note`` says how the printed text was normalised (thousands separators, full-width digits).
    """

    number: Decimal | None
    note: str = ""


def value(text: str) -> Value | None:
    """The value ``text`` prints, or None if it is not a value (a label, a word, a date)."""
    raw = clean(text)
    if raw in BLANKS:
        return Value(None)
    ascii_ = unicodedata.normalize("NFKC", raw).replace("－", "-").replace("−", "-")
    if ascii_ in BLANKS:
        return Value(None)
    if not _NUMBER.fullmatch(ascii_):
        return None
    notes = []
    if ascii_ != raw:
        notes.append("全角数字")
    if "," in ascii_:
        notes.append("千分位逗号")
    number = Decimal(ascii_.replace(",", ""))
    return Value(number, "、".join(notes))
