#!/usr/bin/env python3
"""Writes models/eval/haystack.txt: held-out English text for `mnemo eval`'s real-text haystacks.

Only documents of the HELD-OUT split (out/corpus/heldout.jsonl.gz, built by build_corpus.py)
are used, so no haystack text was seen by the tokenizer or the models in training. The
documents are taken in a seeded order, each cut to at most --doc-chars characters (at a line
end) so that every source contributes, until --chars characters are reached. They are joined
with one newline, as the packed token stream joins documents (retrieval.py's TextHaystack
turns a document start into a newline), and the file ends with a newline.

Reproducible: the same heldout.jsonl.gz and arguments give the same bytes.

    /usr/bin/python3 training/data/make_haystack.py            # -> models/eval/haystack.txt
    /usr/bin/python3 training/data/make_haystack.py --check    # also: no line of it is in the training split
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(REPO, "out", "corpus")
OUT = os.path.join(REPO, "models", "eval", "haystack.txt")


def read_jsonl(path: str):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def order_key(seed: int, doc_id: str) -> str:
    return hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text.rstrip("\n")
    nl = text.rfind("\n", 0, limit)
    return text[:nl if nl > 0 else limit].rstrip("\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--chars", type=int, default=520_000, help="stop once the file holds this many characters")
    ap.add_argument("--doc-chars", type=int, default=24_000, help="at most this many characters per document")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--check", action="store_true", help="verify that no line (>= 40 chars) occurs in train.jsonl.gz")
    args = ap.parse_args(argv)

    held = list(read_jsonl(os.path.join(args.corpus, "heldout.jsonl.gz")))
    held.sort(key=lambda d: order_key(args.seed, d["id"]))
    parts, total, used = [], 0, {}
    for d in held:
        if total >= args.chars:
            break
        t = cut(d["text"], args.doc_chars)
        if not t:
            continue
        parts.append(t)
        total += len(t) + 1
        used[d["source"]] = used.get(d["source"], 0) + len(t) + 1
    text = "\n".join(parts) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"{args.out}: {len(parts)} held-out documents, {len(text)} characters, "
          f"{len(text.encode('utf-8'))} bytes; per source: "
          + ", ".join(f"{k} {v}" for k, v in sorted(used.items(), key=lambda kv: -kv[1])))

    if args.check:
        train_ids, train_lines = set(), set()
        for d in read_jsonl(os.path.join(args.corpus, "train.jsonl.gz")):
            train_ids.add(d["id"])
            train_lines.update(l for l in d["text"].split("\n") if len(l) >= 40)
        held_ids = {d["id"] for d in held}
        overlap_ids = held_ids & train_ids
        lines = [l for l in text.split("\n") if len(l) >= 40]
        shared = [l for l in lines if l in train_lines]
        print(f"check: {len(overlap_ids)} document ids shared with the training split; "
              f"{len(shared)} of {len(lines)} lines (>= 40 chars) also occur in training documents")
        for l in shared[:5]:
            print("   e.g.", l[:100])
        if overlap_ids:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
