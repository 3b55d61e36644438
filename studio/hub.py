"""Share style packages on the Hugging Face Hub: push, pull (with strict safety checks), search, mobile links.

Why one module of this length: push and pull are two sides of one remote layout (file list, sizes, hashes, card
tags, install records), and the pull's safety checks are most of it.

Every call takes `endpoint` (default: HF_ENDPOINT, else https://huggingface.co) and passes it explicitly to
huggingface_hub, which reads HF_ENDPOINT only once at import. Tokens come from `token`, HF_TOKEN or the saved
`hf auth login`, resolved by huggingface_hub; this module never prints, logs or writes them.
A pull downloads into a hidden temporary folder inside the styles folder, checks every file against the Hub's
size and hash, validates the package and renames it into place, so a failed pull changes nothing. The installed
package records the repo it came from (`.hub-source.json`, a name no Hub repo may ship), so a pull replaces only
a style from the same repo; another one with the same name is refused unless installed under `as_name`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from core import __version__
from core.config import CARD_TAGS, PROJECT_TAG
from core.errors import (HubError, PortraitStudioError, StyleNameTakenError, StyleNotFoundError, StylePackageError,
                         UnsafeFileError)
from core.package import (ALLOWED_SUFFIXES, CARD_FILE, CONFIG_FILE, MOBILE_FILE, NAME_RE, ONNX_FILES,
                          PICKLE_SUFFIXES, PREVIEW_FILE, PULL_PREFIX, REFINER_GRAPH, REQUIRED_FILES, StylePackage,
                          clean_leftovers, default_styles_dir, install_dir, read_json, rename_style,
                          validate_package)

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
ORT_FILE = "model.ort"
IGNORED_REMOTE_FILES = {".gitattributes"}  # every Hub repo has one; never downloaded
MAX_FILES = 32
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 500 * 1024 * 1024
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LOGIN_HINT = "set HF_TOKEN or run `hf auth login`"
SOURCE_FILE = ".hub-source.json"  # where an installed package came from; hidden, so no Hub repo can ship one


@dataclass
class PushResult:
    """What a push did: the commit, the files now in the repo, which of them changed, and direct download links."""

    repo_id: str
    revision: str  # the tag when one was given, else "main"
    commit_oid: str
    commit_url: str
    files: list[str]
    uploaded: list[str]  # files whose content was new or different on the Hub
    links: dict[str, str] = field(default_factory=dict)  # file -> resolve URL at `revision`


@dataclass
class HubStyle:
    """A published style found by `list_styles`."""

    repo_id: str
    name: str
    author: str | None
    likes: int
    downloads: int
    preview_url: str
    last_modified: datetime | None


@dataclass(frozen=True)
class RemoteFile:
    """A repo file as the Hub describes it: size, LFS sha256 (LFS files) and git blob id."""

    name: str
    size: int
    sha256: str | None
    blob_id: str | None


def resolve_endpoint(endpoint: str | None = None) -> str:
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def resolve_url(repo_id: str, filename: str, revision: str = "main", endpoint: str | None = None) -> str:
    """The direct download URL of a repo file at a revision."""
    return f"{resolve_endpoint(endpoint)}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"


def parse_ref(ref: str, revision: str | None = None) -> tuple[str, str]:
    """'user/name' or 'user/name@revision' -> (repo_id, revision); `revision` must agree when both are given."""
    repo_id, _, ref_revision = ref.strip().partition("@")
    check_repo_id(repo_id)
    if ref_revision and revision and ref_revision != revision:
        raise HubError(f"{ref!r} names revision {ref_revision!r} but revision={revision!r} was also given; "
                       "give it once")
    revision = ref_revision or revision or "main"
    if not revision or any(c.isspace() or ord(c) < 32 for c in revision):
        raise HubError(f"{ref!r}: {revision!r} is not a valid revision (a branch, tag or commit id)")
    return repo_id, revision


def check_repo_id(repo_id: str) -> str:
    if not REPO_ID_RE.match(repo_id) or ".." in repo_id or "--" in repo_id:
        raise HubError(f"{repo_id!r} is not a Hub repo id; use USER/NAME (letters, digits, '-', '_', '.')")
    return repo_id


def git_blob_id(data: bytes) -> str:
    """Git's blob hash (`git hash-object`), which the Hub reports for files not stored with LFS."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _api(endpoint: str, token: str | None):
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint, token=token, library_name=PROJECT_TAG, library_version=__version__)


