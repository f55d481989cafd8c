#!/usr/bin/env bash
# tufwatch side by side with its peers (tuftool, python-tuf, plain tough) and the limits of the
# machine, on Bottlerocket-shaped repositories served over loopback HTTP. Not run in CI.
#
#   benches/run.sh [--runs N] [--scenarios "S1 S2 S3 S4 S5"]
#
# S1  metadata of a repository with 1,000 targets
# S2  metadata of a repository with 100,000 targets (targets.json about 22 MB)
# S3  download and verify 8 targets of 128 MiB
# S4  S1 with 50 ms added to each response
# S5  report of 40 Bottlerocket repositories (variants x architectures, 100 targets each, one
#     shared manifest.json) with 50 ms added to each response, against the report of one
#
# Needs cargo, python3, curl, openssl and /usr/bin/time (Debian: apt-get install time curl
# openssl). The peers are installed on first use into $TUFWATCH_BENCH_TOOLS (default
# ~/.cache/tufwatch-bench), outside the repository: tuftool 0.17.0 (cargo install, about 14
# minutes on 2 cores), python-tuf 7.0.1 in a virtual environment, and plain tough
# (benches/peers/plain-tough). Repositories go to target/bench/ and are made once.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
scenarios="S1 S2 S3 S4 S5"
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --scenarios) scenarios=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
for tool in python3 curl openssl /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 2; }
done

tools=${TUFWATCH_BENCH_TOOLS:-$HOME/.cache/tufwatch-bench}
bench=$PWD/target/bench
mkdir -p "$tools" "$bench"

echo "== building tufwatch, the generator and plain tough" >&2
cargo build --release --bin tufwatch --example bench-repo >&2
cargo build --release --manifest-path benches/peers/plain-tough/Cargo.toml \
    --target-dir target/bench-peers >&2
tufwatch=$PWD/target/release/tufwatch
plain_tough=$PWD/target/bench-peers/release/plain-tough

if [ ! -x "$tools/bin/tuftool" ]; then
    echo "== installing tuftool 0.17.0 into $tools (about 14 minutes)" >&2
    cargo install tuftool --version 0.17.0 --locked --root "$tools" >&2
fi
tuftool=$tools/bin/tuftool
if [ ! -x "$tools/python-tuf/bin/python" ]; then
    echo "== installing python-tuf 7.0.1 into $tools/python-tuf" >&2
    python3 -m venv "$tools/python-tuf"
    "$tools/python-tuf/bin/pip" install --quiet "tuf==7.0.1" "securesystemslib[crypto]" >&2
fi
python_tuf=("$tools/python-tuf/bin/python" "$PWD/benches/peers/python_tuf_client.py")

repo() { # NAME TARGETS SIZE
    [ -d "$bench/$1" ] || ./target/release/examples/bench-repo "$bench/$1" --targets "$2" --size "$3"
}
repo s1 1000 64
repo s2 100000 64
repo s3 8 134217728
[ -d "$bench/s5" ] || ./target/release/examples/bench-repo "$bench/s5" --targets 100 --mirror 40

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
serve() { # DIR LATENCY_MS -> prints the port
    local portfile
    portfile=$(mktemp)
    python3 benches/serve.py "$1" --latency-ms "$2" --port-file "$portfile" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
    cat "$portfile"
    rm -f "$portfile"
}
p1=$(serve "$bench/s1" 0)
p2=$(serve "$bench/s2" 0)
p3=$(serve "$bench/s3" 0)
p4=$(serve "$bench/s1" 50)
p5=$(serve "$bench/s5" 50)

work=$(mktemp -d)
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
s3_targets=$(cd "$bench/s3/targets" && ls | sed 's/^[0-9a-f]*\.//' | grep -v manifest.json | sort)

python3 - "$work/plan.json" <<EOF
import json, sys
work = "$work"
tufwatch, tuftool, plain = "$tufwatch", "$tuftool", "$plain_tough"
python_tuf = "${python_tuf[*]}".split()
targets3 = """$s3_targets""".split()
scenarios = []

def urls(port):
    base = "http://127.0.0.1:%s" % port
    return base + "/metadata/", base + "/targets/"

