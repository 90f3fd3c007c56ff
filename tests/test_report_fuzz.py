"""Fuzzing the upload JSON: whatever the text, either a Chinese refusal or a report that says one
thing (no key twice, no text a workbook cannot hold), and what validate accepts survives
fill → read.  (The bounds of numbers belong to the value policy and are fuzzed with it.)"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import example, run_cli
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.checks.validate import validate_document
from xlreport.errors import UnreadableInput
from xlreport.workbook.reader import read_workbook
from xlreport.workbook.template import build
from xlreport.workflows import fill

SPEC = spec_mod.builtin("2021")
CHINESE = re.compile("[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Obj:
    """A JSON object as written: its pairs in order, a key possibly more than once."""

    pairs: tuple[tuple[str, Any], ...]


def text_of(node: Any) -> str:
    """JSON text of ``node`` (surrogates and NUL escaped, as JSON can carry them)."""
    if isinstance(node, Obj):
        return "{" + ", ".join(f"{json.dumps(k)}: {text_of(v)}" for k, v in node.pairs) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(text_of(v) for v in node) + "]"
    return json.dumps(node)


def value_of(node: Any) -> Any:
    if isinstance(node, Obj):
        return {k: value_of(v) for k, v in node.pairs}
    if isinstance(node, list):
        return [value_of(v) for v in node]
    return node


def says_one_thing(node: Any) -> bool:
    """No key twice in one object, no NUL, no half surrogate pair, no text beyond a cell."""
    if isinstance(node, str):
        return len(node) <= report.MAX_TEXT and not re.search("[\x00\ud800-\udfff]", node)
    if isinstance(node, Obj):
        keys = [k for k, _ in node.pairs]
        return len(set(keys)) == len(keys) and all(
            says_one_thing(k) and says_one_thing(v) for k, v in node.pairs)
    if isinstance(node, list):
        return all(says_one_thing(v) for v in node)
    return True


texts = st.one_of(
    st.text(st.characters(categories=("L", "N", "P", "Zs", "Cc", "Cs")), max_size=12),
    st.integers(report.MAX_TEXT - 3, report.MAX_TEXT + 3).map(lambda n: "长" * n),
)
keys = st.one_of(st.sampled_from(["a", "b", "unit", "name"]), texts)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), texts)
trees = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.lists(st.tuples(keys, kids), max_size=4).map(lambda p: Obj(tuple(p))),
    ),
    max_leaves=16,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.sampled_from([0, 1, 50, 5000, 200_000]))
def test_the_loader_refuses_in_chinese_or_returns_what_the_text_says(node: Any, depth: int) -> None:
    text = "[" * depth + text_of(node) + "]" * depth
    try:
        doc = report.loads(text, name="r.json")
    except UnreadableInput as exc:
        assert CHINESE.search(exc.message) and exc.message.startswith("r.json")
        exc.message.encode("utf-8")  # printable: no half surrogate pair in the message
        assert depth > 50 or not says_one_thing(node)
        return
    assert says_one_thing(node)
    expected = value_of(node)
    for _ in range(depth):
        expected = [expected]
    assert doc == expected


@settings(max_examples=12, deadline=None)
@given(trees)
def test_validate_never_says_internal_error(tmp_path_factory: pytest.TempPathFactory,
                                            node: Any) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    base = text_of(Obj((("edition", "2021"), ("unit", node), ("unit", Obj((("name", "甲"),))))))
    for text in (base, text_of(Obj((("edition", "2021"), ("unit", node))))):
        path.write_text(text, encoding="utf-8")
        proc = run_cli("validate", path, "-o", path.with_name("out.json"))
        assert proc.returncode in (0, 1, 2), proc.stderr
        assert "内部错误" not in proc.stderr and "Traceback" not in proc.stderr


#: Text as a person types it into a cell: no surrounding spaces (the reader trims them) and no
#: control characters but tab and newline (the value policy's part).
typed = st.text(
    st.characters(categories=("L", "N", "P", "S", "Zs"), include_characters="\t\n"),
    min_size=1, max_size=40,
).map(str.strip).filter(bool)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contact=typed, overview=st.one_of(typed, st.just("长" * report.MAX_TEXT)))
def test_text_validate_accepts_survives_fill_and_read(tmp_path: Path, contact: str,
                                                       overview: str) -> None:
    doc = copy.deepcopy(example("pingtan_2022"))
    doc["unit"]["contact"] = contact
    doc["narrative"] = {**doc.get("narrative", {}), "overview": overview}
    doc = report.loads(report.dumps(doc))
    if not validate_document(doc, SPEC).valid:
        return
    book = build(SPEC, tmp_path / "填好.xlsx", values=fill.values(doc, SPEC))
    back = read_workbook(book).result.values
    assert back["unit.contact"] == contact
    assert back["narrative.overview"] == overview
