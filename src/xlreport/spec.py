"""An edition of the report as data: sheets, blocks, cells and rules, loaded from a YAML spec file.

A spec file describes each table the way it is printed — a block of row labels × column labels,
nested where the official table nests them — and the cells are expanded from that grid: every
(leaf row, leaf column) pair is one cell whose key is the block prefix followed by the keys of the
row and column nodes.  Totals are declared on a row or column node (``total: true``) and each total
cell knows the cells it sums (:attr:`Cell.parts`).  Everything else in xlreport — template, schema,
reader, checks, messages — is derived from the :class:`Spec` built here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import SpecError

#: Field types and what they hold.
TYPES: dict[str, str] = {
    "count": "不小于 0 的整数",
    "signed_count": "整数（可以为负数）",
    "money": "不小于 0 的金额，最多 6 位小数",
    "text": "文字",
    "year": "年份",
    "credit_code": "18 位统一社会信用代码",
}
NUMERIC_TYPES = frozenset({"count", "signed_count", "money"})

DEFAULT_EDITION = "2021"
BUILTIN_EDITIONS = ("2021", "2019")

_CN_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Node:
    """One row or column heading; ``key`` is None for a pure grouping heading (法人或其他组织)."""

    label: str
    key: str | None = None
    children: tuple[Node, ...] = ()
    total: bool = False
    type: str | None = None
    optional: bool | None = None
    required: bool | None = None
    lines: int | None = None
    note: str | None = None

    def leaves(self, path: tuple[Node, ...] = ()) -> Iterator[tuple[Node, ...]]:
        """Paths from this node down to each leaf, in printed order."""
        here = (*path, self)
        if not self.children:
            yield here
        for child in self.children:
            yield from child.leaves(here)


@dataclass(frozen=True)
class Cell:
    """One cell of the report: its upload key, where it is printed, its type, what it sums."""

    key: str
    sheet: str
    table: str
    block: int
    row_path: tuple[str, ...]
    col_path: tuple[str, ...]
    row_index: int
    col_index: int
    type: str
    optional: bool
    parts: tuple[str, ...] = ()

    @property
    def computed(self) -> bool:
        return bool(self.parts)

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def statistic(self) -> bool:
        """A number of the tables: a blank one is read as 0 (with a warning)."""
        return self.numeric and not self.optional

    @property
    def row_label(self) -> str:
        return "/".join(self.row_path)

    @property
    def col_label(self) -> str:
        return "/".join(self.col_path)

    @property
    def short_table(self) -> str:
        return short_table(self.table)

    @property
    def where(self) -> str:
        """Where the cell is printed, in words: ``表三 一、本年新收政府信息公开申请数量，自然人``."""
        row = " / ".join(self.row_path)
        return f"{self.short_table} {row}，{self.col_label}" if self.col_path else (
            f"{self.short_table} {row}"
        )


@dataclass(frozen=True)
class Block:
    """A printed grid: optional caption, corner heading, row and column heading trees."""

    prefix: str
    rows: tuple[Node, ...]
    columns: tuple[Node, ...]
    caption: str | None = None
    corner: str | None = None
    column_caption: str | None = None
    value_header: str | None = None
    transposed: bool = False
    type: str | None = None
    optional: bool = False

    def leaf_rows(self) -> list[tuple[Node, ...]]:
        return [p for node in self.rows for p in node.leaves()]

    def leaf_columns(self) -> list[tuple[Node, ...]]:
        return [p for node in self.columns for p in node.leaves()]


@dataclass(frozen=True)
class Sheet:
    name: str
    title: str
    blocks: tuple[Block, ...]

    @property
    def short(self) -> str:
        return short_table(self.title)


@dataclass(frozen=True, eq=False)
class Spec:
    """A whole edition: metadata, sheets, cells by key (in printed order), rules."""

    edition: str
    title: str
    document: str
    template_version: str
    years: tuple[int, int]
    sheets: tuple[Sheet, ...]
    cells: dict[str, Cell]
    rules: tuple[Any, ...]
    source: str
    digest: str
    titles: dict[str, str] = field(default_factory=dict)
    migrations: tuple[Any, ...] = ()

    def cell(self, key: str) -> Cell:
        return self.cells[key]

    def inputs(self) -> list[Cell]:
        return [c for c in self.cells.values() if not c.computed]

    def sheet(self, name: str) -> Sheet:
        return next(s for s in self.sheets if s.name == name)

    def checks(self) -> list[Any]:
        """Every rule expanded into its single checks (see :mod:`xlreport.rules`)."""
        return [check for rule in self.rules for check in rule.expand(self)]


def short_table(title: str) -> str:
    """``三、收到和处理…`` → ``表三``; other titles are kept as they are."""
    head, sep, _ = title.partition("、")
    return f"表{head}" if sep and head and all(ch in _CN_NUMERALS for ch in head) else title


# --------------------------------------------------------------------------- loading


def builtin_path(edition: str) -> Path:
    return Path(str(resources.files("xlreport") / "editions" / f"{edition}.yaml"))


@cache
def builtin(edition: str = DEFAULT_EDITION) -> Spec:
    """A built-in edition (cached)."""
    if edition not in BUILTIN_EDITIONS:
        from .errors import UsageError

        raise UsageError(
            f"没有“{edition}”这个格式版本；内置版本为 {'、'.join(BUILTIN_EDITIONS)}，"
            "自定义版本请用 --spec 指定规格文件"
        )
    return load(builtin_path(edition), checked=True)


def load(path: Path, *, checked: bool = False) -> Spec:
    """Load and validate a spec file; any mistake raises :class:`SpecError` naming file and place.

    ``checked`` skips the spec-schema check, for the built-in editions: the tests check them, and
    the check costs importing jsonschema at every start of the command line.
    """
    data, locate = read(path)
    return from_data(data, source=str(path), locate=locate, checked=checked)


def read(path: Path) -> tuple[Any, _Locator]:
    """The parsed YAML of a spec file and a locator of its lines (not yet checked)."""
    import yaml

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
    return data, _Locator(path, root)


def from_data(
    data: Any, *, source: str = "<spec>", locate: Locate | None = None, checked: bool = False
) -> Spec:
    """Build a :class:`Spec` from already-parsed data (validated against the spec schema unless
    it is known to be ``checked``).

    Data that ``extends`` another edition is resolved first (:mod:`xlreport.extend`); the digest
    is that of the resolved data.
    """
    from . import extend, migrate
    from . import rules as rules_mod

    locate = locate or _Locator(Path(source), None)
    data, locate = extend.resolve(data, locate, Path(source))
    if not checked:
        check_shape(data, locate)
    sheets = tuple(_sheet(s) for s in data["sheets"])
    cells, titles = _expand(sheets, locate)
    spec = Spec(
        edition=str(data["edition"]),
        title=data["title"],
        document=data.get("document", ""),
        template_version=str(data["template_version"]),
        years=(int(data["years"][0]), int(data["years"][1])),
        sheets=sheets,
        cells=cells,
        rules=(),
        source=source,
        digest=digest(data),
        titles=titles,
    )
    parsed_rules = []
    for i, raw in enumerate(data.get("rules", [])):
        try:
            rule = rules_mod.Rule.from_data(raw)
            rule.expand(spec)
        except rules_mod.RuleError as exc:
            raise SpecError(f"{locate(['rules', i])}：规则“{raw.get('id')}”有误：{exc}") from None
        parsed_rules.append(rule)
    ids = [r.id for r in parsed_rules]
    for i, rid in enumerate(ids):
        if rid in ids[:i]:
            raise SpecError(f"{locate(['rules', i, 'id'])}：规则编号“{rid}”重复")
    spec = replace(spec, rules=tuple(parsed_rules))
    migrations = tuple(
        migrate.Declaration.from_data(raw, spec, locate(["migrations", i]))
        for i, raw in enumerate(data.get("migrations", []))
    )
    return replace(spec, migrations=migrations)


def resolved(path: Path) -> Any:
    """The complete data of a spec file, with ``extends`` and ``changes`` applied."""
    from . import extend

    data, locate = read(path)
    return extend.resolve(data, locate, path)[0]


def digest(data: Any) -> str:
    """sha256 of the spec's content (comments and formatting do not count)."""
    canon = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@cache
