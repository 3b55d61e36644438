import sys, numpy as np, torch, time
sys.path.insert(0, ".")
from core.generator import ArtHead
from studio import losses as L
from studio.metrics import LPIPS
from studio.painters import toon
from core.images import save_image
torch.set_num_threads(2)
init, steps, lw = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
d = torch.load("runs/probes/data_animation.pt"); P, A = d["P"], d["A"]
u8 = lambda t: ((t.permute(0,2,3,1).numpy()+1)*127.5).clip(0,255).astype(np.uint8)
T = torch.from_numpy(np.stack([toon(x, np.random.default_rng(1)) for x in u8(P)])).permute(0,3,1,2).float()/127.5-1
taps = ["relu1_2", "relu2_2", "relu3_3"]
vgg = L.load_vgg(taps)
with torch.no_grad():
    g = torch.Generator().manual_seed(0)
    fa = [vgg(A[i:i+8]) for i in range(0, len(A), 8)]
    bank = {t: torch.cat([L.feature_samples(f[t], 4096, g) for f in fa]) for t in taps}
z = lambda x: torch.zeros(len(x), 4, 128, 128)
head = ArtHead(identity=(init == "identity"))
if init == "generic":
    with torch.no_grad(): head.smooth_logits.copy_(torch.tensor([0., 2., 2.])); head.flat_logit.fill_(0.); head.line_logits.fill_(-1.)
opt = torch.optim.Adam(head.parameters(), lr=2e-2)
lp = LPIPS(); n = len(P); te = slice(n//2, n)
def cap(sl):
    with torch.no_grad():
        o = head(P[sl], z(P[sl])); a = lp(o, T[sl]).flatten(); b = lp(P[sl], T[sl]).flatten()
    return float((1 - a / b).mean())
print("init", cap(te))
t0 = time.time()
for step in range(steps):
    i = torch.randint(0, n//2, (8,), generator=g)
    o = head(P[i], z(P[i]))
    ls = L.style_swd_loss(vgg(o), bank, g); ll = L.layout_loss(o, P[i])
    loss = ls + lw * ll
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 50 == 49: print(step, "%.3f %.3f" % (float(ls), float(ll)), "cap", round(cap(te), 3), "%.0fs" % (time.time()-t0), flush=True)
with torch.no_grad(): o = head(P[te][:6], z(P[te][:6]))
save_image(f"runs/probes/hf2_{init}.png", np.concatenate([np.concatenate(list(u8(P[te][:6])),1), np.concatenate(list(u8(o)),1), np.concatenate(list(u8(T[te][:6])),1)],0))
torch.save(head.state_dict(), f"runs/probes/hf2_{init}.pt")
