"""DEV ONLY: can a VGG-free patch GAN teach head + refiner the art when steps are cheap (tens of ms)?
Head (palette 8) + a dilated residual refiner with a noise channel, a PatchGAN on 128 px artworks vs outputs
(DiffAugment translation + cutout, lazy R1), and a low-passed luma anchor to the photo. Capture at 128 px on 24
other photos against the painter (seed 1; scoring only). Usage: gan2.py STYLE SECONDS [ANCHOR] [WIDTH] [HEAD_LR]"""
import sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, ".")
from core.generator import ArtHead
from studio import losses as L
from studio.metrics import LPIPS
from studio.painters import paint
from scripts.probes.common import load_probe_data

torch.set_num_threads(1); torch.manual_seed(0)
style, seconds = sys.argv[1], float(sys.argv[2])
cw = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
width = int(sys.argv[4]) if len(sys.argv) > 4 else 16
hlr = float(sys.argv[5]) if len(sys.argv) > 5 else 2e-3
A, P = load_probe_data(style + "100", 256, 110)
u8 = lambda t: ((t.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
down = lambda t, s=128: F.interpolate(t, size=(s, s), mode="area")
T = down(torch.from_numpy(np.stack([paint(style, x, seed=1) for x in u8(P[-24:])])).permute(0, 3, 1, 2).float() / 127.5 - 1)
A1, P1 = down(A), down(P)
Ptr, Pte, Tte = P1[:-24], P1[-24:], T


class Refiner(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = (1, 2, 4, 8, 1)
        layers, cin = [], 7
        for i, di in enumerate(d):
            layers += [nn.Conv2d(cin, c, 3, padding=di, dilation=di), nn.LeakyReLU(0.2)]
            cin = c
        layers += [nn.Conv2d(c, 3, 3, padding=1)]
        self.net = nn.Sequential(*layers)
        nn.init.zeros_(self.net[-1].weight); nn.init.zeros_(self.net[-1].bias)

    def forward(self, y, x):
        return y + self.net(torch.cat([y, x, torch.randn_like(y[:, :1])], 1))


head = ArtHead(palette=8)
ref = Refiner(width)
opt = torch.optim.Adam([{"params": head.parameters(), "lr": hlr}, {"params": ref.parameters(), "lr": 1e-3}],
                       betas=(0.5, 0.99))
D = L.Discriminator(32, 3)
opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.99))
lp = LPIPS()
z = lambda x: torch.zeros(len(x), 4, *x.shape[-2:])
run = lambda x: ref(head(x, z(x)), x)
luma = lambda x: (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
base = lp(Pte, Tte).flatten()
def cap():
    with torch.no_grad():
        o = run(Pte).clamp(-1, 1)
        return float((1 - lp(o, Tte).flatten() / base).mean()), o
g = torch.Generator().manual_seed(0)
aug = ("translation", "cutout")
print(style, "refiner params", sum(p.numel() for p in ref.parameters()), "init cap %.3f" % cap()[0], flush=True)
t0, step, next_eval = time.time(), 0, 60.0
while time.time() - t0 < seconds:
    i = torch.randint(0, len(Ptr), (8,), generator=g)
    x = Ptr[i]
    o = run(x)
    L.requires_grad(D, False)
    loss = L.g_nonsaturating_loss(D(L.diff_augment(o, g, aug)))
    if cw:
        loss = loss + cw * (L.lowpass(luma(o), 8) - L.lowpass(luma(x), 8)).abs().mean()
    opt.zero_grad(); loss.backward(); opt.step()
    L.requires_grad(D, True)
    a = A1[torch.randint(0, len(A1), (8,), generator=g)]
    if torch.rand(1, generator=g) < 0.5:
        a = a.flip(3)
    real = L.diff_augment(a, g, aug)
    dl = L.d_logistic_loss(D(real), D(L.diff_augment(o.detach(), g, aug)))
    if step % 4 == 0:
        real = real.detach().requires_grad_(True)
        dl = dl + 4 * 0.5 * L.r1_penalty(D(real), real)
    opt_d.zero_grad(); dl.backward(); opt_d.step()
    step += 1
    if time.time() - t0 > next_eval:
        next_eval += 120
        print(style, step, "g %.3f d %.3f" % (float(loss), float(dl)), "cap %.3f" % cap()[0], "%.0fs" % (time.time() - t0), flush=True)
c, o = cap()
print(style, "final", step, "cap %.3f" % c, flush=True)
from core.images import save_image
row = lambda t: np.concatenate(list(u8(t[:8])), 1)
save_image(f"runs/probes/gan2_{style}_{cw:g}_{width}.png", np.concatenate([row(Pte), row(o), row(Tte)], 0))
