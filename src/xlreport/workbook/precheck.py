"""Cheap pre-check of an input workbook before any parser touches it.

:func:`precheck` refuses missing, empty, oversized, legacy (.xls/.et), password-protected, foreign,
damaged and zip-bomb files with an :class:`~xlreport.errors.UnreadableInput` whose ``code`` says
which, and whose message tells the clerk what to do.  It reads the file once (bounded by
:attr:`Limits.max_file_bytes`) and inflates nothing but a tiny ``mimetype`` member.
:func:`vetted` does the same and hands over what it read — the bytes and the parsed zip directory —
so that a reader never reads or parses the file a second time.

:func:`open_member` is how a reader must then read a member: in chunks, refusing more inflated bytes
than its limit, whatever the zip headers declare.  :func:`stored_span` locates a member's stored
bytes in the file for a reader that inflates them itself.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UnreadableInput, os_reason

MB = 1024 * 1024

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_OLE_DIR_ENTRY = 128
_CENTRAL_DIR_SIG = b"PK\x01\x02"
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
#: General-purpose flags zipfile refuses or needs a password for: encrypted, patched, strong
#: encryption.
_SPECIAL_FLAGS = 0x01 | 0x20 | 0x40
_UTF8_NAME = 0x800
_REQUIRED = ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_CHUNK = 64 * 1024
_RESAVE = "请用 Excel 或 WPS 打开报表模板填写，另存为 .xlsx 后重新提交"


@dataclass(frozen=True)
class Limits:
    """Bounds on what may be read at all; tighten them for tests or a stricter service."""

    max_file_bytes: int = 20 * MB
    max_member_bytes: int = 50 * MB
    max_total_bytes: int = 200 * MB
    max_ratio: float = 200.0
    ratio_min_bytes: int = 1 * MB
    max_members: int = 10_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Vetted:
    """A pre-checked workbook: the file's bytes and its open zip directory (the caller closes it)."""

    data: bytes
    zf: zipfile.ZipFile


def looks_like_workbook(path: Path) -> bool:
    """Whether ``path`` is to be read as a workbook rather than JSON: a zip or OLE file (an .xlsx,
    or an .xls/encrypted file :func:`precheck` will explain), or, unreadable, not named .json."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return Path(path).suffix.lower() != ".json"
    return head.startswith((b"PK", _OLE_MAGIC[:4]))


def precheck(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise :class:`UnreadableInput` unless ``path`` looks like a sane .xlsx workbook."""
    vetted(path, limits=limits).zf.close()


