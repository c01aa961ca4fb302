"""An answer does not say the same thing twice: of two passages where one holds the
other's quote (nearly) word for word, as a maintainer's note quoting a seed does, only
the one that says more is cited."""

from __future__ import annotations

import pytest

from bot.core import Bot, Incoming
from bot.retrieval import within


def test_a_quote_held_nearly_word_for_word_by_a_longer_one_iswithin_it() -> None:
    seed = "These provide victims and their dependants with legal status in Canada and access to health care."
    note = (
        'The IRCC document says these permits "provide victims and their dependants with legal status in'
        ' Canada and access to health care, including medical services".'
    )
    assert within(seed, note) and not within(note, seed)
    assert not within(seed, "Victims and their dependants may apply for a work or study permit in some cases.")
    assert not within("Too short.", "Too short.")  # fewer than five words: nothing to compare


@pytest.mark.parametrize(
    "question",
    [
        "Can victims of human trafficking get a free temporary resident permit?",
        "Les victimes de la traite peuvent-elles obtenir un permis de séjour temporaire ?",
        "¿Qué da el permiso de residencia temporal a las víctimas de trata?",
        "What is the Interim Federal Health Program?",
        "What is the TCRI?",
        "What is the Migrant Rights Network?",
    ],
)
def test_no_two_passages_of_an_answer_quote_the_same_words(bot: Bot, question: str) -> None:
    reply = bot.handle(Incoming(question))
    assert reply.kind == "answer"
    passages = [bot.kb.passage(c.passage_id) for c in reply.citations]
    for i, first in enumerate(passages):
        for second in passages[i + 1 :]:
            assert not within(first.quote, second.quote), (first.id, second.id)
            assert not within(second.quote, first.quote), (second.id, first.id)
