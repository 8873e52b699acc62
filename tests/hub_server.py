"""A small in-memory server that speaks the subset of the Hugging Face Hub HTTP protocol that `textgan.hub` uses.

The real `huggingface_hub` client is pointed at it with `HF_ENDPOINT`; nothing in the client is patched. Endpoints:

    POST /api/repos/create                                create a model repo (409 if it exists)
    POST /api/validate-yaml                               README metadata check (always fine here)
    POST /api/models/{repo}/preupload/{rev}               answers "regular" for every file: no LFS, no Xet
    POST /api/models/{repo}/commit/{rev}                  NDJSON commit: header, file (base64), deletedFile/Folder
    GET  /api/models/{repo}[/revision/{rev}]              revision info: sha, private, siblings (with sizes)
    GET  /api/models/{repo}/tree/{rev}[/{path}]           tree listing (?recursive=true)
    HEAD|GET /{repo}/resolve/{rev}/{path}                 file download with ETag, X-Repo-Commit, Content-Length
    GET  /api/whoami-v2                                   the token's user
    GET  /api/datasets/{repo}[/revision/{rev}], /api/datasets/{repo}/tree/..., HEAD|GET /datasets/{repo}/resolve/...
                                                          the same for dataset repos (read-only: `seed` them)

Auth mirrors the Hub: an unknown bearer token is a 401 "Invalid credentials in Authorization header" everywhere; a
missing or private repo the caller cannot see is 401 (anonymous) or 404 (authenticated) with X-Error-Code RepoNotFound;
writing to another user's namespace is 403. Every commit gets a fresh 40-hex sha, also across `reset()`, so the
client's cache never confuses two test repos of the same name.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

VALID_TOKENS = {"hf_textgan_alice_token": "alice", "hf_textgan_bob_token": "bob"}
_SHA_COUNTER = itertools.count()


def git_blob_sha(data: bytes) -> str:
    """The git object id of a blob: what the Hub reports as `oid` and ETag of a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    repo_id: str
    owner: str
    private: bool = False
    commits: list[tuple[str, dict[str, bytes]]] = field(default_factory=list)  # (sha, files), oldest first

    def resolve(self, rev: str) -> tuple[str, dict[str, bytes]] | None:
        if rev == "main":
            return self.commits[-1]
        return next((c for c in self.commits if c[0] == rev), None)

    def commit(self, files: dict[str, bytes], summary: str) -> str:
        sha = hashlib.sha1(f"{self.repo_id}|{summary}|{next(_SHA_COUNTER)}".encode()).hexdigest()
        self.commits.append((sha, files))
        return sha


class HubState:
    def __init__(self):
        self.lock = threading.Lock()
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path): lets a test assert what the client asked for

    def create(self, repo_id: str, owner: str, private: bool = False) -> Repo:
        repo = Repo(repo_id, owner, private)
        repo.commit({".gitattributes": b""}, "initial commit")  # the Hub starts every repo with one commit
        self.repos[repo_id] = repo
        return repo

    def seed(self, repo_id: str, files: dict[str, bytes], *, private: bool = False, owner: str = "alice",
             repo_type: str = "model") -> str:
        """Put a repo straight into the server (e.g. a hostile one the client would never push); returns the sha.
        Dataset repos live under the key `datasets/OWNER/NAME`, beside model repos of the same name."""
        if repo_type == "dataset":
            repo_id = f"datasets/{repo_id}"
        with self.lock:
            repo = self.repos.get(repo_id) or self.create(repo_id, owner, private)
            return repo.commit({**repo.commits[-1][1], **files}, "seed")


