"""Tests for studio/bench.py's inference figures (the numbers themselves are reports, never asserted)."""

from pathlib import Path

import numpy as np

from core.images import load_image

ROOT = Path(__file__).resolve().parents[1]


def test_whole_image_figures_time_each_mode_and_report_ratios(tiny_style, monkeypatch):
    import core.engine as engine
    from studio.bench import whole_image_figures

    calls = []
    real = engine.stylize

    def counting(image, style, **options):
        calls.append((options.get("mode"), options.get("surround", True)))
        return real(image, style, **options)

    monkeypatch.setattr(engine, "stylize", counting)
    figures = whole_image_figures(load_image(ROOT / "examples" / "astronaut.jpg"), tiny_style, repeats=2)
    assert sorted(set(calls)) == [("face", True), ("full", False), ("full", True)] and len(calls) == 9
    face = figures["whole_image_face_ms"]
    assert abs(figures["whole_image_ratio"] - figures["whole_image_full_ms"] / face) < 2e-3
    assert abs(figures["whole_image_no_surround_ratio"] - figures["whole_image_no_surround_ms"] / face) < 2e-3
    assert all(np.isfinite(v) and v > 0 for v in figures.values())


def test_the_generator_figure_is_the_graph_alone(tmp_path, monkeypatch):
    """A style with a refiner or a texture gets its stages timed apart: the capacity rule compares the graph."""
    import core.runtime as runtime
    from conftest import make_tiny_style
    from core.export import load_generator, replace_generator
    from studio.bench import face_figures
    from studio.refine import with_refiner

    plain = make_tiny_style(tmp_path, "plain")
    seen = []
    real = runtime.get_runner
    monkeypatch.setattr(runtime, "get_runner", lambda style, **kw: seen.append(kw) or real(style, **kw))
    figures = face_figures(plain, repeats=2)
    assert figures["face_stages_median_ms"] is None and figures["generator_median_ms"] > 0
    assert seen == [{"texture": False, "refine": False}]
    refined = replace_generator(make_tiny_style(tmp_path, "refined"),
                                with_refiner(load_generator(plain), 4).requires_grad_(False))
    seen.clear()
    figures = face_figures(refined, repeats=2)
    assert figures["face_stages_median_ms"] > 0 and seen == [{"texture": False, "refine": False}, {}]
