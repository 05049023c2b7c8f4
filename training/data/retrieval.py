#!/usr/bin/env python3
"""Synthetic retrieval sequences on real-text haystacks (training mixture and evaluation).

Tasks (templates in TEMPLATES below; DATA.md documents them for `mnemo eval`):
  * `niah-single-repeat`  repeated-sentence haystack, one numeric needle (7 digits)
  * `niah-single`         real-text haystack, one numeric needle
  * `niah-single-uuid`    real-text haystack, one UUID needle
  * `niah-multikey`       real-text haystack, several needles with distinct keys; queries
                          ask for some of them (the others are distractors)
  * `mqar`                multi-query associative recall: many "key: value" pairs scattered
                          through a real-text haystack, then many queries
  * `passkey`             the classic pass-key task (repeated filler, 5-digit key)

Every sample is built at the token level from pieces whose tokenisation is exact: with Mnemo's
tokenizer (no dummy prefix, identity normalisation, byte fallback) no piece spans a newline
and every piece that holds a space starts with it, so encode(a + b) == encode(a) + encode(b)
whenever b starts with "\n" or a single space, or a ends with "\n". Needles are therefore only
inserted after a newline of the haystack (or between filler sentences), and questions follow
a newline, so every needle, question and answer has exactly the tokens that tokenising the
sample's text gives. (Only the cut end of a real-text haystack -- the few tokens before the
newline that closes it -- may tokenise differently once decoded.) Lengths are exact: filler
haystacks are padded with newline tokens.

Answers are scored teacher-forced: a query is right when the argmax prediction at every
answer position equals the answer token (the same as greedy decoding producing the answer).

Deterministic: a sample depends only on (seed, task, index, length) and the haystack.

    /usr/bin/python3 training/data/retrieval.py pack --n 4000 --length 2049   # training mixture file
    /usr/bin/python3 training/data/retrieval.py show --task mqar --length 600  # print one sample
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(REPO, "out", "corpus")

TASKS = ("niah-single-repeat", "niah-single", "niah-single-uuid", "niah-multikey", "mqar", "passkey")

# Training mixture: the fraction of training sequences that are synthetic retrieval sequences,
# and how those are split between tasks. See DATA.md.
RETRIEVAL_FRACTION = 0.10
TRAIN_TASK_WEIGHTS = {
    "niah-single-repeat": 0.05, "niah-single": 0.20, "niah-single-uuid": 0.10,
    "niah-multikey": 0.20, "mqar": 0.30, "passkey": 0.15,
}

FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."

TEMPLATES = {
    "niah-intro": "Some special magic {kind}s are hidden within the following text. Make sure to "
                  "memorize them. I will quiz you about the {kind}s afterwards.\n",
    "niah-needle": "One of the special magic {kind}s for {key} is: {value}.",
    "niah-question": "What is the special magic {kind} for {key} mentioned in the provided text? "
                     "The special magic {kind} for {key} mentioned in the provided text is",
    "mqar-intro": "Remember the code of every item listed in the following text.\n",
    "mqar-pair": "The code for {key} is {value}.",
    "mqar-question": "The code for {key} is",
    "passkey-intro": "There is an important info hidden inside a lot of irrelevant text. Find it "
                     "and memorize it. I will quiz you about the important information there.",
    "passkey-needle": "The pass key is {value}. Remember it. {value} is the pass key.",
    "passkey-question": "What is the pass key? The pass key is",
}

# keys: common English words (lower case, distinct, each a plausible "magic number for X")
WORDS = """
acorn admiral album anchor angle ankle apple apricot arch arrow artist atlas attic autumn
avenue badge bakery balcony ball bamboo banana banner barrel basket beacon beard beetle bell
bench berry bicycle blanket blossom boat bonnet bottle boulder bracelet branch bread breeze
brick bridge broom bucket buffalo bugle butter button cabin cactus camel camera canal candle
cannon canoe canyon captain carpet carrot castle cattle cellar chair chalk chapel cherry
chimney circle citizen clock cloud clover coast cobweb coconut collar comet compass copper
cotton cradle crater crayon creek cricket crown crystal cushion dagger daisy desert diamond
dolphin donkey dragon drum eagle elbow emerald engine falcon feather fence ferry fiddle
flame flute forest fountain fox garden garlic giant ginger glacier goblet granite grape
guitar hammer harbor harp hazel helmet hermit honey horizon island ivory jacket jaguar jelly
jewel journal jungle kettle kitten ladder lagoon lantern lemon leopard library lighthouse
lily lizard lobster locket magnet mango maple marble meadow melon mirror monk moon mountain
mushroom needle nest noodle oak oasis ocean olive onion orchard otter owl paddle palace
panther parrot peach pebble pencil pepper piano pillow pine pirate planet plum pocket pond
poppy potato prairie pumpkin puzzle quarry quill rabbit radish rainbow raven ribbon river
robin rocket saddle salmon sandal satchel scarf shadow shell shovel silver sparrow spider
spoon squirrel stable statue storm stream sugar summit swan sword tablet teapot temple
thistle thunder tiger timber tomato torch tower tractor trumpet tulip tunnel turtle umbrella
valley velvet violin volcano wagon walnut whale wheat whistle willow window wizard wolf
""".split()


class ByteTokenizer:
    """A stand-in tokenizer for tests: id = byte + 3 (0 unk, 1 BOS, 2 EOS)."""
    vocab_size = 259
    bos_id, eos_id = 1, 2

    def encode(self, text: str) -> List[int]:
        return [b + 3 for b in text.encode("utf-8")]

    def decode(self, ids) -> str:
        return bytes(int(i) - 3 for i in ids if int(i) >= 3).decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- haystacks

class TextHaystack:
    """Real text from a packed token file (ids: a sequence / numpy memmap of token ids; BOS
    marks document starts). `segment(rng, n)` returns n tokens starting right after a newline
    or a document start; document starts (BOS) become newlines; the last token is a newline."""

    def __init__(self, ids: Sequence[int], newline_id: int, bos_id: int = 1):
        self.ids = ids
        self.nl = newline_id
        self.bos = bos_id
        if len(ids) < 64:
            raise ValueError("haystack token stream too short")

    def segment(self, rng: random.Random, n: int) -> List[int]:
        N = len(self.ids)
        if n <= 0:
            return []
        start = rng.randrange(0, max(1, N - 1))
        # move to the token after the next newline / at the next BOS (at most 4096 tokens on)
        j = start
        lim = min(N, start + 4096)
        while j < lim and int(self.ids[j]) not in (self.nl, self.bos):
            j += 1
        if j < lim and int(self.ids[j]) == self.nl:
            j += 1
        out: List[int] = []
        while len(out) < n - 1:
            take = min(n - 1 - len(out), N - j)
            if take <= 0:
                j = 0
                continue
            out.extend(int(t) for t in self.ids[j:j + take])
            j += take
        out = [self.nl if t == self.bos else t for t in out]
        return out + [self.nl]

    def insertion_points(self, seg: Sequence[int]) -> List[int]:
        """Positions p (0 <= p <= len) such that seg[p-1] is a newline (or p == 0)."""
        return [0] + [i + 1 for i, t in enumerate(seg) if t == self.nl]


class RepeatHaystack:
    """FILLER repeated; sentences joined by single spaces (exact token boundaries)."""

    def __init__(self, tok, filler: str = FILLER):
        self.unit = tok.encode(" " + filler)
        self.first = tok.encode(filler)
        self.nl = tok.encode("\n")[0]

    def segment(self, rng: random.Random, n: int) -> List[int]:
        """Whole filler sentences, then newline tokens up to exactly n tokens."""
        out = list(self.first)
        while len(out) + len(self.unit) <= n:
            out.extend(self.unit)
        return out[:n] + [self.nl] * max(0, n - len(out))

    def insertion_points(self, seg: Sequence[int]) -> List[int]:
        pts = [len(self.first)]
        p = len(self.first)
        while p + len(self.unit) <= len(seg):
            p += len(self.unit)
            pts.append(p)
        return pts


# ----------------------------------------------------------------------------- samples

@dataclass
class Sample:
    task: str
    ids: List[int]
    answers: List[Tuple[int, int]]            # token spans [start, end) of each answer
    answer_texts: List[str]
    meta: Dict = field(default_factory=dict)


def _number(rng: random.Random, digits: int) -> str:
    return str(rng.randrange(10 ** (digits - 1), 10 ** digits))


def _uuid(rng: random.Random) -> str:
    h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


def _qa(tok, question: str, answer: str) -> Tuple[List[int], Tuple[int, int]]:
    """Tokens of "\\n" + question + " " + answer + "." and the answer's token span (relative)."""
    q = tok.encode("\n" + question)
    qa = tok.encode("\n" + question + " " + answer)
    full = tok.encode("\n" + question + " " + answer + ".")
    if full[:len(q)] != q or full[:len(qa)] != qa:
        raise AssertionError(f"tokenisation of the answer is not a suffix: {question!r} {answer!r}")
    return full, (len(q), len(qa))


