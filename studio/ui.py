"""UI-side logic of the Gradio app (app.py holds only layout and event wiring): the style catalogue, stylize and
photo handlers, landmark QA and the manual landmark editor, alignment previews, the single-slot training job
manager, Hub handlers and formatting. Handlers turn PortraitStudioError into gr.Error carrying its message, so no
traceback ever reaches a user."""

from __future__ import annotations

import functools
import html
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import gradio as gr
import numpy as np

from core.errors import (BusyError, DatasetError, HubError, ImageLoadError, PortraitStudioError,
                         StyleNameTakenError, StylePackageError, TrainingCancelled)
from core.images import load_image, save_image
from core.options import check_alpha, check_keep_shape, check_mode, check_strength
from core.package import MOBILE_FILE, NAME_RE, ONNX_FILES, StylePackage, default_styles_dir, scan_styles
from core.topology import LANDMARK_KEYPOINTS
from studio.config import preset_defaults as train_preset_defaults
from studio.progress import QueueCallback, TrainCallback, TrainSnapshot

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
MAX_SIDE = 1280  # stylize: larger photos are downscaled first (before and after stay the same size)
MAX_ARTWORKS = 100
MIN_ARTWORKS = 10
EDITOR_SIDE = 640  # the landmark editor shows artworks at most this large
QA_SIZE = 256  # aligned crop size of the landmark QA gallery
PRESET_OVERRIDES_ENV = "PORTRAIT_TRAIN_PRESET_OVERRIDES"  # JSON dict applied over the preset (tests: tiny runs)
MODES = [("Face only", "face"), ("Whole image", "full")]
FILE_MAX_AGE_S = 3600  # downloads written by the app are pruned after an hour
SESSION_MAX_AGE_S = 86400  # artwork sessions untouched for a day are pruned


# --------------------------------------------------------------------------- environment


def examples() -> list[Path]:
    """The bundled example photos, astronaut first."""
    files = sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return sorted(files, key=lambda p: p.stem != "astronaut")


BUNDLED_PHOTOS = ROOT / "studio" / "photos"  # = studio.data.BUNDLED_POOL (not imported: studio.data loads torch)
POOL_MANIFEST = "pool.json"  # = studio.data.POOL_MANIFEST


def photo_pool_dir() -> Path:
    """Photos the trainer pairs with the artworks: $PORTRAIT_PHOTOS, else the bundled license-clean pool
    (studio/photos), else (a checkout without it) the shared FSXL photos, else the bundled examples/."""
    if os.environ.get("PORTRAIT_PHOTOS"):
        return Path(os.environ["PORTRAIT_PHOTOS"])
    if (BUNDLED_PHOTOS / POOL_MANIFEST).is_file():
        return BUNDLED_PHOTOS
    shared = Path(os.environ.get("PORTRAIT_SHARED", ROOT.parent / "shared")) / "data" / "fsxl" / "images"
    return shared if shared.is_dir() else EXAMPLES_DIR


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def photo_pool_note(folder: Path | None = None) -> str:
    """The Studio tab's line on the photos training pairs with the artworks: where they come from and how many."""
    folder = photo_pool_dir() if folder is None else folder
    where = f"`{_shown(folder)}`"
    count = None
    try:
        count = json.loads((folder / POOL_MANIFEST).read_text(encoding="utf-8")).get("count")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        pass
    if os.environ.get("PORTRAIT_PHOTOS"):
        what = (f"{count} aligned faces from {where}" if isinstance(count, int)
                else f"the faces found in {where}") + " (`PORTRAIT_PHOTOS`)"
    elif folder == BUNDLED_PHOTOS and isinstance(count, int):
        what = f"{count} bundled license-clean faces ({where}; set `PORTRAIT_PHOTOS` to use another folder)"
    elif folder == EXAMPLES_DIR:
        what = (f"only the {len(examples())} example photos in {where}: too few for a good style; set "
                "`PORTRAIT_PHOTOS` to a folder of a few hundred photos")
    else:
        what = f"the faces found in {where} (set `PORTRAIT_PHOTOS` to use another folder)"
    return f"**Photos:** {what}. Training pairs them with your artworks."


def hub_endpoint() -> str | None:
    """$PORTRAIT_HUB_ENDPOINT, else $HF_ENDPOINT, else None (huggingface.co)."""
    return os.environ.get("PORTRAIT_HUB_ENDPOINT") or os.environ.get("HF_ENDPOINT") or None


def server_options() -> dict[str, Any]:
    """launch() host and port: $GRADIO_SERVER_NAME, else 0.0.0.0 on a Hugging Face Space (SYSTEM=spaces), else
    127.0.0.1; port from $PORT or $GRADIO_SERVER_PORT, else 7860."""
    name = os.environ.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if os.environ.get("SYSTEM") == "spaces" else "127.0.0.1")
    port = int(os.environ.get("PORT") or os.environ.get("GRADIO_SERVER_PORT") or 7860)
    return {"server_name": name, "server_port": port}


_work_lock = threading.Lock()
_work: Path | None = None


def work_dir() -> Path:
    """This process's scratch folder (downloads, uploaded artworks, caches), in the system temp folder."""
    global _work
    with _work_lock:
        if _work is None or not _work.is_dir():
            _work = Path(tempfile.mkdtemp(prefix="portrait-studio-"))
        return _work


def user_errors(fn: Callable) -> Callable:
    """Wrap an event handler: PortraitStudioError becomes gr.Error with its message; anything else is logged
    with its traceback and shown as a one-line error."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except PortraitStudioError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:
            logger.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Something went wrong ({type(exc).__name__}: {exc}). Please try again; if it keeps "
                           "happening, report it with the steps that led here.", print_exception=False) from None
    return wrapper


# --------------------------------------------------------------------------- uploads


def upload_message(exc: Exception, src: Any) -> str:
    """The project's message about an uploaded file, naming it as the user knows it (its file name) rather than by
    the temporary folder the server keeps it in."""
    text = str(exc)
    if isinstance(src, (str, Path)) and str(src):
        text = text.replace(str(src), Path(src).name)
    return text


def load_upload(src: Any) -> np.ndarray:
    """core.images.load_image on an upload (a file path, bytes or an array); a failure keeps its class and the
    project's message, with the file named by its own name."""
    try:
        return load_image(src)
    except ImageLoadError as exc:
        raise type(exc)(upload_message(exc, src)) from None


