"""The one canonical key-name table: pyautogui's names, plus a few common aliases."""

from __future__ import annotations

import string

# pyautogui 0.9.54 KEY_NAMES, multi-character names only; single printable characters are
# accepted separately below.
NAMED_KEYS: frozenset[str] = frozenset(
    """
    accept add alt altleft altright apps backspace browserback browserfavorites
    browserforward browserhome browserrefresh browsersearch browserstop capslock clear
    convert ctrl ctrlleft ctrlright decimal del delete divide down end enter esc escape
    execute f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19 f20 f21 f22
    f23 f24 final fn hanguel hangul hanja help home insert junja kana kanji launchapp1
    launchapp2 launchmail launchmediaselect left modechange multiply nexttrack nonconvert
    num0 num1 num2 num3 num4 num5 num6 num7 num8 num9 numlock pagedown pageup pause pgdn
    pgup playpause prevtrack print printscreen prntscrn prtsc prtscr return right
    scrolllock select separator shift shiftleft shiftright sleep space stop subtract tab
    up volumedown volumemute volumeup win winleft winright yen command option optionleft
    optionright
    """.split()
)

# Names models and people often write that pyautogui does not know; each maps to the
# pyautogui key it means.
ALIASES: dict[str, str] = {
    "control": "ctrl",
    "ctl": "ctrl",
    "cmd": "command",
    "super": "win",
    "meta": "win",
    "windows": "win",
    "arrowup": "up",
    "arrowdown": "down",
    "arrowleft": "left",
    "arrowright": "right",
    "page_up": "pageup",
    "page_down": "pagedown",
    "pgdown": "pagedown",
    "back_space": "backspace",
    "caps_lock": "capslock",
    "num_lock": "numlock",
    "scroll_lock": "scrolllock",
    "print_screen": "printscreen",
    "ins": "insert",
    "spacebar": "space",
}

# Single characters pyautogui can press: printable ASCII plus the whitespace it maps.
SINGLE_KEYS: frozenset[str] = frozenset(
    c for c in string.printable if c not in "\x0b\x0c"
)


class UnknownKeyError(ValueError):
    """A key name that is neither in pyautogui's table nor a known alias."""


def canonical_key(name: str) -> str:
    """Return pyautogui's name for `name`, or raise `UnknownKeyError`."""
    if name in SINGLE_KEYS:
        return name
    folded = name.strip().lower().replace("-", "_").replace(" ", "_")
    if folded in NAMED_KEYS:
        return folded
    if folded in ALIASES:
        return ALIASES[folded]
    if folded.replace("_", "") in NAMED_KEYS:
        return folded.replace("_", "")
    raise UnknownKeyError(f"unknown key {name!r}; use pyautogui key names such as 'enter', 'ctrl', 'a'")
