"""The Studio tab's artwork session and cached detector without gradio (studio/session.py), and the gradio-free
modules the app's tabs build on (studio/workspace.py, studio/catalog.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_jobs import imports_without_gradio

from studio import session as artwork_session
from studio.workspace import work_dir

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_imports_without_gradio():
    imports_without_gradio("studio.session", "studio.workspace", "studio.catalog")


class TestStudioSession:
    def test_empty_session_has_no_files(self):
        session = artwork_session.StudioSession()
        assert session.files() == [] and session.read_overrides() == {}

    def test_ensure_makes_a_folder_in_the_scratch_folder(self):
        session = artwork_session.StudioSession().ensure()
        assert session.artworks.is_dir() and Path(session.folder).parent == work_dir()
        assert session.ensure().folder == session.folder  # the same folder while it exists

    def test_files_skip_hidden_and_are_sorted(self):
        session = artwork_session.StudioSession().ensure()
        for name in ("b.png", "a.png", ".DS_Store"):
            (session.artworks / name).write_bytes(b"x")
        assert session.files() == ["a.png", "b.png"]

    def test_overrides_round_trip_in_click_order(self):
        session = artwork_session.StudioSession().ensure()
        table = {"a.png": {"keypoints": {"362": [1.0, 2.0], "33": [3.0, 4.0]}}}
        session.write_overrides(table)
        assert session.read_overrides() == table
        assert list(session.read_overrides()["a.png"]["keypoints"]) == ["362", "33"]
        assert not session.overrides.with_suffix(".tmp").exists()

    def test_add_artworks_copies_under_safe_names(self):
        session, notes = artwork_session.add_artworks(artwork_session.StudioSession(),
                                                      [str(EXAMPLES / "portrait_1.jpg")])
        assert notes == [] and session.files() == ["portrait_1.jpg"]
        assert (session.artworks / "portrait_1.jpg").read_bytes() == (EXAMPLES / "portrait_1.jpg").read_bytes()


class TestCachingDetector:
    def test_detects_once_per_image_content(self, monkeypatch):
        import core.landmarks

        calls = []

        def fake_detect(rgb, max_faces=8, min_score=0.5):
            calls.append((rgb.shape, max_faces))
            return [f"face-{len(calls)}"]

        monkeypatch.setattr(core.landmarks, "detect_faces", fake_detect)
        detector = artwork_session.CachingDetector(limit=2)
        a = np.zeros((20, 30, 3), np.uint8)
        b = np.ones((20, 30, 3), np.uint8)
        assert detector(a) == ["face-1"] and detector(a.copy()) == ["face-1"] and len(calls) == 1
        assert detector(a, max_faces=1) == ["face-2"]  # other settings: another entry
        assert detector(b) == ["face-3"] and len(calls) == 3
        assert detector(b) == ["face-3"] and len(calls) == 3
        assert detector(a) == ["face-4"]  # the oldest entry was dropped at the limit of 2
