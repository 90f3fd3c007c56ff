"""The report format as data: editions, their cells, field kinds, rules and migration declarations.

Nothing here knows about workbooks, documents or the command line; everything above is derived
from the :class:`~xlreport.edition.spec.Spec` built here.  This package's namespace is the way in:
``edition.builtin("2021")``, ``edition.load(path)``.
"""

from .kinds import KINDS, Kind
from .load import builtin, exported, from_data, lint, load, resolved
from .source import builtin_path, digest
from .spec import (
    BUILTIN_EDITIONS,
    DEFAULT_EDITION,
    Block,
    Cell,
    Node,
    Sheet,
    Spec,
    short_table,
)

__all__ = [
    "BUILTIN_EDITIONS",
    "DEFAULT_EDITION",
    "KINDS",
    "Block",
    "Cell",
    "Kind",
    "Node",
    "Sheet",
    "Spec",
    "builtin",
    "builtin_path",
    "digest",
    "exported",
    "from_data",
    "lint",
    "load",
    "resolved",
    "short_table",
]
