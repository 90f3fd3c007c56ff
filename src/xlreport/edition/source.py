"""Spec files as text: finding the built-in ones, parsing YAML with a locator of its lines, and
checking the parsed data against the spec format (``spec.schema.json``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import SpecError, os_reason
from .kinds import KINDS

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


#: The built-in spec files (package data, installed beside this module).
BUILTIN = Path(__file__).parent / "builtin"


def builtin_path(edition: str) -> Path:
    return BUILTIN / f"{edition}.yaml"


def compiled_path(edition: str) -> Path:
    """The precompiled form of a built-in spec file: its parsed data as JSON, with the sha256 of
    the YAML text it was made from (``python3 -m xlreport.edition.precompile`` writes it)."""
    return BUILTIN / f"{edition}.compiled.json"


def compiled(edition: str) -> str:
    """The precompiled form of the built-in spec file of ``edition``, as it should be now."""
    path = builtin_path(edition)
    data, _ = read(path)
    form = {"yaml_sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "data": data}
    return json.dumps(form, ensure_ascii=False, indent=1) + "\n"


def precompiled(edition: str) -> Any:
    """The parsed data of a built-in spec file from its precompiled form, without PyYAML; None
    when that form is missing or was made from other text than the YAML file holds now (the
    YAML file is the one source: then it is parsed)."""
    try:
        text = builtin_path(edition).read_bytes()
        form = json.loads(compiled_path(edition).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(form, dict) or form.get("yaml_sha256") != hashlib.sha256(text).hexdigest():
        return None
    return form.get("data")


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
    return parse(text, path)


def parse(text: str, path: Path) -> tuple[Any, Locator]:
    """The parsed YAML ``text`` of the spec file ``path`` and a locator of its lines."""
    import yaml  # deferred: PyYAML takes ~20 ms to import; a built-in edition is read precompiled

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        _refuse_bombs(yaml.parse(text, Loader=loader_class), path)
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise SpecError(f"规格文件 {path} {where}不是有效的 YAML：{_yaml_words(exc)}",
                        code="spec_yaml") from None
    finally:
        loader.dispose()
    return data, Locator(path, root)


#: PyYAML's problems in Chinese (the start of its English text → what to do).
_YAML_PROBLEMS = {
    "found a tab character": "这里有制表符（Tab），YAML 的缩进只能用空格",
    "found character '\\t'": "这里有制表符（Tab），YAML 的缩进只能用空格",
    "did not find expected ',' or ']'": "方括号 [ ] 没有配对，或两项之间缺少逗号",
    "did not find expected ',' or '}'": "花括号 { } 没有配对，或两项之间缺少逗号",
    "mapping values are not allowed here": "这里不能写“名称: 值”，请检查冒号和缩进",
    "did not find expected key": "缩进没有对齐，或上一行少了引号",
    "did not find expected '-' indicator": "列表项的缩进没有对齐",
    "found unexpected end of stream": "文件在引号或括号中间结束了，请检查引号是否配对",
    "found undefined alias": "用到了没有定义的别名（*名称）",
    "found duplicate anchor": "同一个锚点（&名称）定义了两次",
    "found character that cannot start any token": "这里有一个不能作为开头的字符（如 @ 或 `），请给整段文字加上引号",
    "expected <block end>, but found": "缩进没有对齐",
    "could not find expected ':'": "缺少冒号，或上一行少了引号",
    "found unknown escape character": "双引号里有无效的转义（\\ 后面的字符），请改用单引号",
}


def _yaml_words(exc: Exception) -> str:
    """PyYAML's complaint in Chinese; one that is not known is described by its place only."""
    problem = str(getattr(exc, "problem", "") or "")
    for start, words in _YAML_PROBLEMS.items():
        if problem.startswith(start):
            return words
    return "写法有误，请检查这一行和上一行的缩进、冒号、引号和括号"


def _refuse_bombs(events: Iterable[Any], path: Path) -> None:
    """Walk the YAML events (no objects built) and refuse a file nested too deep, with too many
    aliases, an alias inside its own anchor, or more than :data:`MAX_NODES` nodes expanded."""
    import yaml  # deferred: as in parse

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
    import yaml  # deferred: as in parse

    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def digest(data: Any) -> str:
    """sha256 of the spec's content (comments and formatting do not count)."""
    canon = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@cache
def _spec_schema() -> dict[str, Any]:
    text = (BUILTIN / "spec.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    schema["$defs"]["type"] = {"enum": list(KINDS)}  # the kinds have one home: edition.kinds
    return schema


#: JSON types in the words of a spec file's author.
_TYPE_WORDS = {"object": "一组“名称: 值”", "array": "一个列表", "string": "一段文字",
               "integer": "一个整数", "number": "一个数字", "boolean": "true 或 false"}


def _schema_words(err: ValidationError) -> str:
    """What a spec-schema error says, in Chinese (the English of jsonschema is not shown)."""
    kind, want, got = str(err.validator), cast(Any, err.validator_value), err.instance
    schema = err.schema if isinstance(err.schema, dict) else {}
    if kind == "required" and isinstance(got, dict):
        missing = [name for name in want if name not in got]
        return f"缺少必填项 {'、'.join(missing)}"
    if kind == "additionalProperties" and isinstance(got, dict):
        known = schema.get("properties", {})
        extra = [str(name) for name in got if name not in known]
        return f"有不认识的项 {'、'.join(extra)}（请检查拼写）"
    if kind == "type":
        wanted = [want] if isinstance(want, str) else list(want)
        return "应当是" + "或".join(_TYPE_WORDS.get(t, t) for t in wanted)
    if kind == "enum":
        return "只能是以下之一：" + "、".join(str(v) for v in want)
    if kind == "const":
        return f"只能是 {want}"
    if kind in ("minItems", "maxItems"):
        return f"至少要有 {want} 项" if kind == "minItems" else f"最多 {want} 项"
    if kind == "minLength":
        return "不能为空"
    if kind in ("minimum", "maximum"):
        return f"不能小于 {want}" if kind == "minimum" else f"不能大于 {want}"
    if kind == "pattern":
        return "写法不对，请对照内置规格文件（xlreport spec export）的同一项"
    if kind == "dependentRequired":
        return "缺少配套的项"
    return "写法不对，请对照内置规格文件（xlreport spec export）的同一项"


def check_shape(data: Any, locate: Locate) -> None:
    """Check ``data`` against the spec schema; the first mistake raises :class:`SpecError`."""
    import jsonschema  # deferred: jsonschema takes ~100 ms; built-in specs skip this check

    validator = jsonschema.Draft202012Validator(_spec_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        raise SpecError(f"{locate(list(err.absolute_path))}：{_schema_words(err)}", code="spec")


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


class Deferred:
    """The locator of a spec file whose data came from elsewhere (its precompiled form): the
    file is parsed for its lines only when a message needs one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.found: Locator | None = None

    def __call__(self, where: list[Any]) -> str:
        if self.found is None:
            self.found = read(self.path)[1]
        return self.found(where)


def _child(node: Any, step: Any) -> Any:
    import yaml  # deferred: as in parse; only a message about a spec file finds its line

    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None
