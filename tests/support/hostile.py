"""A corpus of 200 hostile inputs for ``xlreport import``, each written by a small function.

Families of ten or more: deep HTML nesting, pages of 20 MB to 1 GB, binary garbage under report
names, pasted text that is not a report, DOCX zip bombs (ratio, size, members, lying headers),
DOCX that is not Word or whose XML is hostile, PDFs of thousands of pages or a lying page count,
broken PDFs, PDFs that decompress without end, tables whose spans would fill a huge grid, other
formats under report names, and special files (empty, folders, FIFOs, links to devices).  Every
one must be refused (:class:`xlreport.errors.UnreadableInput`), none imported.
"""

from __future__ import annotations

import os
import random
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

MB = 1024 * 1024
Writer = Callable[[Path], None]
CORPUS: dict[str, Writer] = {}


def _add(name: str, writer: Writer) -> None:
    assert name not in CORPUS, name
    CORPUS[name] = writer


def _bytes(data: bytes) -> Writer:
    return lambda path: path.write_bytes(data)


def _text(text: str) -> Writer:
    return lambda path: path.write_text(text, encoding="utf-8")


def _noise(seed: int, size: int, *, nul: bool = True) -> bytes:
    rng = random.Random(seed)
    data = bytes(rng.randrange(0 if nul else 1, 256) for _ in range(size))
    return data


def _sparse(size: int) -> Writer:
    def write(path: Path) -> None:
        with path.open("wb") as fh:
            fh.truncate(size)

    return write


# --------------------------------------------------------------------------- deep HTML

for i, (open_, close, depth) in enumerate([
    ("<div>", "", 201), ("<span>", "", 1_000), ("<font>", "", 10_000), ("<b>", "", 100_000),
    ("<div>", "", 1_000_000), ("<blockquote>", "", 500), ("<em>", "</em>", 300),
    ("<section>", "", 250), ("<div><span>", "", 400), ("<ul>", "", 201),
    ("<table><tr><td>", "", 100), ("<i>", "", 50_000), ("<u>", "", 2_000),
    ("<strong>", "", 20_000), ("<a>", "", 300), ("<article>", "", 10_000),
]):
    _add(f"deep{i:02d}.html", _text("<html><body>" + open_ * depth + "政府信息公开" + close * depth))

# --------------------------------------------------------------------------- huge files

for i, (size, suffix) in enumerate([
    (20 * MB + 1, ".html"), (21 * MB, ".htm"), (30 * MB, ".xhtml"), (50 * MB, ".html"),
    (100 * MB, ".html"), (100 * MB, ".txt"), (100 * MB, ".md"), (1024 * MB, ".html"),
    (100 * MB, ".docx"), (50 * MB + 1, ".pdf"), (200 * MB, ".pdf"), (4096 * MB, ".txt"),
]):
    _add(f"huge{i:02d}{suffix}", _sparse(size))

# --------------------------------------------------------------------------- binary garbage

_HEADERS = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"\x7fELF\x02\x01\x01", b"\x1f\x8b\x08",
            b"7z\xbc\xaf'\x1c", b"GIF89a", b"Rar!\x1a\x07", b"\x00\x00\x01\x00", b"MZ\x90\x00"]
for i, head in enumerate(_HEADERS):
    for suffix in (".html", ".htm", ".txt"):
        _add(f"garbage{i:02d}{suffix}", _bytes(head + _noise(i, 8192)))
for i in range(6):
    # no NUL byte at all: decoded as GB18030 or Latin text, no report in it
    _add(f"noise{i:02d}.html", _bytes(_noise(100 + i, 16384, nul=False)))
    _add(f"noise{i:02d}.md", _bytes(_noise(200 + i, 16384, nul=False)))

# --------------------------------------------------------------------------- text that is no report

