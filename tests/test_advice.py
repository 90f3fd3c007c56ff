"""Every command line xlreport advises exists: the commands and options named in its messages, its
help texts and the command lines of its documentation are the real ones (click introspection of
:data:`xlreport.cli.app`), and a few advised command lines are run for real.

A message that names its command (``xlreport read --spec …``) is checked against that command.  A
message that names only an option (``请用 --spec 指定规格文件``) is checked against every command
that can show it: for a message written in a command of ``cli.py`` that is the command itself;
for a message of a module below, :data:`SHOWN_BY` says which commands reach it (and a test keeps
that table complete, so a new piece of advice has to be placed).
"""

from __future__ import annotations

import ast
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from conftest import REPO, example, run_cli, write_json
from xlreport import cli

SRC = REPO / "src" / "xlreport"
#: An option as a message writes it: ``--spec``, ``-o`` (not a part of a word, path or range).
OPTION = re.compile(r"(?<![\w./\\-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
#: ``xlreport`` followed by its options and a command (``build/read`` names several; ``命令`` any).
LINE = re.compile(r"(?<![\w./\\-])xlreport(?![\w.-])((?:\s+--?[a-z][a-z-]*)*)"
                  r"(?:\s+(命令|[a-z][a-z-]*(?:/[a-z][a-z-]*)*)(?:\s+([a-z][a-z-]*))?)?")
#: Where an advised command line ends inside a Chinese sentence.
END = re.compile(r"[，。；：、（）“”‘’\n]")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

#: For each module below ``cli.py`` that advises an option without naming the command: the
#: commands that can show that message.  Found by following the callers of the function that
#: raises or returns it up to the commands of ``cli.py``.
SHOWN_BY: dict[tuple[str, str], set[str]] = {
    # cli.py's own helper: the note of collect's and audit's pool of processes
    ("cli.py", "--jobs"): {"collect", "audit"},
    # builtin(): an edition that is not built in, typed after --edition, -e or --to
    ("edition/load.py", "--spec"): {"build", "schema", "validate", "fill", "import", "migrate",
                                     "spec export"},
    # exported(): spec export given both
    ("edition/load.py", "--edition"): {"spec export"},
    # requested() / edition_of(): --edition given with a --spec of another edition, or against the
    # edition a report states
    ("edition/resolve.py", "--edition"): {"build", "schema", "validate", "fill", "import"},
    # builtin_of(): a JSON report, or last year's, of a custom edition
    ("edition/resolve.py", "--spec"): {"read", "validate", "collect", "merge", "fill", "import",
                                        "publish"},
    # collect's first line: where the season's year came from
    ("cli.py", "--year"): {"collect"},
    ("published/pdf.py", "-o"): {"publish"},
    # a workbook of a template no built-in edition made
    ("workbook/reader.py", "--spec"): {"read", "validate", "collect", "merge", "publish"},
    ("workflows/collect.py", "--year"): {"collect"},
    # a unit list whose years disagree with each other or with --year
    ("workflows/roster.py", "--year"): {"build", "collect"},
    ("workflows/distribution.py", "--code"): {"build"},
    ("workflows/distribution.py", "--unit"): {"build"},
    ("workflows/fill.py", "--spec"): {"fill"},
    ("workflows/importing.py", "--out-dir"): {"import"},
    ("workflows/importing.py", "-o"): {"import"},
    ("workflows/importing.py", "--unit"): {"import"},
    ("workflows/importing.py", "--year"): {"import"},
    ("workflows/importing.py", "--previous"): {"import"},
    ("workflows/merge.py", "--unit"): {"merge"},
    # a JSON report of another edition than merge --spec gives
    ("workflows/merge.py", "--spec"): {"merge"},
    ("workflows/migrate.py", "--year"): {"migrate"},
    ("workflows/publish.py", "-o"): {"publish"},
    ("workflows/publish.py", "--text"): {"publish"},
}
#: The catalogue of codes describes them; it is documentation, not a message.
NOT_MESSAGES = {"codes.py"}


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield prefix + name, command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


COMMANDS = dict(_commands(cli.app))


def options(command: click.Command) -> set[str]:
    """Every option name ``command`` takes (``--help`` included)."""
    names = {"--help"}
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts, param.secondary_opts)
    return names


GROUP_OPTIONS = options(cli.app)


@dataclass(frozen=True)
class Advice:
    """One option a text advises for one command, and where the text is."""

    where: str
    command: str
    option: str | None  # None: only the command is named

    def __str__(self) -> str:
        return f"{self.where}: " + " ".join(w for w in ("xlreport", self.command, self.option) if w)


# --------------------------------------------------------------------------- reading the texts


