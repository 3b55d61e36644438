import sys, numpy as np, torch, glob, cv2, time
sys.path.insert(0, ".")
from studio import losses as L
from core.generator import ArtHead
from core.images import load_image, save_image
torch.set_num_threads(2)
style = sys.argv[1]; S = 128
arts = sorted(glob.glob(f"runs/art/{style}/*.png"))
A = torch.from_numpy(np.stack([cv2.resize(load_image(p), (S,S), interpolation=cv2.INTER_AREA) for p in arts])).permute(0,3,1,2).float()/127.5-1
from core.landmarks import detect_faces
from core.alignment import align_face
ph = []
for p in sorted(glob.glob("runs/art/photos/*.jpg"))[:40]:
    im = load_image(p); f = detect_faces(im)
    if f: ph.append(align_face(im, f[0].points, S).image)
P = torch.from_numpy(np.stack(ph)).permute(0,3,1,2).float()/127.5-1
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
