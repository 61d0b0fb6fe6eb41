"""Load and validate scenario files; turn pydantic errors into one clear line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aidc.errors import AidcInputError
from aidc.fileio import parse_document, read_document
from aidc.spec.scenario import Scenario

DEFAULT_SCENARIO_NAME = "default.yaml"


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            # pydantic adds the union member's type name to the location; hide it
            if str(item) in {"str", "InlineModel", "float", "int", "literal['auto']", "list[...]"}:
                continue
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _allowed(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return f"; allowed: {ctx['expected']}"
    return ""


def validation_message(err: ValidationError, origin: str) -> str:
    """One line: the first error's field, the problem and, where known, what is allowed."""
    errors = err.errors()
    first = errors[0]
    # Prefer an error from the most specific location (the deepest path).
    first = (
        max(errors, key=lambda e: len(e["loc"])) if first["type"] == "union_tag_invalid" else first
    )
    msg = first["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if first["type"] == "extra_forbidden":
        msg = "unknown field (check spelling; `aidc schema` lists the fields)"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{origin}: {_loc(first['loc'])}: {msg}{_allowed(first)}{more}"


def scenario_from_data(data: Any, *, origin: str) -> Scenario:
    if not isinstance(data, dict):
        got = "empty file" if data is None else type(data).__name__
        raise AidcInputError(f"{origin}: a scenario must be a mapping of fields, got {got}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise AidcInputError(validation_message(err, origin)) from None
    except RecursionError:
        raise AidcInputError(f"{origin}: document nests too deeply") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (YAML or JSON)."""
    return scenario_from_data(read_document(path), origin=str(path))


def default_scenario_text() -> str:
    return resources.files("aidc.spec").joinpath(DEFAULT_SCENARIO_NAME).read_text("utf-8")


def load_default_scenario() -> Scenario:
    """The built-in scenario that mirrors the seed document's cases."""
    text = default_scenario_text()
    return scenario_from_data(parse_document(text, name="<built-in default>"), origin="default")
