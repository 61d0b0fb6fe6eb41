"""Tensor-parallel all-reduce and pipeline-parallel send timing of a serving step.

* **Tensor parallel**: the step's all-reduces of ``T h`` activations (two per layer,
  Shoeybi et al. 2019, Megatron-LM, arXiv 1909.08053) are timed as the engine runs them
  (:func:`tp_allreduce_call_s`): by the measured curve, on the scale-up link, of NCCL or
  of the engine's own kernel (TensorRT-LLM's and vLLM's one-/two-shot IPC kernels, up to
  their workspace size; catalog ``collectives.yaml``); engines whose implementation is
  not recorded are taken to call NCCL. (Without measured curves: the alpha-beta cost of
  :mod:`aidc.model.collectives` plus a calibrated per-call latency.) A TP
  group larger than the scale-up domain is reduced hierarchically, as NCCL does with one
  NIC per GPU: a ring inside each domain over the scale-up links, then ``S / p_in`` bytes
  per device across the ``k = tp / p_in`` domains over each device's own scale-out link
  (every NIC carries its share in parallel), ``t = t_ring(S, p_in, B_up) + t_ring(S / p_in,
  k, B_out)`` (Sanders et al. 2019, "Sequential and Parallel Algorithms", 13.2; NCCL's
  tree/ring over NVLink + IB rails).
* **Pipeline parallel**: activations ``T h`` go to the next stage point-to-point over
  the link :func:`pp_link` picks (scale-up when the group fits in one domain).
"""

from __future__ import annotations

import numpy as np

from aidc.model.collectives import allreduce_time_s
from aidc.model.inference_arrays import Deployment
from aidc.model.network import CurveParams, collective_time_s


def tp_allreduce_s(dep: Deployment, n_bytes: np.ndarray) -> np.ndarray:
    """All-reduce of ``n_bytes`` over the TP group: a flat ring inside the scale-up domain,
    hierarchical (intra-domain ring, then per-device scale-out rings) beyond it."""
    hw, tp = dep.hw, dep.tp
    dom = np.maximum(hw.scaleup_domain_devices, 1.0)
    has_up = hw.scaleup_bw_bytes_per_s > 0
    p_in = np.where(has_up, np.minimum(tp, dom), 1.0)
    k = np.maximum(tp / p_in, 1.0)
    up_bw = np.where(has_up, hw.scaleup_bw_bytes_per_s, hw.scaleout_bw_bytes_per_s)
    up_lat = np.where(
        np.isfinite(hw.scaleup_latency_s), hw.scaleup_latency_s, hw.scaleout_latency_s
    )
    inner = allreduce_time_s(n_bytes, p_in, up_bw, up_lat)
    outer = allreduce_time_s(n_bytes / p_in, k, hw.scaleout_bw_bytes_per_s, hw.scaleout_latency_s)
    return inner + np.where(k > 1, outer, 0.0)


