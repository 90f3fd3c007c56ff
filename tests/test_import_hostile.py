"""200 hostile inputs (tests/support/hostile.py) given to the importer: every one is refused with a
Chinese message and a catalogued code, within bounded memory.

The corpus is imported by tests/support/hostile_runner.py, one forked child per file, each under
an address-space limit, and reports the peak resident memory of the child and of the PDF reader
it runs.  Time is not asserted; an alarm in each child and the subprocess timeout here only keep a
hang from stalling the suite.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ENV, REPO
from support.hostile import CORPUS
from xlreport.codes import REFUSALS

#: Peak resident memory allowed to the importing process and to the PDF reader's process, each.
MEMORY_KB = 300 * 1024
RUNNER = REPO / "tests" / "support" / "hostile_runner.py"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("hostile")
    for name, write in CORPUS.items():
        write(root / name)
    done = subprocess.run([sys.executable, str(RUNNER), *sorted(CORPUS)], cwd=root, env=ENV,
                          capture_output=True, text=True, timeout=3600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return {line["file"]: line for line in lines}


def test_the_corpus_has_200_inputs_of_many_kinds() -> None:
    assert len(CORPUS) == 200
    families = {re.sub(r"\d+$", "", name.split(".")[0]) for name in CORPUS}
    assert len(families) >= 15


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_hostile_input_is_refused_in_chinese_within_bounded_memory(
    outcomes: dict[str, dict[str, Any]], name: str
) -> None:
    got = outcomes[name]
    assert got["outcome"] == "refused", got
    assert got["code"] in REFUSALS, got
    assert CHINESE.search(got["message"]) and "内部错误" not in got["message"], got
    assert got["self_kb"] < MEMORY_KB, f"{name}: the importer peaked at {got['self_kb'] // 1024} MB"
    assert got["children_kb"] < MEMORY_KB, (
        f"{name}: the PDF reader peaked at {got['children_kb'] // 1024} MB")


def test_the_runner_would_see_a_file_that_is_imported(tmp_path: Path) -> None:
    """The runner tells an import from a refusal (so the test above could fail)."""
    page = (REPO / "tests" / "data" / "published" / "sangdong_2020.txt").read_bytes()
    (tmp_path / "seed.txt").write_bytes(page)
    done = subprocess.run([sys.executable, str(RUNNER), "seed.txt"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=600, check=False)
    (line,) = [json.loads(x) for x in done.stdout.splitlines()]
    assert line["outcome"] == "imported" and 0 < line["self_kb"] < MEMORY_KB
