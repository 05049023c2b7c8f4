#!/usr/bin/env bash
# 2026-11-23g c: ncu details of one decode step's kv_decode and a GEMV; per-launch times of the decode kernels.
source bench/results/cuda/2026-11-23f/device_env.sh
lte_model mnemo
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
run_for 120 ncu --set full -k regex:'kv_decode_kernel|gemv_kernel' --launch-skip 400 --launch-count 3 "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 16 --backend cuda --quiet >"$out/ncu_full.txt" 2>&1
grep -E "gemv_kernel|kv_decode_kernel|Duration|Elapsed Cycles|SM Frequency|Registers Per|Shared Memory Configuration|Dynamic Shared|Achieved Occupancy|Theoretical Occupancy|Memory Throughput|DRAM Throughput|Block Limit|Cluster|Waves" "$out/ncu_full.txt" | head -80
run_for 120 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --print-units base "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 16 --backend cuda --quiet >"$out/ncu_all.csv" 2>/dev/null
python3 - "$out/ncu_all.csv" <<'PY' | tee "$out/ncu_last_steps.txt"
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]; ki = head.index("Kernel Name"); vi = head.index("Metric Value")
seq = []
for r in rows[1:]:
    name = r[ki].replace("<unnamed>::", "").replace("(anonymous namespace)::", "").replace("void ", "").split("(")[0].split("<")[0].replace("mnemo::","")
    seq.append((name, float(r[vi].replace(",", "")) / 1e3))
# the last 8 decode steps: from the 8th-last embed_kernel on
idx = [i for i, (n, _) in enumerate(seq) if n == "embed_kernel"]
tail = seq[idx[-8]:]
tot = collections.Counter(); cnt = collections.Counter()
for n, us in tail: tot[n] += us; cnt[n] += 1
print(f"last 8 decode steps: {len(tail)} kernels, {sum(tot.values())/8:.1f} us of kernel time per step")
for n, us in tot.most_common(20): print(f"{us/8:8.1f} us/step {cnt[n]/8:6.1f} launches/step {us/cnt[n]:7.2f} us each  {n}")
step = tail[:len(tail)//8]
print("one step in order:", " ".join(f"{n.replace('_kernel','')}:{us:.1f}" for n, us in step[:80]))
PY
rm -f "$out/ncu_all.csv"
pack
