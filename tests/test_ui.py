"""Unit tests of the app's handlers (studio/app/: common, stylize, studio, hub) and what they read (studio/workspace.py,
studio/catalog.py): environment, formatting, style catalogue, stylize handlers, artwork sessions, the landmark
editor's override format, training settings and polling, and the Hub handlers (against the test Hub server). The
gradio-free job manager and artwork session have their own tests (tests/test_jobs.py, tests/test_session.py).
Over 500 lines because it covers every tab's handlers; splitting it per tab is left for when one grows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from hubserver import hub_server  # noqa: F401 - the fixture is used by name

from core.errors import DatasetError, StylePackageError
from core.topology import LANDMARK_KEYPOINTS
from studio import catalog, workspace
from studio import jobs as training_jobs
from studio import session as artwork_session
from studio.app import common, hub, stylize
from studio.app import studio as studio_tab

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"



@pytest.fixture
def empty_styles(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "empty"
    root.mkdir()
    monkeypatch.setenv("PORTRAIT_STYLES", str(root))
    return root


def select(index) -> gr.SelectData:
    return gr.SelectData(None, {"index": index, "value": None})


class TestEnvironment:
    def test_server_options_default(self, monkeypatch):
        for k in ("GRADIO_SERVER_NAME", "SYSTEM", "PORT", "GRADIO_SERVER_PORT"):
            monkeypatch.delenv(k, raising=False)
        assert common.server_options() == {"server_name": "127.0.0.1", "server_port": 7860}

    def test_server_options_spaces_and_port(self, monkeypatch):
        monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
        monkeypatch.setenv("SYSTEM", "spaces")
        monkeypatch.setenv("PORT", "8080")
        assert common.server_options() == {"server_name": "0.0.0.0", "server_port": 8080}
        monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.2")
        assert common.server_options()["server_name"] == "127.0.0.2"

    def test_photo_pool_precedence(self, monkeypatch, tmp_path):
        monkeypatch.setenv("PORTRAIT_PHOTOS", str(tmp_path))
        assert workspace.photo_pool_dir() == tmp_path
        monkeypatch.delenv("PORTRAIT_PHOTOS")
        assert workspace.photo_pool_dir() == workspace.BUNDLED_PHOTOS  # the bundled pool, whatever ../shared holds
        count = json.loads((workspace.BUNDLED_PHOTOS / "pool.json").read_text())["count"]
        assert f"**Photos:** {count} bundled license-clean faces (`studio/photos`" in workspace.photo_pool_note()
        monkeypatch.setattr(workspace, "BUNDLED_PHOTOS", tmp_path / "no_pool")  # a checkout without studio/photos
        monkeypatch.setenv("PORTRAIT_SHARED", str(tmp_path / "nowhere"))
        assert workspace.photo_pool_dir() == workspace.EXAMPLES_DIR
        assert "too few for a good style" in workspace.photo_pool_note()
        (tmp_path / "shared" / "data" / "fsxl" / "images").mkdir(parents=True)
        monkeypatch.setenv("PORTRAIT_SHARED", str(tmp_path / "shared"))
        assert workspace.photo_pool_dir() == tmp_path / "shared" / "data" / "fsxl" / "images"

    def test_hub_endpoint_precedence(self, monkeypatch):
        monkeypatch.delenv("PORTRAIT_HUB_ENDPOINT", raising=False)
        monkeypatch.delenv("HF_ENDPOINT", raising=False)
        assert hub.hub_endpoint() is None
        monkeypatch.setenv("HF_ENDPOINT", "http://a")
        assert hub.hub_endpoint() == "http://a"
        monkeypatch.setenv("PORTRAIT_HUB_ENDPOINT", "http://b")
        assert hub.hub_endpoint() == "http://b"

    def test_examples_start_with_astronaut(self):
        files = workspace.examples()
        assert files[0].name == "astronaut.jpg" and len(files) >= 2


class TestUserErrors:
    def test_project_error_becomes_gr_error_with_message(self):
        @common.user_errors
        def bad():
            raise StylePackageError("style x is broken; re-export it")

        with pytest.raises(gr.Error, match="style x is broken; re-export it"):
            bad()

    def test_unexpected_error_is_one_line(self):
        @common.user_errors
        def bug():
            raise KeyError("k")

        with pytest.raises(gr.Error, match=r"Something went wrong \(KeyError"):
            bug()

    def test_passes_results_and_keeps_signature(self):
        @common.user_errors
        def ok(evt: gr.SelectData):
            return evt.index

        assert ok(select(3)) == 3
        from gradio.utils import get_type_hints

        assert get_type_hints(ok)["evt"] is gr.SelectData


class TestFormatting:
    @pytest.mark.parametrize("seconds, text", [(0, "0:00"), (7.4, "0:07"), (725, "12:05"), (3723, "1:02:03"),
                                               (None, "—"), (float("inf"), "—"), (-1, "—")])
    def test_format_duration(self, seconds, text):
        assert common.format_duration(seconds) == text

    def test_progress_html_escapes_and_scales(self):
        out = studio_tab.progress_html(3, 12, "<b>x</b>", "running")
        assert 'style="width:25.0%"' in out and "&lt;b&gt;" in out and "ps-running" in out

    def test_fit_side(self):
        image = np.zeros((400, 200, 3), np.uint8)
        assert workspace.fit_side(image, 100).shape == (100, 50, 3)
        assert workspace.fit_side(image, 500) is image

    def test_facts_show_the_settings_the_result_was_made_with(self, tiny_style):
        from types import SimpleNamespace

        result = SimpleNamespace(faces=[1, 2], timings={"detect": 12.0, "faces": 30.4}, message="note", scores=[],
                                 mode="full", alpha=0.3, keep_shape=0.7, strength=0.5)
        text = stylize.stylize_facts(result, (480, 640, 3), tiny_style)
        assert "**2 faces found** · **42 ms** (detect 12 ms · faces 30 ms) · 640×480 px" in text
        assert "whole image · geometry 0.30 · own shape 0.70 · style strength 0.50" in text and "ℹ️ note" in text

    def test_safe_name(self):
        taken = {"a.png"}
        assert artwork_session.safe_name("/x/a.png", taken) == "a_2.png"
        assert artwork_session.safe_name("my pic (1).JPG", set()) == "my_pic_1.jpg"
        assert artwork_session.safe_name("../..", set()) == "artwork.png"

    def test_prune_old_files(self, tmp_path):
        import os

        old_file, new_file, old_dir = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "studio-x"
        old_file.write_bytes(b"x")
        new_file.write_bytes(b"x")
        old_dir.mkdir()
        for p in (old_file, old_dir):
            os.utime(p, (0, 0))
        workspace.prune_old_files(tmp_path, 60)
        assert not old_file.exists() and not old_dir.exists() and new_file.exists()

    def test_loss_frame_types_and_thinning(self):
        history = [(s, {"g": 1.0 / s, "d": float("nan") if s == 2 else 0.5}) for s in range(1, 1001)]
        frame = studio_tab.loss_frame(history, max_points=100)
        assert list(frame.columns) == ["step", "loss", "value"]
        assert str(frame["value"].dtype) == "float64" and frame["step"].max() == 1000
        assert frame["step"].nunique() <= 101 and set(frame["loss"]) == {"g", "d"}
        assert studio_tab.loss_frame([]).empty


class TestCatalog:
    def test_empty_state(self, empty_styles):
        gallery, names, name, card, preview, files, empty, alpha, keep, mode, push, skipped = \
            common.refresh_styles(None)
        assert names == [] and name is None and gallery["visible"] is False
        assert empty["visible"] is True and "No styles installed yet" in empty["value"]
        assert skipped["visible"] is False

    def test_invalid_folder_is_reported(self, empty_styles):
        (empty_styles / "broken").mkdir()
        assert "broken" in catalog.empty_state(catalog.catalog())

    def test_refresh_selects_first_style(self, styles_dir, tiny_style):
        gallery, names, name, card, preview, files, empty, alpha, keep, mode, push, skipped = \
            common.refresh_styles(None)
        assert names == [tiny_style.name] and name == tiny_style.name and gallery["selected_index"] == 0
        thumb, caption = gallery["value"][0]
        assert Path(thumb).is_file() and caption == tiny_style.config.display_name
        assert {Path(f).name for f in files} == {"model.onnx", "model_fp16.onnx", "model_int8.onnx", "mobile.json"}
        assert empty["visible"] is False and alpha["value"] == tiny_style.config.alpha_default
        assert mode["value"] == tiny_style.config.mode_default == "face"
        assert keep["value"] == tiny_style.config.keep_shape == 0
        assert skipped["visible"] is False and not skipped["value"]
        assert push["choices"] == [tiny_style.name] and push["value"] == tiny_style.name  # the Hub tab's list

    def test_skipped_styles_are_shown_under_the_gallery(self, styles_dir, tiny_style):
        (styles_dir / "broken").mkdir()
        (styles_dir / "broken" / "style.json").write_text("{not json")
        (styles_dir / "[evil](http:x)").mkdir()
        *_, skipped = common.refresh_styles(None)
        bad = catalog.catalog().invalid
        assert set(bad) == {"broken", "[evil](http:x)"} and catalog.catalog().names == [tiny_style.name]
        assert skipped["visible"] is True and "Skipped style 'broken': " in skipped["value"]
        assert catalog.md_text(bad["broken"]) in skipped["value"]  # the package's own message, why it was skipped
        assert "Skipped style '\\[evil\\]\\(http:x\\)'" in skipped["value"]  # a folder name is text, not a link

    def test_catalog_is_rescanned_only_on_change(self, styles_dir, tiny_style):
        first = catalog.catalog()
        assert catalog.catalog() is first
        shutil.copytree(tiny_style.path, styles_dir / "copy")
        config = json.loads((styles_dir / "copy" / "style.json").read_text())
        (styles_dir / "copy" / "style.json").write_text(json.dumps({**config, "name": "copy"}))
        assert catalog.catalog().names == ["copy", tiny_style.name]

    def test_select_style(self, styles_dir, tiny_style):
        name, card, preview, files, alpha, keep, mode = stylize.select_style([tiny_style.name], select(0))
        assert name == tiny_style.name and Path(preview).name == "preview.png" and len(files) == 4
        assert alpha["value"] == tiny_style.config.alpha_default and mode["value"] == "face" and keep["value"] == 0

    def test_select_removed_style(self, styles_dir):
        with pytest.raises(gr.Error, match="removed"):
            stylize.select_style(["gone"], select(0))


class TestStylize:
    def test_photo(self, styles_dir, tiny_style, astronaut):
        (before, after), facts, download = stylize.stylize_photo(astronaut, tiny_style.name, 1.0, 1.0, "face")
        assert before.shape == after.shape == astronaut.shape
        assert np.abs(before.astype(int) - after.astype(int)).mean() > 1
        png = Path(download["value"])
        assert "1 face found" in facts and png.suffix == ".png" and png.is_file() and download["interactive"]
        assert "Scores: " in facts and "likeness 0." in facts  # the 64 px random style: a face may not be found again
        from core.images import load_image

        assert np.array_equal(load_image(png), after)

    @pytest.mark.parametrize("alpha, strength, keep, label", [
        (float("nan"), 1.0, 0.0, "Geometry strength"), (1e9, 1.0, 0.0, "Geometry strength"),
        (1.0, -0.5, 0.0, "Style strength"), (1.0, 1.0, float("inf"), "Keep own face shape")])
    def test_numbers_sent_past_the_sliders(self, styles_dir, tiny_style, astronaut, alpha, strength, keep, label):
        """The API can send what the sliders cannot: refused with the slider's name (live: tests/test_live.py)."""
        with pytest.raises(gr.Error, match=label):
            stylize.stylize_photo(astronaut, tiny_style.name, alpha, strength, "face", keep)

    def test_no_image_is_a_prompt(self, styles_dir):
        pair, facts, download = stylize.stylize_photo(None, None, 1.0, 1.0, "face")
        assert pair is None and download["interactive"] is False and "Upload a photo" in facts

    def test_no_style_installed(self, empty_styles, astronaut):
        with pytest.raises(gr.Error, match="no style is installed"):
            stylize.stylize_photo(astronaut, None, 1.0, 1.0, "face")



