"""The Studio tab: upload artworks, check the landmarks found on them, fix an artwork's landmarks by clicking key
points, preview the TPS alignment against a sample photo, and train a style with progress, previews, a loss plot
and cancel. Handlers first, then `build` (the layout), then `wire` (the events). The artwork session, the cached
detector and the training jobs are gradio-free (studio/session.py, studio/jobs.py).

Over 500 lines because the tab has five steps (artworks, landmark check, editor, alignment, training), each
with its handlers and layout; the landmark check and editor drawing could move to a gradio-free module next."""

from __future__ import annotations

import html
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import cv2
import gradio as gr
import numpy as np

from core.alignment import face_crop, face_square
from core.errors import BusyError, DatasetError, PortraitStudioError
from core.images import load_image
from core.topology import LANDMARK_KEYPOINTS
from studio import jobs
from studio.app.common import Shared, format_duration, outputs, user_errors
from studio.config import preset_defaults
from studio.jobs import Job, start_training
from studio.session import MAX_ARTWORKS, CachingDetector, StudioSession, add_artworks
from studio.workspace import EXAMPLES_DIR, examples, fit_side, photo_pool_note, work_dir

MIN_ARTWORKS = 10
EDITOR_SIDE = 640  # the landmark editor shows artworks at most this large
GUIDE_SIDE = 320  # the key-point guide picture
QA_SIZE = 256  # aligned crop size of the landmark QA gallery
QA_PROMPT = ("Upload 10-100 artworks of one style (JPEG or PNG): faces in them are found automatically and shown "
             "with their landmarks.")
QUICK_EXPECT = ("Quick: 600 steps, about 5-20 min on a 2-core CPU. Expect the artworks' flat colours, outlines, "
                "palette and face shape (for cartoons: bigger eyes, a smaller jaw; measured on 50 cartoon artworks: "
                "a little over a third of the way from the photo to the artist's look). For painterly art the style also "
                "takes the artworks' brush strokes and paper onto faces when that measurably brings it closer to "
                "them (the package then holds your artworks, docs/training.md). Full trains a GAN at 256 px and "
                "needs a GPU.")


# --------------------------------------------------------------------------- artworks and landmark QA


STATUS_MARK = {"ok": "✅", "override": "✏️", "fitted": "📐", "outlier": "⚠️", "excluded": "❌"}


@dataclass
class QAReport:
    """Gallery items (image, caption), a markdown summary, and the files' statuses."""

    items: list[tuple[np.ndarray, str]]
    summary: str
    statuses: dict[str, str] = field(default_factory=dict)


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


class QAView(NamedTuple):
    """The landmark check of a session: the session, the QA gallery, its summary, and the editor's and the alignment
    preview's artwork dropdowns."""

    session: StudioSession
    qa_gallery: Any
    qa_summary: str
    edit_pick: Any
    align_art: Any


