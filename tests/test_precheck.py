"""Tests for the input pre-check; every file is built here, in a temporary directory."""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from xlreport.errors import UnreadableInput
from xlreport.workbook.precheck import MB, Limits, open_member, precheck

CODES = {"not_found", "empty", "too_large", "xls", "encrypted", "not_excel", "damaged", "zip_bomb"}
ZEROS = bytes(MB)


def _refused(path: Path, code: str, phrase: str, limits: Limits | None = None) -> str:
    """Assert that ``path`` is refused with ``code`` and a message holding ``phrase``."""
    with pytest.raises(UnreadableInput) as info:
        precheck(path) if limits is None else precheck(path, limits=limits)
    message = str(info.value)
    assert info.value.code == code, message
    assert phrase in message
    assert path.name in message
    assert "\n" not in message
    return message


def _make_xlsx(path: Path) -> Path:
    """An ordinary filled workbook of ~30 KB (4,400 numbers, 400 Chinese labels)."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("统计表")
    for row in range(400):
        sheet.write(row, 0, f"第{row}项 政府信息公开申请情况 {row * 7919}")
        for col in range(1, 12):
            sheet.write_number(row, col, row * col + 0.5)
    workbook.close()
    return path


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _ole(*entries: str, tail: bytes = b"") -> bytes:
    """A fake OLE2 file: the signature, a blank header and one directory sector."""
    directory = b""
    for entry in ("Root Entry", *entries):
        name = entry.encode("utf-16-le") + b"\0\0"
        directory += name.ljust(64, b"\0") + struct.pack("<H", len(name)) + bytes(62)
    header = bytes.fromhex("D0CF11E0A1B11AE1").ljust(512, b"\0")
    return header + directory.ljust(512, b"\0") + tail


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


@pytest.fixture(scope="module")
def valid(corpus: Path) -> Path:
    return _make_xlsx(corpus / "valid.xlsx")


@pytest.fixture(scope="module")
def bomb(corpus: Path, valid: Path) -> Path:
    """An xlsx whose sheet inflates from ~300 KB to 300 MB of zeros, written in 1 MB chunks."""
    path = corpus / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _members(valid).items():
            if name != "xl/worksheets/sheet1.xml":
                zf.writestr(name, data)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(ZEROS)
    return path


def test_valid_xlsx_passes(valid: Path) -> None:
    precheck(valid)


def test_valid_xlsx_is_cheap(valid: Path) -> None:
    runs = []
    for _ in range(50):
        start = time.perf_counter()
        precheck(valid)
        runs.append(time.perf_counter() - start)
    assert sorted(runs)[len(runs) // 2] < 0.02


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "无此文件.xlsx", "not_found", "找不到文件")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "报表.xlsx"
    folder.mkdir()
    _refused(folder, "not_found", "是文件夹")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(valid: Path, tmp_path: Path) -> None:
    path = tmp_path / "locked.xlsx"
    path.write_bytes(valid.read_bytes())
    path.chmod(0)
    _refused(path, "not_found", "没有权限")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.touch()
    _refused(path, "empty", "空文件")


def test_too_large(valid: Path) -> None:
    limit = valid.stat().st_size - 1
    message = _refused(valid, "too_large", "超过上限", Limits(max_file_bytes=limit))
    assert f"{limit / 1024:.1f} KB" in message


@pytest.mark.parametrize(
    ("head", "phrase"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF 文件"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "图片"),
        ("单位,申请数\n某某乡,3\n".encode(), "CSV"),
        ("\ufeff<html><table><tr><td>申请</td></tr></table>".encode(), "网页（HTML）"),
        (
            b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
            "XML 格式的表格",
        ),
        (b"\x7fELF\x02\x01\x01\0\0\0", "其他格式"),
    ],
)
def test_foreign_files(tmp_path: Path, head: bytes, phrase: str) -> None:
    path = tmp_path / "报表.xlsx"
    path.write_bytes(head)
    message = _refused(path, "not_excel", phrase)
    assert "另存为 .xlsx" in message


def test_legacy_xls(tmp_path: Path) -> None:
    path = tmp_path / "报表.xls"
    path.write_bytes(_ole("Workbook", "\x05SummaryInformation"))
    _refused(path, "xls", "另存为 .xlsx")


def test_legacy_xls_mentioning_encryptedpackage_in_a_cell(tmp_path: Path) -> None:
    path = tmp_path / "报表.et"
    path.write_bytes(_ole("Workbook", tail=b"\0\0\0" + "EncryptedPackage".encode("utf-16-le")))
    _refused(path, "xls", "WPS（.et）")


def test_encrypted_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "加密.xlsx"
    path.write_bytes(_ole("\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"))
    _refused(path, "encrypted", "取消打开密码")


def test_word_doc(tmp_path: Path) -> None:
    path = tmp_path / "报表.xlsx"
    path.write_bytes(_ole("WordDocument", "1Table"))
    _refused(path, "not_excel", "Word 文档（.doc）")


def test_truncated_xlsx(valid: Path, tmp_path: Path) -> None:
    path = tmp_path / "半截.xlsx"
    data = valid.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(path, "damaged", "已损坏或不完整")


def test_missing_workbook_xml(valid: Path, tmp_path: Path) -> None:
    members = _members(valid)
    del members["xl/workbook.xml"]
    message = _refused(_write_zip(tmp_path / "缺.xlsx", members), "damaged", "重新保存后提交")
    assert "xl/workbook.xml" in message


def test_corrupt_local_header(valid: Path, tmp_path: Path) -> None:
    data = bytearray(valid.read_bytes())
    with zipfile.ZipFile(valid) as zf:
        offset = zf.getinfo("xl/workbook.xml").header_offset
    data[offset : offset + 4] = b"XXXX"
    path = tmp_path / "坏.xlsx"
    path.write_bytes(bytes(data))
    _refused(path, "damaged", "已损坏或不完整")


def test_docx(tmp_path: Path) -> None:
    members = {
        "[Content_Types].xml": b"<Types/>",
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document/>",
    }
    _refused(_write_zip(tmp_path / "报表.xlsx", members), "not_excel", "Word 文档")


def test_ods(tmp_path: Path) -> None:
    path = tmp_path / "报表.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", b"<office:document-content/>", zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", b"<manifest:manifest/>", zipfile.ZIP_DEFLATED)
    message = _refused(path, "not_excel", "OpenDocument 表格（.ods）")
    assert "另存为 .xlsx" in message


def test_zip_holding_an_xlsx(valid: Path, tmp_path: Path) -> None:
    path = _write_zip(tmp_path / "报表.zip", {"报表.xlsx": valid.read_bytes()})
    _refused(path, "not_excel", "解压")


def test_zip_bomb_is_refused_fast_in_little_memory(bomb: Path) -> None:
    assert bomb.stat().st_size < 2 * MB
    start = time.perf_counter()
    message = _refused(bomb, "zip_bomb", "超出安全上限")
    assert time.perf_counter() - start < 1.0
    assert "300.0 MB" in message
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableInput):
            precheck(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * MB


def test_compression_ratio(valid: Path, tmp_path: Path) -> None:
    members = _members(valid) | {"xl/media/image1.png": ZEROS * 2}
    path = _write_zip(tmp_path / "高压缩比.xlsx", members)
    _refused(path, "zip_bomb", "压缩比")


def test_total_size(valid: Path) -> None:
    _refused(valid, "zip_bomb", "解压后共有", Limits(max_total_bytes=10_000))


def test_too_many_members(valid: Path, tmp_path: Path) -> None:
    members = _members(valid) | {f"xl/media/image{i}.png": b"" for i in range(30)}
    path = _write_zip(tmp_path / "成员多.xlsx", members)
    precheck(path)
    _refused(path, "zip_bomb", "压缩成员", Limits(max_members=20))


def _lie_about_size(path: Path, name: str, size: int) -> None:
    """Patch the local and central headers of ``name`` to declare ``size`` inflated bytes."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(name).header_offset
    central = data.rfind(name.encode()) - 46
    assert data[central : central + 4] == b"PK\x01\x02"
    data[local + 22 : local + 26] = struct.pack("<I", size)
    data[central + 24 : central + 28] = struct.pack("<I", size)
    path.write_bytes(bytes(data))


