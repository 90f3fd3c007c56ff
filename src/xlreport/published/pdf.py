"""PDF: the DOCX of the report converted by LibreOffice (``soffice --headless --convert-to pdf``).

LibreOffice lays the Word file out the way an office suite does (fonts, table widths, repeated
heading rows, page numbers), so the PDF is the DOCX as printed and needs no PDF library or
bundled fonts.  Each conversion runs in its own temporary folder with its own LibreOffice
profile (so it neither waits for nor disturbs an office the user has open) and a time limit;
the office's process group is ended when the conversion ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..errors import XlreportError

TIMEOUT = 180.0
_INSTALL = (
    "生成 PDF 需要 LibreOffice，但这台电脑上找不到 soffice 命令。请安装 LibreOffice"
    "（Ubuntu/Debian：sudo apt-get install libreoffice-writer；Windows、macOS："
    "从 https://zh-cn.libreoffice.org 下载安装，并把安装目录中的 program 文件夹加入 PATH），"
    "或者改为生成 Word 文件（-o 报告.docx）后自行另存为 PDF"
)


class ConverterMissing(XlreportError):
    """LibreOffice is not installed: no PDF can be made here."""


def soffice() -> str:
    """The LibreOffice command, or :class:`ConverterMissing` explaining how to install it."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise ConverterMissing(_INSTALL, code="no_soffice")
    return found


def from_docx(data: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """The PDF of the DOCX file ``data``."""
    command = soffice()
    with tempfile.TemporaryDirectory(prefix="xlreport-pdf-") as tmp:
        work = Path(tmp)
        source = work / "report.docx"
        source.write_bytes(data)
        args = [
            command,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless", "--invisible", "--norestore", "--nologo", "--nolockcheck",
            "--convert-to", "pdf", "--outdir", str(work), str(source),
        ]
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=work,
            start_new_session=True,
        )
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise XlreportError(
                f"LibreOffice 在 {timeout:.0f} 秒内没有把报告转换成 PDF；请关闭其他 LibreOffice 窗口后重试，"
                "或者生成 Word 文件（-o 报告.docx）后自行另存为 PDF",
                code="pdf_timeout",
            ) from None
        finally:
            _end(proc)
        result = work / "report.pdf"
        if proc.returncode != 0 or not result.is_file():
            said = output.decode("utf-8", "replace").strip().splitlines()[-1:] if output else []
            raise XlreportError(
                f"LibreOffice 没能把报告转换成 PDF（退出码 {proc.returncode}"
                f"{'：' + said[0] if said else ''}）；可以生成 Word 文件（-o 报告.docx）后自行另存为 PDF",
                code="pdf_failed",
            )
        return result.read_bytes()


def _end(proc: subprocess.Popen[bytes]) -> None:
    """End the office and whatever it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError, AttributeError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
