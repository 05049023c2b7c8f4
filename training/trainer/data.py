"""Training batches from the packed token files (numpy memmaps; no tokenizer needed).

A batch is a pure function of (seed, step, micro-step, rank): the data position of a run is
therefore just its step counter, and a resumed run continues with exactly the batches an
uninterrupted run would have seen (for the same world size and batch shape).

Each sequence of a batch is, with probability `retrieval_fraction`, one of the pre-built
synthetic retrieval sequences (out/corpus/retrieval_train.bin, see training/data/retrieval.py),
else a random window of the training token stream (out/corpus/train.bin).
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Tuple

import numpy as np


class Batches:
    def __init__(self, corpus_dir: str, seq_len: int, micro_batch: int, seed: int = 0,
                 retrieval_fraction: float = 0.1, rank: int = 0, world: int = 1,
                 train_file: str = "train.bin", retrieval_file: str = "retrieval_train.bin"):
        self.seq_len = seq_len
        self.micro_batch = micro_batch
        self.seed = seed
        self.rank, self.world = rank, world
        self.tokens = np.memmap(os.path.join(corpus_dir, train_file), dtype="<u2", mode="r")
        if len(self.tokens) < seq_len + 2:
            raise ValueError("training token file shorter than one sequence")
        self.retrieval = None
        self.answers: List[List[Tuple[int, int]]] = []
        self.retrieval_fraction = 0.0
        rpath = os.path.join(corpus_dir, retrieval_file)
        if retrieval_fraction > 0 and os.path.exists(rpath):
            with open(rpath[:-4] + ".json") as f:
                meta = json.load(f)
            L = meta["length"]
            if L < seq_len:
                raise ValueError(f"retrieval sequences ({L}) shorter than seq_len ({seq_len})")
            self.retrieval = np.memmap(rpath, dtype="<u2", mode="r").reshape(meta["n"], L)
            self.answers = [[(a, b) for a, b in ans if b <= seq_len] for ans in meta["answers"]]
            self.retrieval_fraction = retrieval_fraction

    def batch(self, step: int, micro: int = 0) -> Tuple[np.ndarray, List[List[Tuple[int, int]]]]:
        """[micro_batch, seq_len] int64 ids and, per row, the answer spans (retrieval rows)."""
        rng = np.random.default_rng([self.seed, step, micro, self.rank, self.world])
        out = np.empty((self.micro_batch, self.seq_len), dtype=np.int64)
        spans: List[List[Tuple[int, int]]] = []
        N = len(self.tokens)
        for i in range(self.micro_batch):
            if self.retrieval is not None and rng.random() < self.retrieval_fraction:
                j = int(rng.integers(len(self.retrieval)))
                out[i] = self.retrieval[j, :self.seq_len]
                spans.append(self.answers[j])
            else:
                s = int(rng.integers(0, N - self.seq_len - 1))
                out[i] = self.tokens[s:s + self.seq_len]
                spans.append([])
        return out, spans


def heldout_windows(corpus_dir: str, seq_len: int, n: int, file: str = "heldout.bin") -> np.ndarray:
    """n fixed, evenly spaced windows of the held-out stream (for a validation loss)."""
    toks = np.memmap(os.path.join(corpus_dir, file), dtype="<u2", mode="r")
    if len(toks) < seq_len + 1:
        return np.zeros((0, seq_len), dtype=np.int64)
    starts = np.linspace(0, len(toks) - seq_len - 1, n).astype(np.int64)
    return np.stack([np.asarray(toks[s:s + seq_len], dtype=np.int64) for s in starts])


def load_eval_set(corpus_dir: str, file: str = "retrieval_eval.json") -> Optional[Dict]:
    """Pre-built retrieval evaluation samples (see training/data/retrieval.py `pack-eval`)."""
    path = os.path.join(corpus_dir, file)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        meta = json.load(f)
    ids = np.fromfile(path[:-5] + ".bin", dtype="<u2")
    samples = []
    for s in meta["samples"]:
        samples.append(dict(s, ids=ids[s["offset"]:s["offset"] + s["length"]].astype(np.int64)))
    return {"samples": samples, "meta": meta}
