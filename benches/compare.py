"""Run benchmark commands side by side, interleaved, and print a markdown table of medians, peak
memory and ratios. Called by benches/run.sh, which prepares the repositories, servers and peers.

    python3 compare.py PLAN.json [--runs N]

PLAN.json: {"scenarios": [{"name": "S1 ...", "commands": [{"tool": "tufwatch", "label":
"...", "argv": [...], "setup": [...]?, "ok": [0]?}, ...], "reference": "tufwatch"}]}. Each round
runs every command of a scenario once, in a rotating order, under /usr/bin/time for the wall time
and the peak resident memory of the process tree's largest process. A command whose exit code is
not in "ok" is reported as failed with its stderr's last line, not timed.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile


def run_once(cmd):
    if cmd.get("setup"):
        subprocess.run(cmd["setup"], check=True, stdout=subprocess.DEVNULL)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        argv = ["/usr/bin/time", "-o", t.name, "-f", "%e %M"] + cmd["argv"]
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        fields = t.read().split()
    if p.returncode not in cmd.get("ok", [0]):
        last = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
        return None, None, "exit %d: %s" % (p.returncode, last[:160])
    return float(fields[-2]), int(fields[-1]), None


def seconds(s):
    return "%.3f s" % s if s < 10 else "%.1f s" % s


def main():
    plan = json.load(open(sys.argv[1]))
    runs = 5
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
    for sc in plan["scenarios"]:
        cmds = sc["commands"]
        times = {i: [] for i in range(len(cmds))}
        mem = {i: 0 for i in range(len(cmds))}
        failed = {}
        for r in range(runs):
            order = list(range(len(cmds)))
            order = order[r % len(order):] + order[: r % len(order)]
            for i in order:
                if i in failed:
                    continue
                wall, rss, err = run_once(cmds[i])
                if err:
                    failed[i] = err
                    continue
                times[i].append(wall)
                mem[i] = max(mem[i], rss)
        medians = {i: statistics.median(v) for i, v in times.items() if v and i not in failed}
        ref = [i for i, c in enumerate(cmds) if c.get("reference")]
        ref_t = medians.get(ref[0]) if ref else None
        print("### %s\n" % sc["name"])
        if sc.get("note"):
            print(sc["note"] + "\n")
        print("| tool | command | median (%d runs) | peak memory | vs. tufwatch |" % runs)
        print("|---|---|---:|---:|---:|")
        for i, c in enumerate(cmds):
            if i in failed:
                print("| %s | %s | failed: %s | | |" % (c["tool"], c["label"], failed[i]))
                continue
            ratio = ""
            if ref_t and i not in ref:
                ratio = "%.2fx" % (medians[i] / ref_t)
            print(
                "| %s | %s | %s | %s MiB | %s |"
                % (c["tool"], c["label"], seconds(medians[i]), mem[i] // 1024, ratio)
            )
        print()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
