"""Spec files as text: finding the built-in ones, parsing YAML with a locator of its lines, and
checking the parsed data against the spec format (``spec.schema.json``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError, os_reason
from .kinds import KINDS


def builtin_path(edition: str) -> Path:
    return Path(str(resources.files("xlreport.edition") / "builtin" / f"{edition}.yaml"))


#: Bounds of a spec file (the built-in ones: 11 KB, 11 levels, no aliases, 700 nodes).
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_ALIASES = 50
#: Nodes of the file with every alias expanded (a "billion laughs" file has 10⁹).
MAX_NODES = 50_000


def read(path: Path) -> tuple[Any, Locator]:
    """The parsed YAML of a spec file and a locator of its lines (not yet checked).

    A file beyond the bounds above is refused before it is built into objects."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SpecError(f"规格文件 {path} 太大（{size} 字节，最多 {MAX_BYTES} 字节），"
                            "不像是一个规格文件", code="spec_too_large")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"找不到规格文件 {path}", code="spec_missing") from None
    except IsADirectoryError:
        raise SpecError(f"{path} 是文件夹，不是规格文件", code="spec_missing") from None
    except OSError as exc:
        raise SpecError(f"规格文件 {path} 无法读取：{os_reason(exc)}") from None
    except UnicodeDecodeError:
        raise SpecError(f"规格文件 {path} 不是 UTF-8 编码的文本，请用 UTF-8 保存") from None
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        _refuse_bombs(yaml.parse(text, Loader=loader_class), path)
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise SpecError(f"规格文件 {path} {where}不是有效的 YAML：{exc}", code="spec_yaml") from None
    finally:
        loader.dispose()
    return data, Locator(path, root)


def _refuse_bombs(events: Iterable[Any], path: Path) -> None:
    """Walk the YAML events (no objects built) and refuse a file nested too deep, with too many
    aliases, an alias inside its own anchor, or more than :data:`MAX_NODES` nodes expanded."""
    open_: list[tuple[str | None, int]] = []  # open collections: (anchor, nodes before it)
    sizes: dict[str, int] = {}  # anchor → its expanded nodes
    nodes = aliases = 0
    for event in events:
        line = f"第 {event.start_mark.line + 1} 行" if event.start_mark else ""
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if any(anchor == event.anchor for anchor, _ in open_):
                raise SpecError(f"规格文件 {path} {line}：别名 *{event.anchor} 引用了它自己所在的"
                                "内容（循环引用）", code="spec_yaml")
            if aliases > MAX_ALIASES:
                raise SpecError(f"规格文件 {path} {line}：别名（*名称）超过 {MAX_ALIASES} 个，"
                                "请直接写出内容", code="spec_too_large")
            nodes += sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_.append((event.anchor, nodes))
            nodes += 1
            if len(open_) > MAX_DEPTH:
                raise SpecError(f"规格文件 {path} {line}：嵌套超过 {MAX_DEPTH} 层，不像是一个"
                                "规格文件", code="spec_too_large")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, before = open_.pop()
            if anchor:
                sizes[anchor] = nodes - before
        if nodes > MAX_NODES:
            raise SpecError(f"规格文件 {path} {line}：展开别名后超过 {MAX_NODES} 项，"
                            "不像是一个规格文件", code="spec_too_large")


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
