"""The repository tests itself: its copies of the real reports are complete and valid, and nothing
of the project reads files from beside the repository."""

from __future__ import annotations

import subprocess

import pytest

from conftest import EXAMPLE_NAMES, EXAMPLES, PUBLISHED, REPO, example
from xlreport import edition
from xlreport.checks.validate import validate_document


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_says_where_it_was_published_and_is_valid(name: str) -> None:
    doc = example(name)
    assert doc["_source"], "each copy keeps its source note"
    result = validate_document(doc, edition.builtin(doc["edition"]))
    assert result.valid, [p.message for p in result.problems if p.is_error]


def test_the_data_folder_holds_every_file_it_lists() -> None:
    listed = (REPO / "tests" / "data" / "README.md").read_text("utf-8")
    files = [*EXAMPLES.glob("*.json"), *PUBLISHED.glob("*.txt")]
    assert len(files) == len(EXAMPLE_NAMES) + 1
    for path in files:
        assert f"{path.parent.name}/{path.name}" in listed, path.name


def test_nothing_in_the_repository_refers_to_files_beside_it() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = "../" + "shared"
    offenders = [
        name for name in tracked
        if not name.endswith((".png", ".xlsx"))
        and outside in (REPO / name).read_text("utf-8", errors="replace")
    ]
    assert offenders == []
