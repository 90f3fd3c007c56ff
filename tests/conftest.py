"""Shared test fixtures: the example reports and the official field lists in ``tests/data``."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
EXAMPLES = DATA / "examples"
FORMAT = DATA / "format"
PUBLISHED = DATA / "published"

#: Subprocesses run this checkout's code, whatever else is installed.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}

EXAMPLE_NAMES = ("pingtan_2021", "pingtan_2022", "suqian_city_2023", "sangdong_2020")


def example(name: str) -> dict[str, Any]:
    """An example report, numbers as exact decimals (as xlreport reads JSON)."""
    return json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"), parse_float=Decimal)


@pytest.fixture
def examples() -> dict[str, dict[str, Any]]:
    return {name: example(name) for name in EXAMPLE_NAMES}


def run_cli(*args: str | Path, cwd: Path | None = None, timeout: float = 120,
            unprivileged: bool = False) -> subprocess.CompletedProcess:
    """Run the real ``xlreport`` command line in a subprocess (``unprivileged``: see
    :func:`without_privileges`)."""
    return subprocess.run(
        [*(without_privileges() if unprivileged else []), sys.executable, "-m", "xlreport",
         *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
        env=ENV,
    )


def without_privileges() -> list[str]:
    """A command prefix under which file permissions apply: nothing for an ordinary user; for
    root (who ignores them) util-linux ``setpriv`` dropping every capability, so that a
    read-only folder refuses writes as it would for a colleague.  Skips the test if neither."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all"]


def write_json(path: Path, doc: Any) -> Path:
    from xlreport.checks.report import dumps

    path.write_text(dumps(doc), encoding="utf-8")
    return path


def modified(doc: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``doc`` with the cell at dotted ``key`` set to ``value``."""
    out = copy.deepcopy(doc)
    *parents, leaf = key.split(".")
    node = out
    for part in parents:
        node = node[part]
    node[leaf] = value
    return out


def get(doc: dict[str, Any], key: str) -> Any:
    node: Any = doc
    for part in key.split("."):
        node = node[part]
    return node


def credit_code(body: str) -> str:
    """A valid 统一社会信用代码 beginning with the 17 characters ``body`` (GB 32100 check character)."""
    from xlreport.edition.kinds import CREDIT_CODE_CHARS, CREDIT_CODE_WEIGHTS

    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(body, CREDIT_CODE_WEIGHTS, strict=True))
    return body + CREDIT_CODE_CHARS[-total % 31]
