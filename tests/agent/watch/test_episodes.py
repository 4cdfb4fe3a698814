"""The watch page's data comes from episode folders alone; its server hands out frames and nothing else."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from agent.trajectory.liveness import WriterProcess
from agent.trajectory.store import EpisodeInfo, TrajectoryWriter
from agent.watch.episodes import EpisodeWatcher, last_step
from agent.watch.server import WatchServer, WatchStartError
from tests.agent.trajectory.write_forever import record

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100


def _episode(root: Path, name: str, steps: int, pending_frame: bool) -> TrajectoryWriter:
    writer = TrajectoryWriter(root / name / "trajectory", EpisodeInfo(
        instruction=f"task {name}", model="m", env="xvfb", started_at=time.time(), task_id=name, domain="d"))
    for index in range(steps):
        record_ = record(index, writer.write_frame(index, JPEG, "jpg"))
        writer.append(record_.model_copy(update={"intent": f"intent {index}"}))
    if pending_frame:
        writer.write_frame(steps, JPEG, "jpg")
    return writer


def test_cards_follow_the_files_a_worker_writes(tmp_path: Path) -> None:
    watcher = EpisodeWatcher(tmp_path, since=time.time() - 1)
    thinking = _episode(tmp_path, "a", steps=2, pending_frame=True)
    acting = _episode(tmp_path, "b", steps=1, pending_frame=False)
    with (tmp_path / "a" / "trajectory" / "trajectory.jsonl").open("a") as lines:
        lines.write('{"index": 2, "torn')  # a kill mid-line
    cards = {card.id: card for card in watcher.cards()}
    assert set(cards) == {"a/trajectory", "b/trajectory"}
    a, b = cards["a/trajectory"], cards["b/trajectory"]
    assert (a.task, a.status, a.live, a.steps) == ("d/a", "running", True, 2)
    assert (a.frame, a.intent) == ("frames/0002.jpg", "intent 1")  # the model is asked about frame 2
    assert a.thinking_since is not None and a.actions == ["click(160,240)", f"type {'y' * 40!r}…"]
    assert (b.steps, b.frame, b.thinking_since) == (1, "frames/0000.jpg", None)
    final = acting.write_final_frame(JPEG, "jpg")
    acting.finish("done", answer="ok", final_frame=final)
    thinking.close()
    b = next(c for c in watcher.cards() if c.id == "b/trajectory")
    assert (b.status, b.live, b.frame, b.answer) == ("done", False, "frames/final.jpg", "ok")


def test_an_older_finished_episode_is_not_shown(tmp_path: Path) -> None:
    _episode(tmp_path, "old", steps=1, pending_frame=False).finish("done")
    assert EpisodeWatcher(tmp_path, since=time.time() + 1).cards() == []


def test_last_step_reads_a_long_file_from_its_end(tmp_path: Path) -> None:
    writer = _episode(tmp_path, "long", steps=40, pending_frame=False)  # ~8 kB per line: several tail chunks
    writer.close()
    assert last_step(writer.folder / "trajectory.jsonl").index == 39


def test_the_server_serves_frames_of_found_episodes_only(tmp_path: Path) -> None:
    root = tmp_path / "results"
    _episode(root, "a", steps=1, pending_frame=False)
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    with WatchServer(root, "test") as page:
        get = httpx.Client(base_url=page.url, timeout=10).get
        assert get("/frame", params={"episode": "a/trajectory", "name": "frames/0000.jpg"}).content == JPEG
        for episode, name in (("a/trajectory", "frames/../episode.json"), ("a/trajectory", "episode.json"),
                              ("..", "frames/0000.jpg"), ("a/trajectory", "frames/../../../secret.jpg"),
                              ("/", "frames/0000.jpg")):
            assert get("/frame", params={"episode": episode, "name": name}).status_code == 404
        body = get("/api/episodes").json()
        assert [e["id"] for e in body["episodes"]] == ["a/trajectory"]
        page_html = get("/")
        assert "script-src 'self'" in page_html.headers["content-security-policy"]


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with WatchServer(tmp_path, "first") as page:
        port = int(page.url.rsplit(":", 1)[1].strip("/"))
        expected = f"cannot serve the watch page on 127.0.0.1:{port}: .*--watch-port"
        with pytest.raises(WatchStartError, match=expected):
            WatchServer(tmp_path, "second", port)


def test_an_episode_on_another_host_runs_while_its_files_change(tmp_path: Path) -> None:
    elsewhere = WriterProcess(pid=1234, host="other-node")
    for name, started in (("fresh", time.time()), ("stale", time.time() - 3600)):
        info = EpisodeInfo(instruction=name, model="m", env="xvfb", started_at=started, writer=elsewhere)
        TrajectoryWriter(tmp_path / name, info).close()
    cards = {c.id: c for c in EpisodeWatcher(tmp_path, since=0).cards()}
    assert (cards["fresh"].status, cards["fresh"].live) == ("running", True)
    assert "other-node" in cards["fresh"].status_detail
    assert (cards["stale"].status, cards["stale"].live) == ("unfinished", False)
