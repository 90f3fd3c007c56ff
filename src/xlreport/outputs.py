"""Writing output files: whole or not at all, all of a command's outputs together, never over an input.

Every file xlreport writes goes through :class:`Outputs`.  Each new file is first written in full
to a temporary file beside its target (the same folder, so that putting it in place is a rename);
:meth:`Outputs.commit` then moves every existing target aside, moves the new files in, and only
then deletes what it moved aside and the files it was asked to remove.  When a step fails,
everything is put back as it was.  Ctrl-C and a closed terminal are held off during that short
step; a commit killed all the same (power loss) leaves a journal from which :func:`recover` puts
the previous files back.

Memory does not grow with the number of files: past :data:`SPILL_AFTER` targets an
:class:`Outputs` keeps them in a temporary SQLite file (beside the journal, else beside the first
target), the journal is written and read a line at a time, and what a commit has moved is told
from names made of a token and each target's place in the order, not remembered.

A file that cannot be written is the user's situation, not a bug: :class:`UnwritableOutput`
names the file and the reason (没有权限, 只读, 磁盘已满, 是文件夹…), never a temporary file.
An output that is one of the command's inputs is refused before anything is written.
"""

from __future__ import annotations

import errno
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
from itertools import chain
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from .errors import UnwritableOutput, UsageError, os_reason

if TYPE_CHECKING:
    import sqlite3

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
    for above in chain((path,), path.parents):  # lazily: the first that exists ends it
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


#: One target of a commit: its path, its staged file (None to remove it) and, for a device, the
#: bytes written into it in place.
_Row = tuple[str, str | None, bytes | None]

#: Targets an :class:`Outputs` keeps in memory; past this many they go to an SQLite file.
SPILL_AFTER = 4096
#: Rows read from that file at a time.
_CHUNK = 1024


class _Entries:
    """The targets of one commit in the order given, each at most once (by :func:`_identity`).

    Up to :data:`SPILL_AFTER` they are plain tuples in memory; past it they are moved to an SQLite
    file beside the outputs (``home``, else the first target's folder), which is deleted by
    :meth:`close`, so that a run of any size holds a bounded number of them.
    """

    def __init__(self, home: Path | None) -> None:
        self._home = home
        self._rows: dict[str, _Row] = {}  # identity → row, in the order added
        self._db: sqlite3.Connection | None = None
        self._file: str | None = None
        self._count = 0
        self.direct = 0  # entries written in place (devices)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, identity: object) -> bool:
        if self._db is None:
            return identity in self._rows
        with self._errors():
            found = self._db.execute("SELECT 1 FROM entries WHERE identity = ?", (identity,))
            return found.fetchone() is not None

    def add(self, identity: str, row: _Row) -> bool:
        """Add ``row``; False (and nothing added) when its target is one already given."""
        if self._db is None:
            if identity in self._rows:
                return False
            if len(self._rows) < SPILL_AFTER:
                self._rows[identity] = row
                self._counted(row)
                return True
            self._spill(row[0])
        assert self._db is not None
        with self._errors():
            try:
                self._db.execute("INSERT INTO entries (identity, target, staged, direct) "
                                 "VALUES (?, ?, ?, ?)", (identity, *row))
            except self._sqlite.IntegrityError:
                return False
        self._counted(row)
        return True

    def _counted(self, row: _Row) -> None:
        self._count += 1
        self.direct += row[2] is not None

    def __iter__(self) -> Iterator[_Row]:
        if self._db is None:
            yield from self._rows.values()
            return
        with self._errors():
            rows = self._db.execute("SELECT target, staged, direct FROM entries ORDER BY seq")
            while chunk := rows.fetchmany(_CHUNK):
                yield from chunk

    def close(self) -> None:
        """Forget every entry and delete the SQLite file, if there is one."""
        self._rows, self._count, self.direct = {}, 0, 0
        self._drop_db()

    def _drop_db(self) -> None:
        if self._db is not None:
            with suppress(self._sqlite.Error):
                self._db.close()
            self._db = None
        if self._file is not None:
            with suppress(OSError):
                os.unlink(self._file)
            self._file = None

    def _spill(self, first: str) -> None:
        """Move the entries to a new SQLite file."""
        import sqlite3  # deferred: only a commit of thousands of files needs it (~5 ms)

        self._sqlite = sqlite3
        where = self._home or Path(next(iter(self._rows.values()), (first,))[0]).parent
        try:
            fd, self._file = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".sqlite", dir=where)
            os.close(fd)
            with self._errors():
                uri = f"{Path(self._file).resolve().as_uri()}?nolock=1"  # see Ledger
                db = sqlite3.connect(uri, uri=True, isolation_level=None)
                self._db = db
                db.execute("PRAGMA journal_mode = OFF")
                db.execute("PRAGMA synchronous = OFF")
                db.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, identity TEXT UNIQUE "
                           "NOT NULL, target TEXT NOT NULL, staged TEXT, direct BLOB)")
                db.execute("BEGIN")  # never committed: the file is scratch, deleted at the end
                db.executemany("INSERT INTO entries (identity, target, staged, direct) "
                               "VALUES (?, ?, ?, ?)",
                               ((i, *row) for i, row in self._rows.items()))
        except OSError as exc:
            self._drop_db()
            raise unwritable(where, exc) from None
        self._rows = {}

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """An SQLite error is an OSError of the disk (see :func:`disk_error`)."""
        try:
            yield
        except self._sqlite.Error as exc:
            raise disk_error(exc) from None


