"""Engine adapters: one forward pass (encoders) or one generation (decoders) per call.

Engines and precisions (``engine:precision`` on the command line):

* ``pytorch`` — PyTorch eager, ``transformers`` modules under ``torch.inference_mode``;
  ``fp32`` and ``bf16`` everywhere, ``fp16`` on CUDA. Decoders generate greedily with
  the KV cache, one forward per token.
* ``pytorch-compile`` — the same module through ``torch.compile`` (Inductor); compiles
  once per input shape, so warm-up absorbs the compile time.
* ``onnxruntime`` — the module exported to ONNX (TorchScript exporter, dynamic batch and
  sequence axes) and run with all graph optimisations (``ORT_ENABLE_ALL``); ``fp32``,
  and ``int8`` by dynamic quantization (``onnxruntime.quantization.quantize_dynamic``:
  int8 weights, activations quantized per call). On a GPU the CUDA execution provider
  runs it; ``onnxruntime-trt`` asks for the TensorRT provider. Encoders only.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aidc.bench import require
from aidc.bench.models import BuiltModel
from aidc.errors import AidcInputError

ENGINE_PRECISIONS: dict[str, tuple[str, ...]] = {
    "pytorch": ("fp32", "bf16", "fp16"),
    "pytorch-compile": ("fp32", "bf16", "fp16"),
    "onnxruntime": ("fp32", "int8"),
    "onnxruntime-trt": ("fp32", "fp16"),
}
DECODER_ENGINES = {"pytorch", "pytorch-compile"}


@dataclass(frozen=True)
class EngineSpec:
    engine: str
    precision: str

    def __str__(self) -> str:
        return f"{self.engine}:{self.precision}"


def parse_engine_specs(text: str) -> list[EngineSpec]:
    """``"pytorch:fp32,onnxruntime:int8"`` -> specs; one line naming what is allowed."""
    out = []
    for item in [t.strip() for t in text.split(",") if t.strip()]:
        eng, _, prec = item.partition(":")
        prec = prec or "fp32"
        if eng not in ENGINE_PRECISIONS:
            raise AidcInputError(
                f"unknown engine {eng!r}; allowed: {', '.join(ENGINE_PRECISIONS)}",
                field="--engines",
            )
        if prec not in ENGINE_PRECISIONS[eng]:
            raise AidcInputError(
                f"{eng} has no precision {prec!r}; allowed: {', '.join(ENGINE_PRECISIONS[eng])}",
                field="--engines",
            )
        out.append(EngineSpec(eng, prec))
    if not out:
        raise AidcInputError("give at least one engine:precision", field="--engines")
    return out


def unsupported_reason(spec: EngineSpec, kind: str, device: str) -> str | None:
    """Why this engine cannot run this model kind on this device (None: it can)."""
    if kind == "decoder" and spec.engine not in DECODER_ENGINES:
        return f"{spec.engine} runs encoders only in aidc bench (no KV-cache export)"
    if spec.precision == "fp16" and device != "cuda" and spec.engine.startswith("pytorch"):
        return "fp16 matrix kernels need a GPU; use bf16 on CPU"
    if spec.engine == "onnxruntime-trt" and device != "cuda":
        return "the TensorRT execution provider needs a GPU"
    if spec.engine == "onnxruntime" and spec.precision == "int8" and device == "cuda":
        return "dynamic INT8 quantization runs on the CPU execution provider only"
    return None


def _dtype(torch: Any, precision: str) -> Any:
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def token_ids(vocab_size: int, batch: int, seq: int, seed: int = 0) -> np.ndarray:
    """Random token ids away from the special tokens at the bottom of the vocabulary."""
    lo = min(1000, vocab_size // 2)
    return np.random.default_rng(seed).integers(lo, vocab_size, size=(batch, seq), dtype=np.int64)


class _EncoderWrapper:
    """A module whose forward takes (input_ids, attention_mask) and returns hidden states."""

    @staticmethod
    def make(torch: Any, module: Any) -> Any:
        class Wrapper(torch.nn.Module):
            def __init__(self, m: Any) -> None:
                super().__init__()
                self.m = m

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        return Wrapper(module).eval()


@dataclass
class EncoderEngine:
    """Prepared engine for one encoder model; :meth:`runner` binds a batch and length."""

    built: BuiltModel
    spec: EngineSpec
    device: str = "cpu"
    threads: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._torch = require("torch")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if self.spec.engine.startswith("onnxruntime"):
            self._prepare_ort()
        else:
            self._prepare_torch()

    # -- PyTorch
    def _prepare_torch(self) -> None:
        torch = self._torch
        if self.threads:
            torch.set_num_threads(self.threads)
        module = _private_copy(self.built.module, self.spec.precision, self.device)
        module = module.to(device=self.device, dtype=_dtype(torch, self.spec.precision))
        self._module = _EncoderWrapper.make(torch, module)
        if self.spec.engine == "pytorch-compile":
            self._module = torch.compile(self._module, dynamic=False)
        self.settings.update(
            {
                "torch_threads": torch.get_num_threads(),
                "attn_implementation": getattr(
                    self.built.module.config, "_attn_implementation", None
                ),
                "compiled": self.spec.engine == "pytorch-compile",
            }
        )

    # -- ONNX Runtime
    def _prepare_ort(self) -> None:
        torch = self._torch
        ort = require("onnxruntime")
        self._tmp = tempfile.TemporaryDirectory(prefix="aidc-bench-")
        path = Path(self._tmp.name) / "model.onnx"
        wrapper = _EncoderWrapper.make(torch, self.built.module.float().cpu())
        ids = torch.from_numpy(token_ids(self.built.arch.vocab_size, 2, 8))
        axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                (ids, torch.ones_like(ids)),
                str(path),
                input_names=["input_ids", "attention_mask"],
                output_names=["hidden"],
                dynamic_axes={**axes, "hidden": {0: "batch", 1: "seq"}},
                opset_version=17,
                dynamo=False,
            )
        if self.spec.precision == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            qpath = path.with_name("model.int8.onnx")
            with _quiet_logging():
                quantize_dynamic(str(path), str(qpath), weight_type=QuantType.QInt8)
            path = qpath
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        available = ort.get_available_providers()
        if self.device == "cuda":
            wanted = (
                ["TensorrtExecutionProvider"] if self.spec.engine == "onnxruntime-trt" else []
            ) + ["CUDAExecutionProvider"]
            providers = [p for p in wanted if p in available] + ["CPUExecutionProvider"]
            if providers[0] == "CPUExecutionProvider":
                raise AidcInputError(
                    "onnxruntime has no CUDA execution provider here; install onnxruntime-gpu",
                    field="--engines",
                )
        else:
            providers = ["CPUExecutionProvider"]
        self._session = ort.InferenceSession(str(path), so, providers=providers)
        self.settings.update(
            {
                "ort_providers": self._session.get_providers(),
                "ort_graph_optimization": "ORT_ENABLE_ALL",
                "ort_intra_op_threads": self.threads,
                "ort_inter_op_threads": 1,
                "quantization": "dynamic int8 weights (QInt8), per-tensor"
                if self.spec.precision == "int8"
                else None,
                "onnx_bytes": path.stat().st_size,
            }
        )

    def runner(self, batch: int, seq: int) -> Callable[[], Any]:
        ids_np = token_ids(self.built.arch.vocab_size, batch, seq)
        mask_np = np.ones_like(ids_np)
        if self.spec.engine.startswith("onnxruntime"):
            feed = {"input_ids": ids_np, "attention_mask": mask_np}
            sess = self._session
            return lambda: sess.run(None, feed)
        torch = self._torch
        ids = torch.from_numpy(ids_np).to(self.device)
        mask = torch.from_numpy(mask_np).to(self.device)
        module = self._module

        def run() -> Any:
            with torch.inference_mode():
                return module(ids, mask)

        return run

    def embed(self, ids_np: np.ndarray, mask_np: np.ndarray) -> np.ndarray:
        """Hidden states as float32 numpy (for accuracy comparisons)."""
        if self.spec.engine.startswith("onnxruntime"):
            return self._session.run(None, {"input_ids": ids_np, "attention_mask": mask_np})[0]
        torch = self._torch
        with torch.inference_mode():
            out = self._module(
                torch.from_numpy(ids_np).to(self.device), torch.from_numpy(mask_np).to(self.device)
            )
        return out.float().cpu().numpy()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


@contextlib.contextmanager
def _quiet_logging() -> Any:
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


@dataclass
class DecoderEngine:
    """Greedy generation with the KV cache in PyTorch (one forward per new token)."""

    built: BuiltModel
    spec: EngineSpec
    device: str = "cpu"
    threads: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        torch = self._torch = require("torch")
        if self.threads:
            torch.set_num_threads(self.threads)
        module = _private_copy(self.built.module, self.spec.precision, self.device)
        self._module = module.to(device=self.device, dtype=_dtype(torch, self.spec.precision))
        self._forward = self._module
        # transformers 5.x renamed ``past_key_values`` to ``cache`` (argument and output)
        params = inspect.signature(self._module.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        if self.spec.engine == "pytorch-compile":
            self._forward = torch.compile(self._module, dynamic=True)
        self.settings.update(
            {
                "torch_threads": torch.get_num_threads(),
                "attn_implementation": getattr(
                    self.built.module.config, "_attn_implementation", None
                ),
                "compiled": self.spec.engine == "pytorch-compile",
                "decoding": "greedy, KV cache (transformers DynamicCache)",
            }
        )

    def _inputs(self, batch: int, n_in: int) -> Any:
        return torch_from(
            self._torch, token_ids(self.built.arch.vocab_size, batch, n_in), self.device
        )

    def prefill_runner(self, batch: int, n_in: int) -> Callable[[], Any]:
        torch = self._torch
        ids = self._inputs(batch, n_in)
        fwd = self._forward

        def run() -> Any:
            with torch.inference_mode():
                return fwd(input_ids=ids, use_cache=True).logits[:, -1, :]

        return run

    def generate_step_times(
        self, batch: int, n_in: int, n_out: int, clock: Any
    ) -> tuple[tuple[float, float], list[tuple[float, float]]]:
        """One generation: (prefill, each of the ``n_out - 1`` decode steps that follow —
        the prefill produces the first token), each as (wall seconds, CPU seconds)."""
        torch = self._torch
        ids = self._inputs(batch, n_in)
        fwd = self._forward
        state: dict[str, Any] = {}

        cache_arg = self._cache_arg

        def prefill() -> None:
            out = fwd(input_ids=ids, use_cache=True)
            state["past"] = getattr(out, cache_arg)
            state["next"] = out.logits[:, -1, :].argmax(-1, keepdim=True)

        def step() -> None:
            out = fwd(input_ids=state["next"], use_cache=True, **{cache_arg: state["past"]})
            state["past"] = getattr(out, cache_arg)
            state["next"] = out.logits[:, -1, :].argmax(-1, keepdim=True)

        def timed(fn: Callable[[], None]) -> tuple[float, float]:
            wall = clock.time_call(fn)
            return wall, clock.last_cpu_s

        with torch.inference_mode():
            t_prefill = timed(prefill)
            steps = [timed(step) for _ in range(max(n_out - 1, 0))]
        return t_prefill, steps

    def close(self) -> None:
        pass


def _private_copy(module: Any, precision: str, device: str) -> Any:
    """``.to()`` converts a module in place: other engines share the fp32 CPU original."""
    if precision == "fp32" and device == "cpu":
        return module
    return copy.deepcopy(module)


def torch_from(torch: Any, arr: np.ndarray, device: str) -> Any:
    return torch.from_numpy(arr).to(device)
