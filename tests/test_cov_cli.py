"""The command line, run in-process: `python -m bot chat | ask | ask --jsonl | serve |
kb check | kb calibrate`, with settings from the environment, its exit codes, and the
calibration it writes. Knowledge bases that a command may change are copies in tmp_path:
the checkout's knowledge/retrieval.yaml is never rewritten."""

from __future__ import annotations

import io
import json
import logging
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from starlette.testclient import TestClient
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.__main__ import DEFAULT_HOST, DEFAULT_PORT, main
from bot.calibration import DECLINE_WEIGHT, Case, Observation, choose, outcome, read_cases
from bot.keys import PEPPER_FILE
from bot.server import QUIET_LOGGERS
from tests.conftest import ROOT

SETTINGS_VARIABLES = (
    "BOT_DATA_DIR",
    "BOT_KNOWLEDGE_DIR",
    "BOT_LOCALES_DIR",
    "BOT_LOG_LEVEL",
    "BOT_PEPPER",
    "BOT_RATE_LIMIT",
    "BOT_RETENTION_DAYS",
    "BOT_TODAY",
    "PUBLIC_BASE_URL",
    "TELEGRAM_API_BASE_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_TEMPLATE_SID",
    "TWILIO_WHATSAPP_FROM",
    "VOLUNTEER_CHAT_ID",
    "VOLUNTEER_HOURS",
    "VOLUNTEER_IDS",
    "VOLUNTEER_LANGUAGE",
    "VOLUNTEER_REMINDER_MINUTES",
    "VOLUNTEER_TIMEZONE",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment: nothing of the machine's, the database in tmp_path."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOT_TODAY", "2026-11-21")
    return monkeypatch


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8"))


def copy_knowledge(tmp_path: Path) -> Path:
    """knowledge/ and the seeds its sources name, side by side as in the checkout."""
    shutil.copytree(ROOT / "knowledge", tmp_path / "kb" / "knowledge")
    shutil.copytree(ROOT / "seeds", tmp_path / "kb" / "seeds")
    return tmp_path / "kb" / "knowledge"


# -- ask and chat --------------------------------------------------------------------


def test_ask_prints_one_cited_reply_and_exits_0(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "What", "is", "the", "Interim", "Federal", "Health", "Program?"]) == 0
    out = capsys.readouterr().out
    assert "[1]" in out and "general information" in out


def test_ask_jsonl_answers_each_line_in_order_on_stdout(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {"id": "q1", "text": "¿Qué es el Programa Federal de Salud Interino?"},
        {"id": "q2", "text": "hockey scores"},
    ]
    stdin(env, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    assert main(["ask", "--jsonl"]) == 0
    replies = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in replies] == ["q1", "q2"]
    assert replies[0]["language"] == "es" and replies[0]["kind"] == "answer" and replies[0]["citations"]
    assert replies[1]["kind"] == "no_answer" and replies[1]["citations"] == []


