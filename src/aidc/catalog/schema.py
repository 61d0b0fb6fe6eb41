"""Schemas of the catalog's records: frozen, validated, every number with provenance.

Data files (``catalog/data/*.yaml``) hold the facts; these models say what a record may
contain. All quantities are SI with the unit in the field name. Each record carries
``source`` (where the figures come from) and ``provenance`` (vendor | published |
measured | assumed); a field that deviates from the record's provenance is named in
``field_provenance`` (e.g. ``{"tdp_w": "assumed"}``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from aidc.catalog.units_in_names import to_si

Provenance = Literal["vendor", "published", "measured", "assumed"]


class Precision(StrEnum):
    """Numeric formats that matter for speed and memory."""

    FP32 = "fp32"
    TF32 = "tf32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"
    FP4 = "fp4"


BYTES_PER_ELEMENT: dict[Precision, float] = {
    Precision.FP32: 4.0,
    Precision.TF32: 4.0,  # stored as fp32, multiplied in tf32
    Precision.FP16: 2.0,
    Precision.BF16: 2.0,
    Precision.FP8: 1.0,
    Precision.INT8: 1.0,
    Precision.INT4: 0.5,
    Precision.FP4: 0.5,
}


class Record(BaseModel):
    """Common fields of every catalog record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Canonical name used on the command line and in scenarios")
    aliases: tuple[str, ...] = ()
    source: str = Field(min_length=1, description="Where the figures come from (URLs, papers)")
    provenance: Provenance
    field_provenance: dict[str, Provenance] = Field(default_factory=dict)
    notes: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


class Accelerator(Record):
    """One accelerator device (GPU, TPU, ASIC, FPGA or a CPU socket used for inference).

    ``peak_flops_per_s`` holds *dense* peaks (no 2:4 sparsity) keyed by precision; a
    missing key means the device has no fast path for that format.
    """

    kind: Literal["gpu", "tpu", "asic", "fpga", "cpu"]
    vendor: str
    family: str
    variant: str = ""
    form_factor: str = ""
    release_year: int = Field(ge=2010, le=2035)
    memory_bytes: float = Field(gt=0)
    memory_type: str = ""
    hbm_bw_bytes_per_s: float = Field(gt=0)
    peak_flops_per_s: dict[Precision, float]
    scaleup_link: str = Field(description="id of a Link in links.yaml, or 'none'")
    scaleup_bw_bytes_per_s_per_direction: float = Field(ge=0)
    scaleup_domain_devices: int = Field(
        ge=1, description="devices that share the scale-up fabric (8 in an HGX node, 72 in NVL72)"
    )
    devices_per_node: int = Field(ge=1)
    host_interface: str = ""
    host_overhead_factor: float = Field(
        default=1.0,
        gt=0,
        description="host CPU time of serving-runtime code (scheduling, sampling, kernel "
        "dispatch) relative to an x86 server host; >1 for slower hosts (Grace: 2.75)",
    )
    tdp_w: float | None = Field(default=None, gt=0, description="None where not published")
    idle_w: float | None = Field(default=None, ge=0)
    availability: tuple[Literal["on-prem", "cloud"], ...] = ("on-prem", "cloud")
    roles: tuple[Literal["training", "inference"], ...] = Field(
        default=("training", "inference"),
        description="what the part is built and sold for: inference-only ASICs and the "
        "CPU-socket entries serve models but are not planned for training",
    )
    list_price_usd: float | None = Field(default=None, gt=0)
    price_note: str = ""
    cloud_usd_per_device_hour: float | None = Field(default=None, gt=0)
    cloud_price_note: str = ""
    features: tuple[str, ...] = Field(
        default=(),
        description="e.g. confidential_computing, mig, sparsity_2_4, transformer_engine",
    )
    software: tuple[str, ...] = Field(
        default=(), description="software stacks: cuda, rocm, xla, synapseai, oneapi"
    )

    @model_validator(mode="after")
    def _has_some_peak(self) -> Accelerator:
        if not self.peak_flops_per_s:
            raise ValueError("peak_flops_per_s must list at least one precision")
        for prec, value in self.peak_flops_per_s.items():
            if value <= 0:
                raise ValueError(f"peak_flops_per_s[{prec}] must be > 0")
        return self

    def peak_for(self, precision: Precision) -> float | None:
        """Dense peak FLOP/s for ``precision``; None where the part has no fast path for it.

        FP16 and BF16 are distinct: Volta and Turing (V100, T4) have FP16 tensor cores but
        no BF16, TPUs have BF16 but no FP16, so a part runs only the formats it lists.
        """
        return self.peak_flops_per_s.get(precision)


