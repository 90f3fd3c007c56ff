"""Spec files as text: finding the built-in ones, parsing YAML with a locator of its lines, and
checking the parsed data against the spec format (``spec.schema.json``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from .kinds import KINDS


def builtin_path(edition: str) -> Path:
    return Path(str(resources.files("xlreport.edition") / "builtin" / f"{edition}.yaml"))


def read(path: Path) -> tuple[Any, Locator]:
    """The parsed YAML of a spec file and a locator of its lines (not yet checked)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"找不到规格文件 {path}", code="spec_missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"规格文件 {path} 无法读取（应为 UTF-8 编码的 YAML）：{exc}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise SpecError(f"规格文件 {path} {where}不是有效的 YAML：{exc}", code="spec_yaml") from None
    finally:
        loader.dispose()
    return data, Locator(path, root)


def dump(data: Any) -> str:
    """Spec data as YAML text (Chinese as written, keys in their order)."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def digest(data: Any) -> str:
    """sha256 of the spec's content (comments and formatting do not count)."""
    canon = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@cache
def _spec_schema() -> dict[str, Any]:
    text = (resources.files("xlreport.edition") / "builtin" / "spec.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    schema["$defs"]["type"] = {"enum": list(KINDS)}  # the kinds have one home: edition.kinds
    return schema


_SCHEMA_WORDS = {
    "required": "缺少必填项",
    "additionalProperties": "有不认识的项",
    "type": "类型不对",
    "enum": "取值不在允许范围内",
    "pattern": "格式不对",
    "minItems": "项数太少",
    "maxItems": "项数太多",
    "minLength": "不能为空",
    "oneOf": "写法不对",
    "const": "取值不对",
    "dependentRequired": "缺少配套的项",
}


def check_shape(data: Any, locate: Locate) -> None:
    """Check ``data`` against the spec schema; the first mistake raises :class:`SpecError`."""
    import jsonschema  # deferred: jsonschema takes ~100 ms; built-in specs skip this check

    validator = jsonschema.Draft202012Validator(_spec_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        word = _SCHEMA_WORDS.get(str(err.validator), "不符合规格文件格式")
        raise SpecError(f"{locate(list(err.absolute_path))}：{word}（{err.message}）", code="spec")


Locate = Callable[[list[Any]], str]


class Locator:
    """Turns a path into the spec (``['sheets', 2, 'blocks', 0]``) into ``file 第 N 行``."""

    def __init__(self, path: Path, root: Any) -> None:
        self.path, self.root = path, root

    def __call__(self, where: list[Any]) -> str:
        node, line = self.root, None
        for step in where:
            if node is None:
                break
            line = node.start_mark.line + 1
            node = _child(node, step)
        if node is not None:
            line = node.start_mark.line + 1
        place = "/".join(str(s) for s in where) or "（文件开头）"
        return f"规格文件 {self.path.name} 第 {line} 行（{place}）" if line else (
            f"规格文件 {self.path.name}（{place}）"
        )


def _child(node: Any, step: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None
