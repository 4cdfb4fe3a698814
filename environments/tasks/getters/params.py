"""Parameter models of this package's app getters, shaped as OSWorld's task files write them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, JsonValue

from environments.tasks.parameters import Params, Truthy


class DestParams(Params):
    """A getter that saves what it reads under `dest` in the task's cache."""

    dest: str


class NamedConfigParams(Params):
    """`gimp_config_file`: a file of GIMP's configuration folder."""

    file_name: str
    dest: str


class WindowSizeParams(Params):
    app_class_name: str


class DirectoryParams(Params):
    path: str


class VmFileContentParams(Params):
    """`content_from_vm_file`: what to read out of a file on the machine (OSWorld knows xlsx/last_row)."""

    path: str
    file_type: str
    file_content: str


class SlideMediaParams(Params):
    """`audio_in_slide`, `background_image_in_slide`: a medium of slide `slide_index` (from 0)."""

    ppt_file_path: str
    slide_index: Annotated[int, BeforeValidator(int)]
    dest: str


class VscodeConfigParams(Params):
    """`vscode_config`: run a VS Code command from its palette, then read the file it writes."""

    vscode_extension_command: str
    path: str
    dest: str


class HtmlParseParams(Params):
    """`active_tab_html_parse`: which elements of the active tab to read, by `category`."""

    category: str
    class_singleObject: dict[str, str] = Field(default_factory=dict)
    class_multiObject: dict[str, JsonValue] = Field(default_factory=dict)
    class_multiObject_child: dict[str, dict[str, str]] = Field(default_factory=dict)
    class_multiObject_only_child: dict[str, dict[str, str]] = Field(default_factory=dict)
    class_multiObject_search_exist: dict[str, list[str]] = Field(default_factory=dict)
    class_multiObject_li: dict[str, list[str]] = Field(default_factory=dict)
    labelObject: dict[str, str] = Field(default_factory=dict)
    xpathObject: dict[str, str] = Field(default_factory=dict)
    inputObject: dict[str, str] = Field(default_factory=dict)
    url_include_expected: list[str] = Field(default_factory=list)
    url_include_expected_multichoice: dict[str, str] = Field(default_factory=dict)


class UrlDashPartParams(Params):
    partIndex: int
    returnType: str
    needDeleteId: Truthy = False
    key: str = ""


class UrlPathParseParams(Params):
    parse_keys: list[str]


class PageParams(Params):
    """`page_info`: a page to open in a new tab."""

    url: str


class PdfFromUrlParams(Params):
    """`pdf_from_url`: a page printed to PDF into the cache."""

    path: str
    dest: str


class WebsiteInfo(Params):
    action: str = "inner_text"
    selector: str | list[str]
    attribute: str | None = None


class WebsiteInfoParams(Params):
    """`info_from_website`: values read off a live page; `backups` when that fails."""

    url: str
    infos: list[WebsiteInfo] = Field(default_factory=list)
    backups: JsonValue = None


class RecreationPageParams(Params):
    """`gotoRecreationPage_and_get_html_content`: a recreation.gov search result's element text."""

    selector: str
    class_: str | None = Field(default=None, alias="class")
    order: Annotated[int, BeforeValidator(int)] = 0


class DriveParams(Params):
    """`googledrive_file`: file(s) on Google Drive by `query`/`path` (or their `_list` forms)."""

    settings_file: str = "evaluation_examples/settings/googledrive/settings.yml"
    query: list[str] | None = None
    path: list[str] | None = None
    query_list: list[list[str]] | None = None
    path_list: list[list[str]] | None = None
    dest: str | list[str]


class TimeDiffParams(Params):
    """`time_diff_range`: the task's allowed difference, passed on to the metric as written."""

    diff_range_in_minutes: JsonValue = None
