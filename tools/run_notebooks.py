#!/usr/bin/env python3
"""Execute evcxr notebooks top to bottom and fail on any error a cell shows.

`jupyter nbconvert --execute` exits 0 when an evcxr cell panics or a `?` fails: evcxr only
prints to stderr. This runner executes with nbclient, then scans every code cell's outputs
for error outputs, panics, compile errors and failed `?`s, and exits non-zero naming the
notebook and the cell.

    run_notebooks.py [--quick] [--in-place | --out-dir DIR] NOTEBOOK...

--quick sets AMPSIM_QUICK=1 for the kernel (notebooks shrink data ranges and epochs).
--in-place writes the executed notebook over the original (atomically; only on success).
"""
import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat

KERNEL = os.environ.get("AMPSIM_KERNEL_NAME", "ampsim-rust")

# What evcxr prints when a cell fails. Compile errors arrive as error outputs or as
# `error[E...]`/`error:` text; panics as "panicked at". A failed `?` prints only the error's
# message on stderr, so any stderr text counts as a failure, except lines matching
# BENIGN_STDERR (blank lines, compiler warnings, libtorch's own warnings).
FAILURE_PATTERNS = [
    re.compile(r"panicked at"),
    re.compile(r"^error(\[E\d+\])?:", re.M),
    re.compile(r"^Error:", re.M),
    re.compile(r"Child process terminated"),
    re.compile(r"Subprocess terminated"),
]


BENIGN_STDERR = re.compile(r"^\s*$|^warning:|^\[W\d")

# A notebook skips its real-data part with a line starting "skipping:" when the recordings beside
# the repository (../shared) are absent; with AMPSIM_REQUIRE_SHARED=1 (CI) that is a failure.
SKIPPED_REAL_DATA = re.compile(r"^skipping:", re.M)


def skips_are_failures():
    return os.environ.get("AMPSIM_REQUIRE_SHARED") == "1"


def stderr_is_failure(text):
    return any(not BENIGN_STDERR.search(line) for line in text.splitlines())


def output_text(out):
    """All text of one output (stream text, error name/value/traceback, text/plain data)."""
    kind = out.get("output_type")
    if kind == "stream":
        return out.get("text", "")
    if kind == "error":
        return "\n".join([out.get("ename", ""), out.get("evalue", "")] + list(out.get("traceback", [])))
    data = out.get("data", {})
    return data.get("text/plain", "") if isinstance(data.get("text/plain", ""), str) else ""


def cell_failures(nb):
    """[(cell_index, execution_count, first_line_of_source, excerpt)] for every failing cell."""
    failures = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            text = output_text(out)
            is_error = out.get("output_type") == "error" or (
                out.get("output_type") == "stream" and out.get("name") == "stderr" and stderr_is_failure(text)
            )
            patterns = FAILURE_PATTERNS + ([SKIPPED_REAL_DATA] if skips_are_failures() else [])
            hit = next((p for p in patterns if p.search(text)), None)
            if is_error or hit:
                m = hit.search(text) if hit else None
                start = max(0, m.start() - 200) if m else 0
                excerpt = re.sub(r"\x1b\[[0-9;]*m", "", text[start:start + 600]).strip()
                first = (cell.source.strip().splitlines() or [""])[0][:80]
                failures.append((i, cell.get("execution_count"), first, excerpt))
                break
    return failures


def evcxr_client_class():
    """nbclient's client, waiting a moment after each cell for late stream output.

    evcxr forwards the cell's stderr from another thread, so a line (the message of a failed
    `?`) can arrive after the kernel reported the cell idle; nbclient would drop it.
    """
    from queue import Empty

    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete
    from nbclient.util import ensure_async

    class EvcxrClient(NotebookClient):
        late_output_seconds = 0.5

        async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
            await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
            deadline = time.monotonic() + self.late_output_seconds
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=remaining))
                except Empty:
                    return
                if msg["msg_type"] == "stream" and msg["parent_header"].get("msg_id") == parent_msg_id:
                    try:
                        self.process_message(msg, cell, cell_index)
                    except CellExecutionComplete:
                        pass

    return EvcxrClient


def run(path, quick, in_place, out_dir, timeout):
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    NotebookClient = evcxr_client_class()

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=timeout,
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    started = time.time()
    crash = None
    try:
        client.execute()
    except (CellExecutionError, DeadKernelError, TimeoutError, RuntimeError) as e:
        crash = f"{type(e).__name__}: {e}"
    elapsed = time.time() - started
    failures = cell_failures(nb)
    ok = not failures and crash is None
    if in_place and ok:
        tmp = path.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
    elif out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(out_dir) / path.name)
    status = "ok" if ok else "FAILED"
    print(f"[notebooks] {path} ({'quick' if quick else 'full'} mode): {status} in {elapsed:.0f} s", flush=True)
    if crash:
        print(f"[notebooks]   {path}: execution stopped: {crash[:800]}", flush=True)
    for index, count, first, excerpt in failures:
        print(f"[notebooks]   {path}: cell {index} (execution count {count}, `{first}`) failed:", flush=True)
        for line in excerpt.splitlines()[:15]:
            print(f"[notebooks]     | {line}", flush=True)
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--quick", action="store_true", help="set AMPSIM_QUICK=1 (small ranges, few epochs)")
    ap.add_argument("--in-place", action="store_true", help="overwrite each notebook with its executed version")
    ap.add_argument("--out-dir", help="write executed notebooks here instead")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell (first builds are slow)")
    args = ap.parse_args(argv)
    if args.quick:
        os.environ["AMPSIM_QUICK"] = "1"
    else:
        os.environ.pop("AMPSIM_QUICK", None)
    results = [run(nb, args.quick, args.in_place, args.out_dir, args.timeout) for nb in args.notebooks]
    passed = sum(results)
    failed = len(results) - passed
    print(f"notebooks: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
