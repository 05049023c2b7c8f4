#!/bin/bash
# Why the dense chain is slow: a globaltimer/clock64 trace of one chain (blocks 0 and last) in gemv_bench,
# ncu kernel durations of the chained step, ncu --set full of one chain launch.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); out=${OUT:-/tmp/out}/r; mkdir -p "$out"
tar xJf "$here/bins.tar.xz" -C "$here"; export PATH="/usr/local/cuda/bin:$PATH"
timeout 60 "$here/gemv_bench" --reps 20 > "$out/gemv_trace.txt" 2>&1; echo "exit $?"; cat "$out/gemv_trace.txt" | head -80
timeout 120 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv -k regex:dense_chain --launch-skip 50 --launch-count 25 "$here/gemv_bench" --reps 1 > "$out/ncu_chain.csv" 2>&1; echo "ncu exit $?"
grep -E "dense_chain" "$out/ncu_chain.csv" | awk -F'","' '{print $NF}' | tr -d '"' | head -30 | tr '\n' ' '; echo
timeout 150 ncu --set full --import-source no --clock-control none -k regex:dense_chain --launch-skip 60 --launch-count 1 -o "$out/dc" "$here/gemv_bench" --reps 1 > "$out/ncu_full.log" 2>&1; echo "ncu full exit $?"
ncu -i "$out/dc.ncu-rep" --page details > "$out/dc_details.txt" 2>&1; grep -E "Duration|Warp Cycles|Eligible|Issued Warp|Stall|Memory Throughput|DRAM Throughput|Registers|Shared Memory Config|Achieved Occ" "$out/dc_details.txt" | head -40
ncu -i "$out/dc.ncu-rep" --page raw --csv > "$out/dc_raw.csv" 2>&1
python3 - "$out/dc_raw.csv" <<'PY' 2>&1 | head -40
import csv,sys
rows=list(csv.reader(open(sys.argv[1])))
h=rows[0]; v=rows[-1]
pairs=[(h[i],v[i]) for i in range(len(h)) if 'smsp__pcsamp_warps_issue_stalled' in h[i] or 'smsp__average_warp' in h[i]]
pairs=[p for p in pairs if p[1] not in ('0','')]
def f(x):
  try: return float(x.replace(',',''))
  except: return 0
for k,val in sorted(pairs,key=lambda p:-f(p[1]))[:30]: print(k,val)
PY
rm -f "$out/dc.ncu-rep"
tar czf "${OUT:-/tmp/out}/r.tgz" -C "$out" .