@dataclass(frozen=True)
class Text:
    """A string of the source that a person reads, the function it is written in."""

    module: str
    line: int
    function: str | None
    text: str


class _Strings(ast.NodeVisitor):
    """The strings of one module a person reads (with Chinese in them; docstrings left out)."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.found: list[Text] = []
        self.stack: list[str] = []  # the functions the visitor is in, outermost first

    def _body(self, node: ast.AST) -> None:
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # a docstring is no message
        for child in [*getattr(node, "decorator_list", []), *body]:
            self.visit(child)

    def visit_Module(self, node: ast.Module) -> None:
        self._body(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.stack.append(node.name)
        self._body(node)
        self.stack.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._body(node)

    def _add(self, node: ast.AST, text: str) -> None:
        if CJK.search(text):
            self.found.append(Text(self.module, node.lineno, self.stack[0] if self.stack else None,
                                   text))

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self._add(node, node.value)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._add(node, "".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values))


def source_texts() -> list[Text]:
    out: list[Text] = []
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        if module in NOT_MESSAGES:
            continue
        visitor = _Strings(module)
        visitor.visit(ast.parse(path.read_text("utf-8")))
        out += visitor.found
    return out


def command_lines(text: str, where: str, *, to_end: bool) -> tuple[list[Advice], str]:
    """The command lines ``text`` names, and ``text`` without them.  A line runs to the end of
    ``text`` (a code span of the docs) or, in a message, to the end of its clause."""
    found: list[Advice] = []
    rest = text
    for m in LINE.finditer(text):
        group_opts, names, sub = m.group(1).split(), m.group(2), m.group(3)
        found += [Advice(where, "", o) for o in group_opts]
        tail = text[m.end():]
        cut = len(tail) if to_end else (e.start() if (e := END.search(tail)) else len(tail))
        tail = tail[:cut]
        if names is None:
            continue
        targets = list(COMMANDS) if names == "命令" else names.split("/")
        for name in targets:
            if name == "spec" and sub is not None:
                name = f"spec {sub}"
            found.append(Advice(where, name, None))
            found += [Advice(where, name, o) for o in OPTION.findall(tail)]
        rest = rest.replace(m.group(0) + tail, " ", 1)
    return found, rest


def source_advice() -> tuple[list[Advice], list[tuple[str, str, str]]]:
    """Advice naming its command, and (module, option, where) of advice naming only an option."""
    commands_of = {c.callback.__name__: name for name, c in COMMANDS.items() if c.callback}
    named: list[Advice] = []
    bare: list[tuple[str, str, str]] = []
    for t in source_texts():
        where = f"src/xlreport/{t.module}:{t.line}"
        found, rest = command_lines(t.text, where, to_end=False)
        named += found
        own = commands_of.get(t.function or "") if t.module == "cli.py" else None
        for option in OPTION.findall(rest):
            if option in GROUP_OPTIONS:  # --debug, --help: taken before (or by) any command
                named.append(Advice(where, "", option))
            elif own is not None:
                named.append(Advice(where, own, option))
            else:
                bare.append((t.module, option, where))
    return named, bare


def _doc_pieces() -> Iterator[tuple[str, str]]:
    """(where, text) of every code span, fenced code line and YAML comment of the docs."""
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        fenced = False
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            where = f"{path.relative_to(REPO)}:{n}"
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            if fenced:
                yield where, line.split(" # ")[0].split("  #")[0]
            else:
                for span in re.findall(r"`([^`]+)`", line):
                    yield where, span.replace("\\|", "|")
    for path in [*sorted((REPO / "docs").rglob("*.yaml")), *sorted((SRC / "edition").rglob("*.yaml"))]:
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if "#" in line:
                yield f"{path.relative_to(REPO)}:{n}", line.split("#", 1)[1]


def doc_advice() -> list[Advice]:
    out: list[Advice] = []
    for where, text in _doc_pieces():
        for part in re.split(r"&&|;", text):
            out += command_lines(part, where, to_end=True)[0]
    return out


def help_advice() -> list[Advice]:
    """Options named in each command's own help texts."""
    out: list[Advice] = []
    for name, command in COMMANDS.items():
        texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
        for text in texts:
            found, rest = command_lines(text, f"xlreport {name} --help", to_end=False)
            out += found
            out += [Advice(f"xlreport {name} --help", name, o) for o in OPTION.findall(rest)]
    return out


# --------------------------------------------------------------------------- the checks


