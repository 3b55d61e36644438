"""QR codes for the phone download links of a published style (segno; no torch, no network).

`make(url)` is the code for one link (error correction M, never a Micro QR). It is drawn three ways:
- `text(url)`: for a terminal, two module rows per line with the half-block characters ▀ ▄ █ and space. By default
  the *light* modules are the printed blocks, which is right for the usual light-on-dark terminal; `invert=True`
  prints the dark modules for a dark-on-light terminal.
- `data_uri(url)`: a PNG `data:` URI, for the app's Markdown.
- `write_sheet(links, path)`: one PNG holding a labelled code for every link (`python -m studio push --qr FILE.png`);
  `sheet_layout` says where each code lies in it.
Every link is checked first: an empty or malformed one raises QRCodeError naming it and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import segno

from core.errors import QRCodeError

ERROR_LEVEL = "m"  # recovers ~15 % damage: a phone screen photographed at an angle, a smudged print-out
MAX_URL = 2000  # well inside what a version-40 code at level M holds (2331 bytes)
TEXT_BORDER = 2  # quiet zone of terminal codes, in modules (phones read 2 on a screen; PNGs keep the standard 4)
PNG_BORDER = 4
SHEET_SCALE = 6  # pixels per module in the PNG sheet
SHEET_COLUMNS = 3
LABEL_PX = 28  # height of the file-name label under each code in the sheet
EXAMPLE = "https://huggingface.co/USER/STYLE/resolve/main/model.onnx"
_BAD_CHAR = re.compile(r"[\s\x00-\x1f\x7f]")


def check_url(url) -> str:
    """`url` stripped, if it is an http(s) link with a host and no spaces or control characters."""
    if not isinstance(url, str) or not url.strip():
        raise QRCodeError(f"no download link to put in a QR code (got {url!r}); pass a full link such as {EXAMPLE}")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or _BAD_CHAR.search(url):
        raise QRCodeError(f"{url[:200]!r} is not a download link for a QR code: it must be an http:// or https:// URL "
                          f"with a host and no spaces, such as {EXAMPLE}")
    if len(url) > MAX_URL:
        raise QRCodeError(f"the link {url[:60]!r}… is {len(url)} characters long, above the {MAX_URL} a phone can "
                          "scan reliably from a QR code; shorten it (e.g. a shorter repo name or revision)")
    return url


def make(url: str) -> segno.QRCode:
    """The QR code of one download link (checked first)."""
    return segno.make(check_url(url), error=ERROR_LEVEL, micro=False)


def matrix(url: str, border: int = 0) -> list[list[bool]]:
    """Module rows of the code, True for dark, with `border` light modules around it."""
    return [[bool(v) for v in row] for row in make(url).matrix_iter(scale=1, border=border)]


def text(url: str, *, border: int = TEXT_BORDER, invert: bool = False, ascii: bool = False) -> str:
    """The code for a terminal: one line per two module rows, no trailing newline (see the module docstring).
    `ascii=True`, for a terminal that cannot show the block characters: "##" per printed module, one row a line."""
    rows = matrix(url, border)
    if ascii:
        return "\n".join("".join("  " if dark != invert else "##" for dark in row) for row in rows)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))  # a light row under the quiet zone
    chars = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2]):
        lines.append("".join(chars[(t == invert, b == invert)] for t, b in zip(top, bottom)))
    return "\n".join(lines)


def data_uri(url: str, scale: int = 4) -> str:
    """A PNG data URI of the code (quiet zone included), for an <img> in Markdown."""
    return make(url).png_data_uri(scale=scale, border=PNG_BORDER)


def write_png(url: str, path: str | Path, scale: int = 8) -> Path:
    """One code as a PNG file."""
    qr = make(url)
    path = check_png_path(path)
    try:
        qr.save(str(path), kind="png", scale=scale, border=PNG_BORDER)
    except OSError as exc:
        raise QRCodeError(f"cannot write the QR code to {str(path)!r} ({exc.strerror or exc}); choose a writable "
                          "folder") from None
    return path


@dataclass(frozen=True)
class SheetBox:
    """Where one code lies in a sheet: its top-left pixel (quiet zone included), pixels per module, quiet zone."""

    left: int
    top: int
    scale: int
    border: int
    modules: int  # symbol width without the quiet zone


def sheet_layout(links: dict[str, str], scale: int = SHEET_SCALE) -> tuple[tuple[int, int], dict[str, SheetBox]]:
    """The sheet's (width, height) and each link's box: a grid of SHEET_COLUMNS cells as wide as the largest code,
    each code centred in its cell above a LABEL_PX label."""
    if not links:
        raise QRCodeError("no download links to put in a QR sheet; push the style first (python -m studio push)")
    codes = {name: make(url) for name, url in links.items()}
    cell = max(q.symbol_size(scale=scale, border=PNG_BORDER)[0] for q in codes.values())
    cols = min(SHEET_COLUMNS, len(codes))
    rows = -(-len(codes) // cols)
    boxes = {}
    for i, (name, q) in enumerate(codes.items()):
        side = q.symbol_size(scale=scale, border=PNG_BORDER)[0]
        r, c = divmod(i, cols)
        boxes[name] = SheetBox(left=c * cell + (cell - side) // 2, top=r * (cell + LABEL_PX) + (cell - side) // 2,
                               scale=scale, border=PNG_BORDER, modules=q.symbol_size(scale=1, border=0)[0])
    return (cols * cell, rows * (cell + LABEL_PX)), boxes


def sheet(links: dict[str, str], scale: int = SHEET_SCALE):
    """A PIL image with a labelled code for every link (name -> URL), in the order given."""
    from PIL import Image, ImageDraw, ImageFont

    size, boxes = sheet_layout(links, scale)
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=16)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    cell = size[0] // min(SHEET_COLUMNS, len(links))
    for i, (name, url) in enumerate(links.items()):
        box = boxes[name]
        for y, row in enumerate(matrix(url, box.border)):
            for x, dark in enumerate(row):
                if dark:
                    x0, y0 = box.left + x * scale, box.top + y * scale
                    draw.rectangle([x0, y0, x0 + scale - 1, y0 + scale - 1], fill=0)
        r, c = divmod(i, min(SHEET_COLUMNS, len(links)))
        label_top = r * (cell + LABEL_PX) + cell
        draw.text((c * cell + cell // 2, label_top + LABEL_PX // 2), name, fill=0, font=font, anchor="mm")
    return image


def write_sheet(links: dict[str, str], path: str | Path, scale: int = SHEET_SCALE) -> Path:
    """Write `sheet(links)` as a PNG; returns the path."""
    path = check_png_path(path)
    image = sheet(links, scale)
    try:
        image.save(path, format="PNG")
    except OSError as exc:
        raise QRCodeError(f"cannot write the QR codes to {str(path)!r} ({exc.strerror or exc}); choose a writable "
                          "folder") from None
    return path


def check_png_path(path: str | Path) -> Path:
    """`path` as a Path, if it names a .png file in an existing folder."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise QRCodeError(f"QR codes are written as PNG: name the file with .png, e.g. {path.with_suffix('.png')} "
                          f"instead of {str(path)!r}")
    if not path.parent.is_dir():
        raise QRCodeError(f"cannot write the QR codes to {str(path)!r}: the folder {str(path.parent)!r} does not "
                          "exist; create it or choose another file")
    return path
