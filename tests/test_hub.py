"""studio/hub.py against tests/hubserver.py over real HTTP: push, pull, list, links, removal, CLI, and every way a
pull must fail without installing anything. Over 500 lines because it mirrors studio/hub.py (long for the reasons
at its top): most of it is the pull's failure cases, each a few lines."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hubserver import HubServer, hub_server  # noqa: F401 - the fixture is used by name
from test_package import HOSTILE

from core.errors import HubError, StyleNameTakenError, StyleNotFoundError, StylePackageError, UnsafeFileError
from core.package import ONNX_FILES, REQUIRED_FILES, load_style
from studio import hub

REPO = "alice/tiny"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    """A real 64x64 style package (built once per session)."""
    from core.export import save_style
    from core.generator import Generator, GeneratorConfig
    from core.package import StyleConfig

    path = tmp_path_factory.mktemp("pkg") / "tiny"
    save_style(path, Generator(GeneratorConfig(channels=4, blocks=1)), StyleConfig(name="tiny", resolution=64),
               preview=np.zeros((64, 128, 3), np.uint8))
    return path


def files_of(folder: Path) -> dict[str, bytes]:
    """A package's files; hidden ones (the install record, hub.SOURCE_FILE) aside."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under `root`, hidden ones included, with file contents."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def edited(tiny: Path, tmp_path: Path, description: str) -> Path:
    """A copy of the package whose style.json has another description (its weights and ONNX files unchanged)."""
    copy = tmp_path / f"copy-{hashlib.md5(description.encode()).hexdigest()[:6]}"
    shutil.copytree(tiny, copy)
    config = json.loads((copy / "style.json").read_text())
    config["description"] = description
    (copy / "style.json").write_text(json.dumps(config, indent=2) + "\n")
    return copy


def record_source(package: Path, repo_id: str) -> None:
    """Mark an installed package as pulled from `repo_id`, as pull_style does."""
    (package / ".hub-source.json").write_text(json.dumps({"repo_id": repo_id, "revision": "main"}))  # SOURCE_FILE


@pytest.fixture
def styles(tmp_path, tiny) -> Path:
    """A styles folder that already holds another version of alice/tiny (pulled before), to show failed pulls
    change nothing."""
    root = tmp_path / "styles"
    root.mkdir()
    shutil.copytree(edited(tiny, tmp_path, "installed before"), root / "tiny")
    record_source(root / "tiny", REPO)
    return root


def get(url: str) -> bytes:
    from huggingface_hub.utils import get_session

    response = get_session().get(url)
    assert response.status_code == 200, url
    return response.content


