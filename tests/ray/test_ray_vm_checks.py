"""What a Ray actor checks before it boots a VM on its node (the run's image: there, and the same file), and
how the driver reports an actor that could not start (the actor's own error, not Ray's preamble)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.evaluation.options import VMSpec
from agent.evaluation.ray_executor import ImageNotOnNode, _cause, check_image


def test_an_actor_refuses_to_boot_a_vm_from_an_image_its_node_lacks_or_holds_another_version_of(
        tmp_path: Path) -> None:
    image = tmp_path / "base.qcow2"
    image.write_bytes(b"the driver's image")
    digest = hashlib.sha256(b"the driver's image").hexdigest()
    check_image(VMSpec("qemu", image=image), digest)  # the same file: fine
    check_image(VMSpec("url"), None)  # nothing to boot
    check_image(None, None)
    with pytest.raises(ImageNotOnNode, match=r"has no VM image at .*missing\.qcow2: copy the driver's image"):
        check_image(VMSpec("qemu", image=tmp_path / "missing.qcow2"), digest)
    with pytest.raises(ImageNotOnNode, match=r"not the driver's image \(sha256 \w{12}…, the driver's 0000"):
        check_image(VMSpec("qemu", image=image), "0" * 64)


class ActorDiedError(Exception):
    """Stands in for Ray's: its text quotes the traceback of the actor's `__init__`."""


def test_an_actor_that_could_not_start_is_reported_by_its_own_error() -> None:
    died = ActorDiedError(
        "The actor died because of an error raised in its creation task, \x1b[36mray::TaskActor.__init__()"
        "\x1b[39m (pid=1, ip=127.0.0.1, actor_id=ab, repr=<TaskActor>)\n  File \"ray_executor.py\", line 1\n"
        "agent.evaluation.ray_executor.ImageNotOnNode: node-2 has no VM image at /images/base.qcow2: copy it")
    assert _cause(died) == ("ActorDiedError: the actor could not start: agent.evaluation.ray_executor."
                            "ImageNotOnNode: node-2 has no VM image at /images/base.qcow2: copy it")
    assert _cause(ActorDiedError("The actor died unexpectedly before finishing this task.\n\tpid: 7")) == (
        "ActorDiedError: The actor died unexpectedly before finishing this task.")
