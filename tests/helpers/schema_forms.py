"""Reading the generated JSON Schema in tests: the alternatives a value accepts, whatever form they take."""

from __future__ import annotations

from typing import Any

from typed_losses.schema import INTERPOLATION_PATTERN

INTERP_REF = {"$ref": "#/definitions/interpolation"}


def branches(prop: dict[str, Any]) -> list[Any]:
    """The alternatives a value accepts, as ``anyOf`` branches.

    A value of plain JSON types (``number``, ``integer``, ``null``, lists, mappings) or an interpolation is
    written as a ``type`` list with ``if``/``then``/``else`` (``schema._or_interpolation``); it is unfolded here
    into the branches it is equivalent to.
    """
    if "anyOf" in prop:
        return list(prop["anyOf"])
    assert prop["if"] == {"type": "string"} and prop["then"]["pattern"] == INTERPOLATION_PATTERN, prop
    rest = prop.get("else", {})
    return [{"type": t, **rest} if t != "null" else {"type": "null"} for t in prop["type"][:-1]] + [INTERP_REF]