#: The operating system's error for SQLite's (by its primary result code).
_ERRNO = {"SQLITE_FULL": errno.ENOSPC, "SQLITE_READONLY": errno.EROFS, "SQLITE_PERM": errno.EACCES,
          "SQLITE_CANTOPEN": errno.EACCES, "SQLITE_IOERR": errno.EIO}


def disk_error(exc: Exception) -> OSError:
    """The :class:`OSError` an error of an SQLite scratch file stands for (a full disk, a
    read-only folder…), so that :func:`unwritable` can name it."""
    name = getattr(exc, "sqlite_errorname", "")
    code = next((n for prefix, n in _ERRNO.items() if name.startswith(prefix)), errno.EIO)
    return OSError(code, os.strerror(code))


class Outputs:
    """A set of output files written all or nothing (see the module docstring).

    ``inputs`` are the files the command reads; none of them may be an output.  ``journal`` (a
    path in the same folder as every target) records a commit so :func:`recover` can undo it.
    Used as a context manager, whatever was not committed is discarded on the way out.
    """

    def __init__(self, inputs: Iterable[Path | None] = (), *, journal: Path | None = None) -> None:
        self.inputs = [Path(p) for p in inputs if p is not None and str(p) != "-"]
        self.journal = journal
        self._entries = _Entries(self._home)

    @property
    def _home(self) -> Path | None:
        return None if self.journal is None else self.journal.parent

    def __enter__(self) -> Outputs:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()

    def check(self, path: Path) -> Path:
        """Refuse ``path`` as an output now (an input, a folder, under a file), else return it;
        its folder is created."""
        return self._check(path)[0]

    def _check(self, path: Path) -> tuple[Path, str]:
        """:meth:`check`, also returning the target's identity."""
        path = Path(path)
        for given in self.inputs:
            if same_file(path, given):
                raise UsageError(f"输出文件“{path}”就是输入文件“{given}”，写出会把它覆盖；"
                                 "请另选一个输出文件名", code="output_is_input")
        identity = _identity(path)
        try:
            if identity in self._entries:
                raise _twice(path)
        except OSError as exc:
            raise unwritable(path, exc) from None
        if path.is_dir():
            raise UnwritableOutput(f"无法写入“{path}”：这是一个文件夹；请给出要写的文件名",
                                   code="unwritable")
        folder(path.parent)
        return path, identity

    def write(self, path: Path, data: bytes | str, *, suffixes: tuple[str, ...] = ()) -> Path:
        """Stage ``data`` for ``path``: text (JSON, YAML) as UTF-8, bytes as a workbook, or either
        as a file whose name ends in one of ``suffixes`` (a published document)."""
        path, identity = self._check(path)
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
            self._add(path, identity, None, raw)
            return path
        try:
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise unwritable(path, exc) from None
        try:
            self._add(path, identity, tmp)
        except BaseException:
            os.close(fd)
            with suppress(OSError):
                os.unlink(tmp)
            raise
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
        path, identity = self._check(path)
        self._add(path, identity, str(staged))
        return path

    def remove(self, path: Path) -> None:
        """Delete ``path`` on commit (together with the rest, or not at all)."""
        self._add(Path(path), _identity(path), None)

    def _add(self, path: Path, identity: str, staged: str | None,
             direct: bytes | None = None) -> None:
        try:
            added = self._entries.add(identity, (str(path), staged, direct))
        except OSError as exc:
            raise unwritable(path, exc) from None
        if not added:
            raise _twice(path)

    def commit(self) -> None:
        """Replace every target at once; on failure put everything back and raise.

        Old files are moved aside under names made of a token of this commit and their place in
        the order (see :func:`_aside`), so that what was moved is read from the disk, not kept.
        """
        entries = self._entries
        with _held_off():
            token = secrets.token_hex(6)
            try:
                self._log(_no_folder(entries), "commit", token)
            except _Folder as made:
                self.discard()
                raise UnwritableOutput(f"无法写入“{made}”：这是一个文件夹；原有的文件都没有改动",
                                       code="unwritable") from None
            current = ""
            placed = 0  # entries before this one have their new file in place
            try:
                for seq, (current, _, direct) in enumerate(entries):
                    if direct is None and os.path.lexists(current):
                        os.replace(current, _aside(current, token, seq))
                for seq, (current, staged, _) in enumerate(entries):
                    if staged is not None:
                        os.replace(staged, current)
                    placed = seq + 1
                for current, _, direct in entries if entries.direct else ():
                    if direct is not None:
                        _write_direct(current, direct)
            except OSError as exc:
                _undo(entries, token, placed)
                self._unlog()
                self.discard()
                raise unwritable(Path(current), exc, undone=True) from None
            self._entries = _Entries(self._home)
            try:
                try:
                    self._log(entries, "done", token)
                except UnwritableOutput:
                    self._unlog()
                with suppress(OSError):
                    for seq, (target, _, direct) in enumerate(entries):
                        if direct is None:
                            with suppress(OSError):
                                os.unlink(_aside(target, token, seq))
            finally:
                entries.close()
            self._unlog()

    def discard(self) -> None:
        """Delete every staged temporary file that was not committed."""
        entries, self._entries = self._entries, _Entries(self._home)
        try:
            with suppress(OSError):
                for _, staged, _ in entries:
                    _drop_temp(staged)
        finally:
            entries.close()

    def _log(self, entries: Iterable[_Row], state: str, token: str) -> None:
        """Write the journal: a line with ``state`` and ``token``, then one line per entry
        (``entries`` are gone through also when there is no journal)."""
        if self.journal is None:
            for _ in entries:
                pass
            return
        tmp = self.journal.with_name(self.journal.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as out:
                out.write(json.dumps({"state": state, "token": token}) + "\n")
                for target, staged, direct in entries:
                    line = {"target": target, **({"direct": True} if direct is not None
                                                 else {"staged": staged})}
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.journal)
        except BaseException as exc:
            _unlink(tmp)
            if isinstance(exc, OSError):
                raise unwritable(self.journal.parent, exc, undone=True) from None
            raise

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
    """Undo a commit that was killed before it finished (or finish its clean-up if it was done).

    The journal is read twice, a line at a time: once to check it is whole, then to act on it.
    A journal of an older version (one JSON object) is recovered as it was then.
    """
    try:
        with open(journal, encoding="utf-8") as log:
            head = json.loads(log.readline())
            single = isinstance(head, dict) and isinstance(head.get("entries"), list)
            if single:
                entries = _single(head)
            else:
                state, token = head["state"], head["token"]
                if not isinstance(token, str):
                    raise TypeError(token)
                for line in log:
                    _logged(json.loads(line))
    except (OSError, ValueError, KeyError, TypeError):
        return
    if single:
        _recover_single(head.get("state") == "done", entries)
    else:
        with suppress(OSError), open(journal, encoding="utf-8") as log:
            log.readline()
            for seq, line in enumerate(log):
                target, staged, direct = _logged(json.loads(line))
                if not direct:
                    _recover_one(state == "done", target, staged, _aside(target, token, seq))
    _unlink(journal)


