"""What the app's tabs share: errors turned into gr.Error, the image input the project decodes, the session-wide
states, the style catalogue's refresh (gallery, card, sliders, the Hub tab's style list) and how a handler's named
result is wired to its components. The logic without gradio is in studio/{workspace,catalog,session,jobs}.py."""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import gradio as gr
import numpy as np

from core.errors import ImageLoadError, PortraitStudioError
from studio.catalog import catalog, empty_state, skipped_note, style_card, style_files, style_preview
from studio.workspace import load_upload

logger = logging.getLogger(__name__)


def server_options() -> dict[str, Any]:
    """launch() host and port: $GRADIO_SERVER_NAME, else 0.0.0.0 on a Hugging Face Space (SYSTEM=spaces), else
    127.0.0.1; port from $PORT or $GRADIO_SERVER_PORT, else 7860."""
    name = os.environ.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if os.environ.get("SYSTEM") == "spaces" else "127.0.0.1")
    port = int(os.environ.get("PORT") or os.environ.get("GRADIO_SERVER_PORT") or 7860)
    return {"server_name": name, "server_port": port}


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


def outputs(result: type[tuple], *parts: Any) -> list[gr.components.Component]:
    """The components a named result's fields name, in its order, looked up on `parts` (the Shared states and the
    tabs' component namespaces), so a handler's outputs are listed in one place: its NamedTuple."""
    found = []
    for name in result._fields:
        owner = next((p for p in parts if hasattr(p, name)), None)
        if owner is None:
            raise AttributeError(f"no component named {name!r} for {result.__name__}")
        found.append(getattr(owner, name))
    return found


@dataclass
class Shared:
    """Session states more than one tab reads or writes: the selected style and the gallery's names (Stylize), the
    styles version (bumped by a training run or a pull, so every style list refreshes)."""

    selected: gr.State
    style_names: gr.State
    styles_version: gr.State

    @classmethod
    def create(cls) -> "Shared":
        return cls(gr.State(None), gr.State([]), gr.State(0))


# --------------------------------------------------------------------------- uploads


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


# --------------------------------------------------------------------------- style catalogue


class StyleView(NamedTuple):
    """What a catalogue refresh shows: the Stylize gallery, its style names and selection, the selected style's
    card, preview and files, the no-styles note, the sliders and mode (set to a newly selected style's defaults),
    the Hub tab's push dropdown and the skipped-styles note."""

    gallery: Any
    style_names: list[str]
    selected: str | None
    card: str
    card_preview: str | None
    files: list[str]
    empty: Any
    alpha: Any
    keep: Any
    mode: Any
    push_style: Any
    skipped: Any


@user_errors
def refresh_styles(current: str | None) -> StyleView:
    """Rescan the styles folder; keep the selected style when it is still installed, else select the first."""
    cat = catalog()
    names = cat.names
    name = current if current in names else (names[0] if names else None)
    style = cat.get(name)
    index = names.index(name) if name else None
    changed = style is not None and name != current
    note = skipped_note(cat)
    return StyleView(
        gallery=gr.update(value=cat.gallery(), selected_index=index, visible=bool(names)), style_names=names,
        selected=name, card=style_card(style), card_preview=style_preview(style), files=style_files(style),
        empty=gr.update(value=empty_state(cat), visible=not names),
        alpha=gr.update(value=style.config.alpha_default) if changed else gr.update(),
        keep=gr.update(value=style.config.keep_shape) if changed else gr.update(),
        mode=gr.update(value=style.config.mode_default) if changed else gr.update(),
        push_style=gr.update(choices=names, value=name), skipped=gr.update(value=note, visible=bool(note)))
