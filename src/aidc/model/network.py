"""Network fabric: calibrated collective times per tier, and fat-tree / rail sizing.

Collective time (extends the alpha-beta model of :mod:`aidc.model.collectives` with
the two effects measured NCCL data shows and a plain alpha-beta model misses):

    t(op, n, p) = base + step * steps(op, p) + f(op, p) * n / (B * eta(n, p))
    eta(n, p)   = bus_efficiency * (p / 8)^rank_exponent / (1 + (ramp_bytes / n)^ramp_exponent)

* ``n`` is the message in bytes with nccl-tests' convention (all-reduce: the buffer;
  all-gather: the gathered output; reduce-scatter: the input; all-to-all: what each
  rank sends), ``p`` the ranks, ``B`` the link's bandwidth per device and direction.
* ``f`` is the bus factor of the ring algorithm: ``2 (p-1)/p`` for all-reduce,
  ``(p-1)/p`` otherwise (NCCL's busbw convention,
  https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md);
  ``steps`` is ``2 (p-1)`` for all-reduce and ``p-1`` otherwise.
* ``eta`` is the achieved fraction of link bandwidth: NCCL ramps up channels and
  protocols with the message size (the ramp term, ``ramp_exponent <= 1`` keeps time
  non-decreasing in ``n``), and its efficiency changes with the rank count. An
  all-reduce over NVLink SHARP reduces in the switch, so its ``eta`` can exceed 1
  relative to the ring formula.

The parameters per (link, op) are data (``catalog/data/collectives.yaml``), fitted to
measured NCCL latencies (``benchmarks/fit_collectives.py``); links without a fit use
the inter-node defaults there. All functions broadcast over numpy arrays.

Hierarchical collectives (intra-node + inter-node, rail-optimised: one NIC per
device) follow the two-level decomposition NCCL uses across nodes: reduce-scatter
inside the node, all-reduce of the ``1/g`` shard across nodes on ``g`` parallel rails,
all-gather inside the node (Thakur et al. 2005; Jeaugey, "NCCL 2.0", GTC 2017).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from aidc.catalog.schema import CollectiveCurve

ArrayLike = np.ndarray | float

OPS = ("all_reduce", "all_gather", "reduce_scatter", "alltoall")
CURVE_FALLBACK = {
    "nvlink2": "nvlink3",
    "nvlink_bridge": "nvlink3",
    "infinity_fabric": "nvlink4",
    "tpu_ici": "nvlink4",
    "gaudi_roce": "roce-400g",
    "pcie3": "pcie4",
    "pcie6": "pcie5",
}
"""Links without a fitted curve borrow the nearest fitted one of the same kind (others
without one take ``DEFAULT_CURVE_LINK``)."""
DEFAULT_CURVE_LINK = "ib-ndr"


def curve_link(link: str, op: str, fitted: Collection[str]) -> str:
    """The link whose curve stands for ``link`` in collective ``op``: its own where
    ``fitted`` (ids ``<link>-<op with dashes>``) holds one, else :data:`CURVE_FALLBACK`."""
    if f"{link}-{op.replace('_', '-')}" in fitted:
        return link
    return CURVE_FALLBACK.get(link, DEFAULT_CURVE_LINK)


REFERENCE_RANKS = 8.0
"""Rank count at which ``bus_efficiency`` is stated (the size of the fitted systems)."""


@dataclass(frozen=True)
class CurveParams:
    """Calibrated curve of one collective on one link (floats or aligned arrays)."""

    base_latency_s: ArrayLike
    step_latency_s: ArrayLike
    bus_efficiency: ArrayLike
    rank_exponent: ArrayLike = 0.0
    ramp_bytes: ArrayLike = 0.0
    ramp_exponent: ArrayLike = 1.0

    def values(self) -> tuple[ArrayLike, ...]:
        """The six fields in order, as they are (no copies: ``dataclasses.astuple`` would
        deep-copy every array)."""
        return (
            self.base_latency_s,
            self.step_latency_s,
            self.bus_efficiency,
            self.rank_exponent,
            self.ramp_bytes,
            self.ramp_exponent,
        )

    @classmethod
    def of(cls, rec: CollectiveCurve) -> CurveParams:
        """The curve of one ``collectives.yaml`` record."""
        return cls(
            rec.base_latency_s,
            rec.step_latency_s,
            rec.bus_efficiency,
            rec.rank_exponent,
            rec.ramp_bytes,
            rec.ramp_exponent,
        )


def bus_factor(op: str, n_ranks: ArrayLike) -> np.ndarray:
    """Bytes crossing each rank's link per byte of message (ring algorithm)."""
    p = np.maximum(np.asarray(n_ranks, dtype=float), 1.0)
    if op == "all_reduce":
        return 2.0 * (p - 1.0) / p
    if op in ("all_gather", "reduce_scatter", "alltoall"):
        return (p - 1.0) / p
    raise ValueError(f"unknown collective {op!r}; known: {', '.join(OPS)}")


