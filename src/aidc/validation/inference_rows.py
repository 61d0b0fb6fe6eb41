"""Reference inference measurements (rows of ``data/reference/inference.csv``) as specs.

Rows arrive as ``dict[str, str]`` (the CLI reads the CSV); this module parses them
leniently (``~60``, ``15T+``, ``~250k``), maps hardware, model, engine and precision names
to the catalog, and decides how the row was measured (encoder pass, static batch,
continuous/offline batching, single stream). Only the *input* columns are read here;
measured columns are collected separately (:data:`MEASURED_FIELDS`) and never influence
a prediction.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from aidc.catalog.loader import Catalog
from aidc.catalog.schema import Accelerator, ModelArch, SoftwareStack
from aidc.units import GIGA, KILO, MEGA, TERA

MEASURED_FIELDS = (
    "e2e_latency_ms",
    "ttft_ms",
    "tpot_ms",
    "output_tokens_per_s",
    "output_tokens_per_s_per_gpu",
    "total_tokens_per_s",
    "input_tokens_per_s",
    "requests_per_s",
    "prefill_tokens_per_s",
    "decode_tokens_per_s_per_user",
    "peak_mem_gb",
    "oom",
)
"""Measured columns scored by ``aidc validate inference`` (``oom`` as a classification)."""

DEFAULT_CONTEXT_TOKENS = 128
"""Context assumed for single-stream decode rates when a row gives no lengths (stated in
the row's prediction note)."""

PYTORCH_SDPA_YEAR = 2023
"""PyTorch 2.0 (March 2023) brought fused scaled_dot_product_attention; earlier eager and
TorchScript models materialised the attention scores."""

_SUFFIX = {"k": KILO, "m": MEGA, "b": GIGA, "g": GIGA, "t": TERA}
_NUM = re.compile(r"^[~≈<>+]*\s*([-+]?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtT]?)\+?\s*$")


def parse_number(text: str | None) -> float | None:
    """``'~60'`` -> 60, ``'15T+'`` -> 1.5e13, ``'~250k'`` -> 2.5e5; anything else -> None."""
    if text is None:
        return None
    s = str(text).strip()
    if not s:
        return None
    m = _NUM.match(s)
    if not m:
        return None
    value = float(m.group(1).replace(",", ""))
    return value * _SUFFIX.get(m.group(2).lower(), 1.0) if m.group(2) else value


def parse_bool(text: str | None) -> bool | None:
    s = (text or "").strip().lower()
    if s in {"yes", "true", "1", "oom", "y"}:
        return True
    if s in {"no", "false", "0", "n"}:
        return False
    return None


# ------------------------------------------------------------------ names to the catalog


def find_accelerator(name: str, catalog: Catalog) -> Accelerator | None:
    """Catalog record for a free-text hardware name: the whole name, the part before a
    parenthesis, the parenthesised parts, then shorter ``-``-separated prefixes."""
    raw = (name or "").strip()
    if not raw:
        return None
    candidates = [raw]
    head = raw.split("(")[0].strip()
    candidates.append(head)
    candidates += [p.strip() for p in re.findall(r"\(([^)]*)\)", raw) for p in p.split(",")]
    parts = head.split("-")
    candidates += ["-".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
    candidates += [head.replace(" ", "-"), head.replace("NVIDIA ", "")]
    for c in candidates:
        rec = catalog.accelerators.find(c) if c else None
        if rec is not None:
            return rec
    return None


_ENGINES: tuple[tuple[str, str], ...] = (
    (r"tensorrt-llm|trt-llm|trtllm", "tensorrt-llm"),
    (r"fastertransformer|\beff-ft\b", "fastertransformer"),
    (r"\bvllm\b", "vllm"),
    (r"sglang", "sglang"),
    (r"llama\.cpp|llamacpp|ggml", "llama.cpp"),
    (r"executorch", "executorch"),
    (r"text-generation-inference|\btgi\b", "tgi"),
    (r"onnx", "onnxruntime"),
    (r"torchserve", "torchserve"),
    (r"tf serving|tensorflow serving", "tf-serving"),
    (r"tensorflow|\bxla\b", "tensorflow"),
    (r"megatron", "megatron-lm"),
    (r"torchscript|pytorch|\btorch\b", "pytorch"),
    (r"triton", "triton"),
    (r"caffe2", "caffe2"),
)


def find_engine(name: str, catalog: Catalog) -> SoftwareStack | None:
    s = (name or "").lower()
    for pattern, eid in _ENGINES:
        if re.search(pattern, s) and eid in catalog.software:
            return catalog.software.get(eid)
    return catalog.software.find(name.strip()) if name.strip() else None


def format_name(precision: str) -> str | None:
    """Serving format (:mod:`aidc.model.serve_format`) of a free-text precision."""
    s = (precision or "").lower()
    if not s:
        return None
    if re.search(r"spinquant|qat|qlora|w4a8", s):
        return "w4a8"  # 4-bit group-wise weights with 8-bit dynamic activations
    rules = (
        (r"fp4|nvfp4|mxfp4", "fp4"),
        (r"fp8", "fp8"),
        (r"int8.*weight|w8a16", "int8-weight-only"),
        (r"int8", "int8"),
        (r"int4|4-bit|q4|awq|gptq", "int4-weight-only"),
        (r"bf16|bfloat16", "bf16"),
        (r"fp16|half", "fp16"),
        (r"tf32", "tf32"),
        (r"fp32|float32", "fp32"),
    )
    for pattern, fmt in rules:
        if re.search(pattern, s):
            return fmt
    return None


def _arch_from_columns(row: dict[str, str]) -> ModelArch | None:
    """An architecture from the row's own columns (layers, hidden, heads): a GPT/BERT-style
    block with ``ffn = 4 h``; vocabulary from the notes (``vocab N``) or BERT's 30,522 /
    GPT-2's 50,257 (assumed)."""
    layers = parse_number(row.get("n_layers"))
    hidden = parse_number(row.get("hidden_size"))
    heads = parse_number(row.get("n_heads"))
    if not (layers and hidden and heads):
        return None
    encoder = (
        "encoder" in (row.get("arch_type") or "").lower()
        or "bert" in (row.get("model") or "").lower()
    )
    m = re.search(r"vocab(?:_size)?\s*=?\s*(\d+)", row.get("notes") or "", re.I)
    vocab = int(m.group(1)) if m else (30522 if encoder else 50257)
    return ModelArch(
        id=(row.get("model") or "custom").strip(),
        family="bert" if encoder else "gpt",
        kind="encoder" if encoder else "decoder",
        n_layers=int(layers),
        hidden_size=int(hidden),
        n_heads=int(heads),
        ffn_hidden_size=int(4 * hidden),
        vocab_size=vocab,
        max_seq_len=2048,
        tied_embeddings=True,
        position_embedding="learned",
        source="architecture columns of the reference row",
        provenance="published",
        field_provenance={"ffn_hidden_size": "assumed", "vocab_size": "assumed"},
    )


def find_model(row: dict[str, str], catalog: Catalog) -> ModelArch | None:
    """The catalog's record when its shape agrees with the row's columns; else one built
    from the columns; else the catalog's record by name; else None."""
    name = (row.get("model") or "").strip()
    rec = catalog.models.find(name) or catalog.models.find(name.split("(")[0].strip())
    built = _arch_from_columns(row)
    if rec is not None and built is not None:
        same = (rec.n_layers, rec.hidden_size, rec.n_heads) == (
            built.n_layers,
            built.hidden_size,
            built.n_heads,
        )
        return rec if same else built
    return rec or built


# ------------------------------------------------------------------------------ row specs

Mode = str  # "encoder" | "static" | "continuous"


@dataclass(frozen=True)
class RowSpec:
    """Everything needed to predict one reference row (inputs only)."""

    row_id: str
    source: str
    hardware: str  # catalog id
    accelerator: Accelerator
    arch: ModelArch
    engine: SoftwareStack | None
    fmt: str
    mode: Mode
    tp: int
    pp: int
    batch: float
    concurrency: float  # inf: offline queue
    input_len: float
    output_len: float
    real_len: float | None  # encoders with padding removal
    remove_padding: bool
    engine_overrides: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    attention_dp: bool = False  # MoE served with data-parallel attention (see the row notes)


@dataclass(frozen=True)
class Skipped:
    row_id: str
    reason: str


def measured_values(row: dict[str, str]) -> dict[str, float]:
    """The row's measured columns, parsed (``oom`` as 1.0 / 0.0)."""
    out: dict[str, float] = {}
    for f in MEASURED_FIELDS:
        if f == "oom":
            b = parse_bool(row.get("oom"))
            if b is not None:
                out[f] = 1.0 if b else 0.0
            continue
        v = parse_number(row.get(f))
        if v is not None:
            out[f] = v
    return out


def _real_length_ratio(row: dict[str, str]) -> float | None:
    m = re.search(r"real length\s*=\s*seq_?len\s*/\s*(\d+(?:\.\d+)?)", row.get("notes") or "", re.I)
    return 1.0 / float(m.group(1)) if m else None


def parse_row(row: dict[str, str], catalog: Catalog) -> RowSpec | Skipped:
    """Map one CSV row to a :class:`RowSpec`, or say why it cannot be predicted."""
    rid = (row.get("row_id") or "?").strip()
    acc = find_accelerator(row.get("hardware") or "", catalog)
    if acc is None:
        return Skipped(rid, f"hardware {row.get('hardware')!r} not in the catalog")
    arch = find_model(row, catalog)
    if arch is None:
        return Skipped(
            rid, f"model {row.get('model')!r} not in the catalog and no architecture columns"
        )
    fmt = format_name(row.get("precision") or "")
    if fmt is None:
        return Skipped(rid, f"precision {row.get('precision')!r} not stated or not recognised")
    engine_text = row.get("engine") or ""
    engine = find_engine(engine_text, catalog)
    if engine is not None:
        engine = engine.at_version(row.get("engine_version"))  # the release the row ran
    notes: list[str] = []
    tp = int(parse_number(row.get("tp")) or 1)
    pp = int(parse_number(row.get("pp")) or 1)
    n_accel = parse_number(row.get("n_accel"))
    if n_accel and tp * pp == 1 and n_accel > 1:
        tp = int(n_accel)
        notes.append("tp taken from n_accel")
    batch = parse_number(row.get("batch_size"))
    conc = parse_number(row.get("concurrency"))
    n_in = parse_number(row.get("input_len"))
    n_out = parse_number(row.get("output_len"))
    scenario = (row.get("scenario") or "").lower()
    overrides: dict[str, float] = {}
    if "trtllm-bench" in engine_text.lower():
        # trtllm-bench's tuning heuristic caps (tensorrt_llm/bench/build/tuning.py)
        overrides = {"max_batch": 4096.0, "max_num_tokens": 32768.0}
    year = parse_number(row.get("year"))
    if (
        engine is not None
        and engine.id == "pytorch"
        and year is not None
        and year < PYTORCH_SDPA_YEAR
    ):
        overrides["fused_attention"] = 0.0  # eager attention before scaled_dot_product_attention
        notes.append("PyTorch before 2.0: unfused attention")
    # the source's notes say when MoE models ran with data-parallel attention
    attention_dp = arch.is_moe and bool(
        re.search(r"MoE runs use attention DP", row.get("notes") or "", re.I)
    )
    remove_padding = bool(
        re.search(r"remove-padding|eff-ft|effective", engine_text, re.I)
        or re.search(r"is_remove_padding\s*=\s*1", row.get("notes") or "")
    )

    def spec(
        mode: Mode,
        batch_: float,
        concurrency: float,
        input_len: float,
        output_len: float,
        *,
        real_len: float | None = None,
        remove_padding: bool = False,
    ) -> RowSpec:
        return RowSpec(
            rid,
            row.get("source_id") or "",
            acc.id,
            acc,
            arch,
            engine,
            fmt,
            mode,
            tp,
            pp,
            batch_,
            concurrency,
            input_len,
            output_len,
            real_len,
            remove_padding,
            overrides,
            tuple(notes),
            attention_dp,
        )

    real_len = None
    if arch.kind == "encoder":
        if n_in is None or batch is None:
            return Skipped(rid, "encoder row without batch size or sequence length")
        ratio = _real_length_ratio(row) if remove_padding else None
        real_len = n_in * ratio if ratio else None
        if remove_padding and real_len is None:
            notes.append("real length not stated: padding removal saves nothing")
        return spec(
            "encoder", batch, 1.0, n_in, 0.0, real_len=real_len, remove_padding=remove_padding
        )
    offline = (
        "offline" in scenario or "max-throughput" in scenario or "all requests queued" in scenario
    )
    if offline:
        if n_in is None or n_out is None:
            return Skipped(rid, "offline throughput row without input/output lengths")
        return spec("continuous", batch or math.inf, conc or math.inf, n_in, n_out)
    if conc is not None:
        if n_in is None or n_out is None:
            return Skipped(rid, "concurrency row without input/output lengths")
        return spec("continuous", conc, conc, n_in, n_out)
    if n_in is None:
        notes.append(f"lengths not stated: {DEFAULT_CONTEXT_TOKENS}-token context assumed")
        n_in = float(DEFAULT_CONTEXT_TOKENS)
    if n_out is None:
        n_out = 1.0
    return spec("static", batch or 1.0, batch or 1.0, n_in, n_out)
