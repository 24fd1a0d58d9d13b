#!/usr/bin/env bash
# The main job on the bundled default model: scratch a development photo, then remove the
# scratches with VML-MAP. Writes demo/scratched.png, demo/mask.png and demo/restored.png.
set -euo pipefail
cd "$(dirname "$0")/.."
photo=data/dev/opencv-doc__usr__share__doc__opencv-doc__examples__data__fruits.jpg
[ -f "$photo" ] || /usr/bin/python3 model-training/fetch_data.py --list datasets/dev-files.tsv --out data/dev
mkdir -p demo
npm run -s build:cli
node out/cli/cli/main.js degrade --task inpaint --input "$photo" --output demo/scratched.png --mask scratches --mask-out demo/mask.png --seed 1
node out/cli/cli/main.js restore --task inpaint --input demo/scratched.png --mask demo/mask.png --output demo/restored.png --preset "${PRESET:-balanced}" "$@"
