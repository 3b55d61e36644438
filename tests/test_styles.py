"""The bundled styles in styles/ are complete, valid packages that stylize a face."""

from pathlib import Path

import numpy as np
import pytest

from core.engine import stylize
from core.package import scan_styles, validate_package

STYLES = Path(__file__).resolve().parents[1] / "styles"
BUNDLED = sorted(p for p in STYLES.iterdir() if p.is_dir())


def test_at_least_one_bundled_style():
    good, bad = scan_styles(STYLES)
    assert len(good) >= 1 and bad == {}


@pytest.mark.parametrize("folder", BUNDLED, ids=[p.name for p in BUNDLED])
class TestBundledStyle:
    def test_valid_with_provenance(self, folder):
        package = validate_package(folder)
        prov = package.config.provenance
        assert prov["photos"]["licenses"] and prov["artworks"]["licenses"]
        assert "selfie2anime" not in str(prov).lower()
        assert (folder / "attribution.json").is_file()
        assert package.config.name == folder.name  # the gallery, the Hub and the docs name it by its folder

    def test_stylizes_the_astronaut(self, folder, astronaut):
        result = stylize(astronaut, validate_package(folder))
        x0, y0, x1, y1 = map(int, result.faces[0].box)
        assert np.abs(result.image[y0:y1, x0:x1].astype(int) - astronaut[y0:y1, x0:x1]).mean() > 3
