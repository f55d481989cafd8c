#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script): formatting, lints
# (clippy on every target, the benchmarks too; they run outside CI: benches/run.sh, cargo
# bench), then every unit and integration test. Needs the Rust toolchain and Python 3: the tests serve
# their repositories from loopback HTTP servers and file:// URLs, and SSM from a local moto
# endpoint, all started by the tests themselves; moto is installed here, once, into a virtual
# environment under target/. The HTML report is opened in headless Chromium: Debian's package is
# installed here when it is missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/test-venv
if ! "$venv/bin/python" -c "import moto.server, werkzeug, tuf.ngclient, cryptography" 2>/dev/null; then
    echo "installing the local SSM endpoint (moto) and python-tuf into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r tests/support/requirements.txt
fi
export TUFWATCH_TEST_PYTHON="$PWD/$venv/bin/python"

if ! command -v chromium >/dev/null; then
    echo "installing Debian's chromium for the HTML report's browser tests" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
export TUFWATCH_TEST_CHROMIUM="$(command -v chromium)"

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
