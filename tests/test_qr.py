"""studio/qr.py: every rendering of a download link's QR code (terminal text, PNG file, PNG sheet, data URI) holds
exactly segno's matrix for that link, and a QR decoder (OpenCV's) reads the link back; bad links and file names
are refused with messages that name them."""

from __future__ import annotations

import base64
import io

import cv2
import numpy as np
import pytest
import segno
from PIL import Image

from core.errors import PortraitStudioError, QRCodeError
from studio import qr

URL = "https://huggingface.co/alice/tiny/resolve/v1/model_int8.onnx"
SHORT = "https://x.co/a"
LINKS = {n: f"https://huggingface.co/alice/tiny/resolve/main/{n}"
         for n in ["model.onnx", "model_fp16.onnx", "model_int8.onnx", "model.ort", "mobile.json"]}


def expected(url: str, border: int = 0) -> np.ndarray:
    """segno's own matrix for the link (True = dark), independently of studio/qr.py's helpers."""
    m = np.array(segno.make(url, error="m", micro=False).matrix, bool)
    return np.pad(m, border, constant_values=False)


def text_modules(text: str, invert: bool = False) -> np.ndarray:
    """Read a terminal rendering back into modules (True = dark)."""
    top = np.array([[c in "▀█" for c in line] for line in text.split("\n")])
    bottom = np.array([[c in "▄█" for c in line] for line in text.split("\n")])
    printed = np.empty((2 * top.shape[0], top.shape[1]), bool)
    printed[0::2], printed[1::2] = top, bottom
    return printed if invert else ~printed


def ascii_modules(text: str, invert: bool = False) -> np.ndarray:
    printed = np.array([[line[i:i + 2] == "##" for i in range(0, len(line), 2)] for line in text.split("\n")])
    return printed if invert else ~printed


def sample(image: Image.Image, left: int, top: int, scale: int, n: int) -> np.ndarray:
    """Dark (True) at the centre pixel of each of n x n modules whose top-left module starts at (left, top)."""
    gray = np.asarray(image.convert("L"))
    centres = np.arange(n) * scale + scale // 2
    return gray[top + centres[:, None], left + centres[None, :]] < 128


def decode(gray: np.ndarray) -> str:
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(gray)
    return text


def raster(modules: np.ndarray, scale: int = 8) -> np.ndarray:
    """Modules as a black-on-white image, for the decoder."""
    return np.kron(np.where(modules, 0, 255).astype(np.uint8), np.ones((scale, scale), np.uint8))


class TestText:
    def test_exact_size(self):
        # https://x.co/a is a version-1 code: 21 modules, + 2 x 2 quiet zone = 25 columns; 25 rows -> 13 lines
        lines = qr.text(SHORT).split("\n")
        assert len(lines) == 13 and {len(line) for line in lines} == {25}
        assert lines[0] == "█" * 25  # the quiet zone is light, so printed (light-on-dark terminal)
        assert qr.text(SHORT, invert=True).split("\n")[0] == " " * 25

    @pytest.mark.parametrize("url", [SHORT, URL, LINKS["mobile.json"]])
    @pytest.mark.parametrize("invert", [False, True])
    def test_modules_match_segno(self, url, invert):
        got = text_modules(qr.text(url, invert=invert), invert)
        want = expected(url, qr.TEXT_BORDER)
        assert np.array_equal(got[:want.shape[0]], want)
        assert not got[want.shape[0]:].any()  # the padding row (odd height) is light

    @pytest.mark.parametrize("invert", [False, True])
    def test_ascii_matches_segno(self, invert):
        text = qr.text(URL, ascii=True, invert=invert)
        assert set(text) <= {"#", " ", "\n"}
        assert np.array_equal(ascii_modules(text, invert), expected(URL, qr.TEXT_BORDER))

    def test_decodes(self):
        # a phone reads dark modules; the decoder reads the text's dark modules drawn black on white
        assert decode(raster(text_modules(qr.text(URL)))) == URL
        assert decode(raster(ascii_modules(qr.text(URL, ascii=True)))) == URL


