"""Training-step bench: step time and the optimizer's real memory, per optimizer.

One step = forward with the language-modelling (or masked-LM-free, hidden-state) loss,
backward, ``optimizer.step()``, ``zero_grad(set_to_none=True)``. After warm-up steps (the
optimizer allocates its state lazily on the first step) the state is counted tensor by
tensor in ``optimizer.state``:

* **per-element state**: tensors with one element per parameter element (momentum
  buffers, Adam's two moments, RMSprop's square average) — what the training model's
  ``optimizer_state_bytes_per_param`` predicts, ``bytes/param x parameters``; the two
  must agree exactly;
* **bookkeeping**: scalar tensors (Adam's and RMSprop's ``step`` counter, one per
  parameter tensor) — a few bytes per tensor, reported separately, not per parameter.

Plain SGD (``momentum=0``) keeps no state at all in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aidc.bench import require
from aidc.bench.engines import token_ids
from aidc.bench.models import build_model, n_parameters
from aidc.bench.store import Run
from aidc.bench.timing import Clock, PeakMemory, RepeatPolicy, repeat
from aidc.catalog.schema import ModelArch
from aidc.errors import AidcInputError
from aidc.model.training import optimizer_state_bytes_per_param
from aidc.model.transformer import param_counts

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adamw")
TRAIN_PRECISION_BYTES = 4.0  # fp32 parameters and states on this bench


def make_optimizer(name: str, params: Any) -> Any:
    torch = require("torch")
    lr = 1e-4
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.0)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    raise AidcInputError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")


@dataclass(frozen=True)
class StateBytes:
    per_element: int  # tensors shaped like their parameter
    bookkeeping: int  # scalar tensors (step counters)
    n_tensors: int


def optimizer_state_bytes(optimizer: Any, params: Sequence[Any]) -> StateBytes:
    """Sum ``numel x element_size`` over every tensor in ``optimizer.state``."""
    torch = require("torch")
    by_id = {id(p): p for p in params}
    per_el = book = n = 0
    for p, state in optimizer.state.items():
        for value in state.values():
            if not isinstance(value, torch.Tensor):
                continue
            nbytes = value.numel() * value.element_size()
            n += 1
            if id(p) in by_id and value.numel() == p.numel() and value.dim() > 0:
                per_el += nbytes
            else:
                book += nbytes
    return StateBytes(per_el, book, n)


def predicted_state_bytes(optimizer: str, n_params: int) -> float:
    """The training model's optimizer-state term for fp32 training of ``n_params``."""
    return optimizer_state_bytes_per_param(optimizer, TRAIN_PRECISION_BYTES) * n_params


@dataclass(frozen=True)
class TrainingResult:
    optimizer: str
    step_s_p50: float
    step_cpu_s_p50: float  # process CPU time (NaN on a GPU)
    n_params: int
    state: StateBytes
    predicted_state_bytes: float
    params_bytes: int
    grads_bytes: int

    @property
    def agrees(self) -> bool:
        return self.state.per_element == self.predicted_state_bytes


def train_steps(
    arch: ModelArch,
    optimizers: Sequence[str],
    *,
    batch: int,
    seq_len: int,
    policy: RepeatPolicy,
    device: str = "cpu",
    threads: int | None = None,
    on_result: Callable[[TrainingResult, Any, Any], None] | None = None,
) -> list[TrainingResult]:
    """Run the step bench for each optimizer on a fresh copy of the model."""
    torch = require("torch")
    if threads:
        torch.set_num_threads(threads)
    if seq_len > arch.max_seq_len:
        raise AidcInputError(
            f"{seq_len} exceeds {arch.id}'s max_seq_len {arch.max_seq_len}", field="--seq-len"
        )
    results = []
    for name in optimizers:
        built = build_model(arch, pretrained=False)
        model = built.module.to(device).train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = make_optimizer(name, params)
        ids = torch.from_numpy(token_ids(arch.vocab_size, batch, seq_len)).to(device)

        def step(
            model: Any = model, opt: Any = opt, ids: Any = ids, kind: str = built.kind
        ) -> None:
            if kind == "decoder":
                loss = model(input_ids=ids, labels=ids).loss
            else:
                loss = model(input_ids=ids).last_hidden_state.float().pow(2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        with PeakMemory(device) as mem:
            st = repeat(step, policy, Clock(device))
        # gradients are freed by zero_grad: run one backward to count their bytes
        if built.kind == "decoder":
            model(input_ids=ids, labels=ids).loss.backward()
        else:
            model(input_ids=ids).last_hidden_state.float().pow(2).mean().backward()
        grads = sum(p.grad.numel() * p.grad.element_size() for p in params if p.grad is not None)
        n = n_parameters(model)
        res = TrainingResult(
            optimizer=name,
            step_s_p50=st.p50_s,
            step_cpu_s_p50=st.cpu_time_stats().get("cpu_time_p50_s", float("nan")),
            n_params=n,
            state=optimizer_state_bytes(opt, params),
            predicted_state_bytes=predicted_state_bytes(name, n),
            params_bytes=sum(p.numel() * p.element_size() for p in params),
            grads_bytes=int(grads),
        )
        results.append(res)
        if on_result is not None:
            on_result(res, st, mem)
        del model, opt, built
    return results


def record_training(
    run: Run, arch: ModelArch, batch: int, seq_len: int, threads: int | None
) -> Callable[[TrainingResult, Any, Any], None]:
    def _record(res: TrainingResult, st: Any, mem: Any) -> None:
        run.record(
            {
                "kind": "training",
                "phase": "train_step",
                "model": arch.id,
                "engine": "pytorch",
                "precision": "fp32",
                "batch": batch,
                "seq_len": seq_len,
                "threads": threads,
                **st.as_columns(),
                "throughput_per_s": batch * seq_len / st.p50_s,
                "throughput_unit": "token/s",
                "peak_memory_bytes": mem.peak_bytes,
            },
            {
                "optimizer": res.optimizer,
                "n_params_module": res.n_params,
                "n_params_aidc": param_counts(arch).total,
                "state_bytes_measured": res.state.per_element,
                "state_bytes_predicted": res.predicted_state_bytes,
                "state_bytes_agree": res.agrees,
                "state_bookkeeping_bytes": res.state.bookkeeping,
                "state_tensors": res.state.n_tensors,
                "params_bytes": res.params_bytes,
                "grads_bytes": res.grads_bytes,
                "peak_memory_scope": mem.scope,
                **st.cpu_time_stats(),
                "arch": arch.model_dump(mode="json"),
            },
        )

    return _record
