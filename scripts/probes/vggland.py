import sys, numpy as np, torch, time
sys.path.insert(0, ".")
from core.generator import ArtHead
from studio import losses as L
from studio.painters import toon
torch.set_num_threads(2)
d = torch.load("runs/probes/data_animation.pt"); P, A = d["P"], d["A"]
u8 = lambda t: ((t.permute(0,2,3,1).numpy()+1)*127.5).clip(0,255).astype(np.uint8)
T = torch.from_numpy(np.stack([toon(x, np.random.default_rng(1)) for x in u8(P)])).permute(0,3,1,2).float()/127.5-1
taps = ["relu1_2", "relu2_2", "relu3_3"]
vgg = L.load_vgg(taps)
def feats(x):
    return vgg(x)
def vswd(x, y, seed=0, n=4096):
    g = torch.Generator().manual_seed(seed)
    fx, fy = feats(x), feats(y)
    tot = 0
    for t in taps:
        a, b = fx[t], fy[t]
        c = a.shape[1]
        pa = a.permute(0,2,3,1).reshape(-1, c); pb = b.permute(0,2,3,1).reshape(-1, c)
        ia = torch.randint(0, len(pa), (n,), generator=g); ib = torch.randint(0, len(pb), (n,), generator=g)
        dirs = torch.randn(c, 64, generator=g); dirs /= dirs.norm(dim=0, keepdim=True)
        tot = tot + L.sliced_wasserstein(pa[ia], pb[ib], dirs) / (pb.pow(2).mean() + 1e-6)
    return float(tot)
z = lambda x: torch.zeros(len(x), 4, 128, 128)
heads = {}
h = ArtHead(identity=True); heads["identity"] = h
h = ArtHead()
with torch.no_grad(): h.smooth_logits.copy_(torch.tensor([0., 2., 2.])); h.flat_logit.fill_(0.); h.line_logits.fill_(-1.)
heads["generic"] = h
h = ArtHead(); h.load_state_dict(torch.load("runs/probes/oracle_head.pt")); heads["oracle"] = h
with torch.no_grad():
    outs = {k: v(P[:24], z(P[:24])) for k, v in heads.items()}
outs["painted"] = T[:24]
outs["blur"] = torch.nn.functional.avg_pool2d(P[:24], 5, 1, 2, count_include_pad=False)
with torch.no_grad():
    for k, o in outs.items():
        print(k, "vggswd %.4f" % np.mean([vswd(o, A[:24], s) for s in range(3)]))