def data_url_bytes(url: str) -> bytes:
    """The bytes of a data: URL (base64 or percent-encoded)."""
    import base64
    import binascii
    import urllib.parse

    head, sep, body = url.partition(",")
    if not sep:
        raise ImageLoadError("the image data URL has no ',' before its data: send the image as a file instead")
    if head.endswith(";base64"):
        try:
            return base64.b64decode(body, validate=False)
        except (binascii.Error, ValueError):
            raise ImageLoadError("the image data URL is not valid base64: send the image as a file instead") from None
    return urllib.parse.unquote_to_bytes(body)


def image_input(**kwargs) -> gr.Image:
    """gr.Image (the same browser component: upload, webcam, clipboard) whose uploads the project decodes, not
    Gradio: Gradio's own preprocess opens every upload with PIL before the handler runs, so a broken file, a
    non-image or a decompression bomb ends as Gradio's generic "The upstream Gradio app has raised an exception"
    instead of the project's message. type="filepath" passes the file's path on undecoded (the handler decodes it
    with core.images.load_image); type="numpy" decodes with load_image here and reports failures as gr.Error.
    (An instance override rather than a subclass: Gradio writes a .pyi stub next to any module that subclasses a
    component.)"""
    component = gr.Image(**kwargs)
    component.preprocess = functools.partial(preprocess_upload, component)  # type: ignore[method-assign]
    return component


def preprocess_upload(component: gr.Image, payload):
    """image_input's preprocess: None, the upload's path (type="filepath"; a data: URL is written to Gradio's cache
    first), or its pixels decoded by load_image (type="numpy" or "pil")."""
    if payload is None:
        return None
    source: str | bytes
    if payload.url and payload.url.startswith("data:"):
        try:
            source = data_url_bytes(payload.url)
        except ImageLoadError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
    elif payload.path:
        source = str(payload.path)
    else:
        raise gr.Error("the image arrived without its file: upload it again", print_exception=False)
    if component.type == "filepath":
        if isinstance(source, bytes):
            from gradio.processing_utils import save_bytes_to_cache

            mime = re.match(r"data:image/([a-z0-9]{1,10})", payload.url or "")
            source = save_bytes_to_cache(source, f"pasted-image.{mime.group(1) if mime else 'img'}",
                                         component.GRADIO_CACHE)
        return source
    try:
        rgb = load_upload(source)
    except PortraitStudioError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    if component.type == "pil":
        from PIL import Image

        return Image.fromarray(rgb)
    return rgb


# --------------------------------------------------------------------------- formatting


def format_duration(seconds: float | None) -> str:
    """'0:07', '12:05', '1:02:03'; '—' when unknown."""
    if seconds is None or not np.isfinite(seconds) or seconds < 0:
        return "—"
    s = int(round(seconds))
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def stylize_facts(result, shape: tuple[int, ...], style: StylePackage, alpha: float, strength: float,
                  mode: str | None = None, keep_shape: float | None = None) -> str:
    """Markdown facts of one output: faces found, time per stage, size, settings, the engine's note."""
    mode = mode or style.config.mode_default
    keep_shape = style.config.keep_shape if keep_shape is None else keep_shape
    n = len(result.faces)
    t = result.timings
    total = sum(t.values())
    stages = " · ".join(f"{k} {v:.0f} ms" for k, v in t.items() if v >= 0.5)
    lines = [f"**{n} face{'s' if n != 1 else ''} found** · **{total:.0f} ms** ({stages}) · {shape[1]}×{shape[0]} px",
             f"Style **{style.config.display_name}** · {dict((v, k) for k, v in MODES)[mode].lower()} · "
             f"geometry {alpha:.2f} · own shape {keep_shape:.2f} · style strength {strength:.2f}"]
    if getattr(result, "scores", None):
        lines.append(f"Scores: {result.scores_text} (geometry: landmarks found again on the result against the "
                     "intended shape, lower is closer; likeness: the face's light-dark layout kept, 1 = all of it)")
    if result.message:
        lines.append(f"ℹ️ {result.message}")
    return "  \n".join(lines)


def progress_html(done: int, total: int, text: str, state: str = "running") -> str:
    """A progress bar with a caption; state colours it (running, done, failed, cancelled, idle)."""
    pct = 100.0 * done / total if total else 0.0
    return (f'<div class="ps-progress ps-{state}"><div class="ps-bar"><div class="ps-fill" '
            f'style="width:{pct:.1f}%"></div></div><div class="ps-caption">{html.escape(text)}</div></div>')


def prune_old_files(folder: Path, max_age_s: float = FILE_MAX_AGE_S, pattern: str = "*") -> None:
    """Delete files and folders matching `pattern` in `folder` that were last modified over max_age_s ago."""
    now = time.time()
    for f in folder.glob(pattern):
        try:
            if now - f.stat().st_mtime > max_age_s:
                shutil.rmtree(f, ignore_errors=True) if f.is_dir() else f.unlink()
        except OSError:
            pass


def save_png(image: np.ndarray, stem: str = "stylized") -> str:
    """Write a PNG for download into the scratch folder (old ones pruned); returns its path."""
    folder = work_dir() / "downloads"
    folder.mkdir(exist_ok=True)
    prune_old_files(folder)
    path = folder / f"{stem}-{uuid.uuid4().hex[:8]}.png"
    save_image(path, image)
    return str(path)


def fit_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the long side is at most max_side (area interpolation); smaller images are returned as is."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------- style catalogue


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


def face_crop(image: np.ndarray, box: tuple[float, float, float, float], scale: float = 1.6,
              side: int = 256) -> np.ndarray:
    """A square crop `scale` times the face box around its centre (clipped to the image), resized to `side`."""
    x0, y0, x1, y1 = box
    half = max(x1 - x0, y1 - y0) * scale / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = image.shape[:2]
    half = max(8.0, min(half, cx, cy, w - cx, h - cy))  # stay inside the image, keep the face centred
    crop = np.ascontiguousarray(image[max(0, int(cy - half)):int(cy + half), max(0, int(cx - half)):int(cx + half)])
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


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


def style_files(style: StylePackage | None) -> list[str]:
    """The downloadable model files of a style (ONNX variants and the mobile spec) that exist."""
    if style is None:
        return []
    names = [*ONNX_FILES.values(), MOBILE_FILE]
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


