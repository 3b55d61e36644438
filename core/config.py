"""Settings that need no torch: the generator's config, the project's Hub tags and the style-name rule. The UI,
the Hub code and the command line import them (and `studio.config`, which adds the trainer's) without loading torch."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

PROJECT_TAG = "portrait-studio"  # the Hub tag and library name of every style package
CARD_TAGS = ("portrait-stylization", "thin-plate-spline", "onnx", "image-to-image", PROJECT_TAG)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # a style's name: its folder, its Hub repo's default name


def style_name(text: str | None, fix: str = "choose a name such as my-style") -> str:
    """The package name for what a user typed or what a folder is called, one rule for the app and the command line:
    lower-cased, each run of other characters than letters, digits, '-' and '_' made one '-', none at either end.
    StylePackageError (a ValueError) naming the rule and `fix` when nothing valid is left."""
    from core.errors import StylePackageError

    value = re.sub(r"[^a-z0-9_-]+", "-", (text or "").strip().lower()).strip("-_")
    if not NAME_RE.match(value):
        raise StylePackageError(f"style name {text!r} must hold 1-64 lowercase letters, digits, '-' or '_' "
                                f"(spaces and other characters become '-'); {fix}")
    return value

HEADS = ("art", "rgb")  # GeneratorConfig.head: the painting head, or the decoder's image as is
# GeneratorConfig's keys and what each may hold in a package's style.json (core.package validates with it)
MODEL_FIELDS = {"channels": ("int", 1, 512), "blocks": ("int", 0, 64), "global_warp": ("bool",),
                "local_warp": ("bool",), "tps_reg": ("number", 0, 1), "skip_bottleneck": ("int", 0, 512),
                "head": ("choice", HEADS), "pixel_skip": ("bool",), "palette": ("int", 0, 32),
                "anchors": ("int", 0, 64), "strokes": ("bool",), "refiner": ("int", 0, 64),
                "refiner_blocks": ("int", 1, 8), "refiner_lowcut": ("int", 0, 64),
                "palette_chroma": ("bool",)}


@dataclass
class GeneratorConfig:
    """Width and depth of the generator; the defaults meet the 25 ms / 512x512 CPU target."""

    channels: int = 16  # at 1/2 resolution; 2x at 1/4, 4x at 1/8
    blocks: int = 4  # residual blocks at 1/8 resolution
    global_warp: bool = True
    local_warp: bool = True
    tps_reg: float = 1e-3  # smoothing of the feature-space TPS (normalized units)
    skip_bottleneck: int = 4  # 1x1-squeeze the 1/2 skip to this many channels (2x that at 1/4) before the local
    # warp: grid_sample is memory-bound and was 14 of 25 ms at 512 px under ONNX Runtime; 0 keeps full width
    head: str = "rgb"  # "rgb": the decoder's image as is (every package written before the head existed);
    # "art": the learned painting head (`ArtHead`) after the decoder (docs/training.md)
    pixel_skip: bool = False  # the decoder adds a residual to the photo resampled at full resolution through the
    # same TPS warp, so it starts as an exact, sharp warp (False: it paints every pixel itself, older packages)
    palette: int = 0  # art head only: >0 flattens into that many colours found per image by soft k-means, with
    # outlines where the colours change (White-box's structure prior); 0: the value staircase (older packages)
    anchors: int = 0  # fixed points per side on the crop's border in the template warps, so a shape change stays
    # local instead of moving the whole crop (0: unanchored, older packages)
    strokes: bool = False  # art head only: brush strokes (smoothing along the edges' flow) with bristle streaks
    # and impasto relief, all amounts learned (False: older packages)
    refiner: int = 0  # width of a residual conv refiner after the head, trained on pairs the artworks give
    # (studio.refine; 0: none, older packages)
    refiner_blocks: int = 4  # its residual blocks (dilations 1, 2, 4, 1, ...)
    refiner_lowcut: int = 0  # >1: its residual minus the residual's average over cells of this many px, so the
    # head keeps the tones and colours and the refiner changes detail only (0: the whole residual)
    palette_chroma: bool = False  # art head with a palette: find its colours in luma and chroma with the chroma
    # axes scaled by a learned weight, so hue separates regions more than shading (False: in RGB, older packages)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GeneratorConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown generator config keys {sorted(unknown)}; expected a subset of {sorted(names)}")
        # packages written before a key existed have full skips and no painting head
        config = cls(**{"skip_bottleneck": 0, "head": "rgb", "pixel_skip": False, "palette": 0, "strokes": False,
                         "anchors": 0, "refiner": 0, "refiner_blocks": 4, "refiner_lowcut": 0, "palette_chroma": False,
                         **data})
        if config.head not in HEADS:
            raise ValueError(f"unknown generator head {config.head!r}; expected one of {HEADS}")
        if not 0 <= int(config.anchors) <= 64:
            raise ValueError(f"generator anchors must be 0 (off) to 64 per side, got {config.anchors}")
        if not 0 <= int(config.refiner) <= 64 or not 1 <= int(config.refiner_blocks) <= 8 or not (
                0 <= int(config.refiner_lowcut) <= 64):
            raise ValueError(f"generator refiner must be 0 (off) to 64 wide with 1 to 8 blocks and a lowcut of 0 to "
                             f"64 px, got {config.refiner} wide, {config.refiner_blocks} blocks, lowcut "
                             f"{config.refiner_lowcut}")
        if not 0 <= int(config.palette) <= 32:
            raise ValueError(f"generator palette must be 0 (off) to 32 colours, got {config.palette}")
        return config