def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds no pixel data (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IEND", b"")


BAD_UPLOADS = ("notes.jpg", "empty.png", "cut.png", "cut.jpg", "bomb.png")


@pytest.fixture
def bad_upload(request, tmp_path, astronaut) -> Path:
    """One file of BAD_UPLOADS in a folder named like Gradio's upload cache: text with an image suffix, 0 bytes, a
    PNG and a JPEG cut in half, a PNG header claiming 20000x20000 pixels."""
    import io

    from PIL import Image

    folder = tmp_path / "gradio" / "0123456789abcdef"
    folder.mkdir(parents=True)
    path = folder / request.param
    if path.name == "notes.jpg":
        path.write_text("these are my notes, not a photo")
    elif path.name == "empty.png":
        path.write_bytes(b"")
    elif path.name == "bomb.png":
        path.write_bytes(png_header_only(20_000, 20_000))
    else:
        buf = io.BytesIO()
        Image.fromarray(astronaut).save(buf, "PNG" if path.suffix == ".png" else "JPEG")
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def project_message(path: Path) -> str:
    """core.images.load_image's own message about `path`, naming the file by its name."""
    from core.errors import ImageLoadError
    from core.images import load_image

    with pytest.raises(ImageLoadError) as exc:
        load_image(path)
    return str(exc.value).replace(str(path), path.name)


@pytest.mark.parametrize("bad_upload", BAD_UPLOADS, indirect=True)
class TestBrokenUploads:
    """Uploads reach the handlers undecoded (common.image_input) and are refused with the project's message, which names
    the file (not the server's temporary folder) and says what to do."""

    def test_photo_upload_is_refused_with_the_project_message(self, styles_dir, tiny_style, bad_upload):
        from gradio.data_classes import ImageData

        photo = common.image_input(type="filepath", sources=["upload", "webcam", "clipboard"])
        path = photo.preprocess(ImageData(path=str(bad_upload), orig_name=bad_upload.name))  # no decoding here
        assert path == str(bad_upload)
        with pytest.raises(gr.Error) as exc:
            stylize.stylize_photo(path, tiny_style.name, 1.0, 1.0, "face")
        message = exc.value.message
        assert message == project_message(bad_upload) and f"'{bad_upload.name}'" in message
        assert str(bad_upload.parent) not in message
        assert any(fix in message for fix in ("save it as", "re-export", "downscale", "resize"))  # says what to do

    def test_numpy_input_refuses_with_the_project_message(self, bad_upload):
        from gradio.data_classes import ImageData

        with pytest.raises(gr.Error) as exc:
            common.image_input(type="numpy").preprocess(ImageData(path=str(bad_upload)))
        assert exc.value.message == project_message(bad_upload)

    def test_artwork_upload_skips_it_with_the_project_message(self, bad_upload):
        session, notes = artwork_session.add_artworks(artwork_session.StudioSession(), [str(EXAMPLES / "portrait_1.jpg"), str(bad_upload)])
        assert session.files() == ["portrait_1.jpg"]
        assert notes == [f"skipped {project_message(bad_upload)}"]


class TestImageInput:
    def test_paths_and_data_urls(self, styles_dir, tiny_style, astronaut, tmp_path):
        import base64
        import io

        from gradio.data_classes import ImageData
        from PIL import Image

        from core.images import load_image

        assert common.image_input(type="filepath").preprocess(None) is None
        buf = io.BytesIO()
        Image.fromarray(astronaut).save(buf, "PNG")
        url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        pasted = common.image_input(type="filepath").preprocess(ImageData(url=url))
        assert Path(pasted).suffix == ".png" and np.array_equal(load_image(pasted), astronaut)
        assert np.array_equal(common.image_input(type="numpy").preprocess(ImageData(url=url)), astronaut)
        with pytest.raises(gr.Error, match="data URL has no ','"):
            common.image_input(type="numpy").preprocess(ImageData(url="data:image/png;base64"))
        path = tmp_path / "a.png"
        path.write_bytes(buf.getvalue())
        assert np.array_equal(common.image_input(type="numpy", streaming=True, sources=["webcam"]).preprocess(
            ImageData(path=str(path))), astronaut)
        # the handlers take the path the input hands on, and still an array (tests, older callers)
        (before, after), _, _ = stylize.stylize_photo(pasted, tiny_style.name, 1.0, 1.0, "face")
        (before2, after2), _, _ = stylize.stylize_photo(astronaut, tiny_style.name, 1.0, 1.0, "face")
        assert np.array_equal(before, before2) and np.array_equal(after, after2)

    def test_renders_as_the_image_component(self):
        component = common.image_input(type="filepath")
        assert type(component) is gr.Image and component.get_block_name() == "image"
        assert not list((ROOT / "studio").rglob("*.pyi"))  # no stub written into the source tree


class TestArtworks:
    def test_add_dedups_and_skips(self, tmp_path, monkeypatch):
        bad = tmp_path / "notes.txt"
        bad.write_text("x")
        session, notes = artwork_session.add_artworks(artwork_session.StudioSession(), [str(EXAMPLES / "portrait_1.jpg"), str(bad)])
        session, _ = artwork_session.add_artworks(session, [str(EXAMPLES / "portrait_1.jpg")])
        assert session.files() == ["portrait_1.jpg", "portrait_1_2.jpg"]
        assert any("notes.txt is not an image" in n for n in notes)
        monkeypatch.setattr(artwork_session, "MAX_ARTWORKS", 3)
        session, notes = artwork_session.add_artworks(session, [str(EXAMPLES / "portrait_2.jpg"), str(EXAMPLES / "portrait_3.jpg")])
        assert len(session.files()) == 3 and "only the first 3" in notes[0]

    def test_landmark_qa_flags_a_miss(self, tmp_path):
        from PIL import Image

        blank = tmp_path / "blank.png"
        Image.fromarray(np.full((120, 100, 3), 128, np.uint8)).save(blank)
        files = [str(EXAMPLES / f"portrait_{k}.jpg") for k in (1, 2)] + [str(blank)]
        session, _ = artwork_session.add_artworks(artwork_session.StudioSession(), files)
        report = studio_tab.landmark_qa(session)
        assert report.statuses == {"blank.png": "excluded", "portrait_1.jpg": "ok", "portrait_2.jpg": "ok"}
        captions = [c for _, c in report.items]
        assert any(c.startswith("❌ blank.png") and "no face" in c for c in captions)
        assert "2 of 3 artworks usable" in report.summary
        assert all(img.ndim == 3 for img, _ in report.items)

    def test_qa_falls_back_when_the_set_is_not_trainable(self, tmp_path):
        session, _ = artwork_session.add_artworks(artwork_session.StudioSession(), [str(EXAMPLES / "portrait_1.jpg")])
        report = studio_tab.landmark_qa(session)
        assert report.statuses == {"portrait_1.jpg": "ok"} and report.summary.startswith("⚠️")


class TestLandmarkEditor:
    def test_clicks_map_to_original_pixels_in_order(self):
        session, _ = artwork_session.add_artworks(artwork_session.StudioSession(), [str(EXAMPLES / "astronaut.jpg")])
        state, image, prompt, save = studio_tab.editor_open(session, "astronaut.jpg")
        assert state.scale == 1.0 or max(image.shape[:2]) == studio_tab.EDITOR_SIDE
        assert LANDMARK_KEYPOINTS[0][0] in prompt and save["interactive"] is False
        state = studio_tab.EditorState(state.file, [], 0.5)
        state, _, prompt, save = studio_tab.editor_click(session, state, select([10, 20]))
        assert state.points == [[21.0, 41.0]] and f"{LANDMARK_KEYPOINTS[1][0]}** (2 of" in prompt
        state, *_ = studio_tab.editor_undo(session, state)
        assert state.points == []

    def test_override_round_trips_through_the_trainer_format(self, tmp_path):
        from studio.data import load_overrides

        session, _ = artwork_session.add_artworks(artwork_session.StudioSession(), [str(EXAMPLES / "portrait_1.jpg")])
        points = [[10.0 + k, 20.0 + k] for k in range(4)]
        studio_tab.save_override(session, studio_tab.EditorState("portrait_1.jpg", points, 1.0))
        table = load_overrides(session.overrides)
        keys = table["portrait_1.jpg"]["keypoints"]
        assert list(keys) == [str(i) for _, i in LANDMARK_KEYPOINTS[:4]] and keys["33"] == [10.0, 20.0]
        state, *_ = studio_tab.editor_open(session, "portrait_1.jpg")  # saved points are reloaded in order
        assert state.points == points

    def test_too_few_points(self):
        session, _ = artwork_session.add_artworks(artwork_session.StudioSession(), [str(EXAMPLES / "portrait_1.jpg")])
        with pytest.raises(DatasetError, match="at least 3"):
            studio_tab.save_override(session, studio_tab.EditorState("portrait_1.jpg", [[1, 2], [3, 4]], 1.0))

    def test_alignment_preview(self):
        session, _ = artwork_session.add_artworks(artwork_session.StudioSession(), [str(EXAMPLES / "portrait_1.jpg")])
        image = studio_tab.alignment(session, "portrait_1.jpg", "astronaut.jpg")
        assert image.ndim == 3 and image.shape[1] > image.shape[0]
        taller = studio_tab.alignment(session, "portrait_1.jpg", "astronaut.jpg", 2.0, 1.0)  # the eye-height slider
        assert taller.shape == image.shape and not np.array_equal(taller, image)
        with pytest.raises(gr.Error, match="upload artworks first"):
            studio_tab.alignment(artwork_session.StudioSession(), None, "astronaut.jpg")

    def test_guide_has_the_keypoints(self):
        guide = studio_tab.keypoint_guide()
        assert guide.ndim == 3 and max(guide.shape[:2]) == 320
        assert studio_tab.keypoint_legend().count("**") == 2 * len(LANDMARK_KEYPOINTS)


class FakeResult:
    def __init__(self, package):
        self.package = package


class TestTrainingPoll:
    def test_done_with_package_bumps_the_styles_version(self, tmp_path, tiny_style, monkeypatch):
        from studio.progress import Progress

        jobs = training_jobs.JobManager()

        def run(cb, cancel):
            cb.on_start(2)
            cb.on_step(Progress(1, 2, {"g": 1.0}, 1.0, 1.0, 1.0))
            cb.on_step(Progress(2, 2, {"g": 0.5}, 0.0, 2.0, 1.0))
            cb.on_preview(2, np.zeros((32, 64, 3), np.uint8))
            return FakeResult(tiny_style)

        job = jobs.start("tiny", tmp_path / "tiny", run)
        jobs.wait(10)
        monkeypatch.setattr(training_jobs, "JOBS", jobs)
        bar, preview, plot, status, version, timer = studio_tab.poll_training(0)
        assert version == job.id and "ps-done" in bar and "is installed" in status
        assert preview.shape[0] >= 240 and len(plot) == 2
        assert timer.active is False
        assert studio_tab.poll_training(job.id)[4] == job.id  # not bumped twice

    def test_job_view_idle(self):
        bar, preview, plot, status = studio_tab.job_view(None)
        assert "No training job yet" in bar and preview is None and plot is None


class TestTrainingSettings:
    def test_preset_with_page_values_and_env_overrides(self, monkeypatch):
        monkeypatch.setenv(training_jobs.PRESET_OVERRIDES_ENV, json.dumps({"batch": 1, "weights": {"content": 0}}))
        config = training_jobs.train_config("quick", 40, 64)
        assert (config.steps, config.size, config.batch, config.weights["content"]) == (40, 64, 1, 0)
        assert config.cache_dir.startswith(str(workspace.work_dir()))

    def test_geometry_sliders_become_the_landmark_edit(self):
        assert studio_tab.geometry_edit(1.0, 1.0) == {} and training_jobs.train_config("quick", 40, 64).landmark_edit == {}
        edit = studio_tab.geometry_edit(1.8, 0.6)
        assert edit == {"eyes": {"scale": [1.0, 1.8], "anchor": "top"}, "lips": {"scale": 0.6}}
        assert training_jobs.train_config("quick", 40, 64, edit).landmark_edit == edit

    def test_page_defaults_come_from_the_presets_themselves(self):
        from studio import config

        assert studio_tab.preset_defaults is config.preset_defaults  # one source, no copy on the page
        assert not hasattr(training_jobs, "PRESET_DEFAULTS")

    @pytest.mark.parametrize("raw, match", [("{", "not valid JSON"), ("[1]", "JSON object")])
    def test_bad_env_overrides(self, monkeypatch, raw, match):
        monkeypatch.setenv(training_jobs.PRESET_OVERRIDES_ENV, raw)
        with pytest.raises(DatasetError, match=match):
            training_jobs.preset_overrides()

    def test_unknown_preset_key_is_refused(self, monkeypatch):
        from core.errors import PortraitStudioError

        monkeypatch.setenv(training_jobs.PRESET_OVERRIDES_ENV, json.dumps({"stepz": 1}))
        with pytest.raises(PortraitStudioError, match="stepz"):
            training_jobs.train_config("quick", None, None)

    def test_style_name(self, styles_dir, tiny_style):
        assert training_jobs.check_style_name(" My Style ") == "my-style"
        with pytest.raises(StylePackageError, match="already installed"):
            training_jobs.check_style_name(tiny_style.name)
        with pytest.raises(StylePackageError, match="lowercase"):
            training_jobs.check_style_name(" ?? ")
        assert training_jobs.check_style_name("-Oil Paint!") == "oil-paint"  # the command line's rule too

    def test_start_needs_artworks(self, styles_dir):
        with pytest.raises(DatasetError, match="upload the artworks"):
            training_jobs.start_training(artwork_session.StudioSession(), "new", "quick", 10, 64, jobs=training_jobs.JobManager())


class TestHub:
    def test_push_search_links_pull(self, hub_server, styles_dir, tiny_style, tmp_path, monkeypatch):
        monkeypatch.setenv("PORTRAIT_HUB_ENDPOINT", hub_server.endpoint)
        message, token_box = hub.hub_push(tiny_style.name, "alice/tiny", hub_server.token, False, "v1")
        assert token_box == "" and "alice/tiny" in message and "model.onnx" in message
        assert hub_server.token not in message

        gallery, ids, status = hub.hub_search("")
        assert ids == ["alice/tiny"] and "1 published style" in status
        assert gallery["value"][0][0].endswith("/alice/tiny/resolve/main/preview.png")

        ref, links = hub.hub_pick(ids, select(0))
        assert ref == "alice/tiny" and "mobile.json" in links and "model_int8.onnx" in links

        other = tmp_path / "other"
        other.mkdir()
        monkeypatch.setenv("PORTRAIT_STYLES", str(other))
        status, version = hub.hub_pull("alice/tiny@v1", 3)
        assert version == 4 and "Installed" in status and (other / "tiny" / "style.json").is_file()

        # the local 'tiny' (trained here, not pulled) is never replaced by a pull; the app offers *Install as*
        monkeypatch.setenv("PORTRAIT_STYLES", str(styles_dir))
        with pytest.raises(gr.Error, match="Install as"):
            hub.hub_pull("alice/tiny@v1", 4)
        status, version = hub.hub_pull("alice/tiny@v1", 4, " tiny_copy ")
        assert version == 5 and (styles_dir / "tiny_copy" / "style.json").is_file()
        assert (styles_dir / tiny_style.name / "style.json").is_file()

    def test_qr_codes_of_the_links(self, hub_server, styles_dir, tiny_style, tmp_path, monkeypatch):
        """After a push, in a published style's links and in a pulled style's details: one QR code per phone link,
        each holding exactly that link."""
        import base64
        import io
        import re

        from PIL import Image
        from test_qr import expected, sample

        monkeypatch.setenv("PORTRAIT_HUB_ENDPOINT", hub_server.endpoint)

        def codes(markdown: str) -> dict[str, str]:
            """alt file name -> the URL its QR code holds (read back by sampling module centres)."""
            found = {}
            links = dict(re.findall(r"- \[([^\]]+)\]\(([^)]+)\)", markdown))
            for uri, name in re.findall(r'<img src="(data:image/png;base64,[^"]+)" alt="QR code of ([^"]+)"', markdown):
                image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
                want = expected(links[name])
                assert np.array_equal(sample(image, 16, 16, 4, want.shape[0]), want), name
                found[name] = links[name]
            return found

        message, _ = hub.hub_push(tiny_style.name, "alice/tiny", hub_server.token, False, "v1")
        assert set(codes(message)) == {"model.onnx", "model_fp16.onnx", "model_int8.onnx", "model.ort", "mobile.json"}
        assert all("/resolve/v1/" in u for u in codes(message).values())
        published = codes(hub.hub_links_clicked("alice/tiny"))
        assert len(published) == 5 and all("/resolve/main/" in u for u in published.values())

        assert "QR code" not in catalog.style_card(catalog.catalog().get(tiny_style.name))  # trained here: no Hub links
        other = tmp_path / "other"
        other.mkdir()
        monkeypatch.setenv("PORTRAIT_STYLES", str(other))
        hub.hub_pull("alice/tiny@v1", 0)
        card = catalog.style_card(catalog.catalog().get("tiny"))
        assert "Phone downloads from the Hub (alice/tiny@v1)" in card and len(codes(card)) == 5

    def test_bad_link_is_a_message(self, hub_server, monkeypatch):
        import studio.hub

        monkeypatch.setattr(studio.hub, "mobile_links", lambda *a, **k: {"model.onnx": "not a link"})
        with pytest.raises(gr.Error, match="'not a link' is not a download link"):
            hub.hub_links_clicked("alice/tiny")

    def test_pull_errors_are_messages(self, hub_server, styles_dir, monkeypatch):
        monkeypatch.setenv("PORTRAIT_HUB_ENDPOINT", hub_server.endpoint)
        with pytest.raises(gr.Error, match="no such style repo"):
            hub.hub_pull("alice/missing", 0)
        with pytest.raises(gr.Error, match="enter a style repo id"):
            hub.hub_pull("  ", 0)

    def test_server_token_is_never_used(self, hub_server, styles_dir, tiny_style, monkeypatch):
        """A token saved on the server (HF_TOKEN, e.g. a Space secret) neither pushes nor reads for visitors."""
        monkeypatch.setenv("PORTRAIT_HUB_ENDPOINT", hub_server.endpoint)
        monkeypatch.setenv("HF_TOKEN", hub_server.token)
        with pytest.raises(gr.Error, match="paste a Hugging Face token"):
            hub.hub_push(tiny_style.name, "alice/tiny", " ", False, "")
        assert hub_server.count("POST") == 0
        hub.hub_search("")
        assert all(r.user is None for r in hub_server.requests())


class TestTrainingSwitch:
    def test_env_turns_training_off(self, monkeypatch):
        from core.errors import BusyError
        from studio.jobs import start_training

        monkeypatch.setenv("PORTRAIT_TRAINING", "0")
        with pytest.raises(BusyError, match="turned off"):
            start_training(None, "x", "quick", None, None)
