"""Distribution copies in proportion to what differs between them.

Copies of one *kind* — the same spec, the same cells pre-filled and every one of them locked, the
same year — differ only where the pre-filled texts are written: their shared strings, the state
formulas that keep a locked value, the cached text of the formulas that show it (the sheets'
subtitles) and the metadata rows that record it.  :class:`Kind` finds those places from full
builds, never from a list of cells: it builds the workbook with two sets of probe texts of the
same lengths and keeps, part by part, every place where the first probe stands in the first
build and the second in the second; every other byte must be the same.  A text in a formula is a
formula text (in quotes, ``"`` doubled); everywhere else it is the text itself, and XML escapes
``& < >``.  The kind then checks itself: the first build must come out of its own zip entries
again, and a third build, with texts of other lengths holding ``& < > " '`` and spaces, byte for
byte as patching the first makes it.  A kind that fails a check is built in full.

A unit's copy is the first build with its texts written into those places: the parts that
changed deflated again as :mod:`zipfile` does, their CRC, sizes and offsets set; every other
part's entry as it was (name, order, date, compression).  A copy is patched only when nothing else
in the workbook depends on its values — every formula shows what it shows in the first build and
each text takes as many lines in its cell (:func:`~xlreport.workbook.template.decided`, the
build's own computation), no shared string of the copy equals another, and each text needs no
escape but XML's: 1 to 255 characters (one formula text), no control character, no space at
either end, no ``_x`` (the shared strings' escape), no ``<r>`` at the start (taken as rich text)
and no letter, digit, ``_`` or ``.`` before ``(`` (xlsxwriter rewrites what looks like a newer
Excel function in a formula).  Any other copy is built in full.
"""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..edition.kinds import CREDIT_CODE_CHARS, CREDIT_CODE_WEIGHTS
from ..edition.spec import Spec
from .template import decided, prefill, workbook_bytes, written

#: A kind with fewer copies is built in full: finding where its copies differ takes three builds.
MIN_COPIES = 4
#: Probe values of each kind of cell: two of the same length, then one to check the patching with.
TEXT_PROBES = ("壹贰叁肆", "伍陆柒捌", "甲 & <乙> \"丙\" '丁'")
CODE_STEMS = ("91350100MA2XY1234", "12440300MB8RT5678", "52110000MC1QW9876")
#: The longest text patched: what a formula holds in one literal.
MAX_PATCHED = 255
_UNSAFE = re.compile(r"^\s|\s$|_x|^<r>|[0-9A-Za-z_.]\(")
_UNSAFE_CATEGORIES = ("Cc", "Cs", "Cn")
_SHARED_STRING = re.compile(rb"<si>.*?</si>", re.DOTALL)

#: Where a value goes in a part: its key, and whether it stands there as a formula text.
Place = tuple[str, bool]
Pieces = tuple[bytes | Place, ...]


def copies(spec: Spec, units: Sequence[Mapping[str, object]]) -> Iterator[bytes]:
    """The workbook of each of ``units`` in turn — its values pre-filled, every one of them locked:
    byte for byte what :func:`~xlreport.workbook.template.workbook_bytes` writes for it."""
    groups = [_kind_of(spec, values) for values in units]
    counts = Counter(groups)
    kinds: dict[tuple[tuple[str, ...], str], Kind] = {}
    for values, group in zip(units, groups, strict=True):
        data = None
        if counts[group] >= MIN_COPIES:
            if group not in kinds:
                kinds[group] = Kind(spec, tuple(values), {
                    k: v for k, v in values.items() if _probes(spec, k) is None})
            data = kinds[group].patch(values)
        yield data if data is not None else workbook_bytes(spec, values=values, lock_keys=tuple(values))


def _kind_of(spec: Spec, values: Mapping[str, object]) -> tuple[tuple[str, ...], str]:
    """The keys of ``values`` and the values of those without probes (the year): one kind."""
    return tuple(values), repr([v for k, v in values.items() if _probes(spec, k) is None])


@dataclass(frozen=True)
class _Part:
    """One member of the zip: its entry as stored, and where it holds values — its bytes as
    pieces and its shared strings that hold a value (empty when it holds none)."""

    entry: _Entry
    pieces: Pieces
    strings: tuple[Pieces, ...]


