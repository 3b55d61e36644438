"""The Hub tab: browse the styles published on the Hugging Face Hub, pull one (checked file by file, installed all
or nothing), list a style's phone download links with QR codes, and push a local style with a token pasted for
that one request. Handlers first, then `build` (the layout), then `wire` (the events). Reads are anonymous: a token
saved on the server is never used for visitors."""

from __future__ import annotations

import html
import os
from types import SimpleNamespace
from typing import Any, NamedTuple

import gradio as gr

from core.errors import HubError, StyleNameTakenError, StylePackageError
from core.package import MOBILE_FILE, default_styles_dir
from studio.app.common import Shared, outputs, user_errors
from studio.catalog import links_markdown, require_style

ANONYMOUS = False  # huggingface_hub's "no token": visitors never read with a token saved on the server (HF_TOKEN)


def hub_endpoint() -> str | None:
    """$PORTRAIT_HUB_ENDPOINT, else $HF_ENDPOINT, else None (huggingface.co)."""
    return os.environ.get("PORTRAIT_HUB_ENDPOINT") or os.environ.get("HF_ENDPOINT") or None


class HubSearch(NamedTuple):
    """A search: the gallery (preview URL, caption per style), the repo ids in its order, the status line."""

    hub_gallery: Any
    hub_ids: list[str]
    hub_status: str


@user_errors
def hub_search(query: str | None) -> HubSearch:
    """The styles tagged portrait-studio, most downloaded first."""
    from studio.hub import list_styles

    styles = list_styles(query or None, endpoint=hub_endpoint(), token=ANONYMOUS)
    items = [(s.preview_url, f"{s.repo_id} · ♥ {s.likes} · ↓ {s.downloads}") for s in styles]
    ids = [s.repo_id for s in styles]
    status = (f"{len(styles)} published style{'s' if len(styles) != 1 else ''}"
              + (f" matching “{html.escape(query)}”" if query else "") + ". Click one to pull it."
              if styles else "No published styles found" + (f" for “{html.escape(query)}”" if query else "") + ".")
    return HubSearch(gr.update(value=items, visible=bool(items)), ids, status)


class HubPick(NamedTuple):
    """A browse gallery click: the repo id (into the pull box) and its mobile links."""

    ref: Any
    links: Any


@user_errors
def hub_pick(ids: list[str], evt: gr.SelectData) -> HubPick:
    if not ids or evt.index is None or not 0 <= int(evt.index) < len(ids):
        return HubPick(gr.update(), gr.update())
    return HubPick(ids[int(evt.index)], hub_links(ids[int(evt.index)]))


class HubPull(NamedTuple):
    """A pull: the status line and the styles version (bumped, so the style lists refresh)."""

    pull_status: str
    styles_version: int


