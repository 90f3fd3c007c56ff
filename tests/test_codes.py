"""The catalogue of codes (xlreport.codes) is complete, used consistently, and documented."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from xlreport import errors
from xlreport.codes import PROBLEMS, REFUSALS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "xlreport"
ERRORS = {"XlreportError", "SpecError", "UnreadableInput", "UsageError"}


def _literal_codes() -> list[tuple[str, str, str]]:
    """(where, what, code) for every code written as a literal in the source."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                    what = "refusal" if name in ERRORS else "problem" if name == "Problem" else "any"
                    found.append((where, what, kw.value.value))
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if name == "_Bad" and args:
                found.append((where, "problem", args[0]))
            if name == "_refused" and len(node.args) == 3 and isinstance(node.args[2], ast.Constant):
                found.append((where, "refusal", node.args[2].value))
    return found


def test_the_scan_sees_the_source() -> None:
    kinds = {what for _, what, _ in _literal_codes()}
    assert {"refusal", "problem"} <= kinds and len(_literal_codes()) > 40


@pytest.mark.parametrize(("where", "what", "code"), _literal_codes())
def test_every_code_in_the_source_is_catalogued(where: str, what: str, code: str) -> None:
    catalogue = {"refusal": REFUSALS, "problem": PROBLEMS}.get(what, PROBLEMS | REFUSALS)
    assert code in catalogue, f"{where}: code {code!r} is not in xlreport.codes ({what})"


def test_every_exception_has_a_catalogued_default() -> None:
    for cls in (errors.XlreportError, errors.SpecError, errors.UnreadableInput, errors.UsageError):
        assert cls("x").code in REFUSALS, cls


def test_the_two_catalogues_do_not_disagree() -> None:
    for code in PROBLEMS.keys() & REFUSALS.keys():
        assert code == "edition", code  # a data problem and a refusal of the same name: 格式版本


def test_docs_list_every_code_with_its_meaning() -> None:
    doc = (ROOT / "docs" / "codes.md").read_text("utf-8")
    rows = {line for line in doc.splitlines() if line.startswith("| `")}
    expected = {f"| `{k}` | {v} |" for k, v in (*PROBLEMS.items(), *REFUSALS.items())}
    assert rows == expected
