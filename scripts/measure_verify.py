#!/usr/bin/env python3
"""Measure `tufwatch verify` on generated Bottlerocket-shaped repositories.

For each size (number of targets): make the repository (examples/make-repo.rs), serve it from a
loopback HTTP server, run the release binary several times (metadata only, then with manifest.json
downloaded), and print the median wall time and the peak memory (max RSS) of the runs, beside the
size of targets.json. Then the same repository from local directories, by tufwatch and by tough
alone (examples/plain-tough.rs, tough's own file transport), measured in the same run.

    python3 scripts/measure_verify.py            # 1,000 and 100,000 targets, 5 runs each
    python3 scripts/measure_verify.py --sizes 1000 --runs 9
"""

import argparse
import functools
import http.server
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def serve(directory):
    handler = functools.partial(QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


def measure(cmd, runs):
    walls, rss = [], []
    for _ in range(runs):
        helper = [sys.executable, "-c", (
            "import resource,subprocess,sys,time;"
            "t=time.perf_counter();"
            "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
            "w=time.perf_counter()-t;"
            "sys.exit(p.stderr.decode()) if p.returncode else None;"
            "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )] + cmd
        out = subprocess.run(helper, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed: {out.stderr}")
        w, r = out.stdout.split()
        walls.append(float(w))
        rss.append(int(r))
    return statistics.median(walls), max(rss)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tufwatch", "--example", "make-repo", "--example", "plain-tough"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "tufwatch")
    maker = os.path.join(ROOT, "target", "release", "examples", "make-repo")
    plain = os.path.join(ROOT, "target", "release", "examples", "plain-tough")
    print(f"{'targets':>8}  {'targets.json':>12}  {'metadata only':>14}  {'+manifest.json':>14}  {'peak RSS':>9}"
          f"  {'files: tufwatch':>16}  {'tough alone':>22}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            repo = os.path.join(tmp, f"repo-{n}")
            subprocess.run([maker, repo, str(n)], check=True, stdout=subprocess.DEVNULL)
            size = os.path.getsize(os.path.join(repo, "metadata", "1.targets.json"))
            server = serve(repo)
            base = f"http://127.0.0.1:{server.server_address[1]}"
            cmd = [binary, "verify", "--no-state", "--no-progress", "--root", os.path.join(repo, "root.json"),
                   "--metadata-url", f"{base}/metadata/", "--targets-url", f"{base}/targets/"]
            meta_wall, meta_rss = measure(cmd, args.runs)
            man_wall, man_rss = measure(cmd + ["--target", "manifest.json"], args.runs)
            server.shutdown()
            meta_dir, targets_dir = os.path.join(repo, "metadata"), os.path.join(repo, "targets")
            local_wall, local_rss = measure([binary, "verify", "--no-state", "--no-progress", "--root",
                                             os.path.join(repo, "root.json"), "--metadata-url", meta_dir,
                                             "--targets-url", targets_dir], args.runs)
            tough_wall, tough_rss = measure([plain, os.path.join(repo, "root.json"), meta_dir, targets_dir], args.runs)
            print(f"{n:>8}  {size / 1e6:>10.1f}MB  {meta_wall:>12.3f} s  {man_wall:>12.3f} s  {max(meta_rss, man_rss) / 1024:>7.0f}MiB"
                  f"  {local_wall:>6.3f} s {local_rss / 1024:>5.0f}MiB  {tough_wall:>6.3f} s {tough_rss / 1024:>5.0f}MiB")
    print(f"(median of {args.runs} runs each; peak RSS is the largest of all runs of that size)")


if __name__ == "__main__":
    main()