for i, text in enumerate([
    "0\t" * 1_000_000,
    ("1 2 3 4 5 6 7 8 9 10\n" * 200_000),
    "\n" * 5_000_000,
    "\t" * 5_000_000,
    "政府信息公开" * 500_000,
    ("| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 300_000),
    "\u202e\u200b\ufeff" * 1_000_000,
    "<" * 5_000_000,
    "一、" * 2_000_000,
    "".join(chr(0xE000 + (k % 6000)) for k in range(1_000_000)),
]):
    _add(f"nonreport{i:02d}.txt", _text(text))

# --------------------------------------------------------------------------- DOCX zip bombs


def _zip(members: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_DEFLATED) -> Writer:
    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w", method) as zf:
            for name, data in members:
                zf.writestr(name, data)

    return write


def _zeros_member(name: str, size: int) -> Writer:
    """A docx whose one member ``name`` inflates to ``size`` zero bytes (written in pieces)."""

    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            if name != "word/document.xml":
                zf.writestr("word/document.xml", "<w:document/>")
            with zf.open(name, "w", force_zip64=True) as fh:
                chunk = b"\0" * MB
                for _ in range(size // MB):
                    fh.write(chunk)

    return write


for i, (member, size) in enumerate([
    ("word/document.xml", 2 * MB), ("word/document.xml", 51 * MB), ("word/styles.xml", 10 * MB),
    ("word/media/image1.png", 60 * MB), ("customXml/item1.xml", 5 * MB),
    ("word/fontTable.xml", 3 * MB), ("docProps/app.xml", 20 * MB), ("word/header1.xml", 40 * MB),
    ("word/settings.xml", 2 * MB), ("word/numbering.xml", 8 * MB),
]):
    _add(f"bomb{i:02d}.docx", _zeros_member(member, size))


def _many_members(n: int) -> Writer:
    return _zip([("word/document.xml", b"<w:document/>")]
                + [(f"word/media/{k}.bin", b"x") for k in range(n)], method=zipfile.ZIP_STORED)


def _three_large() -> Writer:
    """Three members of 40 MB each (each under the member limit, together over the total)."""

    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("word/document.xml", "<w:document/>")
            for k in range(3):
                with zf.open(f"word/media/{k}.bin", "w") as fh:
                    for _ in range(40):
                        fh.write(b"\0" * MB)

    return write


def _lying_size(claimed: int) -> Writer:
    """document.xml inflates to 30 MB but its headers say ``claimed`` bytes."""

    def write(path: Path) -> None:
        body = b"<w:document>" + b" " * (30 * MB) + b"</w:document>"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr("word/document.xml", body)
        data = bytearray(path.read_bytes())
        real = len(body).to_bytes(4, "little")
        fake = claimed.to_bytes(4, "little")
        at = data.find(real)
        while at != -1:
            data[at:at + 4] = fake
            at = data.find(real, at + 4)
        path.write_bytes(bytes(data))

    return write


for i, writer in enumerate([
    _many_members(2_001), _many_members(20_000), _three_large(), _lying_size(1000),
    _lying_size(100), _lying_size(30 * MB - 1),
]):
    _add(f"zipshape{i:02d}.docx", writer)


def _truncated(path: Path) -> None:
    _zeros_member("word/document.xml", 2 * MB)(path)
    path.write_bytes(path.read_bytes()[:5000])


_add("truncated.docx", _truncated)
_add("emptyzip.docx", _bytes(b"PK\x05\x06" + b"\0" * 18))
_add("zipgarbage.docx", _bytes(b"PK\x03\x04" + _noise(7, 4096)))
_add("encrypted.docx", _bytes(b"PK\x03\x04\x14\x00\x01\x00" + _noise(8, 2048)))

# --------------------------------------------------------------------------- DOCX that is not Word

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_CT = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
       'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.'
       'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
         '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
         'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
         '</Relationships>')


def _docx(document: str) -> Writer:
    return _zip([("[Content_Types].xml", _CT.encode()), ("_rels/.rels", _RELS.encode()),
                 ("word/document.xml", document.encode("utf-8"))])


_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">'
           + "".join(f'<!ENTITY {chr(98 + k)} "' + f"&{chr(97 + k)};" * 10 + '">' for k in range(8))
           + f"]><w:document {_W}><w:body><w:p><w:r><w:t>&i;</w:t></w:r></w:p></w:body></w:document>")
