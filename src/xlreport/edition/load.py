"""Loading an edition: a built-in one, a spec file, or parsed data, resolved (``extends``), checked
and built into a :class:`~xlreport.edition.spec.Spec` with its rules and migration declarations."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import SpecError, UsageError
from . import extend
from . import rules as rules_mod
from .publication import from_data as publication_of
from .source import (
    Deferred,
    Locate,
    Locator,
    builtin_path,
    check_shape,
    digest,
    dump,
    precompiled,
    read,
)
from .spec import BUILTIN_EDITIONS, DEFAULT_EDITION, Spec, expand, sheet_of


@cache
def builtin(edition: str = DEFAULT_EDITION) -> Spec:
    """A built-in edition (cached)."""
    if edition not in BUILTIN_EDITIONS:
        raise UsageError(
            f"没有“{edition}”这个格式版本；内置版本为 {'、'.join(BUILTIN_EDITIONS)}，"
            "自定义版本请用 --spec 指定规格文件"
        )
    path = builtin_path(edition)
    data = precompiled(edition)
    if data is None:
        return load(path, checked=True)
    return from_data(data, source=str(path), locate=Deferred(path), checked=True)


def load(path: Path, *, checked: bool = False) -> Spec:
    """Load and validate a spec file; any mistake raises :class:`SpecError` naming file and place.

    ``checked`` skips the spec-schema check, for the built-in editions: the tests check them, and
    the check costs importing jsonschema at every start of the command line.
    """
    data, locate = read(path)
    return from_data(data, source=str(path), locate=locate, checked=checked)


def lint(path: Path) -> tuple[Spec, list[str]]:
    """Load a spec file (as :func:`load`) and list what it allows but is probably a mistake: a
    rule whose ``over`` lists only part of a set of rows or columns (:meth:`Rule.gaps`), each
    warning with the file and line of that list."""
    data, locator = read(path)
    spec, locate = _build(data, str(path), locator, checked=False)
    warnings = [
        f"{locate(['rules', i, 'over', var])}：{text}"
        for i, rule in enumerate(spec.rules)
        for var, text in rule.gaps(spec)
    ]
    return spec, warnings


def from_data(
    data: Any, *, source: str = "<spec>", locate: Locate | None = None, checked: bool = False
) -> Spec:
    """Build a :class:`Spec` from already-parsed data (validated against the spec schema unless
    it is known to be ``checked``).

    Data that ``extends`` another edition is resolved first (:mod:`xlreport.edition.extend`); the digest
    is that of the resolved data.
    """
    return _build(data, source, locate or Locator(Path(source), None), checked)[0]


def _build(data: Any, source: str, locate: Locate, checked: bool) -> tuple[Spec, Locate]:
    """The spec of ``data`` and the locator of its resolved data."""
    data, locate = extend.resolve(data, locate, Path(source))
    if not checked:
        check_shape(data, locate)
    sheets = tuple(sheet_of(s) for s in data["sheets"])
    cells, titles = expand(sheets, locate)
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
    parsed_rules, expanded = [], []
    for i, raw in enumerate(data.get("rules", [])):
        try:
            rule = rules_mod.Rule.from_data(raw)
            expanded += rule.expand(spec)  # the checks depend on the cells, not on other rules
        except rules_mod.RuleError as exc:
            raise SpecError(f"{locate(['rules', i])}：规则“{raw.get('id')}”有误：{exc}") from None
        parsed_rules.append(rule)
    ids = [r.id for r in parsed_rules]
    for i, rid in enumerate(ids):
        if rid in ids[:i]:
            raise SpecError(f"{locate(['rules', i, 'id'])}：规则编号“{rid}”重复")
    publication = None
    if "publication" in data:
        publication = publication_of(data["publication"], sheets, cells, locate)
    spec = replace(spec, rules=tuple(parsed_rules), expanded=tuple(expanded),
                   migration_data=tuple(data.get("migrations", [])), locate=locate,
                   publication=publication)
    if not checked:
        _ = spec.migrations  # a spec file's mistakes are found when it is loaded
    return spec, locate


def resolved(path: Path) -> Any:
    """The complete data of a spec file, with ``extends`` and ``changes`` applied."""
    data, locate = read(path)
    return extend.resolve(data, locate, path)[0]


def exported(edition: str | None = None, spec_file: Path | None = None) -> str:
    """A complete spec file, the starting point of a custom edition: a built-in edition's own
    file (its comments kept), or ``spec_file`` checked, with ``extends`` and ``changes`` merged."""
    if spec_file is None:
        return builtin_path(builtin(edition or DEFAULT_EDITION).edition).read_text("utf-8")
    if edition:
        raise UsageError("--edition 和 --spec 只能用一个")
    load(spec_file)
    note = f"# 由 xlreport spec export 从 {spec_file.name} 展开（extends 和 changes 已经合并）。\n"
    return note + dump(resolved(spec_file))
