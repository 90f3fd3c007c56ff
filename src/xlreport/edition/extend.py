"""Custom editions: a spec file that ``extends`` another edition and lists what it changes.

A province that needs one more row or one more rule does not copy a whole edition; it writes::

    extends: "2021"                    # a built-in edition, or a spec file (relative to this one)
    edition: "2021-fj"
    template_version: "1"
    changes:
      - add_row: {key: online, label: 其中：网上申请}
        after: requests.new
      - add_rule: {id: online_part, severity: warning, description: …, check: …}

:func:`resolve` turns such a file into the complete spec data (what ``xlreport spec export``
prints); :func:`xlreport.spec.from_data` then checks and builds it like a built-in edition.  A
mistake is reported at the file and line where it was written — in this file or in the one it
extends — through a :class:`Trace`.

A row or column is named by its *path*: the block prefix, then the keys of the headings from the
top of the tree down (``requests.results.other.misc``, ``requests.commercial``).  Headings without
a key (法人或其他组织) are skipped, or named by their label.  When the same path exists in
several blocks (``proactive.decisions``), ``block:`` names the block by its caption or sheet name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import SpecError
from .source import Locate, builtin_path, check_shape, read
from .spec import BUILTIN_EDITIONS

#: Every change a custom spec can make, with the other items each one takes.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "add_row": ("after", "before", "under", "block"),
    "add_column": ("after", "before", "under", "block"),
    "relabel_row": ("label", "block"),
    "relabel_column": ("label", "block"),
    "remove_row": ("block",),
    "remove_column": ("block",),
    "add_sheet": ("after", "before"),
    "add_rule": (),
    "replace_rule": (),
    "remove_rule": (),
}
#: Top-level items a custom spec may set; ``edition`` and ``template_version`` it must set.
OVERRIDES = ("edition", "title", "document", "template_version", "years")

_AXIS = {"row": ("rows", "行", "requests.results.other"), "column": ("columns", "列", "requests.commercial")}


class Trace:
    """Where each part of resolved spec data was written: ``trace(path)`` → ``file 第 N 行``.

    Every dict and list of the resolved data is registered with the locator of the file it came
    from and its path there, so inserting a row or removing a rule shifts no line number.
    """

    def __init__(
        self, root: Any, origins: dict[int, tuple[Locate, list[Any]]], name: str = ""
    ) -> None:
        self.root, self.origins, self.name = root, origins, name

    @classmethod
    def of(cls, data: Any, locate: Locate) -> Trace:
        """A trace of complete data read from one file."""
        trace = cls(data, {})
        trace.register(data, locate, [])
        return trace

    def register(self, obj: Any, locate: Locate, path: list[Any]) -> None:
        """Record that ``obj`` (and everything in it) was written at ``path`` by ``locate``."""
        if isinstance(obj, dict):
            self.origins[id(obj)] = (locate, path)
            for key, value in obj.items():
                self.register(value, locate, [*path, key])
        elif isinstance(obj, list):
            self.origins[id(obj)] = (locate, path)
            for i, value in enumerate(obj):
                self.register(value, locate, [*path, i])

    def __call__(self, where: list[Any]) -> str:
        node: Any = self.root
        top = locate = self.origins[id(node)][0]
        base: list[Any] = []
        rest: list[Any] = []
        for step in where:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                node = None
            origin = self.origins.get(id(node)) if isinstance(node, (dict, list)) else None
            if origin is not None:
                (locate, base), rest = origin, []
            else:
                rest.append(step)
        text = locate([*base, *rest])
        return f"{self.name} 所扩展的{text}" if locate is not top and self.name else text


def resolve(
    data: Any, locate: Locate, source: Path, _seen: tuple[Path, ...] = ()
) -> tuple[Any, Locate]:
    """The complete spec data of ``data`` and a locator for it; ``data`` itself unless it extends."""
    if not isinstance(data, dict) or "extends" not in data:
        return data, locate
    for name in ("sheets", "rules"):
        if name in data:
            raise SpecError(
                f"{locate([name])}：扩展其他版本（extends）的规格文件不能再写 {name}；"
                "请在 changes 中用 add_sheet、add_row、add_rule 等逐项修改",
                code="spec",
            )
    check_shape(data, locate)
    base_path = _base_path(data["extends"], source, locate)
    seen = (*_seen, source.resolve())
    if base_path.resolve() in seen:
        raise SpecError(f"{locate(['extends'])}：extends 循环引用了 {base_path.name}", code="spec")
    base_raw, base_locator = read(base_path)
    base, base_locate = resolve(base_raw, base_locator, base_path, seen)
    check_shape(base, base_locate)
    origins = base_locate.origins if isinstance(base_locate, Trace) else Trace.of(base, base_locate).origins

    out = dict(base)
    out.update({key: data[key] for key in OVERRIDES if key in data})
    trace = Trace(out, origins, source.name)
    origins[id(out)] = (locate, [])
    if "publication" in data:
        out["publication"] = {**base.get("publication", {}), **data["publication"]}
        trace.register(data["publication"], locate, ["publication"])
    if "migrations" in data:
        out["migrations"] = [*base.get("migrations", []), *data["migrations"]]
        for i, item in enumerate(data["migrations"]):
            trace.register(item, locate, ["migrations", i])
    out.setdefault("rules", [])
    for i, change in enumerate(data.get("changes", [])):
        _apply(out, change, _Where(locate, ["changes", i]), trace)
    return out, trace


class _Where:
    """A change's place in its file, for messages."""

    def __init__(self, locate: Locate, path: list[Any]) -> None:
        self.locate, self.path = locate, path

    def __call__(self, *steps: Any) -> str:
        return self.locate([*self.path, *steps])

    def error(self, text: str, *steps: Any) -> SpecError:
        return SpecError(f"{self(*steps)}：{text}", code="spec")


