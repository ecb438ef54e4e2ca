#!/usr/bin/python3
"""Throughput of emoclass for sizing a cluster (docs/scale.md), on real clips from ../shared/data.

    bench/scale.py [--emoclass build/classify/emoclass] [--clips 160] [--rounds 3]

Measures, with one emoclass process per worker (-j 1 --threads 1, as on a cluster):
  1. 1 shard vs 2 shards of one list on this machine's cores: wall time, throughput ratio;
  2. audio seconds per core second (wall x workers) and per CPU second (user + sys of the
     processes) on 16 kHz RAVDESS FLAC originals and on 48 kHz copies of the same clips (sox; the
     corpora hold no 48 kHz originals), with 1 and 2 workers;
  3. a long recording (the clips joined with 1.5 s of silence between them), reporting the share
     of windows skipped as silence.
Each figure is the median over --rounds rounds; the rounds interleave the variants so that other
load on the machine touches them alike. Prints a Markdown table and writes --json.
"""
import argparse
import csv
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_workers(emoclass, model, list_path, workers, out_dir, tag):
    """`workers` processes, shard k/workers each; returns wall s, CPU s, results."""
    procs = []
    outs = []
    start = time.perf_counter()
    for k in range(1, workers + 1):
        out = out_dir / f"{tag}-{k}-of-{workers}.jsonl"
        if out.exists():
            out.unlink()
        outs.append(out)
        cmd = [emoclass, "--model", model, "-q", "-j", "1", "--threads", "1", "--files-from", str(list_path),
               "--output", str(out)]
        if workers > 1:
            cmd += ["--shard", f"{k}/{workers}"]
        procs.append(subprocess.Popen(cmd, env=dict(os.environ, OMP_NUM_THREADS="1")))
    cpu = 0.0
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        if p.returncode != 0:
            sys.exit(f"bench/scale.py: emoclass exited {p.returncode} ({tag})")
    wall = time.perf_counter() - start
    results = [json.loads(line) for out in outs for line in open(out)]
    return wall, cpu, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emoclass", default=str(ROOT / "build/classify/emoclass"))
    ap.add_argument("--model", default=str(ROOT / "models/default"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data"))
    ap.add_argument("--clips", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default="scale_bench.json")
    args = ap.parse_args()
    data = pathlib.Path(args.data)
    load_before = os.getloadavg()
    rows = [r for r in csv.DictReader(open(data / "MANIFEST.csv"))
            if r["corpus"] == "ravdess" and r["sample_rate"] == "16000"]
    if len(rows) < args.clips:
        sys.exit(f"bench/scale.py: {data}: need {args.clips} 16 kHz RAVDESS clips, found {len(rows)}")
    step = len(rows) // args.clips
    clips = [data / rows[i * step]["path"] for i in range(args.clips)]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        lists = {"16k": tmp / "16k.txt", "48k": tmp / "48k.txt", "long": tmp / "long.txt"}
        lists["16k"].write_text("".join(f"{c}\n" for c in clips))
        (tmp / "48k").mkdir()
        copies = []
        for c in clips:
            dst = tmp / "48k" / c.name
            subprocess.run(["sox", str(c), "-r", "48000", str(dst)], check=True)
            copies.append(dst)
        lists["48k"].write_text("".join(f"{c}\n" for c in copies))
        silence = tmp / "silence.flac"
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(silence), "trim", "0", "1.5"], check=True)
        joined = []
        for c in clips[:60]:
            joined += [str(c), str(silence)]
        long_file = tmp / "long_recording.flac"
        subprocess.run(["sox"] + joined + [str(long_file)], check=True)
        lists["long"].write_text(f"{long_file}\n")

        variants = [("16k", 1), ("16k", 2), ("48k", 1), ("48k", 2), ("long", 1)]
        samples = {v: [] for v in variants}
        audio_s = {}
        voiced = {}
        for r in range(args.rounds):
            for name, workers in variants:
                wall, cpu, results = run_workers(args.emoclass, args.model, lists[name], workers, tmp, name)
                audio_s[name] = sum(x["duration_s"] for x in results)
                voiced[name] = (sum(x["voiced_windows"] for x in results), sum(x["windows"] for x in results))
                samples[(name, workers)].append((wall, cpu))
                print(f"round {r + 1}: {name} x{workers}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr)

    load = os.getloadavg()
    report = {"clips": args.clips, "rounds": args.rounds, "cores": os.cpu_count(), "loadavg_before": load_before,
              "loadavg_after": load,
              "variants": []}
    lines = ["| set | workers | audio s | wall s | audio s per core s (wall x workers) | audio s per CPU s | voiced windows |",
             "|---|---|---|---|---|---|---|"]
    for (name, workers), s in samples.items():
        wall = statistics.median(w for w, _ in s)
        cpu = statistics.median(c for _, c in s)
        per_core = audio_s[name] / (wall * workers)
        per_cpu = audio_s[name] / cpu
        v, n = voiced[name]
        report["variants"].append({"set": name, "workers": workers, "audio_s": audio_s[name], "wall_s": wall,
                                   "cpu_s": cpu, "audio_s_per_core_s": per_core, "audio_s_per_cpu_s": per_cpu,
                                   "voiced_windows": v, "windows": n, "all_walls": [w for w, _ in s]})
        lines.append(f"| {name} | {workers} | {audio_s[name]:.0f} | {wall:.2f} | {per_core:.0f} | {per_cpu:.0f} | "
                     f"{v} of {n} |")
    by = {(v["set"], v["workers"]): v for v in report["variants"]}
    for name in ("16k", "48k"):
        ratio = by[(name, 1)]["wall_s"] / by[(name, 2)]["wall_s"]
        report[f"speedup_2_shards_{name}"] = ratio
        lines.append(f"\n2 shards vs 1 on {name}: {ratio:.2f}x the throughput")
    lines.append(f"\nload average (1, 5, 15 min) before: {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}, "
                 f"after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, on {os.cpu_count()} cores")
    print("\n".join(lines))
    pathlib.Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
