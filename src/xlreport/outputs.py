"""Writing output files: whole or not at all, all of a command's outputs together, never over an input.

Every file xlreport writes goes through :class:`Outputs`.  Each new file is first written in full
to a temporary file beside its target (the same folder, so that putting it in place is a rename);
:meth:`Outputs.commit` then moves every existing target aside, moves the new files in, and only
then deletes what it moved aside and the files it was asked to remove.  When a step fails,
everything is put back as it was.  Ctrl-C and a closed terminal are held off during that short
step; a commit killed all the same (power loss) leaves a journal from which :func:`recover` puts
the previous files back.

A file that cannot be written is the user's situation, not a bug: :class:`UnwritableOutput`
names the file and the reason (没有权限, 只读, 磁盘已满, 是文件夹…), never a temporary file.
An output that is one of the command's inputs is refused before anything is written.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from .errors import UnwritableOutput, UsageError, os_reason

#: Every temporary file or folder xlreport makes beside an output starts with this.
TEMP_PREFIX = ".xlreport-"
#: File names a JSON or text output may not have: they name spreadsheets.
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et", ".ods")
_HELD_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def unwritable(path: Path, exc: OSError, *, undone: bool = False) -> UnwritableOutput:
    """The error for ``path`` that could not be written because of ``exc``."""
    reason = os_reason(exc)
    if isinstance(exc, PermissionError):
        reason += "；如果文件可能正在被 Excel 或 WPS 打开，请关闭后重试，否则请检查这个文件夹的写入权限"
    elif reason in ("磁盘空间已满", "磁盘配额已用完"):
        reason += "，请腾出空间后重试"
    elif reason.endswith("只读的"):
        reason += "，请换一个可以写入的文件夹"
    kept = "；原有的文件都没有改动" if undone else ""
    return UnwritableOutput(f"无法写入“{path}”：{reason}{kept}", code="unwritable")


def folder(path: Path) -> Path:
    """Make sure ``path`` is a folder that exists (creating it and its parents)."""
    path = Path(path)
    _refuse_file_in_path(path, path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UnwritableOutput(f"无法写入“{path}”：这是一个文件，不是文件夹",
                               code="unwritable") from None
    except OSError as exc:
        raise unwritable(path, exc) from None
    return path


def _refuse_file_in_path(path: Path, shown: Path) -> None:
    """A path that goes through a regular file (``报告.json/新.json``) cannot be created."""
    for above in (path, *path.parents):
        if above.exists() or above.is_symlink():
            if not above.is_dir():
                raise UnwritableOutput(f"无法写入“{shown}”：“{above}”是文件，不是文件夹",
                                       code="unwritable")
            return


def same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` are one file (also through links, ``..`` or a case-insensitive disk)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


@dataclass
class _Entry:
    """One target of a commit: its new content (staged file or bytes for a device) or removal."""

    target: Path
    staged: Path | None = None
    direct: bytes | None = None
    aside: Path | None = None
    placed: bool = False


class Outputs:
    """A set of output files written all or nothing (see the module docstring).

    ``inputs`` are the files the command reads; none of them may be an output.  ``journal`` (a
    path in the same folder as every target) records a commit so :func:`recover` can undo it.
    Used as a context manager, whatever was not committed is discarded on the way out.
    """

    def __init__(self, inputs: Iterable[Path | None] = (), *, journal: Path | None = None) -> None:
        self.inputs = [Path(p) for p in inputs if p is not None and str(p) != "-"]
        self.journal = journal
        self._entries: list[_Entry] = []
        self._targets: set[str] = set()

    def __enter__(self) -> Outputs:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()

    def check(self, path: Path) -> Path:
        """Refuse ``path`` as an output now (an input, a folder, under a file), else return it;
        its folder is created."""
        path = Path(path)
        for given in self.inputs:
            if same_file(path, given):
                raise UsageError(f"输出文件“{path}”就是输入文件“{given}”，写出会把它覆盖；"
                                 "请另选一个输出文件名", code="output_is_input")
        if _identity(path) in self._targets:
            raise UsageError(f"“{path}”被指定为两个不同的输出文件，请分别给出文件名",
                             code="output_twice")
        if path.is_dir():
            raise UnwritableOutput(f"无法写入“{path}”：这是一个文件夹；请给出要写的文件名",
                                   code="unwritable")
        folder(path.parent)
        return path

    def write(self, path: Path, data: bytes | str, *, suffixes: tuple[str, ...] = ()) -> Path:
        """Stage ``data`` for ``path``: text (JSON, YAML) as UTF-8, bytes as a workbook, or either
        as a file whose name ends in one of ``suffixes`` (a published document)."""
        path = self.check(path)
        suffix = path.suffix.lower()
        if suffixes:
            if suffix not in suffixes:
                raise UsageError(f"“{path}”的扩展名应为 {'、'.join(suffixes)} 之一",
                                 code="output_suffix")
        elif isinstance(data, str) and suffix in SPREADSHEET_SUFFIXES:
            raise UsageError(f"“{path}”是电子表格的文件名，这里写出的是 JSON 文本；"
                             "请用 .json 结尾的文件名", code="output_suffix")
        elif isinstance(data, bytes) and suffix != ".xlsx":
            raise UsageError(f"“{path}”不是 .xlsx 文件名，这里写出的是 Excel 工作簿；"
                             "请用 .xlsx 结尾的文件名", code="output_suffix")
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if _special(path):
            self._add(_Entry(path, direct=raw))
            return path
        try:
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise unwritable(path, exc) from None
        self._add(_Entry(path, staged=Path(tmp)))
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(raw)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
        except OSError as exc:
            raise unwritable(path, exc) from None
        return path

    def place(self, path: Path, staged: Path) -> Path:
        """Put the already written file ``staged`` (on the same disk) at ``path`` on commit."""
        path = self.check(path)
        self._add(_Entry(path, staged=Path(staged)))
        return path

    def remove(self, path: Path) -> None:
        """Delete ``path`` on commit (together with the rest, or not at all)."""
        self._add(_Entry(Path(path)))

    def _add(self, entry: _Entry) -> None:
        self._entries.append(entry)
        self._targets.add(_identity(entry.target))

    def commit(self) -> None:
        """Replace every target at once; on failure put everything back and raise."""
        entries = self._entries
        with _held_off():
            for e in entries:
                if e.target.is_dir() and not e.target.is_symlink():
                    self.discard()
                    raise UnwritableOutput(f"无法写入“{e.target}”：这是一个文件夹；原有的文件都没有改动",
                                           code="unwritable")
                if e.direct is None and (e.target.exists() or e.target.is_symlink()):
                    e.aside = e.target.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}.old")
            self._log(entries, "commit")
            current = entries[0].target if entries else Path()
            try:
                for e in entries:
                    current = e.target
                    if e.aside is not None:
                        os.replace(e.target, e.aside)
                for e in entries:
                    current = e.target
                    if e.staged is not None:
                        os.replace(e.staged, e.target)
                        e.placed = True
                for e in entries:
                    current = e.target
                    if e.direct is not None:
                        _write_direct(e.target, e.direct)
            except OSError as exc:
                _undo(entries)
                self._unlog()
                self.discard()
                raise unwritable(current, exc, undone=True) from None
            self._entries, self._targets = [], set()
            try:
                self._log(entries, "done")
            except UnwritableOutput:
                self._unlog()
            for e in entries:
                if e.aside is not None:
                    with suppress(OSError):
                        os.unlink(e.aside)
            self._unlog()

    def discard(self) -> None:
        """Delete every staged temporary file that was not committed."""
        _drop_temps(self._entries)
        self._entries, self._targets = [], set()

    def _log(self, entries: list[_Entry], state: str) -> None:
        if self.journal is None:
            return
        lines = [{"target": str(e.target), "staged": _str(e.staged), "aside": _str(e.aside)}
                 for e in entries]
        text = json.dumps({"state": state, "entries": lines}, ensure_ascii=False)
        tmp = self.journal.with_name(self.journal.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.journal)
        except OSError as exc:
            raise unwritable(self.journal.parent, exc, undone=True) from None

    def _unlog(self) -> None:
        if self.journal is not None:
            with suppress(OSError):
                os.unlink(self.journal)


def write_atomic(path: Path, data: bytes | str, *, inputs: Iterable[Path | None] = ()) -> Path:
    """Write one output file (see :class:`Outputs`) and return its path."""
    with Outputs(inputs) as out:
        out.write(path, data)
        out.commit()
    return Path(path)


def recover(journal: Path) -> None:
    """Undo a commit that was killed before it finished (or finish its clean-up if it was done)."""
    try:
        logged = json.loads(journal.read_text(encoding="utf-8"))
        entries = [
            _Entry(Path(e["target"]), _path(e["staged"]), aside=_path(e["aside"]))
            for e in logged["entries"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if logged.get("state") == "done":
        for e in entries:
            if e.aside is not None:
                with suppress(OSError):
                    os.unlink(e.aside)
    else:
        for e in entries:
            e.placed = e.staged is not None and not e.staged.exists() and e.target.exists()
        _undo(entries)
        _drop_temps(entries)
    with suppress(OSError):
        os.unlink(journal)


def _undo(entries: list[_Entry]) -> None:
    """Put every target of a failed commit back as it was."""
    for e in reversed(entries):
        with suppress(OSError):
            if e.placed and e.staged is not None:
                os.replace(e.target, e.staged)
            if e.aside is not None and (e.aside.exists() or e.aside.is_symlink()):
                os.replace(e.aside, e.target)


def _drop_temps(entries: list[_Entry]) -> None:
    """Delete the temporary files :meth:`Outputs.write` made for ``entries``."""
    for e in entries:
        if e.staged is not None and e.staged.name.startswith(TEMP_PREFIX):
            with suppress(OSError):
                e.staged.unlink()


def _identity(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def _special(path: Path) -> bool:
    """``path`` is a character device or pipe (``/dev/null``): written in place, not replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise UnwritableOutput(f"无法写入“{path}”：这不是普通文件", code="unwritable")
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _write_direct(path: Path, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _path(text: Any) -> Path | None:
    return Path(text) if isinstance(text, str) else None


def _umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def _held_off() -> Iterator[None]:
    """Hold Ctrl-C and a closed terminal until the block is done, then act on them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    old = {s: signal.signal(s, hold) for s in _HELD_SIGNALS}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    for signum in caught[:1]:
        signal.raise_signal(signum)


@contextmanager
def hold(path: Path) -> Iterator[None]:
    """Use the folder ``path`` alone: a second run that asks for it meanwhile is refused at once.

    The lock is an operating-system lock on a small file in the folder, released when the run
    ends in any way (also when it is killed); the file is deleted at the end.
    """
    lock = Path(path) / f"{TEMP_PREFIX}lock"
    busy = UnwritableOutput(
        f"结果文件夹“{path}”正在被另一个 xlreport collect 使用；请等它结束后再运行，"
        "或换一个结果文件夹", code="busy")
    for _ in range(10):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise unwritable(Path(path), exc) from None
        try:
            locked = _lock(fd)
        except BaseException:
            os.close(fd)
            raise
        if locked is False:
            os.close(fd)
            raise busy
        if _same_inode(fd, lock):
            break
        os.close(fd)
    else:
        raise busy
    try:
        yield
    finally:
        with suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _same_inode(fd: int, path: Path) -> bool:
    """The locked file is still the one at ``path`` (an ending run may have deleted it)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _lock(fd: int) -> bool | None:
    """Lock ``fd`` without waiting: True, False when another process holds it, None when the disk
    cannot lock (some network shares; the run goes on)."""
    if sys.platform == "win32":
        import msvcrt  # deferred: exists only on Windows

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl  # deferred: exists only on POSIX systems

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True
