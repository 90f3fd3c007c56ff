"""Reading speed of xlreport against python-calamine and openpyxl, by a method that holds on a
shared, noisy machine.

    python3 benchmarks/read_bench.py --workdir /tmp/xlreport-bench            # N = 1,000
    python3 benchmarks/read_bench.py --workdir /tmp/xlreport-bench --big      # and N = 10,000

The corpus (kept in ``--workdir`` between runs): N filled workbooks of the 2021 template (the
template built once by xlsxwriter, then each copy's sheet XML patched with varied values: mostly
valid, one in ten with blank cells, one in ten breaking a rule), and ``--lo-files`` of them opened
and saved by LibreOffice (``soffice --convert-to xlsx``: shared strings become rich-text runs,
styles and XML as LibreOffice writes them).  Measured in one run:

(1) CPU time per file (``time.process_time``) of each reader, in this process, the readers
    interleaved file by file in random order (on each file every reader once, in a shuffled
    order; the files shuffled too), so that a change of load falls on all readers alike: xlreport
    ``read_workbook`` as a process reading many returns runs it (the parts every return of a
    template shares parsed once, each way of writing a cell read once); python-calamine reading
    every sheet, and only the sheets xlreport reads; openpyxl ``read_only=True`` and a full load
    (both ``data_only=True``, every value visited).  Medians per kind of file, and the median
    over files of each file's own ratio.  Then, in a second pass of its own (it empties what
    the reader keeps), ``read_workbook`` with nothing kept from the files before, as the first
    read of a process, interleaved the same way with the two calamine readers.
    ``--cpu-only`` measures this alone.
(2) ``xlreport collect`` over N files (its own process tree): files per second (wall), CPU per
    file (``RUSAGE_CHILDREN``), peak RSS summed over the whole tree (sampled from /proc).
(3) One ``xlreport read f.xlsx -o out.json`` as a fresh process against ``python3 -c pass`` of the
    same interpreter (no version-manager shim), run in pairs, median of 21, wall time, with
    compiled bytecode for both (``PYTHONPYCACHEPREFIX`` in the work folder).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

# --------------------------------------------------------------------------- generating

COLUMNS = ("natural_person", "commercial", "research", "public_interest", "legal_services", "other")
_BLANK_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?)/>')


# --------------------------------------------------------------------------- generating


def template_parts(template: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """The template's members, and the part of each sheet by sheet name."""
    with zipfile.ZipFile(template) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    book = members["xl/workbook.xml"].decode()
    rels = members["xl/_rels/workbook.xml.rels"].decode()
    targets = dict(re.findall(r'<Relationship Id="([^"]+)" Type="[^"]+" Target="([^"]+)"', rels))
    parts = {}
    for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="[0-9]+"(?: state="[a-zA-Z]+")? '
                                r'r:id="([^"]+)"', book):
        target = targets[rid]
        parts[_unescape(name)] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return members, parts


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def values_for(index: int, spec: Any) -> dict[str, Any]:
    """Varied, mostly valid values of report ``index`` (every tenth invalid, every tenth with
    blanks), key → int/Decimal/str; totals are left to the template's formulas."""
    rng = random.Random(index)
    big = rng.random() < 0.1
    top = 100_000 if big else 60
    values: dict[str, Any] = {"unit.name": f"测试单位{index:06d}", "unit.year": 2024,
                              "unit.contact": "张三", "unit.phone": "0591-12345678"}
    for key, cell in spec.cells.items():
        if cell.computed or key in values or not cell.numeric or cell.optional:
            continue
        if cell.kind.places:
            values[key] = Decimal(rng.randrange(0, 10**9)) / 10**6
        else:
            values[key] = rng.randrange(0, top) if rng.random() < 0.6 else 0
    for col in COLUMNS:
        results = sum(v for k, v in values.items()
                      if k.startswith("requests.results.") and k.endswith("." + col))
        carried_over = values[f"requests.carried_over.{col}"]
        values[f"requests.new.{col}"] = max(0, results + values[f"requests.carried_forward.{col}"]
                                            - carried_over)
        values[f"requests.carried_forward.{col}"] = (values[f"requests.new.{col}"] + carried_over
                                                     - results)
    if index % 10 == 3:
        values["requests.new.natural_person"] += 1
    if index % 10 == 7:
        for key in rng.sample(sorted(k for k in values if k.startswith("appeals.")), 5):
            values[key] = None
    return values


