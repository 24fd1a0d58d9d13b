#!/usr/bin/env bash
# Proves the repository needs nothing outside itself: clones the committed tree into an empty
# temporary folder (no sibling folders, no data, no built files beside it), installs from
# package-lock.json, and runs there the demo on the bundled model and the quick benchmark.
#   bash scripts/check-self-contained.sh
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git clone -q --no-local "$src" "$tmp/vmlmap"
cd "$tmp/vmlmap"
echo "self-contained check in $PWD (alone in $tmp: $(ls "$tmp" | tr '\n' ' '))"
npm ci --no-audit --no-fund --prefer-offline --loglevel=error
npm run -s demo
test -s demo/restored.png
npm run -s test-models
npm run -s bench -- --quick --model tests/.models/tiny --out "$tmp/BENCHMARKS.md" --work "$tmp/bench-work"
grep -q '^# ' "$tmp/BENCHMARKS.md"
echo "self-contained check passed: demo and quick benchmark ran from a clean clone in $tmp"