class TestPushStyle:
    def test_round_trip_is_byte_equal(self, hub_server, tiny, tmp_path):
        result = hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint)
        assert result.commit_oid == hub_server.repos[REPO].branches["main"]
        assert result.commit_url.endswith(result.commit_oid)
        assert set(result.files) == set(files_of(tiny)) | {hub.ORT_FILE}
        assert set(result.uploaded) == set(result.files)
        package = hub.pull_style(REPO, styles_dir=tmp_path / "styles", endpoint=hub_server.endpoint)
        pulled = files_of(package.path)
        assert {k: v for k, v in pulled.items() if k != hub.ORT_FILE} == files_of(tiny)
        assert package.path == tmp_path / "styles" / "tiny" and package.name == "tiny"
        assert hub_server.unknown == []

    def test_textured_style_round_trip(self, hub_server, tiny, tmp_path):
        # a style with a texture stage (core/texture.py) travels with its atlas and graph and runs after the pull
        from core.export import add_texture
        from core.package import load_style
        from core.runtime import get_runner

        src = tmp_path / "textured"
        shutil.copytree(tiny, src)
        rng = np.random.default_rng(0)
        textured = add_texture(load_style(src), (rng.random((4, 64, 64, 3)) * 255).astype(np.uint8))
        repo = "alice/textured"
        result = hub.push_style(textured.path, repo, token=hub_server.token, endpoint=hub_server.endpoint)
        assert {"texture.jpg", "texture.onnx"} <= set(result.files)
        package = hub.pull_style(repo, styles_dir=tmp_path / "styles", endpoint=hub_server.endpoint)
        assert package.config.texture["count"] == 4
        assert get_runner(package, "onnx").texture is not None

    def test_ort_model_runs(self, tiny, tmp_path):
        import onnxruntime as ort

        out = hub.export_ort(tiny / "model.onnx", tmp_path / "model.ort")
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["image", "landmarks", "alpha"]

    def test_ort_failure_is_skipped(self, tmp_path, caplog):
        (tmp_path / "broken.onnx").write_bytes(b"not a model")
        assert hub.export_ort(tmp_path / "broken.onnx", tmp_path / "model.ort") is None
        assert "ORT conversion" in caplog.text and not (tmp_path / "model.ort").exists()

    def test_unchanged_second_push_uploads_nothing(self, hub_server, tiny):
        first = hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint)
        assert hub_server.count("PUT", r"^/__lfs/") == 5  # 3 ONNX + safetensors + model.ort
        hub_server.clear_log()
        second = hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint)
        assert hub_server.count("PUT") == 0 and hub_server.count("POST", r"/commit/") == 0
        assert second.uploaded == [] and second.commit_oid == first.commit_oid
        assert hub.ORT_FILE in second.files  # kept: it was converted from the same model.onnx

    def test_changed_file_alone_is_uploaded(self, hub_server, tiny, tmp_path):
        hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint, with_ort=False)
        hub_server.clear_log()
        result = hub.push_style(edited(tiny, tmp_path, "v2"), REPO, token=hub_server.token,
                                endpoint=hub_server.endpoint, with_ort=False)
        assert result.uploaded == ["style.json"] and hub_server.count("PUT") == 0
        assert hub_server.repos[REPO].commits[result.commit_oid].changed == ["style.json"]

    def test_stale_ort_is_deleted(self, hub_server, tiny):
        other_onnx = (tiny / "model_fp16.onnx").read_bytes()
        hub_server.add_files(REPO, {**files_of(tiny), "model.onnx": other_onnx, "model.ort": b"old"})
        result = hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint, with_ort=False)
        assert result.uploaded == ["model.onnx"] and "model.ort" not in hub_server.files(REPO)
        assert hub_server.files(REPO)["model.onnx"] == (tiny / "model.onnx").read_bytes()

    def test_model_card_metadata(self, hub_server, tiny):
        from huggingface_hub import ModelCard

        hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint, with_ort=False)
        data = ModelCard(hub_server.files(REPO)["README.md"].decode()).data
        assert data.library_name == "portrait-studio" and data.pipeline_tag == "image-to-image"
        assert {"portrait-stylization", "thin-plate-spline", "onnx", "portrait-studio"} <= set(data.tags)
        assert data.license == "other"
        assert set(hub.CARD_TAGS) <= set(data.tags) and hub.PROJECT_TAG in data.tags  # every tag the card template names

    def test_card_without_metadata_is_completed(self):
        text = hub.card_with_metadata("# My style\n", license="cc-by-4.0")
        assert "portrait-studio" in text and "license: cc-by-4.0" in text and "# My style" in text

    def test_tag_and_duplicate_tag(self, hub_server, tiny):
        result = hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint, tag="v1",
                                with_ort=False)
        assert hub_server.repos[REPO].tags == {"v1": result.commit_oid}
        assert result.revision == "v1" and "/resolve/v1/" in result.links["model.onnx"]
        with pytest.raises(HubError, match="tag 'v1' already exists"):
            hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint, tag="v1")

    def test_invalid_package_sends_nothing(self, hub_server, tiny, tmp_path):
        bad = tmp_path / "bad"
        shutil.copytree(tiny, bad)
        (bad / "model.onnx").unlink()
        with pytest.raises(StylePackageError, match="missing model.onnx"):
            hub.push_style(bad, REPO, token=hub_server.token, endpoint=hub_server.endpoint)
        assert hub_server.count() == 0

    @pytest.mark.parametrize("repo_id", ["tiny", "a/b/c", "../x", "alice/..", "alice/ bad"])
    def test_bad_repo_id(self, tiny, repo_id):
        with pytest.raises(HubError, match="not a Hub repo id"):
            hub.push_style(tiny, repo_id, endpoint="http://127.0.0.1:9")

    def test_bad_tag(self, tiny):
        with pytest.raises(HubError, match="tag"):
            hub.push_style(tiny, REPO, tag="v 1", endpoint="http://127.0.0.1:9")

    def test_without_token(self, hub_server, tiny):
        with pytest.raises(HubError, match="HF_TOKEN or run `hf auth login`"):
            hub.push_style(tiny, REPO, endpoint=hub_server.endpoint, with_ort=False)
        assert REPO not in hub_server.repos

    def test_other_users_namespace(self, hub_server, tiny):
        with pytest.raises(HubError, match="403|rights|write"):
            hub.push_style(tiny, "bob/tiny", token=hub_server.token, endpoint=hub_server.endpoint, with_ort=False)

    def test_unreachable_endpoint(self, tiny):
        with pytest.raises(HubError, match="cannot reach http://127.0.0.1:9"):
            hub.push_style(tiny, REPO, token="x", endpoint="http://127.0.0.1:9", with_ort=False)

    def test_endpoint_from_environment(self, hub_server, tiny):
        hub_server.add_files(REPO, files_of(tiny))
        assert hub.mobile_links(REPO)["model.onnx"].startswith(hub_server.endpoint)  # HF_ENDPOINT set by fixture


