"""The light real-time generator: an encoder-decoder whose features are TPS-warped from the photo's
landmarks to the style's landmark template, globally (1/8 resolution, outline and part centres) and
locally (1/4 resolution skip features, every canonical point), so it changes geometry instead of
painting over it. Every op is a conv, a matmul or grid_sample (exported as gathers), so it exports to ONNX
(opset 17)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from core import topology
from core.config import HEADS, GeneratorConfig  # noqa: F401 - HEADS re-exported (core.generator.HEADS)
from core.tps import TemplateTPS, border_anchors, identity_grid


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


def gather_bilinear(feat: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """`grid_sample` (bilinear, border, align_corners=False) of feat (B,C,h,w) at grid (B,H,W,2), written as four
    GatherElements on the flattened maps: ONNX Runtime runs a style graph written this way in 0.81-0.83x the time
    of its GridSample version (docs/engine.md, "GridSample as gathers")."""
    c, h, w = int(feat.shape[1]), int(feat.shape[2]), int(feat.shape[3])
    oh, ow = int(grid.shape[1]), int(grid.shape[2])
    g = grid.reshape(-1, 1, oh * ow, 2)
    x = (((g[..., 0] + 1) * w - 1) * 0.5).clamp(0, w - 1)  # border padding clamps the pixel coordinate
    y = (((g[..., 1] + 1) * h - 1) * 0.5).clamp(0, h - 1)
    x0, y0 = x.floor(), y.floor()
    wx, wy = x - x0, y - y0
    x0i, y0i = x0.long(), y0.long()
    x1i, y1i = (x0i + 1).clamp(max=w - 1), (y0i + 1).clamp(max=h - 1)
    flat = feat.reshape(-1, c, h * w)

    def at(yi: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:  # (B,1,N) indices -> (B,C,N)
        return torch.gather(flat, 2, (yi * w + xi).expand(-1, c, -1))

    top = at(y0i, x0i)
    top = top + (at(y0i, x1i) - top) * wx
    bottom = at(y1i, x0i)
    bottom = bottom + (at(y1i, x1i) - bottom) * wx
    return (top + (bottom - top) * wy).reshape(-1, c, oh, ow)


def sample(feat: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Resample feature maps (B,C,h,w) at a TPS grid (B,h,w,2); exported as gathers (`gather_bilinear`), which
    ONNX Runtime runs faster than its GridSample, while torch keeps its own grid_sample."""
    if torch.onnx.is_in_onnx_export():
        return gather_bilinear(feat, grid)
    return F.grid_sample(feat, grid, mode="bilinear", padding_mode="border", align_corners=False)


def upsample_grid(grid: torch.Tensor) -> torch.Tensor:
    """A sampling grid (B,h,w,2) at twice the resolution; TPS grids are smooth, so this is near exact
    and saves the 4x larger precomputed basis (megabytes in the ONNX file)."""
    return F.interpolate(grid.permute(0, 3, 1, 2), scale_factor=2.0, mode="bilinear",
                         align_corners=False).permute(0, 2, 3, 1)


