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


def scored_faces(style: str, n: int):
    """(faces, photos, painter seed 1, painter seed 2) on `n` photos-half faces that are not held out: the probe
    set of diag.py, analogy.py and texsweep.py (the painters only score; images (n, 256, 256, 3) uint8)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, "scripts")
    import capture as C

    hold = set(C.holdout_names())
    names = [l.strip() for l in open("runs/art/split/photos.txt") if l.strip() and not l.startswith("#")]
    faces = C.load_faces([x for x in names if x not in hold][::7][: n + 8])[:n]
    photos = np.stack([C.show(f.crop) for f in faces])
    cache = Path("cache/diag")
    return faces, photos, C.painter_outputs(style, faces, 1, cache), C.painter_outputs(style, faces, 2, cache)


def oracle_setup(style: str, package: str, n: int = 48):
    """CAPACITY CHECKS ONLY: a package's painting head and `n` probe faces (`scored_faces`) as tensors in [-1,1]:
    (head, photos, painter seed 1, the half to fit, the half to score)."""
    from core.export import load_generator
    from core.package import load_style

    _, photos, truth, _ = scored_faces(style, n)
    return (load_generator(load_style(package)).art, unit_tensor(photos), unit_tensor(truth), slice(0, n // 2),
            slice(n // 2, n))


def probe_options(defaults: dict, argv) -> dict:
    """key=value arguments over `defaults`, each cast to its default's type; sets torch's threads and seed from them."""
    opt = dict(defaults)
    for kv in argv:
        k, v = kv.split("=", 1)
        opt[k] = type(opt[k])(v) if not isinstance(opt[k], str) else v
    torch.set_num_threads(opt["threads"])
    torch.manual_seed(opt["seed"])
    return opt


def unit_tensor(images: np.ndarray) -> torch.Tensor:
    """(N,S,S,3) uint8 -> (N,3,S,S) float in [-1,1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


def tensor_u8(t: torch.Tensor) -> np.ndarray:
    """(N,3,S,S) in [-1,1] -> (N,S,S,3) uint8."""
    return ((t.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def capture_scorer(lp, photos: np.ndarray, truth: np.ndarray):
    """capture(outputs) of images (N,S,S,3) uint8 on `photos` against the painter's `truth` (both (N,S,S,3) uint8):
    the refiner probes' score."""
    to = unit_tensor
    with torch.no_grad():
        denom = lp(to(photos), to(truth))

    def capture(outputs: np.ndarray) -> float:
        with torch.no_grad():
            return float((1 - lp(to(outputs), to(truth)) / denom).mean())
    return capture


def write_rows(file, columns) -> None:
    """A grid with one face a row: the images (N,S,S,3) uint8 of each column side by side."""
    rows = [np.concatenate([c[i] for c in columns], 1) for i in range(len(columns[0]))]
    cv2.imwrite(str(file), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))


def lpips_distance(lp, a, b):
    """Per-image LPIPS (B,) of images a, b (B,3,H,W) in [-1,1] with gradients: `studio.metrics.lpips_loss`."""
    from studio.metrics import lpips_loss

    return lpips_loss(lp, a, b)


def head_capture(head, lp, photos, truth) -> float:
    """Mean capture of a painting head applied to `photos` against `truth` (both (B,3,H,W) in [-1,1])."""
    with torch.no_grad():
        out = head(photos, None)
        return float((1 - lp(out, truth) / lp(photos, truth)).mean())


def fit_head_paired(head, lp, photos, truth, train: slice, test: slice, steps: int, label: str,
                    report=lambda: "") -> None:
    """CAPACITY CHECK ONLY: Adam (1e-2, 6 faces a step) on the LPIPS of `head`'s output to `truth` over the `train`
    faces, printing the capture on the `test` faces every 20 steps (and `report()`). Never a training recipe."""
    import time

    opt = torch.optim.Adam(list(head.parameters()), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    t0 = time.time()
    n = train.stop - train.start
    for step in range(steps):
        i = torch.randint(0, n, (6,), generator=g)
        loss = lpips_distance(lp, head(photos[train][i], None), truth[train][i]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 19:
            print(label, step + 1, "loss %.3f" % float(loss), "test %.3f" % head_capture(head, lp, photos[test],
                  truth[test]), "%.0fs" % (time.time() - t0) + report(), flush=True)
