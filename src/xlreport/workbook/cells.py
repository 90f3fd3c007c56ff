"""Cell addresses: the one place where (row, column) and A1 references are converted.

Rows and columns are 0-based everywhere in xlreport; ``A1`` text appears only in formulas, in the
XML of a workbook and in messages for people.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: The size of a worksheet in every spreadsheet program xlreport writes for.
MAX_ROWS, MAX_COLS = 1_048_576, 16_384

_A1 = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


@lru_cache(maxsize=1024)
def column(col: int) -> str:
    """``1`` → ``B`` (0-based column)."""
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def a1(row: int, col: int) -> str:
    """``(4, 1)`` → ``B5`` (0-based row and column)."""
    return f"{column(col)}{row + 1}"


def absolute(row: int, col: int) -> str:
    """``(4, 1)`` → ``$B$5``."""
    return f"${column(col)}${row + 1}"


def sheet_ref(sheet: str, row: int, col: int) -> str:
    """Absolute cross-sheet reference for formulas: ``'三、依申请公开'!$B$5``."""
    quoted = sheet.replace("'", "''")
    return f"'{quoted}'!{absolute(row, col)}"


@lru_cache(maxsize=16384)
def parse_a1(ref: str) -> tuple[int, int] | None:
    """``B5`` or ``$B$5`` → ``(4, 1)``; None if ``ref`` is not one cell inside the sheet limits."""
    m = _A1.fullmatch(ref)
    if not m:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    row = int(m.group(2))
    if not (1 <= row <= MAX_ROWS and 1 <= col <= MAX_COLS):
        return None
    return row - 1, col - 1
