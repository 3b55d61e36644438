import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cli import COMMAND_MODULES, COMMANDS, build_parser, main

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

    def test_scores_printed_unless_turned_off(self, astronaut, tiny_style, tmp_path, capsys):
        Image.fromarray(astronaut).save(tmp_path / "a.jpg")
        args = ["stylize", str(tmp_path / "a.jpg"), "--style", str(tiny_style.path), "--out", str(tmp_path / "o")]
        assert main(args) == 0
        err = capsys.readouterr().err
        assert "a.jpg: 1 face(s)" in err and ", likeness 0." in err  # geometry: tests/test_scores.py
        assert main(args + ["--no-scores"]) == 0
        assert "likeness" not in capsys.readouterr().err

    @pytest.mark.parametrize("flag", ["--strength", "--keep-shape"])
    def test_out_of_range_setting(self, tiny_style, tmp_path, capsys, flag):
        assert main(["stylize", str(tmp_path), "--style", str(tiny_style.path), "--out", str(tmp_path / "o"),
                     flag, "1.5"]) == 2
        assert f"{flag} must be between 0 and 1" in capsys.readouterr().err

    def test_unknown_style(self, tmp_path, capsys):
        assert main(["stylize", str(tmp_path), "--style", "no-such-style", "--out", str(tmp_path)]) == 1
        assert "no style" in capsys.readouterr().err


class TestRobustStylize:
    @pytest.mark.parametrize("flag,value,range_", [("--alpha", "nan", "0 and 3"), ("--alpha", "1e9", "0 and 3"),
                                                   ("--max-side", "-1", "64 and 65536"),
                                                   ("--strength", "inf", "0 and 1")])
    def test_bad_numbers_are_clean_errors(self, astronaut, tiny_style, tmp_path, capsys, flag, value, range_):
        Image.fromarray(astronaut).save(tmp_path / "a.jpg")
        assert main(["stylize", str(tmp_path / "a.jpg"), "--style", str(tiny_style.path), "--out",
                     str(tmp_path / "o"), flag, value]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {flag} must be between {range_}") and "Traceback" not in err
        assert not (tmp_path / "o").exists()

    def test_unsupported_files_are_named_and_fail(self, tiny_style, tmp_path, capsys):
        src = tmp_path / "in"
        src.mkdir()
        (src / "notes.txt").write_text("hello")
        (src / "layers.psd").write_bytes(b"\0")  # (a broken .mov is a video now: tests/test_video.py)
        code = main(["stylize", str(src), "--style", str(tiny_style.path), "--out", str(tmp_path / "o")])
        out, err = capsys.readouterr()
        assert code == 1 and "wrote 0" not in out
        assert f"skipped {src / 'notes.txt'}: unsupported suffix '.txt'" in err
        assert f"skipped {src / 'layers.psd'}: unsupported suffix '.psd'" in err
        assert "no image or video to stylize" in err and "2 file(s) skipped" in err and ".jpg" in err and ".mp4" in err

    def test_skipped_files_beside_images(self, astronaut, tiny_style, tmp_path, capsys):
        src = tmp_path / "in"
        src.mkdir()
        Image.fromarray(astronaut).save(src / "a.png")
        (src / "notes.txt").write_text("hello")
        assert main(["stylize", str(src), "--style", str(tiny_style.path), "--out", str(tmp_path / "o")]) == 0
        out, err = capsys.readouterr()
        assert "wrote 1 image(s)" in out and "1 skipped" in out and "notes.txt: unsupported suffix" in err

    def test_faces_beyond_the_limit_are_printed(self, astronaut, tiny_style, tmp_path, capsys):
        grid = np.concatenate([np.concatenate([astronaut] * 3, 1)] * 3, 0)  # 9 faces
        Image.fromarray(grid).save(tmp_path / "crowd.png")
        assert main(["stylize", str(tmp_path / "crowd.png"), "--style", str(tiny_style.path), "--out",
                     str(tmp_path / "o")]) == 0
        assert "9 faces found; stylized the 8 largest (limit 8)" in capsys.readouterr().err


WRAPPER = """import sys
from studio.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("torch imported:", "torch" in sys.modules)
sys.exit(code)
"""


class TestLazyCommands:
    def _run(self, *args):
        env = dict(os.environ, GLOG_minloglevel="2", PYTHONPATH=str(ROOT))
        return subprocess.run([sys.executable, "-c", WRAPPER, *args], cwd=ROOT, capture_output=True, text=True,
                              env=env)

    def test_help_and_stylize_do_not_import_torch(self, astronaut, tiny_style, tmp_path):
        for args in (["--help"], ["stylize", "--help"]):
            out = self._run(*args)
            assert out.returncode == 0 and "torch imported: False" in out.stdout, out.stderr
        top = self._run("--help").stdout
        assert all(name in top for name in COMMANDS)
        Image.fromarray(astronaut).save(tmp_path / "a.jpg")
        out = self._run("stylize", str(tmp_path / "a.jpg"), "--style", str(tiny_style.path), "--out",
                        str(tmp_path / "o"))
        assert out.returncode == 0 and (tmp_path / "o" / "a.png").is_file(), out.stderr
        assert "torch imported: False" in out.stdout

    def test_table_matches_the_modules(self):
        choices = build_parser()._subparsers._group_actions[0]
        registered = {a.dest: a.help for a in choices._choices_actions}
        assert registered == {name: help_text for name, (_, help_text) in COMMANDS.items()}
        assert list(choices.choices) == list(COMMANDS)
        for name in choices.choices:
            assert COMMANDS[name][0] in COMMAND_MODULES

    def test_unknown_command_lists_the_table(self, capsys):
        with pytest.raises(SystemExit):
            main(["nope"])
        assert "invalid choice" in capsys.readouterr().err
