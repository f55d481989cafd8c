#!/usr/bin/env python3
"""Measure `tufwatch nodes` and `tufwatch report` on a large kubectl inventory, and count the SSM
calls the questions need.

1. Makes a kubectl node list of N nodes (examples/make-inventory.rs; about 3.7 KB a node, with the
   fields `kubectl get nodes -o json` prints) and runs, several times each, in the same run:
   - `tufwatch nodes --inventory FILE` (JSON out) against the demo repository laid out as
     Bottlerocket's, and `tufwatch report` (human out) with the demo's SSM file;
   - `tufwatch report` keeping its history in a state directory: each run reads the last run's
     record (every node's name, status and version) and writes its own;
   - `tufwatch nodes --kubeconfig K`: the same nodes through the Kubernetes API, 500 a page, from
     the tests' loopback API server (examples/kube-api.rs, another process);
   - peers that only read the same file: `jq '.items | length'` and Python's `json.load`.
   It prints the median wall time, the CPU time (user + system) and the peak memory of each, and
   each one's ratio to tufwatch's `nodes`.
2. With the test environment's moto (target/test-venv, made by scripts/test.sh), counts the SSM
   calls of the demo job and of `ssm` for 20 variants x 2 architectures x 3 regions.

    python3 scripts/measure_fleet.py                 # 100,000 nodes, 5 runs each
    python3 scripts/measure_fleet.py --nodes 20000 --runs 3
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AT = "2026-11-28T00:00:00Z"


def measure(cmd, runs, ok_codes=(0, 1)):
    """Median wall seconds, median CPU seconds, peak RSS (KiB) over `runs` runs of `cmd`."""
    walls, cpus, rss = [], [], []
    for _ in range(runs):
        helper = [sys.executable, "-c", (
            "import resource,subprocess,sys,time;"
            "t=time.perf_counter();"
            "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
            "w=time.perf_counter()-t;"
            "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(p.returncode, w, u.ru_utime+u.ru_stime, u.ru_maxrss);"
            "sys.stderr.write(p.stderr.decode()[-2000:])"
        )] + cmd
        out = subprocess.run(helper, capture_output=True, text=True)
        code, w, c, r = out.stdout.split()
        if int(code) not in ok_codes:
            sys.exit(f"{' '.join(cmd)} exited {code}: {out.stderr}")
        walls.append(float(w))
        cpus.append(float(c))
        rss.append(int(r))
    return statistics.median(walls), statistics.median(cpus), max(rss)


def mirror(base):
    """The demo repository in Bottlerocket's layout below `base` (as the tests make it)."""
    demo = os.path.join(ROOT, "fixtures", "demo-repo")
    for variant in ["aws-k8s-1.31", "aws-ecs-2", "aws-k8s-1.31-nvidia"]:
        for arch in ["x86_64", "aarch64"]:
            shutil.copytree(os.path.join(demo, "metadata"), os.path.join(base, "2020-07-07", variant, arch))
    shutil.copytree(os.path.join(demo, "targets"), os.path.join(base, "targets"))


