"""Image loading for every entry point: any path, bytes, PIL image or array becomes (H, W, 3) uint8 RGB.

EXIF orientation is applied, alpha is composited over white, greyscale and 16-bit images are
converted, and oversized images are refused from the header, before any pixel is decoded. With `max_side`,
large files are decoded small (JPEG DCT scaling, or an integer box reduce before any conversion), so memory
follows the working size rather than the file's.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import ImageLoadError, ImageTooLargeError

ImageSource = Union[str, Path, bytes, bytearray, Image.Image, np.ndarray]

DEFAULT_MAX_PIXELS = 50_000_000
_SUPPORTED = "JPEG, PNG, WebP, BMP, GIF or TIFF"


def load_image(src: ImageSource, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               max_side: int | None = None) -> np.ndarray:
    """Decode `src` to (H, W, 3) uint8 RGB in its displayed orientation; with `max_side`, downscaled so the
    long side is at most that (`fit_size`), decoding only as much as that needs.

    Raises ImageLoadError (unreadable, truncated, unsupported) or ImageTooLargeError (more than
    `max_pixels` pixels; None disables the limit up to PIL's own decompression-bomb guard).
    """
    if isinstance(src, np.ndarray):
        _check_size(src.shape[1] if src.ndim > 1 else 0, src.shape[0], max_pixels, "the array")
        return fit_image(to_rgb8(src, "the array"), max_side)
    if isinstance(src, Image.Image):
        _check_size(*src.size, max_pixels, "the PIL image")
        return _decode(src, "the PIL image", max_side, draft=False)
    if isinstance(src, (bytes, bytearray, memoryview)):
        name, stream = f"the image data ({len(src)} bytes)", io.BytesIO(bytes(src))
    elif isinstance(src, (str, Path)):
        path = Path(src)
        name, stream = f"'{path}'", path
        if not path.is_file():
            raise ImageLoadError(f"{name} does not exist or is not a file: check the path")
    else:
        raise ImageLoadError(
            f"cannot read an image from a {type(src).__name__}: pass a file path, bytes, a PIL image "
            "or a numpy array")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as im:  # reads the header only
                _check_size(*im.size, max_pixels, name)
                return _decode(im, name, max_side)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{name} is too large to decode safely ({exc}): resize it first") from None
    except UnidentifiedImageError:
        raise ImageLoadError(
            f"{name} is not a readable image: save it as {_SUPPORTED} and try again") from None
    except ImageLoadError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt pixel data
        raise ImageLoadError(
            f"{name} is broken or truncated ({exc}): re-export or re-download it as {_SUPPORTED}") from None


def save_image(path: str | Path, image: np.ndarray) -> None:
    """Write an image array (any form `load_image` accepts as an array) to `path`; format from suffix."""
    path = Path(path)
    options = {"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg", ".webp") else {}
    Image.fromarray(to_rgb8(np.asarray(image), "the array to save")).save(path, **options)


def to_rgb8(array: np.ndarray, name: str = "the array") -> np.ndarray:
    """(H, W), (H, W, 1|3|4) uint8/uint16/bool/float-in-[0,1] -> (H, W, 3) uint8 RGB; alpha over white."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))) or 0 in a.shape:
        raise ImageLoadError(
            f"{name} has shape {a.shape}: expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)")
    if a.dtype == np.uint8 and (a.ndim == 2 or a.shape[2] == 3):  # fast path, no float copy
        return np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else np.array(a, order="C")
    f = _unit_float(a, name)  # values in [0, 1]
    if f.ndim == 2:
        f = np.repeat(f[..., None], 3, axis=2)
    elif f.shape[2] == 4:
        alpha = f[..., 3:]
        f = f[..., :3] * alpha + (1.0 - alpha)
    return np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8)


def levels_to_unit(values):
    """8-bit levels 0..255 (any layout) -> float in [-1, 1]: a torch tensor in, a float tensor out; else float32
    numpy. The one definition of `/ 127.5 - 1` for the runtime, the trainer, metrics and scripts."""
    if hasattr(values, "permute"):  # a torch tensor; torch is not imported here
        return values.float() / 127.5 - 1.0
    return np.asarray(values, dtype=np.float32) / 127.5 - 1.0


def images_to_unit(images):
    """(B,H,W,3) uint8 images -> (B,3,H,W) float32 in [-1, 1], the generator's input: numpy in, numpy out;
    a torch tensor in, a tensor out."""
    if hasattr(images, "permute"):
        return levels_to_unit(images.permute(0, 3, 1, 2))
    return levels_to_unit(np.ascontiguousarray(np.asarray(images).transpose(0, 3, 1, 2), dtype=np.float32))


