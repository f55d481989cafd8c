#!/usr/bin/env bash
# What evidence costs: `evidence create` against the verification it records, and `evidence
# verify`, on the shipped demo (offline), side by side in one hyperfine run. Needs hyperfine
# (Debian: apt-get install hyperfine). Prints hyperfine's table; docs/evidence.md has a run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
t=target/release/tufwatch
at=2026-11-29T00:00:00Z
repo="--root fixtures/demo-repo/root.json --metadata-url fixtures/demo-repo/metadata --targets-url fixtures/demo-repo/targets --at $at"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$t evidence create --out "$work/repo" $repo >/dev/null
$t evidence create --out "$work/job" --config fixtures/demo.toml --at $at >/dev/null || true
# The demo job has findings on purpose (exit 1): -i keeps hyperfine going.
hyperfine -N -i --warmup 3 --runs "${RUNS:-30}" --prepare "rm -rf $work/new" \
  --export-markdown "${OUT:-/dev/stdout}" \
  "$t verify --no-state $repo" \
  "$t evidence create --out $work/new $repo" \
  "$t evidence verify $work/repo" \
  "$t report --config fixtures/demo.toml --at $at" \
  "$t evidence create --out $work/new --config fixtures/demo.toml --at $at" \
  "$t evidence verify $work/job"
