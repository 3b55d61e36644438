"""A Hugging Face Hub-compatible HTTP server for tests, standard library only.

It speaks the subset of the Hub's HTTP API that huggingface_hub 2.4 uses to create model and dataset repos,
commit files (preupload, Git LFS batch + PUT, NDJSON commit), tag, search and download (`resolve` with the Hub's
ETag / X-Repo-Commit / X-Linked-* headers). Repos live in memory with git-like commits, branches and tags (dataset
repos under the id prefix `datasets/`). Knobs inject faults: corrupt a file's bytes, list a file twice, require a
token for reads, add arbitrary files (even unsafe paths) to a repo directly. Every request
is logged (method, path, status, user; never the token) and unknown routes are logged loudly and kept in `unknown`.

Why one module of this length (about 700 lines): it is a server the tests start by importing one file; its routes
share the repo store, the commit model and the access rules.

Use the `hub_server` pytest fixture, or `with HubServer() as hub:` plus `hub.client_env()` for a subprocess, or run
`python tests/hubserver.py` to serve until Ctrl-C. Clients must not use Xet: set HF_HUB_DISABLE_XET=1 before
importing huggingface_hub (the fixture also patches the constant).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qs, quote, unquote, urlsplit

try:
    import pytest
except ImportError:  # the server itself needs only the standard library
    pytest = None

# Files stored with Git LFS (as the Hub's default .gitattributes does), plus anything of 10 MB or more.
LFS_SUFFIXES = {".onnx", ".ort", ".safetensors", ".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib",
                ".npy", ".npz", ".h5", ".msgpack", ".zip", ".gz", ".tar", ".tflite"}
LFS_THRESHOLD = 10 * 1024 * 1024
EPOCH = 1767225600  # 2026-01-01T00:00:00Z: commit dates are EPOCH + a counter, so runs are reproducible
GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in sorted(LFS_SUFFIXES)).encode()
DEFAULT_TOKENS = {"hf_testserver_alice_4f1c9e": "alice", "hf_testserver_bob_77a2d0": "bob"}


DATASETS = "datasets/"  # dataset repos are kept under this prefix of their id; model repos under their id


def git_sha1(data: bytes) -> str:
    """The git blob id of `data` (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def iso_date(seconds: int) -> str:
    """The Hub's date format, e.g. 2026-01-01T00:00:00.000Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def is_lfs_path(path: str, size: int) -> bool:
    suffix = path[path.rfind("."):].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return suffix in LFS_SUFFIXES or size >= LFS_THRESHOLD


def parse_card(text: str) -> dict:
    """The YAML front matter of a model card, for the subset model cards use: `key: value` and `- item` lists."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    data: dict = {}
    key = None
    for line in lines[1:]:
        if line.strip() == "---":
            break
        if line.startswith(("- ", "  - ")) and key is not None:
            if not isinstance(data.get(key), list):
                data[key] = []
            data[key].append(line.split("- ", 1)[1].strip().strip("'\""))
        elif ":" in line and not line.startswith(" "):
            key, value = (s.strip() for s in line.split(":", 1))
            data[key] = value.strip("'\"") if value else []
    return data


@dataclass(frozen=True)
class Blob:
    """A file in a commit."""

    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()

    @property
    def oid(self) -> str:
        """The git blob id: of the content, or of the LFS pointer file."""
        return git_sha1(self.pointer if self.lfs else self.data)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.oid

    @property
    def upload_oid(self) -> str:
        """What the preupload endpoint reports and huggingface_hub compares to skip unchanged files."""
        return self.sha256 if self.lfs else git_sha1(self.data)


@dataclass
class Commit:
    oid: str
    parent: str | None
    files: dict[str, Blob]
    title: str
    message: str
    author: str
    date: int
    changed: list[str] = field(default_factory=list)


@dataclass
class Repo:
    repo_id: str
    owner: str
    private: bool
    created: int
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    likes: int = 0
    downloads: int = 0

    def resolve(self, revision: str) -> Commit | None:
        """A branch, tag, full commit oid or unique oid prefix (7+ hex digits)."""
        revision = unquote(revision)
        oid = self.branches.get(revision) or self.tags.get(revision)
        if oid is None and revision.startswith("refs/heads/"):
            oid = self.branches.get(revision[len("refs/heads/"):])
        if oid is None and re.fullmatch(r"[0-9a-f]{7,40}", revision):
            matches = [o for o in self.commits if o.startswith(revision)]
            oid = matches[0] if len(matches) == 1 else None
        return self.commits.get(oid) if oid else None


class RequestRecord(NamedTuple):
    method: str
    path: str
    query: str
    status: int
    user: str | None


class HttpError(Exception):
    """An HTTP error answer: status, message and the Hub's X-Error-Code."""

    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


class HubServer:
    """In-memory Hub on 127.0.0.1:<free port>, served from a background thread."""

    def __init__(self, tokens: dict[str, str] | None = None):
        self.tokens = dict(tokens or DEFAULT_TOKENS)  # token -> user name
        self.token = next(iter(self.tokens))  # a write token of `self.user`
        self.user = self.tokens[self.token]
        self.repos: dict[str, Repo] = {}
        self.lfs_store: dict[str, bytes] = {}  # sha256 -> bytes uploaded through LFS
        self.log: list[RequestRecord] = []
        self.unknown: list[str] = []
        self.require_auth = False  # when True, reads need a valid token too
        self.corrupted: dict[tuple[str, str], bytes] = {}  # (repo_id, path) -> bytes served instead
        self.duplicated: set[tuple[str, str]] = set()  # (repo_id, path) listed twice in model info
        self._lock = threading.RLock()
        self._clock = itertools.count()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> "HubServer":
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="hubserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def client_env(self, with_token: bool = True) -> dict[str, str]:
        """Environment for a subprocess client (e.g. the app under a browser test)."""
        env = {"HF_ENDPOINT": self.endpoint, "HF_HUB_DISABLE_XET": "1", "HF_HUB_OFFLINE": "0",
               "HF_HUB_DISABLE_TELEMETRY": "1"}
        if with_token:
            env["HF_TOKEN"] = self.token
        return env

    # --- knobs -----------------------------------------------------------------------------------------------
    def create_repo(self, repo_id: str, private: bool = False, owner: str | None = None) -> Repo:
        """Create a repo with the Hub's initial commit (a .gitattributes); return the existing one if any."""
        with self._lock:
            if repo_id in self.repos:
                return self.repos[repo_id]
            repo = Repo(repo_id, owner or repo_id.removeprefix(DATASETS).split("/")[0], private, self._now())
            self.repos[repo_id] = repo
            self._commit(repo, "main", {".gitattributes": Blob(GITATTRIBUTES, False)}, [], "initial commit", "",
                         repo.owner)
            return repo

    def add_files(self, repo_id: str, files: dict[str, bytes], message: str = "direct commit",
                  branch: str = "main") -> str:
        """Commit `files` (any path, unchecked: '../x' works) directly; create the repo if needed. Returns the oid."""
        with self._lock:
            repo = self.create_repo(repo_id)
            blobs = {p: Blob(d, is_lfs_path(p, len(d))) for p, d in files.items()}
            return self._commit(repo, branch, blobs, [], message, "", repo.owner).oid

    def corrupt_file(self, repo_id: str, path: str, data: bytes | None = None) -> None:
        """Serve other bytes for `path` (default: first byte flipped) while metadata keeps the true hashes."""
        with self._lock:
            true = self.files(repo_id)[path]
            self.corrupted[(repo_id, path)] = data if data is not None else bytes([true[0] ^ 0xFF]) + true[1:]

    def duplicate_in_listing(self, repo_id: str, path: str) -> None:
        """List `path` twice in the repo's model info (as a broken or hostile Hub might)."""
        with self._lock:
            self.duplicated.add((repo_id, path))

    def set_stats(self, repo_id: str, likes: int | None = None, downloads: int | None = None) -> None:
        with self._lock:
            repo = self.repos[repo_id]
            repo.likes = repo.likes if likes is None else likes
            repo.downloads = repo.downloads if downloads is None else downloads

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The true file contents of a repo at a revision."""
        with self._lock:
            commit = self.repos[repo_id].resolve(revision)
            return {p: b.data for p, b in commit.files.items()}

    def requests(self, method: str | None = None, pattern: str | None = None) -> list[RequestRecord]:
        """Logged requests, filtered by method and a regex searched in the path."""
        with self._lock:
            return [r for r in self.log if (method is None or r.method == method)
                    and (pattern is None or re.search(pattern, r.path))]

    def count(self, method: str | None = None, pattern: str | None = None) -> int:
        return len(self.requests(method, pattern))

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    # --- internals -------------------------------------------------------------------------------------------
    def _now(self) -> int:
        return EPOCH + next(self._clock)

    def _commit(self, repo: Repo, branch: str, add: dict[str, Blob], delete: list[str], title: str, message: str,
                author: str, parent: str | None = None) -> Commit:
        head = repo.commits.get(repo.branches.get(branch, ""))
        if parent is not None and (head is None or not head.oid.startswith(parent)):
            raise HttpError(412, f"parent commit {parent} is not the head of {branch}", "PreconditionFailed")
        files = dict(head.files) if head else {}
        for path in delete:
            for p in [p for p in files if p == path or p.startswith(path.rstrip("/") + "/")]:
                del files[p]
        files.update(add)
        date = self._now()
        digest = json.dumps([head.oid if head else None, sorted((p, b.oid) for p, b in files.items()), title,
                             date, repo.repo_id]).encode()
        commit = Commit(hashlib.sha1(digest).hexdigest(), head.oid if head else None, files, title, message, author,
                        date, sorted(add) + sorted(delete))
        repo.commits[commit.oid] = commit
        repo.branches[branch] = commit.oid
        return commit

    def _model_json(self, repo: Repo, commit: Commit, siblings: bool, blobs: bool) -> dict:
        readme = commit.files.get("README.md")
        card = parse_card(readme.data.decode("utf-8", "replace")) if readme else {}
        tags = set(card.get("tags") or [])
        if card.get("library_name"):
            tags.add(card["library_name"])
        if card.get("license"):
            tags.add(f"license:{card['license']}")
        public_id = repo.repo_id.removeprefix(DATASETS)
        data = {"_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24], "id": public_id,
                "modelId": public_id, "author": repo.owner, "sha": commit.oid, "lastModified": iso_date(commit.date),
                "createdAt": iso_date(repo.created), "private": repo.private, "disabled": False, "gated": False,
                "downloads": repo.downloads, "likes": repo.likes, "library_name": card.get("library_name"),
                "pipeline_tag": card.get("pipeline_tag"), "tags": sorted(tags), "cardData": card or None,
                "spaces": [], "usedStorage": sum(len(b.data) for b in commit.files.values())}
        if siblings:
            data["siblings"] = [self._sibling(p, b, blobs) for p, b in sorted(commit.files.items())]
            data["siblings"] += [self._sibling(p, commit.files[p], blobs) for r, p in sorted(self.duplicated)
                                 if r == repo.repo_id and p in commit.files]
        return data

    @staticmethod
    def _sibling(path: str, blob: Blob, blobs: bool) -> dict:
        item: dict = {"rfilename": path}
        if blobs:
            item.update(size=len(blob.data), blobId=blob.oid)
            if blob.lfs:
                item["lfs"] = {"sha256": blob.sha256, "size": len(blob.data), "pointerSize": len(blob.pointer)}
        return item


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the HubServer in `hub` (set on a per-server subclass)."""

    hub: HubServer
    protocol_version = "HTTP/1.1"
    server_version = "hubserver/1"

    ROUTES = [
        ("GET", r"/api/whoami-v2", "whoami"),
        ("POST", r"/api/repos/create", "create_repo"),
        ("POST", r"/api/validate-yaml", "validate_yaml"),
        ("GET", r"/api/models", "list_models"),
        ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)", "model_info"),
        ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)", "model_info"),
        ("POST", r"/api/models/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)", "preupload"),
        ("POST", r"/api/models/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)", "commit"),
        ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree"),
        ("POST", r"/api/models/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<rev>[^/]+)", "paths_info"),
        ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)/refs", "refs"),
        ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)/commits/(?P<rev>[^/]+)", "commits"),
        ("POST", r"/api/models/(?P<repo>[^/]+/[^/]+)/tag/(?P<rev>[^/]+)", "create_tag"),
        ("POST", r"/(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", "lfs_batch"),
        ("PUT", r"/__lfs/(?P<oid>[0-9a-f]{64})", "lfs_put"),
        ("GET", r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
        ("HEAD", r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
    ]

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence the default stderr line per request
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- plumbing --------------------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = parse_qs(url.query)
        self.body = self._read_body()
        self.user = None
        status = 500
        try:
            self.user = self._authenticate()
            path, self.kind = url.path, "model"
            if path.startswith("/api/datasets"):  # dataset repos: the model routes, ids under DATASETS
                path, self.kind = "/api/models" + path[len("/api/datasets"):], "dataset"
            elif path.startswith("/" + DATASETS):
                path, self.kind = path[len("/datasets"):], "dataset"
            for route_method, pattern, name in self.ROUTES:
                match = re.fullmatch(pattern, path)
                if route_method == method and match:
                    args = {k: unquote(v) if v is not None else None for k, v in match.groupdict().items()}
                    if self.kind == "dataset" and args.get("repo"):
                        args["repo"] = DATASETS + args["repo"]
                    status = getattr(self, f"route_{name}")(**args)
                    break
            else:
                message = f"[hubserver] UNKNOWN ROUTE {method} {url.path}"
                print(message, file=sys.stderr, flush=True)
                self.hub.unknown.append(f"{method} {url.path}")
                raise HttpError(404, f"hubserver: unknown route {method} {url.path}")
        except HttpError as exc:
            status = exc.status
            self._error(exc)
        except Exception as exc:  # a server bug: answer 500 and say so loudly
            print(f"[hubserver] ERROR on {method} {url.path}: {exc!r}", file=sys.stderr, flush=True)
            self._error(HttpError(500, f"hubserver bug: {exc!r}"))
        finally:
            with self.hub._lock:
                self.hub.log.append(RequestRecord(method, url.path, url.query, status, self.user))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authenticate(self) -> str | None:
        header = self.headers.get("Authorization")
        if not header:
            return None
        token = header.split(" ", 1)[-1].strip()
        user = self.hub.tokens.get(token)
        if user is None:
            raise HttpError(401, "Invalid credentials in Authorization header")
        return user

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict | None = None) -> int:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def _json(self, data, status: int = 200, headers: dict | None = None) -> int:
        return self._send(status, json.dumps(data).encode(), headers=headers)

    def _error(self, exc: HttpError) -> None:
        headers = {"X-Error-Message": exc.message}
        if exc.code:
            headers["X-Error-Code"] = exc.code
        self._json({"error": exc.message, **exc.extra}, exc.status, headers)

    def _body_json(self):
        try:
            return json.loads(self.body or b"{}")
        except json.JSONDecodeError:
            raise HttpError(400, "request body is not JSON") from None

    def _repo(self, repo_id: str, write: bool = False) -> Repo:
        """The repo, after the Hub's access rules: private repos and `require_auth` need a token, writes the owner's."""
        repo = self.hub.repos.get(repo_id)
        if write and self.user is None:
            raise HttpError(401, "You must be authenticated to write to a repo")
        if self.user is None and (self.hub.require_auth or (repo is not None and repo.private)):
            raise HttpError(401, "Authentication required: pass a token", "RepoNotFound" if repo is None
                           or repo.private else None)
        if repo is None or (repo.private and self.user != repo.owner):
            raise HttpError(404, f"Repository not found: {repo_id}", "RepoNotFound")
        if write and self.user != repo.owner:
            raise HttpError(403, f"You don't have the rights to write to {repo_id}")
        return repo

    def _commit_at(self, repo: Repo, rev: str) -> Commit:
        commit = repo.resolve(rev)
        if commit is None:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return commit

    # --- routes ----------------------------------------------------------------------------------------------
    def route_whoami(self) -> int:
        if self.user is None:
            raise HttpError(401, "Invalid username or password.")
        return self._json({"type": "user", "name": self.user, "fullname": self.user, "orgs": [],
                           "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}}})

    def route_create_repo(self) -> int:
        if self.user is None:
            raise HttpError(401, "You must be authenticated to create a repo")
        payload = self._body_json()
        kind = payload.get("type") or "model"
        if kind not in ("model", "dataset"):
            raise HttpError(400, "hubserver supports model and dataset repos only")
        owner = payload.get("organization") or self.user
        repo_id = f"{DATASETS if kind == 'dataset' else ''}{owner}/{payload['name']}"
        if owner != self.user:
            raise HttpError(403, f"You don't have the rights to create a repo under {owner}")
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        with self.hub._lock:
            if repo_id in self.hub.repos:
                raise HttpError(409, f"You already created this {kind} repo",
                                extra={"url": f"{self.hub.endpoint}/{repo_id}"})
            self.hub.create_repo(repo_id, private=private, owner=owner)
        return self._json({"url": f"{self.hub.endpoint}/{repo_id}", "name": repo_id, "id": repo_id})

    def route_validate_yaml(self) -> int:
        return self._json({"errors": [], "warnings": []})

    def route_list_models(self) -> int:
        q = self.query
        filters = q.get("filter", [])
        search = (q.get("search") or [""])[0].lower()
        author = (q.get("author") or [None])[0]
        full = (q.get("full") or ["false"])[0].lower() == "true"
        items = []
        with self.hub._lock:
            for repo in self.hub.repos.values():
                if (repo.private and self.user != repo.owner) or \
                        repo.repo_id.startswith(DATASETS) != (self.kind == "dataset"):
                    continue
                data = self.hub._model_json(repo, repo.resolve("main"), siblings=full, blobs=False)
                if all(f in data["tags"] for f in filters) and search in repo.repo_id.lower() \
                        and author in (None, repo.owner):
                    items.append(data)
        sort = (q.get("sort") or [None])[0]
        if sort in ("downloads", "likes", "lastModified", "createdAt"):
            items.sort(key=lambda d: d[sort], reverse=True)
        limit = int((q.get("limit") or [1000])[0])
        return self._json(items[:limit])

    def route_model_info(self, repo: str, rev: str = "main") -> int:
        with self.hub._lock:
            r = self._repo(repo)
            blobs = (self.query.get("blobs") or ["false"])[0].lower() == "true"
            return self._json(self.hub._model_json(r, self._commit_at(r, rev), siblings=True, blobs=blobs))

    def route_preupload(self, repo: str, rev: str) -> int:
        with self.hub._lock:
            r = self._repo(repo, write=True)
            head = r.resolve(rev)
            files = []
            for item in self._body_json().get("files", []):
                existing = head.files.get(item["path"]) if head else None
                files.append({"path": item["path"], "shouldIgnore": False,
                              "uploadMode": "lfs" if is_lfs_path(item["path"], int(item.get("size", 0))) else "regular",
                              "oid": existing.upload_oid if existing else None})
        return self._json({"files": files, "commitOid": head.oid if head else None})

    def route_lfs_batch(self, repo: str) -> int:
        payload = self._body_json()
        with self.hub._lock:
            self._repo(repo, write=payload.get("operation") == "upload")
            objects = []
            for obj in payload.get("objects", []):
                item = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if payload.get("operation") == "upload" and obj["oid"] not in self.hub.lfs_store:
                    item["actions"] = {"upload": {"href": f"{self.hub.endpoint}/__lfs/{obj['oid']}",
                                                  "header": {}, "expires_in": 3600}}
                objects.append(item)
        return self._json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                          headers={"Content-Type": "application/vnd.git-lfs+json"})

    def route_lfs_put(self, oid: str) -> int:
        if hashlib.sha256(self.body).hexdigest() != oid:
            raise HttpError(400, f"uploaded bytes do not hash to {oid}")
        with self.hub._lock:
            self.hub.lfs_store[oid] = self.body
        return self._send(200, b"", "text/plain")

    def route_commit(self, repo: str, rev: str) -> int:
        if self.query.get("create_pr"):
            raise HttpError(400, "hubserver does not support pull requests")
        lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        header = next((x["value"] for x in lines if x["key"] == "header"), {})
        add, delete = {}, []
        with self.hub._lock:
            r = self._repo(repo, write=True)
            if rev not in r.branches:
                raise HttpError(404, f"Invalid rev id: {rev} (commits go to branches)", "RevisionNotFound")
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "file":
                    add[value["path"]] = Blob(base64.b64decode(value["content"]), False)
                elif key == "lfsFile":
                    data = self.hub.lfs_store.get(value["oid"])
                    if data is None:
                        raise HttpError(422, f"Your push was rejected because an LFS pointer pointed to a file that "
                                       f"does not exist ({value['path']})")
                    add[value["path"]] = Blob(data, True)
                elif key in ("deletedFile", "deletedFolder"):
                    delete.append(value["path"])
                elif key != "header":
                    raise HttpError(400, f"hubserver: unsupported commit operation {key!r}")
            commit = self.hub._commit(r, rev, add, delete, header.get("summary", ""), header.get("description", ""),
                                      self.user, header.get("parentCommit"))
        return self._json({"success": True, "commitOid": commit.oid, "hookOutput": "",
                           "commitUrl": f"{self.hub.endpoint}/{repo}/commit/{commit.oid}"})

    def _tree_item(self, path: str, blob: Blob) -> dict:
        item = {"type": "file", "oid": blob.oid, "size": len(blob.data), "path": path}
        if blob.lfs:
            item["lfs"] = {"oid": blob.sha256, "size": len(blob.data), "pointerSize": len(blob.pointer)}
        return item

    def route_tree(self, repo: str, rev: str, path: str | None = None) -> int:
        recursive = (self.query.get("recursive") or ["false"])[0].lower() == "true"
        prefix = f"{path.strip('/')}/" if path else ""
        with self.hub._lock:
            commit = self._commit_at(self._repo(repo), rev)
            items, folders = [], set()
            for p, blob in sorted(commit.files.items()):
                if not p.startswith(prefix):
                    continue
                rest = p[len(prefix):]
                if "/" in rest and not recursive:
                    folders.add(prefix + rest.split("/", 1)[0])
                    continue
                items.append(self._tree_item(p, blob))
            if path and not items and not folders:
                raise HttpError(404, f"{path} does not exist at {rev}", "EntryNotFound")
        folder_items = [{"type": "directory", "oid": hashlib.sha1(f.encode()).hexdigest(), "size": 0, "path": f}
                        for f in sorted(folders)]
        return self._json(folder_items + items)

    def route_paths_info(self, repo: str, rev: str) -> int:
        paths = parse_qs(self.body.decode()).get("paths", []) if self.body and not self.body.startswith(b"{") \
            else self._body_json().get("paths", [])
        with self.hub._lock:
            commit = self._commit_at(self._repo(repo), rev)
            return self._json([self._tree_item(p, commit.files[p]) for p in paths if p in commit.files])

    def route_refs(self, repo: str) -> int:
        with self.hub._lock:
            r = self._repo(repo)
            branches = [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": o} for n, o in sorted(r.branches.items())]
            tags = [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": o} for n, o in sorted(r.tags.items())]
        return self._json({"branches": branches, "converts": [], "tags": tags})

    def route_commits(self, repo: str, rev: str) -> int:
        with self.hub._lock:
            r = self._repo(repo)
            commit, out = self._commit_at(r, rev), []
            while commit is not None:
                out.append({"id": commit.oid, "title": commit.title, "message": commit.message,
                            "authors": [{"user": commit.author}], "date": iso_date(commit.date)})
                commit = r.commits.get(commit.parent) if commit.parent else None
        return self._json(out)

    def route_create_tag(self, repo: str, rev: str) -> int:
        payload = self._body_json()
        with self.hub._lock:
            r = self._repo(repo, write=True)
            commit = self._commit_at(r, rev)
            tag = payload.get("tag", "")
            if not re.fullmatch(r"[\w.\-]+", tag):
                raise HttpError(400, f"invalid tag name {tag!r}")
            if tag in r.tags:
                raise HttpError(409, f"Tag {tag} already exists")
            r.tags[tag] = commit.oid
        return self._json({"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": commit.oid})

    def route_resolve(self, repo: str, rev: str, path: str) -> int:
        with self.hub._lock:
            r = self._repo(repo)
            commit = self._commit_at(r, rev)
            blob = commit.files.get(path)
            if blob is None:
                raise HttpError(404, f"Entry not found: {path}", "EntryNotFound")
            data = self.hub.corrupted.get((repo, path), blob.data)
        headers = {"ETag": f'"{blob.etag}"', "X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes"}
        if blob.lfs:
            headers.update({"X-Linked-Size": str(len(blob.data)), "X-Linked-Etag": f'"{blob.sha256}"'})
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match and data:
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
            if start > end:
                headers["Content-Range"] = f"bytes */{len(data)}"
                return self._send(416, b"", "text/plain", headers)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start:end + 1], "application/octet-stream", headers)
        return self._send(200, data, "application/octet-stream", headers)


if pytest is not None:
    @pytest.fixture
    def hub_server(monkeypatch, tmp_path_factory):
        """A fresh HubServer; huggingface_hub in this process points at it (no Xet, no saved login, not offline)."""
        from huggingface_hub import constants

        with HubServer() as server:
            monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
            monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
            for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_OIDC_RESOURCE"):
                monkeypatch.delenv(name, raising=False)
            no_login = tmp_path_factory.mktemp("hf_home")
            monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
            monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
            monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(no_login / "token"))
            monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(no_login / "stored_tokens"))
            yield server


if __name__ == "__main__":
    with HubServer() as hub:
        print(f"hubserver at {hub.endpoint}; write token for {hub.user!r}: {hub.token}", flush=True)
        print("clients: export " + " ".join(f"{k}={quote(v)}" for k, v in hub.client_env().items()), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
