"""Publish a photo pool as a Hugging Face dataset repo (`python -m studio push-photos`), so a Space or another
machine trains on it with `--photos OWNER/NAME` (studio.data.resolve_source downloads it).

Only an aligned pool is published (the layout of scripts/make_photo_pool.py and of the bundled studio/photos:
pool.json, landmarks.npz, attribution.json, images/), after `studio.data.load_aligned_pool` has validated it and
every photo's attribution row names its license and its author or source URL: photos of people are not put on the
Hub without the terms they may be shared under. A pool without a dataset card (README.md) gets one."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from core.config import PROJECT_TAG
from core.errors import DatasetError
from studio.hub import LOGIN_HINT, PushResult, _api, check_repo_id, hub_errors, resolve_endpoint

CARD_FILE = "README.md"
CARD_TEMPLATE = """---
license: other
license_name: per-photo
pretty_name: {name}
tags:
- {tag}
- faces
- aligned-faces
---

# {name}

{count} aligned face crops ({size}x{size}) with their MediaPipe landmarks: a photo pool for Portrait Studio
(`python -m studio train --photos OWNER/NAME`). Each photo's author, source and license are in
`{attribution}`; licenses: {licenses}.
"""


def check_pool(folder: str | Path) -> tuple[dict, list[str]]:
    """(the pool's manifest, the files a dataset repo of it holds), after validating it as `load_aligned_pool`
    does and checking that every photo has a license and an author or URL; DatasetError naming the file and fix."""
    from studio.data import POOL_ATTRIBUTION, POOL_LANDMARKS, POOL_MANIFEST, load_aligned_pool  # torch: when run

    root = Path(folder)
    if not (root / POOL_MANIFEST).is_file():
        raise DatasetError(f"{root} is not an aligned photo pool (no {POOL_MANIFEST}); make one with "
                           "`python scripts/make_photo_pool.py --out DIR`, which aligns the faces and writes the "
                           "attribution and the dataset card")
    try:
        size = int(json.loads((root / POOL_MANIFEST).read_text(encoding="utf-8"))["size"])
    except (OSError, ValueError, KeyError, TypeError):  # load_aligned_pool says what is wrong with the manifest
        size = 64
    pool = load_aligned_pool(root, size)
    manifest = json.loads((root / POOL_MANIFEST).read_text(encoding="utf-8"))
    attribution = str(manifest.get("attribution") or POOL_ATTRIBUTION)
    for record, row in zip(pool.records, pool.provenance):
        row = row or {}
        if not str(row.get("license") or "").strip() or not (row.get("author") or row.get("photo_url")):
            raise DatasetError(f"{root / record.file} has no license and author or URL in {attribution}; every "
                               "photo needs them before the pool can be published (add its row, or remove it)")
    files = [POOL_MANIFEST, str(manifest.get("landmarks") or POOL_LANDMARKS), attribution,
             *(r.file for r in pool.records)]
    return manifest, files


def pool_card(manifest: dict, rows: list[dict], name: str) -> str:
    """A dataset card for a pool without one: what it is, how to train on it, its licenses."""
    from studio.data import POOL_ATTRIBUTION

    licenses = ", ".join(f"{k} ({v})" for k, v in Counter(str(r.get("license")) for r in rows).most_common())
    return CARD_TEMPLATE.format(name=name, tag=PROJECT_TAG, count=manifest["count"], size=manifest["size"],
                                attribution=manifest.get("attribution") or POOL_ATTRIBUTION, licenses=licenses)


def push_photos(folder: str | Path, repo_id: str, *, token: str | None = None, private: bool = False,
                commit_message: str | None = None, endpoint: str | None = None) -> PushResult:
    """Validate an aligned pool (`check_pool`) and publish it to the dataset repo `repo_id` (created if needed)."""
    root = Path(folder)
    manifest, files = check_pool(root)
    check_repo_id(repo_id)
    endpoint = resolve_endpoint(endpoint)
    api = _api(endpoint, token)
    with tempfile.TemporaryDirectory(prefix="portrait-photos-") as tmp:
        stage = Path(tmp)
        for name in files:
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, stage / name)
        if (root / CARD_FILE).is_file():
            shutil.copyfile(root / CARD_FILE, stage / CARD_FILE)
        else:
            rows = json.loads((root / files[2]).read_text(encoding="utf-8"))
            (stage / CARD_FILE).write_text(pool_card(manifest, rows, repo_id.split("/")[1]), encoding="utf-8")
        files = sorted([*files, CARD_FILE])
        with hub_errors(repo_id, endpoint, "main"):
            api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
            info = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=stage, allow_patterns=files,
                                     commit_message=commit_message or f"Push a photo pool of {manifest['count']} "
                                                                      "aligned faces")
    return PushResult(repo_id=repo_id, revision="main", commit_oid=info.oid, commit_url=info.commit_url,
                      files=files, uploaded=files, links={})


# --- command line ------------------------------------------------------------------------------------------------
def register_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("push-photos", help="publish a photo pool to the Hub as a dataset",
                       description="Upload an aligned photo pool (pool.json, landmarks.npz, attribution.json, "
                                   "images/; e.g. studio/photos) to a Hub dataset repo, creating it if needed, so "
                                   "`train --photos OWNER/NAME` and a Space can use it. Every photo needs a license "
                                   f"and an author or URL in attribution.json. Authenticate first: {LOGIN_HINT}.")
    p.add_argument("folder", help="the pool's folder")
    p.add_argument("--repo", required=True, help="dataset repo id, OWNER/NAME")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--message", help="commit message")
    p.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)")
    p.set_defaults(func=cmd_push_photos)


def cmd_push_photos(args) -> int:
    result = push_photos(args.folder, args.repo, private=args.private, commit_message=args.message,
                         endpoint=args.endpoint)
    print(f"pushed {args.folder} to the dataset {result.repo_id} (commit {result.commit_oid[:8]}, "
          f"{len(result.files)} files)\n  {result.commit_url}\ntrain on it: python -m studio train --photos "
          f"{result.repo_id} ...")
    return 0