def _cell_xml(ref: str, style: str, value: Any) -> str:
    if value is None:
        return f'<c r="{ref}"{style}/>'
    if isinstance(value, str):
        return f'<c r="{ref}"{style} t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{ref}"{style}><v>{value}</v></c>'


def write_filled(args: tuple[Path, int, dict[str, bytes], dict[str, str], Any, Any]) -> None:
    """One filled copy of the template: its input cells' XML replaced by values."""
    path, index, members, parts, spec, lay = args
    values = values_for(index, spec)
    by_part: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        pos = lay.cells[key]
        by_part.setdefault(parts[pos.sheet], {})[pos.a1] = value
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in members.items():
            if name in by_part:
                cells = by_part[name]
                text = _BLANK_CELL.sub(
                    lambda m, c=cells: _cell_xml(m.group(1), m.group(2), c[m.group(1)])
                    if m.group(1) in c else m.group(0),
                    data.decode(),
                )
                data = text.encode()
            zf.writestr(name, data)


def generate(folder: Path, count: int, jobs: int) -> Path:
    """``count`` filled workbooks in ``folder`` (kept between runs); returns the template."""
    from xlreport import edition as spec_mod
    from xlreport.workbook import template
    from xlreport.workbook.layout import layout

    spec = spec_mod.builtin("2021")
    folder.mkdir(parents=True, exist_ok=True)
    tpl = folder.parent / "template-2021.xlsx"
    if not tpl.exists():
        template.build(spec, tpl)
    missing = [i for i in range(count) if not (folder / f"return{i:06d}.xlsx").exists()]
    if missing:
        members, parts = template_parts(tpl)
        lay = layout(spec)
        jobs_args = ((folder / f"return{i:06d}.xlsx", i, members, parts, spec, lay)
                     for i in missing)
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(write_filled, jobs_args, chunksize=64))
    return tpl


def libreoffice_saved(sources: list[Path], folder: Path) -> list[Path]:
    """Each of ``sources`` opened and saved by LibreOffice into ``folder`` (kept between runs),
    in batches through one office each (the profile of tests/support/libreoffice.py)."""
    from support import libreoffice

    folder.mkdir(parents=True, exist_ok=True)
    missing = [p for p in sources if not (folder / p.name).exists()]
    soffice = shutil.which("soffice")
    if missing and soffice is None:
        print("soffice not found: no LibreOffice-saved returns in the corpus", file=sys.stderr)
        return []
    for start in range(0, len(missing), 25):
        batch = missing[start : start + 25]
        with tempfile.TemporaryDirectory(prefix="xlreport-bench-lo-") as tmp:
            user = Path(tmp) / "profile" / "user"
            user.mkdir(parents=True)
            (user / "registrymodifications.xcu").write_text(libreoffice.RECALC_ON_LOAD)
            subprocess.run(
                [soffice, f"-env:UserInstallation={(Path(tmp) / 'profile').as_uri()}", "--headless",
                 "--invisible", "--norestore", "--nologo", "--nolockcheck", "--convert-to", "xlsx",
                 "--outdir", str(folder), *map(str, batch)],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800,
            )
    return [folder / p.name for p in sources if (folder / p.name).exists()]


# --------------------------------------------------------------------------- readers


def read_xlreport(path: Path) -> Any:
    from xlreport.workbook.reader import read_workbook

    return read_workbook(path).valid


def forget_all() -> None:
    """Nothing kept from the files read before, as in a new process: the parts and tokens the
    workbook reader keeps, and the value policy's table of plain integers."""
    from xlreport.checks import values
    from xlreport.workbook import xlsx

    xlsx.forget()
    values._PLAIN.clear()  # the policy's own table, private to it


def read_calamine(path: Path, sheets: frozenset[str] | None = None) -> int:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    count = 0
    for name in book.sheet_names:
        if sheets is None or name in sheets:
            for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False):
                count += sum(v != "" for v in row)
    return count


def read_openpyxl(path: Path, read_only: bool) -> int:
    import openpyxl

    book = openpyxl.load_workbook(path, data_only=True, read_only=read_only)
    count = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            count += sum(v is not None for v in row)
    book.close()
    return count


