"""The Stylize tab: a photo (upload, webcam, clipboard) or an example through the selected style, with the style
gallery and its details, the live webcam (studio/live.py) and video files (studio/video.py). Handlers first, then
`build` (the layout), then `wire` (the events)."""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import gradio as gr
import numpy as np

from core.errors import StylePackageError
from core.options import check_alpha, check_keep_shape, check_mode, check_strength
from core.package import StylePackage
from studio import live
from studio.app.common import Shared, StyleView, format_duration, image_input, outputs, refresh_styles, user_errors
from studio.catalog import catalog, require_style, style_card, style_files, style_preview
from studio.workspace import examples, fit_side, load_upload, prune_old_files, save_png, upload_message, work_dir

MAX_SIDE = 1280  # stylize: larger photos are downscaled first (before and after stay the same size)
MODES = [("Face only", "face"), ("Whole image", "full")]
PHOTO_PROMPT = "Upload a photo, take one with the webcam, paste one, or pick an example."


def stylize_facts(result, shape: tuple[int, ...], style: StylePackage) -> str:
    """Markdown facts of one output: faces found, time per stage, size, settings as used, the engine's note."""
    n = len(result.faces)
    t = result.timings
    total = sum(t.values())
    stages = " · ".join(f"{k} {v:.0f} ms" for k, v in t.items() if v >= 0.5)
    first = f"**{n} face{'s' if n != 1 else ''} found** · **{total:.0f} ms** ({stages}) · {shape[1]}×{shape[0]} px"
    return "  \n".join([first, *settings_facts(result, style)])


def settings_facts(result, style: StylePackage) -> list[str]:
    """The facts' lines after the first (a photo's or a clip's): the settings the result was made with (its
    `mode`, `alpha`, `keep_shape`, `strength`, the style's defaults already filled in), then the scores and the
    engine's note when there are any."""
    lines = [f"Style **{style.config.display_name}** · {dict((v, k) for k, v in MODES)[result.mode].lower()} · "
             f"geometry {result.alpha:.2f} · own shape {result.keep_shape:.2f} · "
             f"style strength {result.strength:.2f}"]
    if getattr(result, "scores", None):
        lines.append(f"Scores: {result.scores_text} (geometry: landmarks found again on the result against the "
                     "intended shape, lower is closer; likeness: the face's light-dark layout kept, 1 = all of it)")
    if result.message:
        lines.append(f"ℹ️ {result.message}")
    return lines


class StyleChoice(NamedTuple):
    """A gallery click: the selected style, its card, preview and files, and the sliders and mode at its defaults."""

    selected: Any
    card: Any
    card_preview: Any
    files: Any
    alpha: Any
    keep: Any
    mode: Any


@user_errors
def select_style(names: list[str], evt: gr.SelectData) -> StyleChoice:
    """Gallery click: select that style and set the sliders and mode to its defaults."""
    if not names or evt.index is None or not 0 <= int(evt.index) < len(names):
        return StyleChoice(*(gr.update(),) * len(StyleChoice._fields))
    style = catalog().get(names[int(evt.index)])
    if style is None:
        raise StylePackageError("that style was removed from the styles folder; press ↻ to refresh the gallery")
    return StyleChoice(style.name, style_card(style), style_preview(style), style_files(style),
                       alpha=gr.update(value=style.config.alpha_default),
                       keep=gr.update(value=style.config.keep_shape), mode=gr.update(value=style.config.mode_default))


class PhotoResult(NamedTuple):
    """A stylized photo: the before/after pair, the facts markdown, the download button (the PNG)."""

    result: Any
    facts: str
    download: Any


@user_errors
def stylize_photo(image: str | Path | np.ndarray | None, style_name: str | None, alpha: float, strength: float,
                  mode: str, keep_shape: float | None = None) -> PhotoResult:
    """`image`: the uploaded file's path (the app's image_input) or an RGB array; decoded by core.images.load_image,
    so a broken, truncated, empty or oversized file gets the project's message naming it. The download button is
    disabled without a result."""
    from core.engine import stylize

    if image is None or (isinstance(image, str) and not image):
        return PhotoResult(None, PHOTO_PROMPT, gr.update(value=None, interactive=False))
    alpha = check_alpha(alpha, "Geometry strength")  # the sliders can be bypassed through the API
    strength = check_strength(strength, "Style strength")
    keep_shape = check_keep_shape(keep_shape, "Keep own face shape")
    mode = check_mode(mode or None)
    style = require_style(style_name)
    rgb = fit_side(load_upload(image), MAX_SIDE)
    result = stylize(rgb, style, alpha=alpha, strength=strength, mode=mode, max_side=None, keep_shape=keep_shape,
                     scores=True)
    facts = stylize_facts(result, rgb.shape, style)
    return PhotoResult((rgb, result.image), facts, gr.update(value=save_png(result.image, style.name),
                                                             interactive=True))