def _cases() -> list[Advice]:
    named, bare = source_advice()
    placed = [Advice(where, command, option)
              for module, option, where in bare
              for command in sorted(SHOWN_BY.get((module, option), set()))]
    seen: dict[tuple[str, str | None], Advice] = {}
    for advice in [*named, *placed, *doc_advice(), *help_advice()]:
        seen.setdefault((advice.command, advice.option), advice)
    return sorted(seen.values(), key=lambda a: (a.command, a.option or ""))


CASES = _cases()


def exists(advice: Advice) -> bool:
    if advice.command == "":
        return advice.option in GROUP_OPTIONS
    command = COMMANDS.get(advice.command)
    return command is not None and (advice.option is None or advice.option in options(command))


@pytest.mark.parametrize("advice", CASES, ids=lambda a: f"{a.command or 'xlreport'} {a.option or ''}".strip())
def test_every_advised_option_exists(advice: Advice) -> None:
    """Each (command, option) advised anywhere; the id names it, the message names the first place."""
    command = COMMANDS.get(advice.command)
    assert advice.command == "" or command is not None, f"{advice}: xlreport has no command “{advice.command}”"
    assert exists(advice), (
        f"{advice}: “xlreport {advice.command}” has no option {advice.option} "
        f"(it takes {', '.join(sorted(options(command) if command else GROUP_OPTIONS))})")


#: The commands that read or write a report, each of which reads a custom edition too.
REPORT_COMMANDS = ("build", "read", "validate", "collect", "merge", "fill", "migrate", "schema")


@pytest.mark.parametrize("command", REPORT_COMMANDS)
def test_every_command_that_reads_or_writes_a_report_takes_spec(command: str) -> None:
    assert "--spec" in options(COMMANDS[command]), f"xlreport {command} has no --spec"


def test_every_option_advised_below_the_command_line_is_placed() -> None:
    """A message below ``cli.py`` that names only an option is in :data:`SHOWN_BY`, and every
    entry there is still advised somewhere."""
    _, bare = source_advice()
    found = {(module, option) for module, option, _ in bare}
    missing = sorted(f"{where} ({module}, {option})" for module, option, where in bare
                     if (module, option) not in SHOWN_BY)
    assert not missing, "say which commands can show these messages (SHOWN_BY): " + "; ".join(missing)
    assert set(SHOWN_BY) <= found, f"no longer advised: {sorted(set(SHOWN_BY) - found)}"
    assert all(commands <= set(COMMANDS) for commands in SHOWN_BY.values())


def test_the_scan_finds_advice_where_it_is() -> None:
    """The scanner itself: the forms it has to recognise, in messages, docs and help texts."""
    found, rest = command_lines("请加 --debug 重新运行（放在命令前，如 xlreport --debug read …），把", "x",
                                to_end=False)
    assert (found, OPTION.findall(rest)) == ([Advice("x", "", "--debug"), Advice("x", "read", None)],
                                             ["--debug"])
    found, _ = command_lines("xlreport build/read --spec 规格.yaml …", "x", to_end=True)
    assert {(a.command, a.option) for a in found} == {
        ("build", None), ("build", "--spec"), ("read", None), ("read", "--spec")}
    found, _ = command_lines("xlreport spec export --spec a.yaml -o b.yaml", "x", to_end=True)
    assert {a.option for a in found if a.command == "spec export"} == {None, "--spec", "-o"}
    assert OPTION.findall("2019—2020、a-b、src/--x、--year 2020，-o 文件") == ["--year", "-o"]
    assert ("collect", "--jobs") in {(a.command, a.option) for a in CASES}
    assert ("migrate", "--year") in {(a.command, a.option) for a in CASES}
    assert ("build", "--unit") in {(a.command, a.option) for a in CASES}, "build's help text"
    assert any(a.where.startswith("README.md") for a in CASES)


# --------------------------------------------------------------------------- advice followed


PROVINCE = REPO / "docs" / "examples" / "province.yaml"


def advised(stderr: str) -> list[str]:
    """The options the last message of ``stderr`` advises, with the value it gives (``--year 2020``)."""
    return [m.group(0) for m in re.finditer(r"--[a-z][a-z-]*(?: [0-9]+)?", stderr.strip().splitlines()[-1])]


def _custom_report(folder: Path, name: str = "pingtan_2022") -> Path:
    """An example report as if of the province's edition (docs/examples/province.yaml)."""
    doc = {**example(name), "edition": "2021-sheng"}
    columns = [c for c in doc["requests"]["new"] if c != "total"]
    doc["requests"] = {**doc["requests"], "online": {**dict.fromkeys(columns, 0), "total": 0}}
    return write_json(folder / f"{name}.json", doc)


