"""Write the precompiled form of each built-in spec file (:func:`~.source.compiled`): its parsed
data as JSON, so that a read loads a built-in edition without PyYAML.  The YAML file stays the one
source: the form records the sha256 of the text it was made from and is ignored when the file
has changed since (``tests/test_spec.py`` fails then, until this is run again)::

    python3 -m xlreport.edition.precompile [edition ...]
"""

from __future__ import annotations

import sys

from .source import compiled, compiled_path
from .spec import BUILTIN_EDITIONS


def main(argv: list[str] | None = None) -> int:
    """Write the precompiled form of each built-in edition (or of those named)."""
    for edition in (sys.argv[1:] if argv is None else argv) or list(BUILTIN_EDITIONS):
        compiled_path(edition).write_text(compiled(edition), encoding="utf-8")
        print(compiled_path(edition), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
