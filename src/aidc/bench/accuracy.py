"""What INT8 dynamic quantization does to an encoder's output, measured on real text.

The sample is ``bench/data/sentence_pairs.tsv`` (24 paraphrase pairs, 48 sentences),
tokenized with MiniLM's own tokenizer (BERT uncased vocabulary, shared by BERT-base).
Sentence embeddings are mean-pooled over real tokens and L2-normalised, the
sentence-transformers recipe for all-MiniLM-L6-v2. Compared with the FP32 PyTorch
reference:

* ``cosine_mean`` / ``cosine_min``: cosine similarity of each sentence's embedding
  under the candidate and under the reference (1.0 = identical direction);
* ``pairwise_sim_max_abs_diff``: the largest change of any sentence-to-sentence
  similarity (what a retrieval system ranks by);
* ``paraphrase_top1``: the share of sentences whose nearest other sentence is their
  paraphrase partner — a small task accuracy, for the reference and the candidate.

For a model with random weights (BERT-base here) only the fidelity figures mean
anything: its "task accuracy" is chance.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np


def sentence_pairs() -> list[tuple[str, str]]:
    text = resources.files("aidc.bench").joinpath("data", "sentence_pairs.tsv").read_text("utf-8")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            a, b = line.split("\t")
            pairs.append((a.strip(), b.strip()))
    return pairs


def sentences() -> list[str]:
    return [s for pair in sentence_pairs() for s in pair]


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens, then L2-normalise: ``e = sum_t m_t h_t / sum_t m_t``."""
    m = mask[..., None].astype(np.float64)
    e = (hidden.astype(np.float64) * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def paraphrase_top1(emb: np.ndarray) -> float:
    """Share of sentences whose most similar other sentence is their partner (2i <-> 2i+1)."""
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    nearest = sim.argmax(axis=1)
    partner = np.arange(len(emb)) ^ 1
    return float((nearest == partner).mean())


def compare(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    cos = (reference * candidate).sum(axis=1)
    sim_r = reference @ reference.T
    sim_c = candidate @ candidate.T
    return {
        "cosine_mean": float(cos.mean()),
        "cosine_min": float(cos.min()),
        "pairwise_sim_max_abs_diff": float(np.abs(sim_r - sim_c).max()),
        "paraphrase_top1_reference": paraphrase_top1(reference),
        "paraphrase_top1_candidate": paraphrase_top1(candidate),
        "n_sentences": float(len(reference)),
    }


def tokenize(tokenizer: Any, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    enc = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="np")
    return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
