"""Cache (inference) forms: chunk-size invariance, LTE eviction semantics, the paper's algorithm."""

import unittest

import torch

from .helpers import max_diff, random_ids, run_cached, tiny_model
from mnemo_ref.lte import LTECache
from mnemo_ref.paper_lte_sim import paper_lte_layer

T = 96


class ChunkInvarianceTest(unittest.TestCase):
    def test_every_mixer(self):
        ids = random_ids(T)
        for name in ("gdn", "gdn_swa", "lalte", "lansa", "gdn_attn", "nsa", "transformer"):
            m = tiny_model(name)
            with torch.no_grad():
                ref = m(ids, mode="fast", lte_mode="cache")["logits"]
            for chunk in (1, 5, 17, 64, T):
                with self.subTest(model=name, chunk=chunk):
                    out, _ = run_cached(m, ids, chunk)
                    self.assertLess(max_diff(out, ref), 1e-9)
            if name == "lalte":
                out, _ = run_cached(m, ids, 1, mode="pure", lte_method="greedy")
                self.assertLess(max_diff(out, ref), 1e-9)


class LTECacheTest(unittest.TestCase):
    def setUp(self):
        self.m = tiny_model("lalte")
        self.ids = random_ids(160, seed=3)

    def test_prefill_then_decode_equals_step_by_step(self):
        step, c_step = run_cached(self.m, self.ids, 1, mode="pure", lte_method="greedy")
        for prefill in (1, 7, 16, 17, 40, 100):
            with self.subTest(prefill=prefill):
                cache = self.m.init_cache()
                outs = [self.m.forward_cached(self.ids[:, :prefill], cache)["logits"]]
                for t in range(prefill, self.ids.shape[1], 3):       # then chunks of 3
                    outs.append(self.m.forward_cached(self.ids[:, t:t + 3], cache)["logits"])
                self.assertLess(max_diff(torch.cat(outs, 1), step), 1e-9)
                for li in self.m.cfg.lte_layers:
                    a, b = cache[li], c_step[li]
                    self.assertEqual(set(a.retained_log), set(b.retained_log))
                    for t in a.retained_log:
                        self.assertTrue(torch.equal(a.retained_log[t], b.retained_log[t]), (li, t))
                    self.assertTrue(torch.equal(a.retained_positions(), b.retained_positions()))
                    for j in b.score_log:
                        self.assertLess(max_diff(a.score_log[j], b.score_log[j]), 1e-12)

    def test_buffer_overflows_and_replaces(self):
        _, cache = run_cached(self.m, self.ids, 1, mode="pure", lte_method="greedy")
        for li in self.m.cfg.lte_layers:
            st = cache[li]
            full = [t for t, r in st.retained_log.items() if bool((r >= 0).all())]
            self.assertTrue(full, "buffer never full")
            # some positive-scored token was dropped from the buffer after being retained
            dropped = False
            for t in range(1, len(st.retained_log)):
                prev, cur = st.retained_log[t - 1], st.retained_log[t]
                for h in range(prev.shape[0]):
                    if set(prev[h].tolist()) - set(cur[h].tolist()) - {-1}:
                        dropped = True
            self.assertTrue(dropped)
            # retained tokens are positive, >= sink, out of the query's window; capacity b - s
            for t, r in st.retained_log.items():
                for h in range(r.shape[0]):
                    for p in r[h].tolist():
                        if p >= 0:
                            self.assertGreater(st.score_log[p][h].item(), 0)
                            self.assertGreaterEqual(p, st.s)
                            self.assertLessEqual(p, t - st.w - 1)

    def test_matches_training_selection_when_buffer_not_full(self):
        m = tiny_model("lalte", attn={"buffer_size": 500})
        ids = self.ids[:, :120]
        with torch.no_grad():
            train = m(ids, mode="pure", lte_mode="train")
        out, cache = run_cached(m, ids, 9)
        self.assertLess(max_diff(out, train["logits"]), 1e-9)
        for li in m.cfg.lte_layers:
            sel = train["lte"][li]["selected"][0]                 # [T, H]: score > 0 or sink
            st = cache[li]
            for t, r in st.retained_log.items():
                for h in range(r.shape[0]):
                    expect = [j for j in range(st.s, t - st.w) if bool(sel[j, h])]
                    self.assertEqual([p for p in r[h].tolist() if p >= 0], expect, (li, t, h))

    def test_parallel_cache_visibility_equals_cache(self):
        out = self.m(self.ids, mode="fast", lte_mode="cache", output_hidden_states=False)
        _, cache = run_cached(self.m, self.ids, 13)
        for li in self.m.cfg.lte_layers:
            vis = out["lte"][li]["selected"][0]
            for t, r in cache[li].retained_log.items():
                for h in range(r.shape[0]):
                    self.assertEqual(vis[h, t].nonzero().flatten().tolist(),
                                     [p for p in r[h].tolist() if p >= 0])


