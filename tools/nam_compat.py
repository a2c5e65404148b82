"""Check ampsim's .nam files against Neural Amp Modeler's own code (the `neural-amp-modeler`
package), both ways. Called by ampsim-core/tests/nam_compat.rs:

    python3 tools/nam_compat.py DIR

DIR holds `input.json` (a list of samples) and `ampsim_<name>.nam` files written by ampsim.
For each of them this script
  * loads it with NAM's loader (`nam.models.init_from_nam`) and renders the input:
    `ampsim_<name>.out.json`;
  * builds NAM's own model of the same architecture with fresh random weights, writes it with
    NAM's exporter as `nam_<name>.nam`, loads that file back with NAM's loader and renders the
    input: `nam_<name>.out.json` (the reference for ampsim's import).
"""

import json
import sys
from pathlib import Path

import torch
from nam.models import init_from_nam


def render(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.tensor(x, dtype=torch.float32)[None])[0].tolist()


def main(folder: Path) -> None:
    x = json.loads((folder / "input.json").read_text())
    files = sorted(folder.glob("ampsim_*.nam"))
    if not files:
        sys.exit(f"no ampsim_*.nam files in {folder}")
    torch.manual_seed(0)
    for path in files:
        name = path.stem[len("ampsim_"):]
        ours = json.loads(path.read_text())
        model = init_from_nam(ours)
        (folder / f"ampsim_{name}.out.json").write_text(json.dumps(render(model, x)))
        # NAM's own model of the same architecture, fresh weights, through NAM's exporter.
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
        model.export(folder, basename=f"nam_{name}")
        reloaded = init_from_nam(json.loads((folder / f"nam_{name}.nam").read_text()))
        (folder / f"nam_{name}.out.json").write_text(json.dumps(render(reloaded, x)))
        print(f"{name}: {ours['architecture']}, {len(ours['weights'])} weights: loaded, rendered, re-exported")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
