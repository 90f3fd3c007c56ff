"""Drive a real headless LibreOffice from tests: fill, type, read, recalculate, convert.

Every call runs in its own office process with its own temporary profile and works on a private
copy of the workbook, so a crash leaves nothing behind that could disturb the next call.  UNO jobs
run in ``uno_worker.py`` under the system Python (the only one that imports ``uno``); every call
has a timeout, and the office's process group is killed when the call ends, whatever happened.

A *target* is a workbook defined name (``requests.new.natural_person``) or a sheet reference
(``$'二、主动公开'.B5``, ``Sheet1.B5``); a name for a range means its top-left cell.  Cells are
described as ``{"string", "value", "formula", "type", "error"}``: the shown text, the number,
the formula or the entered text, ``EMPTY|VALUE|TEXT|FORMULA`` and LibreOffice's error code
(0 for none, e.g. 532 for #DIV/0!).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

SYSTEM_PYTHON = Path("/usr/bin/python3")
WORKER = Path(__file__).with_name("uno_worker.py")
TIMEOUT = 120.0
RECALC_ON_LOAD = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


class LibreOfficeError(AssertionError):
    """A LibreOffice job failed or timed out; the message carries the worker's and office's output."""


@functools.cache
def available() -> bool:
    """True when ``soffice`` is on PATH and the system Python imports ``uno``."""
    if shutil.which("soffice") is None or not SYSTEM_PYTHON.exists():
        return False
    probe = subprocess.run(
        [str(SYSTEM_PYTHON), "-I", "-c", "import uno"], capture_output=True, timeout=60
    )
    return probe.returncode == 0


def fill(
    src: Path,
    dst: Path,
    values: dict[str, str],
    *,
    type_as_person: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> dict[str, dict[str, Any]]:
    """Enter ``values`` as the input line would, type ``type_as_person``, recalculate, save as xlsx.

    ``values`` go in with ``cell.setFormula`` ("12" → number, "12件" → text, "=1+1" → formula),
    which bypasses sheet protection; ``type_as_person`` goes through the dispatcher (Name Box,
    then input line), which a locked cell on a protected sheet refuses.  Returns target → cell
    description after recalculation, for every target of both.
    """
    job = {"values": values, "typed": type_as_person or {}, "dst": str(Path(dst).resolve())}
    return _run_job("fill", src, job, timeout)


def fill_all(
    files: Sequence[tuple[Path, Path, dict[str, str]]], *, timeout: float = TIMEOUT
) -> list[dict[str, dict[str, Any]]]:
    """:func:`fill` for many workbooks in one office session: each (src, dst, values) is opened,
    its values entered as the input line would, recalculated and saved as xlsx at dst.  The
    sources need different names; ``timeout`` is per file."""
    srcs = [Path(src) for src, _, _ in files]
    if len({src.name for src in srcs}) != len(srcs):
        raise ValueError("files filled together need different names")
    with _workdir(*srcs) as (work, copies):
        jobs = [{"src": str(copy), "dst": str(Path(dst).resolve()), "values": values}
                for copy, (_, dst, values) in zip(copies, files, strict=True)]
        return _run_in(work, "fill_all", {"files": jobs}, timeout * max(len(files), 1))


def probe_typing(src: Path, target: str, text: str, *, timeout: float = TIMEOUT) -> bool:
    """Type ``text`` into ``target`` as a person would, alone in a fresh office session.

    True if the cell then holds ``text`` (accepted), False if it kept its content (refused, e.g.
    a locked cell on a protected sheet).  ``text`` must differ from what the cell holds.
    """
    result = _run_job("probe", src, {"typed": {target: text}}, timeout)
    before, after = result["before"], result["after"]
    if text in (before["formula"], before["string"]):
        raise ValueError(f"{target} already holds {text!r}; probe with a different text")
    return text in (after["formula"], after["string"])


def type_steps(
    src: Path,
    steps: Sequence[tuple[str, str, str]],
    targets: list[str],
    *,
    final: Sequence[str] = (),
    timeout: float = TIMEOUT,
) -> tuple[list[dict[str, dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Open ``src`` with LibreOffice's default settings and enter ``steps`` one at a time, never
    asking for a full recalculation; describe ``targets`` before the first step and after each,
    and ``final`` after the last.

    A step is (target, text, how): ``"type"`` as a person types (validation applies), ``"paste"``
    straight into the cell as pasting does (past validation), ``"paste_text"`` as a text even if it
    spells a number.
    """
    job = {"steps": list(steps), "targets": targets, "final": list(final)}
    result = _run_job("steps", src, job, timeout)
    return result["steps"], result["final"]