# --------------------------------------------------------------------------- video files

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


def video_facts(result, style: StylePackage) -> str:
    """Markdown facts of a stylized clip: frames, size, fps, audio, faces, time, settings as used and the note."""
    w, h = result.size
    first = (f"**{result.frames} frames** · {w}×{h} px · {float(result.fps):.3g} fps · audio {result.audio} · "
             f"faces in {result.frames_with_faces}/{result.frames} frames · **{format_duration(result.seconds)}** "
             f"({result.throughput:.1f} frames/s)")
    return "  \n".join([first, *settings_facts(result, style)])


class VideoResult(NamedTuple):
    """A stylized clip: the result player (the mp4), the download button, the status markdown."""

    video_out: Any
    video_download: Any
    video_status: str


@user_errors
def stylize_video_clicked(video: str | Path | None, style_name: str | None, alpha: float, strength: float,
                          mode: str | None, keep_shape: float | None = None, session: VideoSession | None = None,
                          progress=gr.Progress()) -> VideoResult:
    """The "Stylize video" button: the uploaded clip (a file path) through studio.video.stylize_video with the
    tab's style and settings, progress (frame, fps, ETA) on the outputs, stopped by `cancel_video_clicked`.
    Clips over VIDEO_MAX_SECONDS or 1080p, and damaged, empty or non-video files are refused with a message naming
    the file."""
    from core.errors import Cancelled, VideoError
    from studio.video import stylize_video

    if video is None or (isinstance(video, str) and not video):
        return VideoResult(None, gr.update(value=None, interactive=False), VIDEO_PROMPT)
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
        return VideoResult(None, gr.update(value=None, interactive=False), "Cancelled: nothing was written.")
    except (VideoError, FileNotFoundError) as exc:
        raise gr.Error(upload_message(exc, video), print_exception=False) from None
    return VideoResult(str(result.path), gr.update(value=str(result.path), interactive=True),
                       video_facts(result, style))


@user_errors
def cancel_video_clicked(session: VideoSession | None):
    """The video Cancel button: the running clip stops after its current frame (and writes nothing)."""
    if session is not None:
        session.cancel.set()
    gr.Info("Cancelling the video: it stops after the current frame")


# --------------------------------------------------------------------------- layout