class Kind:
    """Copies of ``spec`` with the cells ``keys`` pre-filled and locked, in this order; the cells
    of ``fixed`` (those without probes, such as the year) hold these values in every copy."""

    def __init__(self, spec: Spec, keys: Sequence[str], fixed: Mapping[str, object]) -> None:
        self.spec, self.keys, self.fixed = spec, tuple(keys), dict(fixed)
        self.parts: list[_Part] | None = None  # None: copies of this kind are built in full
        probes: dict[str, tuple[str, str, str]] = {}
        for key in self.keys:
            if key not in self.fixed:
                found = _probes(spec, key)
                if found is None:
                    return
                probes[key] = found
        first, second, third = (
            {k: probes[k][i] if k in probes else self.fixed[k] for k in self.keys} for i in range(3)
        )
        self.parts = self._parts(first, second)
        if self.parts is not None and (
                self.patch(third) != written(spec, values=third, lock_keys=self.keys).data):
            self.parts = None

    def _parts(self, first: dict[str, object], second: dict[str, object]) -> list[_Part] | None:
        """The parts of the build with ``first``, the places of its values found by a build with
        ``second``; None when the two differ anywhere else."""
        base = written(self.spec, values=first, lock_keys=self.keys)
        other = written(self.spec, values=second, lock_keys=self.keys)
        self.rooms, self.decided = base.rooms, base.decided
        entries = _entries(base.data)
        members, others = _members(base.data), _members(other.data)
        if (other.decided != base.decided or entries is None or _zip(entries, {}) != base.data
                or [e.name for e in entries] != [i.filename for i, _ in members]
                or [i.filename for i, _ in members] != [i.filename for i, _ in others]):
            return None
        parts = []
        for entry, (_, data), (_, changed) in zip(entries, members, others, strict=True):
            slots = _slots(self.keys, first, second, data, changed)
            if slots is None:
                return None
            strings = tuple(_pieces(data[m.start():m.end()], inside)
                            for m in _SHARED_STRING.finditer(data)
                            if (inside := _within(slots, m.start(), m.end())))
            parts.append(_Part(entry, _pieces(data, slots) if slots else (), strings))
        variable = {_joined(s, _texts(first)) for p in parts for s in p.strings}
        self.fixed_strings = frozenset(
            m.group() for _, data in members for m in _SHARED_STRING.finditer(data)) - variable
        return parts

    def patch(self, values: Mapping[str, object]) -> bytes | None:
        """The copy with ``values`` (the kind's keys, in order), or None when it must be built in
        full (see the module docstring)."""
        if self.parts is None or tuple(values) != self.keys:
            return None
        try:
            filled = prefill(self.spec, values, self.keys)
        except ValueError:
            return None
        if tuple(filled) != self.keys or not all(
                repr(v) == repr(self.fixed[k]) if k in self.fixed else _patchable(v)
                for k, v in filled.items()):
            return None
        if decided(self.spec, filled, self.keys, self.rooms) != self.decided:
            return None
        texts = _texts(filled)
        strings = [_joined(s, texts) for part in self.parts for s in part.strings]
        if len(set(strings)) < len(strings) or not self.fixed_strings.isdisjoint(strings):
            return None
        return _zip([p.entry for p in self.parts], {
            i: _joined(p.pieces, texts) for i, p in enumerate(self.parts) if p.pieces})


def _probes(spec: Spec, key: str) -> tuple[str, str, str] | None:
    """Three texts for ``key``'s cell (the first two of the same length), or None for a kind of
    cell without probes."""
    family = spec.cells[key].kind.family if key in spec.cells else None
    if family == "text":
        return TEXT_PROBES
    if family == "credit_code":
        first, second, third = (_credit_code(stem) for stem in CODE_STEMS)
        return first, second, third
    return None


def _credit_code(stem: str) -> str:
    """``stem`` (17 characters) with its GB 32100 check character."""
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(stem, CREDIT_CODE_WEIGHTS, strict=True))
    return stem + CREDIT_CODE_CHARS[-total % 31]


def _patchable(value: object) -> bool:
    """Whether the text ``value`` stands as :func:`_texts` writes it wherever a build puts it."""
    return (isinstance(value, str) and 0 < len(value) <= MAX_PATCHED and not _UNSAFE.search(value)
            and all(unicodedata.category(ch) not in _UNSAFE_CATEGORIES for ch in value))


def _texts(values: Mapping[str, object]) -> dict[Place, bytes]:
    """Each value as it stands in the workbook's XML: as text, and as a formula text."""
    out = {}
    for key, value in values.items():
        text = str(value)
        for place, shown in (((key, False), text), ((key, True), '"' + text.replace('"', '""') + '"')):
            out[place] = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()
    return out


# --------------------------------------------------------------------------- places


@dataclass(frozen=True, order=True)
class _Slot:
    start: int
    end: int
    key: str
    quoted: bool


