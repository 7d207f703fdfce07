#!/usr/bin/env bash
# Runs all of ember's tests: formatting and lint checks, the unit and integration tests of
# every crate (release mode: the state tests and deep recursion are heavy), and the full
# Ethereum state-test suite in ../shared through evm-statetest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test (release)"
cargo test --workspace --release

shared=../shared
if [ -d "$shared/ethereum-tests" ]; then
    suites=("$shared/ethereum-tests/GeneralStateTests" "$shared/eest-fixtures/state_tests")
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    cargo build --release -p ember-evmc
    # Each run must give exactly the interpreter's results: state root, logs hash and gas of
    # every case (the --json output), not just the same pass count.
    run_variant() {
        local name=$1; shift
        echo "== state tests: $name"
        target/release/evm-statetest "${suites[@]}" --json "$@" \
            > "$out/$name.json" 2> "$out/$name.log" || { tail -n 40 "$out/$name.log"; exit 1; }
        tail -n 1 "$out/$name.log"
    }
    run_variant evmc --vm target/release/libember.so
    run_variant jit --tier jit
    # The optimised level (IR passes, the "less" code generator) must be just as exact.
    run_variant jit-o1 --tier jit --jit-opt-level 1
    # Compiles after one call, speculating on that call's jumps, in short windows and a small
    # code cache: every phase (speculative, exited, re-profiled, recompiled, evicted) occurs.
    run_variant auto --tier auto --jit-hot-calls 1 --jit-hot-gas 0 --jit-window-ms 100 \
        --code-cache-bytes 4194304 --profile
    echo "== state tests: interpreter"
    target/release/evm-statetest "${suites[@]}" --json > "$out/interp.json"
    for name in evmc jit jit-o1 auto; do
        if ! cmp -s "$out/interp.json" "$out/$name.json"; then
            echo "state tests: $name gave different results from the interpreter" >&2
            exit 1
        fi
    done
    echo "state tests: libember.so, --tier jit (O0 and O1) and --tier auto identical to the interpreter in every case"
else
    echo "== state tests skipped: $shared/ethereum-tests not found (../shared must sit beside the repo)"
fi
