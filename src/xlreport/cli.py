"""Command line: ``xlreport build | read | validate | import | collect | audit | merge | fill |
migrate | publish | schema | spec``.

Each command parses its options, calls one library function and prints.  Data (upload JSON, a
schema, a spec file) goes to stdout or to the files named; every message for a person goes to
stderr, in Chinese.  Exit codes (stable): 0 valid (warnings allowed), 1 invalid data, 2 input
unreadable or bad usage.
"""

from __future__ import annotations

import functools
import importlib
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from . import __version__
from .checks.report import dumps
from .edition.load import exported, lint, load
from .edition.resolve import requested
from .errors import SpecError, UnreadableInput, UsageError, XlreportError, os_reason
from .outputs import Outputs
from .workflows.check import read_report, validate_report

if TYPE_CHECKING:
    from .checks.validate import Result
    from .workflows.collect import Collected

# A command imports the workflow it runs when it runs: a single read does not pay for the
# process pool of collect, the merge, the readers of published reports or the schema generator.

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2

P = ParamSpec("P")
C = TypeVar("C", bound=Callable[..., Any])

#: click's own words (its gettext messages) in Chinese: help headings, option errors, file checks.
#: click formats them after translation, so a placeholder a text leaves out is simply not shown.
CLICK_TEXTS = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Show this message and exit.": "显示本帮助并退出。",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "Error: {message}": "错误：{message}",
    "Aborted!": "已中断。",
    "Try '{command} {option}' for help.": "运行“{command} {option}”查看用法。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有 {name} 这个命令",
    "No such option {name!r}.": "没有 {name} 这个选项",
    "Did you mean {possibility}?": "（是不是要写 {possibility}）",
    "(Did you mean one of: {possibilities}?)": "（是不是要写其中之一：{possibilities}）",
    "Option {name!r} requires an argument.": "{name} 后面缺少取值",
    "Option {name!r} requires {nargs} arguments.": "{name} 后面要写 {nargs} 个取值",
    "Option {name!r} does not take a value.": "{name} 后面不能写取值",
    "Got unexpected extra argument ({args})": "多出了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多出了参数（{args}）",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值不对：{message}",
    "Invalid value: {message}": "值不对：{message}",
    "{value!r} is not a valid {number_type}.": "“{value}”不是整数，请只写数字",
    "{value} is not in the range {range}.": "{value} 超出了允许的范围",
    "{value!r} is not {choice}.": "“{value}”不是 {choice}",
    "{value!r} is not one of {choices}.": "“{value}”不是其中之一：{choices}",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在",
    "{name} {filename!r} is a file.": "“{filename}”是文件，这里要的是文件夹",
    "{name} {filename!r} is a directory.": "“{filename}”是文件夹，这里要的是文件",
    "{name} {filename!r} is not readable.": "{name}“{filename}”不能读取（没有权限）",
    "{name} {filename!r} is not writable.": "{name}“{filename}”不能写入（没有权限）",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    "unknown error": "未知错误",
}


def _click_text(message: str) -> str:
    return CLICK_TEXTS.get(message, message)


def _click_ntext(singular: str, plural: str, n: int) -> str:
    return _click_text(singular if n == 1 else plural)


for _name in ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui"):
    _module = importlib.import_module(f"click.{_name}")
    _module._ = _click_text  # type: ignore[attr-defined]
    if hasattr(_module, "ngettext"):
        _module.ngettext = _click_ntext  # type: ignore[attr-defined]