class TestPullStyle:
    def test_pull_at_tag(self, hub_server, tiny, tmp_path):
        hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint, tag="v1", with_ort=False)
        v2 = edited(tiny, tmp_path, "second version")
        hub.push_style(v2, REPO, token=hub_server.token, endpoint=hub_server.endpoint, tag="v2", with_ort=False)
        root = tmp_path / "styles"
        assert files_of(hub.pull_style(f"{REPO}@v1", styles_dir=root, endpoint=hub_server.endpoint).path) \
            == files_of(tiny)
        assert files_of(hub.pull_style(REPO, styles_dir=root, endpoint=hub_server.endpoint).path) == files_of(v2)
        oid = hub_server.repos[REPO].tags["v1"]
        package = hub.pull_style(REPO, revision=oid[:10], styles_dir=root, endpoint=hub_server.endpoint)
        assert files_of(package.path) == files_of(tiny)
        assert sorted(p.name for p in root.iterdir()) == ["tiny"]

    def test_private_repo_with_token(self, hub_server, tiny, tmp_path):
        hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint, private=True,
                       with_ort=False)
        package = hub.pull_style(REPO, styles_dir=tmp_path, token=hub_server.token, endpoint=hub_server.endpoint)
        assert package.name == "tiny"
        with pytest.raises(HubError, match="private and you are not logged in.*hf auth login"):
            hub.pull_style(REPO, styles_dir=tmp_path / "other", endpoint=hub_server.endpoint)

    def test_overwrite_false_keeps_existing(self, hub_server, tiny, styles):
        hub_server.add_files(REPO, files_of(tiny))
        before = snapshot(styles)
        with pytest.raises(StylePackageError, match="already installed"):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint, overwrite=False)
        assert snapshot(styles) == before

    def test_overwrite_replaces_existing(self, hub_server, tiny, styles):
        hub_server.add_files(REPO, files_of(tiny))
        hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)
        assert files_of(styles / "tiny") == files_of(tiny)
        assert sorted(p.name for p in styles.iterdir()) == ["tiny"]

    def test_conflicting_revisions(self):
        with pytest.raises(HubError, match="give it once"):
            hub.pull_style(f"{REPO}@v1", revision="v2", endpoint="http://127.0.0.1:9")

    def test_failed_pull_into_new_folder_leaves_no_folder(self, hub_server, tmp_path):
        with pytest.raises(HubError):
            hub.pull_style(REPO, styles_dir=tmp_path / "new", endpoint=hub_server.endpoint)
        assert not (tmp_path / "new").exists()


def _unsafe_repo(tiny: Path, case: str) -> dict[str, bytes]:
    """The package's files plus the unsafe extra of one failure case."""
    files = files_of(tiny)
    if case == "pickle":
        files["weights.pkl"] = b"\x80\x04K\x01."
    elif case == "escape":
        files["../evil.json"] = b"{}"
    elif case == "backslash":
        files["..\\evil.json"] = b"{}"
    elif case == "subfolder":
        files["extra/notes.md"] = b"hi"
    elif case == "type":
        files["run.sh"] = b"rm -rf ~"
    elif case == "too many":
        files.update({f"extra{i}.md": b"x" for i in range(40)})
    return files


