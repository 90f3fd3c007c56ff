"""Import each file named on the command line in a forked child; print one JSON line per file:
how it ended (refused with a code and message, imported, crashed, or died) and the peak resident
memory of the child and of the processes it ran (the PDF reader's), and the seconds it took (for
the record; nothing asserts them).

Run as ``python hostile_runner.py FILE…`` with ``xlreport`` importable.  Each child has an
address-space limit (a safety net for the machine, not the measure) and an alarm as a hang guard.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

from xlreport.errors import XlreportError
from xlreport.published.reader import import_report

#: Address space of each child: generous, so that the measured peak, not this, decides.
LIMIT = 2048 * 1024 * 1024
#: Seconds before a child is killed as hung (the PDF reader gives up after 60).
HANG = 300


def _child(path: Path) -> dict[str, object]:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    signal.alarm(HANG)
    try:
        import_report(path)
        out: dict[str, object] = {"outcome": "imported"}
    except XlreportError as exc:
        out = {"outcome": "refused", "code": exc.code, "message": exc.message}
    except BaseException as exc:  # the report says what escaped
        out = {"outcome": "crashed", "error": f"{type(exc).__name__}: {exc}"[:500]}
    out["self_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["children_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return out


def run(path: Path) -> dict[str, object]:
    read, write = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        data = json.dumps(_child(path), ensure_ascii=False).encode("utf-8")
        with os.fdopen(write, "wb") as fh:
            fh.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    _, status, usage = os.wait4(pid, 0)
    seconds = round(time.monotonic() - start, 2)
    if not data:
        return {"file": path.name, "outcome": "died", "status": status,
                "self_kb": usage.ru_maxrss, "children_kb": 0, "seconds": seconds}
    return {"file": path.name, **json.loads(data), "seconds": seconds}


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(json.dumps(run(Path(name)), ensure_ascii=False), flush=True)
