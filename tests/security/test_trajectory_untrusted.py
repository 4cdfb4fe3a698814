"""A trajectory folder may come from someone else. Reading it yields steps or skipped lines,
its frames never come from outside the folder, and the HTML page shows every model string as
text: whatever the thought, reply, typed text or answer, the page has the same elements and
attributes as a page of plain text, so no script, event handler or link can be smuggled in."""

from __future__ import annotations

import base64
import io
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from actions.coords import Frame, locate
from actions.models import Click, Done, Point, TypeText
from agent.backends.chat import Completion, ImagePart, ImageURL, Message, Sampling, TextPart
from agent.trajectory.store import (
    EPISODE_FILE, TRAJECTORY_FILE, Attempt, EpisodeInfo, RequestRecord, StepRecord, TrajectoryReadError,
    TrajectoryWriter, read_trajectory,
)
from agent.view import render_html

EXAMPLES = int(os.environ.get("KIMI_PROPERTY_EXAMPLES", "6000")) // 100
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                    derandomize=os.environ.get("CI") == "true")
HTMLISH = st.lists(st.sampled_from(
    ["<", ">", "/", '"', "'", "=", " ", "&", ";", "#", "\n", "\u2028", "`", "{{", "}}", "{%", "%}", "<!--", "-->",
     "]]>", "<![CDATA[", "script", "img", "svg", "onerror", "onload", "src", "href", "javascript:", "x", "a",
     "alert(1)", "</textarea>", "</style>", "</script>", "<iframe", "<base href=", "<meta http-equiv=refresh",
     "&#x3C;", "\\u003c", "\x00", "é", "\ufeff"]), max_size=40).map(lambda parts: "m" + "".join(parts) + "m")  # non-empty, as the plain page's text
PLAIN = "plain text"


def jpeg(colour: str = "white") -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (320, 200), colour).save(data, "JPEG")
    return data.getvalue()


def step(index: int, frame: str, text: str) -> StepRecord:
    point = Point(x=0.25, y=0.5, space="relative")
    chain = locate(point, Frame.of_size(320, 200))
    reply = f"◁think▷{text}◁/think▷## Action:\n{text}\n## Code:\n```python\npyautogui.write({text!r})\n```"
    return StepRecord(
        index=index, started_at=1.0 + index, ended_at=1.5 + index, screenshot=frame, frame=Frame.of_size(320, 200),
        request=RequestRecord(model=text, messages=[
            Message(role="system", content=text),
            Message(role="user", content=(TextPart(text=text), ImagePart(image_url=ImageURL(url=frame)))),
        ], sampling=Sampling()),
        response=Completion(text=reply, reasoning=text), attempts=[Attempt(response=Completion(text=text), error=text)],
        thought=text, intent=text, actions=[Click(at=point), TypeText(text=text[:10_000]), Done(answer=text)],
        coordinates=[chain, None, None], error=text,
    )


def episode(root: Path, text: str) -> Path:
    """A two-step episode with `text` in every string a model or a task can put there."""
    info = EpisodeInfo(instruction=text or "x", model=text, env=text, started_at=1.0, task_id=text, domain=text)
    with TrajectoryWriter(root, info) as writer:
        for index in range(2):
            writer.append(step(index, writer.write_frame(index, jpeg(), "jpg"), text))
        writer.finish("done", answer=text, error=text)
    return root


