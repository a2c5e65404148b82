"""Compare ampsim's engine with NAM's own Python at each size of NAM's slimmable WaveNet example.

    . tools/env.sh
    for s in 0.1 0.5 0.9; do ampsim process --model ../shared/data/nam/slimmable_wavenet.nam \
        ../shared/data/nam/reference/input.wav /tmp/slim_$s.wav --slim $s; done
    python tools/nam_slimmable_check.py

Prints, per Slim value, the largest difference from sample 8192 on (where both have left their
start-up behind) and the output's peak.
"""

import json
import sys

import numpy as np
import soundfile as sf
import torch
from nam.models import init_from_nam

NAM = "../shared/data/nam"


def main() -> int:
    d = json.load(open(f"{NAM}/slimmable_wavenet.nam"))
    # NAM 0.13's Python loader wants the 0.7 head object; the example file has the 0.5 keys.
    for a in d["config"]["layers"]:
        a["head"] = {"out_channels": a.pop("head_size"), "kernel_size": 1, "bias": a.pop("head_bias")}
    model = init_from_nam(d)
    model.eval()
    x, _ = sf.read(f"{NAM}/reference/input.wav", dtype="float32")
    for slim in ["0.1", "0.5", "0.9"]:
        # The slimmable parts are modules inside the model; one of them sets the value for all.
        next(m for m in model.modules() if hasattr(m, "set_slimming")).set_slimming(float(slim))
        with torch.no_grad():
            y = model(torch.from_numpy(x)[None], pad_start=True)[0].numpy()
        ours, _ = sf.read(f"/tmp/slim_{slim}.wav", dtype="float32")
        print(f"slim {slim}: max |NAM - ampsim| from sample 8192: {np.abs(y[8192:] - ours[8192:]).max():.2e} (peak {np.abs(y).max():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