def metadata(name, repo, port, note=None):
    m, t = urls(port)
    root = "$bench/%s/root.json" % repo
    tw = [tufwatch, "verify", "--no-state", "--root", root, "--metadata-url", m, "--targets-url", t]
    out = work + "/out"
    cmds = [
        {"tool": "tufwatch", "label": "verify (both engines)", "argv": tw, "reference": True},
        {"tool": "tufwatch", "label": "verify --engine tough", "argv": tw + ["--engine", "tough"]},
        {"tool": "tufwatch", "label": "verify --engine strict", "argv": tw + ["--engine", "strict"]},
        {"tool": "tuftool 0.17", "label": "clone --metadata-only",
         "setup": ["rm", "-rf", out],
         "argv": [tuftool, "clone", "--root", root, "--metadata-url", m,
                  "--metadata-dir", out + "/metadata", "--metadata-only"]},
        {"tool": "tuftool 0.17", "label": "download -n manifest.json",
         "setup": ["rm", "-rf", out],
         "argv": [tuftool, "download", "--root", root, "--metadata-url", m, "--targets-url", t,
                  "-n", "manifest.json", out]},
        {"tool": "python-tuf 7.0.1", "label": "Updater.refresh()",
         "argv": python_tuf + [root, m, t, work + "/ptuf"]},
        {"tool": "plain tough 0.24", "label": "RepositoryLoader::load",
         "argv": [plain, root, m, t, out]},
        {"tool": "limit", "label": "curl of the same files, one connection",
         "argv": ["curl", "-sf", "-o", "/dev/null", m + "timestamp.json", "-o", "/dev/null",
                  m + "1.snapshot.json", "-o", "/dev/null", m + "1.targets.json", "-o",
                  "/dev/null", m + "1.root.json"]},
        {"tool": "limit", "label": "parse and hash the files (python3 json + hashlib)",
         "argv": ["python3", "-c",
                  "import json,hashlib,sys\n[ (json.loads(b), hashlib.sha256(b).digest()) for b in (open(f,'rb').read() for f in sys.argv[1:]) ]",
                  ] + ["$bench/%s/metadata/%s" % (repo, f) for f in
                       ("timestamp.json", "1.snapshot.json", "1.targets.json", "1.root.json")]},
    ]
    scenarios.append({"name": name, "note": note, "commands": cmds})

wanted = "$scenarios".split()
if "S1" in wanted:
    metadata("S1: metadata, 1,000 targets", "s1", "$p1")
if "S2" in wanted:
    metadata("S2: metadata, 100,000 targets (targets.json 22 MB)", "s2", "$p2")
if "S3" in wanted:
    m, t = urls("$p3")
    root = "$bench/s3/root.json"
    out = work + "/out"
    tw = [tufwatch, "verify", "--no-state", "--root", root, "--metadata-url", m, "--targets-url", t, "--all-targets"]
    scenarios.append({"name": "S3: download and verify 8 targets of 128 MiB",
        "note": "Writing 1 GiB to disk and syncing it is bound by the disk: tufwatch --out syncs each target before it takes its name.",
        "commands": [
        {"tool": "tufwatch", "label": "verify --all-targets (checked, not kept)", "argv": tw, "reference": True},
        {"tool": "tufwatch", "label": "verify --all-targets --out DIR (written, synced)",
         "setup": ["rm", "-rf", out], "argv": tw + ["--out", out]},
        {"tool": "tuftool 0.17", "label": "download (written)", "setup": ["rm", "-rf", out],
         "argv": [tuftool, "download", "--root", root, "--metadata-url", m, "--targets-url", t, out]},
        {"tool": "python-tuf 7.0.1", "label": "download_target each (written)",
         "argv": python_tuf + [root, m, t, work + "/ptuf"] + targets3},
        {"tool": "plain tough 0.24", "label": "save_target each (written)", "setup": ["rm", "-rf", out],
         "argv": [plain, root, m, t, out] + targets3},
        {"tool": "limit", "label": "openssl dgst -sha256 of the files, one core",
         "argv": ["sh", "-c", "openssl dgst -sha256 $bench/s3/targets/* > /dev/null"]},
        {"tool": "limit", "label": "curl of the targets to /dev/null",
         "argv": ["sh", "-c", "cd $bench/s3/targets && for f in *; do echo url = \"" + t + "\$f\"; echo output = /dev/null; done | curl -sf -K -"]},
    ]})
if "S4" in wanted:
    metadata("S4: S1 with 50 ms added to each response", "s1", "$p4")
if "S5" in wanted:
    def job(n):
        variants = sorted({"bench-%d" % (i // 2 + 1) for i in range(n)})
        archs = ["x86_64", "aarch64"] if n > 1 else ["x86_64"]
        path = "%s/report-%d.toml" % (work, n)
        with open(path, "w") as f:
            f.write('[trust]\nroot = "$bench/s5/root.json"\nno_state = true\n'
                    '[bottlerocket]\nrepo_base = "http://127.0.0.1:$p5/"\n'
                    'variants = %s\narchs = %s\n' % (json.dumps(variants), json.dumps(archs)))
        return [tufwatch, "report", "--config", path, "--format", "json"]
    scenarios.append({"name": "S5: report of 40 repositories, 50 ms added to each response",
        "note": "The same report (verify each repository, read its manifest.json) of one repository and of 40; 32 at a time by default.",
        "commands": [
        {"tool": "tufwatch", "label": "report, 1 repository", "argv": job(1), "reference": True},
        {"tool": "tufwatch", "label": "report, 40 repositories", "argv": job(40)},
        {"tool": "tufwatch", "label": "report, 40 repositories, 4 at a time",
         "argv": job(40) + ["--concurrency", "4"]},
    ]})
json.dump({"scenarios": scenarios}, open(sys.argv[1], "w"), indent=1)
EOF
mkdir -p "$work/out"
echo "== $(nproc) cores, $runs runs each, interleaved; $(date -u +%Y-%m-%dT%H:%MZ)" >&2
python3 benches/compare.py "$work/plan.json" --runs "$runs"