class Shape(HTMLParser):
    """The page's elements with their attribute names, and every URL-valued attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, tuple[str, ...]]] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, tuple(sorted(name for name, _ in attrs))))
        self.urls += [value or "" for name, value in attrs if name in ("href", "src", "action", "formaction", "xlink:href")]


def shape_of(page: Path) -> Shape:
    shape = Shape()
    shape.feed(page.read_text(encoding="utf-8"))
    shape.close()
    return shape


def test_the_plain_page_has_one_script_and_no_handlers(tmp_path: Path) -> None:
    shape = shape_of(render_html(read_trajectory(episode(tmp_path, PLAIN)), tmp_path / "page.html"))
    assert [e for e in shape.elements if e[0] == "script"] == [("script", ())]
    assert not any(name.startswith("on") for _, names in shape.elements for name in names)


@pytest.fixture(scope="module")
def plain_shape(tmp_path_factory: pytest.TempPathFactory) -> Shape:
    folder = episode(tmp_path_factory.mktemp("plain"), PLAIN)
    return shape_of(render_html(read_trajectory(folder), folder / "page.html"))


@SETTINGS
@given(text=HTMLISH)
def test_model_text_never_changes_the_page_structure(tmp_path_factory: pytest.TempPathFactory, plain_shape: Shape,
                                                     text: str) -> None:
    plain = plain_shape
    folder = episode(tmp_path_factory.mktemp("hostile"), text)
    hostile = shape_of(render_html(read_trajectory(folder), folder / "page.html"))
    assert hostile.elements == plain.elements  # no element or attribute (script, onerror, href…) was added
    assert all(url.startswith(("data:image/jpeg;base64,", "#step-")) for url in hostile.urls)


def lines_of(folder: Path) -> list[str]:
    return (folder / TRAJECTORY_FILE).read_text(encoding="utf-8").splitlines(keepends=True)


@SETTINGS
@given(cut=st.integers(0, 4000), junk=st.binary(max_size=200), which=st.integers(0, 1),
       replacement=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                                max_leaves=10))
def test_damaged_step_lines_are_skipped(tmp_path_factory: pytest.TempPathFactory, cut: int, junk: bytes, which: int,
                                        replacement: object) -> None:
    folder = episode(tmp_path_factory.mktemp("damaged"), PLAIN)
    lines = lines_of(folder)
    damaged = [line.encode() for line in lines]
    damaged[which] = damaged[which][:cut] + junk + b"\n" + json.dumps(replacement).encode() + b"\n"
    (folder / TRAJECTORY_FILE).write_bytes(b"".join(damaged))
    trajectory = read_trajectory(folder)
    assert len(trajectory.steps) + trajectory.torn_lines >= 1
    assert 1 - which in [s.index for s in trajectory.steps]  # the intact line always survives
    render_html(trajectory, folder / "page.html")


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"instruction": ' * 20_000])
def test_deeply_nested_step_lines_are_skipped(tmp_path: Path, raw: bytes) -> None:
    folder = episode(tmp_path, PLAIN)
    with open(folder / TRAJECTORY_FILE, "ab") as f:
        f.write(raw + b"\n")
    trajectory = read_trajectory(folder)
    assert len(trajectory.steps) == 2 and trajectory.torn_lines == 1


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[]", b'{"instruction": 5}', b"null",
                                 b"[" * 100_000])
def test_a_damaged_episode_file_is_a_value_error(tmp_path: Path, raw: bytes) -> None:
    folder = episode(tmp_path, PLAIN)
    (folder / EPISODE_FILE).write_bytes(raw)
    with pytest.raises(TrajectoryReadError, match=EPISODE_FILE):  # `kimi-agent view` says "cannot view", exit status 2
        read_trajectory(folder)


@SETTINGS
@given(raw=st.binary(max_size=300) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["instruction", "model", "env", "started_at", "format_version", "outcome", "x"]), inner, max_size=6),
    max_leaves=12).map(lambda doc: json.dumps(doc).encode()))
def test_any_episode_file_reads_or_is_a_value_error(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    folder = episode(tmp_path_factory.mktemp("episode"), PLAIN)
    (folder / EPISODE_FILE).write_bytes(raw)
    try:
        trajectory = read_trajectory(folder)
    except ValueError:
        return
    assert len(trajectory.steps) == 2


@pytest.mark.parametrize("frames_beside", [False, True])
def test_frames_never_come_from_outside_the_folder(tmp_path: Path, frames_beside: bool) -> None:
    secret = jpeg("red")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(secret)
    folder = episode(tmp_path / "shared", PLAIN)
    lines = lines_of(folder)
    records = [json.loads(line) for line in lines]
    records[0]["screenshot"] = "../outside/secret.jpg"
    records[1]["screenshot"] = str(outside / "secret.jpg")
    extra = dict(records[1], index=2, screenshot="frames/link.jpg")
    (folder / "frames" / "link.jpg").symlink_to(outside / "secret.jpg")
    (folder / TRAJECTORY_FILE).write_text("".join(json.dumps(r) + "\n" for r in [*records, extra]), encoding="utf-8")
    out = tmp_path / "page" / "page.html"
    try:
        trajectory = read_trajectory(folder)
        page = render_html(trajectory, out, frames_beside=frames_beside).read_text(encoding="utf-8")
    except TrajectoryReadError as err:
        assert "outside the episode folder" in str(err)
        return
    assert base64.b64encode(secret).decode() not in page
    assert not any(p.read_bytes() == secret for p in out.parent.rglob("*.jpg"))
