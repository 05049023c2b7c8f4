#!/usr/bin/env bash
# Trains the whole family on one GPU machine across several device calls of one lease
# (docs/models.md "How it was run"). The training outlives the call that starts it (it runs
# in its own process session), so later calls on the same warm machine can watch it and
# then evaluate the models through the C API.
#
#   device_family.sh start CORPUS DEADLINE_S TOKENS [family.py options]
#       builds the synthetic retrieval rows on the machine, starts family.py --parallel in
#       the background with every model of the family; returns at once
#   device_family.sh status              last lines of the family log
#   device_family.sh wait SECONDS        waits until the family is done (or SECONDS pass)
#   device_family.sh eval BIN_DIR OUT SECONDS LENGTHS [mnemo eval options]
#       converts every export to GGUF (bf16) with BIN_DIR/mnemo, runs `mnemo eval` on each
#       (in parallel on the GPU) within SECONDS, packs results, logs and the laLTE weights
#       into OUT
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=/tmp/mnemo_family
cmd=${1:?usage: device_family.sh start|status|wait|eval ...}
shift
# MNEMO_FAMILY_MODELS picks a subset: all six at once did not fit in one H100's 80 GB (round 2:
# GDN+SWA and GDN+Attn ran out of memory at step 1, laNSA alone held ~30 GB).
models=(${MNEMO_FAMILY_MODELS:-lalte gdn gdn_swa gdn_attn transformer lansa})

case $cmd in
  start)
    corpus=$1 deadline=$2 tokens=$3
    shift 3
    mkdir -p "$work"
    cp -r "$corpus" "$work/corpus"
    nrows=${MNEMO_RETRIEVAL_ROWS:-16000}
    ( cd "$repo" && python3 training/data/retrieval.py pack --n "$nrows" --jobs 12 --corpus "$work/corpus" ) \
      || { echo "packing retrieval rows failed"; exit 1; }
    specs=()
    for m in "${models[@]}"; do
      if [[ $m == lansa ]]; then specs+=("$m:mb=4,accum=4,weights=0"); else specs+=("$m:mb=8,accum=2,weights=0"); fi
    done
    setsid nohup python3 "$here/family.py" --parallel --corpus "$work/corpus" --results "$work/results" \
      --runs "$work/runs" --deadline "$deadline" --family-tokens "$tokens" "$@" "${specs[@]}" \
      >"$work/family.log" 2>&1 < /dev/null &
    echo $! >"$work/family.pid"
    sleep 45
    tail -n 40 "$work/family.log"
    nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv
    ;;
  status)
    tail -n 60 "$work/family.log"
    nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv
    ;;
  wait)
    end=$((SECONDS + ${1:-500}))
    while kill -0 "$(cat "$work/family.pid")" 2>/dev/null && ((SECONDS < end)); do sleep 10; done
    grep -E "^\[family|step=[0-9]*00 " "$work/family.log" | tail -n 40
    kill -0 "$(cat "$work/family.pid")" 2>/dev/null && echo "family still running" || echo "family done"
    ;;
  eval)
    # eval BIN_DIR OUT SECONDS LENGTHS [mnemo eval options]: one `mnemo eval` per model and
    # length (models in parallel on the GPU, lengths in order), so that whatever finished
    # before the deadline comes back.
    bin=$(cd "$1" && pwd) out=$2 seconds=$3 lengths=$4
    shift 4
    end=$((SECONDS + seconds))
    mkdir -p "$out" "$work/gguf" "$work/eval"
    cublas_dir=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null || true)
    export LD_LIBRARY_PATH="$bin:${cublas_dir}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
    pids=()
    for m in "${models[@]}"; do
      exp=$work/runs/$m/export
      [[ -f $exp/model.safetensors ]] || { echo "$m: no export"; continue; }
      "$bin/mnemo" convert "$exp" "$work/gguf/$m.gguf" --type bf16 >"$work/eval/$m.convert.log" 2>&1 \
        || { echo "$m: convert failed"; tail -5 "$work/eval/$m.convert.log"; continue; }
      (
        for L in ${lengths//,/ }; do
          left=$((end - SECONDS))
          ((left > 5)) || { echo "$m $L: no time left" >>"$work/eval/$m.log"; break; }
          timeout "$left" "$bin/mnemo" eval "$work/gguf/$m.gguf" --backend cuda --lengths "$L" --haystack "$repo/models/eval/haystack.txt" \
            --json "$@" >"$work/eval/$m.$L.json" 2>>"$work/eval/$m.log" || echo "$m $L: exit $?" >>"$work/eval/$m.log"
        done
      ) &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for m in "${models[@]}"; do
      [[ -f $work/eval/$m.log ]] && { echo "== $m"; grep -v "^\[" "$work/eval/$m.log" | tail -n 6; }
    done
    tar -czf "$out/family_results.tar.gz" -C "$work" family.log eval results runs/lalte/export/training.json 2>/dev/null
    # the default model's weights come back (bf16, lossless parts <= 16 MB)
    python3 "$here/transport.py" pack "$work/runs/lalte/export/model.safetensors" "$out/lalte" >/dev/null
    ls -la "$out"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
