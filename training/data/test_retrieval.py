"""Tests of the synthetic retrieval sequences (stdlib unittest; fast).

    /usr/bin/python3 -m unittest discover -s training/data -p 'test_*.py'
"""

import os
import random
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import retrieval as R  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
SPM_MODEL = os.path.join(REPO, "models", "tokenizer", "mnemo-8k.model")

_LINES = [
    "The river ran quietly past the old mill, where nobody had worked for years.",
    "A short line.",
    "Numbers like 42 and 1999 appear in text too.",
    "    indented code = line(1)",
    "Long ago, in a land far away, there lived a careful clockmaker who fixed every clock in town.",
]


def byte_haystack(tok, n_docs=40, seed=0):
    rng = random.Random(seed)
    ids = []
    for _ in range(n_docs):
        ids.append(tok.bos_id)
        text = "\n".join(rng.choice(_LINES) for _ in range(rng.randint(3, 30)))
        ids.extend(tok.encode(text))
    return R.TextHaystack(ids, tok.encode("\n")[0], tok.bos_id)


def contains(seq, sub):
    n = len(sub)
    return any(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


class RetrievalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tok = R.ByteTokenizer()
        cls.hay = byte_haystack(cls.tok)

    def test_exact_length_and_answers(self):
        for task in R.TASKS:
            for length in (700, 1500, 3000):
                with self.subTest(task=task, length=length):
                    s = R.make_sample(task, random.Random(f"{task}{length}"), self.tok, length, self.hay,
                                      n_queries=2)
                    self.assertEqual(len(s.ids), length)
                    self.assertEqual(s.ids[0], self.tok.bos_id)
                    self.assertGreaterEqual(len(s.answers), 1)
                    for (a, b), text in zip(s.answers, s.answer_texts):
                        self.assertLess(a, b)
                        self.assertLessEqual(b, length)
                        self.assertEqual(self.tok.decode(s.ids[a:b]), " " + text)
                    self.assertTrue(all(0 <= i < self.tok.vocab_size for i in s.ids))

    def test_needles_present_before_questions(self):
        for task in ("niah-single", "niah-single-uuid", "niah-multikey", "mqar", "passkey", "niah-single-repeat"):
            s = R.make_sample(task, random.Random(1), self.tok, 1200, self.hay, n_queries=2)
            text = self.tok.decode(s.ids)
            first_q = s.answers[0][0]
            for v in s.meta["values"]:
                self.assertIn(v, self.tok.decode(s.ids[:first_q]), task)
            for p in s.meta["needle_pos"]:
                self.assertLess(p, first_q)
            self.assertNotIn("\ufffd", text)

    def test_deterministic(self):
        a = R.make_sample("niah-multikey", random.Random("x"), self.tok, 900, self.hay, n_keys=5)
        b = R.make_sample("niah-multikey", random.Random("x"), self.tok, 900, self.hay, n_keys=5)
        c = R.make_sample("niah-multikey", random.Random("y"), self.tok, 900, self.hay, n_keys=5)
        self.assertEqual(a.ids, b.ids)
        self.assertEqual(a.answers, b.answers)
        self.assertNotEqual(a.ids, c.ids)
        m1 = R.train_mixture(12, 3, self.tok, 800, self.hay)
        m2 = R.train_mixture(12, 3, self.tok, 800, self.hay)
        self.assertEqual([s.ids for s in m1], [s.ids for s in m2])

    def test_depth_controls_position(self):
        pos = []
        for d in (0.1, 0.5, 0.9):
            s = R.make_sample("passkey", random.Random(0), self.tok, 2000, None, depth=d)
            pos.append(s.meta["needle_pos"][0])
        self.assertLess(pos[0], pos[1])
        self.assertLess(pos[1], pos[2])
        self.assertLess(abs(pos[1] - 1000), 200)
        es = R.eval_set("niah-single", 5, 0, self.tok, 1500, self.hay)
        p = [s.meta["needle_pos"][0] for s in es]
        self.assertEqual(p, sorted(p))

    def test_score(self):
        s = R.make_sample("mqar", random.Random(2), self.tok, 1000, self.hay, n_pairs=6, n_queries=4)
        perfect = s.ids[1:] + [0]                    # prediction for position p+1 at index p
        self.assertEqual(R.score(s, perfect), [True] * len(s.answers))
        wrong = list(perfect)
        a, b = s.answers[1]
        wrong[b - 2] = (wrong[b - 2] + 1) % 200
        res = R.score(s, wrong)
        self.assertFalse(res[1])
        self.assertEqual(sum(res), len(s.answers) - 1)

    def test_mixture_weights(self):
        m = R.train_mixture(300, 0, self.tok, 2500, self.hay)
        counts = {}
        for s in m:
            counts[s.task] = counts.get(s.task, 0) + 1
            self.assertEqual(len(s.ids), 2500)
        for t, w in R.TRAIN_TASK_WEIGHTS.items():
            self.assertLess(abs(counts.get(t, 0) / 300 - w), 0.07, t)
        self.assertAlmostEqual(sum(R.TRAIN_TASK_WEIGHTS.values()), 1.0)

    def test_too_short(self):
        with self.assertRaises(ValueError):
            R.make_sample("niah-multikey", random.Random(0), self.tok, 60, self.hay, n_keys=8)

    def test_haystack_never_has_bos_inside(self):
        s = R.make_sample("niah-single", random.Random(5), self.tok, 3000, self.hay)
        self.assertNotIn(self.tok.bos_id, s.ids[1:])


@unittest.skipUnless(os.path.exists(SPM_MODEL), "tokenizer model not built")
class SentencePieceExactnessTest(unittest.TestCase):
    """With Mnemo's real tokenizer, needles, questions and answers tokenise exactly as in
    the sample (the property that makes token-level assembly equal to text tokenisation)."""

    @classmethod
    def setUpClass(cls):
        try:
            from tokenizer import Tokenizer
            cls.tok = Tokenizer(SPM_MODEL)
        except ImportError as e:  # python3-sentencepiece not installed
            raise unittest.SkipTest(str(e))
        cls.hay = R.TextHaystack([cls.tok.bos_id] + cls.tok.encode("\n".join(_LINES * 30)),
                                 cls.tok.encode("\n")[0], cls.tok.bos_id)

    def test_round_trip(self):
        for task in R.TASKS:
            s = R.make_sample(task, random.Random(task), self.tok, 900, self.hay, n_queries=3)
            q0 = s.answers[0][0]
            # from the newline that starts the question block to the end
            start = max(i for i in range(q0) if s.ids[i] == self.tok.encode("\n")[0])
            tail = s.ids[start:]
            self.assertEqual(self.tok.encode(self.tok.decode(tail)), tail, task)
            for p in s.meta["needle_pos"]:
                # a needle and the line after it re-tokenise identically
                seg = s.ids[p:p + 30]
                text = self.tok.decode(seg)
                cut = text.rfind("\n") if "\n" in text else text.rfind(" ")
                self.assertEqual(self.tok.encode(text[:cut]), seg[:len(self.tok.encode(text[:cut]))], task)


if __name__ == "__main__":
    unittest.main()