class _Builder:
    """Accumulates (ids, text) pieces and answer spans."""

    def __init__(self, tok):
        self.tok = tok
        self.ids: List[int] = []
        self.answers: List[Tuple[int, int]] = []
        self.answer_texts: List[str] = []

    def add(self, ids: Sequence[int]):
        self.ids.extend(ids)

    def add_qa(self, question: str, answer: str):
        ids, (a, b) = _qa(self.tok, question, answer)
        base = len(self.ids)
        self.ids.extend(ids)
        self.answers.append((base + a, base + b))
        self.answer_texts.append(answer)


def _fill(rng, hay, tok, budget: int, needles: List[List[int]], depths: Optional[List[float]] = None,
          sep_before: bool = True) -> Tuple[List[int], List[int]]:
    """Haystack of about `budget` tokens with the needle token lists inserted at insertion
    points nearest to the given depths (fractions; random if None). Returns (ids, needle
    start positions)."""
    seg = hay.segment(rng, max(1, budget))
    pts = hay.insertion_points(seg)
    if depths is None:
        depths = [rng.random() for _ in needles]
    want = [min(pts, key=lambda p: abs(p - d * len(seg))) for d in depths]
    order = sorted(range(len(needles)), key=lambda i: want[i])
    out: List[int] = []
    starts = [0] * len(needles)
    prev = 0
    for i in order:
        p = want[i]
        out.extend(seg[prev:p])
        starts[i] = len(out)
        out.extend(needles[i])
        prev = p
    out.extend(seg[prev:])
    return out, starts


