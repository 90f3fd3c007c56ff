"""Command line: ``xlreport build | read | validate | schema | spec …``.

Exit codes (stable): 0 valid (warnings allowed), 1 invalid data, 2 input unreadable or bad usage.
Messages go to stderr in Chinese; machine-readable output (JSON) to stdout or the files named.
Heavy modules are imported inside the commands so that start-up stays fast.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from . import __version__
from .errors import XlreportError

if TYPE_CHECKING:
    from .checks.validate import Result
    from .edition.spec import Spec

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2

app = typer.Typer(
    name="xlreport",
    help="政府信息公开工作年度报告统计表：生成填报模板、读取并校验报表。\n\n"
    "Government information disclosure annual report: build locked Excel templates, "
    "read and validate filled workbooks.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
spec_app = typer.Typer(
    help="规格文件（报表版本定义）：检查、导出。 / Spec files (edition definitions): check, export.",
    no_args_is_help=True,
)
app.add_typer(spec_app, name="spec")

_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])

EditionOpt = Annotated[
    str | None,
    typer.Option("--edition", "-e", help="格式版本：2021（默认）或 2019。 / Edition."),
]
SpecOpt = Annotated[
    Path | None,
    typer.Option("--spec", help="自定义规格文件（YAML）。 / A custom spec file.", dir_okay=False),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="空白单元格按错误处理。 / Blank cells are errors.")
]
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", help="把问题清单写成 JSON 文件。 / Write problems as JSON.",
                 dir_okay=False),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xlreport {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="显示版本号。 / Show the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="出错时显示完整调用栈。 / Show tracebacks.")
    ] = False,
) -> None:
    _state["debug"] = debug


def handled(func: F) -> F:
    """Turn every failure into one Chinese line on stderr and exit 2 (traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except XlreportError as exc:
            if _state["debug"]:
                traceback.print_exc()
            say(f"无法处理：{exc.message}")
            raise typer.Exit(EXIT_UNREADABLE) from None
        except KeyboardInterrupt:
            say("已中断。")
            raise typer.Exit(EXIT_UNREADABLE) from None
        except Exception as exc:  # the last line of defence: no traceback reaches a user
            if _state["debug"]:
                traceback.print_exc()
            say(f"内部错误（{type(exc).__name__}: {exc}）；加 --debug 可查看详细信息，请向维护者报告。")
            raise typer.Exit(EXIT_UNREADABLE) from None

    return wrapper  # type: ignore[return-value]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def resolve_spec(edition: str | None, spec_file: Path | None) -> Spec:
    """The spec asked for on the command line (see :func:`xlreport.edition.resolve.requested`)."""
    from .edition.resolve import requested

    return requested(edition, spec_file)


def write_json(path: Path | None, obj: Any) -> None:
    """Write JSON (exact decimals) to ``path``, or to stdout when ``path`` is None or ``-``."""
    from .checks.report import dumps

    text = dumps(obj)
    if path is None or str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def finish(result: Result, report_path: Path | None, *, quiet_ok: bool = False) -> None:
    """Print the problems, write ``--report``, exit 0 or 1."""
    for problem in result.problems:
        say(problem.line())
    errors, warnings = len(result.errors), len(result.warnings)
    if report_path is not None:
        write_json(report_path, result.summary())
    if errors:
        say(f"不通过：{errors} 个错误，{warnings} 个警告。")
        raise typer.Exit(EXIT_INVALID)
    if not quiet_ok:
        say(f"通过：0 个错误，{warnings} 个警告。" if warnings else "通过。")


@app.command()
@handled
def validate(
    report_file: Annotated[Path, typer.Argument(metavar="REPORT.json",
                                                help="上报格式的 JSON 文件。")],
    edition: EditionOpt = None,
    spec_file: SpecOpt = None,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", dir_okay=False,
                     help="上年报告（JSON 或填好的 .xlsx，可以是上一版本的），用于跨年度校验。 / "
                     "Last year's report."),
    ] = None,
    report_path: ReportOpt = None,
    strict: StrictOpt = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False,
                     help="写出补全后的报告（空白按 0、总计按公式计算）。 / Write the completed report."),
    ] = None,
) -> None:
    """校验上报格式的 JSON 报告。 / Validate a report in the upload JSON format."""
    from .checks import report
    from .checks.validate import validate_document
    from .workflows import previous as last_year

    doc = report.load(report_file)
    spec = _spec_for(doc, edition, spec_file)
    prev = None
    if previous is not None:
        year = doc.get("unit", {}).get("year") if isinstance(doc.get("unit"), dict) else None
        last = last_year.load(previous)
        last.check_year(year if isinstance(year, int) and not isinstance(year, bool) else None)
        prev = last.values
    result = validate_document(doc, spec, prev=prev, strict=strict)
    if output is not None and result.valid:
        write_json(output, result.document(**{k: v for k, v in doc.items() if k.startswith("_")}))
    finish(result, report_path)


