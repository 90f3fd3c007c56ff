"""Render what the clerk sees: each visible sheet of the 2021 template, filled with a real report,
printed by LibreOffice (PDF) and rasterised with ``pdftoppm``, into ``docs/template/``.

    python3 docs/render.py [EXAMPLE.json]

Pages: ``sheetN.png`` (``sheetN-K.png`` for a sheet printed on several pages), in workbook order.
``broken-*.png`` show the same report with one number changed, so that a check fails.  Needs
LibreOffice, poppler-utils and a CJK font (``bash .ci/install``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support import libreoffice  # noqa: E402
from xlreport import edition as spec  # noqa: E402
from xlreport.checks import report  # noqa: E402
from xlreport.workbook import template  # noqa: E402
from xlreport.workbook.layout import layout  # noqa: E402

OUT = REPO / "docs" / "template"
EXAMPLE = REPO / "tests" / "data" / "examples" / "pingtan_2021.json"
BROKEN = ("requests.new.natural_person", 1)  # one more request than was handled
RESOLUTION = "60"


def render(example: Path) -> list[Path]:
    edition = spec.builtin("2021")
    values = report.flatten(report.load(example), edition)
    broken = {**values, BROKEN[0]: values[BROKEN[0]] + BROKEN[1]}
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    written = _pages(edition, values, "sheet", None)
    written += _pages(edition, broken, "broken-sheet", {"三、依申请公开", "校验结果"})
    return written


def _pages(edition: spec.Spec, values: dict, prefix: str, only: set[str] | None) -> list[Path]:
    """PNG of every printed page, named after the sheet it belongs to."""
    titles = {g.title: i for i, g in enumerate(layout(edition).grids.values(), start=2)}
    titles |= {"填报说明": 1, "校验结果": len(titles) + 2}
    names = {g.title: g.name for g in layout(edition).grids.values()} | {
        "填报说明": "填报说明", "校验结果": "校验结果"}
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        book = template.build(edition, Path(tmp) / "report.xlsx", values=values)
        pdf = libreoffice.convert(book, Path(tmp), "pdf")
        subprocess.run(["pdftoppm", "-png", "-r", RESOLUTION, str(pdf), f"{tmp}/page"], check=True)
        seen: dict[int, int] = {}
        for page in sorted(Path(tmp).glob("page-*.png")):
            number = int(page.stem.rsplit("-", 1)[1])
            header = " ".join(subprocess.run(
                ["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
                capture_output=True, text=True, check=True,
            ).stdout.splitlines()[:3])  # the page header names the sheet
            if not header.strip():
                continue  # LibreOffice 7.4 may end a sheet that exactly fills its last page with an empty one
            title = next(t for t in sorted(titles, key=len, reverse=True) if t in header)
            if only is not None and names[title] not in only:
                continue
            index = titles[title]
            seen[index] = seen.get(index, 0) + 1
            suffix = "" if seen[index] == 1 else f"-{seen[index]}"
            target = OUT / f"{prefix}{index}{suffix}.png"
            target.write_bytes(page.read_bytes())
            written.append(target)
    return written


if __name__ == "__main__":
    for path in render(Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLE):
        print(f"{path.relative_to(REPO)}  {path.stat().st_size // 1024} KB")
