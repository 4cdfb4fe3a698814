"""VLC task metrics (metrics/vlc.py) on generated status.xml and vlcrc files."""

from __future__ import annotations

from pathlib import Path

from environments.tasks.metrics.vlc import (
    check_global_key_play_pause, check_one_instance_when_started_from_file, check_play_and_exit,
    check_qt_bgcone, check_qt_max_volume, check_qt_minimal_view, check_qt_slider_colours, is_vlc_fullscreen,
    is_vlc_playing, is_vlc_recordings_folder,
)

STATUS = """<?xml version="1.0" encoding="utf-8" standalone="yes" ?>
<root><state>{state}</state><information><category name="meta">
<info name="filename">{name}</info></category></information></root>"""


def status(tmp_path: Path, state: str, name: str) -> str:
    path = tmp_path / "status.xml"
    path.write_text(STATUS.format(state=state, name=name))
    return str(path)


def vlcrc(tmp_path: Path, text: str) -> str:
    path = tmp_path / "vlcrc"
    path.write_text(text)
    return str(path)


def test_playing_by_file_name_or_url(tmp_path: Path) -> None:
    rule = {"type": "file_name", "file_name": "Rick.mp4"}
    assert is_vlc_playing(status(tmp_path, "playing", "/home/user/Rick.mp4"), rule) == 1.0
    assert is_vlc_playing(status(tmp_path, "paused", "/home/user/Rick.mp4"), rule) == 0.0
    assert is_vlc_playing(status(tmp_path, "playing", "Other.mp4"), rule) == 0.0
    url = {"type": "url", "url": "https://cdn.example/streaming/master.m3u8"}
    assert is_vlc_playing(status(tmp_path, "playing", "master.m3u8"), url) == 1.0


def test_recordings_folder_and_fullscreen(tmp_path: Path) -> None:
    config = vlcrc(tmp_path, "# input-record-path=\ninput-record-path=/home/user/Desktop\n")
    assert is_vlc_recordings_folder(config, {"recording_file_path": "/home/user/Desktop"}) == 1.0
    commented = vlcrc(tmp_path, "#x\n")
    assert is_vlc_recordings_folder(commented, {"recording_file_path": "/home/user/Desktop"}) == 0.0
    assert is_vlc_fullscreen({"width": 1920, "height": 1080}, {"width": 1920, "height": 1080}) == 1.0
    assert is_vlc_fullscreen({"width": 800, "height": 600}, {"width": 1920, "height": 1080}) == 0.0
    assert is_vlc_fullscreen(None, {"width": 1920, "height": 1080}) == 0.0


def test_settings_with_vlc_defaults(tmp_path: Path) -> None:
    empty = vlcrc(tmp_path, "[qt]\n")
    assert check_qt_bgcone(empty, {"expected_qt_bgcone": 1}) == 1.0
    assert check_qt_max_volume(empty, {"expected_qt_max_volume": 125}) == 1.0
    assert check_qt_minimal_view(empty, {"expected_qt_minimal_view": 0}) == 1.0
    one_instance = {"expected_one_instance_when_started_from_file": 1}
    assert check_one_instance_when_started_from_file(empty, one_instance) == 1.0
    assert check_play_and_exit(empty, {"expected_play_and_exit": 1}) == 0.0
    assert check_global_key_play_pause(empty, {"expected_global_key_play_pause": 0}) == 1.0
    changed = vlcrc(tmp_path, "qt-bgcone=0\nqt-max-volume=200\nglobal-key-play-pause=Media Play\n"
                              "play-and-exit=1\n")
    assert check_qt_bgcone(changed, {"expected_qt_bgcone": 0}) == 1.0
    assert check_qt_max_volume(changed, {"expected_qt_max_volume": 200}) == 1.0
    assert check_global_key_play_pause(changed, {"expected_global_key_play_pause": 1}) == 1.0
    assert check_play_and_exit(changed, {"expected_play_and_exit": 1}) == 1.0


def test_slider_colours(tmp_path: Path) -> None:
    dark = vlcrc(tmp_path, "qt-slider-colours=10;10;10;20;20;20;0;0;0;5;5;5\n")
    assert check_qt_slider_colours(dark, {"type": "blackish"}) == 1.0
    default = vlcrc(tmp_path, "")
    assert check_qt_slider_colours(default, {"type": "blackish"}) == 0.0
    match = {"type": "match", "expected_qt_slider_colours": "153;210;153;20;210;20;255;199;15;245;39;29"}
    assert check_qt_slider_colours(default, match) == 1.0
