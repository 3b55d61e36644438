"""The whole picture stylized without face alignment (mode "full"): once at the style's resolution, brought
back to full size by guided upsampling with the photo as the guide; faces are pasted on top by the engine.
Images are (H,W,3) uint8 RGB; a runner is a core.runtime.Runner."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.aligned import template_mesh
from core.alignment import invert_affine, transform_points
from core.options import check_strength
from core.runtime import Runner


def stylize_tiles(image: np.ndarray, runner: Runner, strength: float = 1.0, overlap: int = 32) -> np.ndarray:
    """Stylize a whole image (H,W,3) at its own resolution in overlapping tiles (alpha 0: no geometry change)."""
    strength = check_strength(strength)
    size = runner.resolution
    h, w = image.shape[:2]
    ph, pw = max(h, size), max(w, size)
    padded = cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT)
    step = size - overlap
    ys = sorted({min(y, ph - size) for y in range(0, ph, step)})
    xs = sorted({min(x, pw - size) for x in range(0, pw, step)})
    tiles = np.stack([padded[y:y + size, x:x + size] for y in ys for x in xs])
    mesh = template_mesh(runner.package.config.template, size)
    # no texture stage: it matches by place in the face frame, so it belongs to the face crops
    outs = np.concatenate([runner(tiles[i:i + 4], np.repeat(mesh[None], len(tiles[i:i + 4]), 0), 0.0,
                                  texture=False) for i in range(0, len(tiles), 4)])
    ramp = np.minimum(np.arange(size) + 1, overlap) / overlap
    weight = np.minimum.outer(np.minimum(ramp, ramp[::-1]), np.minimum(ramp, ramp[::-1]))[..., None]
    acc = np.zeros((ph, pw, 3), np.float32)
    norm = np.zeros((ph, pw, 1), np.float32)
    for (y, x), tile in zip([(y, x) for y in ys for x in xs], outs):
        acc[y:y + size, x:x + size] += tile * weight
        norm[y:y + size, x:x + size] += weight
    result = (acc / np.maximum(norm, 1e-6))[:h, :w]
    if strength < 1:
        result = strength * result + (1 - strength) * image
    return np.clip(np.rint(result), 0, 255).astype(np.uint8)


BACKGROUND_MIN_SHORT = 64  # the reduced picture keeps at least this short side (a long panorama gets a few tiles)
GUIDE_RADIUS = 2  # box radius (reduced px) of the local fit of the style's output against the photo's luminance
GUIDE_EPS = 1e-3  # its regularizer, in (intensity / 255)^2: flat or faint areas take no photo detail
UPSAMPLE = cv2.INTER_CUBIC  # reduced -> full size; bilinear showed the reduced pixels as blocks


def background_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(h', w') the whole picture is stylized at: the long side scaled to the style's resolution `size` (one
    generator call for most photos), never upscaled, the short side kept at BACKGROUND_MIN_SHORT or more."""
    scale = min(1.0, max(size / max(h, w), min(BACKGROUND_MIN_SHORT / min(h, w), 1.0)))
    return max(1, round(h * scale)), max(1, round(w * scale))


def luminance_gain(guide: np.ndarray, styled: np.ndarray, radius: int = GUIDE_RADIUS,
                   eps: float = GUIDE_EPS) -> np.ndarray:
    """Guided-filter slopes (h,w,3) float32 of each channel of `styled` (h,w,3) uint8 against the luminance of
    `guide` (h,w,3) uint8 in (2 radius + 1)^2 windows, box-averaged (He et al., guided filter): how much of a
    luminance step of the photo each output channel shows there."""
    window = (2 * radius + 1,) * 2
    box = lambda x: cv2.blur(x, window, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    y = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY).astype(np.float32)
    p = styled.astype(np.float32)
    mean_y, mean_p = box(y), box(p)
    var = box(y * y) - mean_y * mean_y
    cov = box(p * y[..., None]) - mean_p * mean_y[..., None]
    return box(cov / (var[..., None] + eps * 255.0 ** 2))


