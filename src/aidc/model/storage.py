"""Storage: dataset capacity and read bandwidth, checkpoint size, write bandwidth for a
stall target, restore time, and the drives (hence cost) a shared tier needs.

* stored capacity: ``C = S (1 + g)^years x copies`` (dataset size ``S``, yearly growth
  ``g``, raw bytes per byte ``copies`` from replication or erasure coding);
* dataset read bandwidth: ``tokens/s x bytes/token`` (or ``samples/s x bytes/sample``);
* checkpoint bytes: ``params x (weight bytes + optimizer-state bytes per param)``
  (mixed precision + Adam: 2 + 4 master + 8 moments = 14 B/param; Rajbhandari et al.
  2020, ZeRO, section 3.1);
* a checkpoint written every ``tau`` seconds with a blocking write stalls training for
  ``ckpt / B_write``; keeping that stall under a fraction ``f`` of the interval needs
  ``B_write >= ckpt / (f tau)``; restoring reads ``ckpt / B_read``;
* drives of a shared tier: the most of capacity (``C / drive capacity``), read and write
  bandwidth (``B / delivered bandwidth per drive``) — delivered per-drive figures come
  from a deployed system (OLCF Frontier's Orion file system; catalog storage records).

All functions broadcast over numpy arrays.
"""

from __future__ import annotations

import numpy as np

ArrayLike = np.ndarray | float


def stored_bytes(
    size_bytes: ArrayLike, growth_per_year: ArrayLike, years: ArrayLike, copies: ArrayLike
) -> np.ndarray:
    """Raw capacity to hold a dataset after ``years`` of growth with protection."""
    return (
        np.asarray(size_bytes, float)
        * (1.0 + np.asarray(growth_per_year, float)) ** np.asarray(years, float)
        * np.asarray(copies, float)
    )


def read_bw_needed_bytes_per_s(units_per_s: ArrayLike, bytes_per_unit: ArrayLike) -> np.ndarray:
    """Streaming read rate a job needs: tokens/s x bytes/token (or samples x bytes)."""
    return np.asarray(units_per_s, float) * np.asarray(bytes_per_unit, float)


def checkpoint_bytes(
    params: ArrayLike, weight_bytes_per_param: ArrayLike, optimizer_bytes_per_param: ArrayLike
) -> np.ndarray:
    """Model state to save: weights plus optimizer state (and fp32 master weights)."""
    return np.asarray(params, float) * (
        np.asarray(weight_bytes_per_param, float) + np.asarray(optimizer_bytes_per_param, float)
    )


def transfer_time_s(n_bytes: ArrayLike, bw_bytes_per_s: ArrayLike) -> np.ndarray:
    bw = np.asarray(bw_bytes_per_s, float)
    with np.errstate(divide="ignore"):
        return np.where(bw > 0, np.asarray(n_bytes, float) / np.maximum(bw, 1e-300), np.inf)


def checkpoint_write_bw_needed(
    ckpt_bytes: ArrayLike, interval_s: ArrayLike, max_stall_fraction: ArrayLike
) -> np.ndarray:
    """``ckpt / (f tau)``: write bandwidth that keeps a blocking save under ``f`` of ``tau``."""
    return np.asarray(ckpt_bytes, float) / (
        np.asarray(max_stall_fraction, float) * np.asarray(interval_s, float)
    )


def drives_needed(
    capacity_bytes: ArrayLike,
    read_bw_bytes_per_s: ArrayLike,
    write_bw_bytes_per_s: ArrayLike,
    drive_capacity_bytes: float,
    drive_read_bw_bytes_per_s: float,
    drive_write_bw_bytes_per_s: float,
) -> np.ndarray:
    """Drives a shared tier needs to meet capacity, read and write bandwidth at once."""
    return np.maximum.reduce(
        [
            np.ceil(np.asarray(capacity_bytes, float) / drive_capacity_bytes),
            np.ceil(np.asarray(read_bw_bytes_per_s, float) / drive_read_bw_bytes_per_s),
            np.ceil(np.asarray(write_bw_bytes_per_s, float) / drive_write_bw_bytes_per_s),
        ]
    )


def tier_capex_usd(
    drives: ArrayLike,
    drive_capacity_bytes: float,
    media_usd_per_byte: float,
    system_cost_per_media_cost: float,
) -> np.ndarray:
    """Media cost of the drives times the system's total-to-media cost ratio."""
    return (
        np.asarray(drives, float)
        * drive_capacity_bytes
        * media_usd_per_byte
        * system_cost_per_media_cost
    )
