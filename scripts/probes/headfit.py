import sys, numpy as np, torch, glob, cv2, time
sys.path.insert(0, ".")
from studio import losses as L
from core.generator import ArtHead
from core.images import load_image, save_image
from studio.painters import toon
torch.set_num_threads(2)
style = sys.argv[1] if len(sys.argv) > 1 else "animation"
S = int(sys.argv[2]) if len(sys.argv) > 2 else 128
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 300
sys.path.insert(0, 'scripts/probes')
from common import load_probe_data
A, P = load_probe_data(style, S, 48)
head = ArtHead(identity=True)
opt = torch.optim.Adam(head.parameters(), lr=float(sys.argv[4]) if len(sys.argv) > 4 else 1e-2)
g = torch.Generator().manual_seed(0)
t0 = time.time()
for step in range(steps):
    pi = torch.randint(0, len(P), (8,), generator=g); ai = torch.randint(0, len(A), (8,), generator=g)
    x = P[pi]; y = A[ai]
    out = head(x, torch.zeros(8, 4, S, S))
    lp, lc, ll = L.patch_loss(out, y, g), L.palette_loss(out, y, g), L.layout_loss(out, x)
    loss = lp + lc + ll
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 50 == 0: print(step, "%.3f %.3f %.3f" % (float(lp), float(lc), float(ll)), "%.1fs" % (time.time()-t0), flush=True)
with torch.no_grad():
    out = head(P[:6], torch.zeros(6,4,S,S))
for n, p in head.named_parameters(): print(n, p.data.numpy().round(3).tolist())
u8 = lambda t: ((t.permute(0,2,3,1).numpy()+1)*127.5).clip(0,255).astype(np.uint8)
ref = np.stack([toon(x, np.random.default_rng(1)) for x in u8(P[:6])]) if style=="animation" else u8(A[:6])
grid = np.concatenate([np.concatenate(list(u8(P[:6])),1), np.concatenate(list(u8(out)),1), np.concatenate(list(ref),1)],0)
save_image(f"runs/probes/headfit_{style}.png", grid)
torch.save(head.state_dict(), f"runs/probes/head_{style}.pt")
