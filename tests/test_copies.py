"""Distribution copies made by patching one build per kind are byte for byte the full builds."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from xlreport import edition as spec_mod
from xlreport.edition.kinds import CREDIT_CODE_CHARS, CREDIT_CODE_WEIGHTS
from xlreport.workbook import copies as copies_mod
from xlreport.workbook.copies import MIN_COPIES, Kind, copies
from xlreport.workbook.template import workbook_bytes
from xlreport.workflows.roster import Unit, read_roster

KEYS = {
    "name, year, code": ("unit.name", "unit.year", "unit.code"),
    "name, year": ("unit.name", "unit.year"),
    "name, code": ("unit.name", "unit.code"),
    "name": ("unit.name",),
}
CODE = "91350128MA2XY1234Q"
#: Names a copy is patched with: XML's special characters, spaces inside, up to a full line.
NAMES = (
    "桑垌乡人民政府",
    "A&B <局> \"办\" '室'",
    "&amp; <t>乙</t> ]]>",
    "县 交通 运输局",
    "平潭综合实验区（管委会）经济发展局（统计局）",
    "福建省平潭综合实验区管理委员会办公室政务公开科",  # 23 characters: still one line
    "x",
)


def _values(spec: spec_mod.Spec, keys: tuple[str, ...], name: str, code: str = CODE,
            year: int | None = None) -> dict[str, object]:
    year = min(spec.years[0] + 4, spec.years[1]) if year is None else year
    found = {"unit.name": name, "unit.year": year, "unit.code": code}
    return {k: found[k] for k in keys}


def _full(spec: spec_mod.Spec, values: dict[str, object]) -> bytes:
    return workbook_bytes(spec, values=values, lock_keys=list(values))


_KINDS: dict[tuple[str, str], Kind] = {}


def _kind(edition: str, keys: tuple[str, ...]) -> Kind:
    """The kind of ``keys`` (with the year of :func:`_values`), made once."""
    if (edition, keys) not in _KINDS:
        spec = spec_mod.builtin(edition)
        fixed = {k: v for k, v in _values(spec, keys, "").items() if k == "unit.year"}
        _KINDS[edition, keys] = Kind(spec, keys, fixed)
    return _KINDS[edition, keys]


def _credit_code(stem: str) -> str:
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(stem, CREDIT_CODE_WEIGHTS, strict=True))
    return stem + CREDIT_CODE_CHARS[-total % 31]


@pytest.mark.parametrize("keys", KEYS.values(), ids=KEYS.keys())
@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_patched_copies_are_byte_for_byte_the_full_builds(edition: str, keys: tuple[str, ...]) -> None:
    spec = spec_mod.builtin(edition)
    kind = _kind(edition, keys)
    codes = [CODE, _credit_code("11100000000013127"), _credit_code("12350000MB0000000")]
    for i, name in enumerate(NAMES if len(keys) == 3 else NAMES[:3]):
        values = _values(spec, keys, name, codes[i % len(codes)])
        patched = kind.patch(values)
        assert patched is not None, name  # the fast way, not the fallback
        assert patched == _full(spec, values), name


def test_every_zip_member_keeps_its_entry() -> None:
    """Names, order, dates, compression and sizes: the zip of a patched copy is the full build's."""
    spec = spec_mod.builtin("2021")
    values = _values(spec, KEYS["name, year, code"], NAMES[1])
    patched = zipfile.ZipFile(io.BytesIO(_kind("2021", tuple(values)).patch(values) or b""))
    full = zipfile.ZipFile(io.BytesIO(_full(spec, values)))
    fields = ("filename", "date_time", "compress_type", "CRC", "compress_size", "file_size",
              "header_offset", "external_attr", "create_system")
    assert ([[getattr(i, f) for f in fields] for i in patched.infolist()]
            == [[getattr(i, f) for f in fields] for i in full.infolist()])


UNPATCHABLE = {
    "two lines long": {"unit.name": "甲" * 30},
    "longer than a formula text": {"unit.name": "甲" * 300},
    "a line break": {"unit.name": "甲乡\n人民政府"},
    "a space at the end": {"unit.name": "甲乡人民政府 "},
    "a space at the start": {"unit.name": "\u3000甲乡人民政府"},
    "the shared-string escape": {"unit.name": "甲_x0041_乡"},
    "a rich text run": {"unit.name": "<r>甲乡</r>"},
    "a newer Excel function": {"unit.name": "甲乡FILTER(1)"},
    "a shared string of the template": {"unit.name": "基本信息"},
    "a word read as blank": {"unit.name": "无"},
    "a code in small letters": {"unit.code": CODE.lower()},
    "a wrong check character": {"unit.code": CODE[:-1] + "0"},
    "the same text as the code": {"unit.name": CODE},
    "another year": {"unit.year": 2026},
}


@pytest.mark.parametrize("change", UNPATCHABLE.values(), ids=UNPATCHABLE.keys())
def test_a_copy_that_cannot_be_patched_safely_is_not_patched(change: dict[str, object]) -> None:
    spec = spec_mod.builtin("2021")
    values = {**_values(spec, KEYS["name, year, code"], "甲乡人民政府"), **change}
    assert _kind("2021", KEYS["name, year, code"]).patch(values) is None


