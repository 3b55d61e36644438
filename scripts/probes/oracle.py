# DEV ONLY capacity check: how close can the head get to the painter when fitted *paired*? Never shipped.
import sys, numpy as np, torch, time
sys.path.insert(0, ".")
from core.generator import ArtHead
from studio.metrics import LPIPS
from studio.painters import toon
from core.images import save_image
torch.set_num_threads(2)
d = torch.load("runs/probes/data_animation.pt"); P = d["P"]
u8 = lambda t: ((t.permute(0,2,3,1).numpy()+1)*127.5).clip(0,255).astype(np.uint8)
import cv2
# painter on 256 then down to 128 (closer to the eval)
T = torch.from_numpy(np.stack([toon(x, np.random.default_rng(1)) for x in u8(P)])).permute(0,3,1,2).float()/127.5-1
lp = LPIPS()
n = len(P); tr, te = slice(0, n//2), slice(n//2, n)
head = ArtHead()
with torch.no_grad():
    head.smooth_logits.copy_(torch.tensor([0., 2., 2.])); head.flat_logit.fill_(0.); head.line_logits.fill_(-1.)
opt = torch.optim.Adam(head.parameters(), lr=2e-2)
z = lambda x: torch.zeros(len(x), 4, 128, 128)
def cap(sl):
    with torch.no_grad():
        o = head(P[sl], z(P[sl])); a = lp(o, T[sl]).flatten(); b = lp(P[sl], T[sl]).flatten()
    return float((1 - a / b).mean())
print("init capture(test)", cap(te))
for step in range(150):
    i = torch.randint(0, n//2, (8,))
    loss = LPIPS.forward.__wrapped__(lp, head(P[i], z(P[i])), T[i]).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 50 == 49: print(step, float(loss), "test capture", cap(te), flush=True)
torch.save(head.state_dict(), "runs/probes/oracle_head.pt")
for nme, p in head.named_parameters(): print(nme, p.data.numpy().round(3).tolist())
with torch.no_grad(): o = head(P[te][:6], z(P[te][:6]))
save_image("runs/probes/oracle.png", np.concatenate([np.concatenate(list(u8(P[te][:6])),1), np.concatenate(list(u8(o)),1), np.concatenate(list(u8(T[te][:6])),1)],0))