def xlreport_sheets() -> frozenset[str]:
    """The sheets ``read_workbook`` reads: every sheet with a cell or label, and the metadata."""
    from xlreport import edition
    from xlreport.workbook.layout import META_SHEET, layout

    lay = layout(edition.builtin("2021"))
    places = [p.sheet for p in lay.cells.values()] + [lb.sheet for lb in lay.labels]
    return frozenset([*places, META_SHEET])


def readers() -> dict[str, Callable[[Path], Any]]:
    same = xlreport_sheets()
    return {
        "xlreport read_workbook": read_xlreport,
        "calamine, all sheets": read_calamine,
        f"calamine, the {len(same)} sheets xlreport reads": lambda p: read_calamine(p, same),
        "openpyxl read_only": lambda p: read_openpyxl(p, True),
        "openpyxl full load": lambda p: read_openpyxl(p, False),
    }


def first_readers() -> dict[str, Callable[[Path], Any]]:
    """The readers of the second pass: xlreport with nothing kept (emptied before the clock
    starts, see :func:`interleaved`), and calamine."""
    calamine = dict(list(readers().items())[1:3])
    return {FIRST: read_xlreport, **calamine}


#: The reader of the second pass that starts each file with nothing kept.
FIRST = "xlreport read_workbook, nothing kept"


def interleaved(
    corpus: list[tuple[str, Path]], seed: int, funcs: dict[str, Callable[[Path], Any]]
) -> dict[tuple[str, str], list[float]]:
    """CPU seconds of every reader on every file: (kind, reader) → one time per file, in file
    order of ``corpus`` (so that index i of every reader's list is the same file)."""
    rng = random.Random(seed)
    for read in funcs.values():  # imports and caches outside the timing
        read(corpus[0][1])
    order = list(range(len(corpus)))
    rng.shuffle(order)
    times: dict[int, dict[str, float]] = {}
    for i in order:
        names = list(funcs)
        rng.shuffle(names)
        for name in names:
            if name == FIRST:
                forget_all()
            start = time.process_time()
            funcs[name](corpus[i][1])
            times.setdefault(i, {})[name] = time.process_time() - start
    out: dict[tuple[str, str], list[float]] = {}
    for i, (kind, _) in enumerate(corpus):
        for name in funcs:
            out.setdefault((kind, name), []).append(times[i][name])
    return out


# --------------------------------------------------------------------------- processes


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of ``pid`` and all its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            found = re.search(r"VmRSS:\s+([0-9]+) kB", status)
            total += int(found.group(1)) * 1024 if found else 0
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of the tree, peak RSS summed over the tree, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, peak, proc.returncode


