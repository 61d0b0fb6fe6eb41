"""Discrete-event simulation of a serving fleet: arrivals, batching, replicas, load balancing.

Pure: numpy and heapq only; randomness comes from a ``numpy.random.Generator`` passed in.

* **Arrivals**: Poisson, bursty (a two-state Markov-modulated Poisson process: bursts at
  ``burst_factor`` times the base rate), a trace (timestamps and token lengths), or a
  closed loop of ``clients`` that each send the next request when the previous finishes.
* **Replicas** behind a load balancer: round-robin, or least-outstanding (nginx
  ``least_conn``: the replica with the fewest requests queued or running).
* **Batching policy** per replica:

  - ``continuous`` (vLLM, TensorRT-LLM, SGLang): iteration-level scheduling; a waiting
    request is admitted at the next iteration when a slot is free and its whole KV
    (prompt + output) fits in the remaining cache (no eviction), prompts are prefilled
    within the iteration's token budget, every running request emits one token per
    iteration;
  - ``dynamic`` (Triton, TF Serving): a batch of up to ``max_batch`` waiting requests starts
    when the replica is free and either the batch is full or the oldest request has
    waited ``max_queue_delay_s``; the batch runs to completion (static batching is
    ``dynamic`` with a long delay, no batching is ``max_batch = 1``).

* **Step time** of an iteration comes from :class:`StepCost`, a linearised form of the
  analytical step model: ``t = t_0 + n_seq t_seq + max(t_w + c_kv C, c_tok N + c_pair P)``
  with ``C`` cached tokens read, ``N`` new tokens and ``P`` attention pairs.

Between events the running set of a replica does not change, so iterations are advanced in
blocks (``k`` identical decode iterations at once, context growing linearly): an hour at
100 requests/s is a few hundred thousand events, not tens of millions of iterations.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Requests:
    arrival_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_s)


def lognormal_lengths(
    rng: np.random.Generator, n: int, mean: float, p99: float | None
) -> np.ndarray:
    """Token lengths with the given mean; lognormal with that p99 when one is given."""
    if p99 is None or p99 <= mean:
        return np.full(n, max(round(mean), 1), dtype=np.int64)
    # mean = exp(mu + s^2/2), p99 = exp(mu + 2.326 s): solve for s
    z = 2.3263478740408408
    r = math.log(p99 / mean)
    s = z - math.sqrt(max(z * z - 2.0 * r, 0.0))  # smaller root of s^2/2 - z s + r = 0
    mu = math.log(mean) - s * s / 2.0
    return np.maximum(np.rint(rng.lognormal(mu, s, n)), 1).astype(np.int64)


def poisson_arrivals(rng: np.random.Generator, rate_per_s: float, duration_s: float) -> np.ndarray:
    n = rng.poisson(rate_per_s * duration_s)
    return np.sort(rng.uniform(0.0, duration_s, n))


def bursty_arrivals(
    rng: np.random.Generator,
    rate_per_s: float,
    duration_s: float,
    *,
    burst_factor: float = 4.0,
    burst_fraction: float = 0.1,
    mean_burst_s: float = 10.0,
) -> np.ndarray:
    """Markov-modulated Poisson: a share ``burst_fraction`` of the time at ``burst_factor``
    times the base rate, the rest at a base rate chosen so the mean is ``rate_per_s``."""
    base = rate_per_s / (1.0 - burst_fraction + burst_fraction * burst_factor)
    mean_calm_s = mean_burst_s * (1.0 - burst_fraction) / burst_fraction
    t, out, burst = 0.0, [], False
    while t < duration_s:
        span = min(rng.exponential(mean_burst_s if burst else mean_calm_s), duration_s - t)
        lam = base * (burst_factor if burst else 1.0)
        out.append(t + np.sort(rng.uniform(0.0, span, rng.poisson(lam * span))))
        t += span
        burst = not burst
    return np.concatenate(out) if out else np.zeros(0)


def make_requests(
    arrival_s: np.ndarray,
    rng: np.random.Generator,
    *,
    input_mean: float,
    output_mean: float,
    input_p99: float | None = None,
    output_p99: float | None = None,
) -> Requests:
    n = len(arrival_s)
    return Requests(
        arrival_s=np.asarray(arrival_s, float),
        input_tokens=lognormal_lengths(rng, n, input_mean, input_p99),
        output_tokens=lognormal_lengths(rng, n, output_mean, output_p99)
        if output_mean > 0
        else np.zeros(n, np.int64),
    )


@dataclass(frozen=True)
class StepCost:
    """Linearised iteration time (seconds) of one replica."""

    fixed_s: float  # kernels, collectives and per-step host work
    per_seq_s: float  # per sequence in the iteration
    weights_s: float  # streaming the weights once
    per_ctx_token_s: float  # reading one cached token's K/V
    per_new_token_s: float  # GEMM work per new token
    per_pair_s: float  # attention work per (query, key) pair

    def time(self, n_seqs: float, new_tokens: float, ctx_tokens: float, pairs: float) -> float:
        mem = self.weights_s + self.per_ctx_token_s * ctx_tokens
        comp = self.per_new_token_s * new_tokens + self.per_pair_s * pairs
        return self.fixed_s + self.per_seq_s * n_seqs + (mem if mem > comp else comp)


@dataclass(frozen=True)
class EngineConfig:
    policy: str  # "continuous" | "dynamic"
    max_batch: int
    max_num_tokens: int = 8192  # continuous: prompt tokens per iteration
    kv_capacity_tokens: float = math.inf  # continuous: KV cache size per replica
    max_queue_delay_s: float = 0.0  # dynamic: how long the oldest request may wait


@dataclass(frozen=True)
class SimResult:
    arrival_s: np.ndarray
    first_token_s: np.ndarray  # NaN if never served
    finish_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    replica: np.ndarray
    end_s: float

    @property
    def ttft_s(self) -> np.ndarray:
        return self.first_token_s - self.arrival_s

    @property
    def e2e_s(self) -> np.ndarray:
        return self.finish_s - self.arrival_s

    @property
    def tpot_s(self) -> np.ndarray:
        n = np.maximum(self.output_tokens - 1, 1)
        return np.where(self.output_tokens > 1, (self.finish_s - self.first_token_s) / n, np.nan)

    def summary(
        self,
        *,
        ttft_slo_s: float | None = None,
        tpot_slo_s: float | None = None,
        e2e_slo_s: float | None = None,
        warmup_s: float = 0.0,
    ) -> dict[str, float]:
        """p50/p90/p99 of TTFT, TPOT and end-to-end latency; throughput; goodput (requests
        per second that finished within every SLO given)."""
        keep = self.arrival_s >= warmup_s
        done = keep & np.isfinite(self.finish_s)
        span = max(self.end_s - warmup_s, 1e-12)
        out: dict[str, float] = {"requests": float(keep.sum()), "completed": float(done.sum())}
        for name, arr in (("ttft", self.ttft_s), ("tpot", self.tpot_s), ("e2e", self.e2e_s)):
            a = arr[done]
            a = a[np.isfinite(a)]
            for q in (50, 90, 99):
                out[f"{name}_p{q}_s"] = float(np.percentile(a, q)) if a.size else math.nan
        ok = done.copy()
        if ttft_slo_s is not None:
            ok &= self.ttft_s <= ttft_slo_s
        if tpot_slo_s is not None:
            ok &= ~(self.tpot_s > tpot_slo_s)
        if e2e_slo_s is not None:
            ok &= self.e2e_s <= e2e_slo_s
        out["throughput_rps"] = float(done.sum()) / span
        out["output_tokens_per_s"] = float(self.output_tokens[done].sum()) / span
        out["goodput_rps"] = float(ok.sum()) / span
        out["slo_attainment"] = float(ok.sum()) / max(float(keep.sum()), 1.0)
        return out


class _Replica:
    """One replica's state; ``advance(t)`` runs every iteration that starts before ``t``."""

    def __init__(
        self,
        cost: StepCost,
        eng: EngineConfig,
        req: Requests,
        first: np.ndarray,
        finish: np.ndarray,
        on_done,
    ):  # type: ignore[no-untyped-def]
        self.cost, self.eng, self.req = cost, eng, req
        self.first, self.finish, self.on_done = first, finish, on_done
        self.clock = 0.0
        self.waiting: deque[int] = deque()
        self.outstanding = 0
        # continuous state
        self.iter = 0
        self.heap: list[tuple[int, int]] = []  # (iteration of last token, request)
        self.ctx_sum = 0.0
        self.kv_used = 0.0

    def add(self, rid: int, t: float) -> None:
        if not self.heap and not self.waiting and self.clock < t:
            self.clock = t
        self.waiting.append(rid)
        self.outstanding += 1

    # ---------------------------------------------------------------- continuous batching
    def _admit(self) -> tuple[list[int], float, float]:
        eng, req = self.eng, self.req
        new, tokens, pairs = [], 0.0, 0.0
        while self.waiting and len(self.heap) + len(new) < eng.max_batch:
            rid = self.waiting[0]
            n_in = float(req.input_tokens[rid])
            need = n_in + float(req.output_tokens[rid])
            if self.kv_used + need > eng.kv_capacity_tokens and (self.heap or new):
                break
            if new and tokens + n_in > eng.max_num_tokens:
                break
            self.waiting.popleft()
            new.append(rid)
            tokens += n_in
            pairs += n_in * (n_in + 1.0) / 2.0
            self.kv_used += need
        return new, tokens, pairs

    @property
    def busy(self) -> bool:
        return bool(self.heap or self.waiting)

    def _advance_continuous(self, t: float, single: bool = False) -> None:
        cost, req = self.cost, self.req
        while self.clock < t and (self.heap or self.waiting):
            new, ptoks, ppairs = self._admit() if self.waiting else ([], 0.0, 0.0)
            n = len(self.heap)
            if new:
                dt = cost.time(n + len(new), n + ptoks, self.ctx_sum, self.ctx_sum + n + ppairs)
                self.clock += dt
                self.iter += 1
                self.ctx_sum += n
                for rid in new:
                    self.first[rid] = self.clock
                    out = int(req.output_tokens[rid])
                    self.ctx_sum += float(req.input_tokens[rid]) + 1.0
                    if out <= 1:
                        self._complete(rid)
                    else:
                        heapq.heappush(self.heap, (self.iter + out - 1, rid))
                self._pop_done()
                if single:
                    return
                continue
            if n == 0:
                break  # waiting requests that cannot fit: nothing runs (cannot happen: admitted alone)
            # a block of identical decode iterations up to the next completion or time t
            k_done = self.heap[0][0] - self.iter
            t0 = cost.time(n, n, self.ctx_sum, self.ctx_sum + n)
            k_time = max(1, math.ceil((t - self.clock) / t0)) if math.isfinite(t) else k_done
            k = max(1, min(k_done, k_time))
            t1 = cost.time(n, n, self.ctx_sum + (k - 1) * n, self.ctx_sum + k * n)
            self.clock += k * (t0 + t1) / 2.0
            self.iter += k
            self.ctx_sum += k * n
            self._pop_done()
            if single:
                return

    def _pop_done(self) -> None:
        req = self.req
        while self.heap and self.heap[0][0] <= self.iter:
            _, rid = heapq.heappop(self.heap)
            self.ctx_sum -= float(req.input_tokens[rid]) + float(req.output_tokens[rid])
            self._complete(rid)

    def _complete(self, rid: int) -> None:
        self.finish[rid] = self.clock
        self.kv_used -= float(self.req.input_tokens[rid]) + float(self.req.output_tokens[rid])
        self.outstanding -= 1
        self.on_done(rid, self.clock)

    # ------------------------------------------------------------------ dynamic batching
    def _batch_time(self, rids: list[int]) -> tuple[float, float]:
        """(time to first token, total time) of a batch run to completion."""
        req, cost = self.req, self.cost
        b = float(len(rids))
        n_in = float(max(req.input_tokens[r] for r in rids))
        n_out = float(max(req.output_tokens[r] for r in rids))
        first = cost.time(b, b * n_in, 0.0, b * n_in * (n_in + 1.0) / 2.0)
        if n_out <= 1:
            return first, first
        steps = n_out - 1.0
        c0, c1 = b * n_in, b * (n_in + steps - 1.0)
        d0 = cost.time(b, b, c0, c0 + b)
        d1 = cost.time(b, b, c1, c1 + b)
        return first, first + steps * (d0 + d1) / 2.0

    def _advance_dynamic(self, t: float, single: bool = False) -> None:
        eng, req = self.eng, self.req
        while self.waiting:
            oldest = float(req.arrival_s[self.waiting[0]])
            start = max(self.clock, oldest)
            if len(self.waiting) < eng.max_batch:
                start = max(start, oldest + eng.max_queue_delay_s) if math.isfinite(t) else start
            if start >= t:
                return
            self.clock = start
            rids = [self.waiting.popleft() for _ in range(min(eng.max_batch, len(self.waiting)))]
            ttft, total = self._batch_time(rids)
            for rid in rids:
                self.first[rid] = self.clock + ttft
            self.clock += total
            for rid in rids:
                self.finish[rid] = self.clock
                self.outstanding -= 1
                self.on_done(rid, self.clock)
            if single:
                return

    def advance(self, t: float) -> None:
        """Run every iteration (or batch) that starts before ``t``."""
        if self.eng.policy == "continuous":
            self._advance_continuous(t)
        else:
            self._advance_dynamic(t)

    def step(self) -> None:
        """Run the next block of work: to the next admission or completion."""
        if self.eng.policy == "continuous":
            self._advance_continuous(math.inf, single=True)
        else:
            self._advance_dynamic(math.inf, single=True)


