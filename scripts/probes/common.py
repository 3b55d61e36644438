"""Shared by the probes: artworks and aligned training-half photos as tensors (B,3,S,S) in [-1,1]."""
import glob

import cv2
import numpy as np
import torch

from core.alignment import align_face
from core.images import load_image
from core.landmarks import detect_faces


def load_probe_data(style: str, size: int, photos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(artworks of runs/art/STYLE, the first `photos` photos of runs/art/photos with a detected face, aligned)."""
    arts = sorted(glob.glob(f"runs/art/{style}/*.png"))
    A = np.stack([cv2.resize(load_image(p), (size, size), interpolation=cv2.INTER_AREA) for p in arts])
    ph = []
    for p in sorted(glob.glob("runs/art/photos/*.jpg"))[:photos]:
        im = load_image(p)
        f = detect_faces(im)
        if f:
            ph.append(align_face(im, f[0].points, size).image)
    to = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1
    return to(A), to(np.stack(ph))
