"""A corpus of broken, hostile and tampered workbooks, built here, each with its exact outcome.

Every case is read in-process (asserting the error code and the message) and through the real
``xlreport read`` in a subprocess (exit 2, one line on stderr, nothing on stdout, no traceback).
"""

from __future__ import annotations

import re
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from conftest import example, run_cli
from support import workbooks
from xlreport import edition as spec
from xlreport.checks import report
from xlreport.errors import UnreadableInput
from xlreport.workbook import template
from xlreport.workbook.layout import META_SHEET, TEMPLATE_ID
from xlreport.workbook.reader import read_workbook


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


@dataclass(frozen=True)
class Files:
    """What the cases are made from: a fresh template (xlsxwriter: shared strings, cached
    results) and the 平潭 2021 report typed into it with openpyxl (inline strings, no caches)."""

    blank: Path
    filled: Path


@pytest.fixture(scope="module")
def files(folder: Path) -> Files:
    sp = spec.builtin("2021")
    blank = template.build(sp, folder / "模板.xlsx")
    flat = report.flatten(example("pingtan_2021"), sp)
    values = {k: v for k, v in flat.items() if v is not None and not sp.cell(k).computed}
    return Files(blank, workbooks.fill(blank, folder / "平潭.xlsx", values))


# --------------------------------------------------------------------------- builders


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _zip(dst: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


def _ole(*entries: str) -> bytes:
    """A minimal OLE2 compound file: signature, blank header, one directory sector."""
    directory = b""
    for entry in ("Root Entry", *entries):
        name = entry.encode("utf-16-le") + b"\0\0"
        directory += name.ljust(64, b"\0") + struct.pack("<H", len(name)) + bytes(62)
    return bytes.fromhex("D0CF11E0A1B11AE1").ljust(512, b"\0") + directory.ljust(512, b"\0")


STRINGS = "xl/sharedStrings.xml"
WORKBOOK = "xl/workbook.xml"
TABLE3 = "三、依申请公开"
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _with_prolog(prolog: str, entity: str | None = None) -> Callable[[str], str]:
    def change(xml: str) -> str:
        body = re.sub(r"^<\?xml[^>]*\?>\s*", "", xml)
        if entity:
            body = re.sub(r"<t>[^<]*</t>", f"<t>&{entity};</t>", body, count=1)
        return prolog + body

    return change


def _rows(count: int) -> bytes:
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (r, r) for r in range(1, count + 1))
    return (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheetData>" + rows + b"</sheetData></worksheet>")


def _set_meta(key: str, value: str | None) -> Callable[[openpyxl.Workbook], None]:
    def change(book: openpyxl.Workbook) -> None:
        sheet = book[META_SHEET]
        for row in sheet.iter_rows(min_col=1, max_col=2):
            if row[0].value == key:
                row[1].value = value
                return
        raise AssertionError(f"no {key} in the metadata")

    return change


def _sheet_of(key: str) -> str:
    return spec.builtin("2021").cell(key).sheet


def _insert_row(shift_names: bool) -> Callable[[openpyxl.Workbook], None]:
    """A row inserted above 二、上年结转 on table 三 (the sheet unprotected first).  Excel and
    LibreOffice move the defined names with the cells; openpyxl does not."""

    def change(book: openpyxl.Workbook) -> None:
        name = _sheet_of("requests.carried_over.natural_person")
        sheet = book[name]
        sheet.protection.sheet = False
        ((_, ref),) = book.defined_names["requests.carried_over.natural_person"].destinations
        row = int(re.sub(r"[^0-9]", "", ref))
        sheet.insert_rows(row)
        if shift_names:
            for defined in book.defined_names.values():
                ((target, cell),) = list(defined.destinations) or [(None, None)]
                if target == name and int(re.sub(r"[^0-9]", "", cell)) >= row:
                    col = re.sub(r"[^A-Z]", "", cell)
                    number = int(re.sub(r"[^0-9]", "", cell)) + 1
                    defined.attr_text = f"'{name}'!${col}${number}"

    return change


def _delete_column(book: openpyxl.Workbook) -> None:
    name = _sheet_of("appeals.review.upheld")
    book[name].protection.sheet = False
    book[name].delete_cols(2)


def _edit_label(book: openpyxl.Workbook) -> None:
    name = _sheet_of("requests.new.natural_person")
    for row in book[name].iter_rows():
        for cell in row:
            if cell.value == "一、本年新收政府信息公开申请数量":
                cell.value = "一、本年收到申请数量"
                return
    raise AssertionError("label not found")


def _rename(book: openpyxl.Workbook) -> None:
    book[_sheet_of("requests.new.natural_person")].title = "依申请公开"


def _delete_sheet(book: openpyxl.Workbook) -> None:
    del book[_sheet_of("appeals.review.upheld")]


def _add_sheet(state: str) -> Callable[[openpyxl.Workbook], None]:
    def change(book: openpyxl.Workbook) -> None:
        sheet = book.create_sheet("草稿")
        sheet["A1"] = "算一下"
        sheet.sheet_state = state

    return change


def _repoint(book: openpyxl.Workbook) -> None:
    name = _sheet_of("requests.new.natural_person")
    book.defined_names["requests.new.natural_person"].attr_text = f"'{name}'!$Z$99"


def _drop_name(book: openpyxl.Workbook) -> None:
    del book.defined_names["requests.new.commercial"]


def _drop_meta(book: openpyxl.Workbook) -> None:
    del book[META_SHEET]


def _plain_workbook(dst: Path) -> Path:
    book = openpyxl.Workbook()
    book.active["A1"] = "填报单位"
    book.save(dst)
    return dst


@dataclass(frozen=True)
class Case:
    """A file made from the filled workbook, how it must be refused, and what the message says."""

    id: str
    make: Callable[[Files, Path], Path]
    code: str
    phrases: tuple[str, ...]
    fast: bool = False


Make = Callable[[Files, Path], Path]


def _edited(change: Callable[[openpyxl.Workbook], None]) -> Make:
    return lambda files, dst: workbooks.edit(files.filled, dst, change)


def _patched(part: str | Callable[[Path], str], change: Any) -> Make:
    """A member of the template rewritten (the template has shared strings)."""

    def make(files: Files, dst: Path) -> Path:
        name = part(files.blank) if callable(part) else part
        return workbooks.patch(files.blank, dst, {name: change})

    return make


def _bytes(data: bytes | Callable[[Path], bytes]) -> Make:
    def make(files: Files, dst: Path) -> Path:
        dst.write_bytes(data(files.filled) if callable(data) else data)
        return dst

    return make


def _bomb(files: Files, dst: Path) -> Path:
    """A sheet padded to 60 MB of spaces (a few KB compressed)."""
    members: dict[str, bytes | str] = dict(_members(files.filled))
    part = workbooks.sheet_part(files.filled, TABLE3)
    members[part] = members[part] + b" " * (60 * 1024 * 1024)
    return _zip(dst, members)


def _huge_sheet(rows: int) -> Make:
    def make(files: Files, dst: Path) -> Path:
        members: dict[str, bytes | str] = dict(_members(files.filled))
        members[workbooks.sheet_part(files.filled, TABLE3)] = _rows(rows)
        return _zip(dst, members)

    return make



CASES = [
    # ---- not a workbook at all, or not one we can open
    Case("missing", lambda files, dst: dst.with_name("没有这个文件.xlsx"), "not_found", ("找不到文件",)),
    Case("empty", _bytes(b""), "empty", ("空文件",)),
    Case("pdf", _bytes(b"%PDF-1.7\n" + bytes(2000)), "not_excel", ("不是 Excel 工作簿", "PDF")),
    Case("csv", _bytes("填报单位,自然人\n某乡,3\n".encode()), "not_excel", ("纯文本或 CSV",)),
    Case("xls", _bytes(_ole("Workbook")), "xls", ("请在 Excel 或 WPS 中另存为 .xlsx 后重新提交",)),
    Case("et", _bytes(_ole("Workbook")), "xls", ("WPS（.et）", "另存为 .xlsx")),
    Case("encrypted", _bytes(_ole("EncryptionInfo", "EncryptedPackage")), "encrypted",
         ("请取消打开密码后重新保存",)),
    Case("truncated", _bytes(lambda src: src.read_bytes()[: len(src.read_bytes()) // 2]), "damaged",
         ("已损坏或不完整",)),
    Case("too_large", _bytes(b"PK\x03\x04" + bytes(21 * 1024 * 1024)), "too_large", ("超过上限 20.0 MB",)),
    Case("zip_bomb", _bomb, "zip_bomb", ("超出安全上限",), fast=True),
    Case("sheet_2m_rows", _huge_sheet(2_000_000), "zip_bomb", ("超出安全上限",), fast=True),
    Case("sheet_400k_rows", _huge_sheet(400_000), "too_large", ("超过上限 16 MB", "请删除报表以外的多余内容"),
         fast=True),
    # ---- XML attacks
    Case("laughs_strings", _patched(STRINGS, _with_prolog(LAUGHS, "lol9")), "hostile",
         (STRINGS, "DTD", "恶意"), fast=True),
    Case("laughs_workbook", _patched(WORKBOOK, _with_prolog(LAUGHS)), "hostile", (WORKBOOK, "DTD"),
         fast=True),
    Case("xxe_sheet", _patched(lambda src: workbooks.sheet_part(src, TABLE3), _with_prolog(XXE)), "hostile",
         ("DTD", "恶意")),
    Case("xxe_strings", _patched(STRINGS, _with_prolog(XXE, "xxe")), "hostile", (STRINGS, "DTD")),
    Case("bad_xml", _patched(STRINGS, lambda xml: xml[: len(xml) // 2]), "damaged",
         (STRINGS, "不是有效的 XML")),
    # ---- not our template
    Case("plain_workbook", lambda files, dst: _plain_workbook(dst), "foreign",
         ("不是用 xlreport 填报模板填写的", "xlreport build")),
    Case("no_metadata", _edited(_drop_meta), "foreign", ("缺少模板信息", "填报模板")),
    Case("foreign_id", _edited(_set_meta("template_id", "某省报表系统")), "foreign",
         ("“某省报表系统”", TEMPLATE_ID, "xlreport build")),
    Case("unknown_edition", _edited(_set_meta("edition", "2030")), "unknown_template",
         ("“2030”年版", "2021、2019")),
    Case("unknown_version", _edited(_set_meta("template_version", "99")), "unknown_template",
         ("未知版本", "“99”", "xlreport build")),
    Case("unknown_layout", _edited(_set_meta("layout_digest", "0" * 64)), "unknown_template",
         (f"2021 年版第“{spec.builtin('2021').template_version}”版模板", "表格布局与该版本不同")),
    # ---- tampered structure
    Case("row_inserted", _edited(_insert_row(shift_names=False)), "tampered",
         (TABLE3, "应为“二、上年结转政府信息公开申请数量”，现在是空白", "这个标签现在在",
          "插入或删除了行、列")),
    Case("row_inserted_names_moved", _edited(_insert_row(shift_names=True)), "tampered",
         (TABLE3, "requests.carried_over.natural_person 应在 D7，现在指向 D8",
          "整体下移了 1 行（插入了行或列）")),
    Case("column_deleted", _edited(_delete_column), "tampered", ("四、复议诉讼", "插入或删除了行、列")),
    Case("label_edited", _edited(_edit_label), "tampered",
         (TABLE3, "A6 应为“一、本年新收政府信息公开申请数量”，现在是“一、本年收到申请数量”",
          "标签文字被修改过")),
    Case("sheet_renamed", _edited(_rename), "tampered", (f"缺少工作表“{TABLE3}”", "多出工作表“依申请公开”")),
    Case("sheet_deleted", _edited(_delete_sheet), "tampered", ("缺少工作表“四、复议诉讼”",)),
    Case("sheet_added", _edited(_add_sheet("visible")), "tampered", ("多出工作表“草稿”",)),
    Case("hidden_sheet_added", _edited(_add_sheet("hidden")), "tampered", ("多出工作表“草稿”",)),
    Case("name_repointed", _edited(_repoint), "tampered",
         ("1 个填报单元格", "requests.new.natural_person 应在 D6，现在指向 Z99", "名称被改动过")),
    Case("name_deleted", _edited(_drop_name), "tampered", ("缺少单元格名称 requests.new.commercial",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_refused_with_a_specific_message(case: Case, files: Files, folder: Path) -> None:
    path = case.make(files, folder / f"{case.id}.{'et' if case.id == 'et' else 'xlsx'}")
    start = time.perf_counter()
    with pytest.raises(UnreadableInput) as info:
        read_workbook(path)
    elapsed = time.perf_counter() - start
    message = info.value.message
    assert info.value.code == case.code, message
    for phrase in case.phrases:
        assert phrase in message, (phrase, message)
    assert path.name in message and "\n" not in message
    if case.fast:
        assert elapsed < 1.0, elapsed
        tracemalloc.start()
        try:
            with pytest.raises(UnreadableInput):
                read_workbook(path)
            assert tracemalloc.get_traced_memory()[1] < 200 * 1024 * 1024
        finally:
            tracemalloc.stop()

    run = run_cli("read", path)
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    assert run.stderr.strip() == f"无法处理：{message}"
    assert "Traceback" not in run.stderr


def test_the_untouched_files_read(files: Files) -> None:
    assert read_workbook(files.filled).valid
    blank = read_workbook(files.blank)
    assert [p.code for p in blank.result.errors] == ["required", "required", *["blank_table"] * 3]