class TestPullFailures:
    """Each failure names the repo/file and the fix, and leaves the styles folder exactly as it was."""

    @pytest.fixture(autouse=True)
    def _untouched(self, styles):
        before = snapshot(styles)
        yield
        assert snapshot(styles) == before  # no new style, no changed style, no temporary folder

    def test_missing_repo(self, hub_server, styles):
        with pytest.raises(HubError, match="no such style repo alice/nothing"):
            hub.pull_style("alice/nothing", styles_dir=styles, endpoint=hub_server.endpoint)

    def test_missing_revision(self, hub_server, tiny, styles):
        hub_server.add_files(REPO, files_of(tiny))
        with pytest.raises(HubError, match="no revision 'v9'"):
            hub.pull_style(f"{REPO}@v9", styles_dir=styles, endpoint=hub_server.endpoint)

    def test_auth_required(self, hub_server, tiny, styles):
        hub_server.add_files(REPO, files_of(tiny))
        hub_server.require_auth = True
        with pytest.raises(HubError, match=r"401\).*set HF_TOKEN or run `hf auth login`"):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)

    def test_invalid_token(self, hub_server, tiny, styles):
        hub_server.add_files(REPO, files_of(tiny))
        with pytest.raises(HubError, match="hf auth login") as info:
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint, token="hf_wrong_secret_123")
        assert "hf_wrong_secret_123" not in str(info.value)

    @pytest.mark.parametrize("path, how", [("model.onnx", "sha256"), ("style.json", "git blob id")])
    def test_corrupted_bytes(self, hub_server, tiny, styles, path, how):
        hub_server.add_files(REPO, files_of(tiny))
        hub_server.corrupt_file(REPO, path)
        with pytest.raises(UnsafeFileError, match=f"{REPO}: '{path}' does not match its {how}"):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)

    def test_more_bytes_than_listed(self, hub_server, tiny, styles):
        hub_server.add_files(REPO, files_of(tiny))
        hub_server.corrupt_file(REPO, "model.onnx", (tiny / "model.onnx").read_bytes() + b"extra")
        with pytest.raises(UnsafeFileError, match="larger than"):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)

    @pytest.mark.parametrize("case, message", [
        ("pickle", "'weights.pkl' is a pickle-capable file"),
        ("escape", r"'\.\./evil\.json' escapes the package folder"),
        ("backslash", "escapes the package folder"),
        ("subfolder", "'extra/notes.md' is in a sub-folder"),
        ("type", "'run.sh' is not an allowed file type"),
        ("too many", "more than the 32"),
    ])
    def test_unsafe_listing(self, hub_server, tiny, styles, case, message):
        hub_server.add_files(REPO, _unsafe_repo(tiny, case))
        with pytest.raises(UnsafeFileError, match=message):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)
        assert hub_server.count("GET", r"/resolve/") == 0  # refused before downloading anything

    @pytest.mark.parametrize("limits, message", [
        ({"max_file_bytes": 50_000}, r"'model.onnx' is [\d,]+ bytes, over the 50,000-byte limit per file"),
        ({"max_total_bytes": 200_000}, "over the 200,000-byte limit for a style"),
        ({"max_files": 5}, "more than the 5"),
    ])
    def test_limits(self, hub_server, tiny, styles, limits, message):
        hub_server.add_files(REPO, files_of(tiny))
        with pytest.raises(UnsafeFileError, match=message):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint, **limits)

    def test_malformed_style_json(self, hub_server, tiny, styles):
        hub_server.add_files(REPO, {**files_of(tiny), "style.json": b"{not json"})
        with pytest.raises(StylePackageError, match=f"{REPO}@main/style.json is not valid JSON") as info:
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)
        assert ".pull-" not in str(info.value)

    def test_unsafe_style_name(self, hub_server, tiny, styles):
        config = json.loads((tiny / "style.json").read_text())
        config["name"] = "../escape"
        hub_server.add_files(REPO, {**files_of(tiny), "style.json": json.dumps(config).encode()})
        with pytest.raises(StylePackageError, match="'name'"):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)

    def test_listing_names_a_file_twice(self, hub_server, tiny, styles):
        hub_server.add_files(REPO, files_of(tiny))
        hub_server.duplicate_in_listing(REPO, "style.json")
        with pytest.raises(UnsafeFileError, match=f"{REPO}: the Hub lists 'style.json' twice, which would write one "
                                                  "file over the other; refusing the repo"):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)
        assert hub_server.count("GET", r"/resolve/") == 0

    @pytest.mark.parametrize("case", HOSTILE)
    def test_hostile_package(self, hub_server, tiny, styles, case):
        """Issue 14: each defect of test_package.HOSTILE is refused with a message naming the repo's file."""
        edit, message = HOSTILE[case]
        hub_server.add_files(REPO, edit(files_of(tiny)))
        with pytest.raises(StylePackageError, match=message) as info:
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)
        assert str(info.value).startswith(f"{REPO}@main/") and ".pull-" not in str(info.value)

    @pytest.mark.parametrize("case", HOSTILE)
    def test_hostile_package_cli(self, hub_server, tiny, styles, case, capsys):
        from studio.cli import main

        edit, message = HOSTILE[case]
        hub_server.add_files(REPO, edit(files_of(tiny)))
        assert main(["pull", REPO, "--styles-dir", str(styles), "--endpoint", hub_server.endpoint]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {REPO}@main/") and re.search(message, err) and "Traceback" not in err

    def test_not_a_style(self, hub_server, styles):
        hub_server.add_files(REPO, {"README.md": b"# hello\n", "config.json": b"{}"})
        with pytest.raises(StylePackageError, match="not a complete Portrait Studio style: it lacks style.json"):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)


