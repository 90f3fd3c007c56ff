"""Render the published report as readers see it: ``xlreport publish`` of real reports to PDF
(the DOCX laid out by LibreOffice), each page rasterised with ``pdftoppm`` into ``docs/published/``.

    python3 docs/render_published.py

``sangdong-N.png``: the 2020 report of 夏邑县桑垌乡人民政府 (2019 edition) with its own published
text; ``pingtan-draft-N.png``: the 2021 report of 平潭综合实验区 (2021 edition), whose data has no
narrative, as a draft.  Needs LibreOffice, poppler-utils and a CJK font (``bash .ci/install``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "published"
DATA = REPO / "tests" / "data"
RESOLUTION = "60"
REPORTS = {
    "sangdong": [DATA / "examples" / "sangdong_2020.json", "--text", DATA / "published" / "sangdong_2020.md"],
    "pingtan-draft": [DATA / "examples" / "pingtan_2021.json", "--draft"],
}


def render() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in REPORTS.items():
            pdf = Path(tmp) / f"{name}.pdf"
            subprocess.run([sys.executable, "-m", "xlreport", "publish", *map(str, args), "-o", str(pdf)],
                           env=env, check=False)
            subprocess.run(["pdftoppm", "-png", "-r", RESOLUTION, str(pdf), str(OUT / name)], check=True)
            written += sorted(OUT.glob(f"{name}-*.png"))
    return written


if __name__ == "__main__":
    for path in render():
        print(path.relative_to(REPO))
