#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script): formatting, lints,
# then every unit and integration test. Needs only the Rust toolchain: the tests serve their
# repositories from loopback HTTP servers and file:// URLs they start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test
