#!/usr/bin/python3
"""Classify a list of audio files or a folder tree on Spark, with the emoclass CLI on each executor.

    .venv/bin/python scripts/spark_classify.py --emoclass build/classify/emoclass --out results/ recordings/
    .venv/bin/python scripts/spark_classify.py --files-from paths.txt --out results/ --parquet results.parquet \\
        --master spark://head:7077 --partitions 400

The driver lists the inputs with `emoclass --list-inputs` (the CLI's own folder expansion), spreads
them over partitions, and pipes each partition through one `emoclass --files-from - --format jsonl`
process (RDD.pipe): one model load per partition, the CLI's exact result lines, one line per file.
Results: --out DIR gets the JSON lines as Spark part files (the same fields as `emoclass --format
jsonl`), --parquet DIR the same rows as Parquet. Files that failed are listed in DIR/failed.txt;
the reasons are on the executors' stderr. The paths, the emoclass binary and the model must be
readable at the same place on every executor (a shared file system or the same image). Nothing is
downloaded: no --packages, no Ivy or Maven; see docs/scale.md.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys


def list_inputs(emoclass, model, inputs, files_from, shard):
    cmd = [emoclass, "--list-inputs"] + (["--model", model] if model else [])
    if files_from:
        cmd += ["--files-from", files_from]
    if shard:
        cmd += ["--shard", shard]
    cmd += inputs
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"spark_classify: {done.stderr.strip() or 'emoclass --list-inputs failed'}")
    return [p for p in done.stdout.split("\n") if p]


def start_spark(master):
    # In local mode, stay on the loopback (no network needed or opened); on a cluster the
    # executors must reach the driver, so its address is left to Spark (or SPARK_LOCAL_IP).
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers run with this interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(master).appName("emoclass")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    return spark


def main(argv=None, spark=None):
    """Runs the job; with `spark`, on that session (left running), else on a new one."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="*", help="audio files or folders (folders are searched recursively)")
    ap.add_argument("--files-from", help="a file with one input path per line")
    ap.add_argument("--shard", help="K/N: only this share of the inputs, as emoclass --shard picks it")
    ap.add_argument("--emoclass", default="emoclass", help="the emoclass binary, as the executors see it")
    ap.add_argument("--model", help="model bundle folder [default: emoclass's shipped model]")
    ap.add_argument("--out", required=True, help="folder for the JSON-lines part files (must not exist)")
    ap.add_argument("--parquet", help="also write the results as Parquet to this folder")
    ap.add_argument("--master", default=os.environ.get("SPARK_MASTER", "local[*]"), help="Spark master [local[*]]")
    ap.add_argument("--partitions", type=int, default=0, help="partitions [default: Spark's default parallelism]")
    args = ap.parse_args(argv)
    if not args.inputs and not args.files_from:
        ap.error("give input files/folders or --files-from")

    emoclass = os.path.abspath(args.emoclass) if os.sep in args.emoclass else args.emoclass
    model = os.path.abspath(args.model) if args.model else None
    paths = list_inputs(emoclass, model, args.inputs, args.files_from, args.shard)
    if not paths:
        sys.exit("spark_classify: no audio files in the inputs")

    own_session = spark is None
    if own_session:
        spark = start_spark(args.master)
    from pyspark import StorageLevel
    try:
        sc = spark.sparkContext
        partitions = args.partitions or min(len(paths), sc.defaultParallelism)
        # One file per line on the CLI's stdin; one process per partition, one job in it (Spark
        # runs one task per core already).
        cmd = [emoclass, "--files-from", "-", "--format", "jsonl", "-q", "-j", "1", "--threads", "1"]
        if model:
            cmd += ["--model", model]
        lines = (sc.parallelize(paths, partitions)
                 .pipe(shlex.join(cmd), env={"OMP_NUM_THREADS": "1"}, checkCode=False)
                 .persist(StorageLevel.MEMORY_AND_DISK))
        lines.saveAsTextFile(args.out)
        done = set(lines.map(lambda line: json.loads(line)["file"]).collect())
        if args.parquet:
            spark.read.json(lines).write.parquet(args.parquet)
        lines.unpersist()
    finally:
        if own_session:
            spark.stop()

    failed = [p for p in paths if p not in done]
    with open(os.path.join(args.out, "failed.txt"), "w") as f:
        f.writelines(p + "\n" for p in failed)
    print(f"spark_classify: {len(paths)} files in {partitions} partitions, {len(done)} classified, "
          f"{len(failed)} failed (list: {os.path.join(args.out, 'failed.txt')})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
