"""The maintainers' walkthrough of the README, done as a maintainer would: copy the note
template, fill it with what the seeds say about an organisation, draft its passages with
`kb add`, translate them, pass `kb check`, `/reload` the running bot from the volunteers'
room, and see the note cited in all four languages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.core import Bot
from tests.conftest import TODAY, Clock
from tests.serving import Deployment

# What the seeds say about the Palestinian Youth Movement (TML, 28 February 2024), and
# what they do not: no way to reach it.
FIELDS = {
    "provider": "Palestinian Youth Movement",
    "offers": "a leaflet explaining the Canadian government's temporary visa program for Gaza",
    "for_whom": "families with relatives in Gaza",
    "languages": "not stated in our sources; check with the organisation",
    "how_to_reach": "not stated in our sources; check with the organisation",
    "hours": "not stated in our sources; check with the organisation",
    "area": "not stated in our sources; its leaflet was handed out at a vigil in Ottawa",
    "written": "2026-11-21",
    "review_by": "2027-05-21",
    "author": "newcomer-bot maintainers",
    "drawn_from": "[tml-2024-02-28]",
}
BODY = """
# Palestinian Youth Movement

The TML newsletter of February 28, 2024 reports that at the February 10 vigil in Ottawa
the Palestinian Youth Movement distributed a leaflet, Families Belong Together, to explain
the situation regarding the Canadian government's temporary visa program.