class HostCPU(Record):
    vendor: str
    family: str
    release_year: int
    cores: int = Field(ge=1)
    threads: int = Field(ge=1)
    base_clock_hz: float = Field(gt=0)
    max_clock_hz: float | None = Field(default=None, gt=0)
    l3_bytes: float | None = Field(default=None, gt=0)
    tdp_w: float = Field(gt=0)
    memory_type: str = ""
    memory_channels: int = Field(ge=1)
    mem_bw_bytes_per_s: float = Field(gt=0)
    peak_fp32_flops_per_s: float = Field(
        gt=0, description="cores x clock x FLOP/cycle, upper bound"
    )
    list_price_usd: float | None = Field(default=None, gt=0)


class Link(Record):
    """A network or scale-up link technology (per port / per device)."""

    kind: Literal["nvlink", "pcie", "infiniband", "ethernet", "roce", "ici", "infinity_fabric"]
    year: int | None = None
    bw_bytes_per_s_per_direction: float = Field(gt=0)
    latency_s: float = Field(gt=0, description="one-way small-message latency")
    scope: Literal["scale-up", "scale-out", "host"]


class ModelArch(Record):
    """Architecture hyper-parameters of a transformer model.

    Enough to derive parameters, FLOPs, weight and KV-cache bytes. MoE models name the
    number of experts, experts active per token, and which layers are MoE.
    """

    family: str
    kind: Literal["decoder", "encoder"]
    n_layers: int = Field(ge=1)
    hidden_size: int = Field(ge=1)
    n_heads: int = Field(ge=1)
    n_kv_heads: int | None = Field(default=None, ge=1)
    head_dim: int | None = Field(default=None, ge=1)
    ffn_hidden_size: int = Field(ge=1)
    gated_mlp: bool = False
    vocab_size: int = Field(ge=1)
    max_seq_len: int = Field(ge=1)
    tied_embeddings: bool = False
    position_embedding: Literal["learned", "rotary", "alibi", "none"] = "learned"
    n_experts: int = Field(default=1, ge=1)
    experts_per_token: int = Field(default=1, ge=1)
    moe_ffn_hidden_size: int | None = Field(default=None, ge=1)
    n_shared_experts: int = Field(default=0, ge=0)
    moe_layer_interval: int = Field(default=1, ge=1, description="every k-th layer is MoE")
    params_published: float | None = Field(default=None, gt=0, description="as the authors state")
    active_params_published: float | None = Field(default=None, gt=0)
    year: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ModelArch:
        kv = self.n_kv_heads or self.n_heads
        if self.n_heads % kv != 0:
            raise ValueError(f"n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({kv})")
        if self.experts_per_token > self.n_experts:
            raise ValueError("experts_per_token cannot exceed n_experts")
        return self

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def head_size(self) -> int:
        return self.head_dim or self.hidden_size // self.n_heads

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 1


AllReduceImpl = Literal["nccl", "trtllm-custom", "vllm-custom"]
"""Whose kernels run a tensor-parallel all-reduce: NCCL's, or an engine's own (IPC)."""


def version_key(version: str) -> tuple[int, ...] | None:
    """``"v0.6.1"`` -> ``(0, 6, 1)``, ``"1.1.0rc2"`` -> ``(1, 1, 0)``: the leading dotted
    numbers (after an optional ``~``, ``>=`` or ``v``); None when the text has none."""
    m = re.match(r"\s*[~>=v]*\s*(\d+(?:\.\d+)*)", version)
    return tuple(int(n) for n in m.group(1).split(".")) if m else None


