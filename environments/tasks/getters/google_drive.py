"""Google Drive, as OSWorld's `googledrive` setup step and `googledrive_file` getter use it.

Both need an account: a PyDrive settings file (OSWorld's `settings/googledrive/settings.yml`,
with the OAuth client and saved credentials it names), found beside the task files. Without it,
or without the `pydrive2` package, they fail with a message saying what to provide.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx

from environments.tasks.context import TaskContext
from environments.tasks.getters.desktop import in_cache
from environments.tasks.getters.params import DriveParams
from environments.tasks.registry import getter

FOLDER = "application/vnd.google-apps.folder"


class AccountError(RuntimeError):
    """A task needs an account (Google Drive, a sign-in) that is not configured here."""


def settings_path(context: TaskContext, name: str) -> Path:
    """A settings file a task names relative to OSWorld's repository (`evaluation_examples/settings/…`),
    looked for beside the task files: in the folders above the task's, with and without that prefix."""
    relative = Path(name)
    short = Path(*relative.parts[1:]) if relative.parts[:1] == ("evaluation_examples",) else relative
    folders = list(context.task_dir.resolve().parents) if context.task_dir else []
    candidates = [relative] if relative.is_absolute() else [
        folder / option for folder in [*(x for x in [context.task_dir] if x), *folders, Path.cwd()]
        for option in (relative, short)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise AccountError(f"{name}: account settings not found (looked beside the task files and in the "
                       "current folder); put OSWorld's settings/ folder, with your own credentials, "
                       "beside examples/")


def drive(context: TaskContext, settings_file: str) -> Any:
    """A signed-in PyDrive2 `GoogleDrive`."""
    path = settings_path(context, settings_file)
    try:
        from pydrive2.auth import GoogleAuth
        from pydrive2.drive import GoogleDrive
    except ImportError:
        raise AccountError("Google Drive tasks need PyDrive2: pip install 'kimi-desktop-agent[osworld]'") \
            from None
    return GoogleDrive(GoogleAuth(settings_file=str(path)))


def path_query(path: list[str]) -> list[str]:
    """The per-level queries that find `folder/…/name` from the root (OSWorld's `path` form)."""
    return [f"title = '{part}' and mimeType = '{FOLDER}' and trashed = false" if i < len(path) - 1
            else f"title = '{part}' and trashed = false" for i, part in enumerate(path)]


def download(client: Any, queries: list[str], target: Path) -> str | None:
    """Follow the queries level by level from the root (first match each time) and download the last;
    None when a level finds nothing or the download fails, as OSWorld's getter does."""
    parent, found = "root", None
    for query in queries:
        matches = client.ListFile({"q": f'( {query} ) and "{parent}" in parents'}).GetList()
        if not matches:
            return None
        found = matches[0]
        parent = found["id"]
    if found is None:
        return None
    from pydrive2.files import ApiRequestError, FileNotDownloadableError

    try:
        found.GetContentFile(str(target), mimetype=found["mimeType"])
    except (ApiRequestError, FileNotDownloadableError, OSError):  # OSWorld gives None for a failed download
        return None
    return str(target)


def make_folders(client: Any, path: list[str]) -> str:
    """The id of folder `path`, created level by level where missing."""
    parent = "root"
    for name in path:
        query = f'"{parent}" in parents and title = "{name}" and mimeType = "{FOLDER}" and trashed = false'
        matches = client.ListFile({"q": query}).GetList()
        if matches:
            parent = matches[0]["id"]
            continue
        folder = client.CreateFile({"title": name, "mimeType": FOLDER,
                                    **({} if parent == "root" else {"parents": [{"id": parent}]})})
        folder.Upload()
        parent = folder["id"]
    return parent


def delete(client: Any, query: str, trash: bool) -> None:
    """Delete (or trash) the files, then the folders, matching `query` (everything when empty)."""
    for kind in ("!=", "="):
        condition = f"mimeType {kind} '{FOLDER}'"
        search = f"( {query} ) and {condition}" if query.strip() else condition
        for item in client.ListFile({"q": search}).GetList():
            item.Trash() if trash else item.Delete()


def upload(client: Any, url: str, path: list[str]) -> None:
    """Put the file at `url` into Drive at `path` (folders created as needed)."""
    parent = make_folders(client, path[:-1])
    with tempfile.NamedTemporaryFile(suffix=Path(path[-1]).suffix) as data:
        with httpx.stream("GET", url, follow_redirects=True, timeout=300) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes(1 << 16):
                data.write(chunk)
        data.flush()
        parents = {} if parent == "root" else {"parents": [{"id": parent}]}
        item = client.CreateFile({"title": path[-1], **parents})
        item.SetContentFile(data.name)
        item.Upload()


@getter("googledrive_file", DriveParams)
def get_googledrive_file(context: TaskContext, params: DriveParams) -> str | None | list[str | None]:
    """File(s) downloaded from Google Drive by query or path; None for each one not found."""
    client = drive(context, params.settings_file)
    dests = params.dest if isinstance(params.dest, list) else [params.dest]
    if params.query is not None:
        return download(client, params.query, in_cache(context, dests[0]))
    if params.path is not None:
        return download(client, path_query(params.path), in_cache(context, dests[0]))
    lists = params.query_list
    if lists is None:
        lists = [path_query(p) for p in params.path_list or []]
    if len(lists) != len(dests):
        raise ValueError("googledrive_file: give one dest per query or path")
    return [download(client, queries, in_cache(context, dest)) for queries, dest in zip(lists, dests)]