def vetted(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> Vetted:
    """:func:`precheck` ``path`` and return what was read: its bytes and its zip directory."""
    data = _read(path, limits)
    name = path.name
    if data.startswith(_OLE_MAGIC):
        _refuse_ole(data, name)
    if not data.startswith(b"PK"):
        raise _not_excel(name, _foreign_kind(data))
    return Vetted(data, _check_zip(data, name, limits))


def stored_span(data: bytes, info: zipfile.ZipInfo) -> tuple[int, int] | None:
    """Where member ``info``'s stored bytes are in ``data`` (the whole file), if zipfile would open
    it without a password or an unusual method: its local header is in place and names the same
    file.  None where only :meth:`zipfile.ZipFile.open` can tell (and then refuse)."""
    at = info.header_offset
    if info.flag_bits & _SPECIAL_FLAGS or info.compress_type not in (
        zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    ) or not 0 <= at <= len(data) - _LOCAL_HEADER.size:
        return None
    signature, name_len, extra_len = _LOCAL_HEADER.unpack_from(data, at)
    flags = int.from_bytes(data[at + 6 : at + 8], "little")
    start = at + _LOCAL_HEADER.size + name_len + extra_len
    end = start + info.compress_size
    raw_name = data[at + _LOCAL_HEADER.size : at + _LOCAL_HEADER.size + name_len]
    try:
        local_name = raw_name.decode("utf-8" if flags & _UTF8_NAME else "cp437")
    except UnicodeDecodeError:
        return None
    # zipfile (3.11.8 and later) refuses a member whose data runs into the next one.
    limit = getattr(info, "_end_offset", None)
    if (signature != _LOCAL_SIGNATURE or local_name != info.orig_filename or end > len(data)
            or (limit is not None and end > limit)):
        return None
    return start, end


def open_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Return member ``name`` inflated, refusing (``zip_bomb``) more than ``limit`` bytes."""
    label = Path(zf.filename).name if zf.filename else "工作簿"
    chunks: list[bytes] = []
    total = 0
    try:
        with zf.open(name) as member:
            while chunk := member.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise _zip_bomb(label, f"中的 {name} 解压后超过 {_size(limit)}")
                chunks.append(chunk)
    except KeyError:
        raise _damaged(label, f"缺少 {name}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise _damaged(label, f"{name} 无法解压") from exc
    return b"".join(chunks)


def _read(path: Path, limits: Limits) -> bytes:
    """Return the whole file, refusing missing, non-regular, empty and oversized files."""
    name = path.name
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise UnreadableInput(
                f"“{name}”是文件夹而不是文件，请选择其中的 .xlsx 报表文件", code="not_found"
            )
        if not stat.S_ISREG(mode):
            raise UnreadableInput(
                f"“{name}”不是普通文件，请选择保存在磁盘上的 .xlsx 报表文件", code="not_found"
            )
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(limits.max_file_bytes + 1) if size <= limits.max_file_bytes else b""
    except FileNotFoundError:
        raise UnreadableInput(
            f"找不到文件“{name}”，请检查文件名和所在文件夹", code="not_found"
        ) from None
    except PermissionError:
        raise UnreadableInput(
            f"没有权限读取文件“{name}”，请检查文件权限或将其复制到自己的文件夹后重试",
            code="not_found",
        ) from None
    except OSError as exc:
        raise UnreadableInput(
            f"无法读取文件“{name}”（{os_reason(exc)}），请检查文件是否存在且可以打开",
            code="not_found",
        ) from exc
    if size <= limits.max_file_bytes:  # the file may have changed since fstat
        size = len(data)
    if size == 0:
        raise UnreadableInput(
            f"文件“{name}”是空文件（0 字节），请在 Excel 或 WPS 中重新保存后提交", code="empty"
        )
    if size > limits.max_file_bytes:
        raise UnreadableInput(
            f"文件“{name}”大小为 {_size(size)}，超过上限 {_size(limits.max_file_bytes)}，"
            "请删除多余的工作表、图片和空行后重新保存再提交",
            code="too_large",
        )
    return data


def _refuse_ole(data: bytes, name: str) -> None:
    """Refuse an OLE2 compound file: encrypted xlsx, Word .doc, or legacy .xls/.et."""
    if _has_ole_entry(data, "EncryptedPackage"):
        raise UnreadableInput(
            f"文件“{name}”设置了打开密码，请取消打开密码后重新保存，再重新提交", code="encrypted"
        )
    if _has_ole_entry(data, "WordDocument"):
        raise _not_excel(name, "旧版 Word 文档（.doc）")
    raise UnreadableInput(
        f"文件“{name}”是旧版 Excel（.xls）或 WPS（.et）格式，"
        "请在 Excel 或 WPS 中另存为 .xlsx 后重新提交",
        code="xls",
    )


def _has_ole_entry(data: bytes, entry: str) -> bool:
    """Whether an OLE directory entry (128-byte aligned, with its name length) names ``entry``."""
    needle = entry.encode("utf-16-le") + b"\0\0"
    length = struct.pack("<H", len(needle))
    at = data.find(needle)
    while at != -1:
        if at % _OLE_DIR_ENTRY == 0 and data[at + 64 : at + 66] == length:
            return True
        at = data.find(needle, at + 1)
    return False


def _foreign_kind(data: bytes) -> str:
    """Name, for the clerk, what a file that is neither zip nor OLE seems to be."""
    head = data[:512]
    if head.startswith(b"%PDF"):
        return "PDF 文件"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "图片"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return "网页（HTML）或 XML 格式的表格（常见于业务系统导出的“.xls”）"
    if b"\0" not in head:
        return "纯文本或 CSV 文件"
    return "其他格式的文件"


def _check_zip(data: bytes, name: str, limits: Limits) -> zipfile.ZipFile:
    """Refuse a zip that is a bomb, not a workbook, or structurally damaged; return it open."""
    # An upper bound on the entries zipfile would parse: parsing 300,000 of them takes 2 s.
    count = data.count(_CENTRAL_DIR_SIG)
    if count > limits.max_members:
        raise _zip_bomb(name, f"包含约 {count:,} 个压缩成员（上限 {limits.max_members:,} 个）")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError) as exc:
        raise _damaged(name, "不是完整的 zip 结构，可能下载或复制时被截断") from exc
    try:
        infos = zf.infolist()
        _check_sizes(infos, name, limits)
        names = {info.filename for info in infos}
        if "word/document.xml" in names:
            raise _not_excel(name, "Word 文档")
        if _mimetype(zf, names) == _ODS_MIMETYPE:
            raise _not_excel(
                name,
                "OpenDocument 表格（.ods）",
                "请在 WPS、LibreOffice 或 Excel 中打开并另存为 .xlsx 后重新提交",
            )
        if not any(n.startswith("xl/") for n in names):
            raise _not_excel(
                name,
                "zip 压缩包或其他格式的文档",
                "如果是压缩包，请解压后提交其中的 .xlsx 文件；否则" + _RESAVE,
            )
        missing = [n for n in _REQUIRED if n not in names]
        if missing:
            raise _damaged(name, f"缺少 {'、'.join(missing)}")
        _check_members(zf, data, infos, name)
    except BaseException:
        zf.close()
        raise
    return zf


def _check_sizes(infos: list[zipfile.ZipInfo], name: str, limits: Limits) -> None:
    """Refuse declared member sizes, total size or compression ratios over the limits."""
    total = 0
    for info in infos:
        size = info.file_size
        if size > limits.max_member_bytes:
            raise _zip_bomb(
                name,
                f"中的 {info.filename} 解压后有 {_size(size)}"
                f"（上限 {_size(limits.max_member_bytes)}）",
            )
        if size > limits.ratio_min_bytes and size > limits.max_ratio * max(info.compress_size, 1):
            ratio = size // max(info.compress_size, 1)
            raise _zip_bomb(
                name,
                f"中的 {info.filename} 压缩比为 {ratio:,}:1（上限 {limits.max_ratio:g}:1）",
            )
        total += size
    if total > limits.max_total_bytes:
        raise _zip_bomb(name, f"解压后共有 {_size(total)}（上限 {_size(limits.max_total_bytes)}）")


def _mimetype(zf: zipfile.ZipFile, names: set[str]) -> bytes:
    """The OpenDocument ``mimetype`` member, or ``b""`` if absent or implausibly large."""
    if "mimetype" not in names or zf.getinfo("mimetype").file_size > 256:
        return b""
    return open_member(zf, "mimetype", 256).strip()


def _check_members(
    zf: zipfile.ZipFile, data: bytes, infos: list[zipfile.ZipInfo], name: str
) -> None:
    """Check every member's local header and data extent without inflating anything (zipfile
    opens a member only where :func:`stored_span` cannot vouch for it)."""
    for info in infos:
        detail = f"{info.filename} 的数据有误"
        if stored_span(data, info) is None:
            try:
                zf.open(info).close()
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as exc:
                raise _damaged(name, detail) from exc
        _, name_len, extra_len = _LOCAL_HEADER.unpack_from(data, info.header_offset)
        end = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + info.compress_size
        # Deflate never expands data by more than a few bytes per 64 KB block.
        inflated_too_small = info.compress_size > info.file_size + info.file_size // 100 + 1024
        if end > len(data) or inflated_too_small:
            raise _damaged(name, detail)


def _size(n: int) -> str:
    """A byte count for people: ``20.0 MB``, ``512.0 KB`` or ``300 字节``."""
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} 字节"


def _not_excel(name: str, kind: str, advice: str = _RESAVE) -> UnreadableInput:
    return UnreadableInput(
        f"文件“{name}”不是 Excel 工作簿（.xlsx），而是{kind}；{advice}", code="not_excel"
    )


def _damaged(name: str, detail: str) -> UnreadableInput:
    return UnreadableInput(
        f"文件“{name}”已损坏或不完整（{detail}），请在 Excel 或 WPS 中重新保存后提交",
        code="damaged",
    )


def _zip_bomb(name: str, detail: str) -> UnreadableInput:
    return UnreadableInput(
        f"文件“{name}”{detail}，超出安全上限，可能是异常或恶意构造的文件，已拒绝读取；"
        "请在 Excel 或 WPS 中重新保存后提交",
        code="zip_bomb",
    )