def full_grid(grid: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A coarse sampling grid (B,h,w,2) at (height, width): the displacement from the identity is upsampled, not
    the coordinates, so pixels at the image border sample the border exactly (no half-cell shift)."""
    h, w = int(grid.shape[1]), int(grid.shape[2])
    shift = grid - identity_grid(h, w, dtype=grid.dtype, device=grid.device)
    shift = F.interpolate(shift.permute(0, 3, 1, 2), size=(height, width), mode="bilinear", align_corners=False)
    return identity_grid(height, width, dtype=grid.dtype, device=grid.device) + shift.permute(0, 2, 3, 1)


# --------------------------------------------------------------------------- the painting head
# Pure functions over images (B,C,H,W) in [0,1]; lengths are in pixels of a 256 px face crop and scale with
# the input size, so a style trained at 128 px paints the same strokes at 512 px.

LUMA = (0.299, 0.587, 0.114)


def luma(x: torch.Tensor) -> torch.Tensor:
    """Rec. 601 luma (B,1,H,W) of RGB (B,3,H,W)."""
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window (B,C,H,W) -> (B,C,H,W); border windows average only what lies inside."""
    return F.avg_pool2d(x, 2 * radius + 1, 1, radius, count_include_pad=False)


def guided_smooth(x: torch.Tensor, radius: float, eps: torch.Tensor, factor: int = 1) -> torch.Tensor:
    """Edge-preserving self-guided filter (He et al. 2013) per channel of x (B,C,H,W), radius in pixels, eps a
    scalar tensor (the variance below which detail is flattened); coefficients at 1/factor resolution then
    upsampled (the fast guided filter), which is what makes wide radii cheap at 512 px."""
    lo = F.avg_pool2d(x, factor) if factor > 1 else x
    r = max(1, int(round(radius / factor)))
    mean = box_mean(lo, r)
    var = (box_mean(lo * lo, r) - mean * mean).clamp_min(0)
    a = var / (var + eps)
    b = mean - a * mean
    a, b = box_mean(a, r), box_mean(b, r)
    if factor > 1:
        a = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=False)
        b = F.interpolate(b, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return a * x + b


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """Normalized 1-D Gaussian (K,) with K = 2*ceil(3 sigma)+1."""
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B,C,H,W), replicate borders."""
    k = gaussian_kernel(sigma).to(x)
    c, r = int(x.shape[1]), (len(k) - 1) // 2  # python ints: the ONNX graph gets constant kernels
    x = F.pad(x, (r, r, r, r), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def xdog(value: torch.Tensor, sigma: float, eps: torch.Tensor, phi: torch.Tensor, k: float = 1.6,
         tau: float = 0.98) -> torch.Tensor:
    """Soft XDoG line mask (B,1,H,W) in [0,1], 1 = ink, of a value image (B,1,H,W) (Winnemoeller et al. 2012):
    where the difference of Gaussians dips below eps, tanh(phi * (eps - DoG)); differentiable in eps and phi."""
    dog = gaussian_blur(value, sigma) - tau * gaussian_blur(value, sigma * k)
    return torch.relu(torch.tanh(phi * (eps - dog)))


def soft_levels(value: torch.Tensor, thresholds: torch.Tensor, steps: torch.Tensor, floor: torch.Tensor,
                width: float = 0.02) -> torch.Tensor:
    """Flat shading: value (B,1,H,W) -> floor + sum_k steps_k * sigmoid((value - thresholds_k) / width), a soft
    staircase of K levels (thresholds, steps (K,)) that maps each band of value to one tone."""
    t = thresholds.view(1, -1, 1, 1)
    return floor + (steps.view(1, -1, 1, 1) * torch.sigmoid((value - t) / width)).sum(1, keepdim=True)


def grain_texture(size: int = 64, seed: int = 0) -> torch.Tensor:
    """A fixed tileable noise tile (2,size,size): fine (1 px) and coarse (3 px) grain, zero mean, unit std;
    saved with the weights so torch and ONNX paint the same texture."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(1, 2, size, size, generator=g)
    base = F.pad(base, (8, 8, 8, 8), mode="circular")
    fine = gaussian_blur(base[:, :1], 0.7)[..., 8:-8, 8:-8]
    coarse = gaussian_blur(base[:, 1:], 2.5)[..., 8:-8, 8:-8]
    out = torch.cat([fine, coarse], 1)[0]
    return (out - out.mean((1, 2), keepdim=True)) / out.std((1, 2), keepdim=True)


YCC = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))  # luma, Cb, Cr (BT.601)
YCC_INVERSE = tuple(map(tuple, torch.linalg.inv(torch.tensor(YCC, dtype=torch.float64)).tolist()))  # once, not per call


