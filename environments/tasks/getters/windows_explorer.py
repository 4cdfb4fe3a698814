"""WindowsAgentArena's File Explorer getters (its getters/fileexplorer.py and file.py), with its values:
most answer the text "true"/"false" or a bool, which its tasks compare with `exact_match`.

Paths WAA's harness builds itself are joined the way its Linux host joins them (`posixpath`), so the
VM gets the same, sometimes mixed-separator, path; Windows accepts both separators.
"""

from __future__ import annotations

import ast
import io
import json
import lzma
import posixpath
import tempfile
from pathlib import Path

from pydantic import JsonValue

from environments.tasks.context import TaskContext
from environments.tasks.getters.windows_controller import WaaGetterError, controller, output_of
from environments.tasks.getters.windows_params import (
    ArchiveParams, DesktopFileParams, DirectoryCheckParams, FileInFolderParams, FileNameParams,
    FolderNameParams, FolderPathParams, HiddenFileParams, LibraryParams, MovedFileParams, PngNamesParams,
    ReadOnlyParams, SavedTextParams, TaggedImagesParams,
)
from environments.tasks.parameters import NoParams
from environments.tasks.registry import getter

DOWNLOADS = "C:\\Users\\Docker\\Downloads"
OLD_DOWNLOADS = "C:\\Users\\Docker\\OldDownloads"
"""The two folders `is_files_moved_downloads` compares (WAA's VM user is Docker)."""
ARCHIVED_FILE = "OldProjects/example.txt"
"""The file `zipped_folder_in_desktop` looks for in the archive (the task's own, fixed in WAA's getter)."""


def _desktop_file(desktop: str | None, name: str) -> str:
    """WAA's `desktop_path + '\\' + name`, which raises when the server gave no Desktop path."""
    if desktop is None:
        raise WaaGetterError("the VM server gave no Desktop path")
    return desktop + "\\" + name


@getter("vm_folder_exists_in_documents", FolderNameParams)
def get_vm_folder_exists_in_documents(context: TaskContext, params: FolderNameParams) -> bool:
    vm = controller(context, "vm_folder_exists_in_documents")
    return vm.folder_exists(params.folder_name, vm.documents_path())


@getter("vm_file_exists_in_desktop", FileNameParams)
def get_vm_file_exists_in_desktop(context: TaskContext, params: FileNameParams) -> bool:
    vm = controller(context, "vm_file_exists_in_desktop")
    return vm.file_exists(params.file_name, vm.desktop_path())


@getter("are_files_sorted_by_modified_time", DirectoryCheckParams)
def get_are_files_sorted_by_modified_time(context: TaskContext, params: DirectoryCheckParams) -> bool:
    """Whether File Explorer lists `directory` by modification time (WAA's server reads the window)."""
    vm = controller(context, "are_files_sorted_by_modified_time")
    if not params.directory:
        return False
    return vm.are_files_sorted_by_modified_time(params.directory)  # type: ignore[arg-type]


@getter("is_details_view", FolderPathParams)
def get_is_details_view(context: TaskContext, params: FolderPathParams) -> bool:
    vm = controller(context, "is_details_view")
    if not params.folder_path:
        return False
    return vm.is_details_view(params.folder_path)  # type: ignore[arg-type]


@getter("is_file_saved_desktop", SavedTextParams)
def get_is_file_saved_desktop(context: TaskContext, params: SavedTextParams) -> str:
    """"true" when the Desktop's `filename` holds `textcontent`."""
    vm = controller(context, "is_file_saved_desktop")
    text = vm.file_text(_desktop_file(vm.desktop_path(), params.filename))
    return "true" if text is not None and params.textcontent in text else "false"


@getter("is_file_desktop", DesktopFileParams)
def get_is_file_desktop(context: TaskContext, params: DesktopFileParams) -> str:
    vm = controller(context, "is_file_desktop")
    return "true" if vm.file(_desktop_file(vm.desktop_path(), params.filename)) is not None else "false"