def qa_outputs(session: StudioSession, notes: list[str] | None = None) -> QAView:
    """Check the session's landmarks; the editor picks the first ❌ or ⚠️ artwork (else the first)."""
    report = landmark_qa(session)
    files = session.files()
    summary = report.summary or ("Upload 10-100 artworks of one style (JPEG or PNG): faces in them are found "
                                 "automatically and shown here with their landmarks.")
    for n in notes or []:
        summary += f"  \n⚠️ {n}"
    first_bad = next((f for f in files if report.statuses.get(f) in ("excluded", "outlier")), None)
    pick = first_bad or (files[0] if files else None)
    return QAView(session, gr.update(value=report.items, visible=bool(report.items)), summary,
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


class EditorView(NamedTuple):
    """The landmark editor: its state, the artwork with the clicked points, the prompt, the save button."""

    editor: EditorState
    edit_image: np.ndarray | None
    edit_prompt: str
    save: Any


def editor_outputs(session: StudioSession, state: EditorState) -> EditorView:
    """Save is enabled from 3 points on."""
    return EditorView(state, editor_image(session, state), editor_prompt(state),
                      gr.update(interactive=len(state.points) >= 3))


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
            left, top, side = face_square(face.box, rgb.shape, scale=1.5)
            crop, scale = face_crop(rgb, face.box, GUIDE_SIDE, scale=1.5), GUIDE_SIDE / round(side)
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


# --------------------------------------------------------------------------- training


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


def progress_html(done: int, total: int, text: str, state: str = "running") -> str:
    """A progress bar with a caption; state colours it (running, done, failed, cancelled, idle)."""
    pct = 100.0 * done / total if total else 0.0
    return (f'<div class="ps-progress ps-{state}"><div class="ps-bar"><div class="ps-fill" '
            f'style="width:{pct:.1f}%"></div></div><div class="ps-caption">{html.escape(text)}</div></div>')


class TrainView(NamedTuple):
    """A training job on the page: progress bar HTML, live preview, loss DataFrame (or None), status markdown."""

    progress: str
    train_preview: np.ndarray | None
    loss_plot: Any
    train_status: str


class TrainPoll(NamedTuple):
    """A timer tick: the job's view, the styles version (bumped once when a job finished with a new style, so the
    style lists refresh) and the timer (stopped when no job runs)."""

    progress: str
    train_preview: np.ndarray | None
    loss_plot: Any
    train_status: str
    styles_version: int
    timer: Any


def job_view(job: Job | None) -> TrainView:
    if job is None:
        return TrainView(progress_html(0, 1, "No training job yet.", "idle"), None, None, "")
    snap = job.callback.snapshot()
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
    return TrainView(progress_html(step, total or 1, text, job.state), preview, plot, status)


@user_errors
def train_clicked(session: StudioSession, name: str, preset: str, steps: int, size: int, eyes: float = 1.0,
                  mouth: float = 1.0) -> tuple:
    """The job's view (TrainView) and the timer, activated."""
    try:
        job = start_training(session, name, preset, steps, size, geometry_edit(eyes, mouth), jobs=jobs.JOBS)
    except BusyError as exc:
        gr.Warning(str(exc))
        return (*job_view(jobs.JOBS.current()), gr.Timer(active=True))
    gr.Info(f"Training “{job.name}” started")
    return (*job_view(job), gr.Timer(active=True))


@user_errors
def cancel_clicked():
    if jobs.JOBS.cancel():
        gr.Info("Cancelling: training stops after the current step")
    else:
        gr.Warning("no training job is running")


@user_errors
def poll_training(seen: int) -> TrainPoll:
    """Timer tick (and page load): the current job's view."""
    job = jobs.JOBS.current()
    running = job is not None and job.state == "running"
    version = seen
    if job is not None and job.state == "done" and job.package is not None and seen != job.id:
        version = job.id
    return TrainPoll(*job_view(job), styles_version=version, timer=gr.Timer(active=running))


# --------------------------------------------------------------------------- layout


def build() -> SimpleNamespace:
    """The tab's layout; returns its components by name (the names its handlers' results use)."""
    ui = SimpleNamespace()
    with gr.Tab("🖌️ Studio: train a style", id="studio"):
        ui.session = gr.State(StudioSession())
        ui.editor = gr.State(EditorState())
        gr.Markdown("Teach Portrait Studio a new style from **10-100 artworks** of faces in one style. "
                    "Check the landmarks it finds, fix any by hand, preview the alignment, then train.",
                    elem_classes="ps-intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=300, elem_classes="ps-step"):
                gr.Markdown("### 1 · Artworks")
                ui.artworks = gr.File(label="Artworks of one style", file_count="multiple", file_types=["image"],
                                      elem_id="artworks", height=170)
                ui.clear = gr.Button("Start over", size="sm", elem_id="clear-artworks")
                ui.qa_summary = gr.Markdown(QA_PROMPT, elem_id="qa-summary")
            with gr.Column(scale=8, min_width=360, elem_classes="ps-step"):
                gr.Markdown("### 2 · Landmark check")
                ui.qa_gallery = gr.Gallery(label="Aligned faces with detected landmarks", columns=5, height="auto",
                                           allow_preview=False, object_fit="contain", elem_id="qa-gallery",
                                           visible=False, buttons=[], fit_columns=False)
        with gr.Accordion("3 · Fix an artwork's landmarks by hand", open=False, elem_id="editor-panel"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=7):
                    ui.edit_pick = gr.Dropdown(label="Artwork", choices=[], elem_id="edit-pick")
                    ui.edit_image = gr.Image(label="Click the key points in order", interactive=False,
                                             elem_id="editor", height=480, buttons=[])
                with gr.Column(scale=5):
                    ui.edit_prompt = gr.Markdown(editor_prompt(EditorState()), elem_id="edit-prompt")
                    with gr.Row():
                        ui.undo = gr.Button("↶ Undo", size="sm")
                        ui.restart = gr.Button("Clear points", size="sm")
                        ui.save = gr.Button("💾 Save landmarks", size="sm", variant="primary", interactive=False,
                                            elem_id="edit-save")
                    ui.guide = gr.Image(label="Where the key points go", interactive=False, height=300, buttons=[])
                    gr.Markdown(keypoint_legend())
        with gr.Accordion("4 · Alignment preview (TPS) against a sample photo", open=False):
            with gr.Row():
                ui.align_art = gr.Dropdown(label="Artwork", choices=[], scale=2)
                ui.align_photo = gr.Dropdown(label="Sample photo", choices=[p.name for p in examples()],
                                             value=examples()[0].name, scale=2)
                ui.align_go = gr.Button("Preview alignment", scale=1)
            with gr.Row():
                ui.eyes = gr.Slider(1.0, 3.0, value=1.0, step=0.05, label="Artworks' eye height ×",
                                    elem_id="eye-height", info="The face mesh puts human-sized lids at the top of "
                                    "anime eyes: stretch them down until they cover the drawn eye")
                ui.mouth = gr.Slider(0.3, 1.5, value=1.0, step=0.05, label="Artworks' mouth size ×",
                                     elem_id="mouth-size", info="Shrink for styles with tiny mouths. Both corrections "
                                     "apply to training")
            ui.align_image = gr.Image(label="Photo and artwork warped to each other's geometry", interactive=False,
                                      elem_id="align-preview")
        gr.Markdown("### 5 · Train", elem_classes="ps-step")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                with gr.Group():
                    ui.style_name = gr.Textbox(label="Style name", value="my-style", elem_id="style-name",
                                               info="lowercase letters, digits, '-' or '_'")
                    ui.preset = gr.Radio([("Quick (painting head, CPU)", "quick"), ("Full (GAN, 256 px, GPU)", "full")],
                                         value="quick", label="Preset", info=QUICK_EXPECT, elem_id="preset")
                    steps, size = preset_defaults("quick")
                    with gr.Row():
                        ui.steps = gr.Slider(50, 20000, value=steps, step=50, label="Steps")
                        ui.size = gr.Dropdown([64, 128, 192, 256], value=size, label="Size (px)")
                with gr.Row():
                    ui.train = gr.Button("▶ Train style", variant="primary", elem_id="train")
                    ui.cancel = gr.Button("⏹ Cancel", variant="stop", elem_id="cancel")
                ui.progress = gr.HTML(progress_html(0, 1, "No training job yet.", "idle"), elem_id="train-progress")
                ui.train_status = gr.Markdown(elem_id="train-status")
                gr.Markdown(photo_pool_note(), elem_classes="ps-intro", elem_id="photo-pool")
            with gr.Column(scale=7, min_width=360):
                ui.train_preview = gr.Image(label="Live preview: held-out photos, stylized", interactive=False,
                                            height=260, elem_id="train-preview", buttons=[])
                ui.loss_plot = gr.LinePlot(None, x="step", y="value", color="loss", label="Training losses",
                                           height=300, elem_id="loss-plot")
        ui.timer = gr.Timer(1.0, active=False)
    return ui


# --------------------------------------------------------------------------- wiring


def wire(demo: gr.Blocks, ui: SimpleNamespace, shared: Shared) -> None:
    """The tab's events."""
    qa = outputs(QAView, ui)
    editor = outputs(EditorView, ui)
    detect = dict(concurrency_id="detect", concurrency_limit=1)
    ui.artworks.upload(upload_artworks, [ui.session, ui.artworks], qa, **detect).then(
        lambda: None, None, ui.artworks, show_progress="hidden")
    ui.clear.click(clear_artworks, [ui.session], qa)
    ui.qa_gallery.select(pick_from_qa, [ui.session], [ui.edit_pick], show_progress="hidden")
    ui.edit_pick.change(editor_open, [ui.session, ui.edit_pick], editor, show_progress="hidden")
    ui.edit_image.select(editor_click, [ui.session, ui.editor], editor, show_progress="hidden",
                         trigger_mode="multiple")
    ui.undo.click(editor_undo, [ui.session, ui.editor], editor, show_progress="hidden")
    ui.restart.click(editor_clear, [ui.session, ui.editor], editor, show_progress="hidden")
    ui.save.click(editor_save, [ui.session, ui.editor], qa, **detect)
    demo.load(keypoint_guide, None, ui.guide, show_progress="hidden")
    ui.align_go.click(alignment, [ui.session, ui.align_art, ui.align_photo, ui.eyes, ui.mouth], ui.align_image,
                      **detect)
    ui.preset.change(preset_defaults, ui.preset, [ui.steps, ui.size], show_progress="hidden")
    ui.train.click(train_clicked, [ui.session, ui.style_name, ui.preset, ui.steps, ui.size, ui.eyes, ui.mouth],
                   [*outputs(TrainView, ui), ui.timer], concurrency_limit=1, concurrency_id="train")
    ui.cancel.click(cancel_clicked, None, None)
    poll = outputs(TrainPoll, ui, shared)
    ui.timer.tick(poll_training, [shared.styles_version], poll, show_progress="hidden", concurrency_limit=None)
    demo.load(poll_training, [shared.styles_version], poll, show_progress="hidden")