@user_errors
def refresh_styles(current: str | None):
    """Outputs: gallery, style names, selected name, card, preview, files, empty state, alpha and keep-shape
    sliders, mode, push dropdown, skipped-styles note."""
    cat = catalog()
    names = cat.names
    name = current if current in names else (names[0] if names else None)
    style = cat.get(name)
    index = names.index(name) if name else None
    changed = style is not None and name != current
    alpha = gr.update(value=style.config.alpha_default) if changed else gr.update()
    keep = gr.update(value=style.config.keep_shape) if changed else gr.update()
    mode = gr.update(value=style.config.mode_default) if changed else gr.update()
    return (gr.update(value=cat.gallery(), selected_index=index, visible=bool(names)), names, name,
            style_card(style), style_preview(style), style_files(style),
            gr.update(value=empty_state(cat), visible=not names), alpha, keep, mode,
            gr.update(choices=names, value=name), gr.update(value=skipped_note(cat), visible=bool(skipped_note(cat))))


@user_errors
def select_style(names: list[str], evt: gr.SelectData):
    """Gallery click: (selected name, card, preview, files, and the alpha and keep-shape sliders and mode set to
    the style's defaults)."""
    if not names or evt.index is None or not 0 <= int(evt.index) < len(names):
        return (gr.update(),) * 7
    style = catalog().get(names[int(evt.index)])
    if style is None:
        raise StylePackageError("that style was removed from the styles folder; press ↻ to refresh the gallery")
    return (style.name, style_card(style), style_preview(style), style_files(style),
            gr.update(value=style.config.alpha_default), gr.update(value=style.config.keep_shape),
            gr.update(value=style.config.mode_default))


# --------------------------------------------------------------------------- stylize


@user_errors
def stylize_photo(image: str | Path | np.ndarray | None, style_name: str | None, alpha: float, strength: float,
                  mode: str, keep_shape: float | None = None):
    """`image`: the uploaded file's path (the app's image_input) or an RGB array; decoded by core.images.load_image,
    so a broken, truncated, empty or oversized file gets the project's message naming it.
    Outputs: before/after pair, facts markdown, download button (the PNG; disabled without a result)."""
    from core.engine import stylize

    if image is None or (isinstance(image, str) and not image):
        return (None, "Upload a photo, take one with the webcam, paste one, or pick an example.",
                gr.update(value=None, interactive=False))
    alpha = check_alpha(alpha, "Geometry strength")  # the sliders can be bypassed through the API
    strength = check_strength(strength, "Style strength")
    keep_shape = check_keep_shape(keep_shape, "Keep own face shape")
    mode = check_mode(mode or None)
    style = require_style(style_name)
    rgb = fit_side(load_upload(image), MAX_SIDE)
    result = stylize(rgb, style, alpha=alpha, strength=strength, mode=mode, max_side=None, keep_shape=keep_shape,
                     scores=True)
    facts = stylize_facts(result, rgb.shape, style, alpha, strength, mode, keep_shape)
    return (rgb, result.image), facts, gr.update(value=save_png(result.image, style.name), interactive=True)



# --------------------------------------------------------------------------- stylize: video files

VIDEO_MAX_SECONDS = 60.0  # the app takes clips up to a minute ...
VIDEO_MAX_PIXELS = 1920 * 1080  # ... and 1080p (either orientation)
VIDEO_MAX_SIDE = 1920
VIDEO_LIMIT_NOTE = ("the app takes clips up to 1 min and 1080p; the command line `python -m studio stylize clip.mp4 "
                    "--style NAME --out DIR` takes up to 10 min and 4K")
VIDEO_PROMPT = ("Upload a clip (mp4, mov, webm, mkv or avi; up to 1 min, 1080p). It is stylized with the style, mode "
                "and sliders chosen above; faces are tracked and smoothed from frame to frame, and the sound is kept.")


class VideoSession:
    """One browser session's video job: the Cancel button sets `cancel`, the running job checks it between frames.
    A fresh one per session (gr.State deep-copies its initial value; an Event cannot be copied)."""

    def __init__(self) -> None:
        self.cancel = threading.Event()

    def __deepcopy__(self, memo) -> "VideoSession":
        return VideoSession()


def video_facts(result, style: StylePackage, alpha: float | None, strength: float, keep_shape: float | None) -> str:
    """Markdown facts of a stylized clip: frames, size, fps, audio, faces, time, settings and the note."""
    w, h = result.size
    alpha = style.config.alpha_default if alpha is None else alpha
    keep_shape = style.config.keep_shape if keep_shape is None else keep_shape
    lines = [f"**{result.frames} frames** · {w}×{h} px · {float(result.fps):.3g} fps · audio {result.audio} · "
             f"faces in {result.frames_with_faces}/{result.frames} frames · **{format_duration(result.seconds)}** "
             f"({result.throughput:.1f} frames/s)",
             f"Style **{style.config.display_name}** · {dict((v, k) for k, v in MODES)[result.mode].lower()} · "
             f"geometry {alpha:.2f} · own shape {keep_shape:.2f} · style strength {strength:.2f}"]
    if getattr(result, "scores", None):
        lines.append(f"Scores: {result.scores_text} (geometry: landmarks found again on the result against the "
                     "intended shape, lower is closer; likeness: the face's light-dark layout kept, 1 = all of it)")
    if result.message:
        lines.append(f"ℹ️ {result.message}")
    return "  \n".join(lines)