def _png_names_script(file_path: str, folder_path: str) -> str:
    """WAA's script: compare the lines of `file_path` with the PNG files of `folder_path`, printing
    both sets and the verdict (or that the text file is missing)."""
    return f"""
import os
from sys import exit
def read_file(file_path):
    with open(file_path, 'r') as f:
        return set(f.read().splitlines())
def get_png_files(folder_path):
    return set([f for f in os.listdir(folder_path) if f.lower().endswith('.png')])

if not os.path.exists('{file_path}'):
    print("File {file_path} does not exist")
    exit()

file_content = read_file(r'{file_path}')
png_files = get_png_files(r'{folder_path}')
print("File content:", repr(list(file_content)))
print("PNG files:", repr(list(png_files)))
print("Result:", "true" if file_content == png_files else "false")
"""


@getter("all_png_file_names", PngNamesParams)
def get_all_png_file_names(context: TaskContext, params: PngNamesParams) -> str:
    """The script's verdict, "true" or "false"; "false" when the script fails or the text file is missing.

    WAA `eval`s the two printed lists (for its log); they are parsed as literals here, which raises
    where WAA's `eval` would for anything the script can print."""
    vm = controller(context, "all_png_file_names")
    answer = vm.python(_png_names_script(params.file_path, params.folder_path))
    if answer is None:
        raise WaaGetterError("all_png_file_names: the VM's answer to the script was not JSON")
    if answer.status != "success":
        return "false"
    lines = answer.text("all_png_file_names").strip().split("\n")
    if lines[0] == f"File {params.file_path} does not exist":
        return "false"
    try:
        for line in lines[:2]:
            ast.literal_eval(line.split(":", 1)[1].strip())
        return lines[2].split(":", 1)[1].strip()
    except (IndexError, ValueError, SyntaxError) as err:
        raise WaaGetterError(f"all_png_file_names: unexpected output {lines!r}: {err}") from None


def _listing(vm_output: str) -> list[str]:
    return vm_output.strip().split(",")


@getter("is_all_docx_in_archive", FolderPathParams)
def get_is_all_docx_in_archive(context: TaskContext, params: FolderPathParams) -> str:
    """"true" when `folder_path`/Archive exists, holds only .docx files and the folder itself none."""
    vm = controller(context, "is_all_docx_in_archive")
    folder = params.folder_path
    if not folder:
        return "false"
    what = "is_all_docx_in_archive"
    if output_of(vm.python(f"import os; print(os.path.exists('{folder}'))"), what).strip().lower() != "true":
        return "false"
    archive = posixpath.join(str(folder), "Archive")
    if output_of(vm.python(f"import os; print(os.path.exists('{archive}'))"), what).strip().lower() != "true":
        return "false"
    files_of = ("import os; print(','.join([f for f in os.listdir('{0}') "
                "if os.path.isfile(os.path.join('{0}', f))]))")
    archived = _listing(output_of(vm.python(files_of.format(archive)), what))
    if not all(name.lower().endswith(".docx") for name in archived):
        return "false"
    loose = _listing(output_of(vm.python(files_of.format(folder)), what))
    return "false" if any(name.lower().endswith(".docx") for name in loose) else "true"


@getter("is_file_hidden", HiddenFileParams)
def get_is_file_hidden(context: TaskContext, params: HiddenFileParams) -> str:
    """"true" when the file's name starts with a dot or Windows marks it hidden."""
    vm = controller(context, "is_file_hidden")
    if "file_path" not in params.model_fields_set:
        return "false"
    path = params.file_path
    command = (f"import os; print(1 if os.path.basename(r'{path}').startswith('.') or "
               f"(os.name == 'nt' and bool(os.stat(r'{path}').st_file_attributes & 2)) else 0)")
    answer = vm.python(command)
    if answer is None:
        raise WaaGetterError("is_file_hidden: the VM's answer to the command was not JSON")
    if answer.status != "success" or answer.returncode != 0:
        return "false"
    try:
        hidden = int((answer.output or "").strip())
    except ValueError:
        hidden = 0
    return "true" if hidden == 1 else "false"


@getter("vm_active_window_title")
def get_vm_active_window_title(context: TaskContext, _params: NoParams) -> str:
    """The title of the focused window (pyautogui's, on the VM)."""
    vm = controller(context, "vm_active_window_title")
    answer = vm.python("import pyautogui; print(pyautogui.getActiveWindowTitle())")
    return output_of(answer, "vm_active_window_title").strip()


