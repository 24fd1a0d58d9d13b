#!/usr/bin/env bash
# The next model (issue 12) on a lent GPU machine (the device tool; PyTorch 2.x with CUDA there):
# unet.py CONFIGS["v2"], grown from the v1 checkpoint model-training/checkpoint/latest.pt (tracked, so it
# travels with every call), trained on 128x128 crops, then 256x256. docs/MODEL.md "Next model (issue
# 12)" gives the whole sequence of calls and the commands that follow on the CPU.
#
# The photos travel in parts made by model-training/pack_data.py (data/pack/partK, ignored), one part
# carried per call with data/pack/index.tsv; each call copies the parts it finds to /tmp/parts on
# the machine, where they stay while it is held (it goes back ~30 s after a call ends).
#
#   model-training/train-gpu-v2.sh stage                  only copy the carried part(s)
#   model-training/train-gpu-v2.sh smoke ARM [SECONDS]     copy, then a short run on part1's photos:
#        fp32   v2 from v1, 128x128 crops, batch 64, fp32 (TF32 convolutions), SECONDS (default 30) of training
#        bf16   the same with --bf16 --channels-last (same seed, init and crops: compare the val lines)
#        256    resumes the bf16 run's checkpoint into the 256x256 stage (batch 16), SECONDS (default 20)
#        all    the three in turn
#   model-training/train-gpu-v2.sh train MINUTES SAMPLES   copy, check that every photo of index.tsv is
#        there (ALLOW_PARTIAL=1 trains on what is), then the long run; the checkpoint comes back in
#        15.5 MB parts in $OUT (join: cat v2.pt.part* > model-training/runs/v2.pt; check v2.pt.sha256)
#
# Each run prints samples/s every 50 steps (train.py) and, after it, the GPU's utilisation and
# memory from nvidia-smi sampled every 0.5 s during the run. Environment:
#   STAGES       train: default 128x64@0,256x16@(9/10 of SAMPLES): the last tenth of the samples at
#                256x256, about 30% of the time (a 256x256 sample costs about four 128x128 ones)
#   LR_SAMPLES   train: the cosine decay's length, default SAMPLES
#   FLAGS        train: default "--bf16 --channels-last"; FLAGS= for fp32 (the smoke's two arms decide)
#   WORKERS      crop processes, default 14 (the machine has 16 cores)
#   RESUME=1     train: resume /tmp/v2.pt, left by an earlier train call on this still-held machine,
#                instead of starting from v1 (a v2 checkpoint is too large to carry with the tree)
#   SMOKE_CROP, SMOKE_CROP2   the smoke's stages, default 128x64 and 256x16 (small ones test this
#                script on a CPU, with PYTHON=/usr/bin/python3 WORKERS=1)
set -uo pipefail
mode=${1:?usage: train-gpu-v2.sh stage|smoke ARM [SECONDS]|train MINUTES SAMPLES}
OUT=${OUT:-/tmp/gpu-out}
WORKERS=${WORKERS:-14}
PY=${PYTHON:-python3}   # the device's python3 holds PyTorch; PYTHON=/usr/bin/python3 tests this script here
mkdir -p "$OUT" /tmp/parts
export PYTHONUNBUFFERED=1

for d in data/pack/part*/; do
  [ -d "$d" ] || continue
  p=$(basename "$d"); mkdir -p "/tmp/parts/$p"; cp -n "$d"* "/tmp/parts/$p/"
done
[ -f data/pack/index.tsv ] && cp data/pack/index.tsv /tmp/parts/index.tsv
echo "parts on this machine: $(cd /tmp/parts && ls -d part* 2>/dev/null | tr '\n' ' ')($(cat /tmp/parts/part*/* 2>/dev/null | wc -c) bytes)"
[ "$mode" = stage ] && exit 0

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi here"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'

gpu_start() { nvidia-smi --query-gpu=utilization.gpu,memory.used,power.draw --format=csv,noheader,nounits -lms 500 > "$1" 2>/dev/null & GPU_PID=$!; }
gpu_stop() {
  kill "$GPU_PID" 2>/dev/null; wait "$GPU_PID" 2>/dev/null
  awk -F', *' '{n++; s+=$1; if ($1 > m) m = $1; if ($2 > mem) mem = $2; if ($1 > 0) {b++; bs+=$1}}
    END {if (n) printf "GPU utilisation (nvidia-smi, every 0.5 s): mean %.0f%% over the whole run (%d samples), %.0f%% while busy, max %d%%; memory up to %d MiB\n", s/n, n, (b ? bs/b : 0), m, mem}' "$1"
}

