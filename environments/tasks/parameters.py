"""Parameter models of OSWorld's setup steps and getters, shaped as its real task files write them.

Unknown fields are ignored, as OSWorld's harness ignores them (`goto_prefix` for getters that read
the full URL, WindowsAgentArena's `time_suffix`). Flags keep the harness's truthiness: it passes
"true" strings (9 `shell`, 3 `multi` in OSWorld's files) straight to `if value:`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, model_validator

Truthy = Annotated[bool, BeforeValidator(bool)]
"""A flag read as the harness reads it: any JSON value, by its truthiness."""
Command = str | list[str]


def _command_present(command: Command) -> Command:
    if not command:
        raise ValueError("empty command")
    return command


RunCommand = Annotated[Command, AfterValidator(_command_present)]
"""A command a setup step runs; OSWorld's harness refuses an empty one."""


class Params(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class NoParams(Params):
    """A setup step or getter that takes no parameters."""


class NoOptions(Params):
    """A metric that takes no options (OSWorld's tasks pass `{}` or nothing)."""


# --- setup steps ---

class Until(Params):
    """`execute`'s stop condition: any given field that matches ends the repetition."""

    returncode: int | None = None
    stdout: str | None = None
    stderr: str | None = None


class ExecuteParams(Params):
    command: RunCommand
    shell: Truthy = False
    stdout: str | None = None
    """A file name in the task's cache to save the standard output in."""
    stderr: str | None = None
    until: Annotated[Until | None, BeforeValidator(lambda v: v or None)] = None
    """Repeat until this holds; absent, empty or null means run once (`params.get("until") or {}`)."""


class LaunchParams(Params):
    command: RunCommand
    shell: Truthy = False


class PathParams(Params):
    """`open`, and WindowsAgentArena's `create_folder` and `recycle_file`."""

    path: str


class DownloadFile(Params):
    url: str = ""
    path: str = ""

    @model_validator(mode="after")
    def _both(self) -> DownloadFile:
        if not self.url or not self.path:
            raise ValueError(f"download needs url and path, got url={self.url!r}, path={self.path!r}")
        return self


class DownloadParams(Params):
    files: list[DownloadFile]


class UploadFile(Params):
    local_path: str
    """A host path, relative to the task file's folder."""
    path: str


class UploadParams(Params):
    files: list[UploadFile]


class SleepParams(Params):
    seconds: float


class WindowParams(Params):
    """`activate_window` and `close_window`."""

    window_name: str
    strict: Truthy = False
    by_class: Truthy = False


class OpenTabsParams(Params):
    urls_to_open: list[str]


class CloseTabsParams(Params):
    urls_to_close: list[str]


# --- getters ---

class RuleParams(Params):
    """`rule`: the expected value written in the task, any JSON."""

    rules: JsonValue


class RelativeTime(Params):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)
    start: str = Field(alias="from")
    end: str | None = Field(default=None, alias="to")


class RelativeTimeRules(BaseModel):
    """`rule_relativeTime`'s rules; other keys (`expect_in_result`, …) are kept for the metric."""

    model_config = ConfigDict(extra="allow", frozen=True)
    relativeTime: RelativeTime
    expected: dict[str, JsonValue]
    timezone: str | None = None


class RelativeTimeParams(Params):
    rules: RelativeTimeRules


class FilesParams(Params):
    """`vm_file` and `cloud_file`: one `path`/`dest`, or with `multi` lists of them; `gives` picks
    which of them reach the metric (by position)."""

    path: Command
    dest: Command
    multi: Truthy = False
    gives: list[int] = Field(default_factory=lambda: [0])

    @model_validator(mode="after")
    def _lists_with_multi(self) -> FilesParams:
        if self.multi != (isinstance(self.path, list) and isinstance(self.dest, list)):
            raise ValueError("path and dest are lists exactly when multi is true")
        return self

    def pairs(self) -> list[tuple[str, str]]:
        paths = self.path if isinstance(self.path, list) else [self.path]
        dests = self.dest if isinstance(self.dest, list) else [self.dest]
        return list(zip(paths, dests))


class CacheFileParams(Params):
    path: str


class CommandParams(Params):
    """`vm_command_line` and `vm_command_error`."""

    command: Command
    shell: Truthy = False


class UrlParseParams(Params):
    """`active_tab_url_parse`: query keys to read, renamed by `replace`, split on commas with `split_list`."""

    parse_keys: list[str]
    replace: Annotated[dict[str, str], BeforeValidator(lambda v: v or {})] = Field(default_factory=dict)
    split_list: Truthy = False


class DriveOperationArgs(BaseModel):
    """One `googledrive` operation's arguments: `query`/`trash` (delete), `path` (mkdirs, upload), `url`."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    query: str = ""
    trash: Truthy = False
    path: str | list[str] | None = None
    url: str | None = None


class GoogleDriveParams(Params):
    """`googledrive`: clean or fill a Google Drive account before a task (PyDrive settings file)."""

    settings_file: str = "evaluation_examples/settings/googledrive/settings.yml"
    operation: list[str]
    args: list[DriveOperationArgs]


class LoginParams(Params):
    """`login`: sign the task's browser in to `platform` with the account in `settings_file` (JSON)."""

    settings_file: str
    platform: str


class HistoryItem(Params):
    url: str
    title: str
    visit_time_from_now_in_seconds: float


class BrowseHistoryParams(Params):
    """`update_browse_history`: Chrome's History replaced by OSWorld's empty one holding these visits."""

    history: list[HistoryItem]
