"""DESIGN ANALYSIS ONLY: the trainer's unpaired style distance (studio.texture.texture_distance, 32 pool photos
against the odd artworks) of a package head with its lines at other XDoG thresholds, and with line masks of the
painter's recipe (scripts/probes/line_ops.py) over it. The painter never trains anything.

    python scripts/probes/line_distance.py styles/animation animation
"""
import sys, glob
sys.path.insert(0, ".")
import numpy as np, torch, cv2
from core.export import load_generator
from core.package import load_style
from core.images import load_image
from studio.data import build_photo_pool, default_photo_source
from studio.losses import load_vgg
from studio.texture import texture_distance
from scripts.probes.common import unit_tensor, tensor_u8
torch.set_num_threads(2)
pkg = sys.argv[1]; style = sys.argv[2]
head = load_generator(load_style(pkg)).art
pool = build_photo_pool(default_photo_source(), 256)
pick = np.linspace(0, len(pool) - 1, 32).round().astype(int)
X = unit_tensor(np.stack([pool.images[i] for i in pick]))
arts = np.stack([cv2.resize(load_image(p), (256, 256), interpolation=cv2.INTER_AREA) for p in sorted(glob.glob(f"runs/art/{style}100/*.png"))[1::2]])
vgg = load_vgg(("relu1_2", "relu2_2", "relu3_3", "relu4_3"))
print("photos", round(texture_distance(tensor_u8(X), arts, vgg), 4))
for eps in (None, -0.05, -0.02, -0.005):
    with torch.no_grad():
        if eps is not None: head.line_eps.fill_(eps)
        out = tensor_u8(head(X, None))
    print(eps, round(texture_distance(out, arts, vgg), 4), flush=True)
sys.path.insert(0, "scripts/probes")
import line_ops as LO
head = load_generator(load_style(pkg)).art
with torch.no_grad():
    base = tensor_u8(head(X, None)).astype(np.float32) / 255
photos = tensor_u8(X)
for v in ["painter", "plain", "at256_plain_no_drop"]:
    m = np.stack([LO.lines(cv2.resize(p, (512, 512), interpolation=cv2.INTER_CUBIC) if not LO.VARIANTS[v].get("at256") else cv2.resize(p, (512, 512)), **LO.VARIANTS[v], **({'sigma': 1.7} if style == 'ink' else {})) for p in photos])
    m = np.stack([cv2.resize(x, (256, 256), interpolation=cv2.INTER_AREA) for x in m])[..., None]
    out = np.clip((base * (1 - m) + (np.array([0.09, 0.08, 0.08], np.float32) if style == "ink" else base * 0.18) * m) * 255, 0, 255).round().astype(np.uint8)
    print("lines", v, round(texture_distance(out, arts, vgg), 4), "ink %.3f" % m.mean(), flush=True)
