"""Reading speed of xlreport against bare openpyxl and python-calamine, on generated returns.

    python3 benchmarks/read_bench.py --files 10000 --jobs 2

Generates N filled workbooks of the 2021 template (the template built once, then each copy's
sheet XML patched with varied values: mostly valid, one in ten with blank cells, one in ten
breaking a rule), then measures in one run:

(a) xlreport: ``xlreport collect`` over the folder (the batch path, its own process tree, peak RSS
    summed over the tree), ``read_workbook`` of each file in this process (per-file cost), and
    ``xlreport read`` of one file as a fresh process (wall time including interpreter start);
(b) ``openpyxl.load_workbook(data_only=True)`` of each file, reading every cell's value;
(c) python-calamine reading every sheet's values.

Per-file costs are medians over a sample of the files (``--sample``), single process.
"""

from __future__ import annotations

import argparse
import gc
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
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

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


# --------------------------------------------------------------------------- readers


def read_xlreport(path: Path) -> Any:
    from xlreport.workbook.reader import read_workbook

    return read_workbook(path).valid


def read_openpyxl(path: Path) -> int:
    import openpyxl

    book = openpyxl.load_workbook(path, data_only=True)
    count = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            count += sum(v is not None for v in row)
    book.close()
    return count


def read_calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    count = 0
    for name in book.sheet_names:
        for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False):
            count += sum(v != "" for v in row)
    return count


def per_file(read: Callable[[Path], Any], files: Iterable[Path]) -> tuple[float, float]:
    """(median seconds per file, files per second) of ``read`` in this process."""
    times = []
    for path in files:
        start = time.perf_counter()
        read(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(times) / sum(times)


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of ``pid`` and all its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+([0-9]+) kB", status).group(1)) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total


def run_measured(command: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS summed over the process tree, exit code) of ``command``."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    return time.perf_counter() - start, peak, proc.returncode


def cli_wall(file: Path, out: Path, runs: int) -> float:
    """Median wall time of ``xlreport read FILE -o OUT`` as a fresh process."""
    exe = shutil.which("xlreport")
    command = [exe] if exe else [sys.executable, "-m", "xlreport"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*command, "read", str(file), "-o", str(out)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="how many workbooks (N)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="collect --jobs")
    parser.add_argument("--sample", type=int, default=500,
                        help="files read in-process by each reader for the per-file medians")
    parser.add_argument("--cli-runs", type=int, default=10, help="runs of xlreport read")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the workbooks are kept (default: a temporary folder)")
    args = parser.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="xlreport-bench-"))
    folder = work / f"returns-{args.files}"
    start = time.perf_counter()
    generate(folder, args.files, args.jobs)
    files = sorted(folder.glob("*.xlsx"))[: args.files]
    print(f"{len(files)} workbooks in {folder} ({time.perf_counter() - start:.1f} s to generate)")

    out = work / "collected"
    shutil.rmtree(out, ignore_errors=True)
    exe = shutil.which("xlreport")
    base = [exe] if exe else [sys.executable, "-m", "xlreport"]
    wall, peak, code = run_measured(
        [*base, "collect", str(folder), "--out-dir", str(out), "--jobs", str(args.jobs)]
    )
    batch_rate = len(files) / wall
    counts = _statuses(out / "summary.csv")

    sample = files[: args.sample]
    gc.collect()
    rows = []
    for name, read in (("xlreport", read_xlreport), ("openpyxl", read_openpyxl),
                       ("calamine", read_calamine)):
        read(sample[0])  # imports and caches outside the timing
        median, rate = per_file(read, sample)
        rows.append((name, median, rate))
    single = cli_wall(files[0], work / "one.json", args.cli_runs)
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    print(f"\nN = {len(files)}, jobs = {args.jobs}, CPUs = {os.cpu_count()}, "
          f"Python {sys.version.split()[0]}")
    print(f"collect statuses: {counts} (exit {code})\n")
    print("| reader | files/s | median per file | peak RSS |")
    print("|---|---:|---:|---:|")
    print(f"| (a) xlreport collect, {args.jobs} processes | {batch_rate:.0f} | "
          f"{1000 * wall / len(files) * args.jobs:.2f} ms (wall × jobs / N) | "
          f"{peak / 2**20:.0f} MB (whole tree) |")
    for name, median, rate in rows:
        label = {"xlreport": "(a) xlreport read_workbook, 1 process",
                 "openpyxl": "(b) openpyxl load_workbook(data_only=True), all cells",
                 "calamine": "(c) python-calamine, all sheets"}[name]
        print(f"| {label} | {rate:.0f} | {1000 * median:.2f} ms | |")
    print(f"| (a) `xlreport read` one file, fresh process | | {1000 * single:.0f} ms wall | |")
    medians = {name: median for name, median, _ in rows}
    print(f"\nratio a/b = {medians['xlreport'] / medians['openpyxl']:.2f}, "
          f"a/c = {medians['xlreport'] / medians['calamine']:.2f} (per-file medians); "
          f"this process peak RSS {own_rss / 2**20:.0f} MB")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _statuses(summary: Path) -> dict[str, int]:
    import csv

    counts: dict[str, int] = {}
    with summary.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            counts[row["状态"]] = counts.get(row["状态"], 0) + 1
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
