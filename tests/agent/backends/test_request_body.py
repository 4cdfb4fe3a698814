"""The request body built message by message is the same JSON as the whole body serialised at once,
for any text (property test), and a message object sent before is not serialised again."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.backends.chat import ImagePart, ImageURL, Message, TextPart
from agent.backends.request_body import RequestBody

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
parts = st.one_of(texts.map(lambda t: TextPart(text=t)),
                  texts.map(lambda t: ImagePart(image_url=ImageURL(url="data:image/jpeg;base64," + t))))
messages = st.one_of(
    st.builds(Message, role=st.sampled_from(["system", "assistant"]), content=texts),
    st.builds(Message, role=st.just("user"), content=st.lists(parts, min_size=1, max_size=3).map(tuple)),
)
fields = st.dictionaries(texts.filter(lambda k: k != "messages"),
                         st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts),
                         max_size=4)


def whole(fields: dict, sent: list[Message]) -> dict:
    return {**fields, "messages": [m.model_dump(mode="json") for m in sent]}


@given(fields, st.lists(messages, max_size=6), st.lists(messages, max_size=3))
def test_the_body_is_the_whole_request_as_json(head: dict, first: list[Message], added: list[Message]) -> None:
    body = RequestBody()
    assert json.loads(body.encode(head, first)) == whole(head, first)
    assert json.loads(body.encode(head, first + added)) == whole(head, first + added)  # reusing the first


def test_only_new_messages_are_serialised(monkeypatch: pytest.MonkeyPatch) -> None:
    serialised: list[str] = []
    original = Message.model_dump_json

    def counting(self: Message, **kwargs: object) -> str:
        serialised.append(self.role)
        return original(self, **kwargs)

    monkeypatch.setattr(Message, "model_dump_json", counting)
    body = RequestBody()
    screenshot = ImagePart(image_url=ImageURL(url="data:image/jpeg;base64," + "A" * 100_000))
    history = [Message(role="system", content="act"), Message(role="user", content=(screenshot,))]
    body.encode({"model": "m"}, history)
    assert serialised == ["system", "user"]
    # the next request resends the very same message objects, as the history hands them back
    again = [*history, Message(role="assistant", content="click")]
    body.encode({"model": "m"}, again)
    assert serialised == ["system", "user", "assistant"]
    # a message equal to one sent but not the same object is serialised: messages are found by identity
    body.encode({"model": "m"}, [Message(role="system", content="act"), *again[1:]])
    assert serialised == ["system", "user", "assistant", "system"]


def test_messages_cannot_be_given_as_a_field() -> None:
    with pytest.raises(ValueError, match="separately"):
        RequestBody().encode({"messages": []}, [])
