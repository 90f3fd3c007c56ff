"""Released layouts: every built-in edition's current layout is registered under its version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import example, run_cli
from xlreport import edition as spec_mod
from xlreport.checks import report
from xlreport.errors import UnreadableInput, UsageError
from xlreport.workbook import registry, template
from xlreport.workbook.layout import layout
from xlreport.workbook.reader import read_workbook


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_the_current_layout_is_registered_under_its_version(edition: str) -> None:
    spec = spec_mod.builtin(edition)
    released = registry.find(edition, spec.template_version)
    assert released is not None, (
        f"{edition} 年版模板版本 {spec.template_version} 没有登记：运行 python3 -m xlreport.workbook.registry"
    )
    assert released.digest == layout(spec).digest, (
        f"The layout of edition {edition} changed but template_version is still "
        f"{spec.template_version!r}: bump template_version in the spec and register the new layout "
        "(python3 -m xlreport.workbook.registry); a version not yet released may be registered again "
        "after deleting its file."
    )
    lay = layout(spec)
    assert (released.cells, released.labels, released.sheet_names) == (
        lay.cells, lay.labels, lay.sheet_names)
    assert released.spec() is spec


def test_every_registered_release_is_complete() -> None:
    for path in sorted(registry.DIRECTORY.glob("*.json")):
        entry = json.loads(path.read_text("utf-8"))
        assert path.name == registry.file_name(entry["edition"], entry["template_version"])
        released = registry.find(entry["edition"], entry["template_version"])
        assert released is not None
        spec = released.released_spec
        assert spec.digest == entry["spec_digest"], path.name
        assert set(released.cells) == set(spec.cells), path.name


def _older(version: str) -> tuple[spec_mod.Spec, dict]:
    """The 2021 edition as if an earlier release had printed 规章 differently."""
    data = yaml.safe_load(spec_mod.builtin_path("2021").read_text("utf-8"))
    data["template_version"] = version
    data["sheets"][1]["blocks"][0]["rows"][0]["label"] = "规章（旧）"
    return spec_mod.from_data(data, source="old.yaml"), data


def test_an_older_release_is_found_and_read_with_the_current_rules(tmp_path: Path) -> None:
    old, data = _older("0")
    registry.register(old, data, tmp_path)
    released = registry.find("2021", "0", tmp_path)
    assert released is not None and released.digest == layout(old).digest
    assert released.digest != layout(spec_mod.builtin("2021")).digest
    assert released.spec() is spec_mod.builtin("2021"), "same cells: the current spec checks them"
    assert registry.versions("2021", tmp_path) == ["0"]


def test_an_older_release_with_other_cells_is_read_with_its_own_spec(tmp_path: Path) -> None:
    data = yaml.safe_load(spec_mod.builtin_path("2021").read_text("utf-8"))
    data["template_version"] = "0"
    data["sheets"][1]["blocks"][0]["rows"].pop()
    data["rules"] = [r for r in data["rules"] if r["id"] != "in_force"]
    old = spec_mod.from_data(data, source="old.yaml")
    registry.register(old, data, tmp_path)
    spec = registry.find("2021", "0", tmp_path).spec()
    assert "proactive.normative_documents.issued" not in spec.cells
    assert spec.digest == old.digest


def test_a_registered_version_cannot_change_its_layout(tmp_path: Path) -> None:
    old, data = _older(spec_mod.builtin("2021").template_version)
    registry.register(spec_mod.builtin("2021"), spec_mod.resolved(spec_mod.builtin_path("2021")), tmp_path)
    with pytest.raises(UsageError, match="提高 template_version"):
        registry.register(old, data, tmp_path)


# --------------------------------------------------------------------------- reading


def _registry_with(tmp_path: Path, *released: tuple[spec_mod.Spec, dict]) -> Path:
    folder = tmp_path / "layouts"
    folder.mkdir()
    for path in registry.DIRECTORY.glob("*.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    for spec, data in released:
        registry.register(spec, data, folder)
    return folder


def test_a_workbook_of_an_older_release_is_read_with_its_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, data = _older("0")
    values = {k: v for k, v in report.flatten(example("pingtan_2022"), old).items()
              if v is not None and not old.cell(k).computed}
    book = template.build(old, tmp_path / "旧模板填的.xlsx", values=values)
    with pytest.raises(UnreadableInput, match="本程序认识的是“1”"):
        read_workbook(book)
    monkeypatch.setattr(registry, "DIRECTORY", _registry_with(tmp_path, (old, data)))
    read = read_workbook(book)
    assert read.valid and read.source["template_version"] == "0"
    assert read.spec is spec_mod.builtin("2021")
    assert read.document()["requests"] == example("pingtan_2022")["requests"]


def test_a_changed_layout_under_a_released_version_is_refused(tmp_path: Path) -> None:
    same_version, _ = _older("1")
    book = template.build(same_version, tmp_path / "改了布局.xlsx")
    result = run_cli("read", book)
    assert result.returncode == 2
    assert "表格布局与该版本不同" in result.stderr


def test_an_unknown_version_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    unknown, _ = _older("7")
    book = template.build(unknown, tmp_path / "未知版本.xlsx")
    result = run_cli("read", book)
    assert result.returncode == 2
    assert "未知版本的 2021 年版填报模板生成（模板版本“7”，本程序认识的是“1”“2”“3”）" in result.stderr