def _spec_for(doc: Any, edition: str | None, spec_file: Path | None) -> Spec:
    from .edition.resolve import for_document

    return for_document(doc, edition, spec_file)


@app.command()
@handled
def schema(
    edition: EditionOpt = None,
    spec_file: SpecOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="输出文件（默认输出到屏幕）。", dir_okay=False)
    ] = None,
) -> None:
    """生成上报格式的 JSON Schema。 / Generate the upload JSON Schema."""
    from .checks.schema import generate

    write_json(output, generate(resolve_spec(edition, spec_file)))
    if output is not None:
        say(f"已写入 {output}")


@spec_app.command("check")
@handled
def spec_check(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="要检查的规格文件。")],
) -> None:
    """检查规格文件是否正确。 / Check a spec file."""
    from .edition.load import lint

    spec, warnings = lint(spec_file)
    for text in warnings:
        say(f"警告：{text}")
    checks = spec.checks()
    say(
        f"规格文件正确：{spec.edition} 年版，{len(spec.sheets)} 张工作表，{len(spec.cells)} 个单元格，"
        f"{len(spec.rules)} 条规则（展开为 {len(checks)} 项检查）。"
    )


@spec_app.command("export")
@handled
def spec_export(
    edition: EditionOpt = None,
    spec_file: SpecOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="输出文件（默认输出到屏幕）。", dir_okay=False)
    ] = None,
) -> None:
    """打印一个完整的规格文件，作为自定义版本的起点。 / Print a complete spec file."""
    import yaml

    from . import edition as spec_mod
    from .errors import UsageError

    if spec_file is not None:
        if edition:
            raise UsageError("--edition 和 --spec 只能用一个")
        spec_mod.load(spec_file)
        data = spec_mod.resolved(spec_file)
        text = f"# 由 xlreport spec export 从 {spec_file.name} 展开（extends 和 changes 已经合并）。\n"
        text += yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    else:
        spec = spec_mod.builtin(edition or spec_mod.DEFAULT_EDITION)
        text = spec_mod.builtin_path(spec.edition).read_text("utf-8")
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        say(f"已写入 {output}")


