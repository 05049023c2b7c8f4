#!/bin/bash
# Attribution inside kv_decode (outputs wrong by design; patch in this folder): MNEMO_KVD_SKIP=1 leaves out the
# cache copy into shared memory, 2 the cluster's combine and the commit (block 0 writes its own partial), 3 both,
# 4 everything after the wait. Graph decode at 1K, alternating; ncu of kv_decode alone for 0, 1, 2, 4.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
for r in 1 2; do for k in 0 1 2 3 4; do graph skip_$k mnemo 1024 MNEMO_KVD_SKIP=$k; done; done
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
for k in 0 1 2 4; do
  MNEMO_KVD_SKIP=$k run_for 60 ncu --clock-control none --cache-control none -k regex:kv_decode --metrics gpu__time_duration.sum --csv --print-units base "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 8 --backend cuda --quiet >"$out/ncu_$k.csv" 2>/dev/null
  python3 -c "
import csv,sys
rows=[r for r in csv.reader(open(sys.argv[1])) if len(r)>10]; h=rows[0]; vi=h.index('Metric Value')
v=sorted(float(r[vi].replace(',',''))/1e3 for r in rows[1:]); print('skip', sys.argv[2], 'kv_decode under ncu: n %d, median %.2f us, min %.2f'%(len(v), v[len(v)//2], v[0]))" "$out/ncu_$k.csv" "$k" | tee -a "$out/ncu_summary.txt"
done
pack
