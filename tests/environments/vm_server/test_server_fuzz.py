"""Untrusted requests against our VM server: whatever the body, path or headers, the answer is
a clear HTTP status (never a dropped connection or a traceback), and nothing outside the
served roots is read or written. Routes that run commands by design are left out here; the
explicit refusals (traversal, sizes, JSON, content types, tokens, browsers) are in
tests/security/test_server_refusals.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from actions.models import action_adapter
from environments.vm_server.server import VMServer

FILE_ROUTES = ["/file", "/setup/upload", "/list_directory", "/setup/create_folder", "/setup/create_file",
               "/setup/recycle", "/file_exists", "/folder_exists", "/setup/open_file", "/setup/download_file"]
BODY_ROUTES = [*FILE_ROUTES, "/settle", "/act"]
"""Routes fuzzed with raw bodies: the file routes, /settle (which waits on the display, 501 without one) and
/act (which takes a typed action, never code)."""
TOKEN = "kimi-outside-token-91c3"
EXPECTED = {200, 400, 401, 403, 404, 411, 413, 415, 500, 501}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
bad_waits = st.one_of(
    st.fixed_dictionaries({"max_seconds": json_values.filter(
        lambda v: isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 20)}),
    json_values.filter(lambda v: v is not None and not isinstance(v, dict)),  # None: httpx sends no body
)
"""/settle bodies that are no wait of 0-20 s (a valid one, or none, would wait on the display)."""


def _is_action(body: object) -> bool:
    if not isinstance(body, dict) or "action" not in body:
        return False
    try:
        action_adapter().validate_python(body["action"])
    except ValidationError:
        return False
    return True


not_actions = st.one_of(json_values, st.fixed_dictionaries({"action": json_values}),
                        st.fixed_dictionaries({"action": st.fixed_dictionaries({"type": st.sampled_from(
                            ["click", "type", "press", "hotkey", "scroll", "drag", "wait"])}, optional={
                            "text": json_values, "keys": json_values, "at": json_values, "seconds": json_values})})
                        ).filter(lambda body: not _is_action(body))
"""/act bodies that are no action (a valid one would act on a display)."""
paths = st.one_of(
    st.sampled_from(["/etc/passwd", "../../etc/shadow", "~/.ssh/id_rsa", "/", "", ".", "/proc/self/environ"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    root = tmp_path_factory.mktemp("served")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text(TOKEN)
    vm = VMServer(("127.0.0.1", 0), None, [root])
    thread = threading.Thread(target=vm.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{vm.server_address[1]}", root, outside
    vm.shutdown()
    vm.server_close()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for all requests: a new client per request costs more than the request."""
    with httpx.Client(timeout=10) as client:
        yield client


def snapshot(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(FILE_ROUTES), body=json_values)
def test_any_json_body_gets_a_clear_answer(server, http, route: str, body: object) -> None:
    url, _, outside = server
    before = snapshot(outside)
    answer = http.post(url + route, json=body)
    assert answer.status_code in EXPECTED
    assert snapshot(outside) == before


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths, data=st.binary(max_size=64))
def test_file_routes_never_leave_the_root(server, http, path: str, data: bytes) -> None:
    url, root, outside = server
    before = snapshot(outside)
    for target in (path, str(outside / "secret.txt"), str(root / ".." / outside.name / "x")):
        upload = http.post(url + "/setup/upload", data={"file_path": target}, files={"file_data": ("f", data)})
        read = http.post(url + "/file", data={"file_path": target})
        assert upload.status_code in EXPECTED and read.status_code in EXPECTED
        assert TOKEN.encode() not in read.content
    assert snapshot(outside) == before
    assert (outside / "secret.txt").read_text() == TOKEN


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bad_waits)
def test_a_bad_settle_wait_is_a_400(server, http, body: object) -> None:
    answer = http.post(server[0] + "/settle", json=body)
    assert answer.status_code == 400 and answer.json()["message"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=not_actions)
def test_anything_but_an_action_is_a_400_at_act(server, http, body: object) -> None:
    answer = http.post(server[0] + "/act", json=body)
    assert answer.status_code == 400 and answer.json()["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300), route=st.sampled_from(BODY_ROUTES + ["/nowhere"]))
def test_raw_bytes_and_bad_headers_are_refused_cleanly(server, http, raw: bytes, route: str) -> None:
    url, _, _ = server
    for ctype in ("application/json", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain"):
        answer = http.post(url + route, content=raw, headers={"content-type": ctype})
        assert answer.status_code in EXPECTED
