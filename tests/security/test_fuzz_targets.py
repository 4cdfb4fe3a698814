"""The atheris harnesses' targets (benchmarks/fuzz) on their seed inputs and on inputs the fuzzers
found interesting, so the harnesses keep working without atheris installed and past findings
stay fixed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.fuzz.targets import SEEDS, TARGETS, close

REGRESSIONS = {
    "server": [
        # found by atheris: malformed request lines were answered HTTP/0.9-style, with no status line
        b"GET /probe HTTP/5.1\r\nHnst: localhost\r\n\r\n",
        b"GET /probe HTTP/1.1\r\nH\x00\r\n\r\nPOST /fil\x04_existu HTTP/1.\x901\r\n\xff\xffHostst\r\n\r\n",
        b"\x90\r\n\r\n",
        b"POST e_e\x8b HTTP/0.9\nHost: yp: \r\n\r\n",  # an explicit HTTP/0.9 request was answered without a status line
        b"GET /POST /setup/upload HTTP/0.9\r\nContent-Type: multipart/f\x01\x00oArm-data; ary=b\r\nContent-Length: 9\rrm-\xb9\r\n\r\n--",
        b"GET /probe\r\n\r\n",
        b"POST /file HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nfile_path",
        b"POST /setup/upload HTTP/1.1\r\nContent-Type: multipart/form-data\r\nContent-Length: 4\r\n\r\nabcd",
        b'POST /file_exists HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"path": null}',
        b"",
    ],
    "parser": [b"\x01" + b"-" * 5000 + b"1", b"\x01\x00", b"\x00\xff\xfe"],
    "tasks": [b'{"os": ["' + b"x" * 5000 + b'"]}', b'{"..": ["a"]}', b"9" * 5000],
}


@pytest.fixture(scope="module", autouse=True)
def _release_targets() -> Iterator[None]:
    yield
    close()


@pytest.mark.parametrize(("target", "data"), [(t, d) for t, seeds in SEEDS.items() for d in seeds]
                         + [(t, d) for t, found in REGRESSIONS.items() for d in found])
def test_targets_accept_their_inputs(target: str, data: bytes) -> None:
    TARGETS[target](data)  # raises Finding (or any unexpected exception) on a misbehaviour
