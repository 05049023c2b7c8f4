#!/usr/bin/env bash
# Trains the whole family on one GPU machine across several device calls of one lease
# (docs/models.md "How it was run"). The training outlives the call that starts it (it runs
# in its own process session), so later calls on the same warm machine can watch it and
# then evaluate the models through the C API.
#
#   device_family.sh start CORPUS DEADLINE_S TOKENS [family.py options]
#       builds the synthetic retrieval rows on the machine, starts family.py --parallel in
#       the background with every model of the family; returns at once.
#       MNEMO_STAGE1_SEQ (default 2048) is the sequence length; MNEMO_STAGE2="SEQ TOKENS
#       DEADLINE_S FRACTION" adds a second curriculum stage that starts from stage 1's weights;
#       CUDA MPS is started unless MNEMO_FAMILY_MPS=0
#   device_family.sh status              last lines of the family log
#   device_family.sh wait SECONDS        waits until the family is done (or SECONDS pass)
#   device_family.sh eval BIN_DIR OUT SECONDS LENGTHS [mnemo eval options]
#       converts every export to GGUF (bf16) with BIN_DIR/mnemo, runs `mnemo eval` on each
#       (in parallel on the GPU) within SECONDS (plus at most one sample), packs results,
#       logs and the laLTE weights into OUT
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
    rm -rf "$work/corpus" "$work/corpus2"
    # CUDA MPS lets the six processes' kernels overlap (round 4: ~340 K tokens/s in all at 512
    # tokens, against ~180 K time-sliced in round 2); without it they still run, time-sliced.
    if command -v nvidia-cuda-mps-control >/dev/null && [[ ${MNEMO_FAMILY_MPS:-1} == 1 ]]; then
      nvidia-cuda-mps-control -d 2>/dev/null && echo "CUDA MPS started"
    fi
    cp -r "$corpus" "$work/corpus"
    nrows=${MNEMO_RETRIEVAL_ROWS:-16000}
    # rows one token longer than the training sequences (a longer row would lose its question)
    len1=$(( ${MNEMO_STAGE1_SEQ:-2048} + 1 ))
    ( cd "$repo" && python3 training/data/retrieval.py pack --n "$nrows" --length "$len1" --jobs 12 --corpus "$work/corpus" ) \
      || { echo "packing retrieval rows failed"; exit 1; }
    specs=()
    for m in "${models[@]}"; do
      # 2048-token rows: 16 per step; shorter rows: 32 per step (round 3's 16K tokens at 512)
      if ((len1 > 1025)); then mb=8 acc=2; else mb=16 acc=2; fi
      # laNSA's masks grow with the square of the length: half the micro-batch at 2K (round 2:
      # ~30 GB at full size); at 512 it fits whole.
      [[ $m == lansa ]] && ((len1 > 1025)) && { mb=$((mb / 2)); acc=$((acc * 2)); }
      specs+=("$m:mb=$mb,accum=$acc,weights=0")
    done
    stage1=(python3 "$here/family.py" --parallel --corpus "$work/corpus" --results "$work/results1"
            --runs "$work/runs1" --deadline "$deadline" --family-tokens "$tokens" --seq-len "${MNEMO_STAGE1_SEQ:-2048}"
            "$@" "${specs[@]}")
    if [[ -z ${MNEMO_STAGE2:-} ]]; then
      stage1=("${stage1[@]/runs1/runs}")
      setsid nohup "${stage1[@]}" >"$work/family.log" 2>&1 </dev/null &
    else
      # MNEMO_STAGE2="SEQ TOKENS DEADLINE FRACTION": a second stage of the curriculum at a longer
      # sequence length, every model starting from its stage-1 export (fresh optimiser and
      # schedule); its exports are the ones `eval` reads. Its rows are packed while stage 1 runs.
      read -r seq2 tok2 dl2 frac2 <<<"$MNEMO_STAGE2"
      mkdir -p "$work/corpus2"
      for f in "$work/corpus"/*; do [[ $(basename "$f") == retrieval_train* ]] || ln -s "$f" "$work/corpus2/"; done
      specs2=()
      for m in "${models[@]}"; do
        if [[ $m == lansa ]]; then mb=2 acc=8; else mb=4 acc=4; fi
        specs2+=("$m:mb=$mb,accum=$acc,weights=0,init=$work/runs1/$m/export")
      done
      {
        printf '( cd %q && nice -n 5 ' "$repo"
        printf '%q ' python3 training/data/retrieval.py pack --n "${MNEMO_RETRIEVAL_ROWS2:-8000}" \
          --length $((seq2 + 1)) --jobs 6 --corpus "$work/corpus2"
        printf '>%q 2>&1 ) &\npack=$!\n' "$work/pack2.log"
        printf '%q ' "${stage1[@]}"; echo '|| echo "[family] stage 1 exited $?"'
        echo 'wait $pack || echo "[family] packing the stage-2 rows failed"'
        echo "echo '[family] stage 2: seq $seq2, $tok2 tokens, deadline $dl2 s, retrieval fraction $frac2'"
        printf '%q ' python3 "$here/family.py" --parallel --corpus "$work/corpus2" --results "$work/results" \
          --runs "$work/runs" --deadline "$dl2" --family-tokens "$tok2" --seq-len "$seq2" \
          --retrieval-fraction "$frac2" --answer-weight 4 --lr 5e-4 --warmup 20 --no-eval "${specs2[@]}"
        echo; echo "echo '[family] all stages done'"
      } >"$work/stages.sh"
      setsid nohup bash "$work/stages.sh" >"$work/family.log" 2>&1 </dev/null &
    fi
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
    # before the deadline comes back. Prefill chunks of MNEMO_EVAL_CHUNK tokens (default 4096:
    # with mnemo eval's 256, round 4's 18M models ran at ~9K tokens/s on the H100 and no
    # 32K cell finished in 225 s).
    bin=$(cd "$1" && pwd) out=$2 seconds=$3 lengths=$4
    shift 4
    # Evaluate without MPS: under MPS a fatal fault reaches every client, and round 5 saw four
    # evaluations fail with "illegal memory access" at the very second `timeout` killed two
    # others mid-kernel (their results for that length were lost).
    if command -v nvidia-cuda-mps-control >/dev/null && echo quit | nvidia-cuda-mps-control 2>/dev/null; then
      sleep 2 && echo "CUDA MPS stopped for the evaluation"
    fi
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
          # --max-seconds ends the cell between samples and still writes its JSON (finished
          # suites keep their accuracy); timeout, 90 s later, only stops a sample that hangs.
          timeout $((left + 90)) "$bin/mnemo" eval "$work/gguf/$m.gguf" --backend cuda --chunk "${MNEMO_EVAL_CHUNK:-4096}" --lengths "$L" --haystack "$repo/models/eval/haystack.txt" \
            --max-seconds "$left" --json "$@" >"$work/eval/$m.$L.json" 2>>"$work/eval/$m.log" || echo "$m $L: exit $?" >>"$work/eval/$m.log"
        done
      ) &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for m in "${models[@]}"; do
      [[ -f $work/eval/$m.log ]] && { echo "== $m"; grep -v "^\[" "$work/eval/$m.log" | tail -n 6; }
    done
    tar -czf "$out/family_results.tar.gz" -C "$work" family.log eval results $(cd "$work" && ls -d results1 pack2.log 2>/dev/null) runs/lalte/export/training.json 2>/dev/null
    # the default model's weights come back (bf16, lossless parts <= 16 MB)
    python3 "$here/transport.py" pack "$work/runs/lalte/export/model.safetensors" "$out/lalte" >/dev/null
    ls -la "$out"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
