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
