"""Every message the command line prints is Chinese: help texts, usage errors and the errors of
the libraries underneath (click, json, PyYAML, csv, jsonschema, the operating system).

A message may hold Latin letters only where they name something the user types or sees
elsewhere: option names, file names and paths, upload keys, cell references, rule ids, and the
names of programs and formats (Excel, JSON, …).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from conftest import REPO, example, run_cli
from xlreport import cli
from xlreport.edition.load import builtin

#: Names of programs, formats and the tool itself, which have no Chinese name.
NAMES = {"xlreport", "Excel", "WPS", "LibreOffice", "JSON", "Schema", "YAML", "CSV", "Markdown",
         "UTF", "GBK", "CPU", "Word", "PDF", "HTML", "DOCX", "Tab", "zip", "null", "xlsx", "json",
         "yaml", "csv", "jsonl", "templates"}
RULE_IDS = {rule.id for edition in ("2021", "2019") for rule in builtin(edition).rules}


def _names(schema: object) -> set[str]:
    if isinstance(schema, dict):
        own = set(schema.get("properties", {})) | set(schema.get("required", []))
        return own.union(*(_names(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_names(v) for v in schema))
    return set()


#: The names a spec file's author writes (``title``, ``years``, ``sheets``…).
SPEC_WORDS = _names(json.loads((REPO / "src/xlreport/edition/builtin/spec.schema.json").read_text("utf-8")))
#: The words of upload keys (``proactive``, ``requests.results.total``): a section is named by its key.
KEY_WORDS = {part for edition in ("2021", "2019") for key in builtin(edition).cells
             for part in key.split(".")}
_ALLOWED = [
    re.compile(r"(?<![\w-])--?[a-z][a-z-]*"),  # an option
    re.compile(r"[^\s“”‘’'\"（）()，,。：:；]*[./\\][^\s“”‘’'\"（）()，,。：:；]*"),  # a file, path or key
    re.compile(r"(?<![A-Za-z])[A-Z]{1,3}[0-9]+(?![0-9])"),  # a cell reference
]
_LATIN = re.compile(r"[A-Za-z]+")


def latin_words(text: str, typed: tuple[str, ...] = ()) -> list[str]:
    """The Latin-letter words of ``text`` that are not a name, option, file, key, cell or a word
    the user ``typed``."""
    for allowed in _ALLOWED:
        text = allowed.sub(" ", text)
    known = NAMES | RULE_IDS | KEY_WORDS | SPEC_WORDS | COMMAND_NAMES
    known |= {w for arg in typed for w in _LATIN.findall(arg)}
    return [w for w in _LATIN.findall(text) if w not in known]


def test_the_check_finds_english() -> None:
    assert latin_words("无法处理：Expecting value（第 1 行）") == ["Expecting", "value"]
    assert latin_words("错误：表三 B7（requests.results.total）不对；运行 xlreport read --help") == []
    assert latin_words("“报告 2024.xlsx”不是有效的 JSON 文件") == []


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


COMMANDS = _commands(cli.app)
#: What the user types to run a command.
COMMAND_NAMES = {name for command in COMMANDS for name in command}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "xlreport")
def test_help_is_chinese(command: tuple[str, ...]) -> None:
    proc = run_cli(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "用法：" in proc.stdout and "显示本帮助并退出" in proc.stdout
    assert latin_words(proc.stdout + proc.stderr) == [], proc.stdout


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    files = {
        "bad.json": "{\n  \"edition\": \"2021\",\n  \"unit\": {,}\n}",
        "empty.json": "",
        "trailing.json": '{"edition": "2021"} x',
        "list.json": "[1, 2]",
        "partial.json": json.dumps({"edition": "2021", "unit": {"name": "x", "year": "二〇二四"}}),
        "bad.yaml": "edition: '2021'\nsheets: [1\n",
        "tab.yaml": "edition: 2021\n\tsheets: []\n",
        "shape.yaml": "edition: 2021\nsheets: 3\n",
        "units.csv": "单位名称,年度\n" + "甲" * 200_000 + ",2024\n",
        "garbage.xlsx": "PK\x03\x04 not really a zip",
        "text.xlsx": "单位名称\n",
    }
    for name, text in files.items():
        (d / name).write_text(text, encoding="utf-8")
    (d / "good.json").write_text(json.dumps(example("sangdong_2020")), encoding="utf-8")
    (d / "folder.xlsx").mkdir()
    return {name: d / name for name in [*files, "good.json", "folder.xlsx"]}


CASES = [
    (),
    ("reed",),
    ("read",),
    ("read", "-o"),
    ("read", "a.xlsx", "b.xlsx"),
    ("read", "--nope", "a.xlsx"),
    ("read", "missing.xlsx"),
    ("read", "{folder.xlsx}"),
    ("read", "{garbage.xlsx}"),
    ("read", "{text.xlsx}"),
    ("build", "--year", "abc"),
    ("build", "--units", "{units.csv}", "--out-dir", "{out}"),
    ("collect", "{out}", "--out-dir", "{out}/r", "--jobs", "0"),
    ("collect", "{out}", "--out-dir", "{out}/r", "--units", "{text.xlsx}"),
    ("collect", "{out}", "--out-dir", "{out}/r", "--units", "{units.csv}"),
    ("collect", "{out}", "--out-dir", "{out}/r", "--year", "1999"),
    ("spec",),
    ("spec", "nope"),
    ("spec", "check", "{bad.yaml}"),
    ("spec", "check", "{tab.yaml}"),
    ("spec", "check", "{shape.yaml}"),
    ("spec", "check", "missing.yaml"),
    ("validate", "{bad.json}"),
    ("validate", "{empty.json}"),
    ("validate", "{trailing.json}"),
    ("validate", "{list.json}"),
    ("validate", "{partial.json}"),
    ("validate", "--edition", "1999", "{good.json}"),
    ("merge",),
    ("merge", "{good.json}", "--year", "二〇二〇"),
    ("fill", "{good.json}"),
    ("migrate", "{good.json}", "-o", "{out}/m.xlsx"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c) or "bare")
def test_every_message_is_chinese(case: tuple[str, ...], inputs: dict[str, Path],
                                  tmp_path: Path) -> None:
    args = [a.replace("{out}", str(tmp_path)) for a in case]
    for name, path in inputs.items():
        args = [a.replace("{" + name + "}", str(path)) for a in args]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode in (1, 2), proc.stderr
    assert proc.stderr.strip(), "a refusal says why"
    assert "内部错误" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert latin_words(proc.stderr, case) == [], proc.stderr