def _spec_schema() -> dict[str, Any]:
    text = (resources.files("xlreport") / "editions" / "spec.schema.json").read_text("utf-8")
    return json.loads(text)


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
    import jsonschema

    validator = jsonschema.Draft202012Validator(_spec_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        word = _SCHEMA_WORDS.get(str(err.validator), "不符合规格文件格式")
        raise SpecError(f"{locate(list(err.absolute_path))}：{word}（{err.message}）", code="spec")


def _node(raw: dict[str, Any]) -> Node:
    return Node(
        label=raw["label"],
        key=raw.get("key"),
        children=tuple(_node(c) for c in raw.get("children", ())),
        total=bool(raw.get("total", False)),
        type=raw.get("type"),
        optional=raw.get("optional"),
        required=raw.get("required"),
        lines=raw.get("lines"),
        note=raw.get("note"),
    )


def _sheet(raw: dict[str, Any]) -> Sheet:
    blocks = []
    for b in raw["blocks"]:
        columns = tuple(_node(c) for c in b.get("columns", ())) or (Node(label=""),)
        blocks.append(
            Block(
                prefix=b["prefix"],
                rows=tuple(_node(r) for r in b["rows"]),
                columns=columns,
                caption=b.get("caption"),
                corner=b.get("corner"),
                column_caption=b.get("column_caption"),
                value_header=b.get("value_header"),
                transposed=bool(b.get("transposed", False)),
                type=b.get("type"),
                optional=bool(b.get("optional", False)),
            )
        )
    return Sheet(name=raw["name"], title=raw["title"], blocks=tuple(blocks))


def _labels(path: tuple[Node, ...]) -> tuple[str, ...]:
    return tuple(n.label for n in path if n.label)


def _keys(path: tuple[Node, ...]) -> list[str]:
    return [n.key for n in path if n.key]


def _expand(sheets: tuple[Sheet, ...], locate: Locate) -> tuple[dict[str, Cell], dict[str, str]]:
    """Every cell of every block, in printed order, with the parts of each total."""
    cells: dict[str, Cell] = {}
    titles: dict[str, str] = {}
    for si, sheet in enumerate(sheets):
        for bi, block in enumerate(sheet.blocks):
            titles.setdefault(block.prefix, sheet.title)
            rows, cols = block.leaf_rows(), block.leaf_columns()
            grid: dict[tuple[int, int], str] = {}
            for ri, rpath in enumerate(rows):
                for ci, cpath in enumerate(cols):
                    key = ".".join([block.prefix, *_keys(rpath), *_keys(cpath)])
                    place = ["sheets", si, "blocks", bi]
                    if key in cells:
                        raise SpecError(f"{locate(place)}：单元格键名“{key}”重复", code="spec")
                    _record_titles(titles, block.prefix, rpath, cpath)
                    nodes = (*rpath, *cpath)
                    kind = _first(n.type for n in (*cpath, *rpath)) or block.type or "count"
                    optional = _first(n.optional for n in (*cpath, *rpath))
                    if optional is None:
                        optional = block.optional
                    if _first(n.required for n in nodes):
                        optional = False
                    caption = (block.caption,) if block.caption else ()
                    cells[key] = Cell(
                        key=key,
                        sheet=sheet.name,
                        table=sheet.title,
                        block=bi,
                        row_path=caption + _labels(rpath),
                        col_path=_labels(cpath),
                        row_index=ri,
                        col_index=ci,
                        type=kind,
                        optional=bool(optional),
                    )
                    grid[ri, ci] = key
            _add_totals(cells, grid, rows, cols)
    return cells, titles


def _record_titles(
    titles: dict[str, str], prefix: str, rpath: tuple[Node, ...], cpath: tuple[Node, ...]
) -> None:
    """Label of each key prefix; a heading under a keyless group keeps the group's name
    (法人或其他组织/其他), so that it is never ambiguous."""
    key = prefix
    for path in (rpath, cpath):
        group: list[str] = []
        for node in path:
            if not node.key:
                group.append(node.label)
                continue
            key = f"{key}.{node.key}"
            titles.setdefault(key, "/".join([*group, node.label]))
            group = []


def _first(values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _add_totals(
    cells: dict[str, Cell],
    grid: dict[tuple[int, int], str],
    rows: list[tuple[Node, ...]],
    cols: list[tuple[Node, ...]],
) -> None:
    """A total column sums its sibling leaf columns in each row; a total row sums its sibling
    leaf rows in each column.  Where both meet, the row sum wins (as the printed format does)."""

    def siblings(paths: list[tuple[Node, ...]], index: int) -> list[int]:
        path = paths[index]
        parent = path[:-1]
        return [
            i
            for i, other in enumerate(paths)
            if other[: len(parent)] == parent and not any(n.total for n in other[len(parent) :])
        ]

    for ri in range(len(rows)):
        for ci in range(len(cols)):
            key = grid[ri, ci]
            if cols[ci][-1].total:
                parts = tuple(grid[ri, j] for j in siblings(cols, ci))
            elif rows[ri][-1].total:
                parts = tuple(grid[i, ci] for i in siblings(rows, ri))
            else:
                continue
            cells[key] = replace(cells[key], parts=parts)


Locate = Callable[[list[Any]], str]


class _Locator:
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
    import yaml

    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None
