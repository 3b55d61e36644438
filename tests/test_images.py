"""core.images: every supported source decodes to (H, W, 3) uint8 RGB; bad input raises ImageLoadError."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from core.errors import ImageLoadError, ImageTooLargeError
from core.images import images_to_unit, levels_to_unit, load_image, save_image, to_rgb8, unit_to_images


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds no pixel data."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


class TestLoadImage:
    def test_path_str_bytes_and_pil_agree(self, astronaut, tmp_path):
        path = tmp_path / "a.png"
        Image.fromarray(astronaut).save(path)
        for src in (path, str(path), path.read_bytes(), Image.open(path)):
            out = load_image(src)
            assert out.dtype == np.uint8 and out.shape == (512, 512, 3)
            np.testing.assert_array_equal(out, astronaut)

    def test_array_is_copied(self, astronaut):
        out = load_image(astronaut)
        np.testing.assert_array_equal(out, astronaut)
        assert not np.shares_memory(out, astronaut)

    @pytest.mark.parametrize("shape", [(8, 9), (8, 9, 1)])
    def test_greyscale_array_to_rgb(self, shape):
        grey = np.arange(72, dtype=np.uint8).reshape(shape)
        out = load_image(grey)
        assert out.shape == (8, 9, 3)
        np.testing.assert_array_equal(out[..., 0], grey.reshape(8, 9))
        np.testing.assert_array_equal(out[..., 0], out[..., 2])

    def test_greyscale_file(self, astronaut):
        grey = np.asarray(Image.fromarray(astronaut).convert("L"))
        out = load_image(_png_bytes(Image.fromarray(grey)))
        assert out.shape == (512, 512, 3)
        np.testing.assert_array_equal(out[..., 1], grey)

    def test_float_and_bool_arrays(self):
        f = np.array([[0.0, 0.5, 1.0]])
        np.testing.assert_array_equal(load_image(f)[..., 0], [[0, 128, 255]])
        np.testing.assert_array_equal(load_image(np.array([[True, False]]))[..., 1], [[255, 0]])

    def test_uint16_array_scales(self):
        a = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
        np.testing.assert_array_equal(load_image(a)[..., 0], [[0, 100, 255]])

    def test_16bit_png(self):
        values = (np.arange(256, dtype=np.uint16) * 257).reshape(16, 16)
        data = _png_bytes(Image.fromarray(values))
        assert Image.open(io.BytesIO(data)).mode.startswith("I")
        out = load_image(data)
        np.testing.assert_array_equal(out[..., 0], np.arange(256).reshape(16, 16))

    def test_pil_mode_i(self):
        im = Image.fromarray(np.array([[0, 32896, 65535]], dtype=np.int32))
        assert im.mode == "I"
        np.testing.assert_array_equal(load_image(im)[..., 0], [[0, 128, 255]])

    def test_rgba_composited_over_white(self):
        rgba = np.zeros((2, 2, 4), np.uint8)
        rgba[..., 0] = 200
        rgba[0, 0, 3], rgba[0, 1, 3], rgba[1, 0, 3] = 0, 255, 128
        for src in (rgba, _png_bytes(Image.fromarray(rgba, "RGBA"))):
            out = load_image(src)
            np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
            np.testing.assert_array_equal(out[0, 1], [200, 0, 0])
            np.testing.assert_allclose(out[1, 0], [227, 127, 127], atol=1)

    def test_palette_transparency(self):
        im = Image.new("P", (4, 4), 0)
        im.putpalette([0, 0, 255] + [0, 0, 0] * 255)
        im.info["transparency"] = 0
        out = load_image(_png_bytes(im))
        np.testing.assert_array_equal(out, 255)

    def test_exif_orientation_applied(self):
        stored = np.zeros((32, 64, 3), np.uint8)
        stored[:, :32] = (255, 0, 0)  # left half red
        exif = Image.Exif()
        exif[0x0112] = 6  # display = stored rotated 90 degrees clockwise
        buf = io.BytesIO()
        Image.fromarray(stored).save(buf, "JPEG", exif=exif, quality=95)
        out = load_image(buf.getvalue())
        assert out.shape == (64, 32, 3)
        assert out[:28, :, 0].mean() > 240 and out[:28, :, 1].mean() < 20  # red on top
        assert out[36:, :, 0].mean() < 20

    def test_too_many_pixels_array(self):
        with pytest.raises(ImageTooLargeError, match="limit"):
            load_image(np.zeros((100, 101, 3), np.uint8), max_pixels=10_000)

    def test_too_many_pixels_checked_before_decoding(self):
        # The header claims 5000x5000 but there is no pixel data: decoding would fail differently.
        with pytest.raises(ImageTooLargeError, match="5000x5000"):
            load_image(_png_header_only(5000, 5000), max_pixels=1_000_000)

    def test_decompression_bomb_without_limit(self):
        with pytest.raises(ImageTooLargeError):
            load_image(_png_header_only(20_000, 20_000), max_pixels=None)

    def test_broken_bytes(self):
        with pytest.raises(ImageLoadError, match="bytes"):
            load_image(b"definitely not an image")

    def test_truncated_file_names_path(self, astronaut, tmp_path):
        path = tmp_path / "cut.jpg"
        buf = io.BytesIO()
        Image.fromarray(astronaut).save(buf, "JPEG")
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
        with pytest.raises(ImageLoadError, match="cut.jpg") as info:
            load_image(path)
        assert not isinstance(info.value, ImageTooLargeError)

    def test_missing_and_non_image_files(self, tmp_path):
        with pytest.raises(ImageLoadError, match="missing.png"):
            load_image(tmp_path / "missing.png")
        (tmp_path / "notes.png").write_text("hello")
        with pytest.raises(ImageLoadError, match="notes.png"):
            load_image(tmp_path / "notes.png")

    @pytest.mark.parametrize("bad", [
        np.zeros((4, 4, 2), np.uint8), np.zeros((0, 4, 3), np.uint8), np.full((2, 2), 3.0),
        np.full((2, 2), np.nan), np.full((2, 2), -5, np.int32), 42,
    ])
    def test_bad_inputs(self, bad):
        with pytest.raises(ImageLoadError):
            load_image(bad)


class TestToRgb8:
    def test_identity_uint8(self, astronaut):
        np.testing.assert_array_equal(to_rgb8(astronaut), astronaut)

    def test_small_int_arrays_are_8bit(self):
        np.testing.assert_array_equal(to_rgb8(np.array([[0, 255]], np.int64))[..., 0], [[0, 255]])


class TestSaveImage:
    def test_png_round_trip(self, astronaut, tmp_path):
        save_image(tmp_path / "a.png", astronaut)
        np.testing.assert_array_equal(load_image(tmp_path / "a.png"), astronaut)

    def test_jpeg_and_float(self, astronaut, tmp_path):
        save_image(tmp_path / "a.jpg", astronaut.astype(np.float32) / 255)
        assert np.abs(load_image(tmp_path / "a.jpg").astype(int) - astronaut).mean() < 3


class TestMaxSide:
    """load_image(max_side=...) decodes huge files small (JPEG draft, PIL reduce before any full-size conversion),
    so memory follows the working size: a 7000x7000 RGBA PNG no longer needs a full-size float copy."""

    def test_png_reduced_before_conversion(self, monkeypatch):
        rgba = np.zeros((1000, 2000, 4), np.uint8)
        rgba[:, :1000] = (255, 0, 0, 255)  # left half opaque red, right half transparent
        data = _png_bytes(Image.fromarray(rgba))
        factors = []
        reduce = Image.Image.reduce
        monkeypatch.setattr(Image.Image, "reduce", lambda self, f, *a: factors.append((self.mode, f)) or reduce(
            self, f, *a))
        out = load_image(data, max_side=256)
        assert out.shape == (128, 256, 3) and factors[0] == ("RGBA", 7)  # 2000 // 256, on the decoded RGBA
        full = cv2.resize(load_image(data), (256, 128), interpolation=cv2.INTER_AREA)
        assert np.abs(out.astype(int) - full).mean() < 1.0
        assert (out[:, 200:] == 255).all() and (out[:, :100] == (255, 0, 0)).all()  # transparency over white

    def test_jpeg_decoded_at_a_reduced_scale(self, astronaut, monkeypatch):
        buf = io.BytesIO()
        Image.fromarray(np.tile(astronaut, (4, 4, 1))).save(buf, "JPEG", quality=95)  # 2048x2048
        drafts = []
        draft = JpegImagePlugin.JpegImageFile.draft

        def spy(self, mode, size):
            result = draft(self, mode, size)
            drafts.append(self.size)  # the size the DCT decodes at
            return result

        monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
        out = load_image(buf.getvalue(), max_side=300)
        assert out.shape == (300, 300, 3) and drafts == [(512, 512)]  # 1/4 scale, never the full 2048

    def test_exif_orientation_and_palette(self):
        stored = np.zeros((320, 640, 3), np.uint8)
        stored[:, :320] = (255, 0, 0)  # left half red: on top once displayed
        exif = Image.Exif()
        exif[0x0112] = 6
        buf = io.BytesIO()
        Image.fromarray(stored).save(buf, "JPEG", exif=exif, quality=95)
        out = load_image(buf.getvalue(), max_side=64)
        assert out.shape == (64, 32, 3) and out[:28, :, 0].mean() > 240 and out[36:, :, 0].mean() < 20
        palette = _png_bytes(Image.fromarray(stored).convert("P"))
        assert load_image(palette, max_side=64).shape == (32, 64, 3)

    def test_fits_already_and_arrays(self, astronaut):
        np.testing.assert_array_equal(load_image(astronaut, max_side=512), astronaut)
        assert load_image(astronaut, max_side=100).shape == (100, 100, 3)
        assert load_image(Image.fromarray(astronaut), max_side=0).shape == astronaut.shape


class TestUnitImages:
    """`images_to_unit` / `unit_to_images`: the generator's [-1, 1] NCHW convention, numpy and torch."""

    def test_known_values(self):
        images = np.array([0, 1, 127, 128, 254, 255], np.uint8).reshape(1, 1, 2, 3)
        x = images_to_unit(images)
        assert x.shape == (1, 3, 1, 2) and x.dtype == np.float32 and x.flags.c_contiguous
        np.testing.assert_allclose(x[0, :, 0, 0], [-1, -1 + 2 / 255, 127 / 127.5 - 1], atol=1e-7)
        np.testing.assert_allclose(x[0, :, 0, 1], [128 / 127.5 - 1, 254 / 127.5 - 1, 1], atol=1e-7)

    def test_levels_keep_their_layout(self):
        import torch

        levels = np.array([[0, 255], [51, 204]], np.uint8)
        np.testing.assert_allclose(levels_to_unit(levels), [[-1, 1], [-0.6, 0.6]], atol=1e-6)
        t = levels_to_unit(torch.from_numpy(levels))
        assert t.dtype == torch.float32 and t.shape == (2, 2)
        np.testing.assert_array_equal(t.numpy(), levels_to_unit(levels))

    def test_round_trip_and_clipping(self):
        images = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
        np.testing.assert_array_equal(unit_to_images(images_to_unit(images)), images)
        out = unit_to_images(np.array([-3.0, -1.0, 0.0, 1.0, 5.0], np.float32).reshape(1, 1, 1, 5))
        assert out.dtype == np.uint8 and out.shape == (1, 1, 5, 1)
        np.testing.assert_array_equal(out.ravel(), [0, 0, 128, 255, 255])  # 127.5 rounds to even: 128

    def test_torch_matches_numpy(self):
        import torch

        images = np.random.default_rng(1).integers(0, 256, (2, 4, 6, 3), dtype=np.uint8)
        t = images_to_unit(torch.from_numpy(images))
        assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == (2, 3, 4, 6)
        np.testing.assert_array_equal(t.numpy(), images_to_unit(images))
        back = unit_to_images(t.requires_grad_())
        assert isinstance(back, np.ndarray)
        np.testing.assert_array_equal(back, images)
