"""Portrait Studio web app: layout and event wiring (the logic is in studio/ui.py). `python app.py` serves it on
http://127.0.0.1:7860 ($PORT / $GRADIO_SERVER_NAME respected; 0.0.0.0 on a Hugging Face Space)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gradio as gr  # noqa: E402

from core.package import default_styles_dir  # noqa: E402
from studio import live, ui  # noqa: E402

TITLE = "Portrait Studio"
PITCH = ("Turn portraits into art in real time, and teach it a new style from a few dozen artworks. "
         "Landmark-driven thin-plate-spline warps let a style reshape a face, not just paint over it.")
QUICK_EXPECT = ("Quick: 600 steps, about 5-15 min on a 2-core CPU. Expect the artworks' flat colours, outlines, "
                "palette and face shape (for cartoons: bigger eyes, a smaller jaw), not brush strokes or paper "
                "texture (measured on 50 cartoon artworks: about a third of the way from the photo to the artist's "
                "look, docs/training.md). Full trains a GAN at 256 px and needs a GPU.")
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
        selected = gr.State(None)
        style_names = gr.State([])
        styles_version = gr.State(0)
        session = gr.State(ui.StudioSession())
        editor = gr.State(ui.EditorState())
        hub_ids = gr.State([])

        gr.HTML(HEADER)
        with gr.Tabs():
            # ---------------------------------------------------------------- stylize
            with gr.Tab("🎨 Stylize", id="stylize"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=320):
                        # ui.image_input: the handler decodes the file, so a broken upload gets the project's message
                        photo = ui.image_input(label="Your photo", sources=["upload", "webcam", "clipboard"],
                                               type="filepath", height=380, elem_id="photo",
                                               placeholder="Drop a portrait here, paste one, or use the webcam")
                        gr.Examples([[str(p)] for p in ui.examples()], inputs=[photo], label="Example photos",
                                    examples_per_page=6)
                        with gr.Group():
                            mode = gr.Radio(ui.MODES, value="face", label="What to stylize", elem_id="mode")
                            alpha = gr.Slider(0, 2, value=1, step=0.05, label="Geometry strength", elem_id="alpha",
                                              info="0 keeps the face's shape · 1 the style's · above 1 exaggerates")
                            keep = gr.Slider(0, 1, value=0, step=0.05, label="Keep own face shape", elem_id="keep",
                                             info="0: every face takes the style's face shape · 1: its own shape, "
                                                  "changed the way the style changes faces")
                            strength = gr.Slider(0, 1, value=1, step=0.05, label="Style strength",
                                                 elem_id="strength", info="0 is the original photo, 1 the full style")
                    with gr.Column(scale=7, min_width=360):
                        empty = gr.Markdown(visible=False, elem_classes="ps-empty")
                        gallery = gr.Gallery(label="Styles: click one", columns=5, height="auto", allow_preview=False,
                                             object_fit="cover", elem_id="style-gallery", buttons=[],
                                             fit_columns=False)
                        skipped = gr.Markdown(visible=False, elem_id="skipped-styles")
                        result = gr.ImageSlider(label="Before / after: drag the handle", type="numpy", format="png",
                                                elem_id="result", interactive=False, max_height=560,
                                                buttons=["fullscreen"])
                        facts = gr.Markdown("Upload a photo, take one with the webcam, paste one, or pick an "
                                            "example.", elem_id="facts")
                        with gr.Row():
                            download = gr.DownloadButton("⬇ Download PNG", elem_id="download", variant="primary",
                                                         scale=2, interactive=False)
                            refresh = gr.Button("↻ Refresh styles", elem_id="refresh-styles", scale=1)
                        with gr.Accordion("Style details and model files (ONNX, mobile spec)", open=False):
                            with gr.Row(equal_height=False):
                                card = gr.Markdown()
                                card_preview = gr.Image(label="Training preview", interactive=False, height=200,
                                                        buttons=["fullscreen"])
                            files = gr.File(label="Model files", file_count="multiple", interactive=False,
                                            elem_id="style-files")
                with gr.Accordion("📷 Live webcam: stylize the stream in real time", open=False):
                    gr.HTML(live.HTML, js_on_load=live.JS, css_template=live.CSS, elem_id="live")
                    live_settings = gr.Textbox(visible="hidden", elem_id="live-settings")
                with gr.Accordion("🎬 Video file: stylize a clip (up to 1 min, 1080p)", open=False,
                                  elem_id="video-panel"):
                    video_session = gr.State(ui.VideoSession())
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=5, min_width=320):
                            video_in = gr.Video(label="Your clip (mp4, mov, webm, mkv, avi)", sources=["upload"],
                                                include_audio=True, height=320, elem_id="video-in")
                            with gr.Row():
                                video_go = gr.Button("🎬 Stylize video", variant="primary", elem_id="video-go")
                                video_cancel = gr.Button("⏹ Cancel", variant="stop", elem_id="video-cancel")
                            video_status = gr.Markdown(ui.VIDEO_PROMPT, elem_id="video-status")
                        with gr.Column(scale=7, min_width=360):
                            video_out = gr.Video(label="Stylized clip", interactive=False, height=320,
                                                 elem_id="video-out")
                            video_download = gr.DownloadButton("⬇ Download MP4", elem_id="video-download",
                                                               interactive=False)

            # ---------------------------------------------------------------- studio
            with gr.Tab("🖌️ Studio: train a style", id="studio"):
                gr.Markdown("Teach Portrait Studio a new style from **10-100 artworks** of faces in one style. "
                            "Check the landmarks it finds, fix any by hand, preview the alignment, then train.",
                            elem_classes="ps-intro")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4, min_width=300, elem_classes="ps-step"):
                        gr.Markdown("### 1 · Artworks")
                        artworks = gr.File(label="Artworks of one style", file_count="multiple",
                                           file_types=["image"], elem_id="artworks", height=170)
                        clear = gr.Button("Start over", size="sm", elem_id="clear-artworks")
                        qa_summary = gr.Markdown("Upload 10-100 artworks of one style (JPEG or PNG): faces in them "
                                                 "are found automatically and shown with their landmarks.",
                                                 elem_id="qa-summary")
                    with gr.Column(scale=8, min_width=360, elem_classes="ps-step"):
                        gr.Markdown("### 2 · Landmark check")
                        qa_gallery = gr.Gallery(label="Aligned faces with detected landmarks", columns=5, height="auto",
                                                allow_preview=False, object_fit="contain", elem_id="qa-gallery",
                                                visible=False, buttons=[], fit_columns=False)
                with gr.Accordion("3 · Fix an artwork's landmarks by hand", open=False, elem_id="editor-panel"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=7):
                            edit_pick = gr.Dropdown(label="Artwork", choices=[], elem_id="edit-pick")
                            edit_image = gr.Image(label="Click the key points in order", interactive=False,
                                                  elem_id="editor", height=480, buttons=[])
                        with gr.Column(scale=5):
                            edit_prompt = gr.Markdown(ui.editor_prompt(ui.EditorState()), elem_id="edit-prompt")
                            with gr.Row():
                                undo = gr.Button("↶ Undo", size="sm")
                                restart = gr.Button("Clear points", size="sm")
                                save = gr.Button("💾 Save landmarks", size="sm", variant="primary",
                                                 interactive=False, elem_id="edit-save")
                            guide = gr.Image(label="Where the key points go", interactive=False, height=300,
                                             buttons=[])
                            gr.Markdown(ui.keypoint_legend())
                with gr.Accordion("4 · Alignment preview (TPS) against a sample photo", open=False):
                    with gr.Row():
                        align_art = gr.Dropdown(label="Artwork", choices=[], scale=2)
                        align_photo = gr.Dropdown(label="Sample photo", choices=[p.name for p in ui.examples()],
                                                  value=ui.examples()[0].name, scale=2)
                        align_go = gr.Button("Preview alignment", scale=1)
                    with gr.Row():
                        eyes = gr.Slider(1.0, 3.0, value=1.0, step=0.05, label="Artworks' eye height ×",
                                         elem_id="eye-height", info="The face mesh puts human-sized lids at the top "
                                         "of anime eyes: stretch them down until they cover the drawn eye")
                        mouth = gr.Slider(0.3, 1.5, value=1.0, step=0.05, label="Artworks' mouth size ×",
                                          elem_id="mouth-size", info="Shrink for styles with tiny mouths. Both "
                                          "corrections apply to training")
                    align_image = gr.Image(label="Photo and artwork warped to each other's geometry",
                                           interactive=False, elem_id="align-preview")
                gr.Markdown("### 5 · Train", elem_classes="ps-step")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=320):
                        with gr.Group():
                            style_name = gr.Textbox(label="Style name", value="my-style", elem_id="style-name",
                                                    info="lowercase letters, digits, '-' or '_'")
                            preset = gr.Radio([("Quick (painting head, CPU)", "quick"),
                                               ("Full (GAN, 256 px, GPU)", "full")], value="quick", label="Preset",
                                              info=QUICK_EXPECT, elem_id="preset")
                            with gr.Row():
                                steps = gr.Slider(50, 20000, value=ui.preset_defaults("quick")[0], step=50,
                                                  label="Steps")
                                size = gr.Dropdown([64, 128, 192, 256], value=ui.preset_defaults("quick")[1],
                                                   label="Size (px)")
                        with gr.Row():
                            train = gr.Button("▶ Train style", variant="primary", elem_id="train")
                            cancel = gr.Button("⏹ Cancel", variant="stop", elem_id="cancel")
                        progress = gr.HTML(ui.progress_html(0, 1, "No training job yet.", "idle"),
                                           elem_id="train-progress")
                        train_status = gr.Markdown(elem_id="train-status")
                        gr.Markdown(ui.photo_pool_note(), elem_classes="ps-intro", elem_id="photo-pool")
                    with gr.Column(scale=7, min_width=360):
                        train_preview = gr.Image(label="Live preview: held-out photos, stylized", interactive=False,
                                                 height=260, elem_id="train-preview", buttons=[])
                        loss_plot = gr.LinePlot(None, x="step", y="value", color="loss",
                                                label="Training losses", height=300, elem_id="loss-plot")
                timer = gr.Timer(1.0, active=False)

            # ---------------------------------------------------------------- hub
            with gr.Tab("🤗 Hub: share and discover", id="hub"):
                gr.Markdown("Styles are shared as Hugging Face model repos tagged `portrait-studio`. "
                            "Pulls are checked file by file (types, sizes, hashes) before they are installed.",
                            elem_classes="ps-intro")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=7, min_width=360):
                        gr.Markdown("### Browse published styles")
                        with gr.Row():
                            query = gr.Textbox(label="Search", placeholder="anime, sketch, watercolor…", scale=4,
                                               elem_id="hub-query")
                            search = gr.Button("🔍 Search", scale=1, elem_id="hub-search")
                        hub_status = gr.Markdown("Press **Search** to list published styles.", elem_id="hub-status")
                        hub_gallery = gr.Gallery(label="Published styles", columns=4, height="auto",
                                                 allow_preview=False, object_fit="cover", visible=False,
                                                 elem_id="hub-gallery", buttons=[], fit_columns=False)
                    with gr.Column(scale=5, min_width=320):
                        gr.Markdown("### Pull a style")
                        with gr.Row():
                            ref = gr.Textbox(label="Repo id", placeholder="user/style-name or user/style-name@v1",
                                             scale=3, elem_id="pull-ref")
                            pull = gr.Button("⬇ Pull", variant="primary", scale=1, elem_id="pull")
                        pull_as = gr.Textbox(label="Install as (optional)", placeholder="a new local name, when the "
                                             "repo's style name is taken by another style", elem_id="pull-as")
                        pull_status = gr.Markdown(elem_id="pull-status")
                        links_btn = gr.Button("📱 Mobile download links", size="sm")
                        links = gr.Markdown(elem_id="mobile-links")
                with gr.Accordion("Publish one of your styles", open=True):
                    with gr.Row():
                        push_style = gr.Dropdown(label="Local style", choices=[], scale=2, elem_id="push-style")
                        push_repo = gr.Textbox(label="Repo id", placeholder="your-user/style-name", scale=2)
                        push_token = gr.Textbox(label="Hugging Face token (write)", type="password", scale=2,
                                                placeholder="hf_…: used for this push only, never stored")
                    with gr.Row():
                        push_private = gr.Checkbox(label="Private repo", value=False)
                        push_tag = gr.Textbox(label="Version tag (optional)", placeholder="v1", scale=1)
                        push_go = gr.Button("⬆ Push to the Hub", variant="primary", scale=1)
                    push_result = gr.Markdown()

        # ---------------------------------------------------------------- wiring: styles
        refresh_outputs = [gallery, style_names, selected, card, card_preview, files, empty, alpha, keep, mode,
                           push_style, skipped]
        stylize_event = dict(fn=ui.stylize_photo, inputs=[photo, selected, alpha, strength, mode, keep],
                             outputs=[result, facts, download], concurrency_id="stylize", concurrency_limit=1,
                             trigger_mode="always_last", show_progress="minimal")
        demo.load(ui.refresh_styles, [selected], refresh_outputs, show_progress="hidden")
        refresh.click(ui.refresh_styles, [selected], refresh_outputs)
        styles_version.change(ui.refresh_styles, [selected], refresh_outputs, show_progress="hidden")
        gallery.select(ui.select_style, [style_names], [selected, card, card_preview, files, alpha, keep, mode],
                       show_progress="hidden").then(**stylize_event)
        gr.on([photo.change, mode.input, alpha.release, strength.release, keep.release], **stylize_event)
        gr.on([demo.load, selected.change, alpha.change, strength.change, mode.change, keep.change],
              live.settings_json, [selected, alpha, strength, mode, keep], [live_settings], queue=False,
              show_progress="hidden")
        video_go.click(ui.stylize_video_clicked, [video_in, selected, alpha, strength, mode, keep, video_session],
                       [video_out, video_download, video_status], concurrency_id="video", concurrency_limit=1)
        video_cancel.click(ui.cancel_video_clicked, [video_session], None, concurrency_limit=None,
                           show_progress="hidden")

        # ---------------------------------------------------------------- wiring: studio
        qa_outputs = [session, qa_gallery, qa_summary, edit_pick, align_art]
        editor_outputs = [editor, edit_image, edit_prompt, save]
        artworks.upload(ui.upload_artworks, [session, artworks], qa_outputs, concurrency_id="detect",
                        concurrency_limit=1).then(lambda: None, None, artworks, show_progress="hidden")
        clear.click(ui.clear_artworks, [session], qa_outputs)
        qa_gallery.select(ui.pick_from_qa, [session], [edit_pick], show_progress="hidden")
        edit_pick.change(ui.editor_open, [session, edit_pick], editor_outputs, show_progress="hidden")
        edit_image.select(ui.editor_click, [session, editor], editor_outputs, show_progress="hidden",
                          trigger_mode="multiple")
        undo.click(ui.editor_undo, [session, editor], editor_outputs, show_progress="hidden")
        restart.click(ui.editor_clear, [session, editor], editor_outputs, show_progress="hidden")
        save.click(ui.editor_save, [session, editor], qa_outputs, concurrency_id="detect", concurrency_limit=1)
        demo.load(ui.keypoint_guide, None, guide, show_progress="hidden")
        align_go.click(ui.alignment, [session, align_art, align_photo, eyes, mouth], align_image,
                       concurrency_id="detect", concurrency_limit=1)
        preset.change(ui.preset_defaults, preset, [steps, size], show_progress="hidden")
        train_outputs = [progress, train_preview, loss_plot, train_status]
        train.click(ui.train_clicked, [session, style_name, preset, steps, size, eyes, mouth],
                    [*train_outputs, timer], concurrency_limit=1, concurrency_id="train")
        cancel.click(ui.cancel_clicked, None, None)
        timer.tick(ui.poll_training, [styles_version], [*train_outputs, styles_version, timer],
                   show_progress="hidden", concurrency_limit=None)
        demo.load(ui.poll_training, [styles_version], [*train_outputs, styles_version, timer],
                  show_progress="hidden")

        # ---------------------------------------------------------------- wiring: hub
        hub_kw = dict(concurrency_id="hub", concurrency_limit=2)
        gr.on([search.click, query.submit], ui.hub_search, [query], [hub_gallery, hub_ids, hub_status], **hub_kw)
        hub_gallery.select(ui.hub_pick, [hub_ids], [ref, links], show_progress="hidden")
        gr.on([pull.click, ref.submit, pull_as.submit], ui.hub_pull, [ref, styles_version, pull_as], [pull_status, styles_version], **hub_kw)
        links_btn.click(ui.hub_links_clicked, [ref], [links], **hub_kw)
        push_go.click(ui.hub_push, [push_style, push_repo, push_token, push_private, push_tag],
                      [push_result, push_token], **hub_kw)
    return demo


def launch(demo: gr.Blocks, **kwargs):
    """Queue and serve the app; kwargs override launch() settings (tests pass a port and prevent_thread_lock)."""
    demo.queue(default_concurrency_limit=2, max_size=64)
    settings = dict(ui.server_options(), theme=THEME, css=CSS, footer_links=[], show_error=False, ssr_mode=False,
                    run_history=False, mcp_server=False, max_file_size="25mb",
                    app_kwargs={"routes": live.routes()},  # the live webcam's WebSocket (studio/live.py)
                    allowed_paths=[str(default_styles_dir().resolve()), str(ui.EXAMPLES_DIR)], quiet=True)
    settings.update(kwargs)
    return demo.launch(**settings)


if __name__ == "__main__":
    launch(build_demo())