def chroma_basis(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, M^-1), each (3,3): RGB to luma and chroma with the chroma axes scaled by `weight` (scalar tensor), and
    back; the inverse is written out (inv(YCC) times 1/weight on chroma) since ONNX has no matrix inverse."""
    scale = torch.stack([torch.ones_like(weight), weight, weight])
    return (torch.tensor(YCC, dtype=weight.dtype) * scale.view(3, 1),
            torch.tensor(YCC_INVERSE, dtype=weight.dtype) / scale.view(1, 3))


def soft_palette(x: torch.Tensor, k: int, temperature: torch.Tensor, iters: int = 6, cells: int = 32,
                 chroma: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat colour regions: x (B,3,H,W) in [0,1] -> (each pixel a soft choice among k colours (B,3,H,W), those
    colours (B,k,3)). The colours are found per image by soft k-means on a cells x cells average, started at k
    levels of luma, so regions follow the image's own colours; temperature (scalar tensor) sets how hard. With
    `chroma` (scalar tensor) the k-means runs in luma and chroma scaled by it (`chroma_basis`); colours then in
    that space."""
    if chroma is not None:
        to, back = chroma_basis(chroma)
        # 1x1 convolutions rather than Einsums: ORT's convolution is its fastest path for a per-pixel 3x3 product
        flat, c = _soft_palette(F.conv2d(x, to.view(3, 3, 1, 1)), k, temperature, iters, cells, True)
        return F.conv2d(flat, back.view(3, 3, 1, 1)), c
    return _soft_palette(x, k, temperature, iters, cells)


