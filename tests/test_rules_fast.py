"""The rule engine's fast paths (whole numbers added as ints, totals filled in a precomputed
order) decide exactly as the plain definitions do: every cell in Decimal, totals by recursion."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlreport import edition
from xlreport.checks import rules

SPECS = {e: edition.builtin(e) for e in edition.BUILTIN_EDITIONS}


def plain_complete(spec: Any, values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)

    def total(key: str) -> Any:
        if out.get(key) is not None or not spec.cell(key).computed:
            return out.get(key)
        parts = [total(p) for p in spec.cell(key).parts]
        if any(p is None for p in parts):
            return None
        out[key] = sum(parts, start=0)
        return out[key]

    for key, cell in spec.cells.items():
        if cell.computed:
            total(key)
    return out


def plain_sides(check: Any, values: dict[str, Any], prev: dict[str, Any] | None) -> Any:
    out = []
    for side in (check.lhs, check.rhs):
        total = Decimal(0)
        for t in side:
            source = prev if t.prev else values
            value = t.constant if t.key is None else None if source is None else source.get(t.key)
            if value is None:
                return None
            total += t.sign * Decimal(value)
        out.append(total)
    return tuple(out)


NUMBER = (st.none() | st.integers(-3, 50) | st.integers(0, 10**15)
          | st.decimals(0, 10**6, places=2, allow_nan=False, allow_infinity=False))


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fast_rules_decide_as_the_plain_definitions(name: str, data: st.DataObject) -> None:
    spec = SPECS[name]
    numeric = [k for k, c in spec.cells.items() if c.numeric]
    values = {k: data.draw(NUMBER) for k in numeric if not spec.cell(k).computed}
    values |= {k: data.draw(st.none() | st.integers(0, 99)) for k in numeric
               if spec.cell(k).computed and data.draw(st.booleans())}
    prev = data.draw(st.none() | st.just({k: v for k, v in values.items() if v is not None}))
    done = rules.complete(spec, values)
    assert done == plain_complete(spec, values)
    for check in spec.checks():
        found = rules.sides(check, done, prev)
        assert found == plain_sides(check, done, prev)
        if found is not None:
            assert type(found[0]) is Decimal and type(found[1]) is Decimal
            ok = {"=": found[0] == found[1], "<=": found[0] <= found[1],
                  ">=": found[0] >= found[1]}[check.op]
            assert rules.holds(check, *found) is ok