@user_errors
def stylize_video_clicked(video: str | Path | None, style_name: str | None, alpha: float, strength: float,
                          mode: str | None, keep_shape: float | None = None, session: VideoSession | None = None,
                          progress=gr.Progress()):
    """The "Stylize video" button: the uploaded clip (a file path) through studio.video.stylize_video with the
    tab's style and settings, progress (frame, fps, ETA) on the outputs, stopped by `cancel_video_clicked`.
    Outputs: result player (the mp4), download button, status markdown. Clips over VIDEO_MAX_SECONDS or 1080p,
    and damaged, empty or non-video files are refused with a message naming the file."""
    from core.errors import Cancelled, VideoError
    from studio.video import stylize_video

    if video is None or (isinstance(video, str) and not video):
        return None, gr.update(value=None, interactive=False), VIDEO_PROMPT
    alpha = check_alpha(alpha, "Geometry strength")  # the sliders can be bypassed through the API
    strength = check_strength(strength, "Style strength")
    keep_shape = check_keep_shape(keep_shape, "Keep own face shape")
    mode = check_mode(mode or None)
    style = require_style(style_name)
    session = session if session is not None else VideoSession()
    session.cancel.clear()
    folder = work_dir() / "videos"
    folder.mkdir(exist_ok=True)
    prune_old_files(folder)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(video).stem).strip("_")[:40] or "clip"
    dst = folder / f"{stem}-{style.name}-{uuid.uuid4().hex[:8]}.mp4"

    def report(p) -> None:
        progress((p.done, p.total), desc=p.text)

    try:
        result = stylize_video(video, dst, style, mode=mode, alpha=alpha, strength=strength, keep_shape=keep_shape,
                               progress=report, cancel=session.cancel, max_seconds=VIDEO_MAX_SECONDS,
                               max_pixels=VIDEO_MAX_PIXELS, max_side=VIDEO_MAX_SIDE, limit_note=VIDEO_LIMIT_NOTE)
    except Cancelled:
        gr.Info("Video cancelled: nothing was written")
        return None, gr.update(value=None, interactive=False), "Cancelled: nothing was written."
    except (VideoError, FileNotFoundError) as exc:
        raise gr.Error(upload_message(exc, video), print_exception=False) from None
    return (str(result.path), gr.update(value=str(result.path), interactive=True),
            video_facts(result, style, alpha, strength, keep_shape))


@user_errors
def cancel_video_clicked(session: VideoSession | None):
    """The video Cancel button: the running clip stops after its current frame (and writes nothing)."""
    if session is not None:
        session.cancel.set()
    gr.Info("Cancelling the video: it stops after the current frame")


# --------------------------------------------------------------------------- studio: artworks and QA


@dataclass
class StudioSession:
    """One browser session's artwork set: files in `folder`/artworks, landmark overrides in overrides.json."""

    folder: str = ""

    @property
    def artworks(self) -> Path:
        return Path(self.folder) / "artworks"

    @property
    def overrides(self) -> Path:
        return Path(self.folder) / "overrides.json"

    def ensure(self) -> "StudioSession":
        if not self.folder or not Path(self.folder).is_dir():
            prune_old_files(work_dir(), SESSION_MAX_AGE_S, "studio-*")
            self.folder = tempfile.mkdtemp(prefix="studio-", dir=work_dir())
        self.artworks.mkdir(parents=True, exist_ok=True)
        return self

    def files(self) -> list[str]:
        if not self.folder or not self.artworks.is_dir():
            return []
        return sorted(p.name for p in self.artworks.iterdir() if p.is_file() and not p.name.startswith("."))

    def read_overrides(self) -> dict[str, dict]:
        if not self.folder or not self.overrides.is_file():
            return {}
        return json.loads(self.overrides.read_text(encoding="utf-8"))

    def write_overrides(self, table: dict[str, dict]) -> None:
        tmp = self.overrides.with_suffix(".tmp")
        tmp.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")  # keypoints keep click order
        os.replace(tmp, self.overrides)


def safe_name(name: str, taken: set[str]) -> str:
    """A file name of letters, digits, '-', '_' and '.', unique among `taken`."""
    stem, suffix = os.path.splitext(os.path.basename(name))
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "artwork"
    suffix = suffix.lower() if suffix.lower() in IMAGE_SUFFIXES else ".png"
    candidate, k = f"{stem}{suffix}", 2
    while candidate in taken:
        candidate, k = f"{stem}_{k}{suffix}", k + 1
    return candidate


def add_artworks(session: StudioSession, paths: list[str]) -> tuple[StudioSession, list[str]]:
    """Copy uploaded images into the session's artwork folder (at most MAX_ARTWORKS in all); files that
    core.images.load_image refuses (not an image, empty, truncated, too large) are skipped. Returns the session
    and notes about files that were skipped, with the project's message."""
    session = StudioSession(session.folder if session else "").ensure()
    taken = set(session.files())
    notes = []
    for p in paths or []:
        path = Path(p)
        if len(taken) >= MAX_ARTWORKS:
            notes.append(f"only the first {MAX_ARTWORKS} artworks are used; {path.name} and later files were "
                         "skipped")
            break
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            notes.append(f"{path.name} is not an image (JPEG, PNG, WebP, BMP, TIFF or GIF); skipped")
            continue
        try:
            load_upload(path)
        except ImageLoadError as exc:
            notes.append(f"skipped {upload_message(exc, path)}")
            continue
        name = safe_name(path.name, taken)
        shutil.copyfile(path, session.artworks / name)
        taken.add(name)
    return session, notes


STATUS_MARK = {"ok": "✅", "override": "✏️", "fitted": "📐", "outlier": "⚠️", "excluded": "❌"}


@dataclass
class QAReport:
    """Gallery items (image, caption), a markdown summary, and the files' statuses."""

    items: list[tuple[np.ndarray, str]]
    summary: str
    statuses: dict[str, str] = field(default_factory=dict)


class CachingDetector:
    """detect_faces with results cached by image content, so the QA fallback and the set builder detect once."""

    def __init__(self, limit: int = 256) -> None:
        self._cache: dict[tuple, list] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def __call__(self, image, max_faces: int = 8, min_score: float = 0.5) -> list:
        import hashlib

        from core.landmarks import detect_faces

        rgb = load_image(image)
        key = (rgb.shape, hashlib.sha1(rgb.tobytes()).hexdigest(), max_faces, min_score)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        faces = detect_faces(rgb, max_faces=max_faces, min_score=min_score)
        with self._lock:
            if len(self._cache) >= self.limit:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = faces
        return faces


_detector = CachingDetector()


def thumbnail(path: Path, side: int = QA_SIZE) -> np.ndarray:
    try:
        return fit_side(load_image(path), side)
    except PortraitStudioError:
        return np.full((side, side, 3), 235, np.uint8)