def _slots(
    keys: Sequence[str], first: Mapping[str, object], second: Mapping[str, object],
    data: bytes, changed: bytes,
) -> list[_Slot] | None:
    """Where the values stand in ``data`` (built with ``first``), found where ``changed`` (built
    with ``second``) holds the second value instead; None when that does not explain every
    difference."""
    if data == changed:
        return []
    if len(data) != len(changed):
        return None
    found: list[_Slot] = []
    for key in keys:
        old, new = str(first[key]).encode(), str(second[key]).encode()
        at = data.find(old) if old != new else -1
        while at >= 0:
            if changed.startswith(new, at):
                slot = _slot(data, at, at + len(old), key)
                if slot is None:
                    return None
                found.append(slot)
            at = data.find(old, at + 1)
    found.sort()
    if any(a.end > b.start for a, b in pairwise(found)):
        return None
    if _joined(_pieces(data, found), _texts(second)) != changed:
        return None
    return found


def _slot(data: bytes, start: int, end: int, key: str) -> _Slot | None:
    """The place of a text at ``start:end``; in a formula with its quotes (None without)."""
    tag = data.rfind(b"<", 0, start)
    if not data.startswith((b"<f>", b"<f "), tag):
        return _Slot(start, end, key, False)
    if data[start - 1: start] == b'"' and data[end: end + 1] == b'"':
        return _Slot(start - 1, end + 1, key, True)
    return None


def _within(slots: Iterable[_Slot], start: int, end: int) -> list[_Slot]:
    """``slots`` inside ``start:end``, counted from ``start``."""
    return [_Slot(s.start - start, s.end - start, s.key, s.quoted) for s in slots
            if start <= s.start and s.end <= end]


def _pieces(data: bytes, slots: Iterable[_Slot]) -> Pieces:
    out: list[bytes | Place] = []
    at = 0
    for s in slots:
        out += [data[at: s.start], (s.key, s.quoted)]
        at = s.end
    out.append(data[at:])
    return tuple(out)


def _joined(pieces: Pieces, texts: Mapping[Place, bytes]) -> bytes:
    return b"".join(p if isinstance(p, bytes) else texts[p] for p in pieces)


# --------------------------------------------------------------------------- the zip


@dataclass(frozen=True)
class _Entry:
    """A member as the zip stores it: local header, deflated bytes, central directory record."""

    head: bytes
    stored: bytes
    central: bytes

    @property
    def name(self) -> str:
        return self.central[46: 46 + struct.unpack_from("<H", self.central, 28)[0]].decode()


#: The end of central directory record: 22 bytes, no comment.
_END = struct.Struct("<4s4H2LH")


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    source = zipfile.ZipFile(io.BytesIO(data))
    return [(info, source.read(info)) for info in source.infolist()]


def _entries(data: bytes) -> list[_Entry] | None:
    """The entries of the zip ``data`` in order, or None for one this does not reassemble."""
    if len(data) < _END.size:
        return None
    sign, _, _, _, count, _, at, comment = _END.unpack_from(data, len(data) - _END.size)
    if sign != b"PK\x05\x06" or comment:
        return None
    out = []
    for _ in range(count):
        names, extra, note = struct.unpack_from("<3H", data, at + 28)
        central = data[at: at + 46 + names + extra + note]
        size, offset = struct.unpack_from("<L", central, 20)[0], struct.unpack_from("<L", central, 42)[0]
        body = offset + 30 + sum(struct.unpack_from("<2H", data, offset + 26))
        out.append(_Entry(data[offset:body], data[body: body + size], central))
        at += len(central)
    return out


def _zip(entries: Sequence[_Entry], changed: Mapping[int, bytes]) -> bytes:
    """The zip of ``entries`` with the members ``changed`` (index → bytes) deflated anew, as
    :mod:`zipfile` deflates them (default level, raw stream), every header and offset set."""
    out: list[bytes] = []
    records: list[bytes] = []
    offset = 0
    for i, entry in enumerate(entries):
        head, stored, central = entry.head, entry.stored, bytearray(entry.central)
        if i in changed:
            deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
            stored = deflate.compress(changed[i]) + deflate.flush()
            sizes = (zlib.crc32(changed[i]), len(stored), len(changed[i]))
            head = head[:14] + struct.pack("<3L", *sizes) + head[26:]
            struct.pack_into("<3L", central, 16, *sizes)
        struct.pack_into("<L", central, 42, offset)
        out += [head, stored]
        records.append(bytes(central))
        offset += len(head) + len(stored)
    directory = b"".join(records)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join([*out, directory, end])