def guided_upsample(image: np.ndarray, guide: np.ndarray, styled: np.ndarray, strength: float = 1.0,
                    radius: int = GUIDE_RADIUS, eps: float = GUIDE_EPS) -> np.ndarray:
    """`styled` (h,w,3) uint8, the style's output for `guide` (h,w,3) uint8 (`image` reduced), brought to the size
    of `image` (H,W,3) uint8 -> (H,W,3) uint8, edge-aware: the upsampled output plus the photo's own luminance
    detail (its full-size luminance minus the reduced one's, upsampled the same way) times `luminance_gain`, upsampled
    (a fast guided filter's slopes, He & Sun 2015, applied to the detail only). Photo edges stay as sharp as in the
    photo; where the style does not follow the photo (flat paint, its own outlines) none is added. `strength` < 1
    blends with the photo. Per channel and in uint8 where possible: full-size float arrays are the cost here."""
    h, w = image.shape[:2]
    gain = luminance_gain(guide, styled, radius, eps) * np.float32(strength)
    small_y = cv2.resize(cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY), (w, h), interpolation=UPSAMPLE)
    detail = cv2.subtract(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), small_y, dtype=cv2.CV_32F)
    base = cv2.resize(styled, (w, h), interpolation=UPSAMPLE)
    if strength < 1:
        base = cv2.addWeighted(base, strength, image, 1.0 - strength, 0.0)
    planes = []
    for c, plane in enumerate(cv2.split(base)):
        g = cv2.resize(np.ascontiguousarray(gain[..., c]), (w, h), interpolation=cv2.INTER_LINEAR)
        planes.append(cv2.add(plane, cv2.multiply(g, detail, dst=g), dtype=cv2.CV_8U))
    return cv2.merge(planes).reshape(image.shape)


SURROUND = 1.3  # side of the square restyled around each face, in face-crop sides (hair, shoulders, backdrop)
SURROUND_FEATHER = 0.15  # its blend into the background, as a fraction of its side
SURROUND_GAIN = 1.5  # restyle a face's surround only where it gains this factor of resolution over the background


def surround_box(m: np.ndarray, size: int, shape: tuple[int, ...], scale: float = SURROUND) -> tuple[int, ...]:
    """(x0, y0, x1, y1) of the axis-aligned square, `scale` times the face crop's extent, centred on the crop
    that `m` (2,3; photo -> crop of `size` px) cuts, clipped to an image of `shape` (H, W, ...)."""
    corners = transform_points(np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64), invert_affine(m))
    centre, half = corners.mean(0), 0.5 * scale * np.ptp(corners, axis=0).max()
    x0, y0 = np.maximum(np.floor(centre - half + 1e-6).astype(int), 0)  # no float dust past a whole pixel
    x1, y1 = np.minimum(np.ceil(centre + half - 1e-6).astype(int), (shape[1], shape[0]))
    return int(x0), int(y0), int(x1), int(y1)