def landmark_qa(session: StudioSession, size: int = QA_SIZE) -> QAReport:
    """Detect, align and check every artwork like the trainer does; draw the landmarks on each aligned face and
    caption misses and outliers. Falls back to per-file detection when the set is not trainable yet."""
    from core.landmarks import draw_landmarks
    from studio.data import build_style_set

    files = session.files()
    if not files:
        return QAReport([], "")
    overrides = session.overrides if session.overrides.is_file() else None
    try:
        sset = build_style_set(session.artworks, size, overrides=overrides, missing="exclude", detector=_detector,
                               cache_dir=work_dir() / "cache")
    except DatasetError as exc:
        return fallback_qa(session, str(exc))
    items, statuses = [], {}
    for r in sset.records:
        statuses[r.file] = r.status
        if r.index is not None:
            picture = draw_landmarks(sset.images[r.index], sset.points[r.index], draw_box=False)
        else:
            picture = thumbnail(session.artworks / r.file, size)
        note = f": {r.message}" if r.message and r.status != "ok" else ""
        items.append((picture, f"{STATUS_MARK.get(r.status, '')} {r.file} — {r.status}{note}"))
    counts = sset.counts()
    summary = (f"**{len(sset)} of {len(files)} artworks usable for training** · "
               + " · ".join(f"{STATUS_MARK.get(k, '')} {n} {k}" for k, n in sorted(counts.items())))
    if len(files) < MIN_ARTWORKS:
        summary += f"  \n⚠️ {len(files)} artworks: {MIN_ARTWORKS}-{MAX_ARTWORKS} give a much better style."
    if counts.get("excluded") or counts.get("outlier"):
        summary += "  \nClick a ❌ or ⚠️ artwork, then set its landmarks by hand below."
    for w in sset.warnings:
        summary += f"  \n⚠️ {w}"
    return QAReport(items, summary, statuses)


def fallback_qa(session: StudioSession, reason: str) -> QAReport:
    """Per-file detection on thumbnails, for sets the trainer would refuse (with the reason why)."""
    from core.landmarks import draw_landmarks

    items, statuses = [], {}
    table = session.read_overrides()
    for name in session.files():
        path = session.artworks / name
        try:
            rgb = load_image(path)
        except PortraitStudioError as exc:
            items.append((thumbnail(path), f"❌ {name} — not a readable image: {exc}"))
            statuses[name] = "excluded"
            continue
        small = fit_side(rgb, QA_SIZE)
        faces = _detector(rgb, max_faces=4)
        if name in table:
            items.append((small, f"✏️ {name} — landmarks set by hand"))
            statuses[name] = "override"
        elif faces:
            scale = small.shape[1] / rgb.shape[1]
            items.append((draw_landmarks(small, [f.points * scale for f in faces[:1]], draw_box=False),
                          f"✅ {name} — ok"))
            statuses[name] = "ok"
        else:
            items.append((small, f"❌ {name} — no face found: set its landmarks by hand"))
            statuses[name] = "excluded"
    return QAReport(items, f"⚠️ {reason}", statuses)


def qa_outputs(session: StudioSession, notes: list[str] | None = None):
    """Outputs: session, QA gallery, summary, editor artwork dropdown, alignment artwork dropdown."""
    report = landmark_qa(session)
    files = session.files()
    summary = report.summary or ("Upload 10-100 artworks of one style (JPEG or PNG): faces in them are found "
                                 "automatically and shown here with their landmarks.")
    for n in notes or []:
        summary += f"  \n⚠️ {n}"
    first_bad = next((f for f in files if report.statuses.get(f) in ("excluded", "outlier")), None)
    pick = first_bad or (files[0] if files else None)
    return (session, gr.update(value=report.items, visible=bool(report.items)), summary,
            gr.update(choices=files, value=pick), gr.update(choices=files, value=files[0] if files else None))


@user_errors
def upload_artworks(session: StudioSession, paths: list[str] | None):
    if not paths:
        return qa_outputs(session or StudioSession())
    session, notes = add_artworks(session, paths)
    for note in notes:
        gr.Warning(note)
    return qa_outputs(session, notes)


@user_errors
def clear_artworks(session: StudioSession):
    if session and session.folder:
        shutil.rmtree(session.folder, ignore_errors=True)
    return qa_outputs(StudioSession())


@user_errors
def pick_from_qa(session: StudioSession, evt: gr.SelectData):
    """QA gallery click: choose that artwork in the landmark editor."""
    files = session.files() if session else []
    if evt.index is None or not 0 <= int(evt.index) < len(files):
        return gr.update()
    return gr.update(value=files[int(evt.index)])


# --------------------------------------------------------------------------- manual landmark editor


@dataclass
class EditorState:
    """Key points clicked so far, in order of LANDMARK_KEYPOINTS, in original image pixels."""

    file: str = ""
    points: list[list[float]] = field(default_factory=list)
    scale: float = 1.0  # shown image pixels per original pixel


