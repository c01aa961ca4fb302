"""The terminal chat as a person uses it: a multi-line paste is one message (lines that
arrive together, or between a terminal's bracketed-paste marks), a long paste gets the
reply every channel gives, and Ctrl-C or Ctrl-D leave without a traceback. Run as
`python -m bot chat` on a pseudo-terminal, as in a real one, and in this process on a
pipe's file descriptor."""

from __future__ import annotations

import io
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from bot.core import READ_LIMIT, Bot, Incoming
from bot.terminal import PASTE_END, PASTE_START, for_terminal, pasted_messages, run_chat
from tests.conftest import ROOT

QUESTION_LINES = ["How long is the temporary resident visa", "for people from Gaza", "valid?"]


def messages_from(chunks: list[tuple[float, str]]) -> list[str]:
    """What `pasted_messages` makes of `chunks` written to a pipe, each after its delay."""
    read_end, write_end = os.pipe()

    def writer() -> None:
        for delay, text in chunks:
            time.sleep(delay)
            os.write(write_end, text.encode())
        os.close(write_end)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        return list(pasted_messages(read_end))
    finally:
        thread.join()
        os.close(read_end)


def test_lines_that_arrive_together_are_one_message_and_typed_lines_are_not() -> None:
    pasted = "\n".join(QUESTION_LINES) + "\n"
    assert messages_from([(0, pasted)]) == ["\n".join(QUESTION_LINES)]
    typed = [(0, "What is IRCC?\n"), (0.4, "/language fr\n"), (0.4, "asile\n")]
    assert messages_from(typed) == ["What is IRCC?", "/language fr", "asile"]
    # End of input in the middle of a line: what was written is still a message.
    assert messages_from([(0, "one\n"), (0.4, "two")]) == ["one", "two"]
    assert messages_from([]) == []


def test_a_bracketed_paste_is_one_message_even_when_its_last_line_waits_for_enter() -> None:
    # A terminal in line mode hands over the last pasted line only when Enter is pressed.
    chunks = [(0, PASTE_START + "\n".join(QUESTION_LINES[:2]) + "\n"), (0.3, QUESTION_LINES[2] + PASTE_END + "\n")]
    assert messages_from(chunks) == ["\n".join(QUESTION_LINES)]
    after = [(0, PASTE_START + "a\nb" + PASTE_END + "\n"), (0.3, "c\n")]
    assert messages_from(after) == ["a\nb", "c"]


def test_a_long_paste_gets_the_reply_the_channels_give(bot: Bot) -> None:
    filler = [f"Line {n} of a long story that goes on and on about my week." for n in range(60)]
    lines = [QUESTION_LINES[0] + " " + QUESTION_LINES[1] + " " + QUESTION_LINES[2], *filler]
    text = "\n".join(lines)
    assert len(text) > READ_LIMIT
    read_end, write_end = os.pipe()
    os.write(write_end, (text + "\n").encode())
    os.close(write_end)
    out = io.StringIO()
    with os.fdopen(read_end, encoding="utf-8") as stdin:
        run_chat(bot, stdin, out, interactive=True)
    expected = for_terminal(bot.handle(Incoming(text)))
    assert "Your message is long, so I read its beginning." in expected
    assert out.getvalue().count(expected) == 1
    assert out.getvalue().count("> ") == 2  # one reply, then end of input


class Terminal:
    """`python -m bot chat` on a pseudo-terminal; what it shows is collected."""

    def __init__(self) -> None:
        master, slave = pty.openpty()
        self.master = master
        env = {**os.environ, "BOT_TODAY": "2026-11-21"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "chat"], cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave
        )
        os.close(slave)
        self.shown = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.shown += chunk

    def text(self) -> str:
        with self.lock:
            return self.shown.decode(errors="replace")

    def wait_for(self, condition: object, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not callable(condition) or not condition():
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.05)

    def prompts(self) -> int:
        return self.text().count("\n> ") + self.text().startswith("> ")

    def settle(self) -> None:
        """Until nothing new is shown for a second."""
        last = ""
        while (now := self.text()) != last:
            last = now
            time.sleep(1.0)

    def write(self, text: str) -> None:
        os.write(self.master, text.encode())

    def end(self) -> int:
        try:
            return self.process.wait(timeout=20)
        finally:
            time.sleep(0.2)
            os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    t = Terminal()
    yield t
    if t.process.poll() is None:
        t.process.kill()
        t.process.wait()


def test_a_three_line_paste_in_a_terminal_is_answered_once(terminal: Terminal) -> None:
    terminal.wait_for(lambda: terminal.prompts() == 1)
    terminal.write("\n".join(QUESTION_LINES) + "\n")
    terminal.wait_for(lambda: terminal.prompts() >= 2)
    terminal.settle()
    assert terminal.prompts() == 2  # one reply, not three
    assert "Gaza" in terminal.text().split("valid?")[-1]
    terminal.write("\x04")  # Ctrl-D at the start of a line: end of input
    assert terminal.end() == 0
    assert "Traceback" not in terminal.text()


def test_ctrl_c_in_a_terminal_leaves_without_a_traceback(terminal: Terminal) -> None:
    terminal.wait_for(lambda: terminal.prompts() == 1)
    terminal.process.send_signal(signal.SIGINT)
    assert terminal.end() == 0
    assert "Traceback" not in terminal.text() and "KeyboardInterrupt" not in terminal.text()


def test_ctrl_c_while_the_bot_is_loading_leaves_without_a_traceback() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # importing and loading the knowledge base
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode in (0, 130)
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err


def test_closed_stdin_ends_the_chat_cleanly() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "/quit" in done.stdout and "Traceback" not in done.stdout + done.stderr