@contextmanager
def hub_errors(repo_id: str, endpoint: str, revision: str | None = None):
    """Turn huggingface_hub and network exceptions into HubError messages that name the repo and the fix."""
    import httpx2
    from huggingface_hub.errors import (HfHubHTTPError, LocalTokenNotFoundError, OfflineModeIsEnabled,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    where = f"{repo_id} on {endpoint}"
    try:
        yield
    except PortraitStudioError:
        raise
    except RevisionNotFoundError:
        raise HubError(f"{where} has no revision {revision!r}; check the tag or branch name "
                       "(tags are created with `push --tag`)") from None
    except RepositoryNotFoundError as exc:
        if _status(exc) == 401:
            raise HubError(f"no such style repo {where}, or it is private and you are not logged in: check the "
                           f"name, or {LOGIN_HINT}") from None
        raise HubError(f"no such style repo {where}: check the name (`python -m studio list` shows published "
                       "styles)") from None
    except HfHubHTTPError as exc:
        status = _status(exc)
        if status == 401:
            raise HubError(f"the Hub refused {where} without valid credentials (401): {LOGIN_HINT}") from None
        if status == 403:
            raise HubError(f"your token may not write to {where} (403): use a token with write access to that "
                           f"namespace ({LOGIN_HINT})") from None
        detail = (exc.server_message or str(exc) or "no details").strip().splitlines()[0]
        raise HubError(f"the Hub answered {status} for {where}: {detail}; try again later") from None
    except LocalTokenNotFoundError:
        raise HubError(f"no Hugging Face token found: {LOGIN_HINT}") from None
    except OfflineModeIsEnabled:
        raise HubError(f"HF_HUB_OFFLINE is set, so {endpoint} cannot be reached; unset it to use the Hub") from None
    except httpx2.HTTPError as exc:
        raise HubError(f"cannot reach {endpoint} for {repo_id} ({type(exc).__name__}: {exc}); check the network "
                       "connection or the endpoint") from None
    except (ValueError, RuntimeError) as exc:  # huggingface_hub reports malformed answers and upload failures so
        raise HubError(f"Hub operation on {where} failed: {exc}") from None


def _status(exc) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


# --- push --------------------------------------------------------------------------------------------------------
def export_ort(onnx_file: str | Path, dst: str | Path) -> Path | None:
    """Convert an ONNX model to ORT format with onnxruntime's offline tool; None (and a warning) if it fails."""
    onnx_file, dst = Path(onnx_file), Path(dst)
    with tempfile.TemporaryDirectory(prefix="portrait-ort-") as tmp:
        src = Path(tmp) / "model.onnx"
        shutil.copyfile(onnx_file, src)
        cmd = [sys.executable, "-m", "onnxruntime.tools.convert_onnx_models_to_ort", str(src),
               "--output_dir", str(Path(tmp) / "out"), "--optimization_style", "Fixed"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            logger.warning("ORT conversion of %s skipped: %s", onnx_file, exc)
            return None
        out = Path(tmp) / "out" / "model.ort"
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            logger.warning("ORT conversion of %s skipped (exit %s): %s", onnx_file, proc.returncode, tail[0])
            return None
        shutil.copyfile(out, dst)
    return dst


def card_with_metadata(text: str, license: str) -> str:
    """The model card, with the Hub metadata `list_styles` relies on added if missing (unchanged otherwise)."""
    from huggingface_hub import ModelCard

    card = ModelCard(text, ignore_metadata_errors=True)
    data = card.data
    tags = set(data.tags or [])
    if set(CARD_TAGS) <= tags and data.library_name and data.pipeline_tag and data.license:
        return text
    data.tags = sorted(tags | set(CARD_TAGS))
    data.library_name = data.library_name or PROJECT_TAG
    data.pipeline_tag = data.pipeline_tag or "image-to-image"
    data.license = data.license or license
    return str(card)


def _remote_files(api, repo_id: str, revision: str) -> dict[str, RemoteFile]:
    """Files at a revision with sizes and hashes (one request)."""
    info = api.model_info(repo_id, revision=revision, files_metadata=True)
    return {s.rfilename: RemoteFile(s.rfilename, s.size if s.size is not None else -1,
                                    s.lfs.sha256 if s.lfs else None, s.blob_id) for s in info.siblings or []}


def _same_content(local: Path, remote: RemoteFile | None) -> bool:
    if remote is None or remote.size != local.stat().st_size:
        return False
    data = local.read_bytes()
    if remote.sha256:
        return hashlib.sha256(data).hexdigest() == remote.sha256
    return git_blob_id(data) == remote.blob_id


def push_style(path: str | Path, repo_id: str, *, token: str | None = None, private: bool = False,
               tag: str | None = None, commit_message: str | None = None, endpoint: str | None = None,
               with_ort: bool = True) -> PushResult:
    """Validate a package and publish it to `repo_id` (created if needed); unchanged files are not uploaded again.

    With `with_ort`, an ORT-format `model.ort` converted from model.onnx is added (regenerated only when model.onnx
    changed, since ORT serialisation is not byte-reproducible). `tag` marks the commit as an immutable version.
    """
    package = validate_package(path)
    check_repo_id(repo_id)
    if tag is not None and not TAG_RE.match(tag):
        raise HubError(f"tag {tag!r} is not valid; use letters, digits, '.', '-' or '_' (e.g. v1 or 1.0.0)")
    endpoint = resolve_endpoint(endpoint)
    api = _api(endpoint, token)
    names = sorted(p.name for p in package.path.iterdir() if not p.name.startswith("."))  # not SOURCE_FILE
    with hub_errors(repo_id, endpoint, "main"):
        api.create_repo(repo_id, private=private, exist_ok=True)
        if tag is not None and tag in {t.name for t in api.list_repo_refs(repo_id).tags}:
            raise HubError(f"tag {tag!r} already exists in {repo_id}: versions are immutable, choose a new tag "
                           "(e.g. bump the style version)")
        remote = _remote_files(api, repo_id, "main")
        with tempfile.TemporaryDirectory(prefix="portrait-push-") as tmp:
            stage = Path(tmp)
            for name in names:
                shutil.copyfile(package.path / name, stage / name)
            card = (stage / CARD_FILE).read_text(encoding="utf-8")
            fixed = card_with_metadata(card, package.config.license)
            if fixed != card:
                (stage / CARD_FILE).write_text(fixed, encoding="utf-8")
            onnx_unchanged = _same_content(stage / ONNX_FILES["fp32"], remote.get(ONNX_FILES["fp32"]))
            delete = None
            if ORT_FILE in names:
                pass  # the package ships its own ORT model
            elif with_ort and onnx_unchanged and ORT_FILE in remote:
                names.append(ORT_FILE)  # the one on the Hub was converted from this very model.onnx
            elif with_ort and export_ort(stage / ONNX_FILES["fp32"], stage / ORT_FILE) is not None:
                names.append(ORT_FILE)
            elif ORT_FILE in remote and not onnx_unchanged:
                delete = [ORT_FILE]  # stale: it was converted from another model.onnx
            names.sort()
            uploaded = [n for n in names if (stage / n).is_file() and not _same_content(stage / n, remote.get(n))]
            logger.info("pushing %s to %s: %d files, %d changed", package.name, repo_id, len(names), len(uploaded))
            info = api.upload_folder(
                repo_id=repo_id, folder_path=stage, allow_patterns=[n for n in names if (stage / n).is_file()],
                delete_patterns=delete, commit_message=commit_message or
                f"Push style {package.name} {package.config.version}")
        if tag is not None:
            api.create_tag(repo_id, tag=tag, revision=info.oid,
                           tag_message=f"{package.name} {package.config.version}")
    revision = tag or "main"
    return PushResult(repo_id=repo_id, revision=revision, commit_oid=info.oid, commit_url=info.commit_url,
                      files=names, uploaded=uploaded,
                      links={n: resolve_url(repo_id, n, revision, endpoint) for n in names})


# --- pull --------------------------------------------------------------------------------------------------------
def check_remote_files(repo_id: str, files: list[RemoteFile], *, max_files: int = MAX_FILES,
                       max_file_bytes: int = MAX_FILE_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES
                       ) -> list[RemoteFile]:
    """The files a pull may download, or UnsafeFileError naming the first offending file and the rule."""
    wanted = [f for f in files if f.name not in IGNORED_REMOTE_FILES]
    for f in wanted:
        name = f.name
        if (not name or name in (".", "..") or "\\" in name or name.startswith("/") or ".." in name.split("/")
                or re.match(r"^[A-Za-z]:", name) or any(ord(c) < 32 for c in name)):
            raise UnsafeFileError(f"{repo_id}: file path {name!r} escapes the package folder; refusing the whole "
                                  "repo (ask its owner to fix it)")
        if "/" in name:
            raise UnsafeFileError(f"{repo_id}: {name!r} is in a sub-folder, but style packages are flat; refusing "
                                  "the repo (its owner should move or delete the file)")
        suffix = Path(name).suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            raise UnsafeFileError(f"{repo_id}: {name!r} is a pickle-capable file ({suffix}), which can run code "
                                  "when loaded; refusing the repo. Styles ship weights as safetensors only")
        if suffix not in ALLOWED_SUFFIXES or name.startswith("."):
            raise UnsafeFileError(f"{repo_id}: {name!r} is not an allowed file type (allowed: "
                                  f"{sorted(ALLOWED_SUFFIXES)}); refusing the repo (its owner should remove it)")
    seen: dict[str, str] = {}
    for f in wanted:  # case-folded: two spellings are one file on Windows and macOS
        if f.name.casefold() in seen:
            other = seen[f.name.casefold()]
            twice = f"lists {f.name!r} twice" if other == f.name else f"lists both {other!r} and {f.name!r}"
            raise UnsafeFileError(f"{repo_id}: the Hub {twice}, which would write one file over the other; "
                                  "refusing the repo (its owner should delete the duplicate)")
        seen[f.name.casefold()] = f.name
    if len(wanted) > max_files:
        raise UnsafeFileError(f"{repo_id} has {len(wanted)} files, more than the {max_files} a style may have; "
                              "refusing it")
    for f in wanted:
        if f.size < 0:
            raise UnsafeFileError(f"{repo_id}: the Hub did not report the size of {f.name!r}; refusing to download "
                                  "it unchecked")
        if f.size > max_file_bytes:
            raise UnsafeFileError(f"{repo_id}: {f.name!r} is {f.size:,} bytes, over the {max_file_bytes:,}-byte "
                                  "limit per file; refusing the repo")
    total = sum(f.size for f in wanted)
    if total > max_total_bytes:
        raise UnsafeFileError(f"{repo_id} holds {total:,} bytes, over the {max_total_bytes:,}-byte limit for a "
                              "style; refusing it")
    missing = [n for n in REQUIRED_FILES if n not in {f.name for f in wanted}]
    if missing:
        raise StylePackageError(f"{repo_id} is not a complete Portrait Studio style: it lacks {', '.join(missing)}; "
                                "ask its owner to push it with `python -m studio push`")
    return wanted


def _download(url: str, dest: Path, expected: RemoteFile, headers: dict, repo_id: str) -> None:
    """Stream one file to `dest`, stopping past the expected size; check size and hash (LFS sha256, else git blob)."""
    from huggingface_hub.utils import get_session, hf_raise_for_status

    sha256, blob = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % expected.size)
    size = 0
    with get_session().stream("GET", url, headers=headers, follow_redirects=True, timeout=60) as response:
        if response.status_code >= 400:
            response.read()
            hf_raise_for_status(response)
        with open(dest, "xb") as out:
            for chunk in response.iter_bytes(1 << 20):
                size += len(chunk)
                if size > expected.size:
                    raise UnsafeFileError(f"{repo_id}: {expected.name!r} is larger than the {expected.size:,} bytes "
                                          "the Hub lists; download stopped, nothing installed")
                sha256.update(chunk)
                blob.update(chunk)
                out.write(chunk)
    if size != expected.size:
        raise UnsafeFileError(f"{repo_id}: {expected.name!r} arrived with {size:,} bytes, the Hub lists "
                              f"{expected.size:,}; the download was cut short, try again (nothing installed)")
    if expected.sha256 and sha256.hexdigest() != expected.sha256:
        raise UnsafeFileError(f"{repo_id}: {expected.name!r} does not match its sha256 on the Hub; the download was "
                              "corrupted or tampered with. Try again; nothing was installed")
    if not expected.sha256 and expected.blob_id and blob.hexdigest() != expected.blob_id:
        raise UnsafeFileError(f"{repo_id}: {expected.name!r} does not match its git blob id on the Hub; the download "
                              "was corrupted or tampered with. Try again; nothing was installed")


def pull_style(ref: str, *, styles_dir: str | Path | None = None, token: str | None = None,
               endpoint: str | None = None, revision: str | None = None, overwrite: bool = True,
               as_name: str | None = None, max_files: int = MAX_FILES, max_file_bytes: int = MAX_FILE_BYTES,
               max_total_bytes: int = MAX_TOTAL_BYTES) -> StylePackage:
    """Download 'user/name[@revision]', check it and install it as styles_dir/<style name> (or <as_name>); all or
    nothing. An installed style of that name is replaced only when it was pulled from the same repo."""
    from huggingface_hub.utils import build_hf_headers

    repo_id, revision = parse_ref(ref, revision)
    if as_name is not None and not NAME_RE.match(as_name):
        raise StylePackageError(f"--as {as_name!r} is not a style name; use 1-64 lowercase letters, digits, '-' or "
                                "'_'")
    endpoint = resolve_endpoint(endpoint)
    root = Path(styles_dir) if styles_dir else default_styles_dir()
    api = _api(endpoint, token)
    with hub_errors(repo_id, endpoint, revision):
        info = api.model_info(repo_id, revision=revision, files_metadata=True)
        if not info.sha:
            raise HubError(f"{repo_id} on {endpoint} did not report a commit for {revision!r}; try again later")
        listed = [RemoteFile(s.rfilename, s.size if s.size is not None else -1, s.lfs.sha256 if s.lfs else None,
                             s.blob_id) for s in info.siblings or []]
        files = check_remote_files(repo_id, listed, max_files=max_files, max_file_bytes=max_file_bytes,
                                   max_total_bytes=max_total_bytes)
        headers = build_hf_headers(token=token, library_name=PROJECT_TAG, library_version=__version__)
        created_root = not root.exists()
        root.mkdir(parents=True, exist_ok=True)
        clean_leftovers(root)  # work folders of pulls that were killed midway
        tmp = Path(tempfile.mkdtemp(prefix=f"{PULL_PREFIX}{os.getpid()}-", dir=root))
        try:
            for f in files:  # pinned to the commit listed, so every file comes from the same snapshot
                _download(resolve_url(repo_id, f.name, info.sha, endpoint), tmp / f.name, f, headers, repo_id)
            source = {"repo_id": repo_id, "revision": revision, "commit": info.sha, "endpoint": endpoint}
            return _install(tmp, root, source, overwrite, as_name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if created_root:
                try:
                    root.rmdir()  # only succeeds when the failed pull left it empty
                except OSError:
                    pass


def _validated(tmp: Path, where: str) -> StylePackage:
    """validate_package on the download folder, its hidden path replaced by repo@revision in messages."""
    try:
        return validate_package(tmp)
    except StylePackageError as exc:
        raise type(exc)(str(exc).replace(str(tmp), where)) from None


def installed_source(path: Path) -> str | None:
    """The repo id an installed package was pulled from, or None (trained, bundled or copied here)."""
    try:
        record = read_json(path / SOURCE_FILE, max_bytes=64 * 1024) if (path / SOURCE_FILE).is_file() else None
    except StylePackageError:
        return None
    repo_id = record.get("repo_id") if isinstance(record, dict) else None
    return repo_id if isinstance(repo_id, str) else None


def installed_links(path: Path) -> tuple[str, dict[str, str]]:
    """For a style pulled from the Hub: ("user/name@revision", its mobile download links pinned to the commit it was
    pulled at, for the files it has); ("", {}) for any other style. Reads only the install record, no network."""
    try:
        record = read_json(path / SOURCE_FILE, max_bytes=64 * 1024) if (path / SOURCE_FILE).is_file() else None
    except StylePackageError:
        return "", {}
    if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("repo_id", "endpoint")):
        return "", {}
    repo_id, endpoint = record["repo_id"], record["endpoint"]
    revision = record.get("revision") if isinstance(record.get("revision"), str) else "main"
    commit = record.get("commit") if isinstance(record.get("commit"), str) else revision
    if not REPO_ID_RE.match(repo_id) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", commit):
        return "", {}
    files = [p.name for p in path.iterdir() if p.is_file()]
    return f"{repo_id}@{revision}", mobile_links(repo_id, commit, endpoint, files=files)


def check_name_free(dst: Path, repo_id: str, overwrite: bool) -> None:
    """Refuse to install over `dst` unless it is absent, or came from `repo_id` and overwrite is allowed."""
    if not dst.exists():
        return
    name = dst.name
    if not overwrite:
        raise StylePackageError(f"style {name!r} is already installed at {dst}; remove it first "
                                f"(`python -m studio remove {name}`) or pull with overwrite")
    source = installed_source(dst)
    if source is None or source.lower() != repo_id.lower():
        origin = f"pulled from {source}" if source else "trained, bundled or copied here"
        raise StyleNameTakenError(f"style {name!r} is already installed at {dst} ({origin}), not from {repo_id}: "
                                  f"pulling would replace a different style. Install it under another name with "
                                  f"`--as NEW_NAME`, or remove the installed one first (`python -m studio remove "
                                  f"{name}`)")


def _install(tmp: Path, root: Path, source: dict, overwrite: bool, as_name: str | None = None) -> StylePackage:
    """Validate the download, decide its name, record its source and rename it into place."""
    repo_id = source["repo_id"]
    where = f"{repo_id}@{source['revision']}"
    package = _validated(tmp, where)
    name = as_name or package.config.name
    if not NAME_RE.match(name) or name.startswith("."):
        raise StylePackageError(f"{where}: style name {name!r} is not a safe folder name; refusing it")
    dst = root / name
    check_name_free(dst, repo_id, overwrite)
    if name != package.config.name:
        rename_style(tmp, name)
        _validated(tmp, where)
    (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    install_dir(tmp, dst)
    logger.info("installed %s from %s into %s", name, where, dst)
    return validate_package(dst)


# --- search, links, local removal --------------------------------------------------------------------------------
def list_styles(query: str | None = None, *, endpoint: str | None = None, token: str | None = None,
                limit: int = 50) -> list[HubStyle]:
    """Published Portrait Studio styles (models tagged 'portrait-studio'), most downloaded first."""
    endpoint = resolve_endpoint(endpoint)
    api = _api(endpoint, token)
    with hub_errors(f"search {query or '*'!r}", endpoint):
        models = list(api.list_models(filter=PROJECT_TAG, search=query or None, sort="downloads", limit=limit,
                                      expand=["author", "likes", "downloads", "lastModified", "tags"]))
    return [HubStyle(repo_id=m.id, name=m.id.split("/")[-1], author=m.author or m.id.split("/")[0],
                     likes=m.likes or 0, downloads=m.downloads or 0,
                     preview_url=resolve_url(m.id, PREVIEW_FILE, "main", endpoint), last_modified=m.last_modified)
            for m in models]


def mobile_links(repo_id: str, revision: str = "main", endpoint: str | None = None, *, token: str | None = None,
                 files: list[str] | None = None) -> dict[str, str]:
    """Direct download URLs of the ONNX variants, model.ort and refiner.onnx (where present) and mobile.json; `files`
    skips the lookup."""
    check_repo_id(repo_id)
    endpoint = resolve_endpoint(endpoint)
    if files is None:
        with hub_errors(repo_id, endpoint, revision):
            info = _api(endpoint, token).model_info(repo_id, revision=revision)
        files = [s.rfilename for s in info.siblings or []]
    wanted = [*ONNX_FILES.values(), ORT_FILE, REFINER_GRAPH, MOBILE_FILE]
    return {n: resolve_url(repo_id, n, revision, endpoint) for n in wanted if n in files}


def remove_local_style(name: str, styles_dir: str | Path | None = None) -> Path:
    """Delete an installed style folder (it must hold a style.json); returns the removed path."""
    if not NAME_RE.match(name):
        raise StylePackageError(f"{name!r} is not a style name (lowercase letters, digits, '-', '_')")
    root = Path(styles_dir) if styles_dir else default_styles_dir()
    path = root / name
    if not path.is_dir():
        raise StyleNotFoundError(f"no installed style {name!r} in {root}")
    if not (path / CONFIG_FILE).is_file():
        raise StylePackageError(f"{path} has no {CONFIG_FILE}, so it is not a style package; not deleting it")
    trash = path.with_name(f".{name}.removed-{os.getpid()}")
    path.rename(trash)  # the style disappears at once; the slow delete follows
    shutil.rmtree(trash, ignore_errors=True)
    return path


# --- command line ------------------------------------------------------------------------------------------------
def register_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("push", help="publish a style package to the Hugging Face Hub",
                       description="Upload a style package (plus an ORT-format model.ort) to a Hub model repo, "
                                   "creating it if needed; unchanged files are not uploaded again. Authenticate "
                                   f"first: {LOGIN_HINT}.")
    p.add_argument("path", help="style package folder, or the name of a style in the styles folder")
    p.add_argument("--repo", required=True, metavar="USER/NAME", help="Hub repo id")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--tag", help="also tag the commit as a version, e.g. v1")
    p.add_argument("--message", help="commit message")
    p.add_argument("--endpoint", help=f"Hub URL (default: HF_ENDPOINT or {DEFAULT_ENDPOINT})")
    p.add_argument("--no-ort", action="store_true", help="do not add an ORT-format model")
    qr_out = p.add_mutually_exclusive_group()
    qr_out.add_argument("--qr", metavar="FILE.png", help="write the QR codes of the phone download links to this "
                                                         "PNG (one labelled code per link) instead of printing them")
    qr_out.add_argument("--no-qr", action="store_true", help="print the download links without QR codes")
    p.add_argument("--qr-invert", action="store_true",
                   help="print the QR codes for a terminal with dark text on a light background")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("pull", help="download and install a style from the Hub",
                       description="Download USER/NAME[@REVISION], check every file (types, sizes, hashes), validate "
                                   "the package and install it under its style name (or --as NAME); nothing changes "
                                   "on failure. An installed style is replaced only by a pull from the repo it came "
                                   "from.")
    p.add_argument("ref", metavar="USER/NAME[@REVISION]", help="Hub repo, optionally at a tag, branch or commit")
    p.add_argument("--styles-dir", help="where styles are installed (default: PORTRAIT_STYLES or styles/)")
    p.add_argument("--endpoint", help=f"Hub URL (default: HF_ENDPOINT or {DEFAULT_ENDPOINT})")
    p.add_argument("--no-overwrite", action="store_true", help="fail if the style is already installed")
    p.add_argument("--as", dest="as_name", metavar="NAME",
                   help="install under this style name (when the repo's name is taken by another style)")
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser("list", help="search published styles on the Hub",
                       description=f"List Hub models tagged '{PROJECT_TAG}', most downloaded first.")
    p.add_argument("--query", help="text to search in repo names")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--endpoint", help=f"Hub URL (default: HF_ENDPOINT or {DEFAULT_ENDPOINT})")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("remove", help="delete an installed style", description="Delete styles/<NAME>.")
    p.add_argument("name", help="style name")
    p.add_argument("--styles-dir", help="styles folder (default: PORTRAIT_STYLES or styles/)")
    p.set_defaults(func=cmd_remove)


def cmd_push(args) -> int:
    from studio import qr

    path = Path(args.path)
    if not path.is_dir() and NAME_RE.match(args.path):
        path = default_styles_dir() / args.path
    if args.qr:
        qr.check_png_path(args.qr)  # a bad --qr file name fails before anything is uploaded
    result = push_style(path, args.repo, private=args.private, tag=args.tag, commit_message=args.message,
                        endpoint=args.endpoint, with_ort=not args.no_ort)
    print(f"pushed {path} to {result.repo_id} (commit {result.commit_oid[:8]}, {len(result.files)} files, "
          f"{len(result.uploaded)} changed)")
    print(f"  {result.commit_url}")
    if result.revision != "main":
        print(f"  tagged {result.revision}")
    print("direct mobile downloads:")
    links = mobile_links(result.repo_id, result.revision, args.endpoint, files=result.files)
    for name, url in links.items():
        print(f"  {name:<16} {url}")
    if args.qr:
        print(f"QR codes of these links: {qr.write_sheet(links, args.qr)}")
    elif not args.no_qr:
        blocks = _can_print("▀▄█")
        for name, url in links.items():
            print(f"\nscan for {name}:\n{qr.text(url, invert=args.qr_invert, ascii=not blocks)}")
    return 0


def _can_print(chars: str) -> bool:
    """Whether stdout's encoding has these characters (a Windows console or LANG=C may not)."""
    try:
        chars.encode(getattr(sys.stdout, "encoding", None) or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def cmd_pull(args) -> int:
    package = pull_style(args.ref, styles_dir=args.styles_dir, endpoint=args.endpoint,
                         overwrite=not args.no_overwrite, as_name=args.as_name)
    print(f"installed style {package.name!r} from {args.ref} into {package.path}")
    return 0


def cmd_list(args) -> int:
    styles = list_styles(args.query, endpoint=args.endpoint, limit=args.limit)
    if not styles:
        print(f"no styles tagged '{PROJECT_TAG}'" + (f" match {args.query!r}" if args.query else ""))
        return 0
    width = max(len(s.repo_id) for s in styles)
    print(f"{'repo':<{width}}  {'downloads':>9}  {'likes':>5}  updated")
    for s in styles:
        updated = s.last_modified.strftime("%Y-%m-%d") if s.last_modified else "-"
        print(f"{s.repo_id:<{width}}  {s.downloads:>9}  {s.likes:>5}  {updated}")
    return 0


def cmd_remove(args) -> int:
    path = remove_local_style(args.name, args.styles_dir)
    print(f"removed style {args.name!r} ({path})")
    return 0
