#!/usr/bin/env bash
# 2026-11-23g b: what each kind of decode work costs the graph step after kv_decode (experiment
# build, patch beside), and ncu kernel times over 16 greedy decode steps.
source bench/results/cuda/2026-11-23f/device_env.sh
lte_model mnemo
for r in 1 2; do
  for skip in none decode side decode,side conv,rec decode,side,conv,rec; do graph "skip=$skip" mnemo_exp 1024 MNEMO_EXP_SKIP=$skip; done
done
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
run_for 150 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --print-units base "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 16 --backend cuda --quiet >"$out/ncu_decode.csv" 2>"$out/ncu_decode.log"
python3 - "$out/ncu_decode.csv" <<'PY' | tee "$out/ncu_decode_summary.txt"
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]; ki = head.index("Kernel Name"); vi = head.index("Metric Value")
tot = collections.Counter(); cnt = collections.Counter()
for r in rows[1:]:
    name = r[ki].replace("<unnamed>::", "").replace("(anonymous namespace)::", "").replace("void ", "").split("(")[0].split("<")[0]
    tot[name] += float(r[vi].replace(",", "")); cnt[name] += 1
all_ns = sum(tot.values())
print(f"{len(rows) - 1} kernels, {all_ns / 1e6:.2f} ms of kernel time")
for name, ns in tot.most_common(25):
    print(f"{ns / 1e3:10.1f} us {100 * ns / all_ns:5.1f} % {cnt[name]:6d} launches {ns / cnt[name] / 1e3:8.2f} us each  {name}")
PY
rm -f "$out/ncu_decode.csv"
pack
