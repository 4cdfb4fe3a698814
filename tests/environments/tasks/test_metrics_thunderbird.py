"""Thunderbird task metrics (metrics/thunderbird.py) on generated profile files."""

from __future__ import annotations

from pathlib import Path

from environments.tasks.metrics.thunderbird import (
    check_thunderbird_filter, check_thunderbird_folder, check_thunderbird_prefs,
)

PREFS = '''// Mozilla User Preferences
user_pref("mail.identity.id1.htmlSigText", "Anonym\\nXYZ Lab");
user_pref("mail.identity.id1.auto_quote", false);
user_pref("mail.server.default.autosync_offline_stores", false);
'''

FILTERS = '''version="9"
logging="no"
name="discount"
enabled="yes"
type="17"
action="Move to folder"
actionValue="mailbox://nobody@Local%20Folders/Promotions"
condition="AND (subject,contains,discount)"
'''


def test_prefs_expect_and_unexpect(tmp_path: Path) -> None:
    prefs = tmp_path / "prefs.js"
    prefs.write_text(PREFS)
    assert check_thunderbird_prefs(str(prefs), {"expect": {
        "mail.identity.id1.htmlSigText": {"method": "re.S", "ref": "Anonym\\nXYZ Lab"},
        "mail.identity.id1.auto_quote": {"method": "eq", "ref": False}}}) == 1.0
    theme = {"expect": {"extensions.activeThemeID": {"method": "re", "ref": "dark"}}}
    assert check_thunderbird_prefs(str(prefs), theme) == 0.0
    assert check_thunderbird_prefs(str(prefs), {"unexpect": {"mail.server.default.autosync_offline_stores": {
        "method": "eq", "ref": False}}}) == 0.0
    assert check_thunderbird_prefs(None, {}) == 0.0


def test_filters_are_read_from_msg_filter_rules(tmp_path: Path) -> None:
    rules = tmp_path / "msgFilterRules.dat"
    rules.write_text(FILTERS)
    expected = {"enabled": "yes", "action": "Move to folder",
                "actionValue": "mailbox://nobody@Local%20Folders/Promotions",
                "condition": ["AND (subject,contains,discount)"]}
    assert check_thunderbird_filter(str(rules), {"expect": [expected]}) == 1.0
    assert check_thunderbird_filter(str(rules), {"expect": [{**expected, "action": "Forward"}]}) == 0.0
    assert check_thunderbird_filter(str(rules), {"unexpect": [{"name": "discount"}]}) == 0.0
    assert check_thunderbird_filter(None, {}) == 0.0


def test_folder_comparison_keeps_osworld_reading(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    gold.write_text("FROM - Mon\nSubject: a\n\nFROM - Tue\nSubject: b\n")
    other = tmp_path / "other"
    other.write_text("FROM - Wed\nSubject: c\n")
    assert check_thunderbird_folder(str(gold), str(gold)) == 1.0
    # OSWorld keeps only the empty pieces between markers, so different messages still compare equal.
    assert check_thunderbird_folder(str(other), str(gold)) == 1.0
    assert check_thunderbird_folder([str(other), None], [str(gold), str(gold)]) == 0.0
