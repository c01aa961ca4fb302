"""The terminal channel and the JSON lines contract, through the real command."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from bot.core import Bot
from bot.i18n import RLM
from bot.terminal import run_chat, run_jsonl

ROOT = Path(__file__).resolve().parent.parent


def test_jsonl_answers_each_line_in_order_with_the_contracts_fields(bot: Bot) -> None:
    lines = [
        json.dumps({"id": "a", "text": "What is the Safe Third Country Agreement?"}),
        json.dumps({"id": "b", "text": "¿Cómo preparo tacos al pastor?"}),
        json.dumps({"id": "c", "text": "asile", "lang": "fr"}),
    ]
    out = io.StringIO()
    assert run_jsonl(bot, lines, out) == 3
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in replies] == ["a", "b", "c"]
    assert replies[0]["kind"] == "answer" and replies[0]["language"] == "en"
    cite = replies[0]["citations"][0]
    assert set(cite) >= {"source", "title", "date", "passage_id", "source_text"}
    assert cite["source"].startswith("seeds/")
    assert replies[1]["kind"] == "no_answer" and replies[1]["citations"] == []
    assert replies[2]["language"] == "fr"


def test_a_broken_line_gets_an_error_object_in_its_place_and_the_rest_is_answered(bot: Bot) -> None:
    out = io.StringIO()
    run_jsonl(bot, ["{not json", json.dumps(["a list"]), json.dumps({"id": 7, "text": "What is IRCC?"})], out)
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(replies) == 3
    assert "error" in replies[0] and "error" in replies[1]
    assert replies[2]["id"] == 7 and "error" not in replies[2]


def test_ask_jsonl_command_flushes_one_line_per_question() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--jsonl"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write(json.dumps({"id": "x", "text": "كم عدد اللاجئين في العالم؟"}, ensure_ascii=False) + "\n")
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline())  # arrives before stdin is closed
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert first["id"] == "x" and first["language"] == "ar" and first["kind"] == "answer"


def test_ask_prints_one_reply_as_a_person_reads_it() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "Qu'est-ce que l'Entente sur les tiers pays sûrs ?"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert run.returncode == 0
    assert "Source" in run.stdout and "information générale" in run.stdout
    assert "Traceback" not in run.stderr


def test_chat_is_a_conversation_where_the_language_can_be_chosen(bot: Bot) -> None:
    stdin = io.StringIO("/language es\nvisa\nWhat is the Safe Third Country Agreement?\n/quit\nnever read\n")
    out = io.StringIO()
    run_chat(bot, stdin, out, interactive=False)
    text = out.getvalue()
    assert "Hello!" in text and RLM + "مرحبًا" in text
    assert "Español ✓" in text
    assert "información general" in text  # "visa" alone: the chosen language decides
    assert "This is general information" in text
    assert "never read" not in text


def test_arabic_lines_start_with_a_right_to_left_mark_in_the_terminal(bot: Bot) -> None:
    stdin = io.StringIO("ما هي اتفاقية البلد الثالث الآمن؟\n")
    out = io.StringIO()
    run_chat(bot, stdin, out, interactive=False)
    reply_lines = [line for line in out.getvalue().split("\n\n", 1)[1].splitlines() if line.strip()]
    arabic = [line for line in reply_lines if any("\u0600" <= ch <= "\u06ff" for ch in line)]
    assert arabic and all(line.startswith(RLM) for line in arabic)