class EngineRelease(BaseModel):
    """Facts of an engine's releases before ``before`` that differ from the current record.

    Only the fields given here change; a field given as null returns to "not recorded"
    (the model's calibrated generic figure). Scoring a published result names the engine
    version it ran; the planner always takes the current release."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    before: str = Field(description="first release that no longer has these facts")
    host_s_per_seq: float | None = Field(default=None, ge=0)
    grouped_decode_attention: bool | None = None
    basis: str = Field(min_length=1, description="where the facts come from")

    @field_validator("before")
    @classmethod
    def _version(cls, v: str) -> str:
        if version_key(v) is None:
            raise ValueError(f"release 'before' must be a version number, got {v!r}")
        return v

    @model_serializer(mode="wrap")
    def _stated_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        """Dump only what the release states: an absent field is "unchanged", a null one
        "not recorded", and the two must not read alike."""
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}


class SoftwareStack(Record):
    """A training framework or an inference engine, as data."""

    kind: Literal["framework", "inference_engine", "serving_server"]
    vendor: str = ""
    status: Literal["active", "maintenance", "legacy", "deprecated"]
    status_note: str = ""
    superseded_by: str | None = None
    first_release_year: int | None = None
    license: str = ""
    devices: tuple[str, ...] = Field(description="accelerator kinds/vendors: nvidia, amd, tpu, ...")
    model_kinds: tuple[Literal["decoder", "encoder"], ...] = ("decoder", "encoder")
    encoder_tasks: tuple[Literal["classification", "qa", "embedding"], ...] = Field(
        default=("classification", "qa", "embedding"),
        description="encoder tasks the engine serves (LLM engines pool: no extractive QA)",
    )
    precisions: tuple[Precision, ...] = ()
    batching: Literal["none", "static", "dynamic", "continuous"] = "dynamic"
    paged_kv: bool = False
    parallelism: tuple[str, ...] = Field(default=(), description="tp, pp, dp, ep, cp, zero, fsdp")
    maturity: float = Field(ge=0, le=1, description="ecosystem maturity score, 0..1 (assumed)")
    # Serving-model facts (aidc.model.inference); None means "not recorded": the model
    # then uses its stated generic default. Each figure's basis is in the record's notes.
    kernels_per_layer: float | None = Field(
        default=None, gt=0, description="GPU kernels launched per transformer layer"
    )
    host_s_per_kernel: float | None = Field(
        default=None,
        ge=0,
        description="host dispatch time per kernel; 0 when a C++ runtime or CUDA graphs run ahead",
    )
    host_s_per_seq: float | None = Field(
        default=None,
        ge=0,
        description="host time per scheduled sequence per generation step that the GPU waits"
        " for (request bookkeeping in a Python executor), on an x86 server host; None: the"
        " calibrated generic per-sequence overhead",
    )
    fused_attention: tuple[Precision, ...] = Field(
        default=(),
        description="precisions with a fused attention kernel (no score matrix in memory)",
    )
    context_fused_attention: tuple[Precision, ...] | None = Field(
        default=None,
        description="precisions whose decoder prompt (context) pass also runs the fused attention"
        " kernel; None: the same as fused_attention",
    )
    elementwise_passes_h: float | None = Field(
        default=None, ge=0, description="element-wise passes over tokens x hidden per layer"
    )
    elementwise_passes_f: float | None = Field(
        default=None, ge=0, description="element-wise passes over tokens x ffn width per layer"
    )
    remove_padding: bool = Field(
        default=False, description="packs variable-length encoder batches (no padded tokens)"
    )
    cuda_graphs: bool = False
    sparse_2_4_kernels: bool = Field(
        default=False, description="has 2:4 structured-sparse GEMM kernels (needs device support)"
    )
    kv_cache: bool = Field(
        default=True,
        description="False: every decode step recomputes the whole context (no key-value cache)",
    )
    max_batch_size: int | None = Field(default=None, ge=1, description="default batch cap")
    max_num_tokens: int | None = Field(default=None, ge=1, description="tokens per step cap")
    kv_memory_policy: Literal["exact", "free_fraction", "total_fraction"] | None = Field(
        default=None,
        description="exact: KV allocated per request batch; free_fraction: share of memory left "
        "after weights; total_fraction: share of all device memory minus weights",
    )
    kv_memory_fraction: float | None = Field(default=None, gt=0, le=1)
    kv_block_tokens: int | None = Field(default=None, ge=1, description="paged-KV block size")
    runtime_memory_bytes: float | None = Field(
        default=None, ge=0, description="context, workspaces and buffers outside weights and KV"
    )
    kv_static_tokens: int | None = Field(
        default=None,
        ge=1,
        description="KV cache allocated once per sequence for this many tokens (a static "
        "buffer of the exported maximum context); requests longer than it need a larger one",
    )
    dynamic_quant_kv_bytes: float | None = Field(
        default=None,
        gt=0,
        description="KV-cache element width with dynamically quantized integer formats "
        "(engines whose quantized graphs run in fp32 keep an fp32 cache)",
    )
    context_buffers_h: float | None = Field(
        default=None,
        ge=0,
        description="prefill activation buffers of tokens x hidden held whole on every TP rank",
    )
    context_buffers_sharded_h: float | None = Field(
        default=None, ge=0, description="prefill buffers of tokens x hidden / tp (QKV, heads)"
    )
    context_buffers_f: float | None = Field(
        default=None, ge=0, description="prefill buffers of tokens x ffn width / tp"
    )
    buffer_growth: float | None = Field(
        default=None,
        ge=1,
        description="factor by which a static engine over-allocates request-sized buffers "
        "(KV cache and prefill buffers re-made larger than the request)",
    )
    replicated_embeddings: bool = Field(
        default=False,
        description="input embedding and LM head held as separate whole copies on every rank",
    )
    allreduce: AllReduceImpl | None = Field(
        default=None,
        description="tensor-parallel all-reduce implementation, timed by its measured curve "
        "on the scale-up link (collectives.yaml): nccl (ncclAllReduce at every size) or the "
        "engine's own kernel (trtllm-custom, vllm-custom) up to custom_allreduce_max_bytes, "
        "NCCL above; None: not recorded (taken as nccl, torch.distributed's GPU backend)",
    )
    custom_allreduce_max_bytes: float | None = Field(
        default=None,
        gt=0,
        description="largest all-reduce message the engine's own kernel takes",
    )
    grouped_decode_attention: bool = Field(
        default=True,
        description="the decode attention kernel loads each key-value head once for the query"
        " heads that share it (GQA/MQA: XQA, FlashAttention, FlashInfer); False: one thread"
        " block per query head loads its key-value head again (masked multi-head attention)",
    )
    releases: tuple[EngineRelease, ...] = Field(
        default=(), description="facts of earlier releases that differ from this record"
    )

    @field_validator("releases", mode="before")
    @classmethod
    def _releases_si(cls, v: object) -> object:
        if isinstance(v, list | tuple):
            return tuple(to_si(r) if isinstance(r, dict) else r for r in v)
        return v

    def releases_for(self, version: str | None) -> list[EngineRelease]:
        """The listed releases whose facts held for release ``version`` (it is earlier than
        their ``before``), newest first; none when the version is not stated."""
        key = version_key(version or "")
        if key is None:
            return []
        applies = [rel for rel in self.releases if key < (version_key(rel.before) or ())]
        return sorted(applies, key=lambda r: version_key(r.before) or (), reverse=True)

    def release_notes(self, version: str | None) -> list[str]:
        """What release ``version`` did differently from the current record, one line per
        listed release that applies (empty when none does)."""

        def shown(value: object) -> str:
            return "not recorded (the calibrated generic value)" if value is None else str(value)

        return [
            f"{self.id} {version} (before {rel.before}): "
            + "; ".join(
                f"{name} = {shown(getattr(rel, name))}"
                for name in sorted(rel.model_fields_set - {"before", "basis"})
            )
            + f" (basis: {rel.basis})"
            for rel in self.releases_for(version)
        ]

    def at_version(self, version: str | None) -> SoftwareStack:
        """This engine as the release ``version`` ran (the record itself when the version
        is not stated or not earlier than any listed release)."""
        update: dict[str, object] = {}
        # newest first, so that the oldest facts win where two releases set the same field
        for rel in self.releases_for(version):
            for name in rel.model_fields_set - {"before", "basis"}:
                update[name] = getattr(rel, name)
        return self.model_copy(update=update) if update else self

    @model_validator(mode="after")
    def _allreduce_threshold(self) -> SoftwareStack:
        custom = self.allreduce not in (None, "nccl")
        if custom != (self.custom_allreduce_max_bytes is not None):
            raise ValueError(
                "custom_allreduce_max_mb goes with an engine's own all-reduce kernel "
                "(allreduce: trtllm-custom or vllm-custom), and only with it"
            )
        return self


class StorageSystem(Record):
    """A storage tier or system (device, parallel FS, object store)."""

    kind: Literal["device", "parallel_fs", "distributed_fs", "nas", "object"]
    good_at: str = ""
    read_bw_bytes_per_s_per_node: float | None = Field(default=None, gt=0)
    write_bw_bytes_per_s_per_node: float | None = Field(default=None, gt=0)
    read_latency_s: float | None = Field(default=None, gt=0)
    usd_per_tb_month: float | None = Field(default=None, gt=0)
    usd_per_tb_capex: float | None = Field(default=None, gt=0)
    durability_copies: float = Field(default=1.0, ge=1, description="raw bytes per stored byte")
    posix: bool = True
    gpudirect: bool = False
    media: str = Field(
        default="", description="id of the device record a shared system is built from"
    )
    drive_capacity_bytes: float | None = Field(default=None, gt=0)
    system_read_bw_bytes_per_s_per_drive: float | None = Field(
        default=None, gt=0, description="delivered by a deployed system, per drive of this kind"
    )
    system_write_bw_bytes_per_s_per_drive: float | None = Field(default=None, gt=0)


class DataService(Record):
    """Supporting data services the seed names: Redis, MySQL, Kafka, Spark, Nginx, ..."""

    kind: Literal[
        "cache", "database", "document_db", "stream", "batch", "stream_processing", "proxy"
    ]
    role: str
    chosen_when: str
    throughput_per_node: float | None = Field(default=None, gt=0)
    throughput_unit: str = ""


class FacilityDefault(Record):
    """One facility fact: PUE, electricity price, carbon intensity, $/kW build cost."""

    metric: str
    value: float
    unit: str
    scope: str = ""
    date: str = ""


class CloudPrice(Record):
    item: str = Field(description="accelerator id this price is for")
    provider: str
    sku: str
    devices: int = Field(ge=1)
    usd_per_device_hour: float = Field(gt=0)
    price_type: Literal["on-demand", "reserved", "spot", "capacity-block", "list", "street"]
    price_date: str = Field(
        min_length=4, description="when the price was observed: YYYY, YYYY-MM or YYYY-MM-DD"
    )
    region: str = Field(default="", description="provider region the price applies to, where known")


class NetworkGear(Record):
    """A switch, NIC, transceiver or cable of one link technology, with price and power.

    ``ports`` and ``port_bw_bytes_per_s`` describe a switch's radix (a NIC has one
    port). ``price_usd`` is per unit at ``price_date``; ``power_w`` is per unit.
    """

    kind: Literal["switch", "nic", "transceiver", "cable"]
    link: str = Field(description="id of the Link this gear serves (ib-ndr, roce-400g, ...)")
    ports: int = Field(default=1, ge=1)
    port_bw_bytes_per_s: float = Field(gt=0, description="per port, per direction")
    rack_units: float = Field(default=0.0, ge=0)
    power_w: float = Field(ge=0)
    price_usd: float = Field(gt=0)
    price_date: str = Field(min_length=1)


CollectiveOp = Literal["all_reduce", "all_gather", "reduce_scatter", "alltoall"]


class CollectiveCurve(Record):
    """Calibrated time of one collective on one link (see aidc.model.network).

    ``t = base + step x steps(op, p) + f(op, p) n / (B eta(n, p))`` with
    ``eta = bus_efficiency (p/8)^rank_exponent / (1 + (ramp_bytes / n)^ramp_exponent)``.
    """

    link: str = Field(description="id of the Link the curve was fitted on")
    op: CollectiveOp
    implementation: AllReduceImpl = Field(
        default="nccl", description="whose kernels were timed: NCCL or an engine's own"
    )
    base_latency_s: float = Field(ge=0)
    step_latency_s: float = Field(ge=0)
    bus_efficiency: float = Field(gt=0, le=3, description="asymptotic busbw / link bw at 8 ranks")
    rank_exponent: float = Field(ge=-4, le=4)
    ramp_bytes: float = Field(ge=0)
    ramp_exponent: float = Field(gt=0, le=1, description="<= 1 keeps time monotone in size")
    fitted_on: str = ""


class ValidationFigure(Record):
    """How far one of aidc's models is from measured results: the output of a benchmark
    script, kept as data so that plans and reports can show each model's error band.

    Errors are fractions (0.09 = 9%), absolute relative errors over ``n`` points, scored as
    ``method`` says (leave-one-source-out for calibrated models). ``command`` reproduces
    the figure; ``measured_on`` dates it.
    """

    model: Literal["training", "inference", "collectives", "gpu-hours", "bench"]
    metric: str
    data: str = Field(description="the measured results scored against")
    method: str
    n: int = Field(ge=1)
    median_abs_error: float = Field(ge=0)
    p90_abs_error: float | None = Field(default=None, ge=0)
    target_median_abs_error: float | None = Field(default=None, ge=0)
    target_p90_abs_error: float | None = Field(default=None, ge=0)
    command: str = Field(min_length=1)
    measured_on: str = Field(min_length=10, description="YYYY-MM-DD")
