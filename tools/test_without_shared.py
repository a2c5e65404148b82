#!/usr/bin/env python3
"""The real-data tests on a machine without `../shared`: they must skip, say so, and pass.

A fresh clone has no `../shared` beside it. This runs every test that reads it, from the test
binaries `cargo test --workspace` built (no rebuild), with AMPSIM_SHARED pointing at an empty
folder and AMPSIM_REQUIRE_SHARED unset, and checks that each one passes and logged its skip.
Then it checks the other way: with AMPSIM_REQUIRE_SHARED=1 the same tests fail.

A test file that calls `ampsim_testkit::shared` must be listed in TESTS, so none is forgotten.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (package, test binary) -> names of the tests in it that read the shared folder (None: all).
TESTS = {
    ("ampsim-core", "nam_fixtures"): None,
    ("ampsim-core", "real_captures"): None,
    ("ampsim-engine", "nam_fixtures"): None,
    ("ampsim-cli", "cli"): ["an_a2_container_plays_at_the_slim_value_asked"],
    ("ampsim-plugin", "lv2_hosts"): ["nams_own_files_play_as_the_engine_renders_them"],
}


def readers():
    """(package, binary) of every test file that calls ampsim_testkit::shared."""
    found = set()
    for f in ROOT.glob("*/tests/*.rs"):
        if "ampsim_testkit::shared" in f.read_text():
            found.add((f.parent.parent.name, f.stem))
    return found


def binaries():
    """(package, binary) -> executable, from cargo's build of the workspace's tests."""
    out = subprocess.run(["cargo", "test", "--workspace", "--no-run", "--message-format=json"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    exes = {}
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and "test" in msg["target"]["kind"]:
            package = Path(msg["manifest_path"]).parent.name
            exes[(package, msg["target"]["name"])] = (msg["executable"], Path(msg["manifest_path"]).parent)
    return exes


def run(exe, cwd, names, env):
    args = [exe, "--test-threads=2"] + (names or [])
    if names:
        args.append("--exact")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)


def main():
    missing = readers() - set(TESTS)
    if missing:
        sys.exit(f"test files read ../shared but are not listed in {__file__}: {sorted(missing)}")
    exes = binaries()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "no-shared"
        empty.mkdir()
        log = Path(tmp) / "skipped.txt"
        env = {k: v for k, v in os.environ.items() if k != "AMPSIM_REQUIRE_SHARED"}
        env.update(AMPSIM_SHARED=str(empty), AMPSIM_SKIP_LOG=str(log))
        for key, names in TESTS.items():
            exe, cwd = exes[key]
            r = run(exe, cwd, names, env)
            ran = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", r.stdout)
            if r.returncode != 0 or not ran or int(ran.group(1)) == 0:
                failures.append(f"{key}: without ../shared it should pass with skips, but exited {r.returncode}:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
            # The same tests must fail when the data are required.
            required = run(exe, cwd, names, dict(env, AMPSIM_REQUIRE_SHARED="1"))
            if required.returncode == 0:
                failures.append(f"{key}: with AMPSIM_REQUIRE_SHARED=1 and no ../shared it should fail, but passed")
        skipped = log.read_text().splitlines() if log.exists() else []
        for (package, binary), names in TESTS.items():
            if not any(line.startswith(binary + " ") for line in skipped):
                failures.append(f"{package} {binary}: no skip was logged")
    print(f"[no-shared] {len(skipped)} real-data tests skip without ../shared and fail when it is required:")
    for line in sorted(skipped):
        print("   ", line)
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
