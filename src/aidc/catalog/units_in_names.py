"""Convert human units in data-file field names to SI (the catalog's edge).

Data files are written for people: ``memory_gb: 80``, ``hbm_bw_tb_per_s: 3.35``,
``peak_tflops: {bf16: 989.4}``, ``latency_us: 0.6``. On load each key's unit token is
replaced by its SI unit and the value scaled: ``memory_bytes: 80e9``. A key may carry
one unit token; the token must stand between underscores or at the end of the name.
"""

from __future__ import annotations

from typing import Any

from aidc import units

# (token in the data file, SI token, factor). Longer tokens first.
_UNIT_TOKENS: tuple[tuple[str, str, float], ...] = (
    ("gbit_per_s", "bytes_per_s", units.GIGA / units.BITS_PER_BYTE),
    ("tb_per_s", "bytes_per_s", units.TERA),
    ("gb_per_s", "bytes_per_s", units.GIGA),
    ("mb_per_s", "bytes_per_s", units.MEGA),
    ("tflops", "flops_per_s", units.TERA),
    ("gib", "bytes", units.GiB),
    ("tb", "bytes", units.TERA),
    ("gb", "bytes", units.GIGA),
    ("mb", "bytes", units.MEGA),
    ("ghz", "hz", units.GIGA),
    ("us", "s", units.MICROSECOND),
    ("ms", "s", units.MILLISECOND),
    ("kw", "w", units.KILO),
)


def si_key(key: str) -> tuple[str, float]:
    """Map a data-file key to its SI key and the factor that scales its value.

    Prices (keys containing ``usd``) keep their stated unit: ``usd_per_tb_month`` is a
    price per decimal terabyte, which reads better than a price per byte.
    """
    parts = key.split("_")
    if "usd" in parts:
        return key, 1.0
    for token, si_token, factor in _UNIT_TOKENS:
        tparts = token.split("_")
        n = len(tparts)
        for start in range(1, len(parts) - n + 1):  # never the first word
            if parts[start : start + n] == tparts:
                new = [*parts[:start], *si_token.split("_"), *parts[start + n :]]
                return "_".join(new), factor
    return key, 1.0


def _scale(value: Any, factor: float) -> Any:
    if factor == 1.0 or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value) * factor
    if isinstance(value, dict):
        return {k: _scale(v, factor) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scale(v, factor) for v in value]
    return value


def to_si(record: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``record`` with unit-bearing keys converted to SI."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        new_key, factor = si_key(key)
        out[new_key] = _scale(value, factor)
    return out
