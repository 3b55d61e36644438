import sys, numpy as np, torch, glob, cv2, time
sys.path.insert(0, ".")
from studio import losses as L
from core.generator import ArtHead
from core.images import load_image, save_image
torch.set_num_threads(2)
style = sys.argv[1]; S = 128
sys.path.insert(0, 'scripts/probes')
from common import load_probe_data
A, P = load_probe_data(style, S, 40)
torch.save({"A": A, "P": P}, f"runs/probes/data_{style}.pt")
def objective(head, n=24):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        out = head(P[:n], torch.zeros(n, 4, S, S))
        return float(L.patch_loss(out, A[:n], g, count=8192, projections=128)), float(L.palette_loss(out, A[:n], g, count=8192)), float(L.layout_loss(out, P[:n]))
settings = {
 "identity": {},
 "fine": {"smooth_logits": [0., 4., 0.], "log_eps": [-4., -4.]},
 "wide": {"smooth_logits": [0., 0., 4.], "log_eps": [-4., -4.]},
 "wide_e3": {"smooth_logits": [0., 0., 4.], "log_eps": [-3., -3.]},
 "wide+flat": {"smooth_logits": [0., 0., 4.], "log_eps": [-4., -4.], "flat_logit": 2.0},
 "wide+flat+lines": {"smooth_logits": [0., 0., 4.], "log_eps": [-4., -4.], "flat_logit": 2.0, "line_logits": [0., 0.]},
 "wide+lines": {"smooth_logits": [0., 0., 4.], "log_eps": [-4., -4.], "line_logits": [0., 0.]},
 "mid+flat+lines": {"smooth_logits": [0., 2., 2.], "log_eps": [-4., -4.], "flat_logit": 0.0, "line_logits": [-1., -1.]},
}
for name, kw in settings.items():
    h = ArtHead(identity=True)
    with torch.no_grad():
        for k, v in kw.items(): getattr(h, k).copy_(torch.tensor(v))
    print(name, ["%.4f" % v for v in objective(h)])