def simulate(
    requests: Requests,
    cost: StepCost,
    engine: EngineConfig,
    *,
    replicas: int = 1,
    balancer: str = "least_outstanding",
    clients: int | None = None,
) -> SimResult:
    """Serve ``requests`` on ``replicas`` identical replicas.

    Open loop: requests arrive at their ``arrival_s``. Closed loop (``clients`` given): the
    first ``clients`` requests arrive at time 0 and each completion releases the next
    request at that moment (``arrival_s`` is then ignored and overwritten).
    """
    if balancer not in ("round_robin", "least_outstanding"):
        raise ValueError(f"unknown balancer {balancer!r}")
    if engine.policy not in ("continuous", "dynamic"):
        raise ValueError(f"unknown batching policy {engine.policy!r}")
    n = len(requests)
    arrival = requests.arrival_s.astype(float).copy()
    first = np.full(n, np.nan)
    finish = np.full(n, np.nan)
    where = np.full(n, -1, dtype=np.int64)
    pending: list[tuple[float, int]] = []
    next_closed = [0]

    def on_done(rid: int, t: float) -> None:
        if clients is not None and next_closed[0] < n:
            nxt = next_closed[0]
            next_closed[0] += 1
            arrival[nxt] = t
            heapq.heappush(pending, (t, nxt))

    req = Requests(arrival, requests.input_tokens, requests.output_tokens)
    reps = [_Replica(cost, engine, req, first, finish, on_done) for _ in range(replicas)]
    if clients is not None:
        k = min(clients, n)
        arrival[:] = np.inf
        arrival[:k] = 0.0
        next_closed[0] = k
        pending = [(0.0, i) for i in range(k)]
    else:
        pending = [(float(a), i) for i, a in enumerate(arrival)]
    heapq.heapify(pending)
    rr = 0
    while True:
        if not pending:
            # drain: step the replica that is furthest behind; its completions may release
            # closed-loop arrivals, which the others then catch up to
            busy = [r for r in reps if r.busy]
            if not busy:
                break
            min(busy, key=lambda r: r.clock).step()
            continue
        t, rid = heapq.heappop(pending)
        if balancer == "round_robin" and clients is None:
            # open loop: replicas are independent, only the receiving one must catch up
            target = rr % replicas
            rr += 1
            reps[target].advance(t)
        else:
            # the least-outstanding choice (and closed-loop arrivals, released by any
            # replica's completions) need every replica's state at time t
            for r in reps:
                if r.clock < t and (r.heap or r.waiting):
                    r.advance(t)
            if balancer == "round_robin":
                target = rr % replicas
                rr += 1
            else:
                target = min(range(replicas), key=lambda i: reps[i].outstanding)
        where[rid] = target
        reps[target].add(rid, t)
    end = float(np.nanmax(finish)) if np.isfinite(finish).any() else 0.0
    return SimResult(arrival, first, finish, req.input_tokens, req.output_tokens, where, end)
