#!/usr/bin/env bash
# Installs what ember needs on a fresh Debian 12 machine (Rust, gcc and python3 are assumed):
# a C toolchain for the precompile crates and LLVM 22 for the compiler tier.
# Idempotent: only missing packages are installed.
set -euo pipefail

need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# LLVM 22 for the compiler tier (inkwell / llvm-sys 221); .cargo/config.toml points
# LLVM_SYS_221_PREFIX at /usr/lib/llvm-22. Static linking also needs zlib, zstd, xml2 and z3,
# which llvm-22-dev pulls in, plus Polly.
for pkg in llvm-22-dev libpolly-22-dev zlib1g-dev libzstd-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install Rust (https://rustup.rs) first" >&2
    exit 1
fi