for i, writer in enumerate([
    _zip([("xl/workbook.xml", b"<workbook/>"), ("[Content_Types].xml", b"<Types/>")]),
    _zip([("OFD.xml", b"<ofd:OFD/>"), ("Doc_0/Document.xml", b"<x/>")]),
    _zip([("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<x/>")]),
    _zip([("mimetype", b"application/epub+zip"), ("OEBPS/content.opf", b"<x/>")]),
    _zip([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n")]),
    _docx(_LAUGHS),
    _docx(f"<w:document {_W}><w:body>" + "<w:sdt><w:sdtContent>" * 5_000 + "</w:body></w:document>"),
    _docx(f"<w:document {_W}>" + "<w:body>" * 100_000),
    _docx(f"<w:document {_W}><w:body></w:body></w:document>"),
    _docx(f"<w:document {_W}><w:body><w:tbl>" + "<w:tr><w:tc><w:p/></w:tc></w:tr>" * 100_001
          + "</w:tbl></w:body></w:document>"),
    _docx(f"<w:document {_W}><w:body><w:tbl>"
          + '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="99999999"/><w:vMerge w:val="restart"/>'
            "</w:tcPr><w:p/></w:tc></w:tr>" * 20_000 + "</w:tbl></w:body></w:document>"),
    _docx('<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><w:document '
          f'{_W}><w:body/></w:document>'),
    _docx("not xml at all \0\0\0"),
    _docx(f"<w:document {_W}><w:body><w:p><w:r><w:t>" + "x" * (40 * MB) + "</w:t></w:r></w:p>"
          "</w:body></w:document>"),
]):
    _add(f"notword{i:02d}.docx", writer)

# --------------------------------------------------------------------------- PDFs: pages


def _pdf(objects: list[str | bytes], *, root: int = 1) -> bytes:
    """A PDF written by hand from its objects (numbered from 1), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + (body if isinstance(body, bytes) else body.encode())
        out += b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _pages(n: int, count: str | None = None) -> bytes:
    kids = " ".join(f"{i + 3} 0 R" for i in range(n))
    objects: list[str | bytes] = ["<< /Type /Catalog /Pages 2 0 R >>",
                                  f"<< /Type /Pages /Kids [{kids}] /Count {count or n} >>"]
    objects += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * n
    return _pdf(objects)


def _tree(leaves: int, fan: int) -> bytes:
    """``leaves × fan`` pages under ``leaves`` intermediate page-tree nodes."""
    objects: list[str | bytes] = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    mids = []
    for _ in range(leaves):
        mid = len(objects) + 1
        mids.append(mid)
        objects.append("")
        first = len(objects) + 1
        objects += [f"<< /Type /Page /Parent {mid} 0 R /MediaBox [0 0 612 792] >>"] * fan
        kids = " ".join(f"{first + k} 0 R" for k in range(fan))
        objects[mid - 1] = f"<< /Type /Pages /Parent 2 0 R /Kids [{kids}] /Count {fan} >>"
    objects[1] = (f"<< /Type /Pages /Kids [{' '.join(f'{m} 0 R' for m in mids)}] "
                  f"/Count {leaves * fan} >>")
    return _pdf(objects)


for i, data in enumerate([
    _pages(201), _pages(500), _pages(10_000), _pages(50_000), _pages(1, "1000000000"),
    _pages(1, "99999999999999999999999"), _pages(3, "-1"), _pages(2, "(two)"), _tree(100, 100),
    _tree(10, 1_000), _pages(1, "1.5e9"), _pages(1, "/Many"),
]):
    _add(f"pages{i:02d}.pdf", _bytes(data))

# --------------------------------------------------------------------------- PDFs: broken

_ONE = _pages(1)
for i, data in enumerate([
    _ONE[:100], _ONE[:-30], b"%PDF-1.7\n" + _noise(9, 8192), b"%PDF-1.4\n%%EOF\n",
    _ONE.replace(b"startxref", b"startxrof"), _ONE.replace(b"/Root 1 0 R", b"/Root 99 0 R"),
    _ONE.replace(b"trailer\n<<", b"trailer\n<< /Encrypt << /Filter /Standard /V 9 /R 9 >>"),
    _pdf(["<< /Type /Catalog /Pages 1 0 R >>"]),
    _pdf(["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]),
    _ONE,  # one page without a text layer
    _pdf(["<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
          "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
          "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]),
    b"%PDF-" + b"1" * 4096,
]):
    _add(f"broken{i:02d}.pdf", _bytes(data))


def _flate(size: int, fill: bytes = b"\0") -> bytes:
    """A zlib stream of ``size`` bytes of ``fill`` repeated, built from one compressed megabyte:
    after a full flush a deflate block stands alone, so the stream is that block repeated, a
    final empty block and the checksum."""
    chunk = (fill * MB)[:MB]
    packer = zlib.compressobj(9)
    first = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(size // MB):
        adler = zlib.adler32(chunk, adler)
    return first[:2] + first[2:] * (size // MB) + b"\x03\x00" + adler.to_bytes(4, "big")


def _stream_bomb(size: int, fill: bytes = b"\0") -> Writer:
    """One page whose content stream inflates to ``size`` bytes."""

    def write(path: Path) -> None:
        body = _flate(size, fill)
        stream = (f"<< /Length {len(body)} /Filter /FlateDecode >>\nstream\n".encode() + body
                  + b"\nendstream")
        path.write_bytes(_pdf([
            "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>", stream]))

    return write


for i, (size, fill) in enumerate([(300 * MB, b"\0"), (400 * MB, b" "), (600 * MB, b"0 "),
                                  (300 * MB, b"q "), (320 * MB, b"\n"), (400 * MB, b"1 0 m ")]):
    _add(f"inflate{i:02d}.pdf", _stream_bomb(size, fill))

# --------------------------------------------------------------------------- tables that explode

for i, cell in enumerate([
    '<td rowspan="10000" colspan="200">1</td>',
    '<td rowspan="100000">1</td>',
    '<td colspan="1000000">1</td><td rowspan="5000">2</td>',
    '<td rowspan="2147483647" colspan="2147483647">x</td>',
    '<td rowspan="999999999999999999999">x</td><td colspan="-5">y</td>',
    '<th rowspan="3000" colspan="150">表三</th>',
]):
    # a label of the 2021 format, so that the edition is known and the table is laid out
    _add(f"spans{i:02d}.html", _text("<table><tr><td>本年制发件数</td><td>1</td></tr>"
                                     + f"<tr>{cell}</tr>" * 5_000 + "</table>"))
for i, (tables, rows) in enumerate([(20_000, 1), (2_000, 30), (1, 100_001), (50_001, 2)]):
    _add(f"tables{i:02d}.html", _text(("<table>" + "<tr><td>1</td></tr>" * rows + "</table>") * tables))

# --------------------------------------------------------------------------- other formats

_OLE = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 4096
for i, (data, suffix) in enumerate([
    (_OLE, ".docx"), (_OLE, ".html"), (_OLE, ".txt"), (_OLE, ".pdf"), (_OLE, ".md"),
    (b"{\\rtf1\\ansi " + b"\\par " * 1000 + b"}", ".docx"),
    (b"{\\rtf1\\ansi\\deff0 {\\fonttbl} \\f0 \\u25919?}", ".pdf"),
    (b'{"edition": "2021"}', ".docx"),
    (b"\xef\xbb\xbf" + b"PK\x03\x04" + b"\0" * 64, ".docx"),
    (b"%!PS-Adobe-3.0\n" + b"showpage\n" * 100, ".pdf"),
    (b"\xff\xfe" + "<html>".encode("utf-16-le") + b"\0\xd8" * 2000, ".html"),
    (b"\0\0\xfe\xff" + b"\0\0\0<" * 2000, ".html"),
]):
    _add(f"format{i:02d}{suffix}", _bytes(data))

# --------------------------------------------------------------------------- markup that is no report

for i, text in enumerate([
    '<p title="' + "x" * (15 * MB) + '">',
    "<!--" + "-" * (10 * MB),
    "<script>" + "var a=1;" * 1_500_000,
    "<br>" * 3_000_000,
    "&#x10FFFF;" * 1_000_000,
    "&#99999999999999;" * 500_000,
    "字" * 6_000_000,
    "<p>政" * 2_000_000,
    "<![CDATA[" + "]" * (10 * MB),
    "<td>" * 90_000 + "<tr>" * 90_000,
]):
    _add(f"markup{i:02d}.html", _text(text))

# --------------------------------------------------------------------------- declared encodings

for i, charset in enumerate(["zlib", "rot13", "utf-7", "idna", "punycode", "x-unknown", "utf-32",
                             "hz", "base64"]):
    _add(f"charset{i:02d}.html", _bytes(
        f'<meta charset="{charset}">'.encode() + _noise(300 + i, 8192, nul=False)))

# --------------------------------------------------------------------------- special files


def _folder(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _link(target: str) -> Writer:
    return lambda path: path.symlink_to(target)


def _loop(path: Path) -> None:
    path.symlink_to(path.name)


for i, (suffix, writer) in enumerate([
    (".html", _bytes(b"")), (".docx", _bytes(b"")), (".pdf", _bytes(b"")), (".txt", _bytes(b"")),
    (".md", _bytes(b"")), (".html", _folder), (".docx", _folder), (".html", _fifo), (".pdf", _fifo),
    (".html", _link("/dev/zero")), (".txt", _link("/dev/urandom")), (".docx", _link("/dev/null")),
    (".html", _link("/nonexistent/报告.html")), (".pdf", _loop), (".txt", _link("/proc/self/mem")),
]):
    _add(f"special{i:02d}{suffix}", writer)
