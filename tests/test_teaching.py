"""A maintainer teaches the bot a question it could not answer, and it answers it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.app import build_bot
from bot.core import Incoming
from bot.kbcheck import check, errors
from bot.knowledge import load
from bot.settings import Settings
from bot.teaching import TeachError, teach

ROOT = Path(__file__).resolve().parent.parent
PASSAGE = "ircc-trafficking-victims-free-temporary-resident-permits"


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    return tmp_path / "knowledge"


def test_a_taught_question_is_answered_with_its_passage(knowledge: Path) -> None:
    question = "the zorbly paper for ppl who got trafficked, do they charge for it"
    before = (knowledge / "asked_as.yaml").read_text(encoding="utf-8")
    assert teach(load(knowledge), question, PASSAGE) == "en"
    after = (knowledge / "asked_as.yaml").read_text(encoding="utf-8")
    # One line more, everything else as it was, and still valid.
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert set(before.splitlines()) <= set(after.splitlines())
    assert question in yaml.safe_load(after)[PASSAGE]["en"]
    assert not errors(check(knowledge))
    reply = build_bot(Settings(knowledge_dir=knowledge)).handle(Incoming(question))
    assert reply.kind == "answer" and reply.citations[0].passage_id == PASSAGE


def test_teaching_twice_adds_once_and_a_new_language_gets_its_list(knowledge: Path) -> None:
    teach(load(knowledge), "papel gratis trata de personas?", PASSAGE, "es")
    teach(load(knowledge), "papel gratis trata de personas?", PASSAGE, "es")
    taught = yaml.safe_load((knowledge / "asked_as.yaml").read_text(encoding="utf-8"))[PASSAGE]["es"]
    assert taught.count("papel gratis trata de personas?") == 1
    untaught = next(p.id for p in load(knowledge).usable_passages if p.id not in load(knowledge).asked_as)
    teach(load(knowledge), "what does this say", untaught, "en")
    assert yaml.safe_load((knowledge / "asked_as.yaml").read_text(encoding="utf-8"))[untaught] == {
        "en": ["what does this say"]
    }
    assert not errors(check(knowledge))


@pytest.mark.parametrize(("question", "passage"), [("", PASSAGE), ("a question", "no-such-passage")])
def test_what_cannot_be_taught_is_refused_with_a_reason(knowledge: Path, question: str, passage: str) -> None:
    with pytest.raises(TeachError):
        teach(load(knowledge), question, passage)


def test_the_command_teaches_and_says_what_to_do_next(knowledge: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "teach", "trafficked, free permit?", PASSAGE],
        env={"BOT_KNOWLEDGE_DIR": str(knowledge), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "kb embed" in run.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "teach", "x", "nope"],
        env={"BOT_KNOWLEDGE_DIR": str(knowledge), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert refused.returncode == 2 and "no vetted passage" in refused.stderr