def _click_exceptions() -> Any:
    """Typer ≥ 0.24 ships its own copy of click; older versions use click itself."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import exceptions
    return exceptions


@app.command()
@handled
def read(
    workbook: Annotated[Path, typer.Argument(metavar="FILE.xlsx", help="填好的报表（.xlsx）。")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False,
                     help="上报 JSON 写到这个文件（默认输出到屏幕）。 / Write the upload JSON here."),
    ] = None,
    report_path: ReportOpt = None,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", dir_okay=False,
                     help="上年报告（JSON 或填好的 .xlsx），用于跨年度校验。 / Last year's report."),
    ] = None,
    strict: StrictOpt = False,
    spec_file: SpecOpt = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="出错时显示完整调用栈。 / Show tracebacks.")
    ] = False,
) -> None:
    """读取填好的报表，校验后输出上报 JSON。 / Read a filled workbook into validated upload JSON."""
    from .workbook.reader import read_workbook
    from .workflows.previous import load as load_previous

    _state["debug"] = _state["debug"] or debug
    spec = resolve_spec(None, spec_file) if spec_file is not None else None
    last = load_previous(previous) if previous is not None else None
    result = read_workbook(workbook, spec=spec, strict=strict, prev=last.values if last else None)
    if last is not None:
        last.check_year(result.year)
    if result.valid:
        write_json(output, result.document())
    finish(result.result, report_path)


@app.command("merge")
@handled
def merge_reports(
    reports: Annotated[
        list[Path],
        typer.Argument(metavar="REPORT", help="各单位的报告（上报 JSON 或填好的 .xlsx）。"),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False,
                     help="汇总报告写到这个 JSON 文件（默认输出到屏幕）。 / Write the roll-up here."),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="汇总报告的单位名称（默认“汇总”）。 / The roll-up's unit name."),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option("--year", help="报告年度；每份报告都必须是这一年度。 / Required year."),
    ] = None,
    workbook: Annotated[
        Path | None,
        typer.Option("--xlsx", dir_okay=False,
                     help="同时把汇总结果写成填好的锁定模板。 / Also write a filled workbook."),
    ] = None,
    report_path: ReportOpt = None,
    strict: StrictOpt = False,
) -> None:
    """把多个单位的报告汇总成一份（逐项精确相加）。 / Sum many reports into one roll-up."""
    from .workflows import merge as rollup

    loaded = [rollup.load(path, strict=strict) for path in reports]
    if bad := [r for r in loaded if not r.result.valid]:
        for r in bad:
            for problem in r.result.errors:
                say(f"{r.file}：{problem.line()}")
        say(f"不能汇总：{len(bad)} 份报告有错误，请先改正（{'、'.join(r.file for r in bad)}）。")
        raise typer.Exit(EXIT_INVALID)
    merged = rollup.merge(loaded, unit=rollup.DEFAULT_UNIT if unit is None else unit, year=year)
    if merged.result.valid:
        write_json(output, merged.document())
        if workbook is not None:
            from .workbook.template import build

            build(merged.result.spec, workbook, values=merged.result.values)
            say(f"已写入 {workbook}")
    say(f"已汇总 {len(loaded)} 个单位的 {loaded[0].year} 年度报告。")
    finish(merged.result, report_path)


@app.command("collect")
@handled
def collect_reports(
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="DIR_OR_FILE", help="报表所在的文件夹或 .xlsx 文件（可以多个）。"),
    ],
    out_dir: Annotated[
        Path,
        typer.Option("--out-dir", file_okay=False,
                     help="结果文件夹：每份有效报告的 JSON、problems.jsonl、summary.xlsx/csv。"),
    ],
    previous_dir: Annotated[
        Path | None,
        typer.Option("--previous-dir", file_okay=False,
                     help="上年报告所在的文件夹（JSON 或 .xlsx），按单位配对做跨年度校验。"),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="同时读取的进程数（默认为 CPU 核数）。 / Workers."),
    ] = None,
    strict: StrictOpt = False,
) -> None:
    """批量读取、校验交回的报表，生成汇总清单。 / Read a folder of returns into a summary."""
    from .workflows.collect import SUMMARY_XLSX, collect, progress_bar

    with progress_bar() as progress:
        done = collect(inputs, out_dir, previous_dir=previous_dir, jobs=jobs, strict=strict,
                       progress=progress)
    for line in done.previous_unreadable:
        say(f"上年报告未使用：{line}")
    if done.previous_found is not None:
        say(f"上年报告：找到 {done.previous_found} 个单位。")
    counts = "，".join(f"{status} {n}" for status, n in done.counts().items())
    say(f"共 {len(done.rows)} 个文件：{counts}。清单见 {out_dir / SUMMARY_XLSX}")
    raise typer.Exit(EXIT_VALID if done.ok else EXIT_INVALID)


@app.command("build")
@handled
def build_template(
    edition: EditionOpt = None,
    spec_file: SpecOpt = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False,
                     help="输出文件（默认 templates/report_template.xlsx；指定 --unit 时为“单位名_年度…xlsx”）。"
                          " / Output file."),
    ] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="预填并锁定的填报单位名称。 / Unit name to pre-fill.")
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", help="预填并锁定的报告年度。 / Report year to pre-fill.")
    ] = None,
    code: Annotated[
        str | None,
        typer.Option("--code", help="预填并锁定的统一社会信用代码。 / Credit code to pre-fill."),
    ] = None,
    units: Annotated[
        Path | None,
        typer.Option("--units", dir_okay=False,
                     help="单位名单（CSV：单位名称[,年度][,统一社会信用代码]），每个单位生成一份。"
                          " / One workbook per unit listed."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", file_okay=False,
                     help="--units 生成的文件放在这个文件夹。 / Folder for --units."),
    ] = None,
) -> None:
    """生成锁定的 Excel 填报模板，或给各单位的分发用模板。 / Build the locked Excel workbook."""
    from .errors import UsageError
    from .workbook.template import build
    from .workflows.distribution import Unit, check_unit, check_year, read_units

    spec = resolve_spec(edition, spec_file)
    if units is not None:
        if unit is not None or code is not None or output is not None:
            raise UsageError("--units 不能与 --unit、--code、-o 同时使用；输出文件夹用 --out-dir 指定")
        if out_dir is None:
            raise UsageError("使用 --units 时请用 --out-dir 指定输出文件夹")
        listed = read_units(units, spec, year=year)
        _build_copies(spec, listed, out_dir)
        return
    if out_dir is not None:
        raise UsageError("--out-dir 只和 --units 一起使用；单个文件请用 -o 指定")
    if code is not None and unit is None:
        raise UsageError("指定 --code 时也要用 --unit 给出单位名称")
    if unit is None and year is None:
        default = "report_template.xlsx" if spec.edition == "2021" else (
            f"report_template_{spec.edition}.xlsx")
        path = build(spec, output or Path("templates") / default)
        say(f"已生成 {path}（{spec.edition} 年版，模板第 {spec.template_version} 版）")
        return
    if unit is not None:
        one = check_unit(spec, Unit(unit, year, code))
        default = Path(one.file_name())
    else:
        one = Unit("", check_year(spec, year))
        default = Path(f"report_template_{year}.xlsx")
    values = one.values(spec)
    path = build(spec, output or default, values=values, lock_keys=list(values))
    say(f"已生成 {path}（已预填并锁定：{'、'.join(spec.cell(k).row_path[-1] for k in values)}）")


def _build_copies(spec: Spec, listed: list[Any], out_dir: Path) -> None:
    """One workbook per unit, with a progress bar on a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .workbook.template import build

    console = Console(stderr=True)
    columns = (TextColumn("生成分发用模板"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        for one in progress.track(listed):
            values = one.values(spec)
            build(spec, out_dir / one.file_name(), values=values, lock_keys=list(values))
    say(f"已生成 {len(listed)} 份分发用模板，保存在 {out_dir}")


@app.command("fill")
@handled
def fill_report(
    report_file: Annotated[Path, typer.Argument(metavar="REPORT.json", help="上报格式的 JSON 报告。")],
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False,
                           help="写出的工作簿（.xlsx）。 / The workbook to write."),
    ],
    template: Annotated[
        Path | None,
        typer.Option("--template", dir_okay=False,
                     help="按这份模板的版本生成（默认按报告自己的版本）。 / Use this template's edition."),
    ] = None,
    edition: EditionOpt = None,
    spec_file: SpecOpt = None,
    report_path: ReportOpt = None,
) -> None:
    """把上报格式的 JSON 报告填进一份新的模板。 / Write a report into a fresh template."""
    from .checks import report
    from .checks.validate import validate_document
    from .edition.resolve import edition_of
    from .workbook.template import build
    from .workflows import fill, migrate

    doc = report.load(report_file)
    target = None
    if template is not None:
        custom = resolve_spec(None, spec_file) if spec_file is not None else None
        target, version = fill.template_spec(template, custom)
        if version != target.template_version:
            say(f"注意：{template.name} 是模板版本“{version}”，按现在的模板版本“{target.template_version}”生成。")
    elif edition or spec_file:
        target = resolve_spec(edition, spec_file)
    stated = edition_of(doc, None) if isinstance(doc, dict) else ""
    source = target if target is not None and stated in ("", target.edition) else _spec_for(doc, None, None)
    target = target or source
    result = validate_document(doc, source)
    values = fill.values(doc, source)
    if source is not target:
        moved = migrate.apply(migrate.plan(source, target), values)
        sides = [{"file": f.name, "edition": s.edition, "template_version": v}
                 for f, s, v in ((report_file, source, ""), (output, target, target.template_version))]
        print("\n".join(migrate.Outcome(*sides, moved).lines()), flush=True)
        values = moved.values
    build(target, output, values=values)
    say(f"已写入 {output}")
    finish(result, report_path, quiet_ok=True)