def read(src: Path, targets: list[str], *, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Recalculate and describe ``targets``: ``{target: cell…, "sheets": [{name, visible}…]}``."""
    result = _run_job("read", src, {"targets": targets}, timeout)
    return {**result["cells"], "sheets": result["sheets"]}


def recalc_save(src: Path, dst: Path, *, timeout: float = TIMEOUT) -> None:
    """Open, recalculate and save as xlsx: a person who opened the file in LibreOffice and saved."""
    _run_job("recalc_save", src, {"dst": str(Path(dst).resolve())}, timeout)


def convert(src: Path, out_dir: Path, fmt: str, *, timeout: float = TIMEOUT) -> Path:
    """``soffice --convert-to fmt`` with recalculation on load; returns the written file.

    ``fmt`` is what ``--convert-to`` takes (``pdf``, ``xlsx``, ``csv:Text - txt - csv (StarCalc)``).
    """
    return convert_all([src], out_dir, fmt, timeout=timeout)[0]


def convert_all(
    srcs: Sequence[Path], out_dir: Path, fmt: str, *, timeout: float = TIMEOUT
) -> list[Path]:
    """:func:`convert` for many files in one office session (names must differ); the written files
    in the order of ``srcs``.  ``timeout`` is per file."""
    out_dir = Path(out_dir).resolve()
    names = [Path(src).name for src in srcs]
    if len(set(names)) != len(names):
        raise ValueError("files converted together need different names")
    outs = [out_dir / f"{Path(src).stem}.{fmt.split(':')[0]}" for src in srcs]
    for out in outs:
        out.unlink(missing_ok=True)
    with _workdir(*srcs) as (work, copies):
        user = work / "profile" / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(RECALC_ON_LOAD)
        command = [
            _soffice(),
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            "--convert-to",
            fmt,
            "--outdir",
            str(out_dir),
            *map(str, copies),
        ]
        returncode, output, _ = _communicate(command, None, timeout * len(srcs))
    failed = [out.name for out in outs if not out.is_file() or out.stat().st_size == 0]
    if returncode != 0 or failed:
        raise LibreOfficeError(f"convert to {fmt} failed (exit {returncode}) for {failed}:\n{output}")
    return outs


def _soffice() -> str:
    soffice = shutil.which("soffice")
    if soffice is None:
        raise LibreOfficeError("soffice is not installed")
    return soffice


@contextlib.contextmanager
def _workdir(*srcs: Path) -> Iterator[tuple[Path, list[Path]]]:
    """A temporary directory holding private copies of ``srcs``; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="xlreport-lo-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        copies = [work / Path(src).name for src in srcs]
        for src, copy in zip(srcs, copies, strict=True):
            shutil.copyfile(src, copy)
        try:
            yield work, copies
        finally:
            _kill_group_in(work / "soffice.pgid")


def _run_job(op: str, src: Path, job: dict[str, Any], timeout: float) -> Any:
    """Run one worker job on a private copy of ``src`` and return its result."""
    with _workdir(src) as (work, (copy,)):
        return _run_in(work, op, {**job, "src": str(copy)}, timeout, shown=src)


def _run_in(work: Path, op: str, job: dict[str, Any], timeout: float,
            shown: Path | None = None) -> Any:
    """Run one worker job in the work directory ``work`` and return its result; ``shown`` is
    the file named in a failure."""
    job = {
        **job,
        "op": op,
        "workdir": str(work),
        "soffice": _soffice(),
        "timeout": max(timeout - 15, timeout / 2),  # the worker's watchdog fires first
    }
    command = [str(SYSTEM_PYTHON), "-I", str(WORKER)]
    returncode, stdout, stderr = _communicate(command, json.dumps(job), timeout)
    try:
        answer = json.loads(stdout)
    except json.JSONDecodeError:
        answer = {"ok": False, "error": f"no answer from the worker (exit {returncode})"}
    if not answer["ok"]:
        what = f" of {shown}" if shown is not None else ""
        raise LibreOfficeError(f"LibreOffice {op}{what} failed:\n{answer['error']}\n{stderr}")
    return answer["result"]


def _communicate(command: list[str], stdin: str | None, timeout: float) -> tuple[int, str, str]:
    """Run ``command`` in its own process group; kill the group on timeout and at the end."""
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        stdout, stderr = proc.communicate()
        raise LibreOfficeError(
            f"{command[-1]} timed out after {timeout:.0f} s:\n{stdout}\n{stderr}"
        ) from None
    finally:
        _kill_group(proc.pid)
    return proc.returncode, stdout, stderr


def _kill_group_in(pgid_file: Path) -> None:
    """Kill the office process group the worker recorded, if it left one."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        _kill_group(int(pgid_file.read_text()))


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
