"""The upload format: a report is a JSON object nested along the dotted cell keys.

Numbers are read as exact :class:`~decimal.Decimal` (never float) and written back digit for digit,
so money such as 4166.241619 survives every round trip.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from json.encoder import encode_basestring as _string
from pathlib import Path
from typing import Any

from ..edition.kinds import MAX_TEXT
from ..edition.spec import Spec
from ..errors import UnreadableInput, os_reason

Value = int | Decimal | str | None

#: Top-level members of a report that are not statistics.
META_KEYS = ("edition", "source")


def loads(text: str, *, name: str = "JSON") -> Any:
    """Parse JSON with exact decimals; a syntax error becomes a one-line Chinese message, and so
    does JSON that does not say one thing (see :func:`_refuse_ambiguous`)."""
    _refuse_bulk(text, name)
    repeated: list[tuple[dict[str, Any], str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    repeated.append((obj, key))
                    break
                seen.add(key)
        return obj

    try:
        doc = json.loads(text, parse_float=Decimal, parse_int=_integer, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise UnreadableInput(
            f"{name} 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近{_json_words(exc.msg)}",
            code="json",
        ) from None
    except RecursionError:
        raise UnreadableInput(f"{name} 嵌套层数过多，不是上报格式的 JSON", code="json") from None
    _refuse_ambiguous(doc, repeated, name)
    return doc


#: Bounds that hold before any object is built: a report has a few dozen objects and lists and a few
#: hundred values; texts may hold commas, up to :data:`MAX_TEXT` characters in each cell.
MAX_CONTAINERS = 10_000
MAX_COMMAS = 500_000


def _refuse_bulk(text: str, name: str) -> None:
    """Refuse JSON with far more objects, lists or values than a report (counted in the text, so
    a file of millions of ``[]`` costs a scan, not millions of Python objects)."""
    containers = text.count("[") + text.count("{")
    commas = text.count(",")
    if containers > MAX_CONTAINERS or commas > MAX_COMMAS:
        what = f"{containers} 个列表或对象" if containers > MAX_CONTAINERS else f"{commas} 个逗号"
        raise UnreadableInput(f"{name} 中有 {what}，远多于一份报表所有的，不是上报格式的 JSON",
                              code="too_large")


_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")


#: The json module's complaints in Chinese (the start of its English text → what is wrong).
_JSON_PROBLEMS = {
    "Expecting value": "缺少一个值（或文件是空的）",
    "Expecting property name enclosed in double quotes": "应当是用双引号括起的名称（多了逗号，或名称没有加双引号）",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Unterminated string": "一段文字缺少结尾的双引号",
    "Invalid control character": "文字中有不能直接写的控制字符（如换行），请写成 \\n",
    "Invalid \\escape": "文字中有无效的转义（\\ 后面的字符）",
    "Invalid \\uXXXX escape": "文字中有无效的 \\u 转义",
    "Extra data": "JSON 已经结束，后面还有多余的内容",
}


def _json_words(msg: str) -> str:
    for start, words in _JSON_PROBLEMS.items():
        if msg.startswith(start):
            return f"有语法错误：{words}"
    return "有语法错误"


def _refuse_ambiguous(doc: Any, repeated: list[tuple[dict[str, Any], str]], name: str) -> None:
    """Refuse a key written twice in one object (which value counts?), and text no workbook can
    hold: a NUL character, half of a surrogate pair (``\\ud800``), more than :data:`MAX_TEXT`
    characters.  The message names the place, as dotted keys."""
    twice = {id(obj): key for obj, key in repeated}
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            _check_text(node, where, name)
        elif isinstance(node, dict):
            if id(node) in twice:
                inside = f"“{_shown(where)}”中" if where else "最外层"
                raise UnreadableInput(
                    f"{name} {inside}的键“{_shown(twice[id(node)])}”写了不止一次，不知道哪一个算数；"
                    "请只保留一个", code="duplicate_key")
            for key, value in node.items():
                here = f"{where}.{key}" if where else key
                _check_text(key, here, name)
                stack.append((value, here))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))
    if repeated:  # a repeated key inside a value that a later copy of its own key replaced
        raise UnreadableInput(f"{name} 中的键“{_shown(repeated[0][1])}”写了不止一次，不知道哪一个算数；"
                              "请只保留一个", code="duplicate_key")


def _check_text(text: str, where: str, name: str) -> None:
    place = f"“{_shown(where)}”" if where else "文字"
    if len(text) > MAX_TEXT:
        raise UnreadableInput(
            f"{name} 中{place}有 {len(text)} 个字符，超过了一个单元格最多能容纳的 {MAX_TEXT} 个；"
            "请缩短", code="text_too_long")
    bad = _UNWRITABLE.search(text)
    if bad is None:
        return
    what = ("空字符（\\u0000）" if bad.group() == "\x00"
            else f"不完整的 Unicode 字符（\\u{ord(bad.group()):04x}，代理项缺了另一半）")
    raise UnreadableInput(f"{name} 中{place}含有{what}，无法写进工作簿；请删去它",
                          code="bad_character")


def _shown(where: str, limit: int = 80) -> str:
    """A place in a message: characters that cannot be printed escaped, a long one shortened."""
    text = _UNWRITABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", where)
    return text if len(text) <= limit else f"{text[:limit]}…"


def _integer(text: str) -> int | Decimal:
    """A JSON integer; one too long for a count stays a Decimal (the value policy refuses it)
    instead of costing quadratic time, or an exception, in ``int()``."""
    return int(text) if len(text) <= 20 else Decimal(text)


def load(path: Path, *, max_bytes: int = 20 * 1024 * 1024) -> Any:
    """Read a JSON file (UTF-8, BOM tolerated) with the same guarantees as :func:`loads`."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableInput(f"{path.name} 太大（{size} 字节），不是一份报表", code="too_large")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableInput(f"找不到文件 {path}", code="not_found") from None
    except IsADirectoryError:
        raise UnreadableInput(f"{path} 是文件夹，不是 JSON 文件", code="not_found") from None
    except OSError as exc:
        raise UnreadableInput(f"无法读取 {path}：{os_reason(exc)}", code="not_found") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableInput(f"{path.name} 不是 UTF-8 编码的文本，不是上报格式的 JSON",
                              code="json") from None
    return loads(text, name=path.name)


