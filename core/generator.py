"""The light real-time generator: an encoder-decoder whose features are TPS-warped from the photo's
landmarks to the style's landmark template, globally (1/8 resolution, outline and part centres) and
locally (1/4 resolution skip features, every canonical point), so it changes geometry instead of
painting over it. Every op is a conv, a matmul or grid_sample, so it exports to ONNX (opset 17)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from core import topology
from core.tps import TemplateTPS


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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GeneratorConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown generator config keys {sorted(unknown)}; expected a subset of {sorted(names)}")
        return cls(**{"skip_bottleneck": 0, **data})  # packages written before the key existed have full skips


def default_template() -> torch.Tensor:
    """A neutral canonical template (73, 2) in normalized aligned-frame coordinates (mean photo geometry)."""
    from core.templates import PHOTO_TEMPLATE

    return torch.tensor(PHOTO_TEMPLATE, dtype=torch.float32)


def separable(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """Depthwise 3x3 then pointwise 1x1: a fraction of a full conv's MACs at the same receptive field."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1),
    )


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(separable(ch, ch), nn.LeakyReLU(0.2, True), separable(ch, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def sample(feat: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Resample feature maps (B,C,h,w) at a TPS grid (B,h,w,2)."""
    return F.grid_sample(feat, grid, mode="bilinear", padding_mode="border", align_corners=False)


def upsample_grid(grid: torch.Tensor) -> torch.Tensor:
    """A sampling grid (B,h,w,2) at twice the resolution; TPS grids are smooth, so this is near exact
    and saves the 4x larger precomputed basis (megabytes in the ONNX file)."""
    return F.interpolate(grid.permute(0, 3, 1, 2), scale_factor=2.0, mode="bilinear",
                         align_corners=False).permute(0, 2, 3, 1)


class Generator(nn.Module):
    """image (B,3,H,W) in [-1,1], canonical landmarks (B,73,2) normalized, alpha (B,) -> image (B,3,H,W) in [-1,1].

    H and W must be multiples of 8. The style template is a buffer, saved with the weights.
    """

    def __init__(self, config: GeneratorConfig | None = None, template: torch.Tensor | None = None):
        super().__init__()
        self.config = config = config or GeneratorConfig()
        c = config.channels
        self.register_buffer("template", (default_template() if template is None else template).float().clone())
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1), nn.LeakyReLU(0.2, True))
        self.down1 = nn.Sequential(separable(c, 2 * c, 2), nn.LeakyReLU(0.2, True))
        self.down2 = nn.Sequential(separable(2 * c, 4 * c, 2), nn.LeakyReLU(0.2, True))
        self.body = nn.Sequential(*[ResBlock(4 * c) for _ in range(config.blocks)])
        k = config.skip_bottleneck
        k1, k2 = (k, 2 * k) if k else (c, 2 * c)
        self.squeeze1 = nn.Conv2d(c, k1, 1) if k else nn.Identity()
        self.squeeze2 = nn.Conv2d(2 * c, k2, 1) if k else nn.Identity()
        self.up1 = nn.Sequential(nn.Conv2d(4 * c + k2, 2 * c, 1), nn.LeakyReLU(0.2, True), separable(2 * c, 2 * c),
                                 nn.LeakyReLU(0.2, True))
        self.up2 = nn.Sequential(nn.Conv2d(2 * c + k1, c, 1), nn.LeakyReLU(0.2, True), separable(c, c),
                                 nn.LeakyReLU(0.2, True))
        self.to_rgb = nn.Sequential(nn.Conv2d(c, 12, 1), nn.PixelShuffle(2))
        self._warps: dict[tuple, TemplateTPS] = {}

    def set_template(self, template: torch.Tensor) -> None:
        """Replace the style's landmark template (73,2 normalized) and drop cached warp bases."""
        self.template.copy_(template.to(self.template))
        self._warps.clear()

    def _warp(self, kind: str, h: int, w: int) -> TemplateTPS:
        key = (kind, h, w, self.template.device, self.template.data_ptr(), self.template._version)
        if key not in self._warps:
            idx = topology.GLOBAL_INDICES if kind == "global" else slice(None)
            self._warps[key] = TemplateTPS(self.template[idx].detach(), h, w, reg=self.config.tps_reg).to(
                self.template.device)
        return self._warps[key]

    def prepare(self, height: int, width: int) -> None:
        """Precompute the warp bases for an input size (before ONNX tracing, so they export as constants)."""
        self._warp("global", height // 8, width // 8)
        self._warp("local", height // 4, width // 4)

    def forward(self, image: torch.Tensor, points: torch.Tensor, alpha: torch.Tensor | float = 1.0) -> torch.Tensor:
        h, w = int(image.shape[-2]), int(image.shape[-1])  # static: the warp bases are per size
        if h % 8 or w % 8:
            raise ValueError(f"generator input must be a multiple of 8 in size, got {h}x{w}")
        if not torch.is_tensor(alpha):
            alpha = torch.full((image.shape[0],), float(alpha), device=image.device, dtype=image.dtype)
        s1 = self.stem(image)
        s2 = self.down1(s1)
        x = self.down2(s2)
        if self.config.global_warp:
            x = sample(x, self._warp("global", h // 8, w // 8)(points[:, topology.GLOBAL_INDICES], alpha))
        x = self.body(x)
        s1, s2 = self.squeeze1(s1), self.squeeze2(s2)
        if self.config.local_warp:
            grid = self._warp("local", h // 4, w // 4)(points, alpha)
            s2 = sample(s2, grid)
            s1 = sample(s1, upsample_grid(grid))
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.up1(torch.cat([x, s2], 1))
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.up2(torch.cat([x, s1], 1))
        return torch.tanh(self.to_rgb(x))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
