import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


class TestHelp:
    def test_lists_commands(self, capsys):
        build_parser().print_help()
        text = capsys.readouterr().out
        for command in ("align", "stylize", "bench", "template"):
            assert command in text

    def test_module_entry_point(self):
        out = subprocess.run([sys.executable, "-m", "studio", "--help"], cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0 and "Portrait Studio" in out.stdout


class TestAlign:
    def test_writes_preview_and_json(self, astronaut, tmp_path):
        photo, art = tmp_path / "photo.png", tmp_path / "art.png"
        Image.fromarray(astronaut).save(photo)
        Image.fromarray(astronaut[:, ::-1].copy()).save(art)
        code = main(["align", str(photo), str(art), "--out", str(tmp_path / "p.png"), "--json",
                     str(tmp_path / "l.json")])
        assert code == 0
        assert Image.open(tmp_path / "p.png").size[0] > 300
        assert len(json.loads((tmp_path / "l.json").read_text())["artwork"]["aligned_canonical"]) == 73

    def test_no_face_is_a_clear_error(self, astronaut, tmp_path, capsys):
        photo, art = tmp_path / "photo.png", tmp_path / "blank.png"
        Image.fromarray(astronaut).save(photo)
        Image.fromarray(np.full((100, 100, 3), 50, np.uint8)).save(art)
        assert main(["align", str(photo), str(art), "--out", str(tmp_path / "p.png")]) == 1
        assert "no face found in" in capsys.readouterr().err


class TestStylize:
    def test_folder_in_folder_out(self, astronaut, tiny_style, tmp_path):
        src = tmp_path / "in"
        src.mkdir()
        Image.fromarray(astronaut).save(src / "a.jpg")
        (src / "broken.png").write_bytes(b"not an image")
        code = main(["stylize", str(src), "--style", str(tiny_style.path), "--out", str(tmp_path / "out")])
        assert code == 0
        assert (tmp_path / "out" / "a.png").exists() and not (tmp_path / "out" / "broken.png").exists()

    @pytest.mark.parametrize("flag", ["--strength", "--keep-shape"])
    def test_out_of_range_setting(self, tiny_style, tmp_path, capsys, flag):
        assert main(["stylize", str(tmp_path), "--style", str(tiny_style.path), "--out", str(tmp_path / "o"),
                     flag, "1.5"]) == 2
        assert f"{flag} must be between 0 and 1" in capsys.readouterr().err

    def test_unknown_style(self, tmp_path, capsys):
        assert main(["stylize", str(tmp_path), "--style", "no-such-style", "--out", str(tmp_path)]) == 1
        assert "no style" in capsys.readouterr().err
