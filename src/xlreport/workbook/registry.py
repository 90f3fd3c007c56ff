"""Released template layouts, so that a workbook made by an older release is still read correctly.

Every released (edition, template_version) of a built-in edition is one JSON file in
``xlreport/workbook/layouts/``: the layout digest written into each template of that version, where its
cells and labels are, the formula of each total, and the complete spec it was made from.  The reader looks a workbook's
metadata up here (:func:`find`) and reads an older layout where it put the values.

``python3 -m xlreport.workbook.registry`` registers the current layout of every built-in edition; run it
after raising ``template_version``.  ``tests/test_registry.py`` fails when a layout changed and the
version did not.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from ..edition.load import builtin, from_data, resolved
from ..edition.source import builtin_path
from ..edition.spec import BUILTIN_EDITIONS, Spec
from ..errors import UsageError
from .layout import Label, Position, layout

DIRECTORY = Path(__file__).parent / "layouts"


@dataclass(frozen=True, eq=False)
class Released:
    """A released layout: what the reader needs to find every value of a workbook made from it."""

    edition: str
    template_version: str
    digest: str
    spec_digest: str
    sheet_names: tuple[str, ...]
    cells: dict[str, Position]
    labels: tuple[Label, ...]
    spec_data: Any
    #: The formula of each total (without ``=``) as that release wrote it.
    formulas: dict[str, str]

    def spec(self) -> Spec:
        """The spec to read with: the current edition when it has the same cells as this release
        (its rules and messages are the newest), else the spec this release was made from."""
        current = builtin(self.edition)
        if current.digest == self.spec_digest or _cells(current) == _cells(self.released_spec):
            return current
        return self.released_spec

    @cached_property
    def released_spec(self) -> Spec:
        """The spec this release was made from."""
        return from_data(self.spec_data, source=file_name(self.edition, self.template_version))


def file_name(edition: str, version: str) -> str:
    return f"{edition}-v{version}.json"


def find(edition: str, version: str, directory: Path | None = None) -> Released | None:
    """The registered layout of ``edition`` version ``version``, or None."""
    return _load(directory or DIRECTORY).get((edition, version))


def versions(edition: str, directory: Path | None = None) -> list[str]:
    """Registered template versions of ``edition``, oldest first."""
    found = [v for e, v in _load(directory or DIRECTORY) if e == edition]
    return sorted(found, key=lambda v: (len(v), v))


def record(spec: Spec, data: Any) -> dict[str, Any]:
    """The registry entry of ``spec`` (whose complete data is ``data``) as JSON."""
    lay = layout(spec)
    return {
        "edition": spec.edition,
        "template_version": spec.template_version,
        "layout_digest": lay.digest,
        "spec_digest": spec.digest,
        "sheets": list(lay.sheet_names),
        "cells": {key: [p.sheet, p.row, p.col] for key, p in lay.cells.items()},
        "labels": [[lb.sheet, lb.row, lb.col, lb.text] for lb in lay.labels],
        "formulas": lay.formulas,
        "spec": data,
    }


def register(spec: Spec, data: Any, directory: Path | None = None) -> Path:
    """Write the entry of ``spec``; refuse to change the layout of a version already registered."""
    directory = directory or DIRECTORY
    entry = record(spec, data)
    path = directory / file_name(spec.edition, spec.template_version)
    if path.exists():
        old = json.loads(path.read_text("utf-8"))
        if old["layout_digest"] != entry["layout_digest"]:
            raise UsageError(
                f"{spec.edition} 年版模板版本“{spec.template_version}”已登记了另一种布局；"
                f"布局变了就要在规格文件中提高 template_version，再登记（{path.name} 不能改）",
                code="registry",
            )
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(_dumps(entry), encoding="utf-8")
    _load.cache_clear()
    return path


@cache
def _load(directory: Path) -> dict[tuple[str, str], Released]:
    out: dict[tuple[str, str], Released] = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        raw = json.loads(path.read_text("utf-8"))
        out[raw["edition"], raw["template_version"]] = Released(
            edition=raw["edition"],
            template_version=raw["template_version"],
            digest=raw["layout_digest"],
            spec_digest=raw["spec_digest"],
            sheet_names=tuple(raw["sheets"]),
            cells={key: Position(*pos) for key, pos in raw["cells"].items()},
            labels=tuple(Label(*lb) for lb in raw["labels"]),
            spec_data=raw["spec"],
            formulas=raw["formulas"],
        )
    return out


def _dumps(entry: dict[str, Any]) -> str:
    """Indented JSON with each flat list (a position, a label) on one line, for readable diffs."""
    text = json.dumps(entry, ensure_ascii=False, indent=1)
    flat = re.compile(r"\[\s+([^\[\]{}]*?)\s+\]")
    return flat.sub(lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text) + "\n"


@cache
def _cells(spec: Spec) -> dict[str, tuple[str, bool, tuple[str, ...]]]:
    """What a spec's cells take, to compare two specs (once per spec object: a spec is immutable;
    a workbook of a released layout asks on every read)."""
    return {k: (c.type, c.optional, c.parts) for k, c in spec.cells.items()}


def main(argv: list[str] | None = None) -> int:
    """Register the current layout of each built-in edition (or of those named)."""
    for edition in (sys.argv[1:] if argv is None else argv) or list(BUILTIN_EDITIONS):
        spec = builtin(edition)
        path = register(spec, resolved(builtin_path(edition)))
        print(f"{spec.edition} 年版模板版本 {spec.template_version}：{path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