def unit_to_images(tensor) -> np.ndarray:
    """(B,3,H,W) floats in [-1, 1] (numpy or a torch tensor, any device) -> (B,H,W,3) uint8, rounded and clipped:
    the inverse of `images_to_unit`."""
    if hasattr(tensor, "detach"):
        tensor = tensor.detach().float().cpu().numpy()
    return np.clip(np.rint((np.asarray(tensor).transpose(0, 2, 3, 1) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _unit_float(a: np.ndarray, name: str) -> np.ndarray:
    """Scale pixel values to float32 in [0, 1] according to the dtype."""
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageLoadError(f"{name} contains NaN or infinite values: clean or clip it first")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-3 or hi > 1.0 + 1e-3:
            raise ImageLoadError(
                f"{name} is a float image with values in [{lo:.3g}, {hi:.3g}]: scale it to [0, 1] "
                "(e.g. divide by 255)")
        return np.clip(a, 0.0, 1.0).astype(np.float32)
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo >= 0 and hi <= 255:
            return a.astype(np.float32) / 255.0
        if lo >= 0 and hi <= 65535:
            return a.astype(np.float32) / 65535.0
        raise ImageLoadError(
            f"{name} has integer values in [{lo}, {hi}]: expected 8-bit or 16-bit pixel values")
    raise ImageLoadError(f"{name} has unsupported dtype {a.dtype}: use uint8, uint16 or float in [0, 1]")


def _decode(im: Image.Image, name: str, max_side: int | None = None, draft: bool = True) -> np.ndarray:
    """Decode a PIL image: shrink (`_shrink`; `draft` False leaves a caller's image unchanged), EXIF orientation,
    mode-aware conversion to RGB uint8, exact size."""
    orientation = _orientation(im)
    im = _shrink(im, max_side, draft)
    if orientation in _TRANSPOSE:
        im = im.transpose(_TRANSPOSE[orientation])
    return fit_image(_to_rgb8(im, name), max_side)


def _to_rgb8(im: Image.Image, name: str) -> np.ndarray:
    """Mode-aware conversion of a PIL image to (H, W, 3) uint8 RGB (16-bit, 32-bit, float, alpha)."""
    if im.mode.startswith("I;16"):
        return to_rgb8(np.asarray(im).astype(np.uint16), name)
    if im.mode == "I":  # 32-bit integer container; PNG/TIFF store 16-bit greyscale this way
        return to_rgb8(np.clip(np.asarray(im), 0, 65535).astype(np.uint16), name)
    if im.mode == "F":
        return to_rgb8(np.asarray(im, dtype=np.float32), name)
    return to_rgb8(np.asarray(im.convert("RGBA" if _has_alpha(im) else "RGB")), name)


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info


# EXIF orientation -> the PIL transpose that displays it (as PIL.ImageOps.exif_transpose)
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 when absent or unreadable), read before shrinking drops the metadata."""
    try:
        return int(im.getexif().get(0x0112, 1))
    except Exception:  # a malformed EXIF block must not make a readable image unreadable
        return 1


def _shrink(im: Image.Image, max_side: int | None, draft: bool = True) -> Image.Image:
    """`im` decoded at about `max_side` on the long side (never below it): JPEG DCT scaling (`draft`, the full
    size is never decoded), then an integer box `reduce` before any mode conversion, so no full-size RGBA or
    float copy is made. `fit_image` takes it to the exact size after."""
    w, h = im.size
    target = fit_size(w, h, max_side)
    if target == (w, h):
        return im
    if draft and im.format == "JPEG":
        im.draft(im.mode, target)
    factor = min(im.size[0] // target[0], im.size[1] // target[1])
    if factor < 2:
        return im
    if im.mode in ("1", "P", "PA") or "transparency" in im.info:  # palette indices cannot be averaged
        im = im.convert("RGBA" if _has_alpha(im) else "RGB")
    elif im.mode.startswith("I;16"):
        im = im.convert("I")
    return im.reduce(factor)  # RGBA and LA are averaged premultiplied


def fit_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) scaled so the long side is at most `max_side` (unchanged when it fits or max_side is
    None or 0): the one rounding every downscale uses."""
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_image(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale an (H, W, 3) array with area interpolation to `fit_size`; returned as is when it fits."""
    h, w = rgb.shape[:2]
    size = fit_size(w, h, max_side)
    if size == (w, h):
        return rgb
    import cv2

    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _check_size(width: int, height: int, max_pixels: int | None, name: str) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(
            f"{name} is {width}x{height} = {width * height / 1e6:.1f} MP, above the "
            f"{max_pixels / 1e6:.1f} MP limit: downscale it and try again")