def _scaleup_group(dep: Deployment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p_in, k, B_up)``: TP ranks inside one scale-up domain, domains the group spans,
    scale-up bandwidth per device and direction (1 where the device has no scale-up link)."""
    hw = dep.hw
    has_up = hw.scaleup_bw_bytes_per_s > 0
    dom = np.maximum(hw.scaleup_domain_devices, 1.0)
    p_in = np.where(has_up, np.minimum(dep.tp, dom), 1.0)
    k = np.maximum(dep.tp / p_in, 1.0)
    return p_in, k, np.where(has_up, hw.scaleup_bw_bytes_per_s, 1.0)


def tp_allreduce_nccl_s(dep: Deployment, n_bytes: np.ndarray) -> np.ndarray:
    """NCCL all-reduce of ``n_bytes`` over the TP group, from measured NCCL timings, s.

    Inside the scale-up domain the catalog's fitted curve of the link (``collectives.yaml``,
    nccl-tests latencies shipped by aiconfigurator-core; see :mod:`aidc.model.network`):
    ``t = base + 2 (p-1) step + 2 (p-1)/p n / (B eta(n, p))``, with NCCL's own launch and
    synchronisation in ``base`` and ``step``; beyond the domain the per-device scale-out
    ring of :func:`tp_allreduce_s` is added. Needs ``dep.nccl_allreduce``."""
    hw, curve = dep.hw, dep.nccl_allreduce
    assert curve is not None
    p_in, k, up_bw = _scaleup_group(dep)
    inner = np.where(p_in > 1, collective_time_s("all_reduce", n_bytes, p_in, up_bw, curve), 0.0)
    outer = allreduce_time_s(n_bytes / p_in, k, hw.scaleout_bw_bytes_per_s, hw.scaleout_latency_s)
    return inner + np.where(k > 1, outer, 0.0)


def tp_allreduce_call_s(dep: Deployment, n_bytes: np.ndarray) -> np.ndarray:
    """One TP all-reduce of ``n_bytes`` as the engine runs it, s.

    Engines differ in the implementation (catalog ``software.yaml``, ``allreduce``), and
    each is timed by its own measured curve on the scale-up link (``collectives.yaml``,
    same form as :func:`tp_allreduce_nccl_s`):

    * FasterTransformer and Megatron-LM call ``ncclAllReduce`` at every size (~10-22 us
      for a small message on A100 NVLink at 2-8 ranks), as do engines whose
      implementation is not recorded: :func:`tp_allreduce_nccl_s`;
    * TensorRT-LLM (AllReduceStrategy AUTO's one-/two-shot IPC kernels, ~3 us on H100)
      and vLLM (CustomAllreduce) run their own kernel for messages up to their workspace
      (``custom_allreduce_max_bytes``: 8 MB, 8 MiB) inside one scale-up domain, and NCCL
      for larger messages or groups spanning domains.

    A deployment built without measured curves (``nccl_allreduce`` None) takes the
    calibrated form ``t_ring(n) + c_sw`` (:func:`tp_allreduce_s` plus the fitted
    ``collective_latency``).
    """
    nccl_curve, own_curve = dep.nccl_allreduce, dep.custom_allreduce
    if nccl_curve is None:
        return tp_allreduce_s(dep, n_bytes) + np.where(
            dep.tp > 1, dep.eff.collective_latency_s, 0.0
        )
    nccl = tp_allreduce_nccl_s(dep, n_bytes)
    if own_curve is None:
        return nccl
    p_in, k, up_bw = _scaleup_group(dep)
    has_own = np.isfinite(np.asarray(own_curve.base_latency_s, dtype=float))
    filled = CurveParams(
        *(
            np.where(has_own, o, n)
            for o, n in zip(own_curve.values(), nccl_curve.values(), strict=True)
        )
    )
    own = np.where(p_in > 1, collective_time_s("all_reduce", n_bytes, p_in, up_bw, filled), 0.0)
    use_own = has_own & (n_bytes <= dep.engine.custom_allreduce_max_bytes) & (k <= 1)
    return np.where(use_own, own, nccl)


def pp_link(dep: Deployment) -> tuple[np.ndarray, np.ndarray]:
    """Link between pipeline stages: inside the scale-up domain when the group fits in it."""
    hw = dep.hw
    inside = dep.tp * dep.pp <= hw.scaleup_domain_devices
    up_bw = np.where(
        hw.scaleup_bw_bytes_per_s > 0, hw.scaleup_bw_bytes_per_s, hw.scaleout_bw_bytes_per_s
    )
    bw = np.where(inside, up_bw, hw.scaleout_bw_bytes_per_s)
    up_lat = np.where(
        np.isfinite(hw.scaleup_latency_s), hw.scaleup_latency_s, hw.scaleout_latency_s
    )
    return bw, np.where(inside, up_lat, hw.scaleout_latency_s)