@getter("is_files_moved_downloads", MovedFileParams)
def get_is_files_moved_downloads(context: TaskContext, params: MovedFileParams) -> str:
    """"true" when Downloads no longer names both the file and its folder and OldDownloads holds the
    folder with the file in it.

    WAA tests the names against the JSON text of Downloads' tree (so a name anywhere in it counts)."""
    vm = controller(context, "is_files_moved_downloads")
    downloads = json.dumps(vm.directory_tree(DOWNLOADS))
    old = vm.directory_tree(OLD_DOWNLOADS)
    if params.file_name in downloads and params.folder_name in downloads:
        return "false"
    if not isinstance(old, dict):
        raise WaaGetterError(f"{OLD_DOWNLOADS}: the VM server gave no folder tree")
    try:
        for value in old.values():
            if not isinstance(value, list):
                continue
            for entry in value:
                if entry["type"] == "directory" and entry["name"] == params.folder_name:  # type: ignore[index]
                    if any(child["name"] == params.file_name for child in entry["children"]):  # type: ignore[index]
                        return "true"
    except (KeyError, TypeError) as err:
        raise WaaGetterError(f"{OLD_DOWNLOADS}: unexpected folder tree ({err!r})") from None
    return "false"


@getter("is_directory_read_only_for_user", ReadOnlyParams)
def get_is_directory_read_only_for_user(context: TaskContext, params: ReadOnlyParams) -> bool:
    """Whether `user` may only read `directory` (WAA's server reads its access rules)."""
    vm = controller(context, "is_directory_read_only_for_user")
    if not params.directory or not params.user:
        raise WaaGetterError("is_directory_read_only_for_user: directory and user are required")
    return vm.is_directory_read_only_for_user(params.directory, params.user)


@getter("are_all_images_tagged", TaggedImagesParams)
def get_are_all_images_tagged(context: TaskContext, params: TaggedImagesParams) -> bool:
    """Whether every JPEG/TIFF picture of `directory` carries the tag (WAA's server reads their metadata)."""
    vm = controller(context, "are_all_images_tagged")
    if not params.directory or not params.tag:
        raise WaaGetterError("are_all_images_tagged: directory and tag are required")
    return vm.are_all_images_tagged(params.directory, params.tag)


@getter("vm_library_folders", LibraryParams)
def get_vm_library_folders(context: TaskContext, params: LibraryParams) -> JsonValue:
    """The folders of a Windows library; None when it does not exist."""
    return controller(context, "vm_library_folders").library_folders(params.library_name)


@getter("vm_file_exists_in_vm_folder", FileInFolderParams)
def get_vm_file_exists_in_vm_folder(context: TaskContext, params: FileInFolderParams) -> float:
    """1.0 when the file can be read and is not empty (WAA tests the bytes' truthiness), else 0.0."""
    vm = controller(context, "vm_file_exists_in_vm_folder")
    if not params.folder_name or not params.file_name:
        return 0.0
    return 1.0 if vm.file(posixpath.join(str(params.folder_name), str(params.file_name))) else 0.0


@getter("zipped_folder_in_desktop", ArchiveParams)
def get_zipped_folder_in_desktop(context: TaskContext, params: ArchiveParams) -> str:
    """"true" when the 7-Zip archive needs a password, opens with the given one and holds
    OldProjects/example.txt. A missing or unreadable archive, or a wrong password, raises (as WAA's)."""
    import py7zr
    import py7zr.exceptions

    data = controller(context, "zipped_folder_in_desktop").file(params.filename)
    password = params.password if isinstance(params.password, str) else None
    try:
        with py7zr.SevenZipFile(io.BytesIO(data or b""), mode="r", password=password) as archive:
            if not archive.needs_password():
                return "false"
            with tempfile.TemporaryDirectory() as folder:  # every member decrypted, as by WAA's readall()
                archive.extractall(path=folder)
                return "true" if (Path(folder) / ARCHIVED_FILE).is_file() else "false"
    except (py7zr.exceptions.ArchiveError, py7zr.exceptions.PasswordRequired, lzma.LZMAError, ValueError,
            OSError, EOFError) as err:
        raise WaaGetterError(f"zipped_folder_in_desktop: {params.filename}: {err!r}") from None
