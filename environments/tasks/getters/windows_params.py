"""Parameter models of WindowsAgentArena's getters, shaped as its task files write them.

Where WAA's getter reads a field with `config[...]`, the field is required (WAA raises without it);
where it tests a field's truthiness first, any JSON value is kept so the test sees what WAA's sees.
"""

from __future__ import annotations

from pydantic import JsonValue

from environments.tasks.parameters import Params


class FolderNameParams(Params):
    """`vm_folder_exists_in_documents`: a folder of the user's Documents."""

    folder_name: str


class FileNameParams(Params):
    """`vm_file_exists_in_desktop`: a file on the user's Desktop."""

    file_name: str


class DesktopFileParams(Params):
    """`is_file_desktop`: a file on the Desktop, by `filename`."""

    filename: str


class SavedTextParams(Params):
    """`is_file_saved_desktop`: a text file on the Desktop that must contain `textcontent`."""

    filename: str
    textcontent: str


class DirectoryCheckParams(Params):
    """`are_files_sorted_by_modified_time`: WAA answers False for an empty `directory`."""

    directory: JsonValue


class FolderPathParams(Params):
    """`is_details_view`, `is_all_docx_in_archive`: WAA answers False / "false" for an empty `folder_path`."""

    folder_path: JsonValue


class PngNamesParams(Params):
    """`all_png_file_names`: the text file listing `folder_path`'s PNG files."""

    file_path: str
    folder_path: str


class ArchiveParams(Params):
    """`zipped_folder_in_desktop`: a 7-Zip archive by its full path, and its password."""

    filename: str
    password: JsonValue


class HiddenFileParams(Params):
    """`is_file_hidden`: without `file_path`, WAA answers "false"."""

    file_path: JsonValue = None


class MovedFileParams(Params):
    """`is_files_moved_downloads`: `file_name` inside folder `folder_name` of OldDownloads."""

    file_name: str
    folder_name: str


class ReadOnlyParams(Params):
    """`is_directory_read_only_for_user`: WAA raises for an empty `directory` or `user`."""

    directory: JsonValue
    user: JsonValue


class TaggedImagesParams(Params):
    """`are_all_images_tagged`: WAA raises for an empty `directory` or `tag`."""

    directory: JsonValue
    tag: JsonValue


class LibraryParams(Params):
    """`vm_library_folders`: a Windows library by name."""

    library_name: str


class FileInFolderParams(Params):
    """`vm_file_exists_in_vm_folder`: WAA answers 0.0 when either is empty."""

    folder_name: JsonValue
    file_name: JsonValue


class ImagePathParams(Params):
    """`is_red_circle_present_on_canvas`: an image on the VM."""

    filepath: JsonValue


class ImageSizeParams(Params):
    """`image_dimension_matches_input`: an image on the VM and the size it must have (numbers or text)."""

    filepath: JsonValue
    width: JsonValue
    height: JsonValue


class TimerParams(Params):
    """`check_if_timer_started`: the timer's length, sent to WAA's server as written."""

    hours: JsonValue
    minutes: JsonValue
    seconds: JsonValue


class WorldClockParams(Params):
    """`check_if_world_clock_exists`."""

    city: JsonValue
    country: JsonValue


class EdgeCookieParams(Params):
    """`cookie_data_for_edge`: where in the cache the Cookies database goes; `user_data_dir` reads
    another profile folder (environment variables expanded on the VM)."""

    dest: str
    user_data_dir: str | None = None
