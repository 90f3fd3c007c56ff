"""The committed upload schemas are what the spec generates, and they describe real reports."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest

from conftest import EXAMPLE_NAMES, REPO, example, modified, run_cli
from xlreport import edition as spec_mod
from xlreport.checks.schema import generate


def committed(edition: str) -> dict:
    return json.loads((REPO / "schema" / f"report-{edition}.schema.json").read_text("utf-8"))


@pytest.mark.parametrize("edition", spec_mod.BUILTIN_EDITIONS)
def test_committed_schema_is_current(edition: str) -> None:
    assert committed(edition) == json.loads(json.dumps(generate(spec_mod.builtin(edition)))), (
        f"schema/report-{edition}.schema.json is stale: run "
        f"`xlreport schema -e {edition} -o schema/report-{edition}.schema.json`"
    )


def test_cli_writes_the_same_schema(tmp_path) -> None:
    out = tmp_path / "s.json"
    proc = run_cli("schema", "--edition", "2019", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text("utf-8")) == committed("2019")


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_conform(name: str) -> None:
    doc = json.loads(json.dumps(example(name), default=float))
    schema = committed(doc["edition"])
    jsonschema.Draft202012Validator.check_schema(schema)
    assert not list(jsonschema.Draft202012Validator(schema).iter_errors(doc))


def test_labels_and_types() -> None:
    schema = committed("2021")
    requests = schema["properties"]["requests"]
    assert requests["title"] == "三、收到和处理政府信息公开申请情况"
    new = requests["properties"]["new"]
    assert new["title"] == "一、本年新收政府信息公开申请数量"
    assert new["properties"]["commercial"]["title"] == "法人或其他组织/商业企业"
    assert new["properties"]["commercial"]["type"] == ["integer", "null"]
    assert new["properties"]["commercial"]["minimum"] == 0
    fees = schema["properties"]["proactive"]["properties"]["fees"]["properties"]["amount"]
    assert fees["type"] == ["number", "null"] and fees["minimum"] == 0
    change = committed("2019")["properties"]["proactive"]["properties"]["licensing"]["properties"][
        "change"
    ]
    assert change["type"] == ["integer", "null"] and "minimum" not in change
    assert new["properties"]["total"]["x-sum-of"][0] == "requests.new.natural_person"


def test_schema_rejects_what_it_must() -> None:
    validator = jsonschema.Draft202012Validator(committed("2021"))
    doc = json.loads(json.dumps(example("pingtan_2021"), default=float))
    assert not validator.is_valid(modified(doc, "requests.new.natural_person", -1))
    assert not validator.is_valid(modified(doc, "requests.new.natural_person", 1.5))
    assert not validator.is_valid(modified(doc, "unit.year", 2019))
    assert not validator.is_valid(modified(doc, "edition", "2019"))
    assert not validator.is_valid({**doc, "extra": 1})
    assert validator.is_valid({**doc, "_note": "comments are allowed"})
    assert validator.is_valid(modified(doc, "requests.new.natural_person", None))
    assert Decimal(str(doc["proactive"]["fees"]["amount"])) == Decimal("24252.311082")
