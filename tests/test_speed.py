"""What keeps reading fast: lazy imports on the single-file path, checked built-in specs, a
quick exact JSON writer."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ENV
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.edition import source
from xlreport.workbook import template

#: Modules the single-file ``xlreport read`` must not import: each costs tens of milliseconds at
#: every start (jsonschema only checks spec files and JSON uploads; the others write or are
#: other readers).
HEAVY = ("jsonschema", "openpyxl", "xlsxwriter", "rich", "python_calamine")


def test_reading_one_workbook_imports_nothing_heavy(tmp_path: Path) -> None:
    book = template.build(spec.builtin("2021"), tmp_path / "模板.xlsx",
                          values={"unit.name": "甲镇", "unit.year": 2024})
    code = (
        "import sys\n"
        "from xlreport.cli import main\n"
        f"sys.argv = ['xlreport', 'read', {str(book)!r}, '-o', {str(tmp_path / 'out.json')!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=ENV)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
    assert (tmp_path / "out.json").exists()


@pytest.mark.parametrize("edition", spec.BUILTIN_EDITIONS)
def test_builtin_editions_pass_the_shape_check_that_loading_them_skips(edition: str) -> None:
    path = spec.builtin_path(edition)
    source.check_shape(spec.resolved(path), source.read(path)[1])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(JSON, st.sampled_from([None, 1, 2]))
def test_exact_json_writer_matches_the_standard_one(data: object, indent: int | None) -> None:
    expected = json.dumps(data, ensure_ascii=False, indent=indent)
    assert report.dumps(data, indent=indent) == expected + ("\n" if indent is not None else "")


def test_exact_json_writer_keeps_every_digit() -> None:
    doc = {"fees": Decimal("4166.241619"), "big": Decimal("123456789012345.000001"), "n": [1, None]}
    assert report.dumps(doc, indent=None) == (
        '{"fees": 4166.241619, "big": 123456789012345.000001, "n": [1, null]}'
    )
