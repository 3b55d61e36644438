"""DEV ONLY: does an unpaired criterion pick the styles whose capture the texture raises? For the cached probe faces
(texsweep.py), the style's outputs with and without a texture built from the even artworks are compared with the
odd artworks (never in the bank) by the trainer's VGG sliced-Wasserstein style distance. Usage: texcrit.py STYLE"""
import sys, glob
import cv2, numpy as np, torch
sys.path.insert(0, ".")
from core.images import load_image
from core.texture import TextureGraph
from core.texture_bank import build_bank
from studio.losses import load_vgg, style_swd_loss

torch.set_num_threads(2)
style = sys.argv[1]; sigma = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
z = np.load(f"runs/probes/texcache_{style}_12.npz"); styled = z["styled"]
arts = np.stack([cv2.resize(load_image(p), (256, 256), interpolation=cv2.INTER_AREA)
                 for p in sorted(glob.glob(f"runs/art/{style}100/*.png"))])
t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1
g, d = build_bank(arts[0::2], 1, sigma)
with torch.no_grad():
    textured = TextureGraph(1, sigma)(t(styled), torch.from_numpy(g), torch.from_numpy(d))
    taps = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    vgg = load_vgg(taps)
    target = {k: v for k, v in vgg(t(arts[1::2])).items()}
    def swd(x):
        f = vgg(x)
        return np.mean([float(style_swd_loss(f, target, torch.Generator().manual_seed(s))) for s in range(6)])
    a, b = swd(t(styled)), swd(textured)
print(f"{style}: style distance to held-out artworks: package {a:.4f}, with texture {b:.4f} ({(b - a) / a:+.1%})")