Our sources give no way to contact the Palestinian Youth Movement: no telephone number,
address, e-mail or opening hours. Check with the organisation itself.
"""
TEXTS = [
    {
        "en": "The TML newsletter of February 28, 2024 reports that at the February 10 vigil in Ottawa "
        "the Palestinian Youth Movement handed out a leaflet, Families Belong Together, explaining "
        "the situation of the Canadian government's temporary visa program.",
        "fr": "Le bulletin TML du 28 février 2024 rapporte qu'à la vigile du 10 février à Ottawa, le "
        "Mouvement de la jeunesse palestinienne (Palestinian Youth Movement) a distribué un tract, "
        "Families Belong Together, expliquant la situation de la voie d'accès pour résidents temporaires "
        "du gouvernement canadien.",
        "es": "El boletín TML del 28 de febrero de 2024 informa que en la vigilia del 10 de febrero en "
        "Ottawa el Movimiento Juvenil Palestino (Palestinian Youth Movement) repartió un "
        "folleto, Families Belong Together, que explicaba la situación de la vía para residentes "
        "temporales del gobierno canadiense.",
        "ar": "تفيد نشرة TML الصادرة في 28 فبراير 2024 بأن حركة الشباب الفلسطيني (Palestinian Youth "
        "Movement) وزّعت خلال وقفة 10 فبراير في أوتاوا منشورًا بعنوان Families Belong Together يشرح "
        "وضع برنامج التأشيرات المؤقتة التابع للحكومة الكندية.",
    },
    {
        "en": "Our sources give no way to contact the Palestinian Youth Movement: no telephone number, "
        "address, e-mail or opening hours. Check with the organisation itself.",
        "fr": "Nos sources n'indiquent aucun moyen de contacter le Mouvement de la jeunesse palestinienne "
        "(Palestinian Youth Movement) : ni numéro de téléphone, ni adresse, ni courriel, ni heures "
        "d'ouverture. Renseignez-vous auprès de l'organisation elle-même.",
        "es": "Nuestras fuentes no indican ninguna forma de contactar al Movimiento Juvenil Palestino "
        "(Palestinian Youth Movement): ni teléfono, ni dirección, ni correo electrónico, ni "
        "horario de atención. Consulte directamente con la organización.",
        "ar": "لا تذكر مصادرنا أي وسيلة للتواصل مع حركة الشباب الفلسطيني (Palestinian Youth Movement): "
        "لا رقم هاتف ولا عنوان ولا بريد إلكتروني ولا ساعات عمل. تحقّقوا من ذلك لدى المنظمة نفسها.",
    },
]
QUESTIONS = {
    "en": ("How can I contact the Palestinian Youth Movement?", "Note about Palestinian Youth Movement"),
    "fr": ("Comment contacter le Mouvement de la jeunesse palestinienne ?", "Note sur Palestinian Youth Movement"),
    "es": ("¿Cómo puedo contactar al Movimiento de la Juventud Palestina?", "Nota sobre Palestinian Youth Movement"),
    "ar": ("كيف يمكنني التواصل مع حركة الشباب الفلسطيني؟", "ملاحظة عن Palestinian Youth Movement"),
}


@pytest.fixture
def deployment(bot: Bot, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    d = Deployment(bot, tmp_path, clock)
    # The maintainer's commands run in the same checkout as the server.
    monkeypatch.setenv("BOT_KNOWLEDGE_DIR", str(d.root / "knowledge"))
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    yield d
    d.client.__exit__(None, None, None)
    d.conv.store.close()


def write_note_from_the_template(knowledge: Path) -> Path:
    """Step 1 and 2: copy the template, fill each field, drop its comments, write the text."""
    note = knowledge / "notes" / "palestinian-youth-movement.md"
    shutil.copy(knowledge / "notes" / "_template.md", note)
    lines = note.read_text(encoding="utf-8").split("\n")
    end = lines.index("---", 1)
    front = []
    for line in lines[1:end]:
        name = line.split(":", 1)[0]
        if name in FIELDS:
            front.append(f"{name}: {FIELDS[name]}")
    assert [f.split(":")[0] for f in front] == list(FIELDS), "the template shows every field, in order"
    note.write_text("---\n" + "\n".join(front) + "\n---\n" + BODY, encoding="utf-8")
    return note


def translate_and_vet(drafts: Path) -> None:
    """Step 4: topics, the four texts (in the glossary's names: knowledge/README.md), who
    vetted it and when, status vetted."""
    text = drafts.read_text(encoding="utf-8")
    assert text.count("status: draft") == len(TEXTS)
    for texts in TEXTS:
        text = text.replace("status: draft", "status: vetted", 1)
        text = text.replace("topics: []", "topics: [gaza]", 1)
        text = text.replace("vetted_by:\n", "vetted_by: newcomer-bot maintainers\n", 1)
        text = text.replace("vetted_on:\n", f"vetted_on: {TODAY.isoformat()}\n", 1)
        for language, translation in texts.items():
            text = text.replace(f"  {language}:\n", f"  {language}: >-\n    {translation}\n", 1)
    drafts.write_text(text, encoding="utf-8")


def test_a_maintainer_adds_an_organisation_from_the_seeds_and_it_is_cited_in_four_languages(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    knowledge = deployment.root / "knowledge"
    for language, (question, shown) in QUESTIONS.items():
        assert shown not in deployment.ask(question, language)

    note = write_note_from_the_template(knowledge)
    assert main(["kb", "add", str(note)]) == 0
    drafts = knowledge / "passages" / "note-palestinian-youth-movement.yaml"
    assert "2 draft passage(s)" in capsys.readouterr().out

    # Drafts are not answered, even after a reload.
    assert deployment.reload().startswith("Knowledge base reloaded")
    assert QUESTIONS["en"][1] not in deployment.ask(QUESTIONS["en"][0])

    translate_and_vet(drafts)
    assert main(["kb", "check"]) == 0
    assert "note:" not in capsys.readouterr().out  # nothing left to do

    assert deployment.reload().startswith("Knowledge base reloaded")
    for language, (question, shown) in QUESTIONS.items():
        reply = deployment.ask(question, language)
        assert shown in reply, f"{language}: {reply}"
        assert "21" in reply.split(shown, 1)[1].split("\n")[0]  # the date the note was written
        assert TEXTS[1][language].split(":")[0].split(" (")[0] in reply, f"{language}: {reply}"