class EvictionRuleTest(unittest.TestCase):
    """The literal rule, including ties (see SEMANTICS.md)."""

    def make(self, cap=3):
        st = LTECache(1, 2, window_size=16, buffer_size=4 + cap, sink_size=4,
                      dtype=torch.float64, device="cpu")
        return st

    def offer(self, st, pos, r):
        z = torch.zeros(2, dtype=torch.float64)
        LTECache_offer(st, pos, r, z)

    def state(self, st):
        return sorted((int(p), float(s)) for p, s in zip(st.ret_pos[0], st.ret_score[0]) if p >= 0)

    def test_rules(self):
        st = self.make()
        self.offer(st, 10, 0.0)                     # r <= 0: evicted
        self.offer(st, 11, -0.2)
        self.assertEqual(self.state(st), [])
        for p, r in ((12, 0.3), (13, 0.1), (14, 0.2)):
            self.offer(st, p, r)                    # room: enters
        self.assertEqual(self.state(st), [(12, 0.3), (13, 0.1), (14, 0.2)])
        self.offer(st, 15, 0.05)                    # lower than the minimum: evicted
        self.offer(st, 16, 0.1)                     # equal to the minimum: incumbent stays
        self.assertEqual(self.state(st), [(12, 0.3), (13, 0.1), (14, 0.2)])
        self.offer(st, 17, 0.25)                    # higher: replaces the minimum
        self.assertEqual(self.state(st), [(12, 0.3), (14, 0.2), (17, 0.25)])
        self.offer(st, 18, 0.2)                     # equal to the minimum (0.2 at 14): stays out
        self.assertEqual(self.state(st), [(12, 0.3), (14, 0.2), (17, 0.25)])

    def test_equal_minima_replace_most_recent(self):
        st = self.make()
        for p, r in ((20, 0.1), (21, 0.4), (22, 0.1)):
            self.offer(st, p, r)
        self.offer(st, 23, 0.3)                     # minima 0.1 at 20 and 22: 22 goes
        self.assertEqual(self.state(st), [(20, 0.1), (21, 0.4), (23, 0.3)])


def LTECache_offer(st, pos, r, z):
    from mnemo_ref.lte import LTEAttention
    LTEAttention._offer(st, 0, pos, torch.tensor(r, dtype=torch.float64), z, z)


class PaperAlgorithmTest(unittest.TestCase):
    """The reference's prefill + decode algorithm (modelled in paper_lte_sim) vs Mnemo."""

    def setUp(self):
        self.m = tiny_model("lalte", seed=5)
        self.attn = self.m.model.layers[1].attn
        self.x = torch.randn(1, 120, 64, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
        with torch.no_grad():
            self.ref, _ = self.attn.forward_parallel(self.x, lte_mode="cache")

    def test_decode_equals_mnemo_for_prompts_of_2m_or_more(self):
        m = (self.attn.margin_left + self.attn.margin_right + 1) // 2
        for L in (2 * m, 17, 21, 40, 100):
            out = paper_lte_layer(self.attn, self.x, L)
            self.assertLess(max_diff(out[0, L:], self.ref[0, L:]), 1e-12, L)
            with torch.no_grad():
                pe, _ = self.attn.forward_parallel(self.x[:, :L], lte_mode="paper_eval")
            self.assertLess(max_diff(out[0, :L], pe[0]), 1e-12, L)

    def test_short_prompt_defects(self):
        for L in (1, 5, 9, 11):
            out = paper_lte_layer(self.attn, self.x, L, fix_derope=True, fix_sink=True)
            self.assertLess(max_diff(out[0, L:], self.ref[0, L:]), 1e-12, L)
            raw = paper_lte_layer(self.attn, self.x, L)
            self.assertGreater(max_diff(raw[0, L:], self.ref[0, L:]), 1e-6, L)

    def test_paper_prefill_differs_once_buffer_overflows(self):
        L = 100
        with torch.no_grad():
            pe, _ = self.attn.forward_parallel(self.x[:, :L], lte_mode="paper_eval")
        self.assertGreater(max_diff(pe[0], self.ref[0, :L]), 1e-3)


if __name__ == "__main__":
    unittest.main()
