#!/usr/bin/env bash
# Fuzz every parser that reads outside data, each for a set time (not in CI).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 600 seconds each, every target
#
# Needs a nightly toolchain and cargo-fuzz (installed on first use with `cargo install
# cargo-fuzz`). The seed corpora in fuzz/corpus/ (from fixtures/ and Bottlerocket's real roots
# and manifests) stay as they are: what the fuzzer learns goes to target/fuzz-corpus/, crashes to
# fuzz/artifacts/. Prints, per target, the executions, the time and whether anything crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(tuf_metadata manifest inventory ssm_file config evidence)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
results=()
for t in "${targets[@]}"; do
    learned="target/fuzz-corpus/$t"
    mkdir -p "$learned"
    log="target/fuzz-$t.log"
    status=0
    (cd fuzz && cargo +nightly fuzz run "$t" "../$learned" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) \
        >"$log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    verdict="no crash, no hang, no panic"
    if [ "$status" -ne 0 ]; then
        verdict="FAILED (exit $status): see $log and fuzz/artifacts/$t/"
    fi
    results+=("| $t | ${runs:-?} | ${seconds} s | $verdict |")
done
echo "| target | executions | time | result |"
echo "|---|---:|---:|---|"
printf '%s\n' "${results[@]}"
