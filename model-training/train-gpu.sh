#!/usr/bin/env bash
# One training segment on a lent GPU machine (the device tool; PyTorch 2.x with CUDA there), resuming
# model-training/checkpoint/latest.pt. Same recipe as the CPU runs (batch 32, the same learning-rate schedule);
# crops come from worker processes. The photos travel in two ignored folders, data/train-a and
# data/train-b (the tool's 64 MiB limit per call), and are joined here.
#   usage: model-training/train-gpu.sh MINUTES SAMPLES   (writes the checkpoint, split in 15 MB parts, to $OUT)
set -uo pipefail
minutes=${1:?minutes}; samples=${2:?samples}
mkdir -p /tmp/train
cp data/train-a/* data/train-b/* /tmp/train/ 2>/dev/null || cp data/train-a/* /tmp/train/
echo "photos: $(ls /tmp/train | wc -l)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
ck=/tmp/latest.pt
[ -f model-training/checkpoint/latest.pt ] && cp model-training/checkpoint/latest.pt $ck
export PYTHONUNBUFFERED=1
# timeout sends SIGTERM well inside the call's limit: train.py saves and exits on it.
timeout -s TERM $(( ${minutes%.*} * 60 + 90 )) python3 model-training/train.py --data /tmp/train --checkpoint $ck \
  --samples "$samples" --batch "${BATCH:-32}" --save-minutes 2 --workers 14 --threads 2 --log-every 500 --max-minutes "$minutes" \
  2>&1 | tee "$OUT/train-gpu.log"
if [ -f $ck ]; then
  sha256sum $ck | tee "$OUT/latest.pt.sha256"
  split -b 15000000 -d $ck "$OUT/latest.pt.part"
fi
ls -la "$OUT"
