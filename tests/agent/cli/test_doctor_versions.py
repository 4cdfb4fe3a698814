"""`doctor` compares vLLM/transformers with what the checkpoint is known to need, for a local server only."""

from __future__ import annotations

from importlib import metadata

import pytest

from agent.backends.checkpoints import checkpoint_for
from agent.cli import doctor


def test_version_specifiers() -> None:
    assert doctor.meets("0.9.2", ">=0.9.1") and not doctor.meets("0.8.5", ">=0.9.1")
    assert doctor.meets("4.51.3", ">=4.48.2,<4.54") and not doctor.meets("4.54.0", ">=4.48.2,<4.54")
    assert doctor.meets("0.17.0+cu130", ">=0.15.0") and doctor.meets("0.16.0rc1", ">=0.15.0")
    k2 = "!=5.4.*,!=5.5.0,!=5.5.1"
    assert not doctor.meets("5.5.1", k2) and not doctor.meets("5.4.2", k2) and doctor.meets("5.5.4", k2)
    assert not doctor.meets("not-a-version", ">=1")


def test_is_local() -> None:
    assert doctor.is_local("http://127.0.0.1:8000/v1") and doctor.is_local("http://localhost:8000/v1")
    assert doctor.is_local("http://[::1]:8000/v1")
    assert not doctor.is_local("http://10.0.0.5:8000/v1")
    assert not doctor.is_local("https://api.example.org/v1")


def fake_versions(monkeypatch: pytest.MonkeyPatch, versions: dict[str, str]) -> None:
    def version(name: str) -> str:
        if name not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(doctor.metadata, "version", version)


def test_versions_are_checked_against_the_checkpoints_requirements(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_versions(monkeypatch, {"vllm": "0.10.0", "transformers": "4.57.1", "tiktoken": "0.9.0"})
    kimi_vl = checkpoint_for("moonshotai/Kimi-VL-A3B-Thinking-2506")
    by_name = {c.name: c for c in doctor.check_packages(kimi_vl)}
    assert by_name["vllm"].status == "ok"
    assert by_name["transformers"].status == "fail" and "4.51.3" in by_name["transformers"].fix
    assert by_name["blobfile"].status == "warn"
    by_name = {c.name: c for c in doctor.check_packages(checkpoint_for("moonshotai/Kimi-K2.5"))}
    assert by_name["vllm"].status == "fail" and "vllm>=0.15.0" in by_name["vllm"].fix
    assert by_name["transformers"].status == "ok"


def test_a_remote_server_gets_no_vllm_library_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_versions(monkeypatch, {})
    names = [c.name for c in doctor.run_checks("http://192.0.2.1:9/v1", "moonshotai/Kimi-K2.5")]
    assert "vllm" not in names and "transformers" not in names and "gpu" not in names and "serving" in names
    local = doctor.run_checks("http://127.0.0.1:9/v1", "unknown-model")
    assert {"vllm", "transformers"} <= {c.name for c in local}
    [model] = [c for c in local if c.name == "model"]
    assert model.status == "warn" and "unknown model" in model.detail
