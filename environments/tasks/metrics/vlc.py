"""Metrics of OSWorld's VLC tasks: what is playing (status.xml), settings in vlcrc, full screen."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lxml import etree

from environments.tasks.registry import metric

META = 'information/category[@name="meta"]/info[@name="{}"]'
FILE_FIELDS = ("filename", "title", "uri", "location", "name")
URL_FIELDS = ("url", "URI", "location", "title", "filename")
STREAM_FIELDS = ("Codec", "Type", "Language")
SLIDER_DEFAULT = "153;210;153;20;210;20;255;199;15;245;39;29"
BLACKISH_BELOW = 100


def _first_info(tree: Any, paths: list[str]) -> str | None:
    for path in paths:
        element = tree.find(path)
        if element is not None and element.text:
            return element.text
    return None


def _plays_file(info: str, name: str) -> bool:
    return posixpath.basename(info) == name or info.endswith(name)


def _plays_url(info: str, url: str) -> bool:
    if url in info or info.endswith(url):
        return True
    expected = urlparse(url)
    if info == posixpath.basename(expected.path):
        return True  # HLS streams show only the playlist's file name
    if "://" in info:
        actual = urlparse(info)
        return expected.netloc == actual.netloc and expected.path in actual.path
    return False


@metric("is_vlc_playing")
def is_vlc_playing(result: str, rule: dict[str, str]) -> float:
    """1 when VLC's state is "playing" and its meta (or stream) information names the expected file
    (`file_name`) or URL (`url`)."""
    tree = etree.fromstring(Path(result).read_bytes())
    if tree.findtext("state") != "playing":
        return 0.0
    if rule["type"] == "file_name":
        info = _first_info(tree, [META.format(field) for field in FILE_FIELDS])
        return float(info is not None and _plays_file(info, rule["file_name"]))
    if rule["type"] == "url":
        paths = [META.format(f) for f in URL_FIELDS]
        paths += [f'information/category[@name="Stream 0"]/info[@name="{f}"]' for f in STREAM_FIELDS]
        info = _first_info(tree, paths)
        return float(info is not None and _plays_url(info, rule["url"]))
    return 0.0


def _setting(path: str, key: str, default: str) -> str:
    """The value of the last vlcrc line containing `key` (commented or not, as OSWorld reads it)."""
    value = default
    for line in Path(path).read_bytes().decode("utf-8").split("\n"):
        if key in line:
            value = line.split("=")[-1].strip()
    return value


def _expected(rule: dict[str, Any], key: str) -> str:
    value = rule[key]
    return str(value) if isinstance(value, int) else value


@metric("is_vlc_recordings_folder")
def is_vlc_recordings_folder(result: str, rule: dict[str, str]) -> float:
    """1 when the first uncommented `input-record-path` line names the expected folder."""
    for line in Path(result).read_bytes().decode("utf-8").split("\n"):
        if line.startswith("#") or not line.strip():
            continue
        if "input-record-path" in line:
            return float(line.split("=")[-1].strip() == rule["recording_file_path"])
    return 0.0


@metric("is_vlc_fullscreen")
def is_vlc_fullscreen(window_size: dict[str, int] | None, screen_size: dict[str, int] | None) -> float:
    """1 when VLC's window is as large as the screen."""
    if window_size is None or screen_size is None:
        return 0.0
    same_width = window_size["width"] == screen_size["width"]
    return float(same_width and window_size["height"] == screen_size["height"])


@metric("check_qt_bgcone")
def check_qt_bgcone(result: str, rule: dict[str, Any]) -> float:
    return float(_setting(result, "qt-bgcone=", "1") == _expected(rule, "expected_qt_bgcone"))


@metric("check_qt_max_volume")
def check_qt_max_volume(result: str, rule: dict[str, Any]) -> float:
    return float(_setting(result, "qt-max-volume=", "125") == _expected(rule, "expected_qt_max_volume"))


@metric("check_qt_minimal_view")
def check_qt_minimal_view(result: str, rule: dict[str, Any]) -> float:
    return float(_setting(result, "qt-minimal-view=", "0") == _expected(rule, "expected_qt_minimal_view"))


@metric("check_qt_video_resize")
def check_qt_video_resize(result: str, rule: dict[str, Any]) -> float:
    """WAA's: the `qt-video-autoresize` setting is the expected one; a vlcrc without the line reads
    as "0" there (VLC's own default is 1), and so it does here."""
    return float(_setting(result, "qt-video-autoresize=", "0") == _expected(rule, "qt-video-autoresize"))


@metric("check_one_instance_when_started_from_file")
def check_one_instance_when_started_from_file(result: str, rule: dict[str, Any]) -> float:
    key = "expected_one_instance_when_started_from_file"
    return float(_setting(result, "one-instance-when-started-from-file=", "1") == _expected(rule, key))


@metric("check_play_and_exit")
def check_play_and_exit(result: str, rule: dict[str, Any]) -> float:
    return float(_setting(result, "play-and-exit=", "0") == _expected(rule, "expected_play_and_exit"))


@metric("check_global_key_play_pause")
def check_global_key_play_pause(result: str, rule: dict[str, Any]) -> float:
    """"1" when a global play/pause key is set, "0" when its value is empty or absent."""
    raw = _setting(result, "global-key-play-pause=", "")
    return float(("1" if raw else "0") == _expected(rule, "expected_global_key_play_pause"))


@metric("check_qt_slider_colours")
def check_qt_slider_colours(result: str, rule: dict[str, Any]) -> float:
    """The slider colours equal the expected string (`match`), or every colour is dark (`blackish`)."""
    colours = _setting(result, "qt-slider-colours", SLIDER_DEFAULT)
    if rule["type"] == "match":
        return float(colours == rule["expected_qt_slider_colours"])
    if rule["type"] == "blackish":
        try:
            values = [int(part) for part in colours.split(";")]
        except ValueError:
            return 0.0
        colours_rgb = zip(values[0::3], values[1::3], values[2::3])
        return float(all(v < BLACKISH_BELOW for rgb in colours_rgb for v in rgb))
    return 0.0
