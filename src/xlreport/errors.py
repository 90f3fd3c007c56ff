"""Exceptions for things that stop the work: a broken spec, an unreadable input.

Problems in the *data* of a report are not exceptions; they are
:class:`~xlreport.checks.problems.Problem` records collected in a list.  Every exception here
carries a one-line Chinese message meant for the person at the keyboard and a code from
:data:`xlreport.codes.REFUSALS`; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import errno


class XlreportError(Exception):
    """Base class: ``str(error)`` is a complete Chinese sentence for the user."""

    exit_code = 2
    #: The code when none is given.
    default_code = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class SpecError(XlreportError):
    """A spec file (an edition) is malformed; the message names the file and the place in it."""

    default_code = "spec"


class UnreadableInput(XlreportError):
    """An input file cannot be read: not JSON, not xlsx, damaged, hostile, foreign."""

    default_code = "damaged"


class UsageError(XlreportError):
    """The command line asks for something impossible (unknown edition, conflicting options)."""

    default_code = "usage"


class UnwritableOutput(XlreportError):
    """An output file cannot be written (no permission, read-only, disk full, open elsewhere)."""

    default_code = "unwritable"


#: What an operating-system error means, by errno name, for the person at the keyboard.
_OS_REASONS = {
    "EACCES": "没有权限",
    "EPERM": "没有权限",
    "EROFS": "所在的磁盘或文件夹是只读的",
    "ENOSPC": "磁盘空间已满",
    "EDQUOT": "磁盘配额已用完",
    "ENOENT": "文件或文件夹不存在",
    "EISDIR": "这是一个文件夹，不是文件",
    "ENOTDIR": "路径中有一部分是文件，不是文件夹",
    "ELOOP": "符号链接循环",
    "ENAMETOOLONG": "文件名太长",
    "EBUSY": "文件正在被其他程序使用",
    "ETXTBSY": "文件正在被其他程序使用",
    "EEXIST": "已经存在同名的文件或文件夹",
    "EINVAL": "文件名中有不允许的字符",
    "EMFILE": "同时打开的文件太多",
    "ENFILE": "同时打开的文件太多",
    "EIO": "读写磁盘时出错（磁盘或网络连接可能有问题）",
    "EFBIG": "文件太大",
    "EXDEV": "不能跨磁盘移动文件",
}


def os_reason(exc: OSError) -> str:
    """The Chinese name of an operating-system error (its class, never the English text)."""
    name = errno.errorcode.get(exc.errno or 0, "")
    if name in _OS_REASONS:
        return _OS_REASONS[name]
    if isinstance(exc, PermissionError):
        return "没有权限"
    return f"操作系统报告错误（错误号 {exc.errno}）" if exc.errno else "操作系统报告错误"
