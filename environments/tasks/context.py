"""What a task's setup steps and getters run against: the machine, the task's folders, the caches."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from environments.settings import CACHE, text_from_env
from environments.tasks.machine import Machine

DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_TIMEOUT = 300.0


class OfflineError(RuntimeError):
    """A file must be fetched but offline mode is on and the cache does not hold it."""


def default_download_cache() -> Path:
    """$KIMI_AGENT_CACHE, else ~/.cache/kimi-agent/downloads: shared by every task and run."""
    root = text_from_env(CACHE)
    return Path(root) if root else Path.home() / ".cache" / "kimi-agent" / "downloads"


@dataclass
class TaskContext:
    """`cache_dir` is this run's scratch folder (command outputs, files copied off the machine);
    `downloads` is the host cache of fetched URLs, kept across runs and checked by SHA-256."""

    machine: Machine
    cache_dir: Path
    downloads: Path
    task_dir: Path | None = None
    offline: bool = False

    def __post_init__(self) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.downloads.mkdir(parents=True, exist_ok=True)

    def resolve_local(self, path: str) -> Path:
        """A host path from a task file; relative paths are relative to the task file's folder."""
        local = Path(path).expanduser()
        if not local.is_absolute() and self.task_dir is not None:
            local = self.task_dir / local
        return local

    def fetch(self, url: str, name: str) -> Path:
        """A local copy of `url`: http(s) is downloaded once into the host cache and verified on
        every reuse; `file://` and paths (relative to the task file) are read where they are.

        The cache key is OSWorld's (uuid5 of the URL, then the file name); a sidecar `.sha256`
        guards against a truncated or altered entry, which is fetched again (or refused offline).
        """
        scheme = urlsplit(url).scheme
        if scheme in ("file", ""):
            source = Path(unquote(urlsplit(url).path)) if scheme == "file" else self.resolve_local(url)
            if not source.is_file():
                raise FileNotFoundError(f"{url}: no such file")
            return source
        if scheme not in ("http", "https"):
            raise ValueError(f"{url}: only http(s), file:// and paths can be downloaded")
        cached = self.downloads / f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}_{Path(name).name}"
        checksum = cached.with_name(cached.name + ".sha256")
        if cached.exists() and checksum.exists() and _sha256(cached) == checksum.read_text().strip():
            return cached
        if self.offline:
            raise OfflineError(f"offline: {url} is not in the download cache {self.downloads}")
        partial = cached.with_name(cached.name + f".part{os.getpid()}")
        try:
            self._download(url, partial)
            checksum.write_text(_sha256(partial) + "\n")
            os.replace(partial, cached)
        finally:
            partial.unlink(missing_ok=True)
        return cached

    def _download(self, url: str, target: Path) -> None:
        last: Exception | None = None
        for _ in range(DOWNLOAD_ATTEMPTS):
            try:
                with httpx.stream("GET", url, follow_redirects=True, timeout=DOWNLOAD_TIMEOUT) as response:
                    response.raise_for_status()
                    with target.open("wb") as out:
                        for chunk in response.iter_bytes(1 << 16):
                            out.write(chunk)
                return
            except httpx.HTTPError as err:
                last = err
        raise ConnectionError(f"could not download {url} after {DOWNLOAD_ATTEMPTS} attempts: {last}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
