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
Then it builds the A2 that NAM's trainer builds by default — a `PackedWaveNet` from the
package's `config_model_packed.json`, fresh random weights — writes it with NAM's
`export_container` as `nam_a2_packed.nam` (a SlimmableContainer, which NAM's Python loader
cannot read) and renders each submodel with NAM: `nam_a2_packed.<k>.out.json`, smallest first.
"""

import json
import sys
from pathlib import Path

import torch
import nam
from nam.models import init_from_nam
from nam.models.wavenet import PackedWaveNet


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
    packed_a2(folder, x)


def packed_a2(folder: Path, x) -> None:
    # NAM's export measures loudness and gain by rendering a long file at a dozen levels: minutes
    # on a CPU for two A2 sizes. Those metadata never touch the weights; fixed values serve here.
    from nam.models import base as nam_base

    nam_base._Base._metadata_loudness = lambda self, gain=1.0, db=True: -20.0
    nam_base._Base._metadata_gain = lambda self: 0.5
    config = json.loads((Path(nam.__file__).parent / "train/_resources/config_model_packed.json").read_text())
    packed = PackedWaveNet.init_from_config(config["net"]["config"])
    packed.sample_rate = 48_000.0
    with torch.no_grad():
        for p in packed.parameters():
            p.add_(0.05 * torch.randn_like(p))
    packed.apply_mask()
    container = packed.export_container(folder, basename="nam_a2_packed")
    for k in range(packed.num_submodels):
        (folder / f"nam_a2_packed.{k}.out.json").write_text(json.dumps(render(packed.extract_submodel(k), x)))
    sizes = [len(m["model"]["weights"]) for m in container["config"]["submodels"]]
    print(f"a2_packed: {container['architecture']} of {sizes} weights: exported, each size rendered")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
