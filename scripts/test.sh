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
    echo "== state tests through libember.so (EVMC)"
    cargo build --release -p evmc-shim
    target/release/evm-statetest "${suites[@]}" --json --vm target/release/libember.so \
        > "$out/evmc.json" 2> "$out/evmc.log" || { tail -n 40 "$out/evmc.log"; exit 1; }
    tail -n 1 "$out/evmc.log"
    echo "== state tests (interpreter)"
    target/release/evm-statetest "${suites[@]}" --json > "$out/builtin.json"
    if ! cmp -s "$out/builtin.json" "$out/evmc.json"; then
        echo "libember.so gave different results from the built-in engine" >&2
        exit 1
    fi
    echo "libember.so: every case identical to the built-in engine (root, logs, gas)"
else
    echo "== state tests skipped: $shared/ethereum-tests not found (../shared must sit beside the repo)"
fi
