"""Run one job in a private headless LibreOffice; run by the system ``/usr/bin/python3`` (uno).

Reads one JSON job from stdin and writes one JSON answer to stdout: ``{"ok": true, "result": …}``
or ``{"ok": false, "error": "…"}`` (exit code 1).  The job names a work directory made by the
caller, holding the private copy of the workbook; the office profile, its log and the file
``soffice.pgid`` (the office's process group, so the caller can kill it too) go there as well.

Job fields: ``op`` (``fill``, ``fill_all``, ``probe``, ``read``, ``recalc_save``), ``workdir``, ``src``,
``dst``, ``values`` and ``typed`` (target → text), ``targets``, ``files`` (``fill_all``: a list of
``{src, dst, values, typed}``), ``soffice``, ``timeout`` (seconds; a
watchdog kills the office after it, so a hung dialog or a crash ends as an error, not a hang).
A target is a workbook defined name (``demo.total``) or a sheet reference (``$'表一'.B5``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

XLSX_FILTER = "Calc MS Excel 2007 XML"
CONNECT_TIMEOUT = 60.0
QUIT_TIMEOUT = 10.0
REF = re.compile(r"^\$?(?:'((?:[^']|'')+)'|([^.']+))\.\$?([A-Za-z]{1,3})\$?([0-9]+)$")


class JobError(Exception):
    """The job cannot be done as asked (unknown target, unreadable file, office gone)."""


def props(**values: Any) -> tuple[PropertyValue, ...]:
    """UNO property values from keyword arguments."""
    return tuple(PropertyValue(Name=name, Value=value) for name, value in values.items())


class Office:
    """A private ``soffice`` process in its own process group, with its own profile."""

    def __init__(self, soffice: str, workdir: Path, timeout: float) -> None:
        self.workdir = workdir
        self.pipe = f"xlreport_{uuid.uuid4().hex}"
        self.log = (workdir / "soffice.log").open("wb")
        self.proc = subprocess.Popen(
            [
                soffice,
                f"-env:UserInstallation={(workdir / 'profile').as_uri()}",
                "--headless",
                "--invisible",
                "--norestore",
                "--nologo",
                "--nodefault",
                "--nolockcheck",
                f"--accept=pipe,name={self.pipe};urp;",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (workdir / "soffice.pgid").write_text(str(self.proc.pid))
        self.watchdog = threading.Timer(timeout, self.kill)
        self.watchdog.daemon = True
        self.watchdog.start()
        self.killed_by_watchdog = False
        self.desktop: Any = None
        self.dispatcher: Any = None

    def connect(self) -> None:
        """Connect over the pipe, retrying until the office listens (bounded in time)."""
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        url = f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                ctx = resolver.resolve(url)
                break
            except NoConnectException:
                if self.proc.poll() is not None:
                    message = f"soffice exited with {self.proc.returncode} before connecting"
                    raise JobError(message) from None
                if time.monotonic() > deadline:
                    message = f"no connection to soffice within {CONNECT_TIMEOUT:.0f} s"
                    raise JobError(message) from None
                time.sleep(0.05)
        smgr = ctx.ServiceManager
        self.desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        self.dispatcher = smgr.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)

    def kill(self) -> None:
        """Kill the whole office process group (the watchdog's and the last resort)."""
        if self.proc.poll() is None:
            self.killed_by_watchdog = threading.current_thread() is self.watchdog
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        """Ask the office to quit, kill it if it does not, and reap it."""
        self.watchdog.cancel()
        if self.proc.poll() is None and self.desktop is not None:
            with contextlib.suppress(Exception):  # the bridge drops while the office quits
                self.desktop.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(QUIT_TIMEOUT)
        self.kill()
        self.proc.wait()
        self.log.close()
        (self.workdir / "soffice.pgid").unlink(missing_ok=True)

    def open(self, path: Path) -> Any:
        """Load a workbook hidden; a failed load raises instead of returning None."""
        doc = self.desktop.loadComponentFromURL(path.as_uri(), "_blank", 0, props(Hidden=True))
        if doc is None:
            raise JobError(f"LibreOffice could not open {path}")
        return doc

    def type_text(self, doc: Any, target: str, text: str) -> None:
        """Type like a person: the Name Box (``GoToCell``) then the input line (``EnterString``).

        Checks that the cursor reached the target first: a failed ``GoToCell`` leaves it where it
        was, and the text would land in the wrong cell.
        """
        wanted = cell_of(doc, target).getCellAddress()
        controller = doc.getCurrentController()
        frame = controller.getFrame()
        self.dispatcher.executeDispatch(frame, ".uno:GoToCell", "", 0, props(ToPoint=target))
        reached = controller.getSelection().getRangeAddress()
        if (reached.Sheet, reached.StartColumn, reached.StartRow) != (
            wanted.Sheet,
            wanted.Column,
            wanted.Row,
        ):
            raise JobError(f"GoToCell did not reach {target!r}")
        self.dispatcher.executeDispatch(frame, ".uno:EnterString", "", 0, props(StringName=text))


def cell_of(doc: Any, target: str) -> Any:
    """The cell a defined name or ``Sheet.A1`` reference points at (top-left one of a range)."""
    names = doc.NamedRanges
    if names.hasByName(target):
        cells = names.getByName(target).getReferredCells()
        if cells is None:
            raise JobError(f"defined name {target!r} does not refer to cells")
        return cells.getCellByPosition(0, 0)
    match = REF.match(target)
    if match is None:
        raise JobError(f"target {target!r} is neither a defined name nor a Sheet.A1 reference")
    quoted, plain, column, row = match.groups()
    sheet = quoted.replace("''", "'") if quoted is not None else plain
    if not doc.Sheets.hasByName(sheet):
        raise JobError(f"target {target!r}: no sheet named {sheet!r}")
    return doc.Sheets.getByName(sheet).getCellRangeByName(f"{column}{row}")


def describe(cell: Any) -> dict[str, Any]:
    """What a cell holds: shown text, number, formula (or input text), content type, error code."""
    return {
        "string": cell.getString(),
        "value": cell.getValue(),
        "formula": cell.getFormula(),
        "type": cell.getType().value,
        "error": cell.getError(),
    }


def store(doc: Any, dst: str) -> None:
    """Save a copy as xlsx the way *File → Save a Copy* does."""
    doc.storeToURL(Path(dst).as_uri(), props(FilterName=XLSX_FILTER, Overwrite=True))


def run(office: Office, job: dict[str, Any]) -> Any:
    """Do one job on an open office and return its JSON-ready result."""
    op = job["op"]
    if op not in ("fill", "fill_all", "probe", "read", "recalc_save", "steps"):
        raise JobError(f"unknown op {op!r}")
    if op == "fill_all":  # one office session, many workbooks
        return [run(office, {**one, "op": "fill"}) for one in job["files"]]
    doc = office.open(Path(job["src"]))
    try:
        if op == "probe":
            ((target, text),) = job["typed"].items()
            before = describe(cell_of(doc, target))
            office.type_text(doc, target, text)
            return {"before": before, "after": describe(cell_of(doc, target))}
        if op == "steps":  # no full recalculation: what LibreOffice shows after each value
            watched = job["targets"]
            shown = [{t: describe(cell_of(doc, t)) for t in watched}]
            for target, text, how in job["steps"]:
                if how == "paste":  # past validation, as pasting is
                    cell_of(doc, target).setFormula(text)
                elif how == "paste_text":  # a text even if it spells a number
                    cell_of(doc, target).setString(text)
                else:
                    office.type_text(doc, target, text)
                shown.append({t: describe(cell_of(doc, t)) for t in watched})
            return {"steps": shown, "final": {t: describe(cell_of(doc, t)) for t in job["final"]}}
        for target, text in job.get("values", {}).items():
            cell_of(doc, target).setFormula(text)
        for target, text in job.get("typed", {}).items():
            office.type_text(doc, target, text)
        doc.calculateAll()
        if op == "read":
            sheets = [{"name": s.Name, "visible": s.IsVisible} for s in doc.Sheets]
            cells = {target: describe(cell_of(doc, target)) for target in job["targets"]}
            return {"cells": cells, "sheets": sheets}
        result = {
            target: describe(cell_of(doc, target))
            for target in [*job.get("values", {}), *job.get("typed", {})]
        }
        store(doc, job["dst"])
        return result
    finally:
        with contextlib.suppress(Exception):  # the office may be gone already
            doc.close(True)


def main() -> int:
    """Read the job, run it in a fresh office, answer on the real stdout."""
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything printed by libraries goes to stderr, not into the answer
    job = json.load(sys.stdin)
    workdir = Path(job["workdir"])
    office = Office(job["soffice"], workdir, job["timeout"])
    try:
        office.connect()
        reply = {"ok": True, "result": run(office, job)}
    except JobError as problem:
        reply = {"ok": False, "error": str(problem)}
    except Exception:  # every other failure becomes an answer with its traceback
        reply = {"ok": False, "error": traceback.format_exc()}
    finally:
        office.close()
    if not reply["ok"]:
        if office.killed_by_watchdog:
            reply["error"] = f"killed after the {job['timeout']:g} s job timeout: {reply['error']}"
        log = workdir / "soffice.log"
        if log.exists():
            sys.stderr.write(log.read_text(errors="replace")[-4000:])
    json.dump(reply, answer)
    answer.close()
    return 0 if reply["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
