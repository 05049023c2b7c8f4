#!/usr/bin/env python3
"""kernel_trace.py on a synthetic trace whose answer is known (run by ctest; no GPU needed).

Each decode step: a one-block embed, a GEMV that starts 1 us before the embed ends (its
pre-wait part, as under programmatic launch), then an attention kernel. Every fourth step
also runs a scorer on a second stream (more kernels: left out as not the common count). A
prefill chunk's embed (a block a token) ahead of them must not count as a step. Without the one-block
embeds (the embedding folded into the first GEMV) steps start after the GPU idles.
"""
import csv
import gzip
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_trace  # noqa: E402

FIELDS = ["start_ns", "end_ns", "stream", "graph_node", "grid", "block", "name"]


def synthetic_rows(steps=12):
    rows = [dict(start_ns=0, end_ns=50_000, stream=7, graph_node=0, grid=1024, block=256, name="mnemo::cuda::embed_kernel")]
    t = 100_000
    for k in range(steps):
        step = [
            (t, t + 2_000, 7, 1, 256, "mnemo::cuda::embed_kernel"),
            (t + 1_000, t + 8_000, 7, 264, 256, "mnemo::cuda::gemv_kernel<1; 1>"),  # starts 1 us early, ends 6 us later
            (t + 8_500, t + 20_000, 7, 128, 256, "mnemo::cuda::kv_decode_kernel"),  # 12 us after the GEMV's end
        ]
        if k % 4 == 3:
            step.append((t + 9_000, t + 15_000, 9, 16, 128, "mnemo::cuda::lte_layer_kernel"))
        for s0, e0, stream, grid, block, name in step:
            rows.append(dict(start_ns=s0, end_ns=e0, stream=stream, graph_node=0, grid=grid, block=block, name=name))
        t += 30_000
    return rows


class KernelTraceTest(unittest.TestCase):
    def write(self, rows, gz=False):
        fd, path = tempfile.mkstemp(suffix=".csv.gz" if gz else ".csv")
        os.close(fd)
        self.addCleanup(os.remove, path)
        with (gzip.open(path, "wt", newline="") if gz else open(path, "w", newline="")) as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
        return path

    def test_costs_sum_to_the_step_and_say_where_it_goes(self):
        for gz in (False, True):
            r = kernel_trace.analyse(kernel_trace.load(self.write(synthetic_rows(), gz)), skip=2)
            # 12 steps, 2 skipped, the last dropped: 9; of those, steps 3 and 7 score (4 kernels).
            self.assertEqual(r["steps"], 9)
            self.assertEqual(r["counts"], {3: 7, 4: 2})
            self.assertEqual((r["n"], r["plain"]), (3, 7))
            self.assertAlmostEqual(r["plain_span_us"], 20.0)
            med, names = r["med"], r["names"]
            self.assertEqual([names[i][0] for i in range(3)], ["embed_kernel", "gemv_kernel<1; 1>", "kv_decode_kernel"])
            self.assertAlmostEqual(med[0]["cost"], 2.0)   # the first kernel: its own duration
            self.assertAlmostEqual(med[1]["cost"], 6.0)   # the GEMV ends 6 us after the embed
            self.assertAlmostEqual(med[1]["early"], 1.0)  # and started 1 us before the embed ended
            self.assertAlmostEqual(med[2]["cost"], 12.0)
            self.assertAlmostEqual(med[2]["early"], -0.5)  # a gap, not an overlap
            self.assertAlmostEqual(sum(m["cost"] for m in med.values()), r["plain_span_us"])

    def test_steps_without_an_embedding_launch_start_after_the_idle_gap(self):
        # The embedding folded into the first GEMV: the same steps without their one-block embed.
        rows = [r for r in synthetic_rows() if not (r["name"].endswith("embed_kernel") and r["grid"] == 1)]
        r = kernel_trace.analyse(kernel_trace.load(self.write(rows)), skip=2)
        # The prefill chunk is a step of its own here: 13, the first two and the last dropped: 10,
        # of which decode steps 3 and 7 score.
        self.assertEqual(r["steps"], 10)
        self.assertEqual((r["n"], r["plain"]), (2, 8))
        self.assertEqual([r["names"][i][0] for i in range(2)], ["gemv_kernel<1; 1>", "kv_decode_kernel"])
        self.assertAlmostEqual(r["plain_span_us"], 19.0)  # the GEMV's start to the attention's end
        self.assertAlmostEqual(r["med"][1]["cost"], 12.0)

    def test_lone_kernels_split_off_by_pauses_do_not_choose_the_step(self):
        # Steps of three kernels, each followed by two lone kernels after idle gaps: pieces of one
        # kernel outnumber the steps (2 to 1), but the steps hold more kernels (3 to 2).
        rows = []
        for k in range(12):
            t = 100_000 + k * 60_000
            for s0, e0, name in ((t, t + 7_000, "gemv_kernel<1; 1>"), (t + 7_500, t + 19_000, "kv_decode_kernel"),
                                 (t + 19_000, t + 23_000, "gemv_kernel<1; 1>"), (t + 33_000, t + 34_000, "lone_kernel"),
                                 (t + 44_000, t + 45_000, "lone_kernel")):
                rows.append(dict(start_ns=s0, end_ns=e0, stream=7, graph_node=0, grid=132, block=256, name="mnemo::cuda::" + name))
        r = kernel_trace.analyse(kernel_trace.load(self.write(rows)), skip=2)
        self.assertGreater(r["counts"][1], r["counts"][3])
        self.assertEqual(r["n"], 3)
        self.assertEqual([r["names"][i][0] for i in range(3)], ["gemv_kernel<1; 1>", "kv_decode_kernel", "gemv_kernel<1; 1>"])
        self.assertAlmostEqual(r["plain_span_us"], 23.0)

    def test_too_few_steps_is_an_error(self):
        with self.assertRaises(ValueError):
            kernel_trace.analyse(kernel_trace.load(self.write(synthetic_rows(steps=2))), skip=2)


if __name__ == "__main__":
    unittest.main()
