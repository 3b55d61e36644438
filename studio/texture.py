"""`python -m studio texture`: give a style package a texture from its artworks (core.texture): their fine detail
(strokes, paper, washes) moved onto every output patch by a guided search near the same place of the face.
The trainer does the same at export with `texture_bank` > 0. The package then carries its artworks as an atlas."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


DECIDE_PHOTOS = 16  # pool photos the texture decision stylizes


def texture_from_artworks(package, sources, count: int | None = None, radius: int | None = None,
                          sigma: float | None = None, decide: bool = False, photos=None, overrides=None,
                          cache_dir: str | Path | None = "cache") -> tuple[object, dict]:
    """Align the artworks in `sources` at the package's resolution (as the engine aligns photos) and write the
    package's texture from up to `count` of them (evenly spaced; None: all, at most core.texture_bank.TEXTURE_MAX).
    With `decide`, only when `texture_helps` on DECIDE_PHOTOS photos of `photos` (default: the trainer's pool).
    Returns (the package, {"added", "distance_without", "distance_with"})."""
    from core.export import add_texture
    from core.package import load_style
    from studio.data import build_style_set

    package = load_style(package) if not hasattr(package, "config") else package
    style = build_style_set(sources, package.config.resolution, overrides, "exclude", cache_dir=cache_dir)
    crops = texture_crops(style.images, count)
    report: dict = {"added": True}
    if decide:
        outputs = pool_outputs(package, photos)
        helps, before, after = texture_helps(outputs, crops, radius, sigma)
        report = {"added": bool(helps), "distance_without": round(before, 4), "distance_with": round(after, 4)}
        if not helps:
            return package, report
    return add_texture(package, crops, radius, sigma), report


def pool_outputs(package, photos=None, count: int = DECIDE_PHOTOS):
    """The style's outputs (count, S, S, 3) uint8 without a texture on `count` photos of a pool, each one
    resized to the package's resolution first (the bundled pool's crops are aligned faces already)."""
    import cv2

    from core.engine import stylize
    from studio.data import build_photo_pool, default_photo_source

    size = package.config.resolution
    pool = build_photo_pool(photos or default_photo_source(), size)
    pick = np.linspace(0, len(pool) - 1, min(count, len(pool))).round().astype(int)
    out = [stylize(pool.images[i], package, texture=False, max_side=None).image for i in pick]
    return np.stack([cv2.resize(o, (size, size), interpolation=cv2.INTER_AREA) for o in out])


def texture_crops(images, count: int | None):
    """Up to `count` of the aligned artworks (N, S, S, 3), evenly spaced (None: all)."""
    if count is None or count >= len(images):
        return images
    if count < 1:
        raise ValueError(f"a texture needs at least one artwork, got count={count}")
    return images[np.linspace(0, len(images) - 1, count).round().astype(int)]


def stage_parser(subparsers: argparse._SubParsersAction, name: str, help: str, description: str,
                 auto: str) -> argparse.ArgumentParser:
    """A `python -m studio` command that adds a stage to a style from its artworks (texture, refine): the style,
    --artworks, --auto (`auto` says what it keeps) and --photos for the decision."""
    p = subparsers.add_parser(name, help=help, description=description)
    p.add_argument("style", help="style package folder or installed style name")
    p.add_argument("--artworks", required=True, help="folder of the style's artworks")
    p.add_argument("--auto", action="store_true", help=auto)
    p.add_argument("--photos", help="photo pool for --auto (default: the bundled pool)")
    return p


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add `texture` to the `python -m studio` command line."""
    p = stage_parser(subparsers, "texture", "give a style the fine detail of its artworks (texture transfer)",
                     "Write a texture into a style package from a folder of its artworks: outputs keep their colours "
                     "and shapes and take the artworks' strokes and paper. The package then holds the aligned "
                     "artworks as texture.jpg.",
                     "add it only if it brings the style's outputs closer to artworks the bank did not see (the "
                     "trainer's default)")
    p.add_argument("--count", type=int, help="artworks in the bank (default: all, at most 128)")
    p.add_argument("--radius", type=int, help="search radius in half-resolution pixels (default 1)")
    p.add_argument("--sigma", type=float, help="low-pass that separates colour from detail, px (default 2)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    package, report = texture_from_artworks(args.style, args.artworks, args.count, args.radius, args.sigma,
                                            decide=args.auto, photos=args.photos)
    if "distance_with" in report:
        print(f"style distance to unseen artworks: {report['distance_without']} without a texture, "
              f"{report['distance_with']} with it")
    if not report["added"]:
        print(f"{package.path}: unchanged (the texture does not bring this style closer to its artworks)")
        return 0
    t = package.config.texture
    print(f"{package.path}: texture from {t['count']} artworks (radius {t['radius']}, sigma {t['sigma']})")
    return 0


