#!/usr/bin/env python3
"""ampsim's LSTM against Neural Amp Modeler's trainer's LSTM, side by side on the same takes.

    . tools/env.sh && python tools/lstm_vs_nam.py [--takes DIR] [--seconds 540] [--threads 2]
                                                 [--preset standard] [--work DIR] [--seed 0]

The takes of one rig (stereo WAVs, left the DI, right the amp; default ../shared/data/real/jvm410h)
in file-name order: the last one is the test take, no model sees it; the others train. Each
trainer also needs a validation take to keep its best epoch: the last training take (trained on
too). Both get the same budget and thread count, one after the other:

* ampsim: `ampsim train --model lstm --preset P --data <validation take> --more-data <the others>
  --minutes budget/60` — as a user runs it (its own alignment, split and defaults).
* NAM 0.13 (`nam.train.full.main`, its Lightning trainer): NAM's `LSTM` at the same size, every
  training take whole, burn-in 4096 and truncation 8192, Adam at 0.01 decaying ×0.995 per epoch,
  MSE plus 2e-4 × the pre-emphasised multi-resolution STFT loss, the first 4096 samples of each
  segment not scored, segments of 8192 in batches of 16, stopped by Lightning's `max_time`;
  the delay ampsim measures (the smallest over the training takes, as `ampsim train` uses).

Both `.nam` files then render the test take's DI with `ampsim process` (its engine plays NAM's
LSTM files as NAM's C++ core does) and are scored the same way: ESR against the amp shifted by the
measured delay, from sample 4096 on. Prints a table; everything is written under --work (default:
a temporary folder, removed at the end unless --work is given).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
SKIP_SAMPLES = 4096


def run(cmd, env=None, log=None):
    print("$", " ".join(str(c) for c in cmd), flush=True)
    out = subprocess.run([str(c) for c in cmd], env=env, cwd=ROOT, text=True, capture_output=True)
    if log is not None:
        Path(log).write_text(out.stdout + out.stderr)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(str(c) for c in cmd)}\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return out.stdout + out.stderr


def ampsim_binary():
    run(["cargo", "build", "--release", "--quiet", "-p", "ampsim-cli"])
    return ROOT / "target" / "release" / "ampsim"


def measured_lag(ampsim, take):
    text = run([ampsim, "info", take])
    m = re.search(r"lags the DI by (-?\d+) samples", text)
    if not m:
        sys.exit(f"{take}: no latency in `ampsim info`:\n{text}")
    return int(m.group(1))


def esr(y, y_hat):
    return float(np.sum((y - y_hat) ** 2) / np.sum(y**2))


def score(ampsim, model, di_path, amp, lag, out_wav):
    """ESR of `model` on the test take, rendered by `ampsim process`."""
    run([ampsim, "process", "--model", model, di_path, out_wav])
    y_hat, _ = sf.read(out_wav, dtype="float64")
    n = len(amp) - lag
    return esr(amp[lag:][SKIP_SAMPLES:n], y_hat[:n][SKIP_SAMPLES:])


def train_nam(train_files, val_files, lag, seconds, threads, hidden, layers, seed, out):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    from nam.train import full

    common = {"delay": lag, "allow_unequal_lengths": True, "require_input_pre_silence": False}
    data = {
        "train": [{"x_path": str(x), "y_path": str(y), "ny": 8192} for x, y in train_files],
        "validation": {"x_path": str(val_files[0]), "y_path": str(val_files[1]), "ny": None},
        "common": common,
    }
    model = {
        "net": {"name": "LSTM", "config": {"hidden_size": hidden, "num_layers": layers, "train_burn_in": 4096, "train_truncate": 8192}},
        "loss": {"val_loss": "esr", "mask_first": 4096, "pre_emph_mrstft_weight": 2e-4, "pre_emph_mrstft_coef": 0.85},
        "optimizer": {"lr": 0.01},
        "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.995}},
    }
    learning = {
        "train_dataloader": {"batch_size": 16, "shuffle": True, "pin_memory": False, "drop_last": True, "num_workers": 0},
        "val_dataloader": {},
        "trainer": {"accelerator": "cpu", "devices": 1, "max_epochs": 1_000_000, "max_time": {"seconds": seconds}, "enable_progress_bar": False, "logger": False},
    }
    out.mkdir(parents=True, exist_ok=True)
    full.main(data, model, learning, out, no_show=True, make_plots=False)
    nam = out / "model.nam"
    if not nam.exists():
        sys.exit(f"NAM's trainer wrote no {nam}")
    return nam


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--takes", default=str(ROOT.parent / "shared/data/real/jvm410h"))
    p.add_argument("--seconds", type=float, default=540)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--preset", default="standard", choices=["standard", "lite", "feather", "nano"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work")
    p.add_argument("--only", choices=["ampsim", "nam"], help="run one side only")
    args = p.parse_args()
    layers, hidden = {"standard": (1, 24), "lite": (2, 8), "feather": (1, 16), "nano": (1, 12)}[args.preset]

    takes = sorted(Path(args.takes).glob("*.wav"))
    if len(takes) < 3:
        sys.exit(f"{args.takes}: needs three or more takes (training ones, then the test take last)")
    train_takes, test_take = takes[:-1], takes[-1]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="lstm_vs_nam_"))
    work.mkdir(parents=True, exist_ok=True)
    ampsim = ampsim_binary()
    lag = min(measured_lag(ampsim, t) for t in train_takes)
    print(f"train on {len(train_takes)} takes (validate on {train_takes[-1].name}), test on {test_take.name}; delay {lag} samples; "
          f"{args.seconds:.0f} s and {args.threads} threads each", flush=True)

    # Mono 24-bit files: NAM reads mono PCM; ampsim plays the test DI from one too.
    mono = []
    for t in takes:
        both, rate = sf.read(t, dtype="float64")
        x, y = work / f"{t.stem}_di.wav", work / f"{t.stem}_amp.wav"
        sf.write(x, both[:, 0], rate, subtype="PCM_24")
        sf.write(y, both[:, 1], rate, subtype="PCM_24")
        mono.append((x, y))
    test_di, test_amp = mono[-1][0], sf.read(mono[-1][1], dtype="float64")[0]

    rows = []
    if args.only in (None, "ampsim"):
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        more = [a for t in train_takes[:-1] for a in ("--more-data", t)]
        started = time.time()
        run([ampsim, "train", "--model", "lstm", "--preset", args.preset, "--data", train_takes[-1], *more, "--minutes", args.seconds / 60,
             "--seed", args.seed, "--out", work / "ampsim"], env=env, log=work / "ampsim.log")
        took = time.time() - started
        rows.append(("ampsim", took, score(ampsim, work / "ampsim/model.nam", test_di, test_amp, lag, work / "ampsim_test.wav")))
    if args.only in (None, "nam"):
        started = time.time()
        nam = train_nam(mono[:-1], mono[-2], lag, args.seconds, args.threads, hidden, layers, args.seed, work / "nam")
        took = time.time() - started
        rows.append(("NAM 0.13 (nam.train.full)", took, score(ampsim, nam, test_di, test_amp, lag, work / "nam_test.wav")))

    print(f"\nLSTM {args.preset} ({layers}x{hidden}), {args.seconds:.0f} s budget, {args.threads} threads; test take {test_take.name}, ESR from sample {SKIP_SAMPLES}")
    print(f"| trainer | wall time | test ESR |\n| --- | --- | --- |")
    for name, took, e in rows:
        print(f"| {name} | {took:.0f} s | {e:.3f} |")
    (work / "results.json").write_text(json.dumps([{"trainer": n, "seconds": t, "test_esr": e} for n, t, e in rows], indent=1))
    if not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
