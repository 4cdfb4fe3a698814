"""A chat request's body as bytes, each message serialised once.

An agent's request only grows: each step appends a screenshot (a few hundred KB of base64) and a
reply, and sends everything before it again. Serialising the whole body every step cost about 4 ms
with six screenshots in it; messages are frozen, so the JSON of each is kept from the request before
and only the new ones are serialised. Only the last request's messages are kept, so memory stays that
of one request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agent.backends.chat import Message


class RequestBody:
    """Builds `{**fields, "messages": [...]}` as JSON bytes, reusing the previous call's messages."""

    def __init__(self) -> None:
        self._serialised: dict[Message, bytes] = {}

    def encode(self, fields: Mapping[str, Any], messages: Sequence[Message]) -> bytes:
        if "messages" in fields:
            raise ValueError("messages are given separately")
        kept: dict[Message, bytes] = {}
        for message in messages:
            data = self._serialised.get(message)
            kept[message] = data if data is not None else message.model_dump_json().encode()
        self._serialised = kept
        listed = b",".join(kept[message] for message in messages)
        head = json.dumps({**fields, "messages": None}).encode()
        return head[: -len(b"null}")] + b"[" + listed + b"]}"