def ssm_calls(binary, tmp):
    python = os.path.join(ROOT, "target", "test-venv", "bin", "python")
    if not os.path.exists(python):
        print("\n(no target/test-venv: run scripts/test.sh once to count SSM calls against moto)")
        return
    seed = os.path.join(ROOT, "fixtures", "demo-fleet", "ssm-parameters.json")
    faults = os.path.join(tmp, "faults.json")
    with open(faults, "w") as f:
        f.write("{}")
    server = subprocess.Popen([python, os.path.join(ROOT, "tests", "support", "moto_ssm.py"), seed, faults],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = server.stdout.readline().split()[1]
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_EC2_METADATA_DISABLED="true", HOME=tmp)
    for k in ["AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM"]:
        env.pop(k, None)

    def calls(args):
        out = subprocess.run([binary] + args + ["--format", "json"], capture_output=True, text=True, env=env, cwd=ROOT)
        return json.loads(out.stdout)["ssm"]["observations"]["calls"]

    print("\nSSM calls (local moto endpoint):")
    demo = os.path.join(tmp, "demo-live.toml")
    with open(os.path.join(ROOT, "fixtures", "demo.toml")) as f:
        text = f.read()
    text = text.replace('"demo-', '"' + os.path.join(ROOT, "fixtures", "demo-"))
    text = text.replace('files = ["' + os.path.join(ROOT, "fixtures", "demo-fleet", "ssm-parameters.json") + '"]',
                        f'endpoint_url = "{url}"')
    with open(demo, "w") as f:
        f.write(text)
    c = calls(["report", "--config", demo, "--at", AT])
    print(f"  demo job (2 regions; 4 variants in the inventories; AMI map in 1 region): {c}")
    variants = [f"aws-k8s-1.{n}" for n in range(24, 34)] + [f"aws-k8s-1.{n}-nvidia" for n in range(24, 32)] \
        + ["aws-ecs-2", "aws-ecs-2-nvidia"]
    args = ["ssm", "--no-cross-check", "--endpoint-url", url]
    for v in variants:
        args += ["--variant", v]
    for r in ["us-west-2", "eu-west-1", "ap-southeast-2"]:
        args += ["--region", r]
    c = calls(args)
    print(f"  ssm, {len(variants)} variants x 2 architectures x 3 regions ({len(variants) * 2 * 2 * 3} names): {c}")
    server.stdin.close()
    server.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tufwatch", "--example", "make-inventory",
                    "--example", "kube-api"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "tufwatch")
    maker = os.path.join(ROOT, "target", "release", "examples", "make-inventory")
    with tempfile.TemporaryDirectory() as tmp:
        inventory = os.path.join(tmp, "nodes.json")
        subprocess.run([maker, inventory, str(args.nodes)], check=True)
        size = os.path.getsize(inventory)
        base = os.path.join(tmp, "mirror")
        mirror(base)
        config = os.path.join(tmp, "job.toml")
        demo = os.path.join(ROOT, "fixtures", "demo-repo")
        with open(config, "w") as f:
            f.write(f'[trust]\nroot = "{demo}/root.json"\nno_state = true\n'
                    f'[[repository]]\nname = "demo"\nmetadata_url = "{demo}/metadata"\ntargets_url = "{demo}/targets"\n'
                    f'[ssm]\nfiles = ["{ROOT}/fixtures/demo-fleet/ssm-parameters.json"]\n'
                    f'[[inventory]]\npath = "{inventory}"\n')
        # The nightly job keeping its history: each run reads the last run's record of every node
        # and writes its own (a first run, before the measured ones, makes the first record).
        kept = os.path.join(tmp, "kept.toml")
        with open(config) as f, open(kept, "w") as g:
            g.write(f.read().replace("no_state = true", f'state_dir = "{tmp}/state"'))
        subprocess.run([binary, "report", "--config", kept, "--no-progress"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        kubeconfig = os.path.join(tmp, "kubeconfig")
        api = subprocess.Popen([os.path.join(ROOT, "target", "release", "examples", "kube-api"), inventory, kubeconfig],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        api.stdout.readline()
        common = ["--no-state", "--at", AT, "--root", f"{demo}/root.json", "--repo-base", base, "--format", "json"]
        rows = [
            ("tufwatch nodes (json)", [binary, "nodes", "--inventory", inventory] + common),
            ("tufwatch nodes --kubeconfig", [binary, "nodes", "--kubeconfig", kubeconfig] + common),
            ("tufwatch report (human)", [binary, "report", "--config", config, "--at", AT]),
            ("tufwatch report, history", [binary, "report", "--config", kept, "--no-progress"]),
            ("jq '.items | length'", ["jq", ".items | length", inventory]),
            ("python3 json.load", [sys.executable, "-c", "import json,sys; json.load(open(sys.argv[1]))", inventory]),
        ]
        print(f"{args.nodes} nodes, inventory {size / 1e6:.0f} MB; median of {args.runs} runs")
        print(f"{'command':<26} {'wall':>8} {'cpu':>8} {'peak RSS':>10} {'RSS/input':>9} {'wall ratio':>10}")
        base_wall = None
        for name, cmd in rows:
            if shutil.which(cmd[0]) is None and not os.path.exists(cmd[0]):
                print(f"{name:<26} (not installed)")
                continue
            wall, cpu, rss = measure(cmd, args.runs)
            base_wall = base_wall or wall
            print(f"{name:<26} {wall:>6.2f} s {cpu:>6.2f} s {rss / 1024:>7.0f}MiB {rss * 1024 / size:>9.2f} {wall / base_wall:>9.1f}x")
        api.stdin.close()
        api.wait()
        ssm_calls(binary, tmp)


if __name__ == "__main__":
    main()