# train.py with what every run here shares
TRAIN=("$PY" model-training/train.py --config v2 --init-from model-training/checkpoint/latest.pt
       --workers "$WORKERS" --threads 2 --log-every 50)
C1=${SMOKE_CROP:-128x64}   # crop size x batch of the smoke's first stage (smaller ones test this script on a CPU)
C2=${SMOKE_CROP2:-256x16}

smoke_arm() {  # ARM SECONDS
  local arm=$1 secs=$2 mins
  mins=$("$PY" -c "print($secs / 60)")
  local common=(--data /tmp/parts/part1 --max-minutes "$mins" --samples 100000000 --lr-samples 300000
                --val-every 100 --val-n 128 --save-minutes 100 --seed 0)
  gpu_start "$OUT/gpu-$arm.csv"
  case $arm in
    fp32) rm -f /tmp/smoke-fp32.pt
          timeout -s TERM $((secs + 150)) "${TRAIN[@]}" "${common[@]}" --checkpoint /tmp/smoke-fp32.pt --stages "$C1@0" ;;
    bf16) rm -f /tmp/smoke-bf16.pt
          timeout -s TERM $((secs + 150)) "${TRAIN[@]}" "${common[@]}" --checkpoint /tmp/smoke-bf16.pt --stages "$C1@0" \
            --bf16 --channels-last ;;
    256)  if [ ! -f /tmp/smoke-bf16.pt ]; then echo "no /tmp/smoke-bf16.pt: run the bf16 arm first on this machine"
          else timeout -s TERM $((secs + 150)) "${TRAIN[@]}" "${common[@]}" --checkpoint /tmp/smoke-bf16.pt \
            --stages "$C1@0,$C2@1" --bf16 --channels-last; fi ;;
    *) echo "unknown arm $arm" ;;
  esac 2>&1 | tee "$OUT/smoke-$arm.log"
  gpu_stop "$OUT/gpu-$arm.csv" | tee -a "$OUT/smoke-$arm.log"
}

case $mode in
  smoke)
    arm=${2:?arm: fp32, bf16, 256 or all}
    if [ "$arm" = all ]; then
      smoke_arm fp32 "${3:-30}"; smoke_arm bf16 "${3:-30}"; smoke_arm 256 "${3:-20}"
    else
      smoke_arm "$arm" "${3:-$([ "$arm" = 256 ] && echo 20 || echo 30)}"
    fi
    rm -f "$OUT"/gpu-*.csv  # summarised in the logs; $OUT brings back at most 8 files
    ;;
  train)
    minutes=${2:?minutes}; samples=${3:?samples}
    rm -rf /tmp/train; mkdir -p /tmp/train
    for d in /tmp/parts/part*/; do ln -sf "$d"* /tmp/train/; done
    if ! "$PY" model-training/pack_data.py --check /tmp/train --index /tmp/parts/index.tsv; then
      [ "${ALLOW_PARTIAL:-0}" = 1 ] || { echo "not every photo is here: carry the missing parts first (or ALLOW_PARTIAL=1)"; exit 3; }
    fi
    ck=/tmp/v2.pt
    [ "${RESUME:-0}" = 1 ] || rm -f "$ck"
    stages=${STAGES:-128x64@0,256x16@$((samples * 9 / 10))}
    flags=${FLAGS-"--bf16 --channels-last"}
    echo "long run: $minutes min, $samples samples, stages $stages, flags '$flags', $WORKERS crop workers"
    gpu_start "$OUT/gpu-train.csv"
    # timeout sends SIGTERM well inside the call's limit: train.py saves and exits on it.
    # shellcheck disable=SC2086  # $flags: several words
    timeout -s TERM $(( ${minutes%.*} * 60 + 90 )) "${TRAIN[@]}" --data /tmp/train --checkpoint "$ck" \
      --samples "$samples" --stages "$stages" --lr-samples "${LR_SAMPLES:-$samples}" --save-minutes 2 \
      --val-every 500 --max-minutes "$minutes" $flags 2>&1 | tee "$OUT/train-gpu-v2.log"
    gpu_stop "$OUT/gpu-train.csv" | tee -a "$OUT/train-gpu-v2.log"
    rm -f "$OUT/gpu-train.csv"
    if [ -f "$ck" ]; then
      (cd /tmp && sha256sum v2.pt) | tee "$OUT/v2.pt.sha256"
      split -b 15500000 -d "$ck" "$OUT/v2.pt.part"
    fi
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
ls -la "$OUT"