@pytest.mark.parametrize("command", ["validate", "fill", "merge", "publish"])
def test_a_custom_report_is_read_as_advised(tmp_path: Path, command: str) -> None:
    """A JSON report of a custom edition: each command says to give its spec file with --spec;
    the command typed as advised is not refused as bad usage."""
    report = _custom_report(tmp_path)
    out = {"fill": ["-o", tmp_path / "f.xlsx"], "publish": ["-o", tmp_path / "p.html", "--draft"]}
    first = run_cli(command, report, *out.get(command, []))
    assert first.returncode == 2 and advised(first.stderr) == ["--spec"], first.stderr
    again = run_cli(command, report, *out.get(command, []), "--spec", PROVINCE)
    assert again.returncode != 2, f"xlreport {command} … --spec {PROVINCE.name}: {again.stderr}"


def test_last_years_custom_report_in_collect_as_advised(tmp_path: Path) -> None:
    """collect reads last year's JSON reports too; one of a custom edition advises --spec, and
    collect takes it."""
    this_year, last_year = tmp_path / "in", tmp_path / "last"
    this_year.mkdir()
    last_year.mkdir()
    result = run_cli("fill", _custom_report(tmp_path), "--spec", PROVINCE, "-o", this_year / "平潭.xlsx")
    assert result.returncode == 0, result.stderr
    _custom_report(last_year, "pingtan_2021")
    first = run_cli("collect", this_year, "--out-dir", tmp_path / "out", "--previous-dir", last_year)
    note = next(line for line in first.stderr.splitlines() if line.startswith("上年报告未使用"))
    assert "--spec" in advised(note), first.stderr
    again = run_cli("collect", this_year, "--out-dir", tmp_path / "out", "--previous-dir", last_year,
                    "--spec", PROVINCE)
    assert again.returncode != 2, again.stderr
    assert "上年报告未使用" not in again.stderr and "上年报告：找到 1 个单位" in again.stderr, again.stderr
    with (tmp_path / "out" / "summary.csv").open(encoding="utf-8-sig") as f:
        (row,) = csv.DictReader(f)
    assert row["上年报告"] == "pingtan_2021.json", row


@pytest.mark.parametrize("command", ["read", "validate"])
def test_last_years_custom_report_is_read_with_this_years_spec(tmp_path: Path, command: str) -> None:
    """read/validate --spec … --previous: last year's report of the same custom edition is read
    with that spec (as JSON and as a filled workbook)."""
    this_year = _custom_report(tmp_path)
    book = tmp_path / "平潭.xlsx"
    assert run_cli("fill", this_year, "--spec", PROVINCE, "-o", book).returncode == 0
    (tmp_path / "上年").mkdir()
    last_json = _custom_report(tmp_path / "上年", "pingtan_2021")
    last_book = tmp_path / "上年.xlsx"
    assert run_cli("fill", last_json, "--spec", PROVINCE, "-o", last_book).returncode == 0
    target = book if command == "read" else this_year
    for last in (last_json, last_book):
        result = run_cli(command, target, "--spec", PROVINCE, "--previous", last)
        assert result.returncode == 0, f"{last.name}: {result.stderr}"


def test_the_year_advised_by_migrate_works(tmp_path: Path) -> None:
    src = write_json(tmp_path / "r.json", example("suqian_city_2023"))
    book, new = tmp_path / "2023.xlsx", tmp_path / "2019.xlsx"
    assert run_cli("fill", src, "-o", book).returncode == 0
    first = run_cli("migrate", book, "--to", "2019", "-o", new)
    assert first.returncode == 2 and advised(first.stderr) == ["--year", "--year 2020"], first.stderr
    again = run_cli("migrate", book, "--to", "2019", "-o", new, *advised(first.stderr)[-1].split())
    assert again.returncode == 0, again.stderr


def test_the_help_advised_on_a_usage_mistake_works() -> None:
    first = run_cli("read", "--nope")
    assert first.returncode == 2
    assert "运行 xlreport --help 或 xlreport 命令 --help 查看用法" in first.stderr
    for line in (["--help"], ["read", "--help"]):
        shown = run_cli(*line)
        assert shown.returncode == 0 and "用法：" in shown.stdout, shown.stderr


def test_publish_advises_draft_and_the_draft_is_written(tmp_path: Path) -> None:
    doc = {**example("pingtan_2022")}
    doc.pop("narrative", None)
    report = write_json(tmp_path / "r.json", doc)
    first = run_cli("publish", report, "-o", tmp_path / "a.html")
    assert first.returncode == 1 and "--draft" in advised(first.stderr), first.stderr
    again = run_cli("publish", report, "-o", tmp_path / "a.html", "--draft")
    assert again.returncode == 1 and (tmp_path / "a.html").exists(), again.stderr
