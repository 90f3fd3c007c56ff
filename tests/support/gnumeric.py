"""Recalculate a workbook in Gnumeric from tests: ``ssconvert --recalc`` (Debian package ``gnumeric``).

Each call runs in its own process group with its own temporary home directory, under a timeout.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT = 120.0


class GnumericError(AssertionError):
    """ssconvert failed or timed out; the message carries its output."""


@functools.cache
def available() -> bool:
    """True when ``ssconvert`` is on PATH."""
    return shutil.which("ssconvert") is not None


def recalc(src: Path, dst: Path, *, timeout: float = TIMEOUT) -> Path:
    """Open ``src`` in Gnumeric, recalculate every formula and save it as xlsx at ``dst``."""
    dst = Path(dst).resolve()
    dst.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlreport-gnumeric-") as home:
        env = {**os.environ, "HOME": home}
        try:
            done = subprocess.run(
                ["ssconvert", "--recalc", "--export-type=Gnumeric_Excel:xlsx2", str(src), str(dst)],
                capture_output=True, text=True, timeout=timeout, env=env, start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise GnumericError(f"ssconvert timed out after {timeout:.0f} s on {src}") from exc
    if done.returncode != 0 or not dst.is_file():
        raise GnumericError(f"ssconvert failed on {src} (exit {done.returncode}):\n{done.stderr}")
    return dst