@app.command("migrate")
@handled
def migrate_workbook(
    workbook: Annotated[Path, typer.Argument(metavar="OLD.xlsx", help="填好的旧版本工作簿。")],
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False,
                           help="写出的新版本工作簿（.xlsx）。 / The new workbook."),
    ],
    to: Annotated[
        str | None,
        typer.Option("--to", help="迁移到哪个版本：2021（默认）或 2019。 / Target edition."),
    ] = None,
    spec_file: SpecOpt = None,
    from_spec: Annotated[
        Path | None,
        typer.Option("--from-spec", dir_okay=False,
                     help="旧工作簿是自定义版本时，它的规格文件。 / The old workbook's custom spec."),
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", help="新报表的报告年度。 / Report year of the new workbook.")
    ] = None,
    report_path: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False,
                     help="把迁移清单写成 JSON 文件。 / Write what moved as JSON."),
    ] = None,
) -> None:
    """把填好的工作簿迁移到另一个版本的新模板，列出没有带过去的数据和需要填写的单元格。
    / Move a filled workbook into a fresh template of another edition or version."""
    from .edition.load import load
    from .workflows import migrate

    new_spec = resolve_spec(to, spec_file)
    old_spec = load(from_spec) if from_spec is not None else None
    outcome = migrate.migrate_workbook(workbook, new_spec, output, old_spec=old_spec, year=year)
    print("\n".join(outcome.lines()), flush=True)
    if report_path is not None:
        write_json(report_path, outcome.to_json())
    say(f"已写入 {output}")