def _recover_one(done: bool, target: str, staged: str | None, aside: str | None) -> None:
    """Delete the old file of a commit that was done, else put the target back as it was."""
    if done:
        if aside is not None:
            _unlink(aside)
        return
    placed = staged is not None and not os.path.exists(staged) and os.path.exists(target)
    _put_back(target, staged, aside, placed)
    _drop_temp(staged)


def _logged(line: Any) -> tuple[str, str | None, bool]:
    """One entry line of a journal: target, staged file, whether it was written in place."""
    target, staged = line["target"], line.get("staged")
    if not isinstance(target, str) or not isinstance(staged, (str, type(None))):
        raise TypeError(line)
    return target, staged, line.get("direct") is True


def _single(logged: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """The entries of a journal written as one JSON object (older versions)."""
    entries = [(e["target"], e["staged"], e["aside"]) for e in logged["entries"]]
    if not all(isinstance(e[0], str) and isinstance(e[1], (str, type(None)))
               and isinstance(e[2], (str, type(None))) for e in entries):
        raise TypeError(logged)
    return entries


def _recover_single(done: bool, entries: list[tuple[str, str | None, str | None]]) -> None:
    for target, staged, aside in reversed(entries):
        _recover_one(done, target, staged, aside)


class _Folder(Exception):
    """A target of a commit is a folder (made since it was given)."""


def _no_folder(entries: _Entries) -> Iterator[_Row]:
    """``entries``, raising :class:`_Folder` at a target that is a folder."""
    for row in entries:
        if os.path.isdir(row[0]) and not os.path.islink(row[0]):
            raise _Folder(row[0])
        yield row


def _undo(entries: _Entries, token: str, placed: int) -> None:
    """Put every target of a failed commit back as it was (the first ``placed`` entries have
    their new file in place)."""
    with suppress(OSError):
        for seq, (target, staged, direct) in enumerate(entries):
            if direct is None:
                _put_back(target, staged, _aside(target, token, seq), seq < placed)


def _put_back(target: str, staged: str | None, aside: str | None, placed: bool) -> None:
    """Move a target's new file back to ``staged`` (if ``placed``), and its old one back."""
    with suppress(OSError):
        if placed and staged is not None:
            os.replace(target, staged)
        if aside is not None and os.path.lexists(aside):
            os.replace(aside, target)


def _aside(target: str, token: str, seq: int) -> str:
    """Where the commit ``token`` moves the old file of its ``seq``-th target meanwhile."""
    return os.path.join(os.path.dirname(target), f"{TEMP_PREFIX}{token}-{seq}.old")


def _drop_temp(staged: str | None) -> None:
    """Delete ``staged`` if it is a temporary file :meth:`Outputs.write` made."""
    if staged is not None and os.path.basename(staged).startswith(TEMP_PREFIX):
        _unlink(staged)


def _unlink(path: str | Path) -> None:
    with suppress(OSError):
        os.unlink(path)


def _twice(path: Path) -> UsageError:
    return UsageError(f"“{path}”被指定为两个不同的输出文件，请分别给出文件名", code="output_twice")


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


def _write_direct(path: str, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)


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
