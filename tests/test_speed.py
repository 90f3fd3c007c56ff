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

from conftest import ENV, example
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.edition import source
from xlreport.workbook import template

#: Modules the single-file ``xlreport read`` must not import: each costs milliseconds at every
#: start (jsonschema only checks spec files and JSON uploads; PyYAML parses spec files, and a
#: built-in edition is read from its precompiled form; migration declarations serve migrate and
#: fill; the process pool serves collect; the others write XML or workbooks, or are other
#: readers).
HEAVY = ("jsonschema", "openpyxl", "xlsxwriter", "rich", "python_calamine", "yaml",
         "xlreport.edition.migration", "xlreport.workflows.collect", "xlreport.workflows.merge",
         "xlreport.checks.schema", "concurrent.futures.process", "multiprocessing",
         "xml.sax", "xml.dom", "urllib.request", "docx", "lxml")


def test_reading_one_workbook_imports_nothing_heavy(tmp_path: Path) -> None:
    sp = spec.builtin("2021")
    flat = report.flatten(example("pingtan_2021"), sp)
    book = template.build(sp, tmp_path / "平潭.xlsx",
                          values={k: v for k, v in flat.items() if not sp.cell(k).computed})
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
def test_precompiled_form_is_the_yaml_file_parsed(edition: str) -> None:
    """The committed precompiled form is what the YAML file gives now (else run
    ``python3 -m xlreport.edition.precompile``), and the edition built from it is the edition
    built from the YAML: same digest, cells, checks and migration declarations."""
    path = spec.builtin_path(edition)
    assert source.compiled_path(edition).read_text("utf-8") == source.compiled(edition), (
        "the precompiled form is stale: run python3 -m xlreport.edition.precompile"
    )
    assert source.precompiled(edition) == source.read(path)[0]
    fast, slow = spec.builtin(edition), spec.load(path, checked=True)
    assert fast.digest == slow.digest and fast.cells == slow.cells
    assert [(c.name, c.lhs, c.op, c.rhs) for c in fast.checks()] == [
        (c.name, c.lhs, c.op, c.rhs) for c in slow.checks()
    ]
    assert fast.migrations == slow.migrations and fast.migrations == spec.from_data(
        source.read(path)[0]).migrations


def test_precompiled_form_of_other_text_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    """A YAML file changed after its precompiled form was made is parsed itself."""
    for name in ("2021.yaml", "2021.compiled.json"):
        (tmp_path / name).write_bytes((source.BUILTIN / name).read_bytes())
    monkeypatch.setattr(source, "BUILTIN", tmp_path)
    assert source.precompiled("2021") is not None
    yaml_file = tmp_path / "2021.yaml"
    yaml_file.write_text(yaml_file.read_text("utf-8").replace("《中华人民共和国", "《", 1), "utf-8")
    assert source.precompiled("2021") is None
    (tmp_path / "2021.compiled.json").write_text("{", encoding="utf-8")
    assert source.precompiled("2021") is None


def test_a_precompiled_edition_finds_its_lines_when_a_message_needs_them() -> None:
    locate = source.Deferred(spec.builtin_path("2021"))
    assert locate.found is None
    assert locate(["rules", 0]).startswith("规格文件 2021.yaml 第 ")


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
