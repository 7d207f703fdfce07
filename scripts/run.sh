#!/usr/bin/env bash
# ember's main job: install what is missing, build in release mode, and call every main
# benchmark (../shared/evm-benchmarks, main suite) the way a client does: a few calls in tier
# interp, then calls in one tier-auto runtime until its compiled code has taken over. Prints
# one table (interpreter time, time once hot, speed-up, when the contract got compiled,
# compile time, status and gas) and writes the profiler's SVG timeline of the auto run.
# Usage: bash scripts/run.sh [BENCHMARK_DIR [SVG_PATH]]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --release -p ember-cli --bin evm-tierup

bench_dir="${1:-../shared/evm-benchmarks/benchmarks/main}"
svg="${2:-target/tierup-timeline.svg}"
if [ ! -d "$bench_dir" ]; then
    echo "run: benchmark directory $bench_dir not found (expected ../shared beside the repo)" >&2
    exit 2
fi
exec target/release/evm-tierup "$bench_dir" --svg "$svg"