class TestPng:
    def test_file_matches_segno_and_decodes(self, tmp_path):
        path = qr.write_png(URL, tmp_path / "code.png", scale=5)
        image = Image.open(path)
        want = expected(URL)
        n = want.shape[0]
        assert image.size == ((n + 2 * qr.PNG_BORDER) * 5,) * 2
        assert np.array_equal(sample(image, qr.PNG_BORDER * 5, qr.PNG_BORDER * 5, 5, n), want)
        assert decode(np.asarray(image.convert("L"))) == URL

    def test_data_uri(self):
        uri = qr.data_uri(URL, scale=4)
        assert uri.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        want = expected(URL)
        assert np.array_equal(sample(image, 16, 16, 4, want.shape[0]), want)
        assert decode(np.asarray(image.convert("L"))) == URL

    def test_sheet_holds_every_link(self, tmp_path):
        path = qr.write_sheet(LINKS, tmp_path / "sheet.png")
        image = Image.open(path)
        size, boxes = qr.sheet_layout(LINKS)
        assert image.size == size and list(boxes) == list(LINKS)
        for name, url in LINKS.items():
            b = boxes[name]
            want = expected(url)
            assert b.modules == want.shape[0]
            quiet = b.border * b.scale
            assert np.array_equal(sample(image, b.left + quiet, b.top + quiet, b.scale, b.modules), want), name
            side = (b.modules + 2 * b.border) * b.scale
            crop = np.asarray(image.convert("L"))[b.top:b.top + side, b.left:b.left + side]
            assert decode(crop) == url
        ok, decoded, _, _ = cv2.QRCodeDetector().detectAndDecodeMulti(np.asarray(image.convert("L")))
        assert ok and sorted(decoded) == sorted(LINKS.values())

    def test_single_link_sheet(self, tmp_path):
        image = Image.open(qr.write_sheet({"model.onnx": URL}, tmp_path / "one.png"))
        assert decode(np.asarray(image.convert("L"))) == URL


class TestErrors:
    @pytest.mark.parametrize("url, message", [
        ("", "no download link"), ("   ", "no download link"), (None, "no download link"),
        ("model.onnx", "'model.onnx' is not a download link"),
        ("ftp://example.com/model.onnx", "'ftp://example.com/model.onnx' is not a download link"),
        ("https:///model.onnx", "is not a download link"),
        ("https://example.com/a model.onnx", "no spaces"),
        ("https://example.com/\x00", "is not a download link"),
        ("javascript:alert(1)", "http:// or https://"),
    ])
    def test_bad_links(self, url, message):
        with pytest.raises(QRCodeError, match=message) as info:
            qr.make(url)
        assert isinstance(info.value, PortraitStudioError) and isinstance(info.value, ValueError)
        assert "such as https://huggingface.co/USER/STYLE/resolve/main/model.onnx" in str(info.value)

    def test_too_long(self):
        with pytest.raises(QRCodeError, match="2101 characters long, above the 2000"):
            qr.make("https://example.com/" + "a" * 2081)

    def test_surrounding_spaces_are_trimmed(self):
        assert np.array_equal(text_modules(qr.text(f"  {SHORT}\n")), text_modules(qr.text(SHORT)))

    def test_bad_file_names(self, tmp_path):
        with pytest.raises(QRCodeError, match=r"name the file with \.png.*codes\.jpg"):
            qr.write_sheet(LINKS, tmp_path / "codes.jpg")
        with pytest.raises(QRCodeError, match="does not exist; create it"):
            qr.write_png(URL, tmp_path / "missing" / "code.png")
        with pytest.raises(QRCodeError, match="no download links"):
            qr.write_sheet({}, tmp_path / "none.png")
        with pytest.raises(QRCodeError, match="'nope' is not a download link"):
            qr.write_sheet({"model.onnx": "nope"}, tmp_path / "bad.png")
        assert list(tmp_path.iterdir()) == []
