"""The installed styles as the app shows them, without gradio: the styles folder rescanned only when it changes,
a thumbnail per style (the sample face stylized), the style card (with a pulled style's phone links and QR codes)
and the notes about folders that are not valid styles. The live webcam (studio/live.py) reads it too."""

from __future__ import annotations

import html
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.alignment import face_crop
from core.errors import PortraitStudioError, StylePackageError
from core.images import load_image, save_image
from core.package import MOBILE_FILE, ONNX_FILES, REFINER_GRAPH, StylePackage, default_styles_dir, scan_styles
from studio.workspace import EXAMPLES_DIR, fit_side, work_dir

logger = logging.getLogger(__name__)


@dataclass
class Catalog:
    """The valid styles of the styles folder (sorted by name) and the folders that failed validation."""

    styles: list[StylePackage]
    invalid: dict[str, str]
    root: Path

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.styles]

    def get(self, name: str | None) -> StylePackage | None:
        return next((s for s in self.styles if s.name == name), None)

    def gallery(self) -> list[tuple[str, str]]:
        """(thumbnail file, caption) per style."""
        return [(style_thumbnail(s), s.config.display_name) for s in self.styles]


_catalog_lock = threading.Lock()
_catalog: tuple[tuple, Catalog] | None = None


def folder_stamp(root: Path) -> tuple:
    """What changes when a style is added, removed or rewritten: the folder's entries and their mtimes."""
    if not root.is_dir():
        return (str(root),)
    entries = []
    for p in sorted(root.iterdir()):
        try:
            entries.append((p.name, p.stat().st_mtime_ns, (p / "style.json").stat().st_mtime_ns))
        except OSError:
            entries.append((p.name,))
    return (str(root.resolve()), root.stat().st_mtime_ns, tuple(entries))


def catalog() -> Catalog:
    """The styles folder (env PORTRAIT_STYLES, else styles/), rescanned only when it changed (the webcam stream
    asks for every frame)."""
    global _catalog
    root = default_styles_dir()
    stamp = folder_stamp(root)
    with _catalog_lock:
        if _catalog is not None and _catalog[0] == stamp:
            return _catalog[1]
    styles, invalid = scan_styles(root)
    result = Catalog(styles, invalid, root)
    with _catalog_lock:
        _catalog = (stamp, result)
    return result


_thumb_lock = threading.Lock()
_sample: tuple[np.ndarray, list] | None = None


def sample_face() -> tuple[np.ndarray, list]:
    """The bundled astronaut photo (at most 512 px) and its detected faces, computed once."""
    global _sample
    with _thumb_lock:
        if _sample is None:
            from core.landmarks import detect_faces

            rgb = fit_side(load_image(EXAMPLES_DIR / "astronaut.jpg"), 512)
            _sample = (rgb, detect_faces(rgb, max_faces=1))
        return _sample


def style_thumbnail(style: StylePackage) -> str:
    """A square picture of what a style does (the sample face stylized), cached per package version; the
    package's preview.png when that fails."""
    from core.engine import stylize

    try:
        stamp = max((style.path / f).stat().st_mtime_ns for f in ("style.json", ONNX_FILES["fp32"]))
        folder = work_dir() / "thumbs"
        folder.mkdir(exist_ok=True)
        path = folder / f"{style.name}-{stamp}.png"
        if not path.is_file():
            rgb, faces = sample_face()
            out = stylize(rgb, style, faces=faces, max_side=None).image
            save_image(path, face_crop(out, faces[0].box) if faces else fit_side(out, 256))
        return str(path)
    except Exception:  # a broken model must not hide the gallery; stylizing with it reports the error
        logger.warning("cannot render a thumbnail for style %s; showing its preview.png", style.name, exc_info=True)
        return str(style.preview_path)


def require_style(name: str | None) -> StylePackage:
    cat = catalog()
    style = cat.get(name) or (cat.styles[0] if cat.styles and not name else None)
    if style is None:
        if not cat.styles:
            raise StylePackageError("no style is installed yet: train one in the Studio tab or pull one from the "
                                    "Hub tab")
        raise StylePackageError(f"style {name!r} is no longer installed; pick another one from the gallery")
    return style


