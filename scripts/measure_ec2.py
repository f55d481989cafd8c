#!/usr/bin/env python3
"""Measure `tufwatch nodes --ec2` on a fleet of N instances in 3 regions and 2 accounts, served
by the test environment's moto (target/test-venv, made by scripts/test.sh) and seeded through its
API (tests/support/moto_ssm.py): the calls made, the wall time and the peak memory.

The instances run the demo's Bottlerocket AMIs (SSM's parameters of the demo, copied into each
region), half of them on a release behind; the second account is read through a role assumed
with STS. moto pages DescribeInstances by reservation, so the instances are launched in
reservations of 100: 1,667 instances in a region are 17 reservations, one page.

    python3 scripts/measure_ec2.py                      # 10,000 instances, 3 runs
    python3 scripts/measure_ec2.py --instances 2000 --runs 1
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AT = "2026-11-28T00:00:00Z"
REGIONS = ["us-east-2", "eu-central-1", "ap-northeast-2"]
ACCOUNTS = ["123456789012", "222233334444"]
CURRENT, BEHIND = "ami-345f02a7fcee5924f", "ami-8b71b201f721db95f"


def seeds(tmp, instances):
    """The SSM seed (the demo's parameters in each region) and the EC2 seed."""
    with open(os.path.join(ROOT, "fixtures", "demo-fleet", "ssm-parameters.json")) as f:
        demo = [p for p in json.load(f)["Parameters"] if ":us-west-2:" in p["ARN"]]
    params = []
    for region in REGIONS:
        for p in demo:
            params.append(dict(p, ARN=p["ARN"].replace(":us-west-2:", f":{region}:")))
    ssm = os.path.join(tmp, "ssm.json")
    with open(ssm, "w") as f:
        json.dump({"Parameters": params}, f)
    amis = []
    for p in demo:
        parts = p["Name"].split("/")
        if parts[-1] != "image_id" or p["Value"] in [a["ami_id"] for a in amis]:
            continue
        version = next(q["Value"] for q in demo if q["Name"] == p["Name"].replace("image_id", "image_version"))
        arch = "aarch64" if parts[5] == "arm64" else "x86_64"
        amis.append({"ami_id": p["Value"], "name": f"bottlerocket-{parts[4]}-{arch}-v{version}",
                     "owner_id": "092701018921", "architecture": "arm64" if arch == "aarch64" else "x86_64"})
    per = instances // (len(REGIONS) * len(ACCOUNTS))
    launched = []
    for account in ACCOUNTS:
        for region in REGIONS:
            for image in (CURRENT, BEHIND):
                launched.append({"account": account, "region": region, "image": image, "count": per // 2,
                                 "name": "node", "per_reservation": 100})
    ec2 = os.path.join(tmp, "ec2.json")
    with open(ec2, "w") as f:
        json.dump({"amis": amis, "instances": launched}, f)
    faults = os.path.join(tmp, "faults.json")
    with open(faults, "w") as f:
        f.write("{}")
    return ssm, faults, ec2, per // 2 * 2 * len(REGIONS) * len(ACCOUNTS)


def mirror(base):
    """The demo repository in Bottlerocket's layout below `base` (as the tests make it)."""
    demo = os.path.join(ROOT, "fixtures", "demo-repo")
    for variant in ["aws-k8s-1.31", "aws-ecs-2"]:
        for arch in ["x86_64", "aarch64"]:
            shutil.copytree(os.path.join(demo, "metadata"), os.path.join(base, "2020-07-07", variant, arch))
    shutil.copytree(os.path.join(demo, "targets"), os.path.join(base, "targets"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "debug", "tufwatch"))
    args = ap.parse_args()
    python = os.path.join(ROOT, "target", "test-venv", "bin", "python")
    if not os.path.exists(python):
        sys.exit("no target/test-venv: run scripts/test.sh once")
    with tempfile.TemporaryDirectory() as tmp:
        ssm, faults, ec2, total = seeds(tmp, args.instances)
        started = time.perf_counter()
        server = subprocess.Popen([python, os.path.join(ROOT, "tests", "support", "moto_ssm.py"), ssm, faults, ec2],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = server.stdout.readline().split()[1]
        print(f"moto seeded with {total} instances in {time.perf_counter() - started:.0f} s")
        base = os.path.join(tmp, "mirror")
        mirror(base)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_EC2_METADATA_DISABLED="true", HOME=tmp)
        for k in ["AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM"]:
            env.pop(k, None)
        cmd = [args.binary, "nodes", "--ec2", "--format", "json", "--no-state", "--at", AT,
               "--root", os.path.join(ROOT, "fixtures", "demo-repo", "root.json"), "--repo-base", base,
               "--endpoint-url", f"http://127.0.0.1:{port}",
               # moto answers 1,667 instances in seconds, six regions at once on 2 cores: more
               # than the default 30 s an attempt may take (EC2 answers a page in about a second).
               "--timeout", "300"]
        for r in REGIONS:
            cmd += ["--region", r]
        for a in ACCOUNTS:
            cmd += ["--assume-role", f"arn:aws:iam::{a}:role/tufwatch-read"]
        for run in range(args.runs):
            out = os.path.join(tmp, "out.json")
            with open(out, "w") as f:
                t = time.perf_counter()
                p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S"] + cmd, stdout=f, stderr=subprocess.PIPE,
                                   text=True, env=env)
                wall = time.perf_counter() - t
            rss_kib, user, system = p.stderr.strip().splitlines()[-1].split()
            rss_kib, cpu = int(rss_kib), float(user) + float(system)
            r = json.load(open(out))
            nodes = len(r["fleet"]["nodes"])
            for region in r["ec2"]["regions"]:
                if region["error"]:
                    print(f"  {region['account']} {region['region']}: {region['error'][:300]}")
            print(f"run {run + 1}: exit {p.returncode}, {nodes} nodes judged, {wall:.2f} s wall, "
                  f"{cpu:.2f} s CPU in tufwatch, peak RSS {rss_kib / 1024:.0f} MiB; calls {r['ec2']['calls']}")
        server.stdin.close()
        server.wait()


if __name__ == "__main__":
    main()
