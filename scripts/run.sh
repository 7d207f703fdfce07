#!/usr/bin/env bash
# ember's main job: install what is missing, build in release mode, and run the standard EVM
# benchmarks (../shared/evm-benchmarks, main suite) through `evm-run`, printing per case the
# status, gas used and median time of one execution.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --release -p ember-cli

bench_dir="${1:-../shared/evm-benchmarks/benchmarks/main}"
if [ ! -d "$bench_dir" ]; then
    echo "run: benchmark directory $bench_dir not found (expected ../shared beside the repo)" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Split every benchmark case (contract code + each labelled input) into files evm-run reads.
python3 - "$bench_dir" "$work" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
for f in sorted(os.listdir(src)):
    if not f.endswith(".json"):
        continue
    for name, t in json.load(open(os.path.join(src, f))).items():
        code = t["pre"][t["transaction"]["to"]]["code"]
        labels = t.get("_info", {}).get("labels", {})
        for i, data in enumerate(t["transaction"]["data"]):
            label = labels.get(str(i), str(i))
            base = os.path.join(out, f"{name}.{label}")
            open(base + ".code", "w").write(code)
            open(base + ".input", "w").write(data)
PY

printf '%-34s %-10s %14s %14s\n' "benchmark/input" "status" "gas used" "median"
for codefile in "$work"/*.code; do
    case_name=$(basename "$codefile" .code)
    input=$(cat "${codefile%.code}.input")
    json=$(target/release/evm-run --codefile "$codefile" --input "$input" --rev london \
        --gas 1000000000 --repeat 5 --json)
    python3 -c '
import json, sys
name, r = sys.argv[1], json.loads(sys.argv[2])
ns = r["medianNs"]
t = "%.3f ms" % (ns / 1e6) if ns >= 1e6 else "%.1f us" % (ns / 1e3)
print("%-34s %-10s %14d %14s" % (name, r["status"], r["gasUsed"], t))
' "$case_name" "$json"
done
