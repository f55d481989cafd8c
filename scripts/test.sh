#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script): formatting, lints
# (clippy on every target, the benchmarks too; they run outside CI: benches/run.sh, cargo
# bench), then every unit and integration test. Needs the Rust toolchain and Python 3: the tests serve
# their repositories from loopback HTTP servers and file:// URLs, and SSM from a local moto
# endpoint, all started by the tests themselves; moto is installed here, once, into a virtual
# environment under target/. The HTML report is opened in headless Chromium, and the nightly
# job's metrics are pushed to a Prometheus Pushgateway: Debian's packages are installed here when
# they are missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/test-venv
if ! "$venv/bin/python" -c "import moto.server, werkzeug, tuf.ngclient, cryptography, in_toto_attestation" 2>/dev/null; then
    echo "installing the local SSM endpoint (moto) and python-tuf into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r tests/support/requirements.txt
fi
export TUFWATCH_TEST_PYTHON="$PWD/$venv/bin/python"

missing=""
command -v chromium >/dev/null || missing="$missing chromium"
command -v prometheus-pushgateway >/dev/null || missing="$missing prometheus-pushgateway"
if [ -n "$missing" ]; then
    echo "installing Debian's$missing for the browser and Pushgateway tests" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
export TUFWATCH_TEST_CHROMIUM="$(command -v chromium)"
export TUFWATCH_TEST_PUSHGATEWAY="$(command -v prometheus-pushgateway)"

cargo fmt --check
# The lints and the build in one pass: clippy-driver compiles tufwatch's own targets (what
# `cargo clippy --all-targets -- -D warnings` checks, benchmarks included) while the
# dependencies are compiled once, for the tests; `cargo clippy` would check every dependency a
# second time (the AWS SDK's EC2 crate alone takes minutes). Both commands share the settings,
# so the second builds nothing again.
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)" || {
    echo "clippy-driver is missing: rustup component add clippy" >&2
    exit 2
}
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo test --all-targets --no-run
cargo test
