#!/usr/bin/python3
"""emoclass on a pseudo-terminal that is both stdout and stderr, as in an interactive shell: the
progress line (redrawn in place with \\r and ESC[K) must never leave text inside a result line.

The bytes the terminal receives are replayed through a small model of a terminal line (\\r goes
to column 0, ESC[K erases to the end, \\n ends the line), and every visible line must be either
a table line or the progress line, never both. Then with stderr a pipe shared with stdout
(`2>&1 | ...`) no progress is written at all, and with stderr a separate file it is.

usage: progress_tty_check.py EMOCLASS SOURCE_DIR
"""
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile

emoclass, source_dir = sys.argv[1], sys.argv[2]
clip = os.path.join(source_dir, "tests", "fixtures", "parity", "speech_16k.wav")
PROGRESS = re.compile(r"emoclass \d+/\d+ \(\d+%\)")


def visible_lines(raw: str):
    """The lines a terminal shows for `raw` (only \\r, ESC[K and \\n matter here)."""
    lines, line, col = [], [], 0
    i = 0
    while i < len(raw):
        if raw.startswith("\x1b[K", i):
            del line[col:]
            i += 3
            continue
        c = raw[i]
        i += 1
        if c == "\r":
            col = 0
        elif c == "\n":
            lines.append("".join(line))
            line, col = [], 0
        else:
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
    if line:
        lines.append("".join(line))
    return lines


def run_on_pty(args):
    pid, fd = pty.fork()
    if pid == 0:  # stdout and stderr are both the terminal
        os.execv(emoclass, [emoclass] + args)
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def main():
    tmp = tempfile.mkdtemp(prefix="emoclass-progress-")
    try:
        files = []
        for i in range(48):
            files.append(os.path.join(tmp, f"clip_{i:02d}.wav"))
            shutil.copyfile(clip, files[-1])
        args = ["-j", "1"] + files
        code, raw = run_on_pty(args)
        if code != 0:
            sys.exit(f"FAIL: emoclass exited {code}:\n{raw}")
        draws = len(PROGRESS.findall(raw))
        if draws < 2:
            sys.exit(f"FAIL: the progress line was drawn {draws} time(s); the check needs it drawn while results print")
        lines = visible_lines(raw)
        rows = [l for l in lines if "clip_" in l]
        if len(rows) != len(files):
            sys.exit(f"FAIL: {len(rows)} visible result rows, expected {len(files)}:\n" + "\n".join(lines))
        mixed = [l for l in lines if PROGRESS.search(l) and ("clip_" in l or "emotion" in l)]
        if mixed:
            sys.exit("FAIL: progress text inside result lines:\n" + "\n".join(mixed))
        for l in rows:
            if not re.match(r"^\S*clip_\d\d\.wav\s", l):
                sys.exit(f"FAIL: a result row does not start with its file name: {l!r}")
        print(f"terminal: {draws} progress draws, {len(rows)} result rows, none mixed")

        # stderr the same pipe as stdout (2>&1 | ...): no progress at all.
        piped = subprocess.run([emoclass] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if piped.returncode != 0 or PROGRESS.search(piped.stdout) or piped.stdout.count("clip_") != len(files):
            sys.exit(f"FAIL: with 2>&1 into a pipe:\n{piped.stdout}")
        print("2>&1 into a pipe: no progress lines among the results")

        # stderr a file of its own (a log): whole progress lines there, none in the results.
        with open(os.path.join(tmp, "log.txt"), "w+") as log:
            split = subprocess.run([emoclass] + args, stdout=subprocess.PIPE, stderr=log, text=True)
            log.seek(0)
            logged = log.read()
        if split.returncode != 0 or PROGRESS.search(split.stdout) or not PROGRESS.search(logged) or "\r" in logged:
            sys.exit(f"FAIL: with stderr a separate file:\nstdout:\n{split.stdout}\nstderr:\n{logged}")
        print("stderr a separate file: progress lines there, none among the results")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