class Command(click.Command):
    """A command whose usage line is in Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)


class Group(click.Group):
    """A group of commands whose usage line is in Chinese."""

    command_class = Command
    group_class = type  # subgroups are Groups too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

#: A file named on the command line (a folder is refused; existence is checked where it is read).
FILE = click.Path(dir_okay=False, path_type=Path)
FOLDER = click.Path(file_okay=False, path_type=Path)
ANY_PATH = click.Path(path_type=Path)


def _edition(func: C) -> C:
    return click.option("--edition", "-e", metavar="版本", help="格式版本：2021（默认）或 2019。")(func)


def _spec(func: C) -> C:
    return click.option("--spec", "spec_file", type=FILE,
                        help="自定义规格文件（YAML）。")(func)


def _strict(func: C) -> C:
    return click.option("--strict", is_flag=True,
                        help="空白单元格按错误处理。")(func)


def _report(func: C) -> C:
    return click.option("--report", "report_path", type=FILE,
                        help="把问题清单写成 JSON 文件。")(func)


def _at_least_one(n: int | None) -> int | None:
    if n is not None and n < 1:
        raise click.BadParameter("至少写 1")
    return n


def say(text: str) -> None:
    """One message for a person, on stderr."""
    print(text, file=sys.stderr, flush=True)


def handled(func: Callable[P, int | None]) -> Callable[P, int]:
    """Turn every failure into one Chinese line on stderr and exit 2 (traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return func(*args, **kwargs) or EXIT_VALID
        except (click.ClickException, click.Abort):
            raise
        except XlreportError as exc:
            _traceback()
            say(f"无法处理：{exc.message}")
            _report_unreadable(kwargs, exc)
        except KeyboardInterrupt:
            say("已中断。")
        except OSError as exc:  # the disk or the system, not the program
            _traceback()
            where = f"“{exc.filename}”" if exc.filename else "文件"
            say(f"无法处理：读写{where}时出错：{os_reason(exc)}。")
        except Exception:  # the last line of defence: no traceback reaches a user
            _traceback()
            say("内部错误：程序自身出了问题，不是您的操作有误。请加 --debug 重新运行（放在命令前，如 "
                "xlreport --debug read …），把显示的全部内容发给维护者。")
        return EXIT_UNREADABLE

    return wrapper


def _report_unreadable(params: dict[str, Any], exc: XlreportError) -> None:
    """``--report`` is written also when the input cannot be read: one problem ``unreadable``
    whose ``reason`` is the refusal's code (docs/codes.md)."""
    path = params.get("report_path")
    if not isinstance(path, Path) or not isinstance(exc, (UnreadableInput, SpecError)):
        return
    inputs = [p for v in params.values() for p in (v if isinstance(v, tuple) else (v,))
              if isinstance(p, Path) and p is not path]
    problem = {"severity": "error", "code": "unreadable", "reason": exc.code, "keys": [],
               "message": exc.message}
    try:
        write_outputs(inputs, (path, {"valid": False, "edition": None, "errors": 1, "warnings": 0,
                                      "problems": [problem]}))
    except XlreportError as again:
        say(f"问题清单也没有写出：{again.message}")


def _traceback() -> None:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().params.get("debug"):
        traceback.print_exc()


def write_outputs(inputs: Sequence[Path | None], *outputs: tuple[Path | None, object],
                  out: Outputs | None = None) -> None:
    """Write every ``(path, content)`` that has a path, all or none (:mod:`xlreport.outputs`):
    bytes (a workbook) and text as they are, anything else as upload JSON.  No output may be one
    of ``inputs``; the path ``-`` is stdout, written once every file is in place.  ``out`` holds
    outputs a workflow has already staged, committed together with these."""
    shown: list[str] = []
    with out or Outputs(inputs) as staged:
        for path, content in outputs:
            if path is None:
                continue
            data = content if isinstance(content, (bytes, str)) else dumps(content)
            if str(path) == "-" and isinstance(data, str):
                shown.append(data)
            else:
                staged.write(path, data)
        staged.commit()
    for text in shown:
        sys.stdout.write(text)
    sys.stdout.flush()


def finish(result: Result, *, quiet_ok: bool = False) -> int:
    """Print the problems; the exit code, 0 or 1."""
    for problem in result.problems:
        say(problem.line())
    errors, warnings = len(result.errors), len(result.warnings)
    if errors:
        say(f"不通过：{errors} 个错误，{warnings} 个警告。")
        return EXIT_INVALID
    if not quiet_ok:
        say(f"通过：0 个错误，{warnings} 个警告。" if warnings else "通过。")
    return EXIT_VALID


def _help_when_bare(ctx: click.Context) -> int | None:
    """A group run without a command shows its help (on stderr: nothing was done) and exits 2."""
    if ctx.invoked_subcommand is None:
        say(ctx.get_help())
        return EXIT_UNREADABLE
    return None


@click.group(
    "xlreport",
    cls=Group,
    invoke_without_command=True,
    help="政府信息公开工作年度报告统计表：生成填报模板、读取并校验报表。",
)
@click.version_option(__version__, "--version", prog_name="xlreport",
                      message="%(prog)s %(version)s", help="显示版本号。")
@click.option("--debug", is_flag=True, help="出错时显示完整调用栈。")
@click.pass_context
def app(ctx: click.Context, debug: bool) -> int | None:
    return _help_when_bare(ctx)


@app.group("spec", invoke_without_command=True)
@click.pass_context
def spec_app(ctx: click.Context) -> int | None:
    """规格文件（报表版本定义）：检查、导出。"""
    return _help_when_bare(ctx)


@app.command()
@click.argument("report_file", metavar="报告.json", type=FILE)
@_edition
@_spec
@click.option("--previous", type=FILE,
              help="上年报告（JSON、填好的 .xlsx 或已公开的年报，可以是上一版本的），用于跨年度校验。")
@_report
@_strict
@click.option("--output", "-o", type=FILE,
              help="写出补全后的报告（空白按 0、总计按公式计算）。")
@handled
def validate(report_file: Path, edition: str | None, spec_file: Path | None,
             previous: Path | None, report_path: Path | None, strict: bool,
             output: Path | None) -> int:
    """校验上报格式的 JSON 报告。

    报告.json：上报格式的 JSON 文件。
    """
    checked = validate_report(report_file, edition=edition, spec_file=spec_file,
                              previous=previous, strict=strict)
    valid = checked.result.valid
    write_outputs([report_file, previous, spec_file],
                  (output if valid else None, checked.document() if valid else None),
                  (report_path, checked.result.summary()))
    return finish(checked.result)


@app.command()
@_edition
@_spec
@click.option("--output", "-o", type=FILE, help="输出文件（默认输出到屏幕）。")
@handled
def schema(edition: str | None, spec_file: Path | None, output: Path | None) -> None:
    """生成上报格式的 JSON Schema。"""
    # deferred: only this command generates a schema
    from .checks.schema import generate

    write_outputs([spec_file], (output or Path("-"), generate(requested(edition, spec_file))))
    if output is not None:
        say(f"已写入 {output}")


@spec_app.command("check")
@click.argument("spec_file", metavar="规格.yaml", type=FILE)
@handled
def spec_check(spec_file: Path) -> None:
    """检查规格文件是否正确。

    规格.yaml：要检查的规格文件。
    """
    spec, warnings = lint(spec_file)
    for text in warnings:
        say(f"警告：{text}")
    say(
        f"规格文件正确：{spec.edition} 年版，{len(spec.sheets)} 张工作表，{len(spec.cells)} 个单元格，"
        f"{len(spec.rules)} 条规则（展开为 {len(spec.checks())} 项检查）。"
    )
    if spec.publication is None:
        say("注意：没有 publication 一节，不能用 xlreport publish 生成发布用的报告。")
    else:
        for line in spec.publication.broken:
            say(f"注意：用 xlreport publish 生成发布用的报告时会出错：{line}")


@spec_app.command("export")
@_edition
@_spec
@click.option("--output", "-o", type=FILE, help="输出文件（默认输出到屏幕）。")
@handled
def spec_export(edition: str | None, spec_file: Path | None, output: Path | None) -> None:
    """打印一个完整的规格文件，作为自定义版本的起点。"""
    write_outputs([spec_file], (output or Path("-"), exported(edition, spec_file)))
    if output is not None:
        say(f"已写入 {output}")


@app.command()
@click.argument("workbook", metavar="工作簿.xlsx", type=FILE)
@click.option("--output", "-o", type=FILE,
              help="上报 JSON 写到这个文件（默认输出到屏幕）。")
@_report
@click.option("--previous", type=FILE,
              help="上年报告（JSON、填好的 .xlsx 或已公开的年报），用于跨年度校验。")
@_strict
@_spec
@handled
def read(workbook: Path, output: Path | None, report_path: Path | None, previous: Path | None,
         strict: bool, spec_file: Path | None) -> int:
    """读取填好的报表，校验后输出上报 JSON。

    工作簿.xlsx：填好的报表（.xlsx）。
    """
    result = read_report(workbook, spec_file=spec_file, previous=previous, strict=strict)
    valid = result.valid
    write_outputs([workbook, previous, spec_file],
                  (output or Path("-") if valid else None, result.document() if valid else None),
                  (report_path, result.result.summary()))
    return finish(result.result)


@app.command("import")
@click.argument("files", metavar="年报...", nargs=-1, required=True, type=FILE)
@click.option("--output", "-o", type=FILE, help="上报 JSON 写到这个文件（默认输出到屏幕）。")
@click.option("--out-dir", type=FOLDER,
              help="多个文件时，每份有效报告写成“单位_年度.json”放在这个文件夹。")
@_edition
@_spec
@click.option("--unit", metavar="名称", help="单位名称（默认取报告标题中的）。")
@click.option("--year", type=int, metavar="年度", help="报告年度（默认取报告标题中的）。")
@click.option("--previous", type=FILE, help="上年报告（JSON、.xlsx 或已公开的年报），用于跨年度校验。")
@_report
@_strict
@handled
def import_published(files: tuple[Path, ...], output: Path | None, out_dir: Path | None,
                     edition: str | None, spec_file: Path | None, unit: str | None,
                     year: int | None, previous: Path | None, report_path: Path | None,
                     strict: bool) -> int:
    """读取已公开的年度报告（网页、Word、PDF、复制的文本），校验后输出上报 JSON。

    年报：已公开的年度报告（.html/.htm、.docx、.pdf、.txt/.md），可以多个。
    """
    # deferred: the readers of published reports are needed only by this command
    from .workflows.importing import import_files

    outcomes = import_files(list(files), output=output, out_dir=out_dir, edition=edition,
                            spec_file=spec_file, unit=unit, year=year, previous=previous,
                            strict=strict, report=report_path)
    if len(outcomes) == 1 and outcomes[0].imported is not None:
        one = outcomes[0].imported
        if one.valid and (output is None or str(output) == "-"):
            sys.stdout.write(dumps(one.document()))
            sys.stdout.flush()
        return finish(one.result)
    for outcome in outcomes:
        name = outcome.path.name
        if outcome.imported is None:
            say(f"{name}：无法读取：{outcome.error.message if outcome.error else ''}")
            continue
        for problem in outcome.imported.problems:
            say(f"{name}：{problem.line()}")
        errors = len(outcome.imported.result.errors)
        say(f"{name}：" + (f"不通过（{errors} 个错误）" if errors else f"通过，已写入 {outcome.output}"))
    unreadable = sum(o.imported is None for o in outcomes)
    invalid = sum(o.imported is not None and not o.valid for o in outcomes)
    say(f"共 {len(outcomes)} 个文件：通过 {len(outcomes) - unreadable - invalid}，不通过 {invalid}，"
        f"无法读取 {unreadable}。")
    return EXIT_UNREADABLE if unreadable else EXIT_INVALID if invalid else EXIT_VALID


@app.command("merge")
@click.argument("reports", metavar="报告...", nargs=-1, required=True, type=ANY_PATH)
@click.option("--output", "-o", type=FILE,
              help="汇总报告写到这个 JSON 文件（默认输出到屏幕）。")
@click.option("--unit", metavar="名称", help="汇总报告的单位名称（默认“汇总”）。")
@click.option("--year", type=int, metavar="年份", help="报告年度；每份报告都必须是这一年度。")
@click.option("--xlsx", "workbook", type=FILE,
              help="同时把汇总结果写成填好的锁定模板。")
@_spec
@_report
@_strict
@handled
def merge_reports(reports: tuple[Path, ...], output: Path | None, unit: str | None,
                  year: int | None, workbook: Path | None, spec_file: Path | None,
                  report_path: Path | None, strict: bool) -> int:
    """把多个单位的报告汇总成一份（逐项精确相加）。

    报告：各单位的报告（上报 JSON 或填好的 .xlsx）；自定义版本的报告用 --spec 给出其规格文件。
    """
    # deferred: the merge is needed only by this command
    from .workflows.merge import roll_up

    inputs = [*reports, spec_file]
    with Outputs(inputs) as out:
        done = roll_up(reports, unit=unit, year=year, strict=strict, workbook=workbook, outputs=out,
                       spec_file=spec_file)
        merged = done.merged
        if merged is not None:
            valid = merged.result.valid
            write_outputs(inputs, (output or Path("-") if valid else None,
                                   merged.document() if valid else None),
                          (report_path, done.summary()), out=out)
    for r in done.loaded:
        if r.result.warnings:
            say(f"“{r.unit or '（未填单位名称）'}”（{r.file}）有 {len(r.result.warnings)} 个警告：")
            for problem in r.result.warnings:
                say(f"  {problem.line()}")
    if done.merged is None:
        for r in done.refused:
            for problem in r.result.errors:
                say(f"{r.file}：{problem.line()}")
        names = "、".join(r.file for r in done.refused)
        say(f"不能汇总：{len(done.refused)} 份报告有错误，请先改正（{names}）。")
        return EXIT_INVALID
    if done.merged.result.valid and workbook is not None:
        say(f"已写入 {workbook}")
    say(f"已汇总 {len(done.loaded)} 个单位的 {done.loaded[0].year} 年度报告。")
    return finish(done.merged.result)


@app.command("collect")
@click.argument("inputs", metavar="文件夹或文件...", nargs=-1, required=True, type=ANY_PATH)
@click.option("--out-dir", required=True, type=FOLDER,
              help="结果文件夹：每份有效报告的 JSON、problems.jsonl、summary.xlsx/csv。")
@click.option("--previous-dir", type=FOLDER,
              help="上年报告所在的文件夹（JSON、.xlsx 或已公开的年报），按单位配对做跨年度校验。")
@click.option("--jobs", "-j", type=int, metavar="个数", callback=lambda _c, _p, n: _at_least_one(n),
              help="同时读取的进程数（默认为 CPU 核数）。")
@click.option("--year", type=int, metavar="年度",
              help="本次收集的报告年度，其他年度的报表标为不通过（默认取单位名单中的年度，"
                   "或交回的报表中最多的年度）。")
@click.option("--units", type=FILE,
              help="单位名单（.csv 或 .xlsx，与 build --units 相同）：列出未交的单位，"
                   "名单外单位的报表标为不通过。")
@click.option("--spec", "spec_file", type=FILE,
              help="本次收集的版本的规格文件（YAML）：每份报表都按它读取，其他版本的报表标为无法读取。")
@_strict
@handled
def collect_reports(inputs: tuple[Path, ...], out_dir: Path, previous_dir: Path | None,
                    jobs: int | None, year: int | None, units: Path | None,
                    spec_file: Path | None, strict: bool) -> int:
    """批量读取、校验交回的报表，生成汇总清单。

    文件夹或文件：报表所在的文件夹或 .xlsx 文件（可以多个）。
    """
    # deferred: collect's process pool (multiprocessing, concurrent.futures) is its own
    from .workflows.collect import SUMMARY_XLSX, collect, progress_bar

    spec = load(spec_file) if spec_file is not None else None
    with progress_bar() as progress:
        done = collect(list(inputs), out_dir, previous_dir=previous_dir, jobs=jobs,
                       strict=strict, progress=progress, year=year, units=units, spec=spec)
    headline = _season_line(done)
    if headline:
        say(headline)
    _pool_notes(done)
    for line in done.previous_unreadable:
        say(f"上年报告未使用：{line}")
    if done.previous_found is not None:
        say(f"上年报告：找到 {done.previous_found} 个单位。")
    counts = "，".join(f"{status} {n}" for status, n in done.counts().items())
    say(f"共 {done.files} 个文件：{counts}。清单见 {out_dir / SUMMARY_XLSX}")
    return EXIT_VALID if done.ok else EXIT_INVALID


#: How many names of units that returned nothing the first line of collect lists.
MISSING_SHOWN = 10


def _season_line(done: Collected) -> str:
    """The first line of collect's summary: how many listed units returned (and which did
    not), the season's year and where it came from, the returns of another year."""
    parts = []
    roster = done.roster
    if roster is not None:
        total = len(roster.units)
        returned = total - len(done.missing)
        part = f"已交回 {returned} / {total} 个单位"
        if done.missing:
            names = "、".join(done.missing[:MISSING_SHOWN])
            more = f"等 {len(done.missing)} 个" if len(done.missing) > MISSING_SHOWN else ""
            part += f"；未交：{names}{more}"
        if done.unlisted:
            part += f"；名单外的报表 {done.unlisted} 份"
        parts.append(part)
    if done.year is not None:
        part = f"报告年度 {done.year}"
        if done.year_from == "returns" and len(done.years) == 1:
            part += "（交回的报表都是这一年度）"
        elif done.year_from == "returns":
            same = [y for y, n in done.years.items() if n == done.years[done.year] and y != done.year]
            part += (f"（交回的报表中 {done.year} 年度的最多，{done.years[done.year]} 份"
                     + (f"，与 {'、'.join(map(str, same))} 年度的一样多，取较晚的" if same else "")
                     + "；要指定年度请用 --year）")
        elif done.year_from == "list":
            part += f"（单位名单 {roster.source if roster else ''} 中的年度）"
        if done.wrong_year:
            others = "、".join(f"{y} 年度 {n} 份" for y, n in done.years.items() if y != done.year)
            part += f"；{done.wrong_year} 份报表不是这一年度（{others}），已标为不通过"
        parts.append(part)
    return "；".join(parts) + "。" if parts else ""


def _pool_notes(done: Collected) -> None:
    """What a run of collect or audit says before its counts: processes, files left out."""
    if done.jobs_asked is not None:
        say(f"注意：这台电脑有 {done.jobs} 个处理器核心，--jobs {done.jobs_asked} 按 {done.jobs} "
            "个进程运行（更多的进程不会更快，只会更占内存）。")
    if done.skipped:
        say(f"已跳过 {done.skipped} 个不是报表的文件（隐藏文件、锁定文件、系统文件）："
            + "、".join(done.skipped_shown) + ("等" if done.skipped > len(done.skipped_shown) else ""))


@app.command("audit")
@click.argument("inputs", metavar="文件夹或文件...", nargs=-1, required=True, type=ANY_PATH)
@click.option("--out-dir", required=True, type=FOLDER,
              help="结果文件夹：summary.xlsx/csv、problems.jsonl、每份有效报告的 JSON。")
@click.option("--jobs", "-j", type=int, metavar="个数", callback=lambda _c, _p, n: _at_least_one(n),
              help="同时读取的进程数（默认为 CPU 核数）。")
@_strict
@handled
def audit_reports(inputs: tuple[Path, ...], out_dir: Path, jobs: int | None, strict: bool) -> int:
    """核对一批已公开的年度报告（勾稽关系、正文与统计表），生成汇总清单。

    文件夹或文件：已公开的年报（.html、.docx、.pdf、.txt/.md）所在的文件夹或文件（可以多个）。
    """
    # deferred: the readers of published reports and collect's process pool
    from .workflows.audit import audit
    from .workflows.collect import SUMMARY_XLSX, progress_bar

    with progress_bar() as progress:
        done = audit(list(inputs), out_dir, jobs=jobs, strict=strict, progress=progress)
    _pool_notes(done)
    counts = "，".join(f"{status} {n}" for status, n in done.counts().items())
    say(f"共 {done.files} 个文件：{counts}；正文与统计表不符的 {done.narrative} 份。"
        f"清单见 {out_dir / SUMMARY_XLSX}")
    return EXIT_VALID if done.ok else EXIT_INVALID


@app.command("build")
@_edition
@_spec
@click.option("--output", "-o", type=FILE,
              help="输出文件（默认 templates/report_template.xlsx；指定 --unit 时为“单位名_年度…xlsx”）。")
@click.option("--unit", metavar="名称", help="预填并锁定的填报单位名称。")
@click.option("--year", type=int, metavar="年份", help="预填并锁定的报告年度。")
@click.option("--code", metavar="代码", help="预填并锁定的统一社会信用代码。")
@click.option("--units", type=FILE,
              help="单位名单（.csv 或 .xlsx，列名：单位名称，可选 年度、统一社会信用代码），每个单位生成一份。")
@click.option("--out-dir", type=FOLDER, help="--units 生成的文件放在这个文件夹。")
@handled
def build_template(edition: str | None, spec_file: Path | None, output: Path | None,
                   unit: str | None, year: int | None, code: str | None, units: Path | None,
                   out_dir: Path | None) -> None:
    """生成锁定的 Excel 填报模板，或给各单位的分发用模板。"""
    # deferred: xlsxwriter, needed only by the commands that write a workbook
    from .workflows import distribution
    from .workflows.collect import progress_bar  # deferred: with the build of many copies

    spec = requested(edition, spec_file)
    if units is not None:
        if unit is not None or code is not None or output is not None:
            raise UsageError("--units 不能与 --unit、--code、-o 同时使用；输出文件夹用 --out-dir 指定")
        if out_dir is None:
            raise UsageError("使用 --units 时请用 --out-dir 指定输出文件夹")
        with progress_bar() as progress:
            built = distribution.build_copies(spec, units, out_dir, year=year, progress=progress)
        say(f"已生成 {len(built)} 份分发用模板，保存在 {out_dir}")
        return
    if out_dir is not None:
        raise UsageError("--out-dir 只和 --units 一起使用；单个文件请用 -o 指定")
    one = distribution.build_template(spec, output, unit=unit, year=year, code=code)
    if one.locked:
        say(f"已生成 {one.path}（已预填并锁定：{'、'.join(one.locked)}）")
    else:
        say(f"已生成 {one.path}（{spec.edition} 年版，模板第 {spec.template_version} 版）")


@app.command("fill")
@click.argument("report_file", metavar="报告.json", type=FILE)
@click.option("--output", "-o", required=True, type=FILE,
              help="写出的工作簿（.xlsx）。")
@click.option("--template", type=FILE,
              help="按这份模板的版本生成（默认按报告自己的版本）。")
@_edition
@_spec
@_report
@handled
def fill_report(report_file: Path, output: Path, template: Path | None, edition: str | None,
                spec_file: Path | None, report_path: Path | None) -> int:
    """把上报格式的 JSON 报告填进一份新的模板。

    报告.json：上报格式的 JSON 报告。
    """
    # deferred: xlsxwriter, needed only by the commands that write a workbook
    from .workflows.fill import fill_report as fill

    inputs = [report_file, template, spec_file]
    with Outputs(inputs) as out:
        filled = fill(report_file, output, template=template, edition=edition,
                      spec_file=spec_file, outputs=out)
        write_outputs(inputs, (report_path, filled.result.summary()), out=out)
    if filled.versions is not None and template is not None:
        given, written = filled.versions
        say(f"注意：{template.name} 是模板版本“{given}”，按现在的模板版本“{written}”生成。")
    if filled.migrated is not None:
        say("\n".join(filled.migrated.lines()))
    say(f"已写入 {output}")
    return finish(filled.result, quiet_ok=True)


@app.command("migrate")
@click.argument("workbook", metavar="旧工作簿.xlsx", type=FILE)
@click.option("--output", "-o", required=True, type=FILE,
              help="写出的新版本工作簿（.xlsx）。")
@click.option("--to", metavar="版本", help="迁移到哪个版本：2021（默认）或 2019。")
@_spec
@click.option("--from-spec", type=FILE,
              help="旧工作簿是自定义版本时，它的规格文件。")
@click.option("--year", type=int, metavar="年份",
              help="新报表的报告年度（原报表的年度不在新版本适用的年度内时必须写）。")
@click.option("--report", "report_path", type=FILE,
              help="把迁移清单写成 JSON 文件。")
@handled
def migrate_workbook(workbook: Path, output: Path, to: str | None, spec_file: Path | None,
                     from_spec: Path | None, year: int | None, report_path: Path | None) -> None:
    """把填好的工作簿迁移到另一个版本的新模板，列出没有带过去的数据和需要填写的单元格。

    旧工作簿.xlsx：填好的旧版本工作簿。
    """
    # deferred: xlsxwriter, needed only by the commands that write a workbook
    from .workflows.migrate import migrate_workbook as migrate

    if to is not None and spec_file is not None:
        raise UsageError("--to 和 --spec 只能用一个：迁移到自定义版本时只写 --spec 规格.yaml")
    old_spec = load(from_spec) if from_spec is not None else None
    inputs = [workbook, spec_file, from_spec]
    with Outputs(inputs) as out:
        outcome = migrate(workbook, requested(to, spec_file), output, old_spec=old_spec,
                          year=year, outputs=out)
        write_outputs(inputs, (report_path, outcome.to_json()), out=out)
    say("\n".join(outcome.lines()))
    say(f"已写入 {output}")


@app.command("publish")
@click.argument("report_file", metavar="报告", type=FILE)
@click.option("--output", "-o", "outputs", multiple=True, type=FILE,
              help="发布用的报告文件：.docx、.html 或 .pdf（可以写几个 -o）。")
@_spec
@click.option("--text", "text_file", type=FILE,
              help="正文文件（Markdown 或纯文本），以“一、”“五、”“六、”等标题分段。")
@click.option("--draft", is_flag=True,
              help="生成草稿：有错误或缺少文字也生成，每页标明“草稿”。")
@click.option("--fragment", is_flag=True,
              help="HTML 只写正文部分（样式写在各元素上），用于粘贴到网站编辑器。")
@handled
def publish_report(report_file: Path, outputs: tuple[Path, ...], spec_file: Path | None,
                   text_file: Path | None, draft: bool, fragment: bool) -> int:
    """生成发布用的政府信息公开工作年度报告（Word、网页、PDF）。

    报告：上报 JSON、填好的 .xlsx 或 merge 生成的汇总报告。
    """
    # deferred: python-docx and lxml, needed only to publish
    from .workflows.publish import publish

    done = publish(report_file, list(outputs), spec_file=spec_file, text_file=text_file,
                   draft=draft, fragment=fragment)
    for problem in [*done.result.problems, *done.refusals, *done.narrative]:
        say(problem.line())
    for path in done.written:
        say(f"已写入 {path}")
    if done.written and done.draft:
        say("这是草稿：每页都标有“草稿”，不能作为正式报告发布。")
    if not done.valid:
        first = next(p for p in [*done.result.errors, *done.refusals])
        if not done.written:
            say(f"不能发布：{first.message}。改正后重新运行，或加 --draft 先生成草稿。")
        return EXIT_INVALID
    return EXIT_VALID


def main() -> None:
    """Console entry point: usage mistakes are explained in Chinese and exit 2."""
    try:
        code = app.main(prog_name="xlreport", standalone_mode=False)
    except click.UsageError as exc:
        say(f"命令用法不对：{_usage_message(exc)}。运行 xlreport --help 或 xlreport 命令 --help 查看用法。")
        code = EXIT_UNREADABLE
    except click.ClickException as exc:
        say(f"无法处理：{exc.format_message()}")
        code = EXIT_UNREADABLE
    except click.Abort:
        say("已中断。")
        code = EXIT_UNREADABLE
    sys.exit(code if isinstance(code, int) else EXIT_VALID)


def _usage_message(exc: click.UsageError) -> str:
    if isinstance(exc, click.NoSuchOption):
        return f"没有 {exc.option_name} 这个选项"
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        kind = "参数" if exc.param.param_type_name == "argument" else "选项"
        return f"缺少{kind} {_hint(exc)}"
    if isinstance(exc, click.BadParameter):
        return f"{_hint(exc)} 的值不对（{exc.message}）"
    return exc.format_message().replace(" （", "（").rstrip("。")


def _hint(exc: click.MissingParameter | click.BadParameter) -> str:
    param = exc.param
    if param is None:
        return str(exc.param_hint or "")
    if param.param_type_name == "option":
        return "/".join(param.opts)
    return param.metavar or param.name or ""
