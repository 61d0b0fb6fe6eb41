"""Serving precision and compression as real bytes and FLOP/s.

The seed's "compression factor x quantization factor" becomes, for each format, the
bytes a weight, an activation and a KV-cache element occupy and the tensor-core precision
the matrix multiplies run at:

* **W16A16** (fp16/bf16), **fp32**, **tf32** (fp32 storage, tf32 multiplies): the baselines.
* **W8A8** (fp8 on Hopper/Blackwell/Ada, int8 SmoothQuant on Ampere+): 1 B weights and
  GEMM inputs, GEMMs at the fp8/int8 peak (Xiao et al. 2023, SmoothQuant, arXiv 2211.10438;
  Micikevicius et al. 2022, FP8 Formats, arXiv 2209.05433).
* **Weight-only** int8 / int4 (GPTQ arXiv 2210.17323, AWQ arXiv 2306.00978): weights are
  dequantised to bf16 inside the GEMM, so compute runs at the bf16 peak and only the bytes
  streamed shrink. Group-wise int4 with a 16-bit scale per 128 weights stores
  ``0.5 + 2/128`` B per weight.
* Integer activations are quantized before each of the four GEMMs of a layer (per-token
  dynamic scales): four extra memory-bound kernels per layer (FP8/FP4 engines fold static
  scales into the GEMM epilogues).
* **W4A8** (int4 weights, int8 activations; e.g. SpinQuant/QAT in ExecuTorch, arXiv
  2405.16406): int8 GEMMs, 4-bit weights in groups of 32 with an fp32 scale each
  (``0.5 + 4/32`` B): the scheme of Meta's quantized Llama 3.2 (ExecuTorch
  examples/models/llama/README.md: "4-bit groupwise ... group size of 32"; torchao's
  ``Int8DynActInt4WeightQuantizer`` keeps ``scales_precision=torch.float32``). The
  published PTE sizes agree: 1,083 MiB (1B) and 2,435 MiB (3B) against 1,081 and 2,432
  MiB from these bytes and the tied embedding at 16 bit once (the same bytes as its two
  8-bit per-channel copies there, the lookup table and the classifier).
* **FP4** (NVFP4 W4A4: e2m1 values with an fp8 scale per 16, NVIDIA Blackwell): ``0.5 +
  1/16`` B per element, GEMMs at the fp4 peak, FP8 KV cache in NVIDIA's ModelOpt checkpoints.
* **KV-cache quantization**: the cache may be stored at fp8/int8 (1 B) independently of the
  weights, halving KV bytes read per decode step and doubling the concurrency memory allows.
* **Embeddings and LM head** stay at 16 bit in quantized checkpoints (NVIDIA ModelOpt
  and most weight-only schemes exclude ``lm_head`` and the embedding table by default).
* **Packed 4-bit weights** (``int4-weight-only``, ``w4a8``) are widened to the compute
  type inside the GEMM's main loop (shift, mask, group scale): extra instructions per
  weight, shared by the rows of the kernel's tile, which the serving model charges as a
  calibrated share of the GEMM's math time (``dequant_overhead``; large on CPUs, whose
  micro-kernels tile a few rows, small on GPUs, whose tiles span 64-256).
* **Structured 2:4 sparsity**: halves GEMM FLOPs where the device has sparse tensor cores
  *and* the engine has kernels (Mishra et al. 2021, arXiv 2104.08378); weights keep
  ``0.5 + 1/8`` of their bytes (values plus 2-bit indices per kept value). Quality risk:
  needs sparse fine-tuning; one-shot 2:4 pruning of LLMs loses accuracy (SparseGPT,
  arXiv 2301.00774, table 3).
* **Unstructured pruning**: no speed-up on GPUs (dense kernels still multiply the zeros);
  aidc counts no gain. Quality risk grows quickly beyond ~50% sparsity for LLMs.

Quality risks are stated, not modelled: aidc reports them next to the design.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aidc.catalog.schema import Precision
from aidc.errors import AidcInputError


@dataclass(frozen=True)
class ServeFormat:
    """Bytes and compute precision of one serving format."""

    name: str
    compute: Precision  # tensor-core precision of the GEMMs
    weight_bytes: float  # per parameter, scales included
    act_bytes: float  # per activation element between kernels
    kv_bytes: float  # per KV-cache element
    embed_bytes: float = 2.0  # embeddings and LM head: quantizers keep them at 16 bit
    gemm_flop_factor: float = 1.0  # 0.5 with 2:4 sparse kernels
    quant_kernels_per_layer: float = 0.0  # activation (de)quantization kernels per layer
    unpacked_weights: bool = False  # packed sub-byte weights widened inside the GEMM loop
    quality_risk: str = ""

    def with_kv(self, kv_bytes: float) -> ServeFormat:
        return replace(self, kv_bytes=kv_bytes, name=f"{self.name}+kv{int(kv_bytes * 8)}")


_INT4_GROUP = 0.5 + 2.0 / 128.0  # 4-bit values + one fp16 scale per 128 weights
_NVFP4 = 0.5 + 1.0 / 16.0  # 4-bit values + one fp8 scale per 16 elements
_INT4_G32_FP32 = 0.5 + 4.0 / 32.0  # torchao 8da4w: 4-bit values + one fp32 scale per 32

FORMATS: dict[str, ServeFormat] = {
    f.name: f
    for f in (
        ServeFormat("fp32", Precision.FP32, 4.0, 4.0, 4.0, embed_bytes=4.0),
        ServeFormat("tf32", Precision.TF32, 4.0, 4.0, 4.0, embed_bytes=4.0),
        ServeFormat("fp16", Precision.FP16, 2.0, 2.0, 2.0),
        ServeFormat("bf16", Precision.BF16, 2.0, 2.0, 2.0),
        ServeFormat(
            "fp8",
            Precision.FP8,
            1.0,
            1.0,
            1.0,
            quality_risk="small: per-tensor fp8 with calibrated scales is within ~1% on most LLM benchmarks",
        ),
        ServeFormat(
            "int8",
            Precision.INT8,
            1.0,
            1.0,
            2.0,
            quant_kernels_per_layer=4.0,
            quality_risk="small with SmoothQuant-style outlier migration; naive W8A8 degrades LLMs above ~6.7B",
        ),
        ServeFormat(
            "int8-weight-only",
            Precision.BF16,
            1.0 + 2.0 / 4096.0,
            2.0,
            2.0,
            quality_risk="negligible (per-channel int8 weights)",
        ),
        ServeFormat(
            "int4-weight-only",
            Precision.BF16,
            _INT4_GROUP,
            2.0,
            2.0,
            unpacked_weights=True,
            quality_risk="moderate: group-wise GPTQ/AWQ int4 loses ~1-3 points on reasoning benchmarks; worse for small models",
        ),
        ServeFormat(
            "w4a8",
            Precision.INT8,
            _INT4_G32_FP32,
            1.0,
            2.0,
            quant_kernels_per_layer=4.0,
            unpacked_weights=True,
            quality_risk="moderate: needs rotation (SpinQuant) or quantization-aware training",
        ),
        ServeFormat(
            "fp4",
            Precision.FP4,
            _NVFP4,
            _NVFP4,
            1.0,
            quality_risk="moderate: NVFP4 post-training quantization loses ~1 point on average; check the task",
        ),
    )
}

KV_FORMATS: dict[str, float] = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0}


def serve_format(name: str, *, kv: str | None = None, sparse_2_4: bool = False) -> ServeFormat:
    """The format called ``name`` (see :data:`FORMATS`), optionally with a quantized KV
    cache (``kv='fp8'``) and 2:4 structured sparsity (half the GEMM FLOP; the caller
    checks that device and engine have sparse kernels)."""
    key = name.lower()
    if key not in FORMATS:
        raise AidcInputError(
            f"unknown precision {name!r}; allowed: {', '.join(FORMATS)}", field="precision"
        )
    fmt = FORMATS[key]
    if kv is not None:
        if kv.lower() not in KV_FORMATS:
            raise AidcInputError(
                f"unknown KV-cache precision {kv!r}; allowed: {', '.join(KV_FORMATS)}",
                field="kv_precision",
            )
        fmt = fmt.with_kv(KV_FORMATS[kv.lower()])
    if sparse_2_4:
        fmt = replace(
            fmt,
            name=f"{fmt.name}+2:4",
            weight_bytes=fmt.weight_bytes * (0.5 + 1.0 / 8.0),
            gemm_flop_factor=0.5,
            quality_risk=(
                "2:4 sparsity needs sparse fine-tuning; one-shot pruning loses accuracy"
                + (f"; {fmt.quality_risk}" if fmt.quality_risk else "")
            ),
        )
    return fmt


UNSTRUCTURED_PRUNING_NOTE = (
    "unstructured pruning: no speed-up counted (dense GPU kernels multiply the zeros); "
    "quality drops quickly beyond ~50% sparsity for LLMs (SparseGPT, arXiv 2301.00774)"
)