class TestCheckRemoteFiles:
    def test_ignores_gitattributes(self, tiny):
        listed = [hub.RemoteFile(n, len(d), None, None) for n, d in files_of(tiny).items()]
        listed.append(hub.RemoteFile(".gitattributes", 10, None, None))
        assert {f.name for f in hub.check_remote_files(REPO, listed)} == set(REQUIRED_FILES)

    @pytest.mark.parametrize("name", ["/etc/passwd.json", "C:x.json", "a\x00.json", "..", ".hidden.json"])
    def test_refuses_odd_names(self, name):
        with pytest.raises(UnsafeFileError):
            hub.check_remote_files(REPO, [hub.RemoteFile(name, 1, None, None)])

    @pytest.mark.parametrize("names, message", [(["style.json", "style.json"], "lists 'style.json' twice"),
                                                (["README.md", "readme.md"], "lists both 'README.md' and 'readme.md'")])
    def test_refuses_duplicates(self, names, message):
        with pytest.raises(UnsafeFileError, match=message):
            hub.check_remote_files(REPO, [hub.RemoteFile(n, 1, None, None) for n in names])

    def test_refuses_unknown_size(self):
        with pytest.raises(UnsafeFileError, match="did not report the size"):
            hub.check_remote_files(REPO, [hub.RemoteFile("style.json", -1, None, None)])


class TestPullOwnership:
    """Issue 14: a pull replaces only a style pulled from the same repo; another one needs `as_name` (`--as`)."""

    def test_records_its_source(self, hub_server, tiny, tmp_path):
        hub_server.add_files(REPO, files_of(tiny))
        package = hub.pull_style(REPO, styles_dir=tmp_path, endpoint=hub_server.endpoint)
        assert hub.SOURCE_FILE == ".hub-source.json"  # as record_source writes it
        record = json.loads((package.path / hub.SOURCE_FILE).read_text())
        assert record["repo_id"] == REPO and record["commit"] == hub_server.repos[REPO].branches["main"]
        assert hub.installed_source(package.path) == REPO
        result = hub.push_style(package.path, "alice/again", token=hub_server.token, endpoint=hub_server.endpoint,
                                with_ort=False)
        assert hub.SOURCE_FILE not in result.files and hub.SOURCE_FILE not in hub_server.files("alice/again")

    def test_same_name_from_another_repo_is_refused(self, hub_server, tiny, styles):
        hub_server.add_files("bob/anything", files_of(tiny))  # its style.json also says "name": "tiny"
        before = snapshot(styles)
        with pytest.raises(StyleNameTakenError, match=r"style 'tiny' is already installed at .*\(pulled from "
                                                      r"alice/tiny\), not from bob/anything: .*`--as NEW_NAME`"):
            hub.pull_style("bob/anything", styles_dir=styles, endpoint=hub_server.endpoint)
        assert snapshot(styles) == before

    def test_local_style_is_not_replaced(self, hub_server, tiny, tmp_path):
        root = tmp_path / "styles"
        root.mkdir()
        shutil.copytree(tiny, root / "tiny")  # trained or bundled here: no install record
        hub_server.add_files(REPO, files_of(tiny))
        before = snapshot(root)
        with pytest.raises(StyleNameTakenError, match=r"\(trained, bundled or copied here\), not from alice/tiny"):
            hub.pull_style(REPO, styles_dir=root, endpoint=hub_server.endpoint)
        assert snapshot(root) == before

    def test_install_under_another_name(self, hub_server, tiny, styles):
        hub_server.add_files("bob/anything", files_of(tiny))
        before = snapshot(styles)
        package = hub.pull_style("bob/anything", styles_dir=styles, endpoint=hub_server.endpoint, as_name="bobs")
        assert package.path == styles / "bobs" and package.name == "bobs"
        assert json.loads((package.path / "mobile.json").read_text())["style"] == "bobs"
        assert hub.installed_source(package.path) == "bob/anything"
        assert {k: v for k, v in snapshot(styles).items() if k.startswith("tiny")} == before
        assert load_style("bobs", styles_dir=styles).name == "bobs"
        hub.pull_style("bob/anything", styles_dir=styles, endpoint=hub_server.endpoint, as_name="bobs")  # updates
        assert sorted(p.name for p in styles.iterdir()) == ["bobs", "tiny"]

    def test_bad_as_name(self, styles):
        with pytest.raises(StylePackageError, match="--as 'Bad Name' is not a style name"):
            hub.pull_style(REPO, styles_dir=styles, endpoint="http://127.0.0.1:9", as_name="Bad Name")

    def test_cli_as(self, hub_server, tiny, styles, capsys):
        from studio.cli import main

        hub_server.add_files("bob/anything", files_of(tiny))
        args = ["pull", "bob/anything", "--styles-dir", str(styles), "--endpoint", hub_server.endpoint]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: style 'tiny' is already installed") and "--as NEW_NAME" in err
        assert "Traceback" not in err
        assert main([*args, "--as", "bobs"]) == 0
        assert "installed style 'bobs'" in capsys.readouterr().out and (styles / "bobs" / "style.json").is_file()


def dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


class TestInterruptedPulls:
    """Issue 14: a pull killed midway leaves a work folder that the next pull removes; others leave nothing."""

    def test_next_pull_cleans_stale_work_folders(self, hub_server, tiny, styles):
        pid = dead_pid()
        stale = [styles / f".pull-{pid}-x1", styles / ".pull-legacy1", styles / f".tiny.removed-{pid}"]
        live = styles / f".pull-{os.getpid()}-busy"  # a pull in progress in a live process: kept
        for folder in (*stale, live):
            folder.mkdir()
            (folder / "model.onnx").write_bytes(b"partial")
        old = time.time() - 3600
        os.utime(styles / ".pull-legacy1", (old, old))  # no pid in its name: removed once old
        hub_server.add_files(REPO, files_of(tiny))
        hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)
        assert sorted(p.name for p in styles.iterdir()) == [live.name, "tiny"]

    @pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
    def test_sigkill_mid_pull(self, hub_server, tiny, styles, tmp_path):
        hub_server.add_files(REPO, files_of(tiny))
        script = (f"import os, signal, sys\nsys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
                  "from studio import hub\nreal = hub._download\n"
                  "def dying(*args):\n    real(*args)\n    os.kill(os.getpid(), signal.SIGKILL)\n"
                  f"hub._download = dying\nhub.pull_style({REPO!r}, styles_dir={str(styles)!r}, "
                  f"endpoint={hub_server.endpoint!r})\n")
        env = {**os.environ, **hub_server.client_env(with_token=False), "HF_HOME": str(tmp_path / "hf")}
        proc = subprocess.run([sys.executable, "-c", script], env=env, timeout=300, capture_output=True)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        left = sorted(p.name for p in styles.iterdir())
        assert len(left) == 2 and left[0].startswith(".pull-") and left[1] == "tiny"
        hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)
        assert sorted(p.name for p in styles.iterdir()) == ["tiny"]

    def test_interrupted_pull_leaves_nothing(self, hub_server, tiny, styles, monkeypatch):
        hub_server.add_files(REPO, files_of(tiny))
        before = snapshot(styles)
        real = hub._download

        def interrupted(*args):
            real(*args)
            raise KeyboardInterrupt

        monkeypatch.setattr(hub, "_download", interrupted)
        with pytest.raises(KeyboardInterrupt):
            hub.pull_style(REPO, styles_dir=styles, endpoint=hub_server.endpoint)
        assert snapshot(styles) == before


class TestListStyles:
    def test_finds_tagged_styles(self, hub_server, tiny):
        hub_server.add_files(REPO, files_of(tiny))
        hub_server.add_files("bob/sketch", {**files_of(tiny)})
        hub_server.add_files("bob/unrelated", {"README.md": b"---\ntags:\n- other\n---\n# x\n"})
        hub_server.create_repo("bob/private", private=True)
        hub_server.add_files("bob/private", files_of(tiny))
        hub_server.set_stats(REPO, likes=3, downloads=10)
        hub_server.set_stats("bob/sketch", likes=1, downloads=99)
        found = hub.list_styles(endpoint=hub_server.endpoint)
        assert [s.repo_id for s in found] == ["bob/sketch", REPO]  # most downloaded first; no untagged, no private
        style = found[1]
        assert (style.name, style.author, style.likes, style.downloads) == ("tiny", "alice", 3, 10)
        assert style.last_modified.year == 2026
        assert get(style.preview_url) == (tiny / "preview.png").read_bytes()

    def test_query(self, hub_server, tiny):
        hub_server.add_files(REPO, files_of(tiny))
        hub_server.add_files("bob/sketch", files_of(tiny))
        assert [s.repo_id for s in hub.list_styles("TIN", endpoint=hub_server.endpoint)] == [REPO]
        assert hub.list_styles("nothing-like-this", endpoint=hub_server.endpoint) == []

    def test_limit(self, hub_server, tiny):
        for i in range(3):
            hub_server.add_files(f"alice/s{i}", files_of(tiny))
        assert len(hub.list_styles(endpoint=hub_server.endpoint, limit=2)) == 2


