"""Read rows of a training reference table (``data/reference/training.csv`` schema).

A row mixes a *configuration* (model, hardware, parallel plan, batch) and *measurements*
(throughput, utilisation, memory, wall-clock). :func:`parse_run` turns the configuration
columns into a :class:`TrainingRun` that the model can predict, filling unstated plan
fields by stated rules (each recorded in ``assumptions``); :func:`parse_measurement`
reads the measured columns. Predictions use only the configuration, so they cannot
change when measured columns change.

Cells are parsed leniently: ``~60`` is 60, ``15T+`` is 15e12, ``~250k`` is 250e3, text
after the number is ignored and empty cells mean "not stated".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from aidc.catalog.loader import Catalog
from aidc.catalog.schema import Accelerator, ModelArch, Precision
from aidc.model.memory import (
    LOGITS_BYTES_PER_ELEMENT,
    SEPARATE_FP32_GRAD_BUFFER_BYTES,
    UNFUSED_LOSS_BYTES_PER_ELEMENT,
)
from aidc.model.transformer import hardware_flops_per_token, training_flops_per_token
from aidc.units import GIGA, KILO, MEGA, TERA, GiB

MEASURED_COLUMNS = (
    "iter_time_s",
    "samples_per_s",
    "tokens_per_s",
    "tokens_per_s_per_gpu",
    "tflops_per_gpu",
    "mfu_pct",
    "hfu_pct",
    "peak_mem_gb",
    "wall_clock_days",
    "wall_clock_as_stated",
    "gpu_hours",
    "oom",
)
"""Columns that report what happened; everything else describes the run."""

_SUFFIX = {"k": KILO, "m": MEGA, "b": GIGA, "g": GIGA, "t": TERA}
_NUMBER = re.compile(r"^\s*[~≈<>]?\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtT])?")

DEFAULT_SEQ_LEN_CAP = 8192
"""Unstated sequence length: the model's context, capped at 8192 tokens (the pre-training
length of Llama 3 and the default of torchtitan's and Megatron's Llama recipes)."""
FLASH_ATTENTION_FROM_YEAR = 2023
"""Runs from this year on are assumed to use fused (Flash) attention and, with tensor
parallelism, sequence parallelism (FlashAttention and Megatron's sequence parallelism
appeared in 2022 and are the defaults of Megatron-Core, PyTorch SDPA, llm-foundry)."""


def lenient_number(cell: str | None) -> float | None:
    """``'~60'`` -> 60, ``'15T+'`` -> 1.5e13, ``'~250k'`` -> 2.5e5, ``''`` -> None."""
    if cell is None:
        return None
    text = cell.strip().replace(",", "")
    m = _NUMBER.match(text)
    if not m:
        return None
    value = float(m.group(1)) * _SUFFIX.get((m.group(2) or "").lower(), 1.0)
    return value if math.isfinite(value) else None


def _int(cell: str | None) -> int | None:
    v = lenient_number(cell)
    return None if v is None else round(v)


@dataclass(frozen=True)
class TrainingRun:
    """The configuration of one reference row, ready for the model (or why it is not)."""

    row_id: str
    source_id: str
    hardware: str
    arch: ModelArch | None = None
    accelerator: Accelerator | None = None
    scaleout_link: str = "ib-ndr"
    scaleout_share: float = 1.0  # scale-out bandwidth per device / one port of the link
    n_devices: int = 0
    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    ep: int = 1
    vp: int | None = 1  # None: an interleaved schedule of unstated depth, aidc's search chooses
    micro_batch: int | None = None  # None: aidc's search chooses
    grad_accum: int | None = None
    global_batch_seqs: int | None = None
    seq_len: int = 0
    zero_stage: int = 0
    recompute: str | None = None  # None: aidc's search chooses
    precision: Precision = Precision.BF16
    flash_attention: bool = True
    sequence_parallel: bool = True
    compiled: bool = False
    optimizer: str = "adamw"
    grad_bytes: float | None = None  # None: the model's default (fp32 accumulation)
    loss_bytes_per_logit: float = LOGITS_BYTES_PER_ELEMENT
    skip_reason: str | None = None
    assumptions: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Measurement:
    """What a row measured, as tokens/s per device where a throughput is given."""

    tokens_per_s_per_device: float | None = None
    basis: str = ""  # column the throughput came from
    reports_throughput: bool = (
        False  # the row gives tokens/s, TFLOP/s with its kind, or s/iteration
    )
    peak_memory_bytes: float | None = None
    oom: bool | None = None


def _zero_stage(sharding: str) -> int:
    s = sharding.lower()
    if "shard_grad_op" in s or "zero-2" in s or "zero2" in s:
        return 2
    if "fsdp" in s or "full_shard" in s or "zero-3" in s or "zero3" in s:
        return 3
    if "zero" in s:
        m = re.search(r"zero[- ]?(\d)", s)
        return int(m.group(1)) if m else 1
    return 0


def _recompute(cell: str, tflops_kind: str) -> str | None:
    c = cell.lower().strip()
    if c.startswith("full"):
        return "full"
    if c.startswith("selective"):
        return "selective"
    if c in ("none", "no", "off"):
        return "none"
    # The throughput's own definition can state that recompute ran.
    if "recompute" in tflops_kind.lower():
        return "full"
    return None


def _precision(cell: str, acc: Accelerator | None) -> Precision:
    c = cell.lower()
    for token, prec in (
        ("fp8", Precision.FP8),
        ("bf16", Precision.BF16),
        ("fp16", Precision.FP16),
        ("tf32", Precision.TF32),
        ("fp32", Precision.FP32),
    ):
        if token in c:
            return prec
    if acc is not None and acc.peak_for(Precision.BF16) is not None:
        return Precision.BF16
    return Precision.FP16


def _software_text(row: Mapping[str, str]) -> str:
    """The framework and notes columns, which describe the software configuration."""
    return (row.get("framework", "") + " " + row.get("notes", "")).lower()


def _compiled(row: Mapping[str, str]) -> bool:
    """The run used a fusing graph compiler: ``torch.compile`` (or XLA/JAX) named in the
    software configuration."""
    return re.search(r"\bcompile\b|\bxla\b|\bjax\b", _software_text(row)) is not None


def _virtual_stages(row: Mapping[str, str]) -> int | None:
    """Virtual pipeline stages per device: the ``vp`` column; else ``None`` (an interleaved
    schedule whose depth aidc's search chooses) where the framework or notes say the
    pipeline schedule was interleaved; else 1 (plain 1F1B or GPipe)."""
    stated = _int(row.get("vp"))
    if stated:
        return stated
    return None if "interleav" in _software_text(row) else 1


def _loss_bytes(framework: str) -> float:
    """Bytes per logit at the loss the framework column implies: torchtitan takes
    ``F.cross_entropy(pred.flatten(0, 1).float(), labels.flatten(0, 1))`` (its ``loss_fn``,
    github.com/pytorch/torchtitan train.py, 2024-2025), an fp32 copy through PyTorch's
    log-softmax (:data:`~aidc.model.memory.UNFUSED_LOSS_BYTES_PER_ELEMENT`); others the
    fused or vocabulary-parallel loss of the model's default."""
    if "torchtitan" in framework.lower():
        return UNFUSED_LOSS_BYTES_PER_ELEMENT
    return LOGITS_BYTES_PER_ELEMENT


def _grad_bytes(framework: str) -> float | None:
    """Gradient bytes per parameter the framework column implies: a separate fp32
    gradient-accumulation buffer besides the 16-bit gradients (DeepSpeed's BF16Optimizer)
    costs :data:`~aidc.model.memory.SEPARATE_FP32_GRAD_BUFFER_BYTES`; otherwise the model's
    default."""
    f = framework.lower()
    if "bf16optimizer" in f.replace("_", "").replace(" ", "") or "fp32 grad accumulation" in f:
        return SEPARATE_FP32_GRAD_BUFFER_BYTES
    return None


def resolve_accelerator(catalog: Catalog, hardware: str) -> Accelerator | None:
    """Map a reference hardware string to a catalog accelerator (ids and aliases, then
    with spaces as dashes, then without a parenthetical remark)."""
    h = hardware.strip()
    for cand in (h, h.replace(" ", "-"), re.sub(r"\s*\(.*\)\s*", "", h)):
        if cand and cand in catalog.accelerators:
            return catalog.accelerators.get(cand)
    return None


def scaleout_link_for(interconnect: str, acc: Accelerator) -> tuple[str, str | None]:
    """The scale-out link a row's interconnect text names, and an assumption if guessed.

    ``'1600 Gbps RoCE'`` (a node's total, above any single NIC) is split over the node's
    devices; ``'400 Gb/s/GPU RDMA'`` is per device; ``'4 x 100 Gbps per node'`` is a
    node's NICs (see :func:`scaleout_share_for` for fewer NICs than devices). RoCE maps
    to the RoCE link of that rate, anything else (InfiniBand, Omni-Path) to InfiniBand.
    Unstated: HDR (200 Gb/s per device) for parts up to 2021, NDR (400 Gb/s) after, as
    in NVIDIA's DGX A100 and DGX H100 reference designs.
    """
    text = interconnect.lower()
    per_device = _per_device_gbps(text, acc)
    if per_device is None:
        link = "ib-hdr" if acc.release_year <= 2021 else "ib-ndr"
        return link, f"scale-out network not stated: {link} per device"
    rate = _link_rate_gbps(per_device)
    if "roce" in text or "ethernet" in text:
        return f"roce-{int(rate)}g", None
    return {100: "ib-edr", 200: "ib-hdr", 400: "ib-ndr", 800: "ib-xdr"}[rate], None


def scaleout_share_for(interconnect: str, acc: Accelerator) -> float:
    """Scale-out bandwidth per device relative to one port of the row's link: below 1
    where a node has fewer NICs than devices (``'4 x 100 Gbps per node'`` on 8 GPUs:
    0.5), since all the node's devices run their collectives at once and share them."""
    per_device = _per_device_gbps(interconnect.lower(), acc)
    if per_device is None:
        return 1.0
    return min(1.0, per_device / _link_rate_gbps(per_device))


def _link_rate_gbps(per_device_gbps: float) -> int:
    """The catalog port rate (Gb/s) nearest a per-device rate, at least 100 Gb/s."""
    return min((100, 200, 400, 800), key=lambda r: abs(r - max(per_device_gbps, 100.0)))


def _per_device_gbps(text: str, acc: Accelerator) -> float | None:
    """Scale-out Gb/s per device an interconnect text states (None if it states none)."""
    m = re.search(r"(?:(\d+)\s*[x×]\s*)?(\d+)\s*g(?:b|bit)?(?:ps|/s)", text)
    if not m:
        return None
    rate = float(m.group(2)) * float(m.group(1) or 1)
    per_node = re.search(r"(?:per|/)\s*node", text[m.end() :]) is not None
    if per_node or rate > 800:
        rate /= acc.devices_per_node
    return rate


def _arch_for_row(row: Mapping[str, str], catalog: Catalog) -> tuple[ModelArch | None, list[str]]:
    notes: list[str] = []
    name = row.get("model", "").strip()
    base = catalog.models.find(name) if name else None
    layers, hidden = _int(row.get("n_layers")), _int(row.get("hidden_size"))
    if base is not None and not (layers and hidden):
        return base, notes
    if not (layers and hidden):
        return None, notes
    heads = _int(row.get("n_heads"))
    if base is not None:
        data = base.model_dump()
    else:
        data = {
            "id": name or row.get("row_id", "row"),
            "family": "reference",
            "kind": "decoder",
            "source": "reference row",
            "provenance": "published",
            "tied_embeddings": True,
            "position_embedding": "learned",
            "max_seq_len": _int(row.get("seq_len")) or 2048,
        }
        if not heads:
            notes.append("n_heads not stated: head size 128 assumed")
    data.update(n_layers=layers, hidden_size=hidden)
    data["n_heads"] = heads or data.get("n_heads") or max(1, hidden // 128)
    data["n_kv_heads"] = _int(row.get("n_kv_heads")) or data.get("n_kv_heads")
    if data["n_kv_heads"] and data["n_heads"] % data["n_kv_heads"]:
        data["n_kv_heads"] = None
    data["head_dim"] = None
    data["ffn_hidden_size"] = (
        _int(row.get("ffn_hidden")) or data.get("ffn_hidden_size") or 4 * hidden
    )
    vocab = _int(row.get("vocab_size")) or data.get("vocab_size")
    if not vocab:
        return None, notes
    data["vocab_size"] = vocab
    data.pop("aliases", None)
    return ModelArch.model_validate({**data, "aliases": ()}), notes


def parse_run(row: Mapping[str, str], catalog: Catalog) -> TrainingRun:
    """The configuration columns of ``row`` as a :class:`TrainingRun`."""
    rid, src, hw = row.get("row_id", ""), row.get("source_id", ""), row.get("hardware", "")
    base = TrainingRun(row_id=rid, source_id=src, hardware=hw)

    acc = resolve_accelerator(catalog, hw) if hw else None

    def skip(reason: str) -> TrainingRun:
        return TrainingRun(
            row_id=rid, source_id=src, hardware=hw, accelerator=acc, skip_reason=reason
        )

    if acc is None:
        return skip(f"hardware {hw!r} not in the catalog" if hw else "hardware not stated")
    arch, notes = _arch_for_row(row, catalog)
    if arch is None:
        return skip(
            f"model {row.get('model', '')!r} not in the catalog and its architecture is not given"
        )
    n = _int(row.get("n_accel"))
    if not n:
        return skip("device count not stated")
    tp, pp, dp = _int(row.get("tp")), _int(row.get("pp")), _int(row.get("dp"))
    cp, ep = _int(row.get("cp")) or 1, _int(row.get("ep")) or 1
    vp = _virtual_stages(row)
    if tp is None and pp is None and dp:
        mp = n // (dp * cp)
        if mp * dp * cp == n and mp > 1:
            tp = max(
                t
                for t in (1, 2, 4, 8, 16, 32, 64)
                if t <= min(mp, acc.scaleup_domain_devices) and mp % t == 0
            )
            pp = mp // tp
            notes.append(
                f"model-parallel size {mp} split as TP {tp} x PP {pp} (TP within the scale-up domain)"
            )
    tp, pp = tp or 1, pp or 1
    dp = dp or n // (tp * pp * cp)
    if tp * pp * dp * cp != n:
        return skip(f"TP {tp} x PP {pp} x DP {dp} x CP {cp} != {n} devices")
    seq = _int(row.get("seq_len"))
    if not seq:
        seq = min(arch.max_seq_len, DEFAULT_SEQ_LEN_CAP)
        notes.append(f"sequence length not stated: {seq} assumed")
    gbs = _int(row.get("global_batch_seqs"))
    if gbs is None and lenient_number(row.get("global_batch_tokens")):
        gbs = max(1, round(lenient_number(row.get("global_batch_tokens")) / seq))
    mb, ga = _int(row.get("micro_batch")), _int(row.get("grad_accum"))
    if mb and not ga:
        ga = max(1, round(gbs / (mb * dp))) if gbs and gbs >= mb * dp else 1
        if pp > 1 and ga < pp:
            # A pipeline is never run with fewer micro-batches than stages: the stated
            # batch is the local batch, split into micro-batches of one sequence.
            ga, mb = ga * mb, 1
            notes.append("pipeline: stated batch taken as the local batch, micro-batches of 1")
    elif not mb and ga and gbs:
        mb = max(1, round(gbs / (ga * dp)))
    link, link_note = scaleout_link_for(row.get("interconnect", ""), acc)
    if link_note:
        notes.append(link_note)
    year = _int(row.get("year"))
    flash = year is None or year >= FLASH_ATTENTION_FROM_YEAR
    sequence_parallel = tp > 1 and flash
    if tp > 1 and not sequence_parallel:
        notes.append(f"{year} run: no sequence parallelism, no fused attention assumed")
    precision = _precision(row.get("precision", ""), acc)
    if acc.peak_for(precision) is None:
        return skip(f"{acc.id} has no {precision.value} peak in the catalog")
    return TrainingRun(
        row_id=rid,
        source_id=src,
        hardware=hw,
        arch=arch,
        accelerator=acc,
        scaleout_link=link,
        scaleout_share=scaleout_share_for(row.get("interconnect", ""), acc),
        n_devices=n,
        tp=tp,
        pp=pp,
        dp=dp,
        cp=cp,
        ep=ep,
        vp=vp,
        micro_batch=mb,
        grad_accum=ga,
        global_batch_seqs=gbs,
        seq_len=seq,
        zero_stage=_zero_stage(row.get("sharding", "")),
        recompute=_recompute(row.get("activation_recompute", ""), row.get("tflops_kind", "")),
        precision=precision,
        flash_attention=flash,
        sequence_parallel=sequence_parallel,
        compiled=_compiled(row),
        grad_bytes=_grad_bytes(row.get("framework", "")),
        loss_bytes_per_logit=_loss_bytes(row.get("framework", "")),
        skip_reason=base.skip_reason,
        assumptions=tuple(notes),
    )


def parse_measurement(row: Mapping[str, str], run: TrainingRun) -> Measurement:
    """The measured columns of ``row``; throughput as tokens/s per device.

    Order of preference: tokens/s per GPU; total tokens/s over devices; iteration time
    (global batch x sequence / time / devices); TFLOP/s per GPU converted with the FLOP
    count the source defines (``model``: 3 passes, ``hardware``: including recompute;
    both with bidirectional attention, as Megatron-LM's and llm-foundry's formulas count).
    """
    n = run.n_devices or _int(row.get("n_accel")) or 0
    mem_gb = lenient_number(row.get("peak_mem_gb"))
    # the column is GB unless the row's notes say the source reported GiB
    mem_unit = GiB if re.search(r"\bGiB\b", row.get("notes", "")) else GIGA
    oom_cell = row.get("oom", "").strip().lower()
    oom = True if oom_cell in ("yes", "true", "1", "oom") else None
    reports = bool(
        lenient_number(row.get("tokens_per_s_per_gpu"))
        or lenient_number(row.get("tokens_per_s"))
        or lenient_number(row.get("iter_time_s"))
        or (lenient_number(row.get("tflops_per_gpu")) and row.get("tflops_kind", "").strip())
    )
    meas = dict(
        peak_memory_bytes=mem_gb * mem_unit if mem_gb else None, oom=oom, reports_throughput=reports
    )
    tps = lenient_number(row.get("tokens_per_s_per_gpu"))
    if tps:
        return Measurement(tps, "tokens_per_s_per_gpu", **meas)
    total = lenient_number(row.get("tokens_per_s"))
    if total and n:
        return Measurement(total / n, "tokens_per_s", **meas)
    it = lenient_number(row.get("iter_time_s"))
    if it and run.global_batch_seqs and run.seq_len and n:
        return Measurement(run.global_batch_seqs * run.seq_len / it / n, "iter_time_s", **meas)
    tf = lenient_number(row.get("tflops_per_gpu"))
    kind = row.get("tflops_kind", "").lower()
    if tf and run.arch is not None and run.seq_len and kind:
        if kind.startswith("model"):
            per_tok = training_flops_per_token(run.arch, run.seq_len, causal=False)
        else:
            per_tok = hardware_flops_per_token(
                run.arch, run.seq_len, run.recompute or "none", causal=False
            )
        return Measurement(tf * TERA / per_tok, "tflops_per_gpu", **meas)
    return Measurement(**meas)
