# Sourced by the run.sh of this folder's experiments (each ran from a carried folder beside its
# binaries: `bash .devcarryN/run.sh`, with this file next to it). Sets: here, out, models and the
# library path; defines pack, run_for (a step bounded by what is left of $budget seconds),
# session_tests, lte_model (the 0.4B laLTE bf16 model in $bf and a 140 KB prompt), graph, trace
# and bench1k (the last two added 2026-12-07; earlier runners define their own copies), ab1k and
# memcheck and ab_switch (added 2026-12-08).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
[[ -x $here/mnemo || -x $here/mnemo_exp ]] || tar xJf "$here/bins.tar.xz" -C "$here"
out=${OUT:-/tmp/out}/r; mkdir -p "$out"
budget=${BUDGET:-${budget:-540}}
pack() { tar czf "${OUT:-/tmp/out}/r.tgz" -C "$out" .; }
run_for() { local want=$1; shift; local l=$((budget - SECONDS)); if ((l < 15)); then echo "SKIPPED: $*" | tee -a "$out/skipped.txt"; return 125; fi; ((want > l)) && want=$l; timeout "$want" "$@"; }
cublas_dir=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null || true)
export LD_LIBRARY_PATH="$here:${cublas_dir}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export PATH="/usr/local/cuda/bin:$PATH"
[[ -d /work/main/tests/data/golden ]] || { mkdir -p /work && ln -sfn "$PWD" /work/main; }  # test_cuda_session's golden models
models=/tmp/mnemo-models; mkdir -p "$models"

# session_tests SECONDS GREP: test_cuda_session, its summary and the lines matching GREP.
session_tests() {
  run_for "$1" "$here/test_cuda_session" >"$out/test_cuda_session.log" 2>&1; echo "test_cuda_session exit $?" | tee -a "$out/test_cuda_session.log"
  grep -E "FAILED|PASSED|Failure" "$out/test_cuda_session.log" | head -20; grep -E "$2" "$out/test_cuda_session.log"
}
# lte_model BIN [PROMPT_BYTES]: the bf16 0.4B laLTE model (written by mnemo bench) in $bf, and /tmp/prompt.txt.
lte_model() {
  run_for 90 "$here/$1" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K --decode-tokens 4 --no-roofline --model-dir "$models" >/dev/null 2>&1
  bf=$(ls $models/*lte*bf16*.gguf | head -n1)
  : >/tmp/prompt.txt; while [[ $(stat -c %s /tmp/prompt.txt) -lt ${2:-140000} ]]; do cat training/SEMANTICS.md >>/tmp/prompt.txt; done
}
# graph NAME BIN PROMPT_BYTES [VAR=value...]: greedy generation through the CUDA graph, one summary line.
graph() {
  local name=$1 bin=$2 n=$3; shift 3; head -c "$n" /tmp/prompt.txt >/tmp/p.txt
  run_for 60 env "$@" "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 256 --backend cuda --chunk 1024 --json --quiet >"$out/g.json" 2>"$out/g.log"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], 'decode ms/token', round(j['decode_ms_per_token'],4))" "$out/g.json" "$name" "$n" 2>&1 | tee -a "$out/graph_summary.txt"
}
# ab_decode ROUNDS: mnemo against mnemo_before at 1K, alternating ROUNDS times, then mnemo at 16K and 128K.
ab_decode() {
  local r; for ((r = 0; r < $1; ++r)); do graph new mnemo 1024; graph before mnemo_before 1024; done
  graph new mnemo 16384; graph new mnemo 131072
}
# kernel_tests SECONDS: test_cuda and its summary.
kernel_tests() {
  run_for "$1" "$here/test_cuda" >"$out/test_cuda.log" 2>&1; echo "test_cuda exit $?" | tee -a "$out/test_cuda.log"; grep -E "PASSED|FAILED" "$out/test_cuda.log"
}
# trace NAME BIN [VAR=value...]: a kernel timeline of 128 greedy tokens after a 1K prompt
# (libmnemo_kernel_trace.so beside the binaries), reported by kernel_trace.py; one summary line.
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; echo "$name $(grep -E "span" "$out/report_$name.txt")"
  gzip -f "$out/trace_$name.csv"
}
# bench1k NAME BIN [VAR=value...]: mnemo bench's decode at 1K (round $r), p50 and mean into bench_summary.txt.
bench1k() {
  local name=$1 bin=$2; shift 2
  run_for 60 env "$@" "$here/$bin" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K --decode-tokens 256 \
    --no-roofline --model-dir "$models" --json "$out/bench_${name}_$r.json" >"$out/bench_${name}_$r.txt" 2>&1
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); c=j['runs'][0]['contexts'][0]; print(sys.argv[2], 'p50', round(c['decode_ms_p50'],4), 'mean', round(c['decode_ms_mean'],4))" "$out/bench_${name}_$r.json" $name 2>&1 | tee -a "$out/bench_summary.txt"
}
# ab1k [ROUNDS]: mnemo against mnemo_before at 1K: a trace of each, then mnemo bench alternating
# ROUNDS times (3 unless given). Added 2026-12-08.
ab1k() {
  trace new mnemo; trace before mnemo_before
  for ((r = 1; r <= ${1:-3}; ++r)); do bench1k new mnemo; bench1k before mnemo_before; done
}
# memcheck SECONDS: compute-sanitizer memcheck on test_cuda, then on test_cuda_session's decode set
# (leaks too), SECONDS each at most. Added 2026-12-08.
memcheck() {
  run_for "$1" compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" >"$out/memcheck_kernels.log" 2>&1
  echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY" "$out/memcheck_kernels.log"
  run_for "$1" compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$here/test_cuda_session" \
    --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Snapshot*gdn_swa:*Sampling*lalte:*Generate*gdn_attn:*SplitMlp*' \
    >"$out/memcheck_session.log" 2>&1
  echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_session.log"
}
# ab_switch VAR=value: mnemo as built ("on") against mnemo with VAR=value ("off"): two traces each and
# mnemo bench at 1K alternating three times; prints each trace's kernel summary. Added 2026-12-08.
ab_switch() {
  trace on mnemo; trace off mnemo "$1"
  for r in 1 2 3; do bench1k on mnemo; bench1k off mnemo "$1"; done
  trace on2 mnemo; trace off2 mnemo "$1"
  local f; for f in on off on2 off2; do echo "== $f"; sed -n 6,9p "$out/report_$f.txt"; done
}