def latency_steps(op: str, n_ranks: ArrayLike) -> np.ndarray:
    p = np.maximum(np.asarray(n_ranks, dtype=float), 1.0)
    return 2.0 * (p - 1.0) if op == "all_reduce" else p - 1.0


def bus_efficiency(n_bytes: ArrayLike, n_ranks: ArrayLike, curve: CurveParams) -> np.ndarray:
    """Achieved fraction of link bandwidth for a message of ``n_bytes`` over ``n_ranks``."""
    n = np.maximum(np.asarray(n_bytes, dtype=float), 1.0)
    p = np.maximum(np.asarray(n_ranks, dtype=float), 2.0)
    ramp = (np.asarray(curve.ramp_bytes, dtype=float) / n) ** np.asarray(curve.ramp_exponent)
    rank = (p / REFERENCE_RANKS) ** np.asarray(curve.rank_exponent, dtype=float)
    return np.asarray(curve.bus_efficiency, dtype=float) * rank / (1.0 + ramp)


def collective_time_s(
    op: str,
    n_bytes: ArrayLike,
    n_ranks: ArrayLike,
    bw_bytes_per_s: ArrayLike,
    curve: CurveParams,
) -> np.ndarray:
    """Calibrated time of one collective (equation in the module docstring), seconds."""
    p = np.asarray(n_ranks, dtype=float)
    n = np.asarray(n_bytes, dtype=float)
    bw = np.asarray(bw_bytes_per_s, dtype=float)
    eta = bus_efficiency(n, p, curve)
    t = (
        np.asarray(curve.base_latency_s, dtype=float)
        + np.asarray(curve.step_latency_s, dtype=float) * latency_steps(op, p)
        + bus_factor(op, p) * n / (bw * eta)
    )
    return np.where(p > 1, t, 0.0)


def hierarchical_allreduce_time_s(
    n_bytes: ArrayLike,
    n_ranks: ArrayLike,
    ranks_per_node: ArrayLike,
    intra_bw_bytes_per_s: ArrayLike,
    intra_curves: dict[str, CurveParams],
    inter_bw_bytes_per_s: ArrayLike,
    inter_curve: CurveParams,
) -> np.ndarray:
    """All-reduce over ``n_ranks`` spread on nodes of ``ranks_per_node``, seconds.

    ``t = RS_intra(n, g) + AR_inter(n / g, N) + AG_intra(n, g)`` with ``g`` ranks per
    node and ``N = p / g`` nodes; each rank's NIC carries its ``1/g`` shard (rail-
    optimised fabric, one NIC per device). Within one node it is the intra-node
    all-reduce.
    """
    p = np.maximum(np.asarray(n_ranks, dtype=float), 1.0)
    g = np.minimum(np.maximum(np.asarray(ranks_per_node, dtype=float), 1.0), p)
    nodes = np.ceil(p / g)
    n = np.asarray(n_bytes, dtype=float)
    single = collective_time_s("all_reduce", n, p, intra_bw_bytes_per_s, intra_curves["all_reduce"])
    rs = collective_time_s(
        "reduce_scatter", n, g, intra_bw_bytes_per_s, intra_curves["reduce_scatter"]
    )
    ag = collective_time_s("all_gather", n, g, intra_bw_bytes_per_s, intra_curves["all_gather"])
    inter = collective_time_s("all_reduce", n / g, nodes, inter_bw_bytes_per_s, inter_curve)
    return np.where(nodes > 1, rs + inter + ag, single)


@dataclass(frozen=True)
class FabricGear:
    """Unit facts of the gear a fabric is built from (one link technology)."""

    switch_ports: float
    switch_power_w: float
    switch_price_usd: float
    nic_power_w: float
    nic_price_usd: float
    link_power_w: float  # one link: both transceivers (or a cable)
    link_price_usd: float


@dataclass(frozen=True)
class FabricSize:
    """A folded-Clos (fat-tree) fabric sized for a number of endpoints (arrays)."""

    endpoints: np.ndarray
    tiers: np.ndarray  # 0 (single node, no fabric), 1, 2 or 3 switch tiers
    leaf_switches: np.ndarray
    spine_switches: np.ndarray
    core_switches: np.ndarray
    switches: np.ndarray
    nics: np.ndarray
    links: np.ndarray  # endpoint-to-leaf plus switch-to-switch links
    bisection_fraction: np.ndarray  # 1 / oversubscription
    capex_usd: np.ndarray
    power_w: np.ndarray


