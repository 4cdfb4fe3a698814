"""Option models of the metrics in this package's app modules, with OSWorld's defaults.

Flags keep OSWorld's truthiness (it reads them with `options.get(key, default)` and `if`)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from environments.tasks.parameters import Params, Truthy


class JsonFileOptions(Params):
    """check_json."""

    is_yaml: Truthy = False


class LiteralOptions(Params):
    """literal_match."""

    type: str = "str"
    ignore_case: Truthy = False


class AccessibilityOptions(Params):
    """check_accessibility_tree: whose namespaces the tree's attributes use."""

    osname: Literal["ubuntu", "windows", "macos"] = "ubuntu"


class PassThroughOptions(Params):
    """Options handed on unchanged to another metric (compare_archive's per-file metric)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    file_type: str = "text"
    file_path: str = ""


class ConfigTextOptions(Params):
    """compare_config: `containment_ok` (the default) accepts an expected JSON subset or substring."""

    containment_ok: Truthy = True


class TestSuiteOptions(Params):
    """check_python_file_by_test_suite: the test file's function to call."""

    test_function_name: str = "test"


class MailFolderOptions(Params):
    """check_thunderbird_folder."""

    ignore_status: Truthy = False
    ignore_keys: Truthy = False
    remove_deleted: Truthy = True
    remove_duplicate: Truthy = True


class HtmlOptions(Params):
    """compare_htmls."""

    ignore_sdnum: Truthy = False


class SsimThresholdOptions(Params):
    """check_structure_sim_with_threshold."""

    ssim_threshold: float = 0.85


class TabstopOptions(Params):
    """check_tabstops: optionally, how many words each paragraph's `index`-th tab-separated part holds."""

    word_number_split_by_tabstop: int | None = None
    index: int = 0


class ColouredWordsOptions(Params):
    """evaluate_colored_words_in_tables: the CIEDE2000 distance still counted as the right colour."""

    threshold: float = 3.5


class NewLinesOptions(Params):
    """compare_docx_files_and_ignore_new_lines."""

    ignore_blanks: Truthy = True


class ReferencesOptions(Params):
    """compare_references: the heading that starts the references, and the similarity scored as 0."""

    reference_indicator: str = "References"
    reference_base_result: float = 0.5
