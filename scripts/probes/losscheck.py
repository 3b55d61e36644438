import sys, numpy as np, torch, glob, cv2
sys.path.insert(0, ".")
from studio import losses as L
from studio.painters import toon
from core.images import load_image
torch.set_num_threads(1)
arts = sorted(glob.glob("runs/art/animation/*.png"))[:16]
art = np.stack([cv2.resize(load_image(p), (128,128), interpolation=cv2.INTER_AREA) for p in arts])
phot = sorted(glob.glob("runs/art/photos/*.jpg"))[:8]
from core.landmarks import detect_faces
from core.alignment import align_face
ph = []
for p in phot:
    im = load_image(p); f = detect_faces(im)
    if not f: continue
    a = align_face(im, f[0].points, 512)
    ph.append(a.image)
ph = np.stack(ph)
painted = np.stack([toon(x, np.random.default_rng(1)) for x in ph])
T = lambda a: torch.from_numpy(np.stack([cv2.resize(x,(128,128),interpolation=cv2.INTER_AREA) for x in a])).permute(0,3,1,2).float()/127.5-1
A, P, Q = T(art), T(ph), T(painted)
Gr = (P + 0.2*torch.randn_like(P)).clamp(-1,1)
Bl = torch.nn.functional.avg_pool2d(P, 5, 1, 2, count_include_pad=False)
for name, X in [("photo", P), ("painted", Q), ("grain", Gr), ("blur", Bl)]:
    g = torch.Generator().manual_seed(0)
    pl = np.mean([float(L.patch_loss(X, A[:len(X)], g)) for _ in range(5)])
    pa = np.mean([float(L.palette_loss(X, A[:len(X)], g)) for _ in range(5)])
    print(name, "patch %.4f palette %.4f layout %.4f" % (pl, pa, float(L.layout_loss(X, P))))
