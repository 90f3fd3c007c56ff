"""CPU time of a distribution copy against a template build, by a method that holds on a shared,
noisy machine.

    python3 benchmarks/copies_bench.py                 # 500 units
    python3 benchmarks/copies_bench.py --units 2000

All in this process, CPU time (``time.process_time``):

(1) Interleaved: for each of N units (2021 edition, year 2025, names with spaces and ``& < > " '``,
    each with a credit code), one copy as ``xlreport build --units`` makes it
    (:func:`xlreport.workbook.copies.copies`, written with ``write_atomic``) and one blank
    template build written to a file (:func:`xlreport.workbook.template.build`), in a random
    order within each pair, so that a change of load falls on both alike.  The first copy also
    sets up its kind (three full builds) and is reported apart.  Reported: median CPU per copy
    and per template build, the median over pairs of copy ÷ template, and the whole run (every
    copy, setup included) against N template builds.  Every 50th copy is checked byte for byte
    against its full build (what a copy cost before), as is the last, their CPU time reported too.
(2) ``build_copies`` end to end (reading the CSV list, every check, writing every file) for the
    same N units, against N times the median template build of (1).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]

from xlreport.edition import builtin  # noqa: E402
from xlreport.edition.kinds import CREDIT_CODE_CHARS, CREDIT_CODE_WEIGHTS  # noqa: E402
from xlreport.outputs import write_atomic  # noqa: E402
from xlreport.workbook.copies import copies  # noqa: E402
from xlreport.workbook.template import build, workbook_bytes  # noqa: E402
from xlreport.workflows.distribution import build_copies  # noqa: E402

YEAR = 2025
PLACES = ("东城", "西山", "南湖", "北岭", "桑垌", "平潭", "青云", "白沙", "金溪", "石门")
KINDS = ("人民政府", "交通 运输局", "发展和改革委员会", "市场监督管理局", "卫生健康委员会",
         "自然资源和规划局", "财政局（国资办）", "A&B <试点> \"办公室\" '新区'")


def credit_code(index: int) -> str:
    stem = f"1235{index:013d}"
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(stem, CREDIT_CODE_WEIGHTS, strict=True))
    return stem + CREDIT_CODE_CHARS[-total % 31]


def units(n: int) -> list[tuple[str, str]]:
    """``n`` distinct unit names with their codes."""
    return [(f"{PLACES[i % 10]}{i // 80 + 1}区{PLACES[i // 10 % 10]}{KINDS[i % 8]}", credit_code(i))
            for i in range(n)]


def cpu(step: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = step()
    return time.process_time() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=500)
    args = parser.parse_args()
    spec = builtin("2021")
    listed = units(args.units)
    values = [{"unit.name": name, "unit.year": YEAR, "unit.code": code} for name, code in listed]
    rng = random.Random(2025)
    with tempfile.TemporaryDirectory(prefix="xlreport-copies-bench-") as tmp:
        work = Path(tmp)
        (work / "copies").mkdir()
        build(spec, work / "warm.xlsx")  # imports and caches, outside the measurement
        made: Iterator[bytes] = copies(spec, values)
        copy_times, template_times, full_times = [], [], []
        for i, one in enumerate(values):
            def copy(i: int = i) -> bytes:
                data = next(made)
                write_atomic(work / "copies" / f"{i}.xlsx", data)
                return data

            def template() -> Path:
                return build(spec, work / "template.xlsx")

            order = [("copy", copy), ("template", template)]
            rng.shuffle(order)
            for what, step in order:
                spent, result = cpu(step)
                (copy_times if what == "copy" else template_times).append(spent)
                if what == "copy":
                    data = result
            if i % 50 == 49 or i == len(values) - 1:
                spent, full = cpu(lambda one=one: workbook_bytes(spec, values=one, lock_keys=list(one)))
                full_times.append(spent)
                assert data == full, f"copy {i} differs from its full build"
        setup, per_copy = copy_times[0], copy_times[1:]
        ratios = [c / t for c, t in zip(per_copy, template_times[1:], strict=True)]
        template_median = statistics.median(template_times)
        print(f"{args.units} units (2021 edition, name, year and code pre-filled):")
        print(f"  template build:          {template_median * 1000:7.1f} ms CPU (median)")
        print(f"  full build of a copy:    {statistics.median(full_times) * 1000:7.1f} ms CPU "
              f"(median of {len(full_times)}; every one equal to the patched copy)")
        print(f"  first copy (kind setup): {setup * 1000:7.1f} ms CPU")
        print(f"  each further copy:       {statistics.median(per_copy) * 1000:7.1f} ms CPU (median)")
        print(f"  copy ÷ template build:   1/{1 / statistics.median(ratios):.0f} (median of "
              f"{len(ratios)} interleaved pairs)")
        print(f"  all {args.units} copies:          {sum(copy_times):7.2f} s CPU, against "
              f"{sum(template_times):.1f} s for as many template builds "
              f"(1/{sum(template_times) / sum(copy_times):.0f})")

        csv = work / "名单.csv"
        csv.write_text("单位名称,统一社会信用代码\n" + "".join(
            f'"{name.replace(chr(34), chr(34) * 2)}",{code}\n' for name, code in listed), encoding="utf-8")
        spent, built = cpu(lambda: build_copies(spec, csv, work / "分发", year=YEAR))
        assert len(built) == args.units
        print(f"  build_copies end to end: {spent:7.2f} s CPU for {args.units} files "
              f"({spent / args.units * 1000:.1f} ms each; {args.units} full builds: about "
              f"{args.units * template_median:.0f} s)")


if __name__ == "__main__":
    main()