def flatten(doc: Mapping[str, Any], spec: Spec) -> dict[str, Any]:
    """The value of every cell key present in ``doc`` (absent keys are simply missing)."""
    out: dict[str, Any] = {}
    for key in spec.cells:
        node: Any = doc
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
        else:
            out[key] = node
    return out


def nest(values: Mapping[str, Any], spec: Spec, **meta: Any) -> dict[str, Any]:
    """Build the nested upload object, keys in printed order, with ``edition`` first."""
    doc: dict[str, Any] = {"edition": spec.edition}
    for key in spec.cells:
        if key not in values:
            continue
        *parents, leaf = key.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = values[key]
    doc.update({k: v for k, v in meta.items() if v is not None})
    return doc


def dumps(obj: Any, *, indent: int | None = 1) -> str:
    """JSON text with every Decimal written exactly as it is (no float conversion)."""
    out: list[str] = []
    _encode(obj, indent, 0, out)
    if indent is not None:
        out.append("\n")
    return "".join(out)


def _encode(obj: Any, indent: int | None, level: int, out: list[str]) -> None:
    """Append the JSON of ``obj`` to ``out``."""
    text = _scalar(obj)
    if text is not None:
        out.append(text)
    elif isinstance(obj, Mapping):
        _container("{", "}", obj.items(), indent, level, True, out)
    elif isinstance(obj, (list, tuple)):
        _container("[", "]", obj, indent, level, False, out)
    elif isinstance(obj, Decimal):  # a subclass
        out.append(_decimal(obj))
    else:
        out.append(json.dumps(obj, ensure_ascii=False))


def _scalar(obj: Any) -> str | None:
    """The JSON of a string, int, Decimal or None (without ``json.dumps``: a report has
    hundreds of them), else None."""
    kind = type(obj)
    if kind is int:
        return int.__repr__(obj)
    if obj is None:
        return "null"
    if kind is str:
        return _string(obj)
    if kind is Decimal:
        return _decimal(obj)
    return None


def _container(
    open_: str,
    close: str,
    items: Iterable[Any],
    indent: int | None,
    level: int,
    keyed: bool,
    out: list[str],
) -> None:
    pad = "" if indent is None else "\n" + " " * (indent * (level + 1))
    end = "" if indent is None else "\n" + " " * (indent * level)
    lead, later, empty = open_ + pad, (", " if indent is None else ",") + pad, True
    for item in items:
        if keyed:
            key, value = item
            lead += _string(str(key)) + ": "
        else:
            value = item
        text = _scalar(value)
        if text is not None:
            out.append(lead + text)
        else:
            out.append(lead)
            _encode(value, indent, level + 1, out)
        lead, empty = later, False
    out.append(open_ + close if empty else end + close)


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as JSON")
    return format(value, "f")
