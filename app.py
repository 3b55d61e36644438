"""Portrait Studio web app: the three tabs of studio/app/ (stylize, studio, hub: each its handlers, layout and
events) composed under one header and theme. `python app.py` serves it on http://127.0.0.1:7860 ($PORT /
$GRADIO_SERVER_NAME respected; 0.0.0.0 on a Hugging Face Space)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gradio as gr  # noqa: E402

from core.package import default_styles_dir  # noqa: E402
from studio import live  # noqa: E402
from studio.app import common, hub, stylize  # noqa: E402
from studio.app import studio as studio_tab  # noqa: E402
from studio.workspace import EXAMPLES_DIR  # noqa: E402

TITLE = "Portrait Studio"
PITCH = ("Turn portraits into art in real time, and teach it a new style from a few dozen artworks. "
         "Landmark-driven thin-plate-spline warps let a style reshape a face, not just paint over it.")
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="pink", neutral_hue="slate", radius_size="lg")
CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
#ps-header { display: flex; align-items: center; gap: 18px; padding: 22px 26px; margin-bottom: 6px;
  border-radius: 18px; color: white; background: linear-gradient(120deg, #4f46e5 0%, #7c3aed 45%, #db2777 100%); }
#ps-header .ps-logo { font-size: 44px; line-height: 1; }
#ps-header h1 { margin: 0; font-size: 30px; font-weight: 800; letter-spacing: -0.02em; color: white; }
#ps-header p { margin: 4px 0 0; font-size: 15px; opacity: 0.92; color: white; }
#ps-header .ps-chips { margin-left: auto; display: flex; gap: 8px; flex-wrap: wrap; justify-content: flex-end; }
#ps-header .ps-chip { background: rgba(255,255,255,0.18); border: 1px solid rgba(255,255,255,0.3);
  padding: 4px 10px; border-radius: 999px; font-size: 12.5px; white-space: nowrap; }
.ps-intro p { color: var(--body-text-color-subdued); margin: 2px 0 8px; }
.ps-step h3 { margin: 6px 0 2px; }
.ps-empty { border: 2px dashed var(--border-color-primary); border-radius: 14px; padding: 18px 22px;
  background: var(--background-fill-secondary); }
#facts { min-height: 48px; }
.ps-progress { margin: 4px 0; }
.ps-progress .ps-bar { height: 12px; border-radius: 999px; background: var(--background-fill-secondary);
  overflow: hidden; border: 1px solid var(--border-color-primary); }
.ps-progress .ps-fill { height: 100%; background: linear-gradient(90deg, #6366f1, #db2777); transition: width .4s; }
.ps-progress.ps-done .ps-fill { background: #16a34a; }
.ps-progress.ps-failed .ps-fill, .ps-progress.ps-cancelled .ps-fill { background: #9ca3af; }
.ps-progress .ps-caption { font-size: 13px; margin-top: 6px; color: var(--body-text-color-subdued); }
#qa-gallery, #style-gallery, #hub-gallery { height: auto !important; }
#qa-gallery .grid-wrap, #style-gallery .grid-wrap, #hub-gallery .grid-wrap { height: auto !important;
  min-height: 0 !important; overflow-y: auto; }
#qa-gallery .grid-wrap { max-height: 640px; }
#style-gallery .grid-wrap { max-height: 330px; }
#loss-plot { padding-bottom: 36px !important; overflow: visible !important; }
footer { display: none !important; }
"""
HEADER = f"""
<div id="ps-header">
  <div class="ps-logo">🎨</div>
  <div><h1>{TITLE}</h1><p>{PITCH}</p></div>
  <div class="ps-chips"><span class="ps-chip">⚡ real-time ONNX</span><span class="ps-chip">🧭 478-point landmarks</span>
  <span class="ps-chip">🖌️ few-shot training</span></div>
</div>
"""


def build_demo() -> gr.Blocks:
    """The whole app; queue and launch settings are applied by `launch`."""
    with gr.Blocks(title=f"{TITLE}: real-time portrait stylization", delete_cache=(3600, 7200)) as demo:
        shared = common.Shared.create()
        gr.HTML(HEADER)
        with gr.Tabs():
            photo_ui = stylize.build()
            studio_ui = studio_tab.build()
            hub_ui = hub.build()
        stylize.wire(demo, photo_ui, shared, hub_ui)  # a style refresh also lists the styles to push
        studio_tab.wire(demo, studio_ui, shared)
        hub.wire(hub_ui, shared)
    return demo


def launch(demo: gr.Blocks, **kwargs):
    """Queue and serve the app; kwargs override launch() settings (tests pass a port and prevent_thread_lock)."""
    demo.queue(default_concurrency_limit=2, max_size=64)
    settings = dict(common.server_options(), theme=THEME, css=CSS, footer_links=[], show_error=False,
                    ssr_mode=False, run_history=False, mcp_server=False, max_file_size="25mb",
                    app_kwargs={"routes": live.routes()},  # the live webcam's WebSocket (studio/live.py)
                    allowed_paths=[str(default_styles_dir().resolve()), str(EXAMPLES_DIR)], quiet=True)
    settings.update(kwargs)
    block = not settings.pop("prevent_thread_lock", False)
    result = demo.launch(prevent_thread_lock=True, **settings)
    server = getattr(demo, "server", None)
    if server is not None:  # live frames are JPEG: deflating them gains nothing and costs CPU (docs/app.md)
        server.config.ws_per_message_deflate = False
    if block:
        demo.block_thread()
    return result


if __name__ == "__main__":
    launch(build_demo())
