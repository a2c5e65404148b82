"""Train Neural Amp Modeler's own WaveNet module (not ampsim) on the JVM410H split that
`bench_seq` uses — four takes train, take 5 validates — with a plain PyTorch loop: one thread,
random 8192-sample segments in batches of 16, Adam 0.004 decaying x0.993 per epoch, ESR loss.
It tells an architecture's own pace from a bug in ampsim's trainer.

    python tools/nam_a2_reference.py channels_8            # A2 full, from NAM's packed config
    python tools/nam_a2_reference.py channels_3            # A2 nano
    python tools/nam_a2_reference.py a1.nam   # a 0.7 WaveNet .nam's architecture (A1: `ampsim export` of
                                              # ../shared/data/nam/wavenet_a1_standard.nam)
BUDGET (seconds, default 240) and LR change the run.
"""
import json, sys, time, os, glob, wave
import numpy as np, torch
import nam
from nam.models.wavenet import WaveNet
torch.set_num_threads(1); torch.manual_seed(0)
which = sys.argv[1] if len(sys.argv) > 1 else "channels_8"
if which.endswith(".nam"):
    # NAM's loader builds the architecture; its weights are then drawn afresh as PyTorch's defaults.
    from nam.models import init_from_nam
    net = init_from_nam(json.load(open(which)))
    for m in net.modules():
        if isinstance(m, torch.nn.Conv1d):
            m.reset_parameters()
else:
    cfg = json.load(open(os.path.join(os.path.dirname(nam.__file__), "train/_resources/config_model_packed.json")))
    sub = {s["name"]: s["config"] for s in cfg["net"]["config"]["submodels"]}[which]
    net = WaveNet.init_from_config(json.loads(json.dumps(sub)))
print(f"{which}: {sum(p.numel() for p in net.parameters())} parameters, receptive field {net.receptive_field}", flush=True)
rf = net.receptive_field
def load(p):
    w = wave.open(p); n = w.getnframes(); b = w.readframes(n); sw = w.getsampwidth()
    a = np.frombuffer(b, dtype={2: np.int16, 4: np.int32}[sw]).reshape(-1, 2).astype(np.float32) / (2 ** (8 * sw - 1))
    d, y = a[:, 0], a[:, 1]
    return torch.tensor(d[:-2].copy()), torch.tensor(y[2:].copy())  # amp lags by 2
takes = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/data/real/jvm410h/*.wav")))
if len(takes) < 3:
    sys.exit("needs ../shared/data/real/jvm410h beside the repository")
data = [load(p) for p in takes]
train, val = data[:-2], data[-2]
opt = torch.optim.Adam(net.parameters(), lr=float(os.environ.get("LR", "0.004")))
sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.993)
seg = 8192; steps = sum(len(d) for d, _ in train) // (seg * 16)
def esr(yh, y): return ((yh - y) ** 2).mean() / (y ** 2).mean()
t0 = time.time(); rng = np.random.default_rng(0); ep = 0
while time.time() - t0 < float(os.environ.get("BUDGET", "240")):
    ep += 1; tot = 0
    for _ in range(steps):
        xs, ys = [], []
        for _ in range(16):
            d, y = train[rng.integers(len(train))]
            k = rng.integers(0, len(d) - seg - rf + 1)
            xs.append(d[k:k + seg + rf - 1]); ys.append(y[k + rf - 1:k + rf - 1 + seg])
        x, y = torch.stack(xs), torch.stack(ys)
        loss = esr(net(x, pad_start=False), y)
        opt.zero_grad(); loss.backward(); opt.step(); tot += loss.item()
    sched.step()
    with torch.no_grad():
        d, y = val
        v = esr(net(d[None], pad_start=False)[0], y[rf - 1:]).item()
    print(f"epoch {ep} loss {tot/steps:.4f} val ESR {v:.4f} {time.time()-t0:.0f}s", flush=True)