def box_mask(box: tuple[int, ...], shape: tuple[int, ...], feather: float = SURROUND_FEATHER) -> np.ndarray:
    """(h, w, 1) float32 blend weight of a box (x0, y0, x1, y1) in an image of `shape`: 1 inside, a smoothstep to
    0 over `feather` of the box's side at each edge that is not the image's own border."""
    x0, y0, x1, y1 = box
    ramp = max(1.0, feather * max(x1 - x0, y1 - y0))

    def axis(lo: int, hi: int, end: int) -> np.ndarray:
        i = np.arange(hi - lo, dtype=np.float32) + 0.5
        t = np.ones_like(i)
        if lo > 0:
            t = np.minimum(t, i / ramp)
        if hi < end:
            t = np.minimum(t, (hi - lo - i) / ramp)
        t = np.clip(t, 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    return np.minimum.outer(axis(y0, y1, shape[0]), axis(x0, x1, shape[1]))[..., None]


def surround_boxes(shape: tuple[int, ...], matrices: list[np.ndarray], size: int) -> list:
    """The `surround_box` of each photo -> crop matrix whose surround gains SURROUND_GAIN in resolution over the
    whole picture's reduced rendering, in an image of `shape` (H, W, ...)."""
    scale = min(1.0, size / max(shape[:2]))  # the background's reduction
    boxes = []
    for m in matrices:
        box = surround_box(m, size, shape)
        side = max(box[2] - box[0], box[3] - box[1])
        if side > 1 and min(size, side) >= SURROUND_GAIN * side * scale:
            boxes.append(box)
    return boxes


def box_guides(image: np.ndarray, boxes: list, size: int) -> list:
    """Each box (x0, y0, x1, y1) of `image` reduced to fit `size` px: what the generator restyles."""
    guides = []
    for x0, y0, x1, y1 in boxes:
        reduce = min(1.0, size / max(x1 - x0, y1 - y0))
        small = (max(1, round((x1 - x0) * reduce)), max(1, round((y1 - y0) * reduce)))
        guides.append(cv2.resize(image[y0:y1, x0:x1], small, interpolation=cv2.INTER_AREA))
    return guides


def surround_guides(image: np.ndarray, matrices: list[np.ndarray], size: int) -> tuple[list, list]:
    """(boxes, guides): `surround_boxes` and each box's part of `image` reduced to fit `size` px (`box_guides`)."""
    boxes = surround_boxes(image.shape, matrices, size)
    return boxes, box_guides(image, boxes, size)


def reduced_picture(image: np.ndarray, size: int) -> np.ndarray | None:
    """`image` reduced to `background_size` for the one-call background pass, or None where that pass does not
    apply (a small picture stylized at its own size, a long panorama in tiles)."""
    h, w = image.shape[:2]
    small = background_size(h, w, size)
    if small == (h, w) or max(small) > size:
        return None
    return cv2.resize(image, small[::-1], interpolation=cv2.INTER_AREA)


def restyle(runner: Runner, images: list[np.ndarray]) -> list[np.ndarray]:
    """Each image (h,w,3) uint8 with h, w <= the style's resolution stylized at alpha 0, all in one generator call
    (reflect-padded to the resolution, cropped back); no texture stage (it belongs to face crops)."""
    size = runner.resolution
    padded = np.stack([cv2.copyMakeBorder(g, 0, size - g.shape[0], 0, size - g.shape[1], cv2.BORDER_REFLECT_101)
                       for g in images])
    mesh = template_mesh(runner.package.config.template, size)
    styled = runner(padded, np.repeat(mesh[None], len(padded), 0), 0.0, texture=False)
    return [np.ascontiguousarray(s[:g.shape[0], :g.shape[1]]) for g, s in zip(images, styled)]


def blend_surrounds(image: np.ndarray, background: np.ndarray, boxes: list, guides: list, styled: list,
                    strength: float = 1.0, fresh: bool = True) -> np.ndarray:
    """`background` (H,W,3) uint8 with each box's stylized surround (`styled`, the style's output for `guides`)
    guided-upsampled against `image` and blended in with `box_mask`. fresh=False: the guides are an earlier
    frame's, so even a surround at full size goes through `guided_upsample` (which carries this frame's change)."""
    out = background.copy()
    for (x0, y0, x1, y1), guide, s in zip(boxes, guides, styled):
        region = np.ascontiguousarray(image[y0:y1, x0:x1])
        if fresh and guide.shape[:2] == region.shape[:2]:
            restyled = s if strength == 1 else cv2.addWeighted(s, strength, region, 1.0 - strength, 0.0)
        else:
            restyled = guided_upsample(region, guide, s, strength)
        weight = box_mask((x0, y0, x1, y1), image.shape)[..., 0]
        out[y0:y1, x0:x1] = cv2.blendLinear(restyled, np.ascontiguousarray(out[y0:y1, x0:x1]), weight, 1.0 - weight)
    return out


def stylize_background(image: np.ndarray, runner: Runner, strength: float = 1.0,
                       matrices: list[np.ndarray] = ()) -> np.ndarray:
    """The whole picture stylized without face alignment (mode "full"), (H, W, 3) uint8 -> same; faces go on top.

    Stylized once at `background_size` (one generator call for most photos, where `stylize_tiles` at the photo's
    own size made 6 to 35), then brought back to full size by `guided_upsample` with the photo as the guide.
    With the faces' photo -> crop `matrices`, the square around each face is also restyled at nearly the crop's
    resolution (`surround_guides`, in the same generator call): near a face (the hair, shoulders and backdrop its
    crop's feathered border lets through) the picture is not drawn at the whole picture's reduced resolution."""
    strength = check_strength(strength)
    image = np.ascontiguousarray(image)
    if strength == 0:
        return image.copy()
    h, w = image.shape[:2]
    size = runner.resolution
    boxes, guides = surround_guides(image, list(matrices), size)
    guide = reduced_picture(image, size)
    if guide is not None:  # the usual case: one call for the picture and its surrounds
        styled = restyle(runner, [guide] + guides)
        return compose_background(image, guide, styled[0], boxes, guides, styled[1:], strength)
    # a small picture at its own size, a long panorama in tiles; the surrounds in a call of their own
    small = background_size(h, w, size)
    if small == (h, w):
        background = stylize_tiles(image, runner, strength)
    else:
        reduced = cv2.resize(image, small[::-1], interpolation=cv2.INTER_AREA)
        background = guided_upsample(image, reduced, stylize_tiles(reduced, runner), strength)
    styled = restyle(runner, guides) if guides else []
    return blend_surrounds(image, background, boxes, guides, styled, strength)


def compose_background(image: np.ndarray, guide: np.ndarray, styled: np.ndarray, boxes: list, guides: list,
                       surrounds: list, strength: float = 1.0, fresh: bool = True) -> np.ndarray:
    """The full-size background of `image` from the generator's output `styled` for its reduced picture `guide`
    (`guided_upsample`) with each box's restyled surround blended in (`blend_surrounds`)."""
    background = guided_upsample(image, guide, styled, strength)
    return blend_surrounds(image, background, boxes, guides, surrounds, strength, fresh)


BACKGROUND_AGE = 2  # frames (camera, video) a stylized background is reused before the generator runs again
BACKGROUND_CHANGE = 3.0  # mean |difference| (8-bit levels) of 32 px thumbnails of the reduced picture, key frame
# against this one, above which the generator runs again
BACKGROUND_MOVE = 0.05  # a face's surround box moved by this fraction of its side: the generator runs again
THUMB = 32


@dataclass
class _Key:
    thumb: np.ndarray  # (THUMB, THUMB, 3) float32 of the reduced picture the generator last ran on
    guide: np.ndarray  # that reduced picture (h, w, 3) uint8
    styled: np.ndarray  # its output
    boxes: list  # the faces' surround boxes then, their reduced photos and outputs
    guides: list
    surrounds: list
    age: int = 0


def _thumb(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)


def _moved(old: list, new: list, limit: float) -> bool:
    """Whether the surround boxes differ in number, or one moved or grew by `limit` of its side."""
    if len(old) != len(new):
        return True
    return any(np.abs(np.subtract(a, b)).max() > limit * max(a[2] - a[0], a[3] - a[1], 1) for a, b in zip(old, new))


class BackgroundKeys:
    """`keys(image, runner, strength, matrices)` -> `stylize_background` for consecutive frames, reusing the last
    generator output for up to `max_age` frames while the reduced picture and the faces' surround boxes stay
    nearly the same. A reused output is brought to full size against *this* frame (`guided_upsample` with the
    key frame's reduced picture as the guide): where the style follows the photo, the frame's change shows at
    once; where it paints flat, the key frame's paint stays until the next call. The generator is most of a
    whole-image frame's cost (docs/engine.md). Counters: `generated`, `reused`."""

    def __init__(self, max_age: int = BACKGROUND_AGE, change: float = BACKGROUND_CHANGE,
                 move: float = BACKGROUND_MOVE) -> None:
        if max_age < 0 or change < 0 or move < 0:
            raise ValueError(f"need max_age >= 0 (frames), change >= 0 (levels) and move >= 0, got {max_age}, "
                             f"{change}, {move}")
        self.max_age, self.change, self.move = int(max_age), float(change), float(move)
        self.reset()

    def reset(self) -> None:
        self._key: _Key | None = None
        self.generated = self.reused = 0

    def __call__(self, image: np.ndarray, runner: Runner, strength: float = 1.0,
                 matrices: list[np.ndarray] = ()) -> np.ndarray:
        strength = check_strength(strength)
        image = np.ascontiguousarray(image)
        size = runner.resolution
        guide = reduced_picture(image, size) if strength else None
        if guide is None:  # nothing to reuse: strength 0, tiles, or the photo itself
            self._key = None
            return stylize_background(image, runner, strength, matrices)
        boxes = surround_boxes(image.shape, list(matrices), size)
        key, thumb = self._key, _thumb(guide)
        if (key is None or key.age >= self.max_age or key.guide.shape != guide.shape
                or float(np.abs(key.thumb - thumb).mean()) > self.change or _moved(key.boxes, boxes, self.move)):
            guides = box_guides(image, boxes, size)  # the surrounds' reduced photos only when they are restyled
            styled = restyle(runner, [guide] + guides)
            self._key = _Key(thumb, guide, styled[0], boxes, guides, styled[1:])
            self.generated += 1
            return compose_background(image, guide, styled[0], boxes, guides, styled[1:], strength)
        key.age += 1
        self.reused += 1
        return compose_background(image, key.guide, key.styled, key.boxes, key.guides, key.surrounds, strength,
                                  fresh=False)
