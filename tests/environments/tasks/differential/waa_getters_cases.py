"""The getter differential's inputs (ours): for each case a getter, its task parameters and the answers the
recording server gives, chosen to walk each branch of WAA's getter (values, fallbacks, raises).

Imported only by waa_getters_record.py (the oracle interpreter, which has Pillow and py7zr to build the
pictures and archives); the recorded JSON holds the built inputs, so CI needs neither this nor WAA.
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

Rule = dict[str, Any]
DOCS = "C:\\Users\\Docker\\Documents"
DESKTOP = "C:\\Users\\Docker\\Desktop"
LOCAL = "C:\\Users\\Docker\\AppData\\Local"
GUID = "485bf7d3-0215-45af-87dc-53886800"
"""Edge's built-in search providers' ids, less their last four digits."""


def run(contains: str, output: str, returncode: int = 0) -> Rule:
    """/execute answering a command whose body contains `contains`, as WAA's server does."""
    return {"route": "/execute", "contains": contains, "status": 200,
            "json": {"status": "success", "output": output, "error": "", "returncode": returncode}}


def run_fails(contains: str) -> Rule:
    """/execute answering 500, as WAA's server does when the command cannot start."""
    return {"route": "/execute", "contains": contains, "status": 500,
            "json": {"status": "error", "message": "[WinError 2] The system cannot find the file specified"}}


def platform(system: str) -> Rule:
    return run("platform.system()", system + "\n")


def route(path: str, status: int = 200, body: Any = None, contains: str = "") -> Rule:
    rule: Rule = {"route": path, "contains": contains, "status": status}
    rule["json"] = body if body is not None else (
        {"status": "success"} if status == 200 else {"status": "error", "message": "no"})
    return rule


def file(contains: str, data: bytes | str | None) -> Rule:
    """/file for a path containing `contains`: the bytes (text files as UTF-8 text), or 404."""
    if data is None:
        return {"route": "/file", "contains": contains, "status": 404, "json": {"error": "File not found"}}
    if isinstance(data, str):
        return {"route": "/file", "contains": contains, "status": 200, "text": data}
    encoded = base64.b64encode(data).decode()
    return {"route": "/file", "contains": contains, "status": 200, "body_b64": encoded}


def desktop(status: int = 200) -> Rule:
    body = {"desktop_path": DESKTOP} if status == 200 else {"error": "desktop path not found"}
    return route("/desktop_path", status, body)


def case(name: str, getter: str, params: dict[str, Any], rules: list[Rule]) -> dict[str, Any]:
    return {"name": name, "getter": getter, "params": params, "rules": rules}


