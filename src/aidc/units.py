"""SI constants and formatters: the only place where 1e9 or 2**30 appear.

Inside aidc every quantity is in SI base units (s, B, B/s, FLOP, FLOP/s, W, J, USD)
and carries its unit in its name (``hbm_bw_bytes_per_s``, ``ttft_s``). Conversions
happen only at the edges: catalog parsing and report formatting.

Decimal prefixes are used for rates and counts (a 175e9-parameter model is "175 B");
binary prefixes (GiB) are said explicitly where binary is meant.
"""

from __future__ import annotations

import math

# Decimal prefixes
KILO = 1e3
MEGA = 1e6
GIGA = 1e9
TERA = 1e12
PETA = 1e15
EXA = 1e18

# Binary prefixes
KiB = 2**10
MiB = 2**20
GiB = 2**30
TiB = 2**40

# Time
SECOND = 1.0
MILLISECOND = 1e-3
MICROSECOND = 1e-6
MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0
YEAR = 365.25 * DAY

# Energy
JOULES_PER_KWH = 3.6e6

BITS_PER_BYTE = 8


def gb_to_bytes(gb: float) -> float:
    """Vendor (decimal) gigabytes to bytes."""
    return gb * GIGA


def gib_to_bytes(gib: float) -> float:
    return gib * GiB


def gbit_per_s_to_bytes_per_s(gbit_per_s: float) -> float:
    """Line rate in Gb/s to B/s (no encoding overhead applied)."""
    return gbit_per_s * GIGA / BITS_PER_BYTE


def tflops_to_flops(tflops: float) -> float:
    return tflops * TERA


def joules_to_kwh(joules: float) -> float:
    return joules / JOULES_PER_KWH


def _si(value: float, unit: str, digits: int = 3) -> str:
    """Format with a decimal SI prefix: 1.5e12 FLOP/s -> '1.50 TFLOP/s'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf"
    prefixes = [(EXA, "E"), (PETA, "P"), (TERA, "T"), (GIGA, "G"), (MEGA, "M"), (KILO, "k")]
    mag = abs(value)
    for factor, prefix in prefixes:
        if mag >= factor:
            return f"{value / factor:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}"


def fmt_flops(flops: float) -> str:
    return _si(flops, "FLOP")


def fmt_flops_per_s(flops_per_s: float) -> str:
    return _si(flops_per_s, "FLOP/s")


def fmt_bytes(n_bytes: float) -> str:
    """Bytes with binary prefixes (memory sizes are binary in practice)."""
    if n_bytes is None or math.isnan(n_bytes):
        return "n/a"
    mag = abs(n_bytes)
    for factor, prefix in [(TiB, "TiB"), (GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")]:
        if mag >= factor:
            return f"{n_bytes / factor:.3g} {prefix}"
    return f"{n_bytes:.0f} B"


def fmt_bytes_decimal(n_bytes: float) -> str:
    return _si(n_bytes, "B")


def fmt_bytes_per_s(bytes_per_s: float) -> str:
    return _si(bytes_per_s, "B/s")


def fmt_count(n: float) -> str:
    """A count with decimal prefix: 175e9 -> '175 B' (billions), 1.2e6 -> '1.2 M'."""
    if n is None or math.isnan(n):
        return "n/a"
    mag = abs(n)
    for factor, suffix in [(TERA, "T"), (GIGA, "B"), (MEGA, "M"), (KILO, "k")]:
        if mag >= factor:
            return f"{n / factor:.3g} {suffix}"
    return f"{n:.3g}"


def fmt_seconds(seconds: float) -> str:
    """Human duration: 0.0123 -> '12.3 ms', 90000 -> '1.04 d'."""
    if seconds is None or math.isnan(seconds):
        return "n/a"
    if math.isinf(seconds):
        return "inf"
    mag = abs(seconds)
    if mag < MILLISECOND:
        return f"{seconds / MICROSECOND:.3g} µs"
    if mag < SECOND:
        return f"{seconds / MILLISECOND:.3g} ms"
    if mag < MINUTE:
        return f"{seconds:.3g} s"
    if mag < HOUR:
        return f"{seconds / MINUTE:.3g} min"
    if mag < DAY:
        return f"{seconds / HOUR:.3g} h"
    return f"{seconds / DAY:.3g} d"


def fmt_watts(watts: float) -> str:
    return _si(watts, "W")


def fmt_usd(usd: float) -> str:
    if usd is None or math.isnan(usd):
        return "n/a"
    mag = abs(usd)
    if mag >= GIGA:
        return f"${usd / GIGA:.3g} B"
    if mag >= MEGA:
        return f"${usd / MEGA:.3g} M"
    if mag >= KILO:
        return f"${usd / KILO:.3g} k"
    return f"${usd:.3g}"