@user_errors
def hub_pull(ref: str | None, version: int, as_name: str | None = None) -> HubPull:
    """Install `ref` (user/name[@revision]); `as_name`: the local name to install under when the repo's style name
    is taken by a different style."""
    from studio.hub import pull_style

    if not ref or not ref.strip():
        raise StylePackageError("enter a style repo id such as user/style-name (optionally @revision)")
    try:
        package = pull_style(ref.strip(), styles_dir=default_styles_dir(), endpoint=hub_endpoint(),
                             token=ANONYMOUS, as_name=(as_name or "").strip() or None)
    except StyleNameTakenError as exc:
        raise StyleNameTakenError(str(exc).replace("`--as NEW_NAME`", "a new name in *Install as*")) from None
    gr.Info(f"Installed {package.config.display_name}")
    return HubPull(f"✅ Installed **{html.escape(package.config.display_name)}** (`{package.name}`) from "
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


class HubPush(NamedTuple):
    """A push: the result (links with QR codes) and the token box, emptied."""

    push_result: str
    push_token: str


@user_errors
def hub_push(style_name: str | None, repo_id: str | None, token: str | None, private: bool,
             tag: str | None) -> HubPush:
    """Push a local style; the token is used for this call only and the field is cleared."""
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
    return HubPush(f"✅ Pushed **{html.escape(style.name)}** to `{result.repo_id}` at `{result.revision}` "
                   f"({changed}). [Commit]({result.commit_url})\n\n"
                   + links_markdown(mobile, "Direct mobile downloads"), "")


# --------------------------------------------------------------------------- layout


def build() -> SimpleNamespace:
    """The tab's layout; returns its components by name (the names its handlers' results use)."""
    ui = SimpleNamespace()
    with gr.Tab("🤗 Hub: share and discover", id="hub"):
        ui.hub_ids = gr.State([])
        gr.Markdown("Styles are shared as Hugging Face model repos tagged `portrait-studio`. "
                    "Pulls are checked file by file (types, sizes, hashes) before they are installed.",
                    elem_classes="ps-intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=7, min_width=360):
                gr.Markdown("### Browse published styles")
                with gr.Row():
                    ui.query = gr.Textbox(label="Search", placeholder="anime, sketch, watercolor…", scale=4,
                                          elem_id="hub-query")
                    ui.search = gr.Button("🔍 Search", scale=1, elem_id="hub-search")
                ui.hub_status = gr.Markdown("Press **Search** to list published styles.", elem_id="hub-status")
                ui.hub_gallery = gr.Gallery(label="Published styles", columns=4, height="auto", allow_preview=False,
                                            object_fit="cover", visible=False, elem_id="hub-gallery", buttons=[],
                                            fit_columns=False)
            with gr.Column(scale=5, min_width=320):
                gr.Markdown("### Pull a style")
                with gr.Row():
                    ui.ref = gr.Textbox(label="Repo id", placeholder="user/style-name or user/style-name@v1", scale=3,
                                        elem_id="pull-ref")
                    ui.pull = gr.Button("⬇ Pull", variant="primary", scale=1, elem_id="pull")
                ui.pull_as = gr.Textbox(label="Install as (optional)", placeholder="a new local name, when the "
                                        "repo's style name is taken by another style", elem_id="pull-as")
                ui.pull_status = gr.Markdown(elem_id="pull-status")
                ui.links_btn = gr.Button("📱 Mobile download links", size="sm")
                ui.links = gr.Markdown(elem_id="mobile-links")
        with gr.Accordion("Publish one of your styles", open=True):
            with gr.Row():
                ui.push_style = gr.Dropdown(label="Local style", choices=[], scale=2, elem_id="push-style")
                ui.push_repo = gr.Textbox(label="Repo id", placeholder="your-user/style-name", scale=2)
                ui.push_token = gr.Textbox(label="Hugging Face token (write)", type="password", scale=2,
                                           placeholder="hf_…: used for this push only, never stored")
            with gr.Row():
                ui.push_private = gr.Checkbox(label="Private repo", value=False)
                ui.push_tag = gr.Textbox(label="Version tag (optional)", placeholder="v1", scale=1)
                ui.push_go = gr.Button("⬆ Push to the Hub", variant="primary", scale=1)
            ui.push_result = gr.Markdown()
    return ui


# --------------------------------------------------------------------------- wiring


def wire(ui: SimpleNamespace, shared: Shared) -> None:
    """The tab's events; Hub requests run two at a time."""
    hub_kw = dict(concurrency_id="hub", concurrency_limit=2)
    gr.on([ui.search.click, ui.query.submit], hub_search, [ui.query], outputs(HubSearch, ui), **hub_kw)
    ui.hub_gallery.select(hub_pick, [ui.hub_ids], outputs(HubPick, ui), show_progress="hidden")
    gr.on([ui.pull.click, ui.ref.submit, ui.pull_as.submit], hub_pull, [ui.ref, shared.styles_version, ui.pull_as],
          outputs(HubPull, ui, shared), **hub_kw)
    ui.links_btn.click(hub_links_clicked, [ui.ref], [ui.links], **hub_kw)
    ui.push_go.click(hub_push, [ui.push_style, ui.push_repo, ui.push_token, ui.push_private, ui.push_tag],
                     outputs(HubPush, ui), **hub_kw)
