"""The upload format's JSON Schema (draft 2020-12), generated from a spec."""

from __future__ import annotations

from typing import Any

from ..edition.spec import Cell, Spec

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_id(spec: Spec) -> str:
    return f"https://xlreport.invalid/schema/report-{spec.edition}.schema.json"


def generate(spec: Spec) -> dict[str, Any]:
    """A schema that accepts exactly the reports of ``spec`` (``null`` marks a blank cell)."""
    root: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": schema_id(spec),
        "title": f"{spec.title}（{spec.edition} 年版）上报格式",
        "description": f"{spec.document}。null 表示空白单元格。由 xlreport 根据规格文件生成，请勿手改。",
        "type": "object",
        "required": ["edition"],
        "properties": {
            "edition": {"title": "格式版本", "const": spec.edition},
            "source": _SOURCE,
        },
        "patternProperties": {"^_": {"description": "以 _ 开头的项为注释，不参与校验"}},
        "additionalProperties": False,
    }
    for cell in spec.cells.values():
        _place(root, cell, spec)
    return root


def _place(root: dict[str, Any], cell: Cell, spec: Spec) -> None:
    *parents, leaf = cell.key.split(".")
    node, prefix = root, ""
    for part in parents:
        prefix = f"{prefix}.{part}" if prefix else part
        props = node.setdefault("properties", {})
        if part not in props:
            props[part] = {
                "title": spec.titles.get(prefix, part),
                "type": "object",
                "properties": {},
                "additionalProperties": False,
            }
        if not cell.optional:
            required = node.setdefault("required", [])
            if part not in required:
                required.append(part)
        node = props[part]
    node["properties"][leaf] = _leaf(cell, spec)
    if not cell.optional:
        node.setdefault("required", []).append(leaf)


def _leaf(cell: Cell, spec: Spec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": spec.titles.get(cell.key, cell.key.rsplit(".", 1)[-1]),
        "description": cell.where,
        "x-key": cell.key,
        "x-type": cell.type,
    }
    if cell.computed:
        out["x-sum-of"] = list(cell.parts)
    out.update(cell.kind.schema(spec.years, cell.optional))
    return out


_SOURCE: dict[str, Any] = {
    "title": "来源（由 xlreport read 添加，不属于统计数据）",
    "type": "object",
    "properties": {
        "file": {"type": "string"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "template_version": {"type": ["string", "null"]},
        "edition": {"type": "string"},
        "generator": {"type": "string"},
    },
    "additionalProperties": True,
}