def editor_image(session: StudioSession, state: EditorState) -> np.ndarray | None:
    """The artwork (at most EDITOR_SIDE) with the clicked key points numbered."""
    if not state.file:
        return None
    rgb = load_image(session.artworks / state.file)
    shown = fit_side(rgb, EDITOR_SIDE).copy()
    r = max(3, round(max(shown.shape[:2]) / 120))
    for k, (x, y) in enumerate(state.points):
        c = (round(x * state.scale), round(y * state.scale))
        cv2.circle(shown, c, r + 2, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(shown, c, r, (230, 30, 120), -1, cv2.LINE_AA)
        cv2.putText(shown, str(k + 1), (c[0] + r + 3, c[1] - r), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3,
                    cv2.LINE_AA)
        cv2.putText(shown, str(k + 1), (c[0] + r + 3, c[1] - r), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return shown


def editor_prompt(state: EditorState) -> str:
    if not state.file:
        return "Choose an artwork to set its landmarks by hand."
    k = len(state.points)
    if k >= len(LANDMARK_KEYPOINTS):
        return f"All {k} points set on **{state.file}**. Press **Save landmarks**."
    label = LANDMARK_KEYPOINTS[k][0]
    return (f"Click the **{label}** ({k + 1} of {len(LANDMARK_KEYPOINTS)}) on **{state.file}**. "
            "Right and left are the subject's own (the subject's right eye is on the image's left).")


def editor_outputs(session: StudioSession, state: EditorState):
    """Outputs: editor state, image, prompt, save button."""
    ready = len(state.points) >= 3
    return state, editor_image(session, state), editor_prompt(state), gr.update(interactive=ready)


@user_errors
def editor_open(session: StudioSession, name: str | None):
    if not session or not name or name not in session.files():
        return editor_outputs(session or StudioSession(), EditorState())
    rgb_shape = load_image(session.artworks / name).shape
    scale = min(1.0, EDITOR_SIDE / max(rgb_shape[:2]))
    entry = session.read_overrides().get(name, {})
    saved = entry.get("keypoints", {}) if isinstance(entry, dict) else {}
    points = []
    for _, idx in LANDMARK_KEYPOINTS:  # a saved set is reloaded in the fixed order, up to its first gap
        if str(idx) not in saved:
            break
        points.append([float(v) for v in saved[str(idx)]])
    return editor_outputs(session, EditorState(name, points, scale))


@user_errors
def editor_click(session: StudioSession, state: EditorState, evt: gr.SelectData):
    if not state.file or evt.index is None or len(state.points) >= len(LANDMARK_KEYPOINTS):
        return editor_outputs(session, state)
    x, y = evt.index[:2]
    point = [(float(x) + 0.5) / state.scale, (float(y) + 0.5) / state.scale]  # pixel centre, original pixels
    return editor_outputs(session, EditorState(state.file, [*state.points, point], state.scale))


@user_errors
def editor_undo(session: StudioSession, state: EditorState):
    return editor_outputs(session, EditorState(state.file, state.points[:-1], state.scale))


@user_errors
def editor_clear(session: StudioSession, state: EditorState):
    return editor_outputs(session, EditorState(state.file, [], state.scale))


def override_entry(points: list[list[float]]) -> dict:
    """The trainer's override format for clicked key points: {"keypoints": {mesh index: [x, y]}}."""
    return {"keypoints": {str(idx): [round(x, 2), round(y, 2)] for (_, idx), (x, y) in zip(LANDMARK_KEYPOINTS,
                                                                                          points)}}


def save_override(session: StudioSession, state: EditorState) -> None:
    """Merge the clicked key points into the session's override file (studio.data.load_overrides format)."""
    if len(state.points) < 3:
        raise DatasetError("click at least 3 key points (the eye corners work best) before saving")
    table = session.read_overrides()
    table[state.file] = override_entry(state.points)
    session.write_overrides(table)


@user_errors
def editor_save(session: StudioSession, state: EditorState):
    """Save, then re-run QA. Outputs: the QA outputs followed by a status line."""
    if not state.file:
        raise DatasetError("choose an artwork first")
    save_override(session, state)
    gr.Info(f"Saved {len(state.points)} landmarks for {state.file}")
    return qa_outputs(session)


_guide_lock = threading.Lock()
_guide: np.ndarray | None = None


def keypoint_guide() -> np.ndarray:
    """A reference photo with the editor's key points numbered in their click order."""
    global _guide
    with _guide_lock:
        if _guide is None:
            from core.landmarks import largest_face

            rgb = fit_side(load_image(EXAMPLES_DIR / "astronaut.jpg"), 512)
            face = largest_face(rgb, "the guide photo")
            x0, y0, x1, y1 = face.box
            side = int(max(x1 - x0, y1 - y0) * 1.5)
            cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
            left, top = max(0, cx - side // 2), max(0, cy - side // 2)
            crop = np.ascontiguousarray(rgb[top:top + side, left:left + side])
            scale = 320 / max(crop.shape[:2])
            crop = cv2.resize(crop, (round(crop.shape[1] * scale), round(crop.shape[0] * scale)),
                              interpolation=cv2.INTER_AREA)
            for k, (_, idx) in enumerate(LANDMARK_KEYPOINTS):
                x, y = (face.points[idx] - (left, top)) * scale
                c = (int(x), int(y))
                cv2.circle(crop, c, 5, (255, 255, 255), -1, cv2.LINE_AA)
                cv2.circle(crop, c, 3, (230, 30, 120), -1, cv2.LINE_AA)
                cv2.putText(crop, str(k + 1), (c[0] + 6, c[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3,
                            cv2.LINE_AA)
                cv2.putText(crop, str(k + 1), (c[0] + 6, c[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                            (255, 255, 255), 1, cv2.LINE_AA)
            _guide = crop
        return _guide


def keypoint_legend() -> str:
    return " · ".join(f"**{k + 1}** {label}" for k, (label, _) in enumerate(LANDMARK_KEYPOINTS))


# --------------------------------------------------------------------------- alignment preview


def geometry_edit(eyes: float | None = 1.0, mouth: float | None = 1.0) -> dict:
    """The landmark edit of the page's geometry sliders (`core.topology.edit_landmarks`): eyes taller by `eyes`,
    growing down from the detected upper lid (where the face mesh puts it on anime eyes), lips scaled by `mouth`."""
    edit: dict[str, dict] = {}
    if eyes and abs(float(eyes) - 1) > 1e-6:
        edit["eyes"] = {"scale": [1.0, float(eyes)], "anchor": "top"}
    if mouth and abs(float(mouth) - 1) > 1e-6:
        edit["lips"] = {"scale": float(mouth)}
    return edit


@user_errors
def alignment(session: StudioSession, artwork: str | None, photo: str | None, eyes: float = 1.0,
              mouth: float = 1.0):
    from core.preview import alignment_preview

    if not session or not artwork or artwork not in session.files():
        raise DatasetError("upload artworks first, then choose one to preview its alignment")
    photos = {p.name: p for p in examples()}
    photo_path = photos.get(photo or "", examples()[0])
    return alignment_preview(photo_path, session.artworks / artwork, size=256, photo_name=photo_path.name,
                             artwork_name=artwork, artwork_edit=geometry_edit(eyes, mouth)).image


# --------------------------------------------------------------------------- training jobs


@dataclass
class Job:
    """One training job: its id, style name and output folder, the progress state the trainer feeds, and the
    outcome (state: running, done, failed or cancelled; message; the new package)."""

    id: int
    name: str
    out: Path
    callback: QueueCallback
    cancel: threading.Event
    started: float
    state: str = "running"
    message: str = ""
    package: StylePackage | None = None
    finished: float | None = None
    thread: threading.Thread | None = None


class JobManager:
    """At most one training job per process, run on a daemon thread; UIs poll `current()` and its snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._ids = 0

    def current(self) -> Job | None:
        """The running job, or the last one that ended."""
        with self._lock:
            return self._job

    def busy_message(self, job: Job) -> str:
        snap = job.callback.snapshot()
        step = snap.progress.step if snap.progress else 0
        total = snap.total or "?"
        return f"a training job is already running (step {step}/{total}); wait or cancel it"

    def start(self, name: str, out: Path, run: Callable[[TrainCallback, threading.Event], Any]) -> Job:
        """Start `run(callback, cancel_event)` in the background; BusyError while another job runs."""
        with self._lock:
            if self._job is not None and self._job.state == "running":
                raise BusyError(self.busy_message(self._job))
            self._ids += 1
            job = Job(self._ids, name, Path(out), QueueCallback(), threading.Event(), time.time())
            job.thread = threading.Thread(target=self._run, args=(job, run), name=f"train-{name}", daemon=True)
            self._job = job
        job.thread.start()
        return job

    def cancel(self) -> bool:
        """Ask the running job to stop at its next step; False when none runs."""
        with self._lock:
            job = self._job
        if job is None or job.state != "running":
            return False
        job.cancel.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current job ends; True when none is running any more."""
        job = self.current()
        if job is not None and job.thread is not None:
            job.thread.join(timeout)
        return job is None or job.state != "running"

    @staticmethod
    def _run(job: Job, run: Callable[[TrainCallback, threading.Event], Any]) -> None:
        try:
            result = run(job.callback, job.cancel)
            package = getattr(result, "package", result)
            job.package = package if isinstance(package, StylePackage) else None
            job.state, job.message = "done", f"style “{job.name}” is ready"
        except TrainingCancelled:
            job.state, job.message = "cancelled", "training cancelled; nothing was installed"
        except PortraitStudioError as exc:
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # a trainer bug must not take the app down; the log keeps the traceback
            logger.exception("training job %s failed", job.name)
            job.state, job.message = "failed", f"training failed ({type(exc).__name__}: {exc})"
        finally:
            job.finished = time.time()


JOBS = JobManager()


PRESET_DEFAULTS = {name: train_preset_defaults(name) for name in ("quick", "full")}  # (steps, size) the page offers


def preset_defaults(preset: str) -> tuple[int, int]:
    """(steps, size) the page shows for a preset."""
    return PRESET_DEFAULTS.get(preset, PRESET_DEFAULTS["quick"])


def preset_overrides() -> dict[str, Any]:
    """Test-only overrides of the training preset, from $PORTRAIT_TRAIN_PRESET_OVERRIDES (a JSON object)."""
    raw = os.environ.get(PRESET_OVERRIDES_ENV, "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"${PRESET_OVERRIDES_ENV} is not valid JSON ({exc}); unset it or fix it") from None
    if not isinstance(data, dict):
        raise DatasetError(f"${PRESET_OVERRIDES_ENV} must be a JSON object of TrainConfig fields")
    return data


def train_config(preset: str, steps: int | None, size: int | None, landmark_edit: dict | None = None):
    """The preset's TrainConfig with the page's steps, size and landmark edit, the app's cache folder, then the
    test-only $PORTRAIT_TRAIN_PRESET_OVERRIDES (unknown keys are refused by TrainConfig)."""
    from studio.train import TrainConfig

    changes: dict[str, Any] = {"cache_dir": str(work_dir() / "cache"), "landmark_edit": landmark_edit or {}}
    if steps:
        changes["steps"] = int(steps)
    if size:
        changes["size"] = int(size)
        changes["perceptual_size"] = int(size)
    changes.update(preset_overrides())
    config = TrainConfig.from_dict(changes, TrainConfig.preset(preset))
    config.validate()
    return config


def check_style_name(name: str) -> str:
    name = (name or "").strip().lower().replace(" ", "-")
    if not NAME_RE.match(name):
        raise StylePackageError(f"style name {name!r} must be 1-64 lowercase letters, digits, '-' or '_', starting "
                                "with a letter or digit (e.g. my-style)")
    if (default_styles_dir() / name).exists():
        raise StylePackageError(f"a style named {name!r} is already installed; choose another name")
    return name


def start_training(session: StudioSession, name: str, preset: str, steps: int | None, size: int | None,
                   landmark_edit: dict | None = None, jobs: JobManager = JOBS) -> Job:
    """Check the inputs and start a training job on the session's artworks and the photo pool.
    PORTRAIT_TRAINING=0 (e.g. on a public Space) turns training off for every visitor."""
    if os.environ.get("PORTRAIT_TRAINING", "1").strip().lower() in ("0", "false", "off", "no"):
        raise BusyError("training is turned off on this server (PORTRAIT_TRAINING=0); run Portrait Studio locally "
                        "or on your own Space to train a style")
    current = jobs.current()
    if current is not None and current.state == "running":
        raise BusyError(jobs.busy_message(current))
    if not session or not session.files():
        raise DatasetError("upload the artworks of your style first (10-100 images of faces in one style)")
    name = check_style_name(name)
    config = train_config(preset, steps, size, landmark_edit)
    out = default_styles_dir() / name
    artworks = session.artworks
    overrides = session.overrides if session.overrides.is_file() else None
    photos = photo_pool_dir()
    run_dir = work_dir() / "runs" / f"{name}-{uuid.uuid4().hex[:6]}"

    def run(callback: TrainCallback, cancel: threading.Event):
        from studio.train import train

        return train(config, styles=artworks, photos=photos, out=out, run_dir=run_dir, callback=callback,
                     cancel=cancel, name=name, overrides=overrides)

    return jobs.start(name, out, run)


MAX_PLOTTED_LOSSES = 10


def loss_frame(history: list[tuple[int, dict[str, float]]], max_points: int = 400):
    """Long-format DataFrame (step, loss, value) of the loss history (every term the trainer reports, in order of
    appearance), thinned to at most max_points steps."""
    import pandas as pd

    if len(history) > max_points:
        stride = -(-len(history) // max_points)
        history = history[::stride] + ([history[-1]] if (len(history) - 1) % stride else [])
    main = list(dict.fromkeys(k for _, losses in history for k in losses))[:MAX_PLOTTED_LOSSES]
    rows = [(int(step), k, float(losses[k])) for step, losses in history for k in main
            if k in losses and np.isfinite(losses[k])]
    frame = pd.DataFrame(rows, columns=["step", "loss", "value"])
    return frame.astype({"step": "int64", "loss": "str", "value": "float64"})


def job_view(job: Job | None) -> tuple[str, np.ndarray | None, Any, str]:
    """(progress bar HTML, preview image, loss DataFrame or None, status markdown) of a job."""
    if job is None:
        return progress_html(0, 1, "No training job yet.", "idle"), None, None, ""
    snap: TrainSnapshot = job.callback.snapshot()
    total = snap.total or 0
    step = snap.progress.step if snap.progress else 0
    if job.state == "running":
        if snap.progress is None:
            text = "Preparing: finding faces in the artworks and photos…"
        else:
            p = snap.progress
            text = (f"Training “{job.name}”: step {p.step}/{p.total} · {p.it_per_s:.2f} steps/s · elapsed "
                    f"{format_duration(p.elapsed_s)} · ETA {format_duration(p.eta_s)}")
    elif job.state == "done":
        step = total or step
        text = f"Done in {format_duration((job.finished or time.time()) - job.started)}: {job.message}"
    else:
        text = job.message
    status = ""
    if job.state == "done" and job.package is not None:
        status = (f"✅ **{html.escape(job.package.config.display_name)}** is installed: pick it in the Stylize "
                  "gallery; its ONNX files are under *Style details* there.")
    elif job.state in ("failed", "cancelled"):
        status = f"{'⏹️' if job.state == 'cancelled' else '❌'} {html.escape(job.message)}"
    preview = None
    if snap.preview is not None:
        scale = max(1, int(np.ceil(240 / snap.preview.shape[0])))  # tiny training sizes stay visible
        preview = cv2.resize(snap.preview, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) \
            if scale > 1 else snap.preview
    plot = loss_frame(snap.history) if snap.history else None  # an empty frame breaks the plot's later updates
    return (progress_html(step, total or 1, text, job.state), preview, plot, status)


@user_errors
def train_clicked(session: StudioSession, name: str, preset: str, steps: int, size: int, eyes: float = 1.0,
                  mouth: float = 1.0):
    """Outputs: progress, preview, loss plot, status, timer (activated)."""
    try:
        job = start_training(session, name, preset, steps, size, geometry_edit(eyes, mouth))
    except BusyError as exc:
        gr.Warning(str(exc))
        return (*job_view(JOBS.current()), gr.Timer(active=True))
    gr.Info(f"Training “{job.name}” started")
    return (*job_view(job), gr.Timer(active=True))


@user_errors
def cancel_clicked():
    if JOBS.cancel():
        gr.Info("Cancelling: training stops after the current step")
    else:
        gr.Warning("no training job is running")


@user_errors
def poll_training(seen: int):
    """Timer tick. Outputs: progress, preview, loss plot, status, styles version (bumped when a job finished
    with a new style, so galleries refresh), timer (stops when no job runs)."""
    job = JOBS.current()
    view = job_view(job)
    running = job is not None and job.state == "running"
    version = seen
    if job is not None and job.state == "done" and job.package is not None and seen != job.id:
        version = job.id
    return (*view, version, gr.Timer(active=running))


# --------------------------------------------------------------------------- hub

ANONYMOUS = False  # huggingface_hub's "no token": visitors never read with a token saved on the server (HF_TOKEN)


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


@user_errors
def hub_search(query: str | None):
    """Outputs: gallery items (preview URL, caption), repo ids, status markdown."""
    from studio.hub import list_styles

    styles = list_styles(query or None, endpoint=hub_endpoint(), token=ANONYMOUS)
    items = [(s.preview_url, f"{s.repo_id} · ♥ {s.likes} · ↓ {s.downloads}") for s in styles]
    ids = [s.repo_id for s in styles]
    status = (f"{len(styles)} published style{'s' if len(styles) != 1 else ''}"
              + (f" matching “{html.escape(query)}”" if query else "") + ". Click one to pull it."
              if styles else "No published styles found" + (f" for “{html.escape(query)}”" if query else "") + ".")
    return gr.update(value=items, visible=bool(items)), ids, status


@user_errors
def hub_pick(ids: list[str], evt: gr.SelectData):
    """Browse gallery click: the repo id into the pull box, and its mobile links."""
    if not ids or evt.index is None or not 0 <= int(evt.index) < len(ids):
        return gr.update(), gr.update()
    return ids[int(evt.index)], hub_links(ids[int(evt.index)])


@user_errors
def hub_pull(ref: str | None, version: int, as_name: str | None = None):
    """Outputs: status markdown, styles version (bumped so galleries refresh). `as_name`: the local name to install
    under when the repo's style name is taken by a different style."""
    from studio.hub import pull_style

    if not ref or not ref.strip():
        raise StylePackageError("enter a style repo id such as user/style-name (optionally @revision)")
    try:
        package = pull_style(ref.strip(), styles_dir=default_styles_dir(), endpoint=hub_endpoint(),
                             token=ANONYMOUS, as_name=(as_name or "").strip() or None)
    except StyleNameTakenError as exc:
        raise StyleNameTakenError(str(exc).replace("`--as NEW_NAME`", "a new name in *Install as*")) from None
    gr.Info(f"Installed {package.config.display_name}")
    return (f"✅ Installed **{html.escape(package.config.display_name)}** (`{package.name}`) from "
            f"`{html.escape(ref.strip())}`; it is now in the Stylize gallery.", (version or 0) + 1)


def hub_links(repo_id: str | None) -> str:
    from studio.hub import mobile_links

    if not repo_id or not repo_id.strip():
        return ""
    ref = repo_id.strip()
    repo, _, revision = ref.partition("@")
    links = mobile_links(repo, revision or "main", endpoint=hub_endpoint(), token=ANONYMOUS)
    return links_markdown(links, f"Direct downloads for {repo}")


@user_errors
def hub_links_clicked(repo_id: str | None):
    if not repo_id or not repo_id.strip():
        raise StylePackageError("enter a style repo id such as user/style-name")
    return hub_links(repo_id)


@user_errors
def hub_push(style_name: str | None, repo_id: str | None, token: str | None, private: bool, tag: str | None):
    """Push a local style; the token is used for this call only and the field is cleared.
    Outputs: links markdown, token box (emptied)."""
    from studio.hub import push_style

    style = require_style(style_name)
    if not repo_id or not repo_id.strip():
        raise StylePackageError("enter the repo to push to, such as your-user/" + style.name)
    if not token or not token.strip():
        raise HubError("paste a Hugging Face token with write access (huggingface.co/settings/tokens); the app "
                       "never pushes with a token saved on the server")
    result = push_style(style.path, repo_id.strip(), token=token.strip(), private=bool(private),
                        tag=(tag or "").strip() or None, endpoint=hub_endpoint())
    gr.Info(f"Pushed {style.name} to {result.repo_id}")
    mobile = {n: u for n, u in result.links.items() if n.endswith((".onnx", ".ort")) or n == MOBILE_FILE}
    changed = f"{len(result.uploaded)} of {len(result.files)} files uploaded"
    return (f"✅ Pushed **{html.escape(style.name)}** to `{result.repo_id}` at `{result.revision}` ({changed}). "
            f"[Commit]({result.commit_url})\n\n" + links_markdown(mobile, "Direct mobile downloads"), "")
