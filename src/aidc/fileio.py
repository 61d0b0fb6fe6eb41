"""Reading YAML/JSON documents safely: size cap, alias-bomb guard, one-line errors.

Every user-supplied file goes through :func:`read_document`. It refuses files that are
missing, unreadable, too large, not UTF-8, malformed, or that abuse YAML anchors
("billion laughs"): each failure is an :class:`~aidc.errors.AidcInputError` whose
message is one line naming the file and what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from aidc.errors import AidcInputError

MAX_DOCUMENT_BYTES = 4 * 2**20
"""Scenario and config files are small; anything bigger is a mistake or an attack."""

MAX_EXPANDED_NODES = 200_000
"""Upper bound on YAML nodes after alias expansion (a billion-laughs guard)."""


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents whose alias expansion would explode."""

    def compose_document(self) -> yaml.Node | None:  # type: ignore[override]
        node = super().compose_document()
        if node is not None:
            _check_expanded_size(node)
        return node


def _check_expanded_size(root: yaml.Node) -> None:
    """Count nodes as if every alias were expanded, memoised per node identity."""
    memo: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > 200:
            raise AidcInputError("document nests deeper than 200 levels")
        key = id(node)
        if key in memo:
            return memo[key]
        memo[key] = 1  # cycle guard: a recursive alias counts once
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
        if total > MAX_EXPANDED_NODES:
            raise AidcInputError(
                f"document expands to more than {MAX_EXPANDED_NODES} nodes "
                "(YAML anchors/aliases abuse?)"
            )
        memo[key] = total
        return total

    size(root, 0)


def load_packaged_yaml(text: str) -> Any:
    """Parse YAML that ships with aidc (catalog and calibration data): the safe loader,
    through libyaml's C parser where PyYAML was built with it (about 10x faster; the same
    safe constructors, so no arbitrary Python objects)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def parse_document(text: str, *, name: str, fmt: str | None = None) -> Any:
    """Parse YAML (default) or JSON text. ``name`` is used in messages."""
    if len(text.encode("utf-8", errors="ignore")) > MAX_DOCUMENT_BYTES:
        raise AidcInputError(
            f"{name}: file is larger than {MAX_DOCUMENT_BYTES // 2**20} MiB; "
            "a scenario or config file should be a few KiB"
        )
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise AidcInputError(
                f"{name}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
            ) from None
    try:
        return yaml.load(text, Loader=_GuardedLoader)
    except AidcInputError as err:
        raise AidcInputError(f"{name}: {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = err.problem or "syntax error"
        raise AidcInputError(f"{name}: not valid YAML ({where}: {problem})") from None
    except yaml.YAMLError as err:
        raise AidcInputError(f"{name}: not valid YAML ({type(err).__name__})") from None
    except RecursionError:
        raise AidcInputError(f"{name}: document nests too deeply") from None


def read_document(path: str | Path) -> Any:
    """Read and parse a YAML or JSON file chosen by the user."""
    p = Path(path)
    if not p.exists():
        raise AidcInputError(f"{p}: file not found")
    if p.is_dir():
        raise AidcInputError(f"{p}: is a directory, expected a YAML or JSON file")
    try:
        size = p.stat().st_size
    except OSError as err:
        raise AidcInputError(f"{p}: cannot read ({err.strerror})") from None
    if size > MAX_DOCUMENT_BYTES:
        raise AidcInputError(
            f"{p}: file is {size / 2**20:.1f} MiB, larger than the "
            f"{MAX_DOCUMENT_BYTES // 2**20} MiB allowed for scenario and config files"
        )
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise AidcInputError(f"{p}: cannot read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AidcInputError(f"{p}: not a UTF-8 text file") from None
    fmt = "json" if p.suffix.lower() == ".json" else None
    return parse_document(text, name=str(p), fmt=fmt)