def style_card(style: StylePackage | None) -> str:
    """Markdown description of a style: name, description, resolution, training facts, license."""
    if style is None:
        return ""
    c = style.config
    facts = [f"{c.resolution}×{c.resolution} px", f"v{c.version}", f"license {c.license}"]
    steps = c.training.get("steps") if isinstance(c.training, dict) else None
    if steps:
        facts.append(f"{steps} training steps")
    artworks = c.training.get("artworks") if isinstance(c.training, dict) else None
    if artworks:
        facts.append(f"{artworks} artworks")
    text = f"### {html.escape(c.display_name)}\n{html.escape(c.description) if c.description else ''}\n\n"
    return text + " · ".join(facts) + hub_card(style)


def hub_card(style: StylePackage) -> str:
    """For a style pulled from the Hub, where it came from and its phone download links with QR codes."""
    from studio.hub import installed_links

    try:
        ref, links = installed_links(style.path)
        return "\n\n" + links_markdown(links, f"Phone downloads from the Hub ({html.escape(ref)})") if links else ""
    except PortraitStudioError as exc:  # a damaged install record must not hide the style
        logger.warning("no Hub links for style %s: %s", style.name, exc)
        return ""


def links_markdown(links: dict[str, str], title: str) -> str:
    """The links as a list, then a table of their QR codes (file name over code) for a phone to scan."""
    if not links:
        return f"{title}: no model files found."
    return f"**{title}**\n\n" + "\n".join(f"- [{html.escape(n)}]({u})" for n, u in links.items()) + \
        "\n\n" + qr_markdown(links)


def qr_markdown(links: dict[str, str]) -> str:
    """A Markdown table with a QR code (PNG data URI) under each file name; QRCodeError for a malformed link."""
    from studio import qr

    codes = {n: qr.data_uri(u) for n, u in links.items()}  # checks every link before anything is shown
    head = " | ".join(html.escape(n) for n in codes)
    rule = " | ".join(":-:" for _ in codes)
    cells = " | ".join(f'<img src="{d}" alt="QR code of {html.escape(n)}">' for n, d in codes.items())
    return f"**Scan with a phone** to download a file:\n\n| {head} |\n| {rule} |\n| {cells} |"


def style_files(style: StylePackage | None) -> list[str]:
    """The downloadable model files of a style (ONNX variants, the refiner's graph and the mobile spec) that exist."""
    if style is None:
        return []
    names = [*ONNX_FILES.values(), REFINER_GRAPH, MOBILE_FILE]
    return [str(style.path / n) for n in names if (style.path / n).is_file()]


def empty_state(cat: Catalog) -> str:
    """Markdown shown instead of the style gallery when no style is installed."""
    if cat.styles:
        return ""
    text = ("### No styles installed yet\nTrain your own in the **Studio** tab (10-100 artworks of one style), or "
            "pull a published one in the **Hub** tab. Styles live in `" + html.escape(str(cat.root)) + "`.")
    if cat.invalid:
        text += "\n\nThese folders are not valid style packages:\n" + "\n".join(
            f"- Skipped style '{md_text(k)}': {md_text(v)}" for k, v in sorted(cat.invalid.items()))
    return text


def md_text(text: str) -> str:
    """Plain text (a folder name, an error message from a foreign package) safe inside Markdown: HTML escaped and
    Markdown's markup characters backslashed, so it can neither render as a link or image nor break the list."""
    text = html.escape(" ".join(str(text).split()), quote=False)
    return re.sub(r"([\\`*_\[\]()!|~$])", r"\\\1", text)


def skipped_note(cat: Catalog) -> str:
    """Markdown under the gallery naming the style folders that were skipped, and why ("" when none were). With no
    valid style at all, empty_state lists them instead."""
    if not cat.invalid or not cat.styles:
        return ""
    lines = [f"- ⚠️ Skipped style '{md_text(k)}': {md_text(v)}" for k, v in sorted(cat.invalid.items())]
    return ("\n".join(lines) + "\n\nFix or remove these folders in `" + html.escape(str(cat.root)) +
            "`, then press ↻ Refresh styles.")


def style_preview(style: StylePackage | None) -> str | None:
    return str(style.preview_path) if style is not None and style.preview_path.is_file() else None
