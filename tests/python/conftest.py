"""Shared fixtures of the emoclass Python suite (run by ctest, see tests/CMakeLists.txt).

Which emoclass is tested: whatever `import emoclass` finds first (ctest puts the build tree's
package, build/python, or a freshly pip-installed copy on PYTHONPATH). The CLI the results are
compared with is $EMOCLASS_BIN, else build/classify/emoclass; spectro-dump $SPECTRO_DUMP_BIN,
else build/spectro/spectro-dump.
"""
import json
import os
import pathlib
import re
import subprocess

import pytest

import emoclass

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = SOURCE_DIR / "tests" / "fixtures" / "parity"
SHARED_DATA = SOURCE_DIR.parent / "shared" / "data"
# Fixture speech (espeak-ng, made by scripts/make_parity_fixtures.py) at three rates.
FIXTURE_CLIPS = sorted(FIXTURES.glob("*.wav"))


def known_clips():
    """Real recordings (tests/known_clips.txt) present in ../shared/data."""
    clips = []
    for line in (SOURCE_DIR / "tests" / "known_clips.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            path = SHARED_DATA / line.split()[0]
            if path.is_file():
                clips.append(path)
    return clips


def pytest_configure(config):
    expected = os.environ.get("EMOCLASS_EXPECT_PACKAGE_DIR")
    found = pathlib.Path(emoclass.__file__).resolve().parent
    if expected and found != pathlib.Path(expected).resolve():
        raise pytest.UsageError(f"testing emoclass from {found}, not the installed copy in {expected}")


def pytest_report_header(config):
    return f"emoclass {emoclass.__version__} from {pathlib.Path(emoclass.__file__).parent}"


def pytest_sessionfinish(session, exitstatus):
    # A run that collects nothing (pytest's exit status 5) is a broken suite, never a pass.
    if session.testscollected == 0:
        session.exitstatus = 1


@pytest.fixture(scope="session")
def model():
    return emoclass.Model()


@pytest.fixture(scope="session")
def real_clips():
    clips = known_clips()
    if not clips:
        pytest.skip(f"{SHARED_DATA} is missing: real recordings not checked (fixture speech still is)")
    return clips


def emoclass_binary():
    binary = pathlib.Path(os.environ.get("EMOCLASS_BIN", SOURCE_DIR / "build" / "classify" / "emoclass"))
    if not binary.is_file():
        pytest.fail(f"the emoclass tool is needed for comparisons: build it or set EMOCLASS_BIN ({binary})")
    return binary


@pytest.fixture(scope="session")
def server():
    """A real `emoclass serve` (the shipped model) on a free port; yields its base URL."""
    proc = subprocess.Popen([str(emoclass_binary()), "serve", "--port", "0", "--workers", "1"],
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            found = re.search(r"serving on (http://[0-9.]+:\d+)", line)
            if found:
                break
        else:
            pytest.fail(f"emoclass serve did not start (exit {proc.wait()})")
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="session")
def cli():
    """Runs the emoclass tool; returns (jsonl objects, error lines without 'error: ')."""
    binary = emoclass_binary()

    def run(*args):
        done = subprocess.run([str(binary), "--format", "jsonl", "-q", *map(str, args)], capture_output=True,
                              text=True, timeout=300)
        results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        errors = [line[len("error: "):] for line in done.stderr.splitlines() if line.startswith("error: ")]
        other = [line for line in done.stderr.splitlines() if not line.startswith("error: ")]
        return results, errors, other

    return run
