#!/usr/bin/env bash
# Run the TUF conformance suite (theupdateframework/tuf-conformance) against `tufwatch client`.
#
#   scripts/conformance.sh SUITE_DIR [pytest arguments...]
#
# SUITE_DIR is a checkout of the suite (it stays outside this repository). Needs Python >= 3.11
# and Debian's faketime; the suite's Python dependencies are installed into a virtual
# environment (target/conformance-venv) on first use. docs/conformance.md has the steps.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -d "$1/tuf_conformance" ]; then
    echo "usage: $0 SUITE_DIR [pytest arguments...]  (a checkout of tuf-conformance)" >&2
    exit 2
fi
suite=$(cd "$1" && pwd)
shift
project=$(cd "$(dirname "$0")/.." && pwd)
command -v faketime >/dev/null || { echo "$0: needs faketime (apt-get install faketime)" >&2; exit 2; }
(cd "$project" && cargo build --release --quiet)
venv=${TUFWATCH_CONFORMANCE_VENV:-$project/target/conformance-venv}
if [ ! -x "$venv/bin/pytest" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet -e "$suite"
fi
# The suite splits the entry point on spaces: the binary's path must have none.
entrypoint="$project/target/release/tufwatch client"
cd "$suite"
exec "$venv/bin/pytest" tuf_conformance --entrypoint "$entrypoint" "$@"