def fat_tree_size(
    endpoints: ArrayLike,
    gear: FabricGear,
    *,
    oversubscription: float = 1.0,
) -> FabricSize:
    """Switches, NICs and links of a fat tree for ``endpoints`` NIC ports.

    A switch of radix ``k`` gives a leaf ``d = k s / (s + 1)`` down-ports and
    ``u = k - d`` up-ports for oversubscription ``s`` (1 = non-blocking). Tiers:

    * one switch when ``endpoints <= k``;
    * two tiers (leaf-spine) up to ``d k`` endpoints: ``L = ceil(E / d)`` leaves and
      ``ceil(L u / k)`` spines;
    * three tiers (up to ``d k^2 / 2`` endpoints; larger fabrics are counted with the
      same formulas): ``ceil(E / d)`` leaves, ``ceil(L u / (k/2))`` aggregation switches
      (``k/2`` ports down, ``k/2`` up) and ``ceil(A (k/2) / k)`` core switches.

    Links: one per endpoint plus one per switch up-port in use. This is the classic
    folded Clos of Al-Fares et al. 2008 ("A scalable, commodity data center network
    architecture", SIGCOMM) generalised to oversubscription. For a rail-optimised
    fabric see :func:`rail_optimised_size`.
    """
    e = np.maximum(np.asarray(endpoints, dtype=float), 0.0)
    k = float(gear.switch_ports)
    s = float(oversubscription)
    down = np.floor(k * s / (s + 1.0))
    up = k - down
    one = e <= k
    two = (~one) & (e <= down * k)
    leaves = np.where(one, np.where(e > 0, 1.0, 0.0), np.ceil(e / down))
    spines_2 = np.ceil(leaves * up / k)
    aggregation_3 = np.ceil(leaves * up / (k / 2.0))  # k/2 down, k/2 up each
    core_3 = np.ceil(aggregation_3 * (k / 2.0) / k)
    tiers = np.where(e <= 1, 0.0, np.where(one, 1.0, np.where(two, 2.0, 3.0)))
    spine = np.where(tiers == 2, spines_2, np.where(tiers == 3, aggregation_3, 0.0))
    core = np.where(tiers == 3, core_3, 0.0)
    leaves = np.where(tiers == 0, 0.0, leaves)
    switches = leaves + spine + core
    uplinks = np.where(tiers >= 2, leaves * up, 0.0) + np.where(tiers == 3, spine * (k / 2.0), 0.0)
    nics = np.where(tiers == 0, 0.0, e)
    links = nics + uplinks
    capex = (
        switches * gear.switch_price_usd + nics * gear.nic_price_usd + links * gear.link_price_usd
    )
    power = switches * gear.switch_power_w + nics * gear.nic_power_w + links * gear.link_power_w
    return FabricSize(
        endpoints=e,
        tiers=tiers,
        leaf_switches=leaves,
        spine_switches=spine,
        core_switches=core,
        switches=switches,
        nics=nics,
        links=links,
        bisection_fraction=np.where(tiers >= 2, up / down, 1.0),
        capex_usd=capex,
        power_w=power,
    )


def rail_optimised_size(
    nodes: ArrayLike,
    rails: ArrayLike,
    gear: FabricGear,
    *,
    oversubscription: float = 1.0,
) -> FabricSize:
    """A rail-optimised fabric: NIC ``i`` of every node joins rail ``i``'s own leaves.

    Each of the ``g`` rails has ``ceil(N / d)`` leaves for ``N`` nodes (``d`` down-ports
    per leaf), so same-rank devices of different nodes are one switch hop apart (NVIDIA
    DGX SuperPOD reference architecture). Above the leaves the rails share spines
    (and core switches), counted as in :func:`fat_tree_size` for the same up-links.
    Rounding is per rail, so a rail fabric never has fewer leaves than a plain fat
    tree over the same ``g N`` endpoints.
    """
    n = np.maximum(np.asarray(nodes, dtype=float), 0.0)
    g = np.maximum(np.asarray(rails, dtype=float), 1.0)
    k = float(gear.switch_ports)
    s = float(oversubscription)
    down = np.floor(k * s / (s + 1.0))
    plain = fat_tree_size(n * g, gear, oversubscription=oversubscription)
    rail_leaves = np.where(plain.tiers >= 2, g * np.ceil(n / down), plain.leaf_switches)
    extra = rail_leaves - plain.leaf_switches
    up = k - down
    extra_uplinks = np.where(plain.tiers >= 2, extra * up, 0.0)
    extra_spines = np.where(plain.tiers == 2, np.ceil(extra_uplinks / k), 0.0)
    extra_spines = np.where(plain.tiers == 3, np.ceil(extra_uplinks / (k / 2.0)), extra_spines)
    switches = plain.switches + extra + extra_spines
    links = plain.links + extra_uplinks
    capex = (
        switches * gear.switch_price_usd
        + plain.nics * gear.nic_price_usd
        + links * gear.link_price_usd
    )
    power = (
        switches * gear.switch_power_w + plain.nics * gear.nic_power_w + links * gear.link_power_w
    )
    return FabricSize(
        endpoints=plain.endpoints,
        tiers=plain.tiers,
        leaf_switches=rail_leaves,
        spine_switches=plain.spine_switches + extra_spines,
        core_switches=plain.core_switches,
        switches=switches,
        nics=plain.nics,
        links=links,
        bisection_fraction=plain.bisection_fraction,
        capex_usd=capex,
        power_w=power,
    )