def make_sample(task: str, rng: random.Random, tok, length: int, text_hay=None,
                n_queries: int = 1, n_keys: int = 4, n_pairs: Optional[int] = None,
                depth: Optional[float] = None) -> Sample:
    """One sample of `task` of exactly `length` tokens (BOS first), built on `text_hay` (a
    TextHaystack; the repeat-filler tasks need none)."""
    nl = tok.encode("\n")
    if len(nl) != 1:
        raise ValueError("the tokenizer must encode a newline as one token")
    nl = nl[0]
    b = _Builder(tok)
    b.add([tok.bos_id])
    meta: Dict = {"length": length}
    if task in ("niah-single-repeat", "niah-single", "niah-single-uuid", "niah-multikey"):
        kind = "uuid" if task == "niah-single-uuid" else "number"
        keys = rng.sample(WORDS, n_keys if task == "niah-multikey" else 1)
        vals = [_uuid(rng) if kind == "uuid" else _number(rng, 7) for _ in keys]
        b.add(tok.encode(TEMPLATES["niah-intro"].format(kind=kind)))
        if task == "niah-single-repeat":
            hay = RepeatHaystack(tok)
            needles = [tok.encode(" " + TEMPLATES["niah-needle"].format(kind=kind, key=k, value=v))
                       for k, v in zip(keys, vals)]
        else:
            hay = text_hay
            needles = [tok.encode(TEMPLATES["niah-needle"].format(kind=kind, key=k, value=v)) + [nl]
                       for k, v in zip(keys, vals)]
        asked = list(range(len(keys)))
        rng.shuffle(asked)
        asked = asked[:max(1, min(n_queries, len(keys)))]
        qas = [_qa(tok, TEMPLATES["niah-question"].format(kind=kind, key=keys[i]), vals[i])[0] for i in asked]
        budget = length - len(b.ids) - sum(map(len, needles)) - sum(map(len, qas))
        if budget < 8:
            raise ValueError(f"length {length} too short for {task}")
        depths = [depth] * len(needles) if depth is not None else None
        hs, starts = _fill(rng, hay, tok, budget, needles, depths)
        base = len(b.ids)
        b.add(hs)
        for i in asked:
            b.add_qa(TEMPLATES["niah-question"].format(kind=kind, key=keys[i]), vals[i])
        meta.update(keys=keys, values=vals, asked=[keys[i] for i in asked],
                    needle_pos=[base + s for s in starts])
    elif task == "mqar":
        if n_pairs is None:
            n_pairs = max(4, min(len(WORDS) // 2, length // 96))
        keys = rng.sample(WORDS, n_pairs)
        vals = [_number(rng, 4) for _ in keys]
        b.add(tok.encode(TEMPLATES["mqar-intro"]))
        needles = [tok.encode(TEMPLATES["mqar-pair"].format(key=k, value=v)) + [nl] for k, v in zip(keys, vals)]
        nq = max(1, min(n_queries if n_queries > 1 else n_pairs // 2, n_pairs))
        asked = rng.sample(range(n_pairs), nq)
        qas = [_qa(tok, TEMPLATES["mqar-question"].format(key=keys[i]), vals[i])[0] for i in asked]
        budget = length - len(b.ids) - sum(map(len, needles)) - sum(map(len, qas))
        if budget < 8:
            raise ValueError(f"length {length} too short for mqar with {n_pairs} pairs")
        hs, starts = _fill(rng, text_hay, tok, budget, needles)
        base = len(b.ids)
        b.add(hs)
        for i in asked:
            b.add_qa(TEMPLATES["mqar-question"].format(key=keys[i]), vals[i])
        meta.update(keys=keys, values=vals, asked=[keys[i] for i in asked],
                    needle_pos=[base + s for s in starts])
    elif task == "passkey":
        val = _number(rng, 5)
        hay = RepeatHaystack(tok)
        b.add(tok.encode(TEMPLATES["passkey-intro"]))
        needle = tok.encode(" " + TEMPLATES["passkey-needle"].format(value=val))
        qa = _qa(tok, TEMPLATES["passkey-question"], val)[0]
        budget = length - len(b.ids) - len(needle) - len(qa)
        if budget < 8:
            raise ValueError(f"length {length} too short for passkey")
        # the filler starts with a space here (it follows the intro sentence)
        seg = []
        while len(seg) + len(hay.unit) <= budget:
            seg.extend(hay.unit)
        pts = list(range(0, len(seg) + 1, len(hay.unit)))
        d = depth if depth is not None else rng.random()
        p = min(pts, key=lambda x: abs(x - d * len(seg)))
        seg = seg + [nl] * (budget - len(seg))
        base = len(b.ids)
        b.add(seg[:p] + needle + seg[p:])
        b.add_qa(TEMPLATES["passkey-question"], val)
        meta.update(values=[val], needle_pos=[base + p])
    else:
        raise ValueError(f"unknown task {task!r}")
    ids = b.ids
    if len(ids) != length:
        raise AssertionError(f"{task}: built {len(ids)} tokens, wanted {length}")
    s = Sample(task=task, ids=ids, answers=b.answers, answer_texts=b.answer_texts, meta=meta)
    return s


def sample_text(tok, s: Sample) -> str:
    return tok.decode(s.ids[1:])


# ----------------------------------------------------------------------------- scoring

def score(sample: Sample, predictions: Sequence[int]) -> List[bool]:
    """predictions[p] = argmax of the model's next-token distribution after ids[:p+1]
    (i.e. the prediction for position p+1). Returns one bool per answer."""
    out = []
    for s, e in sample.answers:
        out.append(all(int(predictions[p - 1]) == int(sample.ids[p]) for p in range(s, e)))
    return out


def train_mixture(n: int, seed: int, tok, length: int, text_hay,
                  weights: Dict[str, float] = TRAIN_TASK_WEIGHTS) -> List[Sample]:
    """n training samples of `length` tokens, tasks drawn from `weights`; each sample uses
    several queries (so that one sequence carries several answers)."""
    return train_mixture_range(0, n, seed, tok, length, text_hay, weights)


def train_mixture_range(lo: int, hi: int, seed: int, tok, length: int, text_hay,
                        weights: Dict[str, float] = TRAIN_TASK_WEIGHTS) -> List[Sample]:
    """Training samples lo .. hi-1; sample i is a pure function of (seed, i), so ranges can
    be built in parallel (`pack --jobs`) and give the same file."""
    tasks = sorted(weights)
    cum = _cumulative(weights, tasks)
    return [train_sample(i, seed, tok, length, text_hay, tasks, cum) for i in range(lo, hi)]


def train_sample(i: int, seed: int, tok, length: int, text_hay, tasks: List[str], cum: List[float]) -> Sample:
    rng = random.Random(f"{seed}:train:{i}")
    u = rng.random() * cum[-1]
    task = tasks[next(j for j, c in enumerate(cum) if u <= c)]
    kw = {}
    if task == "niah-multikey":
        kw = dict(n_keys=rng.randint(2, 8), n_queries=rng.randint(1, 4))
    elif task == "mqar":
        kw = dict(n_pairs=rng.randint(4, max(5, length // 64)))
        kw["n_queries"] = rng.randint(2, kw["n_pairs"])
    return make_sample(task, rng, tok, length, text_hay, **kw)


def _pack_worker(job):
    lo, hi, seed, length, model, corpus = job
    tok = _load_tok(model)
    hay = _hay(tok, os.path.join(corpus, "train.bin"))
    return train_mixture_range(lo, hi, seed, tok, length, hay)


def _cumulative(weights: Dict[str, float], tasks: List[str]) -> List[float]:
    cum, acc = [], 0.0
    for t in tasks:
        acc += weights[t]
        cum.append(acc)
    return cum


def eval_set(task: str, n: int, seed: int, tok, length: int, text_hay) -> List[Sample]:
    """n evaluation samples at one length; needle depths evenly spread over [0.05, 0.95]."""
    out = []
    for i in range(n):
        rng = random.Random(f"{seed}:eval:{task}:{length}:{i}")
        d = 0.05 + 0.9 * (i + 0.5) / n
        kw = {}
        if task == "niah-multikey":
            kw = dict(n_keys=4, n_queries=1)
        elif task == "mqar":
            kw = dict(n_pairs=16, n_queries=8)
        out.append(make_sample(task, rng, tok, length, text_hay,
                               depth=None if task == "mqar" else d, **kw))
    return out


# ----------------------------------------------------------------------------- CLI

def _load_tok(model: Optional[str]):
    sys.path.insert(0, HERE)
    from tokenizer import Tokenizer, MODEL_PREFIX
    return Tokenizer(model or MODEL_PREFIX + ".model")


def _hay(tok, path: str) -> TextHaystack:
    import numpy as np
    ids = np.memmap(path, dtype="<u2", mode="r")
    return TextHaystack(ids, tok.encode("\n")[0], tok.bos_id)


def cmd_pack(args) -> int:
    import numpy as np
    if args.jobs > 1:
        import multiprocessing
        step = -(-args.n // args.jobs)
        jobs = [(lo, min(args.n, lo + step), args.seed, args.length, args.model, args.corpus)
                for lo in range(0, args.n, step)]
        with multiprocessing.Pool(len(jobs)) as pool:
            samples = [s for part in pool.map(_pack_worker, jobs) for s in part]
    else:
        tok = _load_tok(args.model)
        hay = _hay(tok, os.path.join(args.corpus, "train.bin"))
        samples = train_mixture(args.n, args.seed, tok, args.length, hay)
    arr = np.asarray([s.ids for s in samples], dtype="<u2")
    out = os.path.join(args.corpus, "retrieval_train.bin")
    arr.tofile(out)
    counts: Dict[str, int] = {}
    for s in samples:
        counts[s.task] = counts.get(s.task, 0) + 1
    meta = {"n": args.n, "length": args.length, "seed": args.seed, "dtype": "uint16",
            "fraction": RETRIEVAL_FRACTION,  # the default mix; train.py --retrieval-fraction rules "task_counts": counts,
            "answers": [[list(a) for a in s.answers] for s in samples],
            "tasks": [s.task for s in samples]}
    with open(out[:-4] + ".json", "w") as f:
        json.dump(meta, f)
    n_ans = sum(len(s.answers) for s in samples)
    print(f"{out}: {args.n} x {args.length} tokens, {n_ans} answers, tasks {counts}")
    return 0


def cmd_pack_eval(args) -> int:
    """Evaluation samples on held-out haystacks for the trainer's quick end-of-run check."""
    import numpy as np
    tok = _load_tok(args.model)
    hay = _hay(tok, os.path.join(args.corpus, "heldout.bin"))
    lengths = [int(x) for x in args.lengths.split(",")]
    recs, chunks, off = [], [], 0
    for task in TASKS:
        for L in lengths:
            for i, smp in enumerate(eval_set(task, args.n, args.seed, tok, L, hay)):
                chunks.append(np.asarray(smp.ids, dtype="<u2"))
                recs.append({"task": task, "length": L, "index": i, "offset": off,
                             "answers": [list(a) for a in smp.answers],
                             "needle_pos": smp.meta.get("needle_pos", [])})
                off += L
    out = os.path.join(args.corpus, "retrieval_eval.bin")
    np.concatenate(chunks).tofile(out)
    with open(out[:-4] + ".json", "w") as f:
        json.dump({"seed": args.seed, "lengths": lengths, "n": args.n, "tasks": list(TASKS),
                   "samples": recs}, f)
    print(f"{out}: {len(recs)} samples, {off} tokens")
    return 0


def cmd_show(args) -> int:
    tok = _load_tok(args.model)
    hay = _hay(tok, os.path.join(args.corpus, args.split + ".bin"))
    s = eval_set(args.task, 1, args.seed, tok, args.length, hay)[0]
    print(tok.decode(s.ids[1:]))
    print("---- answers:", [(tok.decode(s.ids[a:b]), t) for (a, b), t in zip(s.answers, s.answer_texts)])
    print("---- exact text round trip:", tok.encode(tok.decode(s.ids[1:])) == s.ids[1:])
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--length", type=int, default=2049)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--jobs", type=int, default=1, help="worker processes (same file for any number)")
    e = sub.add_parser("pack-eval")
    e.add_argument("--n", type=int, default=8)
    e.add_argument("--lengths", default="1024,2048,4096,8192")
    e.add_argument("--seed", type=int, default=11)
    s = sub.add_parser("show")
    s.add_argument("--task", default="niah-single", choices=TASKS)
    s.add_argument("--length", type=int, default=700)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--split", default="heldout")
    for q in (p, e, s):
        q.add_argument("--corpus", default=CORPUS)
        q.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    return {"pack": cmd_pack, "pack-eval": cmd_pack_eval, "show": cmd_show}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
