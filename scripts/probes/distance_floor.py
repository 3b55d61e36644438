"""DESIGN ANALYSIS ONLY: the same style distance as line_distance.py for the painter's outputs on the pool photos
and for the artworks' two halves against each other: where the floor of the trainer's objective lies.

    python scripts/probes/distance_floor.py animation
"""
import sys, glob
sys.path.insert(0, ".")
import numpy as np, torch, cv2
from core.images import load_image
from studio.data import build_photo_pool, default_photo_source
from studio.losses import load_vgg
from studio.texture import texture_distance
from studio.painters import paint
torch.set_num_threads(2)
style = sys.argv[1]
pool = build_photo_pool(default_photo_source(), 256)
pick = np.linspace(0, len(pool) - 1, 32).round().astype(int)
files = sorted(glob.glob(f"runs/art/{style}100/*.png"))
arts = np.stack([cv2.resize(load_image(p), (256, 256), interpolation=cv2.INTER_AREA) for p in files])
vgg = load_vgg(("relu1_2", "relu2_2", "relu3_3", "relu4_3"))
painted = np.stack([cv2.resize(paint(style, cv2.resize(pool.images[i], (512, 512), interpolation=cv2.INTER_CUBIC), seed=5), (256, 256), interpolation=cv2.INTER_AREA) for i in pick])
print(style, "painter on pool photos (analysis only)", round(texture_distance(painted, arts[1::2], vgg), 4))
print(style, "artworks even vs odd", round(texture_distance(arts[0::2][:32], arts[1::2], vgg), 4))