def main() -> None:
    """Console entry point: usage mistakes are explained in Chinese and exit 2."""
    click = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except click.NoArgsIsHelpError as exc:
        say(exc.ctx.get_help() if exc.ctx else "")
        code = EXIT_UNREADABLE
    except click.UsageError as exc:
        say(f"命令用法不对：{_usage_message(exc)}。运行 xlreport --help 或 xlreport 命令 --help 查看用法。")
        code = EXIT_UNREADABLE
    except click.ClickException as exc:
        say(f"无法处理：{exc.format_message()}")
        code = EXIT_UNREADABLE
    except typer.Abort:
        say("已中断。")
        code = EXIT_UNREADABLE
    sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc: Any) -> str:
    click = _click_exceptions()
    if isinstance(exc, click.NoSuchOption):
        return f"没有 {exc.option_name} 这个选项"
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        return f"缺少{'参数' if exc.param.param_type_name == 'argument' else '选项'} {_hint(exc)}"
    if isinstance(exc, click.BadParameter):
        return f"{_hint(exc)} 的值不对（{exc.message}）"
    text = exc.format_message()
    if text.startswith("No such command"):
        return f"没有 {text.split(' ', 3)[-1].rstrip('.')} 这个命令"
    if "requires an argument" in text:
        return f"{text.split(' ')[1]} 后面缺少取值"
    return text


def _hint(exc: Any) -> str:
    param = exc.param
    if param is None:
        return str(exc.param_hint or "")
    return "/".join(param.opts) if param.param_type_name == "option" else (param.metavar or param.name)
