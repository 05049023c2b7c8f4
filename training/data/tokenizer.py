#!/usr/bin/env python3
"""Mnemo's SentencePiece tokenizer: training (Debian's `spm_train`) and packing of the corpus
into flat uint16 token files that the trainer memory-maps (no sentencepiece needed there).

    /usr/bin/python3 training/data/tokenizer.py train     # out/corpus/spm_input.txt -> models/tokenizer/mnemo-8k.{model,vocab}
    /usr/bin/python3 training/data/tokenizer.py pack      # out/corpus/*.jsonl.gz -> out/corpus/{train,heldout}.bin (+ .idx.json)
    /usr/bin/python3 training/data/tokenizer.py stats     # tokens per character, round-trip check

Conventions (the runtime must tokenize the same way; see training/DATA.md):
  * ids: 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3..258 the byte pieces <0x00>..<0xFF>, then pieces;
  * normalisation `identity`, no dummy prefix, extra whitespace kept, byte fallback: every
    UTF-8 string round-trips exactly; a newline is the byte piece <0x0A>;
  * digits are split into one piece each;
  * a packed document is [BOS] + encode(text); documents follow each other with no separator
    besides the next document's BOS.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import subprocess
import sys
import time
from typing import Callable, Iterable, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(REPO, "out", "corpus")
MODEL_PREFIX = os.path.join(REPO, "models", "tokenizer", "mnemo-8k")
VOCAB_SIZE = 8192
BOS_ID, EOS_ID, UNK_ID = 1, 2, 0

SPM_FLAGS = [
    "--vocab_size=8192", "--model_type=unigram", "--character_coverage=0.9995",
    "--byte_fallback=true", "--split_digits=true", "--normalization_rule_name=identity",
    "--remove_extra_whitespaces=false", "--add_dummy_prefix=false",
    "--allow_whitespace_only_pieces=true", "--max_sentence_length=16384",
    "--input_sentence_size=0", "--shuffle_input_sentence=false", "--random_seed=1234",
    "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1", "--num_threads=2",
]


def spm_train_command(inp: str, prefix: str) -> List[str]:
    return ["spm_train", f"--input={inp}", f"--model_prefix={prefix}"] + SPM_FLAGS


def load(model_path: str = MODEL_PREFIX + ".model"):
    """A text -> ids / ids -> text pair, from python3-sentencepiece."""
    import sentencepiece as spm  # Debian: python3-sentencepiece
    sp = spm.SentencePieceProcessor()
    sp.Load(model_path)
    return sp


class Tokenizer:
    """Thin wrapper used by the data tools: encode(text) -> List[int], decode(ids) -> str."""

    def __init__(self, model_path: str = MODEL_PREFIX + ".model"):
        self.sp = load(model_path)
        self.vocab_size = self.sp.GetPieceSize()
        self.bos_id, self.eos_id = BOS_ID, EOS_ID

    def encode(self, text: str) -> List[int]:
        return list(self.sp.EncodeAsIds(text))

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.DecodeIds([int(i) for i in ids])


def cmd_train(args) -> int:
    os.makedirs(os.path.dirname(args.prefix), exist_ok=True)
    cmd = spm_train_command(args.input, args.prefix)
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr[-4000:])
        return r.returncode
    print(f"spm_train done in {time.time() - t0:.0f} s -> {args.prefix}.model")
    return 0


def _docs(path: str):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def pack(jsonl: str, out_bin: str, tok: Tokenizer, seed: int = 0, shuffle: bool = True) -> dict:
    """Encodes every document as [BOS] + ids, in a seeded random document order, into a flat
    little-endian uint16 file; writes an index (document id, source, offset, length)."""
    import random
    import numpy as np
    docs = list(_docs(jsonl))
    if shuffle:
        random.Random(seed).shuffle(docs)
    index = []
    off = 0
    chars = 0
    with open(out_bin + ".tmp", "wb") as f:
        for d in docs:
            ids = [BOS_ID] + tok.encode(d["text"])
            arr = np.asarray(ids, dtype="<u2")
            f.write(arr.tobytes())
            index.append({"id": d["id"], "source": d["source"], "offset": off, "length": len(ids)})
            off += len(ids)
            chars += len(d["text"])
    os.replace(out_bin + ".tmp", out_bin)
    meta = {"tokens": off, "documents": len(index), "chars": chars, "dtype": "uint16",
            "vocab_size": tok.vocab_size, "bos_id": BOS_ID, "tokenizer": os.path.relpath(MODEL_PREFIX + ".model", REPO),
            "docs": index}
    with open(out_bin[:-4] + ".idx.json", "w") as f:
        json.dump(meta, f)
    return meta


def cmd_pack(args) -> int:
    tok = Tokenizer(args.model)
    for split in ("train", "heldout"):
        t0 = time.time()
        meta = pack(os.path.join(args.corpus, f"{split}.jsonl.gz"), os.path.join(args.corpus, f"{split}.bin"),
                    tok, seed=args.seed)
        print(f"{split}: {meta['documents']} docs, {meta['tokens']:,} tokens, "
              f"{meta['chars'] / max(1, meta['tokens']):.2f} chars/token, {time.time() - t0:.0f} s", flush=True)
    return 0


def cmd_stats(args) -> int:
    tok = Tokenizer(args.model)
    n_ok = n = 0
    per_source = {}
    for d in _docs(os.path.join(args.corpus, "heldout.jsonl.gz")):
        ids = tok.encode(d["text"])
        n += 1
        n_ok += tok.decode(ids) == d["text"]
        s = per_source.setdefault(d["source"], [0, 0])
        s[0] += len(d["text"])
        s[1] += len(ids)
    print(f"held-out round trip exact: {n_ok}/{n}")
    for k, (c, t) in sorted(per_source.items()):
        print(f"  {k:9s} {c / t:.2f} chars/token")
    for s in ["héllo wörld — “quotes” 日本語 🙂\n\ttab", "The pass key is 71432. Remember it."]:
        ids = tok.encode(s)
        print(repr(s), "->", len(ids), "tokens, round trip", tok.decode(ids) == s)
        print("   ", [tok.sp.IdToPiece(i) for i in ids])
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--input", default=os.path.join(CORPUS, "spm_input.txt"))
    t.add_argument("--prefix", default=MODEL_PREFIX)
    for name in ("pack", "stats"):
        p = sub.add_parser(name)
        p.add_argument("--corpus", default=CORPUS)
        p.add_argument("--model", default=MODEL_PREFIX + ".model")
        p.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    return {"train": cmd_train, "pack": cmd_pack, "stats": cmd_stats}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
