"""Loading the packaged text templates and filling their `{{name}}` placeholders."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Mapping

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


class TemplateError(ValueError):
    """A template names a placeholder no value was given for, or is missing."""


@cache
def load(name: str) -> str:
    """The text of `templates/<name>.txt`, with LF line ends and its final newline removed.

    Line ends are normalised so a checkout with CRLF files renders the same bytes, and the
    final newline is dropped because text files end with one but rendered prompts should not.
    """
    resource = files("prompts").joinpath("templates", f"{name}.txt")
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"no prompt template named {name!r} in prompts/templates/") from None
    return text.replace("\r\n", "\n").removesuffix("\n")


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{{name}}` replaced by `values[name]` in a single pass.

    Inserted values are never scanned again, so braces, `$` or placeholder text inside a
    value (an instruction, an error message) come out verbatim.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"the template needs a value for {{{{{name}}}}}")
        return values[name]

    return _PLACEHOLDER.sub(value, template)