def vgg_samples(images, vgg, per_image: int = 2048, chunk: int = 4) -> dict:
    """Random VGG feature vectors {tap: (N * per_image, C)} of images (N, S, S, 3) uint8, a few images at a time
    (all feature maps of 50 artworks at 256 px at once took 1.5 GB more than the training itself)."""
    import torch

    from core.images import images_to_unit
    from studio.losses import feature_samples

    g = torch.Generator().manual_seed(0)
    out: dict = {}
    with torch.no_grad():
        for i in range(0, len(images), chunk):
            feats = vgg(torch.from_numpy(images_to_unit(images[i:i + chunk])))
            for tap, f in feats.items():
                out.setdefault(tap, []).append(feature_samples(f, per_image * len(f), g))
    return {tap: torch.cat(v) for tap, v in out.items()}


def texture_distance(outputs, artworks, vgg, seeds: int = 6) -> float:
    """The trainer's style distance (VGG sliced Wasserstein, `studio.losses.style_swd_loss`) between images
    (M, S, S, 3) uint8 and artworks (N, S, S, 3) uint8, averaged over a few random seeds."""
    import torch

    from studio.losses import style_swd_loss

    target = vgg_samples(artworks, vgg)
    feats = {tap: v.t()[None, :, None, :] for tap, v in vgg_samples(outputs, vgg).items()}  # (1, C, 1, K) "maps"
    return float(np.mean([float(style_swd_loss(feats, target, torch.Generator().manual_seed(s)))
                          for s in range(seeds)]))


def texture_helps(outputs, crops, radius: int | None = None, sigma: float | None = None, vgg=None
                  ) -> tuple[bool, float, float]:
    """Whether a texture brings a style's outputs (M, S, S, 3) uint8 closer to its art, decided without any
    painter: a bank from the even artworks (N, S, S, 3) is applied to the outputs, and both versions are compared
    with the odd artworks, which the bank never saw. Returns (helps, distance without, distance with)."""
    import torch

    from core.images import images_to_unit, unit_to_images
    from core.texture import RADIUS, SIGMA, TextureGraph
    from core.texture_bank import build_bank
    from studio.losses import load_vgg

    if len(crops) < 4:
        raise ValueError(f"deciding on a texture needs at least 4 artworks (half build it, half judge), got "
                         f"{len(crops)}")
    radius = RADIUS if radius is None else radius
    sigma = SIGMA if sigma is None else sigma
    vgg = vgg or load_vgg(("relu1_2", "relu2_2", "relu3_3", "relu4_3"))
    if vgg is None:
        raise FileNotFoundError("the texture decision needs the VGG16 weights: run `python -m studio weights`")
    g, d = build_bank(crops[0::2], radius, sigma)
    with torch.no_grad():
        y = TextureGraph(radius, sigma)(torch.from_numpy(images_to_unit(outputs)), torch.from_numpy(g),
                                        torch.from_numpy(d))
    textured = unit_to_images(y)
    before = texture_distance(outputs, crops[1::2], vgg)
    after = texture_distance(textured, crops[1::2], vgg)
    return after < before, before, after
