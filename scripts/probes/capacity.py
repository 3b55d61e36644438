"""DEV ONLY: does a small full-resolution conv refiner after the painting head add capacity the art needs?
Fits head (+ refiner) to 48 training-half photos at 128 px, either PAIRED to the painter (LPIPS; a capacity
check, never a recipe) or UNPAIRED (VGG SWD to 50 artworks + a VGG relu3_3 content term to the head's input),
scores capture at 128 px on 24 other photos against the painter (seed 1, no exaggeration).
Usage: capacity.py STYLE paired|unpaired WIDTH(0 = head only) [STEPS] [CONTENT]"""
import sys, time
import numpy as np, torch, torch.nn as nn
sys.path.insert(0, ".")
from core.generator import ArtHead
from studio import losses as L
from studio.metrics import LPIPS
from studio.painters import paint
from scripts.probes.common import load_probe_data

torch.set_num_threads(1)
style, mode, width = sys.argv[1], sys.argv[2], int(sys.argv[3])
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 200
cw = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
rlr = float(sys.argv[6]) if len(sys.argv) > 6 else 2e-3
noise = int(sys.argv[7]) if len(sys.argv) > 7 else 0
norm = int(sys.argv[8]) if len(sys.argv) > 8 else 0  # SWD on unit-length (LPIPS-normalized) features
nf = (lambda d: {k: L.normalize_channels(v) for k, v in d.items()}) if norm else (lambda d: d)
A, P = load_probe_data(style + "100", 256, 80)
A = A[:50]
u8 = lambda t: ((t.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
down = lambda t: torch.nn.functional.interpolate(t, size=(128, 128), mode="area")
T = down(torch.from_numpy(np.stack([paint(style, x, seed=1) for x in u8(P[:72])])).permute(0, 3, 1, 2).float() / 127.5 - 1)
A1, P1 = down(A), down(P[:72])
Ptr, Ttr, Pte, Tte = P1[:48], T[:48], P1[48:72], T[48:72]


class Refiner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(6 + noise, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=2, dilation=2),
                                 nn.ReLU(), nn.Conv2d(c, c, 3, padding=4, dilation=4), nn.ReLU(),
                                 nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 3, 3, padding=1))
        nn.init.zeros_(self.net[-1].weight); nn.init.zeros_(self.net[-1].bias)

    def forward(self, y, x):
        extra = [torch.randn_like(y[:, :1])] if noise else []
        return y + self.net(torch.cat([y, x] + extra, 1))


head = ArtHead(palette=8)
ref = Refiner(width) if width else None
params = [{"params": head.parameters(), "lr": 2e-2}] + ([{"params": ref.parameters(), "lr": rlr}] if ref else [])
opt = torch.optim.Adam(params)
lp = LPIPS()
z = lambda x: torch.zeros(len(x), 4, *x.shape[-2:])
def run(x):
    y = head(x, z(x))
    return ref(y, x) if ref else y
def cap():
    with torch.no_grad():
        o = run(Pte); a = lp(o, Tte).flatten(); b = lp(Pte, Tte).flatten()
    return float((1 - a / b).mean()), o
g = torch.Generator().manual_seed(0)
if mode in ("unpaired", "gan"):
    taps = ["relu1_2", "relu2_2", "relu3_3"]
    vgg = L.load_vgg(taps)
    with torch.no_grad():
        fa = [nf(vgg(A1[i:i + 8])) for i in range(0, len(A1), 8)]
        bank = {t: torch.cat([L.feature_samples(f[t], 2048, g) for f in fa]) for t in taps}
if mode == "gan":
    D = L.Discriminator(32, 3)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.99))
print(style, mode, width, "params", sum(p.numel() for p in ref.parameters()) if ref else 0, "init cap %.3f" % cap()[0], flush=True)
t0 = time.time()
for step in range(steps):
    i = torch.randint(0, len(Ptr), (8,), generator=g)
    o = run(Ptr[i])
    if mode == "paired":
        loss = LPIPS.forward.__wrapped__(lp, o, Ttr[i]).mean()
    else:
        fo = vgg(o)
        loss = L.style_swd_loss(nf(fo), bank, g)
        if ref and cw:
            with torch.no_grad():
                fc = vgg(head(Ptr[i], z(Ptr[i])))["relu3_3"]
            loss = loss + cw * (fo["relu3_3"] - fc).pow(2).mean()
        if mode == "gan":
            L.requires_grad(D, False)
            loss = loss + 0.1 * L.g_nonsaturating_loss(D(L.diff_augment(o, g, ("translation",))))
    opt.zero_grad(); loss.backward(); opt.step()
    if mode == "gan":
        L.requires_grad(D, True)
        a = A1[torch.randint(0, len(A1), (8,), generator=g)]
        dl = L.d_logistic_loss(D(L.diff_augment(a, g, ("translation",))), D(L.diff_augment(o.detach(), g, ("translation",))))
        opt_d.zero_grad(); dl.backward(); opt_d.step()
    if step % 50 == 49:
        print(style, mode, width, step + 1, "loss %.3f" % float(loss), "cap %.3f" % cap()[0], "%.0fs" % (time.time() - t0), flush=True)
c, o = cap()
from core.images import save_image
row = lambda t: np.concatenate(list(u8(t[:6])), 1)
save_image(f"runs/probes/capacity_{style}_{mode}_{width}_{rlr:g}_{noise}_{cw:g}_n{norm}.png", np.concatenate([row(Pte), row(o), row(Tte)], 0))