class HubServer:
    """`HubServer(port).start()` serves in a daemon thread; `.url` is what HF_ENDPOINT should be."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.state = HubState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hub-server", daemon=True)

    def start(self) -> "HubServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self.state.lock:
            self.state.repos.clear()
            self.state.requests.clear()

    def seed(self, repo_id: str, files: dict[str, bytes], **kw) -> str:
        return self.state.seed(repo_id, files, **kw)


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


_REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
_ROUTES = [  # (method, regex, handler name); the first match wins
    ("POST", r"/api/repos/create", "create_repo"),
    ("POST", r"/api/validate-yaml", "validate_yaml"),
    ("POST", rf"/api/models/{_REPO}/preupload/(?P<rev>[^/]+)", "preupload"),
    ("POST", rf"/api/models/{_REPO}/commit/(?P<rev>[^/]+)", "commit"),
    ("GET", rf"/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree"),
    ("GET", rf"/api/models/{_REPO}(?:/revision/(?P<rev>[^/]+))?", "info"),
    ("GET", r"/api/whoami-v2", "whoami"),
    ("GET", rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
    ("HEAD", rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
    # dataset repos: the same handlers on the key datasets/OWNER/NAME (see _dispatch)
    ("GET", rf"/api/datasets/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "dataset:tree"),
    ("GET", rf"/api/datasets/{_REPO}(?:/revision/(?P<rev>[^/]+))?", "dataset:info"),
    ("GET", rf"/datasets/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "dataset:resolve"),
    ("HEAD", rf"/datasets/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "dataset:resolve"),
]


class _Handler(BaseHTTPRequestHandler):
    state: HubState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    # ---------------------------------------------------------------- plumbing

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path, self.query = unquote(url.path), parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        with self.state.lock:
            self.state.requests.append((method, path))
        try:
            self.user = self._authenticate()
            for m, pattern, name in _ROUTES:
                match = re.fullmatch(pattern, path)
                if m == method and match:
                    kwargs = match.groupdict()
                    if name.startswith("dataset:"):
                        name, kwargs["repo"] = name.removeprefix("dataset:"), f"datasets/{kwargs['repo']}"
                    with self.state.lock:
                        status, payload, headers = getattr(self, name)(**kwargs)
                    return self._send(status, payload, headers, method)
            raise _HTTPError(404, f"no route for {method} {path}")
        except _HTTPError as e:
            headers = {"X-Error-Message": e.message, **e.headers}
            if e.code:
                headers["X-Error-Code"] = e.code
            self._send(e.status, {"error": e.message}, headers, method)

    def _send(self, status: int, payload, headers: dict, method: str) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        if not isinstance(payload, bytes):
            self.send_header("Content-Type", "application/json")
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _authenticate(self) -> str | None:
        auth = self.headers.get("Authorization")
        if auth is None:
            return None
        token = auth.removeprefix("Bearer ").strip()
        if token not in VALID_TOKENS:
            raise _HTTPError(401, "Invalid credentials in Authorization header")
        return VALID_TOKENS[token]

    def _repo(self, repo_id: str, *, write: bool = False) -> Repo:
        repo = self.state.repos.get(repo_id)
        if repo is None or (repo.private and self.user != repo.owner):
            status = 404 if self.user else 401
            raise _HTTPError(status, "Repository not found", code="RepoNotFound")
        if write and self.user != repo.owner:
            raise _HTTPError(403, f"You don't have the rights to write to {repo_id}")
        return repo

    def _revision(self, repo: Repo, rev: str) -> tuple[str, dict[str, bytes]]:
        found = repo.resolve(unquote(rev))
        if found is None:
            raise _HTTPError(404, f"Invalid rev id: {rev}", code="RevisionNotFound")
        return found

    # ---------------------------------------------------------------- endpoints

    def create_repo(self):
        if self.user is None:
            raise _HTTPError(401, "You must be authenticated to create a repo")
        payload = json.loads(self.body)
        namespace = payload.get("organization") or self.user
        if namespace != self.user:
            raise _HTTPError(403, f"You don't have the rights to create a model under the namespace {namespace}")
        repo_id = f"{namespace}/{payload['name']}"
        if repo_id in self.state.repos:  # the client reads "url" from this 409 when exist_ok=True
            msg = "You already created this model repo"
            return 409, {"error": msg, "url": f"{self._base()}/{repo_id}"}, {"X-Error-Message": msg}
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        self.state.create(repo_id, self.user, private)
        return 200, {"url": f"{self._base()}/{repo_id}", "name": repo_id}, {}

    def validate_yaml(self):
        return 200, {"errors": [], "warnings": []}, {}

    def preupload(self, repo, rev):
        self._revision(self._repo(repo, write=True), rev)
        files = json.loads(self.body)["files"]
        return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}, {}

    def commit(self, repo, rev):
        r = self._repo(repo, write=True)
        _, files = self._revision(r, rev)
        files, summary = dict(files), ""
        for line in self.body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                summary = value["summary"]
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: b for p, b in files.items() if not p.startswith(prefix)}
            else:  # lfsFile would need an LFS/Xet store; preupload never asks the client for one
                raise _HTTPError(400, f"unsupported commit operation {key!r}")
        sha = r.commit(files, summary)
        url = f"{self._base()}/{repo}/commit/{sha}"
        return 200, {"commitUrl": url, "commitOid": sha, "pullRequestUrl": None, "success": True}, {}

    def info(self, repo, rev=None):
        r = self._repo(repo)
        sha, files = self._revision(r, rev or "main")
        siblings = [{"rfilename": p, "size": len(b), "blobId": git_blob_sha(b)} for p, b in sorted(files.items())]
        repo = repo.removeprefix("datasets/")
        return 200, {"id": repo, "modelId": repo, "author": r.owner, "sha": sha, "private": r.private,
                     "tags": [], "siblings": siblings}, {}

    def tree(self, repo, rev, path=None):
        sha, files = self._revision(self._repo(repo), rev)
        prefix = (path.strip("/") + "/") if path else ""
        recursive = self.query.get("recursive", ["false"])[0].lower() == "true"
        entries: dict[str, dict] = {}
        for p, data in sorted(files.items()):
            if not p.startswith(prefix):
                continue
            parts = p[len(prefix):].split("/")
            for i in range(1, len(parts)):  # the folders on the way
                folder = prefix + "/".join(parts[:i])
                entries.setdefault(folder, {"type": "directory", "path": folder, "oid": sha})
                if not recursive:
                    break
            if recursive or len(parts) == 1:
                entries[p] = {"type": "file", "path": p, "size": len(data), "oid": git_blob_sha(data)}
        if path and not entries:
            raise _HTTPError(404, f"{path} not found", code="EntryNotFound")
        return 200, list(entries.values()), {}

    def whoami(self):
        if self.user is None:
            raise _HTTPError(401, "Invalid credentials in Authorization header")
        return 200, {"type": "user", "name": self.user, "fullname": self.user.title(), "avatarUrl": "",
                     "auth": {"accessToken": {"role": "write"}}}, {}

    def resolve(self, repo, rev, path):
        sha, files = self._revision(self._repo(repo), rev)
        if path not in files:
            raise _HTTPError(404, "Entry not found", code="EntryNotFound", headers={"X-Repo-Commit": sha})
        data = files[path]
        headers = {"ETag": f'"{git_blob_sha(data)}"', "X-Repo-Commit": sha}
        start = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if start and int(start[1]) > 0:  # resume of an interrupted download
            offset = int(start[1])
            headers["Content-Range"] = f"bytes {offset}-{len(data) - 1}/{len(data)}"
            return 206, data[offset:], headers
        return 200, data, headers

    def _base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"