def test_copies_that_cannot_be_patched_are_built_in_full() -> None:
    spec = spec_mod.builtin("2021")
    keys = KEYS["name, year, code"]
    units = [_values(spec, keys, f"乡{i}") for i in range(MIN_COPIES)]
    units += [{**_values(spec, keys, "甲乡人民政府"), **change} for change in UNPATCHABLE.values()]
    assert list(copies(spec, units)) == [_full(spec, v) for v in units]


def test_copies_in_order_of_every_kind_and_the_few_built_in_full() -> None:
    spec = spec_mod.builtin("2019")
    units = [_values(spec, KEYS["name, year"], f"乙{i}镇", year=2019) for i in range(MIN_COPIES)]
    units += [_values(spec, KEYS["name"], f"丙{i}村") for i in range(MIN_COPIES)]
    units += [_values(spec, KEYS["name, year, code"], "丁镇", year=2020)]  # a kind of one
    made = list(copies(spec, units))
    assert made == [_full(spec, v) for v in units]


def test_a_kind_whose_patching_fails_its_own_check_is_built_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Patching is checked against a full build of texts with ``& < > " '``: a wrong way of
    writing a value is found there, and copies of the kind are then built in full."""
    monkeypatch.setattr(copies_mod, "_texts", lambda values: {
        (k, quoted): (f'"{v}"' if quoted else str(v)).encode() for k, v in values.items()
        for quoted in (False, True)})
    spec = spec_mod.builtin("2021")
    keys = KEYS["name"]
    kind = Kind(spec, keys, {})
    assert kind.parts is None
    assert kind.patch(_values(spec, keys, "甲乡")) is None
    units = [_values(spec, keys, name) for name in ("甲乡", "乙乡", "丙乡", 'A&B "C"')]
    assert list(copies(spec, units)) == [_full(spec, v) for v in units]


def test_a_cell_without_probes_is_part_of_the_kind() -> None:
    """A pre-filled number is not patched: copies with other numbers are other kinds."""
    spec = spec_mod.builtin("2021")
    keys = ("unit.name", "requests.new.natural_person")
    units = [{"unit.name": f"甲{i}", "requests.new.natural_person": i % 2} for i in range(2 * MIN_COPIES)]
    assert list(copies(spec, units)) == [_full(spec, v) for v in units]
    assert Kind(spec, keys, {}).parts is None  # not fixed, no probes: never patched


_TEXT = st.text(
    st.one_of(st.sampled_from("甲乙丙丁镇乡局办（）·- &<>\"'_x()AFILTERz019\u3000\n\t"),
              st.characters(codec="utf-8")),
    min_size=1, max_size=40,
)
_VALID_CODE = st.text(st.sampled_from(CREDIT_CODE_CHARS), min_size=17, max_size=17).map(_credit_code)
_CODE = st.one_of(_VALID_CODE, _VALID_CODE, _VALID_CODE,
                  st.text(st.sampled_from(CREDIT_CODE_CHARS + "abcz"), min_size=18, max_size=18))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edition=st.sampled_from(spec_mod.BUILTIN_EDITIONS), name=_TEXT, code=_CODE)
def test_a_copy_is_the_full_build_whatever_the_name_and_code(edition: str, name: str, code: str) -> None:
    """Any name and code: the patched copy, when patching is safe, is the full build; otherwise
    :func:`copies` builds it in full (so every copy is the full build)."""
    spec = spec_mod.builtin(edition)
    keys = KEYS["name, year, code"]
    values = _values(spec, keys, name, code)
    try:
        expected = _full(spec, values)
    except ValueError:  # what a cell cannot hold
        assert _kind(edition, keys).patch(values) is None
        return
    patched = _kind(edition, keys).patch(values)
    assert patched is None or patched == expected


def _prefilled(unit: Unit) -> dict[str, object]:
    """The cells a unit's copy has pre-filled and locked."""
    found = {"unit.name": unit.name, "unit.year": unit.year, "unit.code": unit.code}
    return {k: v for k, v in found.items() if v not in (None, "")}


def test_cli_units_list_writes_every_copy_as_its_full_build(tmp_path: Path) -> None:
    """``build --units``: copies with and without a year and a code, patched or built in full,
    are each the workbook ``build --unit`` would write."""
    rows = ["单位名称,年度,统一社会信用代码"]
    rows += [f'"甲{i} & <乙> ""丙"" \'丁\' 镇",2025,{_credit_code(f"1235000000000{i:04d}")}'
             for i in range(MIN_COPIES)]
    rows += [f"县 交通 运输局{i},2025," for i in range(MIN_COPIES)]
    rows += [f"乡{i}人民政府,," for i in range(MIN_COPIES)]
    rows += ["很" * 40 + "长的单位名称,2025,"]  # two lines: built in full
    csv = tmp_path / "名单.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "分发"
    result = run_cli("build", "--units", csv, "--out-dir", out)
    assert result.returncode == 0, result.stderr
    spec = spec_mod.builtin("2021")
    units = read_roster(csv, [spec]).units
    assert len(units) == 3 * MIN_COPIES + 1
    for unit in units:
        assert (out / unit.file_name()).read_bytes() == _full(spec, _prefilled(unit)), unit.name
