"""Asking a person: a real pseudo-terminal answers; without a terminal nobody is asked."""

from __future__ import annotations

import io
import os
import pty
import threading

from agent.safety import Confirmer, Terminal


def ask_through_a_pty(answer: bytes, mode: str = "risky") -> tuple[str, bytes]:
    """Ask with the pty's slave end as the terminal; a thread types `answer` on the master end."""
    master, slave = pty.openpty()
    with open(slave, encoding="utf-8") as tty, open(os.dup(slave), "w", encoding="utf-8") as screen:
        assert tty.isatty()
        shown = bytearray()

        def person() -> None:
            while b"[y/N]" not in shown:
                shown.extend(os.read(master, 1024))
            os.write(master, answer)

        typist = threading.Thread(target=person, daemon=True)
        typist.start()
        result = Confirmer(mode, Terminal(tty, screen)).ask("The agent wants to type 'sudo ls'.")
        typist.join(timeout=5)
    os.close(master)
    return result, bytes(shown)


def test_a_person_at_a_terminal_says_yes() -> None:
    answer, shown = ask_through_a_pty(b"y\n")
    assert answer == "yes"
    assert b"The agent wants to type 'sudo ls'." in shown and b"Perform it? [y/N]" in shown


def test_anything_but_yes_is_no() -> None:
    assert ask_through_a_pty(b"\n")[0] == "no"
    assert ask_through_a_pty(b"nope\n")[0] == "no"
    assert ask_through_a_pty(b"YES\n", mode="always")[0] == "yes"


def test_without_a_terminal_nobody_answers() -> None:
    out = io.StringIO()
    assert Confirmer("risky", Terminal(None, out)).ask("q") == "nobody"
    assert out.getvalue() == ""  # nothing was asked


def test_never_asks_nobody_even_at_a_terminal() -> None:
    out = io.StringIO()
    assert Confirmer("never", Terminal(io.StringIO("y\n"), out)).ask("q") == "nobody" and out.getvalue() == ""


def test_the_controlling_terminal_is_stdin_only_when_it_is_a_tty(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # a pipe, as in eval workers
    assert Terminal.controlling().input is None


def test_what_each_mode_asks_about() -> None:
    assert [Confirmer(m).wants(v) for m in ("risky", "always") for v in ("allow", "confirm")] == [False, True, True, True]