def test_chat_keeps_the_chosen_language_until_quit(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stdin(env, "/language de\n/language fr\nasile\n/quit\nasile\n")
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "/quit" in out.split("\n\n", 1)[0]  # the greeting names the commands
    assert "/language en · /language fr · /language es · /language ar" in out  # "de" is not offered
    after = out.split("Français ✓", 1)[1]
    assert "[1]" in after and "information générale" in after
    assert "> " not in out  # not a terminal: no prompt
    assert out.count("information générale") == 1  # nothing is read after /quit


def test_a_bad_setting_stops_every_command_with_exit_2_and_the_variable_named(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env.setenv("VOLUNTEER_HOURS", "nine to five")
    assert main(["ask", "hello"]) == 2
    assert main(["kb", "check"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("error: VOLUNTEER_HOURS must look like 09:00-21:00") == 2
    assert not (tmp_path / "data").exists()  # nothing was created


def test_no_command_prints_the_usage_and_exits_2(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2
    assert "chat" in capsys.readouterr().err


# -- serve ---------------------------------------------------------------------------


class UvicornEdge:
    """uvicorn.run's place: records how it was called and serves the app in-process
    (without its lifespan: no background network calls)."""

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}
        self.health: dict[str, Any] = {}
        self.telegram_status = 0

    def __call__(self, app: Any, **kwargs: Any) -> None:
        self.kwargs = kwargs
        client = TestClient(app)
        self.health = client.get("/healthz").json()
        self.telegram_status = client.post("/telegram", json={}).status_code


def test_serve_runs_uvicorn_without_access_log_and_with_the_channels_the_environment_sets(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST-token")
    env.setenv("TWILIO_AUTH_TOKEN", "twilio-test-auth-token")
    env.setenv("PUBLIC_BASE_URL", "https://bot.example.org")
    edge = UvicornEdge()
    env.setattr(uvicorn, "run", edge)
    assert main(["serve", "--polling", "--host", "0.0.0.0", "--port", "9090"]) == 0
    assert edge.kwargs == {
        "host": "0.0.0.0",
        "port": 9090,
        "access_log": False,  # callers' addresses are never logged
        "log_config": None,
        "proxy_headers": True,
        "http": edge.kwargs["http"],  # uvicorn's httptools protocol, bounded (tests/test_hardening.py)
        "timeout_graceful_shutdown": 2,  # then the process ends within 5 s (tests/test_operations.py)
    }
    assert issubclass(edge.kwargs["http"], HttpToolsProtocol)
    assert edge.health["status"] == "ok"
    # The edge serves without the lifespan: the poller never started, and /healthz says so.
    assert edge.health["channels"] == {"telegram": "polling stopped", "whatsapp": "on"}
    assert edge.telegram_status == 404  # polling: the webhook route is closed
    for name in QUIET_LOGGERS:
        assert logging.getLogger(name).level == logging.WARNING
    # No BOT_PEPPER: one is generated into the data dir, for the owner only.
    pepper = tmp_path / "data" / PEPPER_FILE
    assert stat.S_IMODE(pepper.stat().st_mode) == 0o600
    assert (tmp_path / "data" / "newcomer-bot.db").exists()


def test_serve_help_names_the_defaults_loopback_and_8080(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--help"])
    assert stopped.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert f"(default {DEFAULT_HOST})" in shown and f"(default {DEFAULT_PORT})" in shown
    assert (DEFAULT_HOST, DEFAULT_PORT) == ("127.0.0.1", 8080)  # as the README says
    assert "--polling" in shown


# -- kb check ------------------------------------------------------------------------


def test_kb_check_passes_on_the_checkout(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check"]) == 0
    assert "knowledge base OK" in capsys.readouterr().err


def test_kb_check_reports_file_and_line_and_exits_1_on_a_broken_knowledge_base(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    knowledge = copy_knowledge(tmp_path)
    (knowledge / "passages" / "zz-broken.yaml").write_text(
        "- id: a-passage-without-a-known-source\n"
        "  source: no-such-source\n"
        "  topics: [gaza]\n"
        "  quote: Nobody wrote this.\n"
        "  en: Nobody wrote this.\n",
        encoding="utf-8",
    )
    env.setenv("BOT_KNOWLEDGE_DIR", str(knowledge))
    assert main(["kb", "check"]) == 1
    captured = capsys.readouterr()
    problems = [line for line in captured.out.splitlines() if line.startswith("knowledge/passages/zz-broken.yaml:")]
    assert problems, captured.out
    assert all(line.split(":")[1].isdigit() for line in problems)
    assert "problem(s)" in captured.err and "OK" not in captured.err


# -- kb calibrate --------------------------------------------------------------------


def test_kb_calibrate_writes_thresholds_and_figures_to_the_knowledge_dir_it_is_given(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    real = ROOT / "knowledge" / "retrieval.yaml"
    real_before = (real.read_bytes(), real.stat().st_mtime_ns)
    knowledge = copy_knowledge(tmp_path)
    (knowledge / "retrieval.yaml").unlink()  # never calibrated
    env.setenv("BOT_KNOWLEDGE_DIR", str(knowledge))
    assert main(["kb", "calibrate"]) == 0

    written = (knowledge / "retrieval.yaml").read_text(encoding="utf-8")
    assert written.startswith("# Written by `python -m bot kb calibrate`")
    document = yaml.safe_load(written)
    thresholds = document["thresholds"]
    assert set(thresholds) == {"coverage", "cross_coverage"}
    assert all(0.2 <= value <= 0.9 for value in thresholds.values())
    labelled = read_cases(knowledge / "calibration.yaml")
    figures = document["figures"]
    assert figures["questions"] == len(labelled)
    assert 0.5 < figures["accuracy"] <= 1
    answers = sum(c.expect == "answer" for c in labelled)
    assert figures["answer_questions_answered_with_a_gold_passage"].endswith(f"/{answers}")
    assert figures["off_topic_questions_declined"].endswith(f"/{len(labelled) - answers}")

    out = capsys.readouterr().out
    assert f"thresholds: coverage={thresholds['coverage']} cross_coverage={thresholds['cross_coverage']}" in out
    assert str(knowledge / "retrieval.yaml") in out
    assert "  miss [" in out  # the questions it gets wrong are listed for the maintainers
    # The same labelled questions give the same thresholds as the checkout's.
    assert thresholds == yaml.safe_load(real.read_text(encoding="utf-8"))["thresholds"]
    assert (real.read_bytes(), real.stat().st_mtime_ns) == real_before


def test_calibration_reads_only_answer_and_no_answer_labels(tmp_path: Path) -> None:
    path = tmp_path / "calibration.yaml"
    path.write_text(
        yaml.safe_dump(
            [
                {"q": "What is the IFHP?", "lang": "en", "expect": "answer", "gold": ["Interim Federal Health"]},
                {"q": "I want to die", "lang": "en", "expect": "emergency"},
                {"q": "hockey scores", "lang": "en", "expect": "no_answer"},
            ]
        ),
        encoding="utf-8",
    )
    cases = read_cases(path)
    assert [(c.question, c.expect) for c in cases] == [("What is the IFHP?", "answer"), ("hockey scores", "no_answer")]
    assert cases[0].gold == ("Interim Federal Health",) and cases[1].gold == ()
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing labelled yet\n", encoding="utf-8")
    assert read_cases(empty) == []


def _obs(expect: str, own: float, hit: bool = True, language: str = "en", cross: float = 0.0) -> Observation:
    return Observation(Case("q", language, expect, ()), own, hit, cross, hit)


def test_calibration_prefers_declining_when_answers_and_declines_conflict() -> None:
    # One answerable question needs a threshold at or below 0.5; one off-topic question
    # reaches 0.5 too. Declining it correctly counts twice: the threshold goes above 0.5.
    observations = [_obs("answer", 0.5), _obs("no_answer", 0.5)]
    coverage, _, accuracy = choose(observations)
    assert DECLINE_WEIGHT == 2.0
    assert coverage > 0.5 and accuracy == 0.5
    # With off-topic questions only, the strictest thresholds win the tie.
    assert choose([_obs("no_answer", 0.3), _obs("no_answer", 0.1)])[:2] == (0.9, 0.9)


def test_an_answer_found_only_through_english_counts_for_other_languages_only() -> None:
    spanish = _obs("answer", 0.1, language="es", cross=0.8)
    english = _obs("answer", 0.1, language="en", cross=0.8)
    assert outcome(spanish, coverage=0.5, cross=0.7) is True
    assert outcome(english, coverage=0.5, cross=0.7) is False
    # An answer without a gold passage among the top three is not a correct answer.
    assert outcome(_obs("answer", 0.9, hit=False), coverage=0.5, cross=0.7) is False