def test_declared_size_lies(valid: Path, tmp_path: Path) -> None:
    sheet = "xl/worksheets/sheet1.xml"
    members = _members(valid)
    members[sheet] = members[sheet] + ZEROS * 10
    path = _write_zip(tmp_path / "说谎.xlsx", members)
    _lie_about_size(path, sheet, 1000)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo(sheet).file_size == 1000
    _refused(path, "damaged", "数据有误")
    with zipfile.ZipFile(path) as zf, pytest.raises(UnreadableInput) as info:
        open_member(zf, sheet, 50 * MB)
    assert info.value.code == "damaged"


def test_open_member_reads_within_limit(valid: Path) -> None:
    with zipfile.ZipFile(valid) as zf:
        assert open_member(zf, "xl/workbook.xml", MB).startswith(b"<?xml")


def test_open_member_stops_at_limit(bomb: Path) -> None:
    tracemalloc.start()
    try:
        with zipfile.ZipFile(bomb) as zf, pytest.raises(UnreadableInput) as info:
            open_member(zf, "xl/worksheets/sheet1.xml", 5 * MB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.code == "zip_bomb"
    assert "bomb.xlsx" in str(info.value)
    assert peak < 20 * MB


def test_open_member_missing(valid: Path) -> None:
    with zipfile.ZipFile(valid) as zf, pytest.raises(UnreadableInput) as info:
        open_member(zf, "xl/vbaProject.bin", MB)
    assert info.value.code == "damaged"


def test_macros_are_not_refused(valid: Path, tmp_path: Path) -> None:
    members = _members(valid) | {"xl/vbaProject.bin": bytes(range(256)) * 4}
    precheck(_write_zip(tmp_path / "宏.xlsm", members))


@pytest.fixture(scope="module")
def header_bytes(valid: Path) -> list[int]:
    """Positions of the local headers and of the central directory of the valid workbook."""
    data = valid.read_bytes()
    with zipfile.ZipFile(valid) as zf:
        local = [info.header_offset + k for info in zf.infolist() for k in range(30)]
    return local + list(range(data.find(b"PK\x01\x02"), len(data)))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutations_are_passed_or_refused(
    valid: Path, corpus: Path, header_bytes: list[int], data: st.DataObject
) -> None:
    mutant = bytearray(valid.read_bytes())
    position = st.one_of(st.sampled_from(header_bytes), st.integers(0, len(mutant) - 1))
    for at, byte in data.draw(st.lists(st.tuples(position, st.integers(0, 255)), max_size=4)):
        mutant[at] = byte
    cut = data.draw(st.one_of(st.just(len(mutant)), st.integers(1, len(mutant))))
    path = corpus / "mutant.xlsx"
    path.write_bytes(bytes(mutant[:cut]))
    try:
        precheck(path)
    except UnreadableInput as err:
        assert err.code in CODES
