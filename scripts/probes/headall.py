"""Unpaired head-only fit per style (development probe): ArtHead from its generic prior, VGG SWD to 50
artworks at 128 px, scored at 256 px on 24 other training-half photos against the painter (seed 1, no
exaggeration: the head alone has no geometry). Usage: headall.py STYLE [STEPS] [LR] [PALETTE_WEIGHT] [K: per-image palette colours, 0 = staircase]"""
import sys, time
import cv2, numpy as np, torch
sys.path.insert(0, ".")
from core.generator import ArtHead
from studio import losses as L
from studio.metrics import LPIPS
from studio.painters import paint
from scripts.probes.common import load_probe_data

torch.set_num_threads(1)
style, steps, lr = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 150, float(sys.argv[3]) if len(sys.argv) > 3 else 2e-2
pw = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
K = int(sys.argv[5]) if len(sys.argv) > 5 else 0
tag = f"{style}_p{pw:g}_k{K}"
A, P = load_probe_data(style + "100", 256, 80)
A = A[:50]
Ptr, Pte = P[:48], P[48:72]
down = lambda t: torch.nn.functional.interpolate(t, size=(128, 128), mode="area")
A1, Ptr1 = down(A), down(Ptr)
u8 = lambda t: ((t.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
T = torch.from_numpy(np.stack([paint(style, x, seed=1) for x in u8(Pte)])).permute(0, 3, 1, 2).float() / 127.5 - 1
taps = ["relu1_2", "relu2_2", "relu3_3"]
vgg = L.load_vgg(taps)
g = torch.Generator().manual_seed(0)
with torch.no_grad():
    fa = [vgg(A1[i:i + 8]) for i in range(0, len(A1), 8)]
    bank = {t: torch.cat([L.feature_samples(f[t], 4096, g) for f in fa]) for t in taps}
head = ArtHead(palette=K)
opt = torch.optim.Adam(head.parameters(), lr=lr)
lp = LPIPS()
z = lambda x: torch.zeros(len(x), 4, *x.shape[-2:])
def cap():
    with torch.no_grad():
        o = head(Pte, z(Pte)); a = lp(o, T).flatten(); b = lp(Pte, T).flatten()
    return float((1 - a / b).mean()), o
print(style, "init cap %.3f" % cap()[0], flush=True)
t0 = time.time()
for step in range(steps):
    i = torch.randint(0, len(Ptr1), (8,), generator=g)
    o = head(Ptr1[i], z(Ptr1[i]))
    loss = L.style_swd_loss(vgg(o), bank, g)
    if pw:
        loss = loss + pw * L.palette_loss(o, A1[torch.randint(0, len(A1), (8,), generator=g)], g)
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 50 == 49:
        print(style, step + 1, "swd %.3f" % float(loss), "cap %.3f" % cap()[0], "%.0fs" % (time.time() - t0), flush=True)
c, o = cap()
from core.images import save_image
row = lambda t: np.concatenate(list(u8(t[:6])), 1)
save_image(f"runs/probes/headall_{tag}.png", np.concatenate([row(Pte), row(o), row(T)], 0))
torch.save(head.state_dict(), f"runs/probes/headall_{tag}.pt")
