"""Filled and altered workbooks for the reader tests, made from a fresh template in the test."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import openpyxl


def fill(template: Path, dst: Path, values: Mapping[str, Any]) -> Path:
    """Write ``values`` (defined name → number/text/formula) into the cells the names point at,
    with openpyxl, and save: no cached formula results at all, as openpyxl always writes."""
    book = openpyxl.load_workbook(template)
    for key, value in values.items():
        sheet, ref = _target(book, key)
        book[sheet][ref].value = value
    book.save(dst)
    return dst


def edit(
    template: Path, dst: Path, change: Callable[[openpyxl.Workbook], None], *, keep_vba: bool = False
) -> Path:
    """Open ``template`` with openpyxl, apply ``change``, save as ``dst``."""
    book = openpyxl.load_workbook(template, keep_vba=keep_vba)
    change(book)
    book.save(dst)
    return dst


def patch(src: Path, dst: Path, changes: Mapping[str, Callable[[str], str] | str | None]) -> Path:
    """Copy a workbook, rewriting members' XML text (``None`` deletes a member; a new name adds)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            change = changes.get(info.filename, lambda text: text)
            if change is None:
                continue
            text = zin.read(info).decode("utf-8")
            zout.writestr(info.filename, change if isinstance(change, str) else change(text))
        for name, change in changes.items():
            if name not in zin.namelist() and isinstance(change, str):
                zout.writestr(name, change)
    return dst


def cell_ref(template: Path, key: str) -> tuple[str, str]:
    """(sheet, ``B5``) of the cell the defined name ``key`` points at."""
    book = openpyxl.load_workbook(template)
    return _target(book, key)


def _target(book: openpyxl.Workbook, key: str) -> tuple[str, str]:
    defined = book.defined_names[key]
    ((sheet, ref),) = defined.destinations
    return sheet, ref.replace("$", "")


def set_cached(src: Path, dst: Path, sheet_part: str, ref: str, number: str) -> Path:
    """Store ``number`` as the value of cell ``ref`` in ``sheet_part``, keeping its formula if it
    has one: a stale cached result, or an input changed behind its totals' cached results."""

    def change(xml: str) -> str:
        cell = re.compile(rf'<c r="{ref}"([^>]*?)(?:/>|>(.*?)</c>)')

        def rebuild(m: re.Match[str]) -> str:
            attrs = re.sub(r'\s+t="[^"]*"', "", m.group(1))
            formula = re.search(r"<f[^>]*?(?:/>|>.*?</f>)", m.group(2) or "")
            return f'<c r="{ref}"{attrs}>{formula.group(0) if formula else ""}<v>{number}</v></c>'

        new, count = cell.subn(rebuild, xml)
        assert count == 1, f"{ref} not found in {sheet_part}"
        return new

    return patch(src, dst, {sheet_part: change})


def sheet_part(path: Path, sheet: str) -> str:
    """The zip member holding worksheet ``sheet``."""
    from xlreport.workbook import xlsx
    with xlsx.open_workbook(path.read_bytes(), path.name) as book:
        entry = book.sheet(sheet)
        assert entry is not None and entry.part is not None
        return entry.part