def build() -> SimpleNamespace:
    """The tab's layout; returns its components by name (the names its handlers' results use)."""
    ui = SimpleNamespace()
    with gr.Tab("🎨 Stylize", id="stylize"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                # image_input: the handler decodes the file, so a broken upload gets the project's message
                ui.photo = image_input(label="Your photo", sources=["upload", "webcam", "clipboard"],
                                       type="filepath", height=380, elem_id="photo",
                                       placeholder="Drop a portrait here, paste one, or use the webcam")
                gr.Examples([[str(p)] for p in examples()], inputs=[ui.photo], label="Example photos",
                            examples_per_page=6)
                with gr.Group():
                    ui.mode = gr.Radio(MODES, value="face", label="What to stylize", elem_id="mode")
                    ui.alpha = gr.Slider(0, 2, value=1, step=0.05, label="Geometry strength", elem_id="alpha",
                                         info="0 keeps the face's shape · 1 the style's · above 1 exaggerates")
                    ui.keep = gr.Slider(0, 1, value=0, step=0.05, label="Keep own face shape", elem_id="keep",
                                        info="0: every face takes the style's face shape · 1: its own shape, "
                                             "changed the way the style changes faces")
                    ui.strength = gr.Slider(0, 1, value=1, step=0.05, label="Style strength", elem_id="strength",
                                            info="0 is the original photo, 1 the full style")
            with gr.Column(scale=7, min_width=360):
                ui.empty = gr.Markdown(visible=False, elem_classes="ps-empty")
                ui.gallery = gr.Gallery(label="Styles: click one", columns=5, height="auto", allow_preview=False,
                                        object_fit="cover", elem_id="style-gallery", buttons=[], fit_columns=False)
                ui.skipped = gr.Markdown(visible=False, elem_id="skipped-styles")
                ui.result = gr.ImageSlider(label="Before / after: drag the handle", type="numpy", format="png",
                                           elem_id="result", interactive=False, max_height=560,
                                           buttons=["fullscreen"])
                ui.facts = gr.Markdown(PHOTO_PROMPT, elem_id="facts")
                with gr.Row():
                    ui.download = gr.DownloadButton("⬇ Download PNG", elem_id="download", variant="primary",
                                                    scale=2, interactive=False)
                    ui.refresh = gr.Button("↻ Refresh styles", elem_id="refresh-styles", scale=1)
                with gr.Accordion("Style details and model files (ONNX, mobile spec)", open=False):
                    with gr.Row(equal_height=False):
                        ui.card = gr.Markdown()
                        ui.card_preview = gr.Image(label="Training preview", interactive=False, height=200,
                                                   buttons=["fullscreen"])
                    ui.files = gr.File(label="Model files", file_count="multiple", interactive=False,
                                       elem_id="style-files")
        with gr.Accordion("📷 Live webcam: stylize the stream in real time", open=False):
            gr.HTML(live.HTML, js_on_load=live.JS, css_template=live.CSS, elem_id="live")
            ui.live_settings = gr.Textbox(visible="hidden", elem_id="live-settings")
        with gr.Accordion("🎬 Video file: stylize a clip (up to 1 min, 1080p)", open=False, elem_id="video-panel"):
            ui.video_session = gr.State(VideoSession())
            with gr.Row(equal_height=False):
                with gr.Column(scale=5, min_width=320):
                    ui.video_in = gr.Video(label="Your clip (mp4, mov, webm, mkv, avi)", sources=["upload"],
                                           include_audio=True, height=320, elem_id="video-in")
                    with gr.Row():
                        ui.video_go = gr.Button("🎬 Stylize video", variant="primary", elem_id="video-go")
                        ui.video_cancel = gr.Button("⏹ Cancel", variant="stop", elem_id="video-cancel")
                    ui.video_status = gr.Markdown(VIDEO_PROMPT, elem_id="video-status")
                with gr.Column(scale=7, min_width=360):
                    ui.video_out = gr.Video(label="Stylized clip", interactive=False, height=320, elem_id="video-out")
                    ui.video_download = gr.DownloadButton("⬇ Download MP4", elem_id="video-download",
                                                          interactive=False)
    return ui


# --------------------------------------------------------------------------- wiring


def wire(demo: gr.Blocks, ui: SimpleNamespace, shared: Shared, *others: SimpleNamespace) -> None:
    """The tab's events. `others`: the other tabs' components that a catalogue refresh also updates (the Hub
    tab's push dropdown)."""
    settings = [ui.alpha, ui.strength, ui.mode, ui.keep]
    refreshed = outputs(StyleView, shared, ui, *others)
    stylize_event = dict(fn=stylize_photo, inputs=[ui.photo, shared.selected, *settings],
                         outputs=outputs(PhotoResult, ui), concurrency_id="stylize", concurrency_limit=1,
                         trigger_mode="always_last", show_progress="minimal")
    demo.load(refresh_styles, [shared.selected], refreshed, show_progress="hidden")
    ui.refresh.click(refresh_styles, [shared.selected], refreshed)
    shared.styles_version.change(refresh_styles, [shared.selected], refreshed, show_progress="hidden")
    ui.gallery.select(select_style, [shared.style_names], outputs(StyleChoice, shared, ui),
                      show_progress="hidden").then(**stylize_event)
    gr.on([ui.photo.change, ui.mode.input, ui.alpha.release, ui.strength.release, ui.keep.release], **stylize_event)
    gr.on([demo.load, shared.selected.change, ui.alpha.change, ui.strength.change, ui.mode.change, ui.keep.change],
          live.settings_json, [shared.selected, *settings], [ui.live_settings], queue=False, show_progress="hidden")
    ui.video_go.click(stylize_video_clicked, [ui.video_in, shared.selected, *settings, ui.video_session],
                      outputs(VideoResult, ui), concurrency_id="video", concurrency_limit=1)
    ui.video_cancel.click(cancel_video_clicked, [ui.video_session], None, concurrency_limit=None,
                          show_progress="hidden")
