"""DEV ONLY: learn the art from the artworks alone, as detail synthesis from a style-agnostic abstraction.
A(x) = area-downsample by F, bilinear back (the low frequencies the painters keep), then, for photos only, a
per-channel YCbCr quantile map from the photos' pooled A-statistics to the artworks' (unpaired colour transfer).
A small U-Net R is fitted on (A(art), art) pairs built from artworks alone (L1 + VGG perceptual); a photo is
stylized as R(A(photo)). Capture at SIZE px on 24 other photos against the painter (seed 1; scoring only).
Usage: abstraction.py STYLE SECONDS [F] [SIZE] [PERCEPTUAL] [WIDTH]"""
import sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, ".")
from studio import losses as L
from studio.metrics import LPIPS
from studio.painters import paint
from scripts.probes.common import load_probe_data

torch.set_num_threads(1); torch.manual_seed(0)
style, seconds = sys.argv[1], float(sys.argv[2])
fac = int(sys.argv[3]) if len(sys.argv) > 3 else 4
S = int(sys.argv[4]) if len(sys.argv) > 4 else 128
pw = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
width = int(sys.argv[6]) if len(sys.argv) > 6 else 32
A, P = load_probe_data(style + "100", 256, 110)
u8 = lambda t: ((t.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
down = lambda t, s=S: F.interpolate(t, size=(s, s), mode="area")
T = down(torch.from_numpy(np.stack([paint(style, x, seed=1) for x in u8(P[-24:])])).permute(0, 3, 1, 2).float() / 127.5 - 1)
A1, P1 = down(A), down(P)
Ptr, Pte, Tte = P1[:-24], P1[-24:], T
M = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
ycc = lambda x: torch.einsum("ij,bjhw->bihw", M, x)
rgb = lambda y: torch.einsum("ij,bjhw->bihw", torch.linalg.inv(M), y)
from core.generator import guided_smooth
def blur(x):  # F > 0: area-downsample by F and back; F < 0: self-guided edge-preserving smoothing, radius -F px
    if fac < 0:
        return guided_smooth(guided_smooth(x, -fac, torch.tensor(0.01)), -fac, torch.tensor(0.01))
    return F.interpolate(F.avg_pool2d(x, fac), size=x.shape[-2:], mode="bilinear", align_corners=False)
K = 33
qs = torch.linspace(0, 1, K)
def quantiles(x):
    y = ycc(blur(x)).transpose(0, 1).reshape(3, -1)
    return torch.stack([torch.quantile(c[torch.randperm(len(c))[:200000]], qs) for c in y])
src_q, dst_q = quantiles(Ptr), quantiles(A1)
def cmap(y):  # piecewise-linear per-channel map src_q -> dst_q
    out = []
    for c in range(3):
        xs, ys = src_q[c], dst_q[c]
        v = y[:, c:c + 1].clamp(xs[0], xs[-1])
        idx = torch.searchsorted(xs.contiguous(), v.contiguous().flatten()).clamp(1, K - 1).view_as(v)
        x0, x1, y0, y1 = xs[idx - 1], xs[idx], ys[idx - 1], ys[idx]
        out.append(y0 + (v - x0) / (x1 - x0 + 1e-8) * (y1 - y0))
    return torch.cat(out, 1)
abstract_art = blur
abstract_photo = lambda x: rgb(cmap(ycc(blur(x))))


def block(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2))


class R(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.e1, self.e2, self.e3 = block(4, c), block(c, 2 * c, 2), block(2 * c, 2 * c, 2)
        self.mid = nn.Sequential(block(2 * c, 2 * c), block(2 * c, 2 * c))
        self.d2, self.d1 = block(4 * c, 2 * c), block(3 * c, c)
        self.out = nn.Conv2d(c, 3, 3, 1, 1)
        nn.init.zeros_(self.out.weight); nn.init.zeros_(self.out.bias)

    def forward(self, a):
        x = torch.cat([a, torch.randn_like(a[:, :1])], 1)
        e1 = self.e1(x); e2 = self.e2(e1); e3 = self.mid(self.e3(e2))
        up = lambda t, ref: F.interpolate(t, size=ref.shape[-2:], mode="bilinear", align_corners=False)
        d2 = self.d2(torch.cat([up(e3, e2), e2], 1))
        d1 = self.d1(torch.cat([up(d2, e1), e1], 1))
        return a + self.out(d1)


net = R(width)
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
taps = ("relu1_2", "relu2_2", "relu3_3")
vgg = L.load_vgg(taps) if pw else None
lp = LPIPS()
base = lp(Pte, Tte).flatten()
def cap(fn):
    with torch.no_grad():
        o = fn(Pte).clamp(-1, 1)
        return float((1 - lp(o, Tte).flatten() / base).mean()), o
print(style, "F", fac, "S", S, "params", sum(p.numel() for p in net.parameters()),
      "A(photo) alone %.3f" % cap(abstract_photo)[0], "blur alone %.3f" % cap(blur)[0], flush=True)
g = torch.Generator().manual_seed(0)
t0, step, next_eval = time.time(), 0, 120.0
while time.time() - t0 < seconds:
    a = A1[torch.randint(0, len(A1), (8,), generator=g)]
    if torch.rand(1, generator=g) < 0.5:
        a = a.flip(3)
    o = net(abstract_art(a))
    loss = (o - a).abs().mean()
    if vgg is not None:
        loss = loss + pw * L.perceptual_loss(vgg(o), vgg(a), taps)
    opt.zero_grad(); loss.backward(); opt.step()
    step += 1
    if time.time() - t0 > next_eval:
        next_eval += 180
        print(style, step, "loss %.3f" % float(loss.detach()), "cap %.3f" % cap(lambda x: net(abstract_photo(x)))[0],
              "%.0fs" % (time.time() - t0), flush=True)
c, o = cap(lambda x: net(abstract_photo(x)))
print(style, "final", step, "cap %.3f" % c, flush=True)
from core.images import save_image
row = lambda t: np.concatenate(list(u8(t[:8])), 1)
with torch.no_grad():
    ab = abstract_photo(Pte).clamp(-1, 1)
save_image(f"runs/probes/abs_{style}_{fac}_{S}_{pw:g}_{width}.png", np.concatenate([row(Pte), row(ab), row(o), row(Tte)], 0))
