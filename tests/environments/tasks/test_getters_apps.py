"""App getters (getters/chrome_profile, desktop, app_files, web_pages, google_drive) and the account and
history setup steps, on a real LocalMachine with generated profile files and a real Chromium page."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from pptx import Presentation

from environments.chromium import CHROMIUM_ARGS, chromium_path
from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks.context import TaskContext
from environments.tasks.errors import SetupError
from environments.tasks.getters.google_drive import AccountError
from environments.tasks.machine import LocalMachine
from environments.tasks.model import GetterConfig, SetupStep
from environments.tasks.registry import GETTERS
from environments.tasks.scoring import PreparedGetter
from environments.tasks.setup_steps import EMPTY_HISTORY_URL, run_steps
from environments.tasks.tabs import PageTabs


def get(context: Any, kind: str, **fields: Any) -> Any:
    entry = GETTERS[kind]
    params = entry.params.model_validate(GetterConfig(type=kind, **fields).fields)
    return PreparedGetter(entry, params)(context)


def profile(machine: LocalMachine, name: str, data: bytes | str,
            folder: str = ".config/google-chrome") -> Path:
    path = machine.home / folder / "Default" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# --- Chrome's profile -------------------------------------------------------------------------------


def test_preferences_getters_read_the_profile(context: TaskContext, machine: LocalMachine) -> None:
    prefs = {"default_search_provider_data": {"template_url_data": {"short_name": "Bing"}},
             "profile": {"name": "Thomas", "default_content_setting_values": {}},
             "webkit": {"webprefs": {"default_font_size": 20}}, "enable_do_not_track": True,
             "safebrowsing": {"enabled": True}, "session": {"restore_on_startup": 5},
             "extensions": {"settings": {"abc": {"path": "/home/user/Desktop/helloExtension",
                                                 "manifest": {"name": "Hello"}}},
                            "theme": {"system_theme": 0}}}
    profile(machine, "Preferences", json.dumps(prefs))
    assert get(context, "default_search_engine") == "Bing"
    assert get(context, "profile_name") == "Thomas"
    assert get(context, "chrome_font_size") == {"default_font_size": 20}
    assert get(context, "enable_do_not_track") == "true"
    assert get(context, "enable_safe_browsing") == "true"
    assert get(context, "new_startup_page") == "true"
    assert get(context, "data_delete_automacally") == "true"
    assert get(context, "find_unpacked_extension_path") == ["/home/user/Desktop/helloExtension"]
    assert get(context, "find_installed_extension_name") == ["Hello"]
    assert get(context, "chrome_appearance_mode_ui") == "light"


def test_preferences_fallbacks_are_osworlds(context: TaskContext) -> None:
    assert get(context, "default_search_engine") == "Google"
    assert get(context, "profile_name") is None
    assert get(context, "chrome_font_size") == {"default_fixed_font_size": 13, "default_font_size": 16}
    assert get(context, "enable_do_not_track") == "false"
    assert get(context, "new_startup_page") == "Google"
    assert get(context, "chrome_appearance_mode_ui") == "system"
    assert get(context, "bookmarks") == []


def test_chromium_profile_is_read_when_chrome_has_none(context: TaskContext, machine: LocalMachine) -> None:
    bookmarks = json.dumps({"roots": {"bookmark_bar": {"children": []}}})
    profile(machine, "Bookmarks", bookmarks, ".config/chromium")
    assert get(context, "bookmarks") == {"bookmark_bar": {"children": []}}


def test_history_and_cookies_from_sqlite(context: TaskContext, machine: LocalMachine, tmp_path: Path) -> None:
    database = tmp_path / "h.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE urls (url TEXT, title TEXT, last_visit_time INTEGER)")
        connection.execute("INSERT INTO urls VALUES ('https://youtube.com', 'YT', 1)")
        connection.execute("CREATE TABLE cookies (creation_utc INTEGER, host_key TEXT)")
        connection.execute("INSERT INTO cookies VALUES (1, '.amazon.com')")
    connection.close()
    profile(machine, "History", database.read_bytes())
    profile(machine, "Cookies", database.read_bytes())
    assert get(context, "history", dest="history.sqlite") == [("https://youtube.com", "YT", 1)]
    assert get(context, "cookie_data", dest="Cookies") == [(1, ".amazon.com")]
    with pytest.raises(ValueError):
        get(context, "history", dest="../outside.sqlite")


# --- the desktop ------------------------------------------------------------------------------------


def test_screen_directory_shortcuts_and_wallpaper(context: TaskContext, machine: LocalMachine) -> None:
    assert get(context, "vm_screen_size") == {"width": 1280, "height": 800}
    folder = machine.home / "Desktop" / "cpjpg"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(b"x")
    (folder / "sub" / "b.jpg").write_bytes(b"y")
    tree = get(context, "list_directory", path="/home/user/Desktop/cpjpg")
    assert tree["name"] == "cpjpg"
    names = sorted(child["name"] for child in tree["children"])
    assert names == ["a.jpg", "sub"]
    sub = next(child for child in tree["children"] if child["name"] == "sub")
    assert sub["children"] == [{"type": "file", "name": "b.jpg"}]
    assert get(context, "list_directory", path="/home/user/nowhere") is None
    (machine.home / "Desktop" / "game.desktop").write_text("[Desktop Entry]\nName=2048\n")
    assert get(context, "shortcuts_on_desktop") == {"game.desktop": "[Desktop Entry]\nName=2048\n"}
    wallpaper = get(context, "vm_wallpaper", dest="background.png")
    assert Path(wallpaper).exists()


def test_window_size_without_a_matching_window(context: TaskContext) -> None:
    assert get(context, "vm_window_size", app_class_name="vlc") is None


def test_time_diff_range_passes_the_task_value_on(context: TaskContext) -> None:
    assert get(context, "time_diff_range", diff_range_in_minutes="60") == "60"
    assert get(context, "time_diff_range") is None


# --- applications' files ----------------------------------------------------------------------------


def test_gimp_and_vlc_configuration(context: TaskContext, machine: LocalMachine) -> None:
    gimprc = machine.home / ".config" / "GIMP" / "2.10" / "gimprc"
    gimprc.parent.mkdir(parents=True)
    gimprc.write_text("(undo-levels 100)\n")
    copied = get(context, "gimp_config_file", file_name="gimprc", dest="gimprc")
    assert Path(copied).read_text() == "(undo-levels 100)\n"
    assert get(context, "gimp_config_file", file_name="sessionrc", dest="sessionrc") is None
    with pytest.raises(FileNotFoundError):
        get(context, "vlc_config", dest="vlcrc")
    vlcrc = machine.home / ".config" / "vlc" / "vlcrc"
    vlcrc.parent.mkdir(parents=True)
    vlcrc.write_text("qt-bgcone=0\n")
    assert Path(get(context, "vlc_config", dest="vlcrc")).read_text() == "qt-bgcone=0\n"
    assert get(context, "vlc_playing_info", dest="status.xml") is None


def test_last_row_of_a_workbook(context: TaskContext, machine: LocalMachine) -> None:
    book = Workbook()
    book.active.append(["name", "citations"])
    book.active.append(["Ada", 12])
    (machine.home / "Desktop").mkdir()
    book.save(machine.home / "Desktop" / "researchers.xlsx")
    assert get(context, "content_from_vm_file", path="/home/user/Desktop/researchers.xlsx", file_type="xlsx",
               file_content="last_row") == ["Ada", "12"]


def test_media_linked_from_a_slide(context: TaskContext, machine: LocalMachine, tmp_path: Path) -> None:
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    sound = tmp_path / "planet.wav"
    sound.write_bytes(b"RIFF....WAVE")
    slide.shapes.add_movie(str(sound), 0, 0, 100, 100, mime_type="audio/wav")
    built = tmp_path / "built.pptx"
    presentation.save(built)
    (machine.home / "Desktop").mkdir()
    # python-pptx links media as a video; LibreOffice links a sound as audio, which the getter looks for.
    deck = machine.home / "Desktop" / "s.pptx"
    with zipfile.ZipFile(built) as source, zipfile.ZipFile(deck, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "ppt/slides/_rels/slide1.xml.rels":
                data = data.replace(b"relationships/video", b"relationships/audio")
            target.writestr(item, data)
    found = get(context, "audio_in_slide", ppt_file_path="/home/user/Desktop/s.pptx", slide_index=0,
                dest="p.wav")
    assert found is not None and Path(found).read_bytes() == b"RIFF....WAVE"
    assert get(context, "background_image_in_slide", ppt_file_path="/home/user/Desktop/s.pptx", slide_index=0,
               dest="bg.png") is None


# --- the active tab ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


PAGE = """<html><body><div class="location-info">Paris</div><div class="location-info">Rome</div>
<div class="sep">SEA<div class="aura-separator"></div>NYC</div>
<ul class="filters"><li class="fT28tf">Black</li><li class="fT28tf">On sale</li></ul>
<div class="HAZ16"><h3>First</h3></div><form><input value="Ada"></form>
<h2 data-automation="header_geo_title">Boston</h2></body></html>"""


@pytest.fixture
def browsing(chromium: Any, tmp_path: Path) -> Iterator[TaskContext]:
    pages = chromium.new_context()
    page = pages.new_page()
    m = LocalMachine(tmp_path / "home", tmp_path / "cache", (1280, 800),
                     tabs_factory=lambda: PageTabs(pages, lambda: page))
    (m.home / "shop.html").write_text(PAGE)
    page.goto((m.home / "shop.html").as_uri() + "?q=1")
    yield TaskContext(m, tmp_path / "cache", tmp_path / "downloads")
    pages.close()
    m.close()


def test_active_tab_html_parse_by_class_xpath_and_input(browsing: TaskContext) -> None:
    found = get(browsing, "active_tab_html_parse", category="class",
                class_multiObject={"location-info": {"0": "start", "1": "end", "2": "extra"}},
                class_multiObject_child={"sep": {"0": "from", "1": "to"}},
                class_multiObject_only_child={"HAZ16": {"0": "content"}},
                class_multiObject_search_exist={"fT28tf": ["Black", "$25 - $60", "is_other_exist"]},
                class_singleObject={"missing-class": "time"})
    assert found == {"start": "Paris", "end": "Rome", "extra": "", "from": "SEA", "to": "NYC",
                     "content": "First", "Black": True, "$25 - $60": False, "is_other_exist": True,
                     "time": ""}
    by_xpath = get(browsing, "active_tab_html_parse", category="xpath",
                   xpathObject={"//h2[@data-automation='header_geo_title']": "city", "//h9": "none"})
    assert by_xpath == {"city": "Boston", "none": ""}
    assert get(browsing, "active_tab_html_parse", category="input",
               inputObject={"//form/input": "name", "//form/textarea": "none"}) == {"name": "Ada", "none": ""}


def test_input_values_are_read_live(browsing: TaskContext) -> None:
    page = browsing.machine.tabs().active_page()
    page.fill("form input", "Grace Hopper ")
    assert get(browsing, "active_tab_html_parse", category="input",
               inputObject={"/html/body/form/input": "name"}) == {"name": "Grace Hopper"}
    assert get(browsing, "active_tab_html_parse", category="class&url",
               class_multiObject={"fT28tf": ["black", "on sale"]}, url_include_expected=["shop"]) == {
        "black": True, "on sale": True, "is_other_exist": False, "shop": True}


def test_url_parts(browsing: TaskContext) -> None:
    url = get(browsing, "url_dashPart", partIndex=-1, needDeleteId=True, returnType="json", key="page")
    assert url == {"page": "shop.html"}
    assert get(browsing, "url_dashPart", partIndex=-1, returnType="string") == "shop.html?q=1"
    assert get(browsing, "url_path_parse", parse_keys=["Men_regular_size_t"]) == {
        "mens_clothing": None, "shirts": None, "short_sleeve": None, "Men_regular_size_t": None}


def test_page_info_opens_a_new_tab(browsing: TaskContext, tmp_path: Path) -> None:
    other = tmp_path / "home" / "other.html"
    other.write_text("<title>Cart</title><p>The Dota 2 Official Soundtrack</p>")
    info = get(browsing, "page_info", url=other.as_uri())
    assert info["title"] == "Cart" and "Dota 2" in info["content"]
    text = [{"action": "inner_text", "selector": "p"}]
    assert get(browsing, "info_from_website", url=other.as_uri(), infos=text,
               backups=["fallback"]) == ["The Dota 2 Official Soundtrack"]
    nothing = [{"action": "inner_text", "selector": "#nothing"}]
    assert get(browsing, "info_from_website", url=other.as_uri(), infos=nothing,
               backups=["fallback"]) == ["fallback"]


# --- accounts and history ---------------------------------------------------------------------------


LOGIN = {"settings_file": "evaluation_examples/settings/google/settings.json", "platform": "googledrive"}


def test_google_drive_without_settings_fails_clearly(context: TaskContext) -> None:
    with pytest.raises(SetupError, match="account settings not found"):
        run_steps([SetupStep(type="googledrive", parameters={
            "settings_file": "evaluation_examples/settings/googledrive/settings.yml",
            "operation": ["delete"], "args": [{"query": "title = 'x'", "trash": False}]})], context)
    with pytest.raises(AccountError, match="account settings not found"):
        get(context, "googledrive_file", query=["title = 'x'"], dest="x.pdf")
    with pytest.raises(SetupError, match="account settings not found"):
        run_steps([SetupStep(type="login", parameters=LOGIN)], context)


def test_login_needs_an_email_and_password(context: TaskContext, tmp_path: Path) -> None:
    settings = tmp_path / "settings" / "google" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"email": "", "password": ""}))
    with pytest.raises(SetupError, match="needs an email and a password"):
        run_steps([SetupStep(type="login", parameters=LOGIN)], context)


def test_update_browse_history_writes_chromes_history(context: TaskContext, machine: LocalMachine) -> None:
    empty = context.downloads / f"{uuid.uuid5(uuid.NAMESPACE_URL, EMPTY_HISTORY_URL)}_history_empty.sqlite"
    with sqlite3.connect(empty) as connection:
        connection.execute("CREATE TABLE urls (id INTEGER PRIMARY KEY, url TEXT, title TEXT, visit_count "
                           "INTEGER, typed_count INTEGER, last_visit_time INTEGER, hidden INTEGER)")
        connection.execute("CREATE TABLE visits (id INTEGER PRIMARY KEY, url INTEGER, visit_time INTEGER, "
                           "from_visit INTEGER, transition INTEGER, segment_id INTEGER, "
                           "visit_duration INTEGER)")
    connection.close()
    empty.with_name(empty.name + ".sha256").write_text(hashlib.sha256(empty.read_bytes()).hexdigest() + "\n")
    context.offline = True
    visit = {"url": "https://www.youtube.com/watch?v=1", "title": "Video",
             "visit_time_from_now_in_seconds": 3600}
    run_steps([SetupStep(type="update_browse_history", parameters={"history": [visit]})], context)
    history = get(context, "history", dest="history.sqlite")
    assert [(url, title) for url, title, _ in history] == [("https://www.youtube.com/watch?v=1", "Video")]
