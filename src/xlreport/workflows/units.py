"""Units: who a report is from, and the file names made from a unit's name — one rule each."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME = 60  # characters of a unit's name kept in a file name
_FORBIDDEN = re.compile(r'[/\\:*?"<>|]+')
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$")


def unit_key(name: str) -> str:
    """A unit's identity: its name with full-width forms folded, every space removed, case folded."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def safe_file_name(name: str) -> str:
    """``name`` usable as a file name on Windows, macOS and Linux, Chinese kept: control characters
    dropped, a run of ``/\\:*?"<>|`` becomes ``_``, spaces collapsed, no leading or trailing dots,
    spaces or ``_``, not a reserved device name, at most :data:`MAX_NAME` characters ("" when
    nothing is left)."""
    text = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = _FORBIDDEN.sub("_", text)
    text = " ".join(text.split())[:MAX_NAME].strip(" ._")
    if _RESERVED.match(text):
        text = f"_{text}"
    return text
