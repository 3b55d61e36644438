import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from core.export import OnnxStyleModel, example_inputs, export_onnx, mobile_spec, render_card, to_fp16, to_int8
from core.generator import Generator, GeneratorConfig
from core import topology
from core.alignment import alignment_matrix
from core.package import ONNX_INPUTS, StyleConfig, mobile_problem


def run(path, feeds):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The default generator (random init) exported at 128 px, with its fp16 and int8 variants."""
    torch.manual_seed(0)
    gen = Generator(GeneratorConfig()).eval()
    folder = tmp_path_factory.mktemp("onnx")
    path = export_onnx(gen, 128, folder / "model.onnx")
    return gen, path, to_fp16(path, folder / "fp16.onnx"), to_int8(path, folder / "int8.onnx")


class TestExportOnnx:
    def test_parity_fp32(self, exported):
        gen, path, *_ = exported
        image, landmarks, alpha = example_inputs(gen, 128, batch=2, seed=4)
        alpha = torch.tensor([1.0, 0.5])
        with torch.no_grad():
            ref = OnnxStyleModel(gen, 128)(image, landmarks, alpha).numpy()
        out = run(path, dict(zip(ONNX_INPUTS, (image.numpy(), landmarks.numpy(), alpha.numpy()))))
        assert np.abs(out - ref).max() <= 1e-3

    def test_graph_is_opset17_and_samples_with_gathers(self, exported):
        model = onnx.load(str(exported[1]))
        onnx.checker.check_model(model)
        assert any(o.domain in ("", "ai.onnx") and o.version >= 17 for o in model.opset_import)
        ops = {n.op_type for n in model.graph.node}
        assert "GatherElements" in ops and "GridSample" not in ops  # ORT's GridSample is 2-3x slower

    def test_alpha_input_matters(self, exported):
        gen, path, *_ = exported
        image, landmarks, _ = example_inputs(gen, 128, seed=2)
        feeds = lambda a: dict(zip(ONNX_INPUTS, (image.numpy(), landmarks.numpy(), np.array([a], np.float32))))
        assert np.abs(run(path, feeds(0.0)) - run(path, feeds(1.0))).max() > 1e-4

    @pytest.mark.parametrize("index,tol", [(2, 0.05), (3, 0.2)])
    def test_fp16_and_int8_close(self, exported, index, tol):
        gen, path = exported[:2]
        image, landmarks, alpha = example_inputs(gen, 128, seed=5)
        feeds = dict(zip(ONNX_INPUTS, (image.numpy(), landmarks.numpy(), alpha.numpy())))
        assert np.abs(run(exported[index], feeds) - run(path, feeds)).max() < tol


class TestMobileSpec:
    def test_documents_inputs_and_indices(self):
        spec = mobile_spec(StyleConfig(name="x", resolution=256, template=[[0, 0]] * 73))
        assert list(spec["inputs"]) == list(ONNX_INPUTS)
        assert spec["inputs"]["image"]["shape"] == ["batch", 3, 256, 256]
        assert spec["landmark_indices"] == list(topology.CANONICAL_INDICES)
        assert mobile_problem(spec, StyleConfig(name="x", resolution=256, template=[[0, 0]] * 73)) is None
        assert "resolution 128" in mobile_problem(spec, StyleConfig(name="x", resolution=128, template=[[0, 0]] * 73))

    def test_documented_alignment_recipe_is_the_engines(self):
        """A phone app follows the spec's words; carried out literally they must give core.alignment's crop."""
        spec = mobile_spec(StyleConfig(name="x", resolution=256, template=[[0, 0]] * 73))
        a = spec["alignment"]
        rng = np.random.default_rng(3)
        mesh = rng.uniform(100, 400, (topology.NUM_MESH_POINTS, 2))
        mesh[a["right_eye_indices"]] = rng.normal((200, 220), 6, (len(a["right_eye_indices"]), 2))
        mesh[a["left_eye_indices"]] = rng.normal((290, 205), 6, (len(a["left_eye_indices"]), 2))
        mesh[a["mouth_corner_indices"]] = [(225, 330), (285, 322)]
        rot90 = lambda v: np.array([-v[1], v[0]])
        e0, e1 = mesh[a["right_eye_indices"]].mean(0), mesh[a["left_eye_indices"]].mean(0)
        eye_avg, eye_to_eye = (e0 + e1) / 2, e1 - e0
        eye_to_mouth = mesh[a["mouth_corner_indices"]].mean(0) - eye_avg
        x = eye_to_eye - rot90(eye_to_mouth)
        x = x / np.linalg.norm(x) * max(2.0 * np.linalg.norm(eye_to_eye), 1.8 * np.linalg.norm(eye_to_mouth)) \
            * a["margin"]
        y = rot90(x)
        c = eye_avg + 0.1 * eye_to_mouth
        quad = np.array([c - x - y, c - x + y, c + x + y, c + x - y])
        s = a["size"]
        corners = np.array([[0, 0], [0, s], [s, s], [s, 0]], float)
        m = alignment_matrix(mesh, s, a["margin"])
        np.testing.assert_allclose(quad @ m[:, :2].T + m[:, 2], corners, atol=1e-6)
        assert spec["mode"]["default"] == "face"
        assert spec["keep_shape"]["default"] == 0 and len(spec["keep_shape"]["photo_template"]) == 73


class TestRenderCard:
    @pytest.mark.parametrize("mode,says", [("face", "only the faces change"), ("full", "stylizes the background")])
    def test_states_the_default_mode(self, mode, says):
        card = render_card(StyleConfig(name="x", template=[[0, 0]] * 73, mode_default=mode))
        assert says in " ".join(card.split())

    def test_states_keep_shape_when_set(self):
        template = [[0, 0]] * 73
        assert "own shape" not in render_card(StyleConfig(name="x", template=template))
        assert "keep 75 % of their own shape" in " ".join(
            render_card(StyleConfig(name="x", template=template, keep_shape=0.75)).split())


class TestWarpFreeExport:
    def test_keeps_documented_inputs(self, tmp_path):
        gen = Generator(GeneratorConfig(channels=4, blocks=1, global_warp=False, local_warp=False)).eval()
        model = onnx.load(str(export_onnx(gen, 64, tmp_path / "m.onnx")))
        assert tuple(i.name for i in model.graph.input) == ONNX_INPUTS


class TestParityGate:
    def test_a_package_whose_graph_disagrees_is_not_written(self, tmp_path, monkeypatch):
        """onnx_report refuses a graph beyond the limits (here: a limit of 0), so save_style writes nothing."""
        import core.export as export
        from core.errors import StylePackageError
        from core.package import StyleConfig

        gen = Generator(GeneratorConfig(channels=4, blocks=1)).eval()
        monkeypatch.setattr(export, "PARITY_MAX", 0.0)
        with pytest.raises(StylePackageError, match="differs from torch"):
            export.save_style(tmp_path / "pkg", gen, StyleConfig(name="pkg", resolution=64),
                              np.zeros((64, 64, 3), np.uint8))
        assert not (tmp_path / "pkg" / "style.json").exists()


class TestFp16PaintingHead:
    def test_convs_in_fp16_output_unchanged(self, tmp_path):
        """A graph with the painting head: conv weights become fp16, the palette stays fp32 and the output holds."""
        from onnx import TensorProto

        torch.manual_seed(0)
        gen = Generator(GeneratorConfig(channels=4, blocks=1, head="art", pixel_skip=True, palette=6)).eval()
        with torch.no_grad():
            for p in gen.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        path = export_onnx(gen, 64, tmp_path / "m.onnx")
        half = to_fp16(path, tmp_path / "h.onnx")
        model = onnx.load(str(half))
        assert any(t.data_type == TensorProto.FLOAT16 for t in model.graph.initializer)
        feeds = dict(zip(ONNX_INPUTS, (t.numpy() for t in example_inputs(gen, 64, batch=2, seed=2))))
        ref, out = run(path, feeds), run(half, feeds)
        assert np.abs(out - ref).mean() < 1e-3 and np.quantile(np.abs(out - ref), 0.999) < 2 / 255


class TestRefreshGraphs:
    def test_an_old_graph_is_replaced_by_the_lean_one_and_nothing_else_changes(self, tmp_path):
        """A package exported before the inert-decoder shortcut (simulated: shortcut off) gets the lean graph from
        its own weights: same outputs, fewer nodes, every other file but style.json and the card byte-identical."""
        from core.export import refresh_graphs, save_style
        from core.package import load_style

        torch.manual_seed(0)
        gen = Generator(GeneratorConfig(channels=4, blocks=1, head="art", palette=4, pixel_skip=True)).eval()
        gen.shortcut = False
        old = save_style(tmp_path / "quick", gen, StyleConfig(name="quick", resolution=64),
                         np.zeros((64, 128, 3), np.uint8), extra_files={"attribution.json": b"[]"})
        before = {f.name: f.read_bytes() for f in old.path.iterdir()}
        new = refresh_graphs(load_style(old.path))
        after = {f.name: f.read_bytes() for f in new.path.iterdir()}
        assert set(after) == set(before)
        changed = {n for n in after if after[n] != before[n]}
        assert changed <= {"model.onnx", "model_fp16.onnx", "model_int8.onnx", "style.json", "README.md"}
        assert "model.onnx" in changed
        nodes = lambda data: len(onnx.load_from_string(data).graph.node)  # noqa: E731
        assert nodes(after["model.onnx"]) < nodes(before["model.onnx"])
        image, landmarks, alpha = example_inputs(gen, 64, batch=2, seed=3)
        feeds = dict(zip(ONNX_INPUTS, (image.numpy(), landmarks.numpy(), alpha.numpy())))
        (tmp_path / "old.onnx").write_bytes(before["model.onnx"])
        np.testing.assert_allclose(run(new.path / "model.onnx", feeds), run(tmp_path / "old.onnx", feeds), atol=2e-5)


class TestLayoutPerGraph:
    """ORT's NCHWc layout transformer helps a decoder CNN and costs a graph without one (docs/engine.md): the export
    records which, the runner follows it, and both settings give the same outputs."""

    @pytest.fixture(scope="class")
    def packages(self, tmp_path_factory):
        from core.export import save_style

        torch.manual_seed(0)
        cfg = GeneratorConfig(channels=4, blocks=1, head="art", palette=4, pixel_skip=True)
        folder = tmp_path_factory.mktemp("layout")
        lean = save_style(folder / "lean", Generator(cfg).eval(), StyleConfig(name="lean", resolution=64),
                          np.zeros((64, 128, 3), np.uint8))
        active = Generator(cfg).eval()
        with torch.no_grad():
            active.to_rgb[0].weight.add_(0.01)  # the decoder now changes the output: its CNN stays in the graph
        cnn = save_style(folder / "cnn", active, StyleConfig(name="cnn", resolution=64), np.zeros((64, 128, 3), np.uint8))
        return lean, cnn

    def test_an_inert_decoder_turns_the_transformer_off(self, packages):
        lean, cnn = packages
        assert {v["nchwc"] for v in lean.config.onnx.values()} == {False}
        assert {v["nchwc"] for v in cnn.config.onnx.values()} == {True}

    def test_a_refiner_is_its_own_graph_and_keeps_it_on_there(self, tmp_path, monkeypatch):
        """The generator graphs end at the painting, so an inert decoder still turns the transformer off there;
        refiner.onnx, all convolutions, keeps it."""
        import core.runtime as R
        from core.export import save_style

        cfg = GeneratorConfig(channels=4, blocks=1, head="art", palette=4, pixel_skip=True, refiner=4)
        refined = save_style(tmp_path / "refined", Generator(cfg).eval(), StyleConfig(name="refined", resolution=64),
                             np.zeros((64, 128, 3), np.uint8))
        assert {v["nchwc"] for v in refined.config.onnx.values()} == {False}
        seen = []
        real = R.onnx_session
        monkeypatch.setattr(R, "onnx_session", lambda file, threads=None, nchwc=True: seen.append((file.name, nchwc))
                            or real(file, threads, nchwc))
        R.OnnxRunner(refined)
        assert seen == [("model.onnx", False), ("refiner.onnx", True)]

    def test_the_runner_follows_the_package(self, packages, monkeypatch):
        import core.runtime as R

        seen = []
        real = R.onnx_session
        monkeypatch.setattr(R, "onnx_session", lambda file, threads=None, nchwc=True: seen.append(nchwc) or
                            real(file, threads, nchwc))
        for package in packages:
            R.OnnxRunner(package)
        assert seen == [False, True]

    def test_a_package_without_the_key_keeps_ort_defaults(self, packages, monkeypatch):
        import core.runtime as R
        from core.package import load_style

        lean = packages[0]
        monkeypatch.setattr(lean.config, "onnx", {k: {m: x for m, x in v.items() if m != "nchwc"}
                                                  for k, v in lean.config.onnx.items()})
        seen = []
        real = R.onnx_session
        monkeypatch.setattr(R, "onnx_session", lambda file, threads=None, nchwc=True: seen.append(nchwc) or
                            real(file, threads, nchwc))
        R.OnnxRunner(lean)
        assert seen == [True]
        assert load_style(lean.path).config.onnx["fp32"]["nchwc"] is False  # the file itself still says so

    def test_same_outputs_either_way(self, packages):
        from core.runtime import onnx_session

        for package in packages:
            gen_inputs = example_inputs(Generator(GeneratorConfig(channels=4, blocks=1)), 64, batch=2, seed=7)
            feeds = dict(zip(ONNX_INPUTS, (t.numpy() for t in gen_inputs)))
            on = onnx_session(package.path / "model.onnx", 1, True).run(None, feeds)[0]
            off = onnx_session(package.path / "model.onnx", 1, False).run(None, feeds)[0]
            np.testing.assert_allclose(on, off, atol=1e-3)  # float order only (the parity gate allows more)

    def test_validation_wants_a_boolean(self):
        from core.package import onnx_report_problem

        assert onnx_report_problem({"fp32": {"nchwc": False}}) is None
        assert "must be true or false" in onnx_report_problem({"fp32": {"nchwc": "no"}})
        assert "must be true or false" in onnx_report_problem({"fp32": {"nchwc": 0}})
