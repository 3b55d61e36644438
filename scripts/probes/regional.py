"""DEV ONLY: does a geometry-aware (per aligned face cell) sliced Wasserstein style loss fit the painting head
closer to the art than the global one? Head only (palette 8), unpaired: VGG relu1_2..relu4_3 SWD to 100 aligned
artworks, globally (G=1) or per cell of a GxG grid of the aligned frame plus the global term. Capture at 128 px on
24 other photos against the painter (seed 1; scoring only). Usage: regional.py STYLE G [STEPS]"""
import sys, time
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, ".")
from core.generator import ArtHead
from studio import losses as L
from studio.metrics import LPIPS
from studio.painters import paint
from scripts.probes.common import load_probe_data

torch.set_num_threads(1); torch.manual_seed(0)
style, G = sys.argv[1], int(sys.argv[2])
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 300
A, P = load_probe_data(style + "100", 256, 110)
u8 = lambda t: ((t.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
down = lambda t: F.interpolate(t, size=(128, 128), mode="area")
T = down(torch.from_numpy(np.stack([paint(style, x, seed=1) for x in u8(P[-24:])])).permute(0, 3, 1, 2).float() / 127.5 - 1)
A1, P1 = down(A), down(P)
Ptr, Pte, Tte = P1[:-24], P1[-24:], T
taps = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
vgg = L.load_vgg(taps)
g = torch.Generator().manual_seed(0)
def cells(f):  # (B,C,h,w) -> list of G*G (B*h/G*w/G, C) sample sets
    b, c, h, w = f.shape
    x = f.view(b, c, G, h // G, G, w // G).permute(2, 4, 0, 3, 5, 1)
    return [x[i, j].reshape(-1, c) for i in range(G) for j in range(G)]
with torch.no_grad():
    fa = [vgg(A1[i:i + 10]) for i in range(0, len(A1), 10)]
    full = {t: torch.cat([f[t] for f in fa]) for t in taps}
bank = {t: torch.cat([L.feature_samples(full[t][i:i + 10], 2048, g) for i in range(0, len(full[t]), 10)]) for t in taps}
cbank = {t: cells(full[t]) for t in taps} if G > 1 else None
head = ArtHead(palette=8)
opt = torch.optim.Adam(head.parameters(), lr=2e-2)
lp = LPIPS()
z = lambda x: torch.zeros(len(x), 4, *x.shape[-2:])
base = lp(Pte, Tte).flatten()
def cap():
    with torch.no_grad():
        o = head(Pte, z(Pte)).clamp(-1, 1)
        return float((1 - lp(o, Tte).flatten() / base).mean()), o
print(style, "G", G, "init cap %.3f" % cap()[0], flush=True)
t0 = time.time()
for step in range(steps):
    x = Ptr[torch.randint(0, len(Ptr), (8,), generator=g)]
    fo = vgg(head(x, z(x)))
    loss = L.style_swd_loss(fo, bank, g, count=2048)
    if cbank:
        reg = 0.0
        for t in taps:
            d = L.random_directions(32, fo[t].shape[1], g, x.device)
            energy = bank[t].pow(2).mean() + 1e-6
            for co, cb in zip(cells(fo[t]), cbank[t]):
                n = min(512, len(co))
                io = torch.randint(0, len(co), (n,), generator=g); ib = torch.randint(0, len(cb), (n,), generator=g)
                reg = reg + L.sliced_wasserstein(co[io], cb[ib], d) / energy
        loss = loss + reg / (G * G)
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 100 == 99:
        print(style, "G", G, step + 1, "loss %.3f" % float(loss.detach()), "cap %.3f" % cap()[0], "%.0fs" % (time.time() - t0), flush=True)
c, o = cap()
print(style, "G", G, "final cap %.3f" % c, flush=True)
from core.images import save_image
row = lambda t: np.concatenate(list(u8(t[:8])), 1)
save_image(f"runs/probes/regional_{style}_{G}.png", np.concatenate([row(Pte), row(o), row(Tte)], 0))
