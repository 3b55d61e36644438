"""The trainer's settings without torch: `TrainConfig` (JSON, presets, validation) and the constants it checks
against, so the UI and the CLI read them without loading the trainer (`core.config` holds the generator's)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.config import GeneratorConfig
from core.errors import ConfigError, LandmarkError
from core.package import STYLIZE_MODES
from core.topology import parse_landmark_edit

PERCEPTUAL_DTYPES = ("float32", "bfloat16", "auto")
DEFAULT_WEIGHTS = {"adv": 1.0, "cycle": 5.0, "content": 1.0, "deform": 1.0, "color": 0.0, "texture": 0.0,
                   "patch": 0.0, "palette": 0.0, "layout": 0.0, "style": 0.0, "base": 0.0, "structure": 0.0}
# Settings that may change between a run and its resumption; every other one must match.
RESUMABLE = {"steps", "checkpoint_every", "keep_checkpoints", "preview_every", "threads", "mixed_precision",
             "refine_steps"}
STYLE_REPRESENTATIONS = ("rgb", "surface", "gray")  # views the style loss compares (studio.losses.style_representation)
PRESETS = ("quick", "paint", "gan", "full")
QUICK_STYLE_TAPS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # relu4_3 added: oil 0.079 -> 0.099, animation
# 0.321 -> 0.336, watercolor 0.215 (docs/training.md, sixth round)
QUICK_STEPS = 600  # docs/training.md: 6.9 min beside a second job on a 2-core CPU, capture 0.321 (50 artworks)


@dataclass
class TrainConfig:
    """Every training setting; saved as run_dir/config.json. `weights` holds one weight per loss term
    (0 switches a term off): adv, cycle, content, deform, color, texture."""

    steps: int = 2000
    size: int = 256
    batch: int = 4
    lr: float = 2e-4
    d_lr: float = 2e-4
    head_lr: float = 1e-2  # the painting head's few global parameters (smoothing, levels, lines, palette)
    maps_lr: float | None = None  # the decoder's per-pixel maps for the head (None: lr; 0 keeps the head global)
    head_detach: bool = False  # the painting head's losses stop at its input: the decoder only warps the photo
    freeze_decoder: bool = False  # only the painting head learns; the decoder (the base warp) runs without gradients
    export_size: int | None = None  # package resolution (None: size); the head's strokes scale with it
    style_crop: int | None = None  # VGG of the style loss sees one random crop of this side per image (None: all)
    package_mode: str = "face"  # the package's default stylize mode ("full": the background is painted too)
    package_keep_shape: float = 0.0  # the package's keep_shape (1: faces keep their own shape plus the style's change)
    artwork_texture: str = "off"  # the package's texture stage (core.texture: the artworks' strokes and paper on
    # each output): "on", "off", or "auto": on when it brings outputs closer to artworks it did not see
    refine_steps: int = 0  # after training, a refiner fitted for this many steps on pairs the artworks give
    # (studio.refine: each artwork destyled and painted by the head, back to itself); 0: none
    betas: tuple[float, float] = (0.5, 0.99)
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    warmup_steps: int = 200  # first steps train G alone to reproduce the aligned photo (L1 + content)
    r1_gamma: float = 1.0
    r1_every: int = 4  # lazy R1: the penalty every r1_every steps, scaled by r1_every
    ema_decay: float = 0.995
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    preview_every: int = 250
    seed: int = 0
    grad_accum: int = 1
    mixed_precision: str = "bf16"  # "no", "fp16" or "bf16"; used on GPU only, CPU always runs fp32
    no_tps: bool = False  # ablation: no feature warps in G, no pixel-space warps anywhere
    generator: dict = field(default_factory=lambda: GeneratorConfig().to_dict())
    disc_channels: int = 32
    diffaug: tuple[str, ...] = ("translation", "cutout")  # "color" hides the palette D must learn (docs/training.md)
    flip: bool = True
    photo_jitter: float = 0.1  # colour jitter of photos (brightness, contrast, saturation)
    tps_jitter: float = 0.02  # random TPS augmentation of photos and artworks (normalized units)
    deform_strength: float = 0.05  # the random warp T of the deformation-invariance loss
    content_taps: tuple[str, ...] = ("relu3_3", "relu4_3")
    texture_taps: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3")
    style_taps: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3")  # VGG taps of the sliced Wasserstein style loss
    perceptual_size: int = 256  # VGG sees images resized to at most this side
    perceptual_dtype: str = "float32"  # "bfloat16": the style loss's VGG pass under bf16 autocast (2x on CPUs with
    # AVX512-BF16 or AMX, and on GPUs; on a CPU without them oneDNN has no bf16 convolution and torch falls back to a
    # slow path, 52x slower than fp32 on an AVX2 EPYC); "auto": bf16 only where it is fast
    # (studio.train.resolve_perceptual_dtype); the artworks' feature bank stays fp32
    style_samples: int = 4096  # feature vectors per tap in the sliced Wasserstein style loss (its sort dominates)
    style_projections: int = 64  # random directions per tap and step of that loss
    style_reps: dict = field(default_factory=lambda: {"rgb": 1.0})  # weight per view the style loss compares:
    # "rgb", "surface" (guided-filtered) or "gray" (studio.losses.style_representation); one VGG pass each
    vgg_download: bool = True  # let torchvision download VGG16 when the shared file is absent
    holdout: int = 4  # photos kept out of training for the preview grid
    photo_limit: int | None = None
    missing: str = "exclude"
    exclude_outliers: bool = False
    landmark_edit: dict = field(default_factory=dict)  # studio.data.edit_landmarks on every artwork, e.g. anime eyes
    cache_dir: str = "cache"
    artwork_license: str = ""
    threads: int | None = None  # torch CPU threads (None: torch's default)

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)
        self.diffaug = tuple(self.diffaug)
        self.content_taps = tuple(self.content_taps)
        self.texture_taps = tuple(self.texture_taps)
        self.style_taps = tuple(self.style_taps)
        self.weights = {**DEFAULT_WEIGHTS, **self.weights}

    def validate(self) -> None:
        def bad(msg: str) -> ConfigError:
            return ConfigError(f"training config: {msg}")

        if self.size % 8 or self.size < 64:
            raise bad(f"size {self.size} must be a multiple of 8, at least 64")
        if self.export_size is not None and (self.export_size % 8 or not 64 <= self.export_size <= 1024):
            raise bad(f"export_size {self.export_size} must be a multiple of 8 between 64 and 1024")
        if self.style_crop is not None and not 32 <= self.style_crop <= self.size:
            raise bad(f"style_crop {self.style_crop} must be between 32 and size ({self.size})")
        if self.perceptual_dtype not in PERCEPTUAL_DTYPES:
            raise bad(f"perceptual_dtype {self.perceptual_dtype!r} must be one of {list(PERCEPTUAL_DTYPES)}")
        if not 256 <= self.style_samples <= 65536:
            raise bad(f"style_samples {self.style_samples} must be between 256 and 65536")
        kinds = STYLE_REPRESENTATIONS
        if not isinstance(self.style_reps, dict) or not self.style_reps or set(self.style_reps) - set(kinds) or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1e3
                for v in self.style_reps.values()):
            raise bad(f"style_reps {self.style_reps} must map some of {list(kinds)} to weights in (0, 1000)")
        if not 4 <= self.style_projections <= 1024:
            raise bad(f"style_projections {self.style_projections} must be between 4 and 1024")
        if self.package_mode not in STYLIZE_MODES:
            raise bad(f"package_mode {self.package_mode!r} must be one of {list(STYLIZE_MODES)}")
        if not 0 <= self.package_keep_shape <= 1:
            raise bad(f"package_keep_shape {self.package_keep_shape} must be in [0, 1]")
        if self.artwork_texture not in ("auto", "on", "off"):
            raise bad(f"artwork_texture {self.artwork_texture!r} must be 'auto', 'on' or 'off'")
        if not 0 <= int(self.refine_steps) <= 100000:
            raise bad(f"refine_steps {self.refine_steps} must be between 0 (no refiner) and 100000")
        if self.freeze_decoder and GeneratorConfig.from_dict(self.generator).head != "art":
            raise bad("freeze_decoder trains only the painting head: set generator head 'art'")
        for key in ("steps", "batch", "grad_accum", "checkpoint_every", "preview_every", "r1_every",
                    "keep_checkpoints"):
            if int(getattr(self, key)) < 1:
                raise bad(f"{key} must be at least 1, got {getattr(self, key)}")
        unknown = set(self.weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise bad(f"unknown loss weights {sorted(unknown)}; expected {sorted(DEFAULT_WEIGHTS)}")
        if any(not math.isfinite(v) or v < 0 for v in self.weights.values()):
            raise bad(f"loss weights must be finite and >= 0, got {self.weights}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise bad(f"mixed_precision must be 'no', 'fp16' or 'bf16', got {self.mixed_precision!r}")
        if not 0 <= self.ema_decay < 1:
            raise bad(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        try:
            parse_landmark_edit(self.landmark_edit)
        except LandmarkError as exc:
            raise bad(str(exc)) from None
        try:
            GeneratorConfig.from_dict(self.generator)
        except (TypeError, ValueError) as exc:
            raise bad(f"generator: {exc}") from None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, base: "TrainConfig | None" = None) -> "TrainConfig":
        """A config from a (partial) dict over `base` (default: the defaults); unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"unknown training config keys {sorted(unknown)}; expected a subset of {sorted(names)}")
        merged = {**(base or cls()).to_dict(), **data}
        if "weights" in data:
            merged["weights"] = {**(base or cls()).weights, **data["weights"]}
        if "generator" in data:
            merged["generator"] = {**(base or cls()).generator, **data["generator"]}
        return cls(**merged)

    @classmethod
    def load(cls, path: str | Path, base: "TrainConfig | None" = None) -> "TrainConfig":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"training config {path} does not exist") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"training config {path} is not valid JSON ({exc})") from None
        return cls.from_dict(data, base)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def preset(cls, name: str) -> "TrainConfig":
        """"quick" (the Studio tab's default, a CPU quarter-hour): the painting head with a per-image palette (found by
        hue before shading) fitted to the artworks' VGG feature statistics over a frozen, exact TPS warp, 128 px,
        exported at 256;
        "paint": the same (its earlier name); "gan": the earlier GAN + cycle recipe at 128 px (an ablation);
        "full": that GAN recipe at 256 px, 20000 steps (GPU)."""
        head = dict(size=128, export_size=256, steps=QUICK_STEPS, batch=8, perceptual_size=128, checkpoint_every=100,
                    preview_every=100, head_lr=2e-2, warmup_steps=0, freeze_decoder=True, style_crop=None,
                    package_mode="full", package_keep_shape=1.0, perceptual_dtype="auto", style_samples=2048,
                    style_taps=QUICK_STYLE_TAPS, artwork_texture="auto",
                    generator={**GeneratorConfig().to_dict(), "head": "art", "pixel_skip": True, "palette": 8,
                               "anchors": 16, "palette_chroma": True},
                    weights={**{k: 0.0 for k in DEFAULT_WEIGHTS}, "style": 1.0})
        presets = {
            "quick": head,
            "paint": head,
            "gan": dict(size=128, steps=1500, batch=4, perceptual_size=128, checkpoint_every=250,
                        preview_every=250, lr=5e-4, d_lr=5e-4),
            "full": dict(size=256, steps=20000, batch=8, perceptual_size=256, checkpoint_every=1000,
                         preview_every=500, ema_decay=0.999),
        }
        if name not in presets:
            raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(presets)}")
        return cls(**presets[name])


def preset_defaults(preset: str) -> tuple[int, int]:
    """(steps, size) of a preset, as the Studio tab shows them; unknown names fall back to quick."""
    config = TrainConfig.preset(preset if preset in PRESETS else "quick")
    return config.steps, config.size
