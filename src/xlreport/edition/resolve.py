"""Which edition reads a document: the one place that reconciles what a report says it is (its
``edition``) with ``--edition`` and ``--spec``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import UnreadableInput, UsageError
from .load import builtin, load
from .spec import BUILTIN_EDITIONS, DEFAULT_EDITION, Spec


def requested(edition: str | None, spec_file: Path | None) -> Spec:
    """The spec asked for on the command line: a custom file, a built-in edition, or the default."""
    if spec_file is not None:
        spec = load(spec_file)
        if edition and edition != spec.edition:
            raise UsageError(f"规格文件 {spec_file.name} 定义的是 {spec.edition} 年版，"
                             f"与 --edition {edition} 不一致")
        return spec
    return builtin(edition or DEFAULT_EDITION)


def edition_of(doc: object, asked: str | None) -> str:
    """The edition a document says it is in, reconciled with ``--edition``."""
    stated = doc.get("edition") if isinstance(doc, Mapping) else None
    if stated is not None and not isinstance(stated, str):
        raise UnreadableInput(f"edition 应为字符串（如 \"2021\"），实际为 {stated!r}", code="edition")
    if asked and stated and asked != stated:
        raise UsageError(
            f"文件声明的格式版本是 {stated}，与 --edition {asked} 不一致", code="edition"
        )
    return asked or stated or ""


def builtin_of(doc: object, what: str) -> Spec:
    """The built-in edition a JSON report declares; ``what`` names the report in the message."""
    edition = edition_of(doc, None)
    if edition not in BUILTIN_EDITIONS:
        raise UnreadableInput(
            f"{what}的格式版本“{edition}”不是内置版本（{'、'.join(BUILTIN_EDITIONS)}）；"
            "自定义版本请用 --spec 指定规格文件",
            code="edition",
        )
    return builtin(edition)


def for_document(doc: object, edition: str | None, spec_file: Path | None) -> Spec:
    """The spec that reads the JSON report ``doc``, given ``--edition`` and ``--spec``."""
    if not isinstance(doc, dict):
        raise UnreadableInput("上报 JSON 的最外层应为对象（{…}）", code="not_object")
    stated = edition_of(doc, None)
    if spec_file is None and stated and not edition:
        return builtin_of(doc, "文件声明")
    spec = requested(edition_of(doc, edition) or None, spec_file)
    if stated and stated != spec.edition:
        raise UnreadableInput(
            f"文件声明的格式版本是 {stated}，而所用规格是 {spec.edition} 年版", code="edition"
        )
    return spec
