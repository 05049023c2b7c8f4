# ncu --csv (gpu__time_duration.sum) → per-kernel totals, largest first.
import csv, sys, collections
rows = [r for r in csv.reader(l for l in open(sys.argv[1]) if l.startswith('"'))]
head = rows[0]; k = head.index("Kernel Name"); v = head.index("Metric Value")
tot = collections.defaultdict(float); cnt = collections.Counter()
for r in rows[1:]:
    name = r[k].split("(")[0].replace("mnemo::", "").replace("<unnamed>::", "").replace("(anonymous namespace)::", "")
    tot[name] += float(r[v].replace(",", "")) / 1000; cnt[name] += 1
all_us = sum(tot.values())
print(f"{sum(cnt.values())} kernels, {all_us/1000:.2f} ms of kernel time")
for n, t in sorted(tot.items(), key=lambda x: -x[1]):
    print(f"{t:10.1f} us {100*t/all_us:5.1f} % {cnt[n]:6d} launches {t/cnt[n]:8.2f} us each  {n}")