def _soft_palette(x: torch.Tensor, k: int, temperature: torch.Tensor, iters: int, cells: int,
                  first_axis_is_luma: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """`soft_palette` in x's own space; its luma is x's first axis where `first_axis_is_luma`, else LUMA of RGB."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    small = F.avg_pool2d(x, (max(1, h // cells), max(1, w // cells))).flatten(2).transpose(1, 2)  # (B,N,3)
    levels = torch.linspace(0.0, 1.0, k, dtype=x.dtype, device=x.device)
    lum = small[..., :1] if first_axis_is_luma else (small * torch.tensor(LUMA, dtype=x.dtype, device=x.device)
                                                     ).sum(-1, keepdim=True)  # (B,N,1)
    span = lum.amax(1, keepdim=True) - lum.amin(1, keepdim=True) + 1e-3
    weights = torch.softmax(-(((lum - lum.amin(1, keepdim=True)) / span - levels) ** 2) / 0.01, -1)  # (B,N,k)

    def centres(wts: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bnk,bnc->bkc", wts, small) / (wts.sum(1).unsqueeze(-1) + 1e-4)

    def assign(points: torch.Tensor, c: torch.Tensor) -> torch.Tensor:  # (B,N,3), (B,k,3) -> (B,N,k)
        d = ((points.unsqueeze(2) - c.unsqueeze(1)) ** 2).sum(-1)  # exact, not |p|^2 - 2pc + |c|^2: ORT parity
        return torch.softmax(-d / temperature, -1)

    c = centres(weights)
    for _ in range(iters):
        c = centres(assign(small, c))
    return palette_colours(x, c, temperature), c


def channel_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over dim 1 of (B,K,...) written out: ONNX Runtime's Softmax on a non-last axis of an image
    transposes it twice, which cost more than the whole decoder (docs/engine.md, "Live and video")."""
    e = torch.exp(logits - logits.amax(1, keepdim=True))
    return e / e.sum(1, keepdim=True)


def palette_colours(x: torch.Tensor, c: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """Each pixel of x (B,3,H,W) as its soft choice among the colours c (B,k,3) -> (B,3,H,W); the squared
    distances are taken channel by channel in image layout (B,k,3,HW), not (B,HW,k,3) whose 3-long last axis
    made the reduction and softmax the slowest ops of the generator."""
    b, _, h, w = x.shape
    diff = x.reshape(b, 1, 3, h * w) - c.unsqueeze(-1)  # (B,k,3,HW)
    weights = channel_softmax(-(diff * diff).sum(2) / temperature)  # (B,k,HW)
    return (c.transpose(1, 2) @ weights).reshape(x.shape)  # (B,3,k) @ (B,k,HW): a MatMul, not an Einsum


def colour_edges(x: torch.Tensor, threshold: torch.Tensor, gain: float = 60.0) -> torch.Tensor:
    """Outline mask (B,1,H,W) in [0,1] where neighbouring colours of x (B,3,H,W) differ by more than threshold
    (Euclidean RGB, central differences): the dark contours along flat-region boundaries."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    gx = p[..., 1:-1, 2:] - p[..., 1:-1, :-2]
    gy = p[..., 2:, 1:-1] - p[..., :-2, 1:-1]
    mag = ((gx * gx + gy * gy).sum(1, keepdim=True) + 1e-6).sqrt() * 0.5
    return torch.sigmoid(gain * (mag - threshold))


def edge_directions(value: torch.Tensor, sigma: float) -> torch.Tensor:
    """Unit vectors (B,2,H,W) (x, y) along the edges of a value image (B,1,H,W): the minor eigenvector of its
    structure tensor blurred at sigma px. The tensor is found at 1/4 resolution and upsampled as the doubled
    angle (cos 2t, sin 2t), which, unlike the vector itself, has no sign flips to blur across."""
    h, w = int(value.shape[-2]), int(value.shape[-1])
    f = 4 if min(h, w) >= 64 else 1
    lo = F.avg_pool2d(value, f) if f > 1 else value
    p = F.pad(lo, (1, 1, 1, 1), mode="replicate")
    gx = (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) * 0.5
    gy = (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) * 0.5
    j = gaussian_blur(torch.cat([gx * gx, gx * gy, gy * gy], 1), max(0.5, sigma / f))
    a, b = j[:, :1] - j[:, 2:], 2 * j[:, 1:2]
    if f > 1:
        a = F.interpolate(a, size=(h, w), mode="bilinear", align_corners=False)
        b = F.interpolate(b, size=(h, w), mode="bilinear", align_corners=False)
    a = a + 1e-4  # where the tensor vanishes (flat paint) strokes default to vertical instead of numeric noise,
    n = (a * a + b * b).sqrt()  # which would differ between runtimes
    c2 = a / n  # cos of twice the gradient's angle
    cos = ((1 + c2) * 0.5).clamp_min(0).sqrt()
    sin = ((1 - c2) * 0.5).clamp_min(0).sqrt() * torch.where(b >= 0, 1.0, -1.0).to(value)
    return torch.cat([-sin, cos], 1)  # the gradient turned by 90 degrees: along the edge


def flow_smooth(x: torch.Tensor, direction: torch.Tensor, length: torch.Tensor, taps: int = 3) -> torch.Tensor:
    """Line integral convolution: the mean of x (B,C,H,W) at 2*taps+1 points spaced length/taps px (a scalar
    tensor, differentiable) along direction (B,2,H,W), i.e. smoothing along the edges: brush strokes that
    follow the form (Cabral & Leedom 1993), the oriented smoothing of Kyprianidis' flow-based filters."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    base = identity_grid(h, w, dtype=x.dtype, device=x.device)  # (1,H,W,2)
    scale = torch.tensor([2.0 / w, 2.0 / h], dtype=x.dtype, device=x.device).view(1, 2, 1, 1)
    step = (direction * scale * (length / taps)).permute(0, 2, 3, 1)  # (B,H,W,2), normalized units
    acc = x
    for k in range(1, taps + 1):
        for sgn in (1.0, -1.0):
            acc = acc + sample(x, base + sgn * k * step)
    return acc / (2 * taps + 1)


def emboss(height: torch.Tensor) -> torch.Tensor:
    """Relief light (B,1,H,W) of a height map (B,1,H,W) lit from the top left: its difference across the
    diagonal, the impasto shading of thick paint."""
    p = F.pad(height, (1, 1, 1, 1), mode="replicate")
    return (p[..., :-2, :-2] - p[..., 2:, 2:]) * 0.5


PALETTE_MIN_TEMPERATURE = 2e-4  # colder makes the palette a hard argmax: boundary pixels then flip between torch
# and ONNX Runtime (oil, 5e-5: 0.11 max, 1.1e-2 at p99.9); every bundled style trained above it
MAPS = 4  # per-pixel maps the decoder gives the head: two smoothing logits, line gain, flat-shading gain


def map_or_zero(maps: torch.Tensor | None, index: int) -> torch.Tensor | float:
    """Channel `index` of the head's maps (B,MAPS,H,W) as (B,1,H,W), or 0.0 where there are none (an inert decoder)."""
    return 0.0 if maps is None else maps[:, index:index + 1]


class ArtHead(nn.Module):
    """The painting head: a decoder image (B,3,H,W) in [-1,1] and per-pixel maps (B,MAPS,H,W) -> a painting.

    Every parameter is learned from the artworks, the same ops serve every style: edge-preserving smoothing at
    two radii (soft per-pixel choice), flat shading (a staircase of the value, or with `palette` K > 0 the
    image's own K colours by soft k-means, in RGB or with `chroma` by hue first, plus outlines where they change),
    a colour transform, paper/brush grain and XDoG ink lines at two widths with a learned ink. It starts as a
    generic painting (smoothed, some flat shading, thin lines; `identity=True`: the input unchanged), because from
    the photo no unpaired loss we measured leads to flat regions and lines (docs/training.md)."""

    def __init__(self, levels: int = 4, identity: bool = False, palette: int = 0, strokes: bool = False,
                 chroma: bool = False) -> None:
        super().__init__()
        self.palette = int(palette)
        self.strokes = bool(strokes)
        if self.strokes:  # brush strokes along the flow of the forms, bristle streaks, impasto relief
            self.stroke_logit = nn.Parameter(torch.tensor(-6.0 if identity else -1.0))
            self.stroke_log_length = nn.Parameter(torch.tensor(math.log(6.0)))  # px at 256
            self.streak = nn.Parameter(torch.tensor(0.0))
            self.relief = nn.Parameter(torch.tensor(0.0))
        if self.palette:  # per-image flat colours and their outlines instead of the value staircase
            self.log_temperature = nn.Parameter(torch.tensor(math.log(2e-3)))
            self.edge_threshold = nn.Parameter(torch.tensor(0.08))
            self.edge_logit = nn.Parameter(torch.tensor(-5.0 if identity else 0.0))
            self.log_saturation = nn.Parameter(torch.tensor(0.0))  # one knob for grey (ink) to vivid (cels)
            if chroma:  # hue separates the palette's regions more than shading does
                self.log_chroma = nn.Parameter(torch.tensor(math.log(2.0)))
        self.smooth_logits = nn.Parameter(torch.tensor([4.0, 0.0, 0.0] if identity else [0.0, 2.0, 2.0]))
        self.log_eps = nn.Parameter(torch.tensor([-6.0, -5.0]))
        self.flat_logit = nn.Parameter(torch.tensor(-4.0 if identity else 0.0))
        if not self.palette:
            self.thresholds = nn.Parameter(torch.linspace(0.15, 0.85, levels))
            self.steps = nn.Parameter(torch.full((levels,), 0.9 / levels))
            self.floor = nn.Parameter(torch.tensor(0.05))
        self.color = nn.Parameter(torch.eye(3))
        self.bias = nn.Parameter(torch.zeros(3))
        self.grain = nn.Parameter(torch.zeros(2))
        self.line_logits = nn.Parameter(torch.full((2,), -5.0 if identity else -1.0))  # thin, bold
        self.line_eps = nn.Parameter(torch.tensor([-0.005, -0.005]))
        self.line_log_phi = nn.Parameter(torch.tensor([4.6, 4.6]))  # phi = 100
        self.ink_shade = nn.Parameter(torch.tensor(0.2))  # ink = local colour * shade + ink_colour
        self.ink_color = nn.Parameter(torch.zeros(3))
        self.register_buffer("texture", grain_texture())

    def forward(self, image: torch.Tensor, maps: torch.Tensor | None) -> torch.Tensor:
        h, w = int(image.shape[-2]), int(image.shape[-1])  # static under tracing: kernel sizes follow the size
        unit = h / 256.0
        x = (image + 1) * 0.5
        fine = guided_smooth(x, 2.0 * unit, self.log_eps[0].exp(), factor=2 if h >= 256 else 1)
        wide = guided_smooth(x, 12.0 * unit, self.log_eps[1].exp(), factor=4 if h >= 64 else 1)
        logits = self.smooth_logits.view(1, 3, 1, 1)
        if maps is not None:
            logits = logits + torch.cat([torch.zeros_like(maps[:, :1]), maps[:, :2]], 1)
        mix = channel_softmax(logits)
        s = mix[:, :1] * x + mix[:, 1:2] * fine + mix[:, 2:3] * wide
        edges = None
        if self.palette:
            flat, _ = soft_palette(s, self.palette, self.log_temperature.exp().clamp_min(PALETTE_MIN_TEMPERATURE),
                                   chroma=self.log_chroma.exp() if hasattr(self, "log_chroma") else None)
            s = s + torch.sigmoid(self.flat_logit + map_or_zero(maps, 3)) * (flat - s)
            edges = torch.sigmoid(self.edge_logit) * colour_edges(flat, self.edge_threshold)
            grey = luma(s)
            s = grey + self.log_saturation.exp() * (s - grey)
        else:
            value = luma(s)
            flat = soft_levels(value, self.thresholds, self.steps, self.floor)
            s = s + torch.sigmoid(self.flat_logit + map_or_zero(maps, 3)) * (flat - value)
        reps = (1, 1, -(-h // self.texture.shape[-2]), -(-w // self.texture.shape[-1]))
        tex = self.texture[None].repeat(reps)[..., :h, :w]
        if self.strokes:
            flow = edge_directions(luma(wide).detach(), 6.0 * unit)  # the orientation of the large forms
            length = self.stroke_log_length.exp() * unit
            s = s + torch.sigmoid(self.stroke_logit) * (flow_smooth(s, flow, length) - s)
            streaks = flow_smooth(tex[:, 1:].expand_as(s[:, :1]), flow, 2 * length) * 2.0  # batch from the graph
            s = s * (1 + self.streak * streaks + self.relief * emboss(streaks))
        s = torch.einsum("ij,bjhw->bihw", self.color, s) + self.bias.view(1, 3, 1, 1)
        s = s * (1 + (self.grain.view(1, 2, 1, 1) * tex).sum(1, keepdim=True))
        lit = luma(fine)
        gains = torch.sigmoid(self.line_logits) * 2
        lines = sum(gains[i] * xdog(lit, sigma * unit, self.line_eps[i], self.line_log_phi[i].exp())
                    for i, sigma in enumerate((1.0, 2.0)))
        if edges is not None:
            lines = 1 - (1 - lines.clamp(0, 1)) * (1 - edges)
        lines = (lines if maps is None else lines * 2 * torch.sigmoid(maps[:, 2:3])).clamp(0, 1)  # 2 sigmoid(0) = 1
        ink = s * self.ink_shade + self.ink_color.view(1, 3, 1, 1)
        out = s * (1 - lines) + ink * lines
        return out.clamp(0, 1) * 2 - 1


REFINER_DILATIONS = (1, 2, 4, 1, 2, 4, 8, 1)


def refiner_conv(cin: int, cout: int, dilation: int = 1) -> nn.Conv2d:
    """A 3x3 conv with edge-replicating padding (no dark frame along the border), dilated by `dilation` px."""
    return nn.Conv2d(cin, cout, 3, 1, padding=dilation, dilation=dilation, padding_mode="replicate")


class Refiner(nn.Module):
    """A painting (B,3,H,W) in [-1,1] -> the same plus a learned residual, clamped: what the artworks have that the
    head's rendering of the same scene lacks. Its output layer starts at zero, so an untrained refiner is the
    identity; `studio.refine` trains it on pairs made from the artworks (docs/training.md, fifteenth round)."""

    def __init__(self, width: int, blocks: int = 4, lowcut: int = 0) -> None:
        super().__init__()
        self.lowcut = int(lowcut)
        self.inp = refiner_conv(3, width)
        self.body = nn.ModuleList(nn.Sequential(refiner_conv(width, width, d), nn.LeakyReLU(0.2),
                                                refiner_conv(width, width)) for d in REFINER_DILATIONS[:blocks])
        self.out = refiner_conv(width, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.inp(image), 0.2)
        for block in self.body:
            x = x + block(x)
        residual = self.out(x)
        if self.lowcut > 1:
            residual = residual - high_cut(residual, self.lowcut)
        return (image + residual).clamp(-1, 1)


def high_cut(x: torch.Tensor, cell: int) -> torch.Tensor:
    """The low frequencies of x (B,C,H,W): its average over cell x cell px, bilinearly back to (H,W)."""
    return F.interpolate(F.avg_pool2d(x, cell), size=x.shape[-2:], mode="bilinear", align_corners=False)


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
        if config.pixel_skip:  # a zero residual: the untrained generator is the warp itself
            nn.init.zeros_(self.to_rgb[0].weight)
            nn.init.zeros_(self.to_rgb[0].bias)
        if config.head == "art":
            self.to_maps = nn.Sequential(nn.Conv2d(c, 4 * MAPS, 1), nn.PixelShuffle(2))
            nn.init.zeros_(self.to_maps[0].weight)
            nn.init.zeros_(self.to_maps[0].bias)
            self.art = ArtHead(palette=config.palette, strokes=config.strokes, chroma=config.palette_chroma)
        if config.refiner:
            self.refiner = Refiner(config.refiner, config.refiner_blocks, config.refiner_lowcut)
        self._warps: dict[tuple, TemplateTPS] = {}
        self.shortcut = True  # `inert` may skip the decoder's CNN; False always runs it (tests compare the two)

    def set_template(self, template: torch.Tensor) -> None:
        """Replace the style's landmark template (73,2 normalized) and drop cached warp bases."""
        self.template.copy_(template.to(self.template))
        self._warps.clear()

    def _warp(self, kind: str, h: int, w: int) -> TemplateTPS:
        key = (kind, h, w, self.template.device, self.template.data_ptr(), self.template._version)
        if key not in self._warps:
            idx = topology.GLOBAL_INDICES if kind == "global" else slice(None)
            anchors = border_anchors(self.config.anchors) if self.config.anchors else None
            self._warps[key] = TemplateTPS(self.template[idx].detach(), h, w, reg=self.config.tps_reg,
                                           anchors=anchors).to(self.template.device)
        return self._warps[key]

    def prepare(self, height: int, width: int) -> None:
        """Precompute the warp bases for an input size (before ONNX tracing, so they export as constants)."""
        self._warp("global", height // 8, width // 8)
        self._warp("local", height // 4, width // 4)

    def inert(self) -> bool:
        """True when the decoder's convolutions cannot change the output: pixel skip on, its image and map layers
        exactly zero (the quick preset trains the head alone over the untouched warp) and none of its parameters
        being trained. Then `decode` is the warp alone, the same values without the CNN (a third of the graph)."""
        if not (self.shortcut and self.config.pixel_skip):
            return False
        outs = list(self.to_rgb.parameters()) + (list(self.to_maps.parameters()) if self.config.head == "art" else [])
        if torch.is_grad_enabled() and any(p.requires_grad for n, p in self.named_parameters()
                                           if not n.startswith(("art.", "refiner."))):
            return False
        return all(not bool(p.detach().any()) for p in outs)

    def decode(self, image: torch.Tensor, points: torch.Tensor, alpha: torch.Tensor | float = 1.0
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The warped decoder image (B,3,H,W) in [-1,1] and the head's maps (B,MAPS,H,W); maps are None without a
        head, and when the decoder is `inert` (the head then reads them as zeros)."""
        h, w = int(image.shape[-2]), int(image.shape[-1])  # static: the warp bases are per size
        if h % 8 or w % 8:
            raise ValueError(f"generator input must be a multiple of 8 in size, got {h}x{w}")
        if not torch.is_tensor(alpha):
            alpha = torch.full((image.shape[0],), float(alpha), device=image.device, dtype=image.dtype)
        if self.inert():
            return self.warp_only(image, points, alpha), None
        s1 = self.stem(image)
        s2 = self.down1(s1)
        x = self.down2(s2)
        full = None  # the sampling grid at full resolution, for the pixel skip
        if self.config.global_warp:
            coarse = self._warp("global", h // 8, w // 8)(points[:, topology.GLOBAL_INDICES], alpha)
            x = sample(x, coarse)
            if self.config.pixel_skip and not self.config.local_warp:
                full = full_grid(coarse, h, w)
        x = self.body(x)
        s1, s2 = self.squeeze1(s1), self.squeeze2(s2)
        if self.config.local_warp:
            grid = self._warp("local", h // 4, w // 4)(points, alpha)
            s2 = sample(s2, grid)
            half = upsample_grid(grid)
            s1 = sample(s1, half)
            full = full_grid(grid, h, w) if self.config.pixel_skip else None
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.up1(torch.cat([x, s2], 1))
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.up2(torch.cat([x, s1], 1))
        if self.config.pixel_skip:
            base = image if full is None else sample(image, full)
            rgb = (base + self.to_rgb(x)).clamp(-1, 1)
        else:
            rgb = torch.tanh(self.to_rgb(x))
        return rgb, (self.to_maps(x) if self.config.head == "art" else None)

    def warp_only(self, image: torch.Tensor, points: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """What an inert decoder outputs: the image (B,3,H,W) sampled through the finest warp grid, as `decode`
        samples it for the pixel skip."""
        h, w = int(image.shape[-2]), int(image.shape[-1])
        if self.config.local_warp:
            full = full_grid(self._warp("local", h // 4, w // 4)(points, alpha), h, w)
        elif self.config.global_warp:
            full = full_grid(self._warp("global", h // 8, w // 8)(points[:, topology.GLOBAL_INDICES], alpha), h, w)
        else:
            return image.clamp(-1, 1)
        return sample(image, full).clamp(-1, 1)

    def forward(self, image: torch.Tensor, points: torch.Tensor, alpha: torch.Tensor | float = 1.0,
                with_decoder: bool = False, detach: bool = False, refine: bool = True
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The stylized image; with_decoder: (stylized, the decoder's image before the head) for the trainer;
        detach: the head's losses do not reach the decoder or its maps (it stays a geometric warp of the photo);
        refine=False: the painting before any refiner (the exported generator graph; the refiner is its own)."""
        rgb, maps = self.decode(image, points, alpha)
        if self.config.head != "art":
            out = rgb
        else:
            out = self.art(rgb.detach() if detach else rgb, maps.detach() if detach and maps is not None else maps)
        if self.config.refiner and refine:
            out = self.refiner(out)
        return (out, rgb) if with_decoder else out

    def paint(self, image: torch.Tensor, points: torch.Tensor, alpha: torch.Tensor | float = 1.0) -> torch.Tensor:
        """The output before the refiner (B,3,H,W): what the refiner's training pairs start from."""
        return self(image, points, alpha, refine=False)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