class TestMobileLinks:
    def test_links_download_the_models(self, hub_server, tiny):
        result = hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint)
        links = hub.mobile_links(REPO, endpoint=hub_server.endpoint)
        assert set(links) == {*ONNX_FILES.values(), "model.ort", "mobile.json"}
        for name in ONNX_FILES.values():
            assert get(links[name]) == (tiny / name).read_bytes()
        assert get(links["model.ort"]) == hub_server.files(REPO)["model.ort"]
        assert hub.mobile_links(REPO, "main", hub_server.endpoint, files=result.files) == links

    def test_without_ort(self, hub_server, tiny):
        hub_server.add_files(REPO, files_of(tiny))
        links = hub.mobile_links(REPO, revision="main", endpoint=hub_server.endpoint)
        assert set(links) == {*ONNX_FILES.values(), "mobile.json"}

    def test_a_refiner_graph_is_listed(self, hub_server):
        names = [*ONNX_FILES.values(), "refiner.onnx", "mobile.json", "style.json"]
        links = hub.mobile_links(REPO, endpoint=hub_server.endpoint, files=names)
        assert set(links) == {*ONNX_FILES.values(), "refiner.onnx", "mobile.json"}
        assert links["refiner.onnx"].endswith("/refiner.onnx")

    def test_missing_repo(self, hub_server):
        with pytest.raises(HubError, match="no such style repo"):
            hub.mobile_links("alice/none", endpoint=hub_server.endpoint)


class TestRemoveLocalStyle:
    def test_removes(self, styles):
        assert hub.remove_local_style("tiny", styles) == styles / "tiny"
        assert list(styles.iterdir()) == []

    def test_missing(self, styles):
        with pytest.raises(StyleNotFoundError, match="no installed style 'nope'"):
            hub.remove_local_style("nope", styles)

    @pytest.mark.parametrize("name", ["../tiny", "", "Tiny", "a/b"])
    def test_bad_name(self, styles, name):
        with pytest.raises(StylePackageError, match="not a style name"):
            hub.remove_local_style(name, styles)
        assert (styles / "tiny").is_dir()

    def test_refuses_non_style_folder(self, styles):
        (styles / "notes").mkdir()
        with pytest.raises(StylePackageError, match="not a style package"):
            hub.remove_local_style("notes", styles)
        assert (styles / "notes").is_dir()