def _base_path(value: Any, source: Path, locate: Locate) -> Path:
    name = str(value)
    if name in BUILTIN_EDITIONS:
        return builtin_path(name)
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = source.parent / path
    if not path.is_file():
        raise SpecError(
            f"{locate(['extends'])}：“{name}”既不是内置版本（{'、'.join(BUILTIN_EDITIONS)}），"
            f"也找不到这个规格文件（{path}）",
            code="spec_missing",
        )
    return path


def _apply(data: dict[str, Any], change: dict[str, Any], where: _Where, trace: Trace) -> None:
    ops = [key for key in change if key in OPERATIONS]
    if len(ops) != 1:
        raise where.error(
            f"每一项修改要写且只写一个操作（{'、'.join(OPERATIONS)} 之一），这里写了 {len(ops)} 个"
        )
    op = ops[0]
    if extra := [key for key in change if key != op and key not in OPERATIONS[op]]:
        raise where.error(f"{op} 不能和 {extra[0]} 一起写", extra[0])
    kind = op.rpartition("_")[2]
    if op.startswith("add_") and kind in _AXIS:
        _add_node(data, change, op, kind, where, trace)
    elif op.startswith("relabel_"):
        if "label" not in change:
            raise where.error(f"{op} 要同时写 label（新的标签）")
        siblings, i = _find(data, change[op], kind, change.get("block"), where, op)
        siblings[i]["label"] = change["label"]
    elif op.startswith("remove_") and kind in _AXIS:
        siblings, i = _find(data, change[op], kind, change.get("block"), where, op)
        if len(siblings) == 1:
            raise where.error(
                f"“{change[op]}”是所在位置唯一的{_AXIS[kind][1]}，不能删除；请删除它的上一级", op
            )
        del siblings[i]
    elif op == "add_sheet":
        _add_sheet(data, change, where, trace)
    else:
        _change_rule(data["rules"], change[op], op, where, trace)


def _add_node(
    data: dict[str, Any], change: dict[str, Any], op: str, kind: str, where: _Where, trace: Trace
) -> None:
    places = [key for key in ("after", "before", "under") if key in change]
    if len(places) != 1:
        raise where.error(f"{op} 要用 after、before 或 under 中的一项（且只用一项）写明加在哪里")
    place = places[0]
    siblings, i = _find(data, change[place], kind, change.get("block"), where, place)
    if place == "under":
        siblings, i = siblings[i].setdefault("children", []), len(siblings[i].get("children", []))
    elif place == "after":
        i += 1
    node = change[op]
    if node.get("key") and any(n.get("key") == node["key"] for n in siblings):
        raise where.error(f"同一位置已有键名为“{node['key']}”的{_AXIS[kind][1]}", op, "key")
    siblings.insert(i, node)
    trace.register(node, where.locate, [*where.path, op])


