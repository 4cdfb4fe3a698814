"""A chat request's body as bytes, each message serialised once.

An agent's request only grows: each step appends a screenshot (a few hundred KB of base64) and a
reply, and sends everything before it again. Serialising the whole body every step cost about 4 ms
with six screenshots in it; messages are frozen, so the JSON of each is kept from the request before
and only the new ones are serialised. Only the last request's messages are kept, so memory stays that
of one request.

Messages are found again by identity, not by value: the history hands back the very objects it sent
before, and hashing and comparing a pydantic message (field by field, down to a screenshot's data
URL) cost more than serialising the new ones. Each kept entry holds its message, so no id is reused
while it is kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agent.backends.chat import Message


class RequestBody:
    """Builds `{**fields, "messages": [...]}` as JSON bytes, reusing the previous call's messages."""

    def __init__(self) -> None:
        self._serialised: dict[int, tuple[Message, bytes]] = {}

    def encode(self, fields: Mapping[str, Any], messages: Sequence[Message]) -> bytes:
        if "messages" in fields:
            raise ValueError("messages are given separately")
        kept: dict[int, tuple[Message, bytes]] = {}
        head = json.dumps({**fields, "messages": None}).encode()
        pieces = [head[: -len(b"null}")] + b"["]
        for message in messages:
            entry = self._serialised.get(id(message)) or kept.get(id(message))
            if entry is None:
                entry = (message, message.model_dump_json().encode())
            kept[id(message)] = entry
            pieces += (entry[1], b",")
        self._serialised = kept
        if messages:
            pieces.pop()  # the comma after the last message
        pieces.append(b"]}")
        return b"".join(pieces)  # one copy of the whole body: a ~2 MB body is not joined twice
