#!/usr/bin/env bash
# Runs every default test suite: formatting, lints, and all workspace tests.
# Heavy suites (benchmarks, fuzzing) have their own commands; see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -q -- -D warnings
cargo test --workspace --locked