def _find(
    data: dict[str, Any], path: Any, kind: str, block: str | None, where: _Where, step: str
) -> tuple[list[dict[str, Any]], int]:
    """The list holding the row/column at ``path`` and its index there."""
    axis, word, example = _AXIS[kind]
    path = str(path)
    segs = path.split(".")
    found: list[tuple[str, list[dict[str, Any]], int]] = []
    known: list[str] = []
    for sheet in data["sheets"]:
        for blk in sheet["blocks"]:
            if block is not None and block not in (blk.get("caption"), sheet["name"]):
                continue
            name = blk.get("caption") or sheet["name"]
            prefix = blk["prefix"].split(".")
            known += [".".join([*prefix, *p]) for p in _paths(blk.get(axis, []))]
            if segs[: len(prefix)] == prefix and len(segs) > len(prefix):
                found += [(name, *hit) for hit in _descend(blk.get(axis, []), segs[len(prefix):])]
    if not found:
        import difflib  # deferred: only a misspelt path needs a suggestion

        close = difflib.get_close_matches(path, known, n=1)
        hint = f"；是不是“{close[0]}”？" if close else f"；{word}的位置写作“表格块前缀.键名”，如 {example}"
        within = f"（在表格块“{block}”中）" if block is not None else ""
        raise where.error(f"没有找到{word}“{path}”{within}{hint}", step)
    if len(found) > 1:
        blocks = "、".join(dict.fromkeys(name for name, _, _ in found))
        raise where.error(
            f"“{path}”在多个表格块中都有（{blocks}），请加 block: 写明是哪一块（表格块标题或工作表名称）",
            step,
        )
    _, siblings, i = found[0]
    return siblings, i


def _descend(nodes: list[dict[str, Any]], rest: list[str]) -> Iterator[tuple[list[Any], int]]:
    for i, node in enumerate(nodes):
        if (node.get("key") or node["label"]) == rest[0]:
            if len(rest) == 1:
                yield nodes, i
            else:
                yield from _descend(node.get("children", []), rest[1:])
        if not node.get("key"):
            yield from _descend(node.get("children", []), rest)


def _paths(nodes: list[dict[str, Any]], above: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for node in nodes:
        here = (*above, node["key"]) if node.get("key") else above
        if node.get("key"):
            yield here
        yield from _paths(node.get("children", []), here)


def _add_sheet(data: dict[str, Any], change: dict[str, Any], where: _Where, trace: Trace) -> None:
    sheets = data["sheets"]
    names = [s["name"] for s in sheets]
    places = [key for key in ("after", "before") if key in change]
    if len(places) > 1:
        raise where.error("add_sheet 只能用 after 或 before 中的一项")
    index = len(sheets)
    if places:
        anchor = str(change[places[0]])
        if anchor not in names:
            raise where.error(f"没有名为“{anchor}”的工作表（现有：{'、'.join(names)}）", places[0])
        index = names.index(anchor) + (places[0] == "after")
    sheet = change["add_sheet"]
    if sheet["name"] in names:
        raise where.error(f"已有名为“{sheet['name']}”的工作表", "add_sheet", "name")
    sheets.insert(index, sheet)
    trace.register(sheet, where.locate, [*where.path, "add_sheet"])


def _change_rule(
    rules: list[dict[str, Any]], value: Any, op: str, where: _Where, trace: Trace
) -> None:
    if op == "add_rule":
        rules.append(value)
        trace.register(value, where.locate, [*where.path, op])
        return
    rule_id = value["id"] if op == "replace_rule" else str(value)
    ids = [r.get("id") for r in rules]
    if rule_id not in ids:
        raise where.error(f"没有编号为“{rule_id}”的规则（现有：{'、'.join(map(str, ids))}）", op)
    i = ids.index(rule_id)
    if op == "remove_rule":
        del rules[i]
    else:
        rules[i] = value
        trace.register(value, where.locate, [*where.path, op])