def command_env(work: Path) -> dict[str, str]:
    """The environment of the measured commands: this checkout's source first, bytecode compiled
    once into the work folder (as an installed package has it)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYTHONPYCACHEPREFIX=str(work / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def xlreport_command() -> list[str]:
    """``xlreport`` run by this very interpreter: the console script beside it, else ``-m``."""
    script = Path(sys.executable).with_name("xlreport")
    return [sys.executable, str(script)] if script.is_file() else [sys.executable, "-m", "xlreport"]


def latency(file: Path, out: Path, runs: int, env: dict[str, str]) -> tuple[float, float, float]:
    """(median ms of ``python3 -c pass``, median ms of ``xlreport read``, median of the paired
    ratios), the two run one after the other ``runs`` times (after one warm-up run each)."""
    base = [sys.executable, "-c", "pass"]
    read = [*xlreport_command(), "read", str(file), "-o", str(out)]

    def wall(command: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        return time.perf_counter() - start

    wall(base), wall(read)
    pairs = [(wall(base), wall(read)) for _ in range(runs)]
    return (1000 * statistics.median(b for b, _ in pairs), 1000 * statistics.median(r for _, r in pairs),
            statistics.median(r / b for b, r in pairs))


def collect_run(folder: Path, work: Path, jobs: int, env: dict[str, str]) -> dict[str, Any]:
    files = len(list(folder.glob("*.xlsx")))
    out = work / "collected"
    shutil.rmtree(out, ignore_errors=True)
    wall, cpu, peak, code = run_measured(
        [*xlreport_command(), "collect", str(folder), "--out-dir", str(out), "--jobs", str(jobs)],
        env,
    )
    return {"N": files, "wall": wall, "rate": files / wall, "cpu_ms": 1000 * cpu / files,
            "peak_mb": peak / 2**20, "exit": code, "statuses": _statuses(out / "summary.csv")}


def _statuses(summary: Path) -> dict[str, int]:
    import csv

    counts: dict[str, int] = {}
    with summary.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            counts[row["状态"]] = counts.get(row["状态"], 0) + 1
    return counts


# --------------------------------------------------------------------------- main


def _ratio(mine: list[float], theirs: list[float]) -> float:
    """The median over files of each file's own ratio (the lists are in the same file order)."""
    return statistics.median(a / b for a, b in zip(mine, theirs, strict=True) if b > 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="N of the collect run")
    parser.add_argument("--big", action="store_true", help="also collect N = 10,000")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="collect --jobs")
    parser.add_argument("--sample", type=int, default=200,
                        help="xlsxwriter-filled files in the per-file CPU timing")
    parser.add_argument("--lo-files", type=int, default=50,
                        help="LibreOffice-saved files (each also in the per-file timing)")
    parser.add_argument("--cli-runs", type=int, default=21, help="pairs of the latency runs")
    parser.add_argument("--seed", type=int, default=1, help="of the random orders")
    parser.add_argument("--cpu-only", action="store_true",
                        help="only the per-file CPU time (no collect, no start-up latency)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the corpus is kept (default: a temporary folder, deleted)")
    args = parser.parse_args(argv)

    work = (args.workdir or Path(tempfile.mkdtemp(prefix="xlreport-bench-"))).resolve()
    env = command_env(work)
    sizes = [args.files, *([10_000] if args.big else [])]
    start = time.perf_counter()
    folders = {n: work / f"returns-{n}" for n in sizes}
    for n, folder in folders.items():
        generate(folder, n, args.jobs)
    files = sorted(folders[args.files].glob("*.xlsx"))
    saved = libreoffice_saved(files[: args.lo_files], work / "libreoffice")
    print(f"corpus ready in {time.perf_counter() - start:.0f} s: {len(files)} xlsxwriter-filled, "
          f"{len(saved)} LibreOffice-saved ({work})", file=sys.stderr)

    corpus = [("xlsxwriter", p) for p in files[: args.sample]]
    corpus += [("LibreOffice", p) for p in saved]
    times = interleaved(corpus, args.seed, readers())
    first = interleaved(corpus, args.seed + 1, first_readers())
    collects = [] if args.cpu_only else [collect_run(folders[n], work, args.jobs, env) for n in sizes]
    if not args.cpu_only:
        base_ms, read_ms, ratio = latency(files[0], work / "one.json", args.cli_runs, env)

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; per-file CPU over {args.sample} xlsxwriter-filled and "
          f"{len(saved)} LibreOffice-saved returns, readers interleaved\n")
    kinds = list(dict.fromkeys(kind for kind, _ in corpus))
    ours = "xlreport read_workbook"
    print("| reader | " + " | ".join(f"{k}: median CPU per file | xlreport ÷ reader" for k in kinds)
          + " |")
    print("|---|" + "---:|---:|" * len(kinds))
    names = list(readers())
    for name in names:
        cells = []
        for kind in kinds:
            per_file = _ratio(times[kind, ours], times[kind, name])
            cells += [f"{1000 * statistics.median(times[kind, name]):.2f} ms", f"{per_file:.2f}×"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| xlreport ÷ calamine (median of per-file ratios) | "
          + " | ".join(f"{k}: all sheets | {k}: same sheets" for k in kinds) + " |")
    print("|---|" + "---:|---:|" * len(kinds))
    calamine = names[1:3]
    for mine, measured in ((ours, times), (FIRST, first)):
        cells = [f"{_ratio(measured[kind, mine], measured[kind, theirs]):.2f}×"
                 for kind in kinds for theirs in calamine]
        print(f"| {mine} | " + " | ".join(cells) + " |")
    if not args.cpu_only:
        print("\n| collect | files/s (wall) | CPU per file | peak RSS, whole tree | statuses |")
        print("|---|---:|---:|---:|---|")
        for c in collects:
            print(f"| N = {c['N']:,}, --jobs {args.jobs} | {c['rate']:.0f} | {c['cpu_ms']:.1f} ms | "
                  f"{c['peak_mb']:.0f} MB | {c['statuses']} (exit {c['exit']}) |")
        print(f"\none `xlreport read f.xlsx -o out.json`: {read_ms:.0f} ms; `python3 -c pass`: "
              f"{base_ms:.0f} ms; ratio {ratio:.1f}× (median of {args.cli_runs} pairs)")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