class TestCli:
    def test_push_pull_list_remove(self, hub_server, tiny, tmp_path, capsys, monkeypatch):
        from studio.cli import main

        monkeypatch.setenv("HF_TOKEN", hub_server.token)
        ep = ["--endpoint", hub_server.endpoint]
        assert main(["push", str(tiny), "--repo", REPO, "--tag", "v1", "--no-ort", *ep]) == 0
        out = capsys.readouterr().out
        assert f"{hub_server.endpoint}/{REPO}/resolve/v1/model.onnx" in out and "mobile.json" in out
        root = tmp_path / "styles"
        assert main(["pull", f"{REPO}@v1", "--styles-dir", str(root), *ep]) == 0
        assert "installed style 'tiny'" in capsys.readouterr().out
        assert main(["list", "--query", "tiny", *ep]) == 0
        assert REPO in capsys.readouterr().out
        assert main(["remove", "tiny", "--styles-dir", str(root)]) == 0
        assert not (root / "tiny").exists()
        out, err = capsys.readouterr()
        assert hub_server.token not in out + err

    def test_push_prints_qr_codes(self, hub_server, tiny, capsys, monkeypatch):
        """Every phone link gets a terminal QR code holding exactly segno's matrix for that link."""
        from test_qr import expected, text_modules

        from studio import qr
        from studio.cli import main

        monkeypatch.setenv("HF_TOKEN", hub_server.token)
        assert main(["push", str(tiny), "--repo", REPO, "--no-ort", "--endpoint", hub_server.endpoint]) == 0
        out = capsys.readouterr().out
        links = hub.mobile_links(REPO, endpoint=hub_server.endpoint)
        assert len(links) == 4
        for name, url in links.items():
            block = out.split(f"scan for {name}:\n", 1)[1].split("\n\n", 1)[0].rstrip("\n")
            want = expected(url, qr.TEXT_BORDER)
            assert np.array_equal(text_modules(block)[:want.shape[0]], want), name
        main(["push", str(tiny), "--repo", REPO, "--no-ort", "--no-qr", "--endpoint", hub_server.endpoint])
        out = capsys.readouterr().out
        assert "model.onnx" in out and "scan for" not in out and "█" not in out

    def test_push_writes_qr_png(self, hub_server, tiny, tmp_path, capsys, monkeypatch):
        """The sheet holds segno's matrix of every link where sheet_layout puts it (the links name the test server's
        port, which changes from run to run, so the exact check samples modules; tests/test_qr.py decodes sheets)."""
        from PIL import Image
        from test_qr import expected, sample

        from studio import qr
        from studio.cli import main

        monkeypatch.setenv("HF_TOKEN", hub_server.token)
        png = tmp_path / "codes.png"
        assert main(["push", str(tiny), "--repo", REPO, "--tag", "v2", "--no-ort", "--qr", str(png),
                     "--endpoint", hub_server.endpoint]) == 0
        out = capsys.readouterr().out
        assert f"QR codes of these links: {png}" in out and "█" not in out
        links = hub.mobile_links(REPO, "v2", hub_server.endpoint)
        assert len(links) == 4 and all("/resolve/v2/" in u for u in links.values())
        image = Image.open(png)
        size, boxes = qr.sheet_layout(links)
        assert image.size == size
        for name, url in links.items():
            b, quiet = boxes[name], boxes[name].border * boxes[name].scale
            assert np.array_equal(sample(image, b.left + quiet, b.top + quiet, b.scale, b.modules), expected(url))

    @pytest.mark.parametrize("name, message", [("codes.jpg", r"name the file with \.png"),
                                               ("missing/codes.png", "does not exist")])
    def test_push_bad_qr_file_uploads_nothing(self, hub_server, tiny, tmp_path, capsys, monkeypatch, name, message):
        from studio.cli import main

        monkeypatch.setenv("HF_TOKEN", hub_server.token)
        assert main(["push", str(tiny), "--repo", REPO, "--qr", str(tmp_path / name),
                     "--endpoint", hub_server.endpoint]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and re.search(message, err) and "Traceback" not in err
        assert hub_server.count("POST") == 0

    def test_pulled_style_knows_its_links(self, hub_server, tiny, tmp_path):
        result = hub.push_style(tiny, REPO, token=hub_server.token, endpoint=hub_server.endpoint, tag="v1")
        package = hub.pull_style(f"{REPO}@v1", styles_dir=tmp_path, endpoint=hub_server.endpoint)
        ref, links = hub.installed_links(package.path)
        assert ref == f"{REPO}@v1" and set(links) == {*ONNX_FILES.values(), "model.ort", "mobile.json"}
        for name, url in links.items():  # pinned to the commit that was pulled
            assert f"/resolve/{result.commit_oid}/" in url and get(url) == (package.path / name).read_bytes()
        assert hub.installed_links(tiny) == ("", {})  # not pulled: no links
        (package.path / ".hub-source.json").write_text('{"repo_id": "../x", "endpoint": "http://h"}')
        assert hub.installed_links(package.path) == ("", {})

    def test_error_exit_code(self, hub_server, tmp_path, capsys):
        from studio.cli import main

        assert main(["pull", "alice/none", "--styles-dir", str(tmp_path), "--endpoint", hub_server.endpoint]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: no such style repo alice/none") and "Traceback" not in err

    def test_listed_in_parser(self):
        from studio.cli import COMMAND_MODULES, build_parser

        assert "studio.hub" in COMMAND_MODULES
        choices = build_parser()._subparsers._group_actions[0].choices
        assert {"push", "pull", "list", "remove"} <= set(choices)


class TestTokens:
    def test_token_never_logged_or_printed(self, hub_server, tiny, tmp_path, caplog, capsys):
        caplog.set_level(logging.DEBUG)
        token = hub_server.token
        hub.push_style(tiny, REPO, token=token, endpoint=hub_server.endpoint, with_ort=False)
        hub.pull_style(REPO, styles_dir=tmp_path, token=token, endpoint=hub_server.endpoint)
        hub.list_styles(endpoint=hub_server.endpoint, token=token)
        hub_server.corrupt_file(REPO, "model.onnx")
        with pytest.raises(UnsafeFileError) as info:
            hub.pull_style(REPO, styles_dir=tmp_path, token=token, endpoint=hub_server.endpoint)
        out, err = capsys.readouterr()
        assert any(r.user == "alice" for r in hub_server.log)  # the token was sent...
        for text in (caplog.text, out, err, str(info.value), repr(hub_server.log)):
            assert token not in text  # ...and appears nowhere


class TestHubServer:
    """The test server speaks enough of the Hub for huggingface_hub's own download path (used by other tests)."""

    def test_hf_hub_download(self, hub_server, tiny, tmp_path):
        from huggingface_hub import hf_hub_download

        hub_server.add_files(REPO, files_of(tiny))
        for name in ("style.json", "model.onnx"):
            path = hf_hub_download(REPO, name, endpoint=hub_server.endpoint, cache_dir=tmp_path)
            assert Path(path).read_bytes() == (tiny / name).read_bytes()
        assert hub_server.unknown == []

    def test_standalone_context_manager(self):
        with HubServer() as server:
            env = server.client_env()
            assert env["HF_ENDPOINT"] == server.endpoint and env["HF_HUB_DISABLE_XET"] == "1"
        assert server._httpd is None