def _sqlite(statements: list[str]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "db"
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA page_size = 512")  # small files keep the recorded JSON small
        for statement in statements:
            connection.execute(statement)
        connection.commit()
        connection.close()
        return path.read_bytes()


def empty_history() -> bytes:
    """The tables `update_browse_history_edge` fills, empty (a stand-in for WAA's bundled database)."""
    return _sqlite([
        "CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT, url LONGVARCHAR, title LONGVARCHAR, "
        "visit_count INTEGER DEFAULT 0 NOT NULL, typed_count INTEGER DEFAULT 0 NOT NULL, "
        "last_visit_time INTEGER NOT NULL, hidden INTEGER DEFAULT 0 NOT NULL)",
        "CREATE TABLE visits(id INTEGER PRIMARY KEY AUTOINCREMENT, url INTEGER NOT NULL, "
        "visit_time INTEGER NOT NULL, from_visit INTEGER, transition INTEGER DEFAULT 0 NOT NULL, "
        "segment_id INTEGER, visit_duration INTEGER DEFAULT 0 NOT NULL)",
    ])


def _history() -> bytes:
    return _sqlite([
        "CREATE TABLE urls(id INTEGER PRIMARY KEY, url TEXT, title TEXT, last_visit_time INTEGER)",
        "INSERT INTO urls VALUES (1, 'https://www.youtube.com/watch?v=1', 'A video', 13370000000000000)",
        "INSERT INTO urls VALUES (2, 'https://www.bbc.co.uk/', 'BBC', 13370000000000001)",
    ])


def _cookies() -> bytes:
    return _sqlite([
        "CREATE TABLE cookies(host_key TEXT, name TEXT, value TEXT, expires_utc INTEGER)",
        "INSERT INTO cookies VALUES ('.amazon.com', 'session-id', 'x', 0)",
    ])


def _png(size: tuple[int, int], circle: bool = False, fill: str = "white") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, fill)
    if circle:
        ImageDraw.Draw(image).ellipse((40, 30, 120, 110), outline=(230, 20, 20), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _archive(members: dict[str, str], password: str | None) -> bytes:
    import py7zr

    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w", password=password) as archive:
        for name, text in members.items():
            archive.writestr(text, name)
    return out.getvalue()


def _explorer() -> list[dict[str, Any]]:
    documents = route("/documents_path", 200, {"documents_path": DOCS})
    png_script = "get_png_files"
    docx = "C:/Users/Docker/Documents"
    exists_docs = f"exists('{docx}')"
    exists_archive = f"exists('{docx}/Archive')"
    list_archive = f"listdir('{docx}/Archive')"
    list_docs = f"listdir('{docx}')"
    hidden = "st_file_attributes"
    downloads = {"type": "directory", "name": "Downloads",
                 "children": [{"type": "file", "name": "other.txt"}]}
    still = {"type": "directory", "name": "Downloads", "children": [
        {"type": "directory", "name": "Test", "children": [{"type": "file", "name": "example.txt"}]}]}
    old = {"type": "directory", "name": "OldDownloads", "children": [
        {"type": "directory", "name": "Test", "children": [{"type": "file", "name": "example.txt"}]}]}
    old_empty = {"type": "directory", "name": "OldDownloads", "children": [
        {"type": "directory", "name": "Test", "children": []}]}
    moved = {"file_name": "example.txt", "folder_name": "Test"}
    return [
        case("yes", "vm_folder_exists_in_documents", {"folder_name": "MyFolder"},
             [documents, route("/folder_exists")]),
        case("no", "vm_folder_exists_in_documents", {"folder_name": "MyFolder"},
             [documents, route("/folder_exists", 400)]),
        case("no_documents", "vm_folder_exists_in_documents", {"folder_name": "MyFolder"},
             [route("/documents_path", 400, {"error": "not found"}),
              route("/folder_exists", 500, {"error": "x"})]),
        case("yes", "vm_file_exists_in_desktop", {"file_name": "Projects - Shortcut.lnk"},
             [desktop(), route("/file_exists")]),
        case("no", "vm_file_exists_in_desktop", {"file_name": "Projects - Shortcut.lnk"},
             [desktop(), route("/file_exists", 400)]),
        case("yes", "are_files_sorted_by_modified_time", {"directory": DOCS},
             [route("/are_files_sorted_by_modified_time")]),
        case("no", "are_files_sorted_by_modified_time", {"directory": DOCS},
             [route("/are_files_sorted_by_modified_time", 400)]),
        case("empty", "are_files_sorted_by_modified_time", {"directory": ""}, []),
        case("yes", "is_details_view", {"folder_path": "C:/Users/Docker/Documents"},
             [route("/is_details_view")]),
        case("no", "is_details_view", {"folder_path": "C:/Users/Docker/Documents"},
             [route("/is_details_view", 400, {"status": "error", "is_details_view": False})]),
        case("empty", "is_details_view", {"folder_path": ""}, []),
        case("contains", "is_file_saved_desktop", {"filename": "numdays.txt", "textcontent": "230 days"},
             [desktop(), file("numdays.txt", "There are 230 days between them.\n")]),
        case("other_text", "is_file_saved_desktop", {"filename": "numdays.txt", "textcontent": "230 days"},
             [desktop(), file("numdays.txt", "229 days")]),
        case("missing", "is_file_saved_desktop", {"filename": "numdays.txt", "textcontent": "230 days"},
             [desktop(), file("numdays.txt", None)]),
        case("no_desktop", "is_file_saved_desktop", {"filename": "numdays.txt", "textcontent": "230 days"},
             [desktop(404)]),
        case("yes", "is_file_desktop", {"filename": "example.txt"}, [desktop(), file("example.txt", b"hi")]),
        case("no", "is_file_desktop", {"filename": "example.txt"}, [desktop(), file("example.txt", None)]),
        case("empty_file", "is_file_desktop", {"filename": "example.txt"},
             [desktop(), file("example.txt", b"")]),
        case("true", "all_png_file_names", {"folder_path": "C:/Users/Docker/Pictures",
                                            "file_path": "C:/Users/Docker/Pictures/png_files.txt"},
             [run(png_script,
                  "File content: ['a.png', 'b.png']\nPNG files: ['b.png', 'a.png']\nResult: true\n")]),
        case("false", "all_png_file_names", {"folder_path": "C:/Users/Docker/Pictures",
                                             "file_path": "C:/Users/Docker/Pictures/png_files.txt"},
             [run(png_script, "File content: ['a.png']\nPNG files: ['b.png', 'a.png']\nResult: false\n")]),
        case("no_list", "all_png_file_names", {"folder_path": "C:/Users/Docker/Pictures",
                                               "file_path": "C:/Users/Docker/Pictures/png_files.txt"},
             [run(png_script, "File C:/Users/Docker/Pictures/png_files.txt does not exist\n")]),
        case("script_fails", "all_png_file_names", {"folder_path": "C:/Users/Docker/Pictures",
                                                    "file_path": "C:/Users/Docker/Pictures/png_files.txt"},
             [run_fails(png_script)]),
        case("short_output", "all_png_file_names", {"folder_path": "C:/Users/Docker/Pictures",
                                                    "file_path": "C:/Users/Docker/Pictures/png_files.txt"},
             [run(png_script, "Traceback (most recent call last):\n")]),
        case("true", "is_all_docx_in_archive", {"folder_path": docx},
             [run(exists_docs, "True\n"), run(exists_archive, "True\n"), run(list_archive, "a.docx,B.DOCX\n"),
              run(list_docs, "notes.txt\n")]),
        case("no_folder", "is_all_docx_in_archive", {"folder_path": docx}, [run(exists_docs, "False\n")]),
        case("no_archive", "is_all_docx_in_archive", {"folder_path": docx},
             [run(exists_docs, "True\n"), run(exists_archive, "False\n")]),
        case("other_in_archive", "is_all_docx_in_archive", {"folder_path": docx},
             [run(exists_docs, "True\n"), run(exists_archive, "True\n"),
              run(list_archive, "a.docx,b.txt\n")]),
        case("empty_archive", "is_all_docx_in_archive", {"folder_path": docx},
             [run(exists_docs, "True\n"), run(exists_archive, "True\n"), run(list_archive, "\n")]),
        case("docx_left", "is_all_docx_in_archive", {"folder_path": docx},
             [run(exists_docs, "True\n"), run(exists_archive, "True\n"), run(list_archive, "a.docx\n"),
              run(list_docs, "b.docx,c.txt\n")]),
        case("empty_path", "is_all_docx_in_archive", {"folder_path": ""}, []),
        case("command_fails", "is_all_docx_in_archive", {"folder_path": docx}, [run_fails(exists_docs)]),
        case("hidden", "is_file_hidden", {"file_path": DOCS + "\\secret.txt"}, [run(hidden, "1\n")]),
        case("visible", "is_file_hidden", {"file_path": DOCS + "\\secret.txt"}, [run(hidden, "0\n")]),
        case("no_path", "is_file_hidden", {}, []),
        case("missing_file", "is_file_hidden", {"file_path": DOCS + "\\secret.txt"},
             [run(hidden, "", returncode=1)]),
        case("garbage", "is_file_hidden", {"file_path": DOCS + "\\secret.txt"}, [run(hidden, "yes\n")]),
        case("fails", "is_file_hidden", {"file_path": DOCS + "\\secret.txt"}, [run_fails(hidden)]),
        case("title", "vm_active_window_title", {},
             [run("getActiveWindowTitle", "Documents - File Explorer\r\n")]),
        case("fails", "vm_active_window_title", {}, [run_fails("getActiveWindowTitle")]),
        case("moved", "is_files_moved_downloads", moved,
             [route("/list_directory", 200, {"directory_tree": downloads}, "Docker\\Downloads"),
              route("/list_directory", 200, {"directory_tree": old}, "OldDownloads")]),
        case("still_there", "is_files_moved_downloads", moved,
             [route("/list_directory", 200, {"directory_tree": still}, "Docker\\Downloads"),
              route("/list_directory", 200, {"directory_tree": old}, "OldDownloads")]),
        case("not_in_old", "is_files_moved_downloads", moved,
             [route("/list_directory", 200, {"directory_tree": downloads}, "Docker\\Downloads"),
              route("/list_directory", 200, {"directory_tree": old_empty}, "OldDownloads")]),
        case("no_old", "is_files_moved_downloads", moved,
             [route("/list_directory", 200, {"directory_tree": downloads}, "Docker\\Downloads"),
              route("/list_directory", 400, {"error": "not a directory"}, "OldDownloads")]),
        case("no_downloads", "is_files_moved_downloads", moved,
             [route("/list_directory", 200, {"directory_tree": old}, "OldDownloads"),
              route("/list_directory", 400, {"error": "not a directory"})]),
        case("folders", "vm_library_folders", {"library_name": "Arena"},
             [route("/library_folders", 200,
                    {"status": "success", "output": [DOCS + "\\Arena", "D:\\Arena"]})]),
        case("none", "vm_library_folders", {"library_name": "Arena"},
             [route("/library_folders", 400, {"error": "Arena does not exist"})]),
        case("yes", "vm_file_exists_in_vm_folder", {"folder_name": DOCS, "file_name": "draft.txt"},
             [file("draft.txt", b"draft")]),
        case("empty_file", "vm_file_exists_in_vm_folder", {"folder_name": DOCS, "file_name": "draft.txt"},
             [file("draft.txt", b"")]),
        case("no", "vm_file_exists_in_vm_folder", {"folder_name": DOCS, "file_name": "draft.txt"},
             [file("draft.txt", None)]),
        case("no_folder", "vm_file_exists_in_vm_folder", {"folder_name": "", "file_name": "draft.txt"}, []),
        case("read_only", "is_directory_read_only_for_user",
             {"directory": "C:\\Users\\Docker\\Pictures\\Vacation Photos", "user": "TestAccount"},
             [route("/is_directory_read_only_for_user")]),
        case("writable", "is_directory_read_only_for_user",
             {"directory": "C:\\Users\\Docker\\Pictures\\Vacation Photos", "user": "TestAccount"},
             [route("/is_directory_read_only_for_user", 400)]),
        case("no_user", "is_directory_read_only_for_user",
             {"directory": "C:\\Users\\Docker\\Pictures\\Vacation Photos", "user": ""}, []),
        case("tagged", "are_all_images_tagged",
             {"directory": "C:\\Users\\Docker\\Pictures\\Summer Trip", "tag": "2023Vacation"},
             [route("/are_all_images_tagged")]),
        case("untagged", "are_all_images_tagged",
             {"directory": "C:\\Users\\Docker\\Pictures\\Summer Trip", "tag": "2023Vacation"},
             [route("/are_all_images_tagged", 400)]),
    ]


def _archives() -> list[dict[str, Any]]:
    params = {"filename": DESKTOP + "\\OldProjects.7z", "password": "12345"}
    wanted = {"OldProjects/example.txt": "old", "OldProjects/other.txt": "x"}
    return [
        case("encrypted", "zipped_folder_in_desktop", params,
             [file("OldProjects.7z", _archive(wanted, "12345"))]),
        case("plain", "zipped_folder_in_desktop", params, [file("OldProjects.7z", _archive(wanted, None))]),
        case("other_files", "zipped_folder_in_desktop", params,
             [file("OldProjects.7z", _archive({"Other/example.txt": "x"}, "12345"))]),
        case("wrong_password", "zipped_folder_in_desktop", params,
             [file("OldProjects.7z", _archive(wanted, "54321"))]),
        case("missing", "zipped_folder_in_desktop", params, [file("OldProjects.7z", None)]),
    ]


def _paint() -> list[dict[str, Any]]:
    circle = {"filepath": "C:\\Users\\Docker\\Downloads\\Screenshot.png"}
    size = {"filepath": "C:\\Users\\Docker\\Downloads\\CanvasSize.png", "width": "800", "height": "600"}
    return [
        case("circle", "is_red_circle_present_on_canvas", circle,
             [file("Screenshot.png", _png((200, 150), True))]),
        case("blank", "is_red_circle_present_on_canvas", circle, [file("Screenshot.png", _png((200, 150)))]),
        case("red_canvas", "is_red_circle_present_on_canvas", circle,
             [file("Screenshot.png", _png((60, 40), fill="red"))]),
        case("missing", "is_red_circle_present_on_canvas", circle, [file("Screenshot.png", None)]),
        case("no_path", "is_red_circle_present_on_canvas", {"filepath": ""}, []),
        case("matches", "image_dimension_matches_input", size, [file("CanvasSize.png", _png((800, 600)))]),
        case("differs", "image_dimension_matches_input", size, [file("CanvasSize.png", _png((640, 480)))]),
        case("missing", "image_dimension_matches_input", size, [file("CanvasSize.png", None)]),
        case("no_width", "image_dimension_matches_input", {**size, "width": ""}, []),
        case("not_image", "image_dimension_matches_input", size, [file("CanvasSize.png", b"not a picture")]),
    ]


def _clock() -> list[dict[str, Any]]:
    timer = {"hours": 0, "minutes": 30, "seconds": 0}
    city = {"city": "Kyoto", "country": "Japan"}
    return [
        case("started", "check_if_timer_started", timer, [route("/check_if_timer_started")]),
        case("not_started", "check_if_timer_started", timer, [route("/check_if_timer_started", 400)]),
        case("exists", "check_if_world_clock_exists", city, [route("/check_if_world_clock_exists")]),
        case("absent", "check_if_world_clock_exists", city, [route("/check_if_world_clock_exists", 400)]),
    ]


def _night_light(values: dict[int, str]) -> str:
    lines = ["0"] * 44
    for index, value in values.items():
        lines[index] = value
    return "\n".join(lines) + "\n"


def _settings() -> list[dict[str, Any]]:
    night = "bluelightreduction"
    storage_on, storage_frequency = "-Name '01'", "-Name '2048'"
    zone = "Get-TimeZone"
    wallpaper, toast = "-Name 'WallPaper'", "-Name 'ToastEnabled'"
    return [
        case("scheduled", "night_light_state", {},
             [run(night, _night_light({24: "1", 28: "21", 29: "0", 33: "7", 34: "0"}))]),
        case("minutes", "night_light_state", {},
             [run(night, _night_light({24: "1", 28: "21", 29: "46", 30: "30", 35: "6", 36: "46",
                                       37: "15"}))]),
        case("noon", "night_light_state", {}, [run(night, _night_light({24: "1", 28: "12", 33: "0"}))]),
        case("unscheduled", "night_light_state", {}, [run(night, _night_light({24: "1", 28: "202"}))]),
        case("off", "night_light_state", {}, [run(night, _night_light({}))]),
        case("short", "night_light_state", {}, [run(night, "2\n67\n")]),
        case("fails", "night_light_state", {}, [run_fails(night)]),
        case("weekly", "storage_sense_run_frequency", {},
             [run(storage_on, "1\n"), run(storage_frequency, "7\n")]),
        case("off", "storage_sense_run_frequency", {}, [run(storage_on, "0\n")]),
        case("no_frequency", "storage_sense_run_frequency", {},
             [run(storage_on, "1\n"), run(storage_frequency, "", returncode=1)]),
        case("fails", "storage_sense_run_frequency", {}, [run_fails(storage_on)]),
        case("zone", "system_timezone", {},
             [run(zone, json.dumps({"DisplayName": "(UTC-08:00) Pacific Time (US & Canada)",
                                    "StandardName": "Pacific Standard Time"}))]),
        case("no_standard", "system_timezone", {},
             [run(zone, json.dumps({"DisplayName": "(UTC) Coordinated"}))]),
        case("not_json", "system_timezone", {}, [run(zone, "Get-TimeZone : not recognized")]),
        case("list", "system_timezone", {}, [run(zone, "[1, 2]")]),
        case("fails", "system_timezone", {}, [run_fails(zone)]),
        case("none", "desktop_background", {}, [run(wallpaper, "\n")]),
        case("picture", "desktop_background", {}, [run(wallpaper, "C:\\Windows\\Web\\img0.jpg\n")]),
        case("fails", "desktop_background", {}, [run_fails(wallpaper)]),
        case("off", "system_notifications", {}, [run(toast, "0\n")]),
        case("on", "system_notifications", {}, [run(toast, "1\n")]),
        case("unset", "system_notifications", {}, [run(toast, "", returncode=1)]),
        case("fails", "system_notifications", {}, [run_fails(toast)]),
    ]


def _prefs_cases(getter: str, variants: dict[str, bytes | str | None], name: str = "Preferences",
                 asks_platform: bool = True) -> list[dict[str, Any]]:
    """A Preferences-reading getter on a Windows guest, once per file content (None: no file)."""
    path = run("Default/" + name, f"{LOCAL}\\Microsoft/Edge/User Data/Default/{name}\n")
    head = [platform("Windows")] if asks_platform else []
    return [case(label, getter, {}, [*head, path, file("Default/" + name, content)])
            for label, content in variants.items()]


def _edge() -> list[dict[str, Any]]:
    def prefs(data: Any) -> str:
        return json.dumps(data)

    auto = {"browsing_history": True, "cache": True, "cookies": True, "download_history": True,
            "form_data": True, "hosted_apps_data": False, "passwords": True, "site_settings": True}
    bookmarks = {"roots": {"bookmark_bar": {"children": [{"name": "Kimi", "url": "https://kimi.ai/"}]}}}
    apps = [{"Name": "Microsoft.WindowsCalculator", "PackageFullName": "calc"},
            {"Name": "PWABuilder.Demo", "PackageFullName": "pwa"}]
    shortcut_tree = {"type": "directory", "name": "Desktop", "children": [
        {"type": "file", "name": "Kimi.url"}, {"type": "file", "name": "notes.txt"}]}
    cookies_path = run("Network/Cookies", f"{LOCAL}\\Microsoft/Edge/User Data/Default/Network/Cookies\n")
    kill = run("taskkill", "")
    tree = route("/list_directory", 200, {"directory_tree": shortcut_tree})
    history_path = run('"History"', f"{LOCAL}\\Microsoft\\Edge\\User Data\\Default\\History\n")
    return [
        *_prefs_cases("data_delete_automacally_from_edge", {
            "on": prefs({"browser": {"clear_data_on_exit": auto}}),
            "partial": prefs({"browser": {"clear_data_on_exit": {**auto, "cache": False}}}),
            "no_browser": prefs({}), "missing": None, "not_json": "{"}),
        case("linux_guest", "data_delete_automacally_from_edge", {}, [platform("Linux")]),
        case("platform_fails", "data_delete_automacally_from_edge", {}, [run_fails("platform.system()")]),
        *_prefs_cases("default_search_engine_from_edge", {
            "bing": prefs({"default_search_provider": {"synced_guid": GUID + "0001"}}),
            "duckduckgo": prefs({"default_search_provider": {"synced_guid": GUID + "0092"}}),
            "other": prefs({"default_search_provider": {"synced_guid": "custom"}}),
            "list_guid": prefs({"default_search_provider": {"synced_guid": ["x"]}}),
            "missing": None}),
        *_prefs_cases("edge_font_size", {
            "set": prefs({"webkit": {"webprefs": {"default_font_size": 20, "default_fixed_font_size": 13}}}),
            "unset": prefs({"webkit": {}}), "missing": None, "array": prefs([1])}),
        *_prefs_cases("enable_enhanced_safety_browsing_from_edge", {
            "on": prefs({"edge": {"super_duper_secure_mode": {"enabled": True}}}),
            "off": prefs({"edge": {"super_duper_secure_mode": {"enabled": False}}}),
            "unset": prefs({"edge": {}}), "missing": None}),
        *_prefs_cases("enable_do_not_track_from_edge", {
            "on": prefs({"enable_do_not_track": True}), "unset": prefs({}), "missing": None}),
        *_prefs_cases("profile_name_from_edge", {
            "named": prefs({"profile": {"name": "Thomas"}}), "unnamed": prefs({"profile": {}}),
            "missing": None}),
        *_prefs_cases("favorites", {"roots": prefs(bookmarks), "missing": None, "no_roots": prefs({"x": 1})},
                      name="Bookmarks"),
        case("not_json", "favorites", {},
             [platform("Windows"), run("Bookmarks", f"{LOCAL}\\Bookmarks\n"), file("Bookmarks", "{")]),
        case("linux_guest", "favorites", {},
             [platform("Linux"), run("microsoft-edge/Default/Bookmarks", "/home/user/.config/bm\n"),
              file("/home/user/.config/bm", prefs(bookmarks))]),
        case("mac_guest", "favorites", {},
             [platform("Darwin"), run("Microsoft Edge/Default/Bookmarks", "/m\n"), file("/m", None)]),
        case("rows", "history_for_edge", {"dest": "history.sqlite"},
             [platform("Windows"), history_path, file("History", _history())]),
        case("missing", "history_for_edge", {"dest": "history.sqlite"},
             [platform("Windows"), history_path, file("History", None)]),
        case("not_sqlite", "history_for_edge", {"dest": "history.sqlite"},
             [platform("Windows"), history_path, file("History", b"not a database, just text")]),
        case("rows", "cookie_data_for_edge", {"dest": "Cookies"},
             [platform("Windows"), cookies_path, kill, file("Cookies", _cookies())]),
        case("kill_fails", "cookie_data_for_edge", {"dest": "Cookies"},
             [platform("Windows"), cookies_path, run_fails("taskkill")]),
        case("missing", "cookie_data_for_edge", {"dest": "Cookies"},
             [platform("Windows"), cookies_path, kill, file("Cookies", None)]),
        case("user_data_dir", "cookie_data_for_edge", {"dest": "Cookies", "user_data_dir": "%TEMP%/edge"},
             [platform("Windows"), run("expandvars", "C:\\Temp\\edge\\Default/Network/Cookies\n"), kill,
              file("Cookies", _cookies())]),
        case("bad_user_data_dir", "cookie_data_for_edge", {"dest": "Cookies", "user_data_dir": "C:\\edge"},
             [platform("Windows")]),
        case("shortcuts", "url_shortcuts_on_desktop", {},
             [platform("Windows"), desktop(), tree,
              file("Kimi.url", "[InternetShortcut]\nURL=https://kimi.ai/\n")]),
        case("linux_guest", "url_shortcuts_on_desktop", {}, [platform("Linux")]),
        case("no_desktop", "url_shortcuts_on_desktop", {},
             [platform("Windows"), desktop(404), route("/list_directory", 500, {"error": "x"})]),
        case("unreadable", "url_shortcuts_on_desktop", {},
             [platform("Windows"), desktop(), tree, file("Kimi.url", None)]),
        *_prefs_cases("edge_home_page", {
            "set": prefs({"homepage": "https://www.bing.com/"}), "unset": prefs({}), "missing": None,
            "not_text": prefs({"homepage": {"url": 1}})}, name="Secure Preferences", asks_platform=False),
        case("installed", "validate_pwa_installed", {}, [run("Get-AppxPackage", json.dumps(apps))]),
        case("not_installed", "validate_pwa_installed", {}, [run("Get-AppxPackage", json.dumps(apps[:1]))]),
        case("single_package", "validate_pwa_installed", {}, [run("Get-AppxPackage", json.dumps(apps[0]))]),
        case("no_packages", "validate_pwa_installed", {}, [run("Get-AppxPackage", "")]),
        case("fails", "validate_pwa_installed", {}, [run_fails("Get-AppxPackage")]),
        *_prefs_cases("edge_default_download_folder", {
            "set": prefs({"download": {"default_directory": "C:\\Users\\Docker\\Desktop"}}),
            "unset": prefs({"download": {}}), "missing": None}, asks_platform=False),
    ]


def _chrome() -> list[dict[str, Any]]:
    local_state = run("Local State", f"{LOCAL}\\Google/Chrome/User Data/Local State\n")
    chrome_prefs = run("Chrome/User Data/Default/Preferences",
                       f"{LOCAL}\\Google/Chrome/Default/Preferences\n")
    return [
        case("flags", "enabled_experiments", {},
             [platform("Windows"), local_state,
              file("Local State", json.dumps({"browser": {"enabled_labs_experiments": ["tab-groups@1"]}}))]),
        case("missing", "enabled_experiments", {},
             [platform("Windows"), local_state, file("Local State", None)]),
        case("on", "enable_enhanced_safety_browsing", {},
             [platform("Windows"), chrome_prefs,
              file("Preferences", json.dumps({"safebrowsing": {"enhanced": True}}))]),
        case("off", "enable_enhanced_safety_browsing", {},
             [platform("Windows"), chrome_prefs, file("Preferences", json.dumps({"safebrowsing": {}}))]),
        case("missing", "enable_enhanced_safety_browsing", {},
             [platform("Windows"), chrome_prefs, file("Preferences", None)]),
    ]


def getter_cases() -> list[dict[str, Any]]:
    return [*_explorer(), *_archives(), *_paint(), *_clock(), *_settings(), *_edge(), *_chrome()]


def setup_cases() -> list[dict[str, Any]]:
    """`update_browse_history_edge`: `empty_b64` is the empty database both sides start from."""
    history = [{"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "title": "Never Gonna Give You Up",
                "visit_time_from_now_in_seconds": 3600},
               {"url": "https://www.bbc.co.uk/", "title": "BBC", "visit_time_from_now_in_seconds": 300}]
    history_path = run('"History"', f"{LOCAL}\\Microsoft\\Edge\\User Data\\Default\\History\n")
    upload = {"route": "/setup/upload", "status": 200, "text": "File Uploaded"}
    chown = {"route": "/setup/execute", "status": 200,
             "json": {"status": "success", "output": "", "returncode": 1,
                      "error": "'sudo' is not recognized as an internal or external command"}}
    empty = base64.b64encode(empty_history()).decode()
    return [
        {**case("windows", "update_browse_history_edge", {"history": history},
                [platform("Windows"), history_path, upload, chown]), "empty_b64": empty},
        {**case("upload_refused", "update_browse_history_edge", {"history": history},
                [platform("Windows"), history_path, {**upload, "status": 400, "text": "bad"}, chown]),
         "empty_b64": empty},
    ]
