"""The answering core: a message in, a reply out. No channel, no network, no storage.

Owns the order of things for every message (clean, identify the language, triage,
retrieve, compose) and the wording of every reply, through the gettext catalogs.
Channels (terminal, Telegram, WhatsApp) turn a `Reply` into what their platform shows.

May import: the standard library and the bot's own knowledge, normalize, language,
triage, retrieval and i18n modules. Never a channel library, never storage.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from bot.i18n import Messages
from bot.knowledge import KnowledgeBase, Passage
from bot.language import Detection, LanguageIdentifier
from bot.normalize import fold, sanitize
from bot.retrieval import Result, Retriever
from bot.triage import Models, Triage
from bot.understanding.classifier import Example, Neighbours, TextClassifier, read_examples
from bot.understanding.encoder import ARTIFACT, QUESTION, Encoder, Vectors, e5_small
from bot.understanding.linear import LinearModel
from bot.understanding.meta import MetaIntents
from bot.understanding.ranking import DEFAULT, FEATURES, Ranker
from bot.understanding.semantic import SemanticIndex

log = logging.getLogger(__name__)

# Long messages are read up to here for retrieval (triage reads all of it): a question
# is a few sentences, and BM25 over a page of text matches everything a little.
READ_LIMIT = 2000
# The end of a long message, read again by triage's models: a danger is often told last.
TAIL = 400


@dataclass(frozen=True)
class Incoming:
    """A message from a person. `language_hint` is the channel's guess (Telegram's
    `language_code`); `saved_language` is the language the person chose."""

    text: str
    language_hint: str | None = None
    saved_language: str | None = None


@dataclass(frozen=True)
class Citation:
    number: int
    passage_id: str
    source_id: str
    source_file: str
    title: str
    publisher: str
    date: str  # ISO, as precise as the source allows; "" when unknown
    date_text: str  # the date as the user reads it
    source_text: str  # the passage in its source's own words
    shown: str = ""  # the source as the user reads it in the list of sources


@dataclass(frozen=True)
class Reply:
    """What the bot says. `sections` are plain-text blocks, in order; channels escape
    and lay them out. `text` is the reply exactly as a person reads it in plain text."""

    kind: str
    language: str
    sections: tuple[str, ...]
    citations: tuple[Citation, ...] = ()
    emergency: str = ""  # "suicide" | "medical" | "violence" for emergency replies

    @property
    def text(self) -> str:
        return "\n\n".join(s for s in self.sections if s)


@dataclass
class Bot:
    kb: KnowledgeBase
    catalogs: dict[str, Messages]
    today: Callable[[], date] = date.today
    encoder: Encoder | None = None  # the shipped one (e5_small) unless given
    retriever: Retriever = field(init=False)
    triage: Triage = field(init=False)
    languages: LanguageIdentifier = field(init=False)
    vectors: Vectors = field(init=False)
    ranker: Ranker = field(init=False)
    meta: MetaIntents = field(init=False)
    # Every word (folded) the knowledge base says: what a question kept for maintainers may hold.
    vocabulary: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.retriever = Retriever(self.kb)
        self.languages = LanguageIdentifier(self.kb.stopwords)
        self.vectors = Vectors(self.encoder or e5_small())
        self.vectors.read(self.kb.root / ARTIFACT)
        semantic = SemanticIndex.build(self.kb.usable_passages, self.kb.asked_as, self.vectors)
        models = self.kb.root / "models"
        danger, personal = (LinearModel.read(models / f"{name}.json") for name in ("danger", "personal"))
        examples = {
            name: read_examples(path)
            for name in ("danger", "personal")
            if (path := self.kb.root / "classifiers" / f"{name}.yaml").exists()
        }
        # What the knowledge base holds as ordinary messages: the taught questions, and the
        # phrases that are about the bot itself ("hi", "I want to talk to a volunteer").
        ordinary = [q for per in self.kb.asked_as.values() for qs in per.values() for q in qs]
        ordinary += [
            str(p) for per in self.kb.meta.values() if isinstance(per, dict) for ps in per.values() for p in ps or ()
        ]
        self.triage = Triage.from_rules(
            self.kb.triage,
            Models(
                TextClassifier.of(danger) if danger else None,
                TextClassifier.of(personal) if personal else None,
                self._neighbours(examples.get("danger"), "none", ordinary) if danger else None,
                self._neighbours(examples.get("personal"), "general", ordinary) if personal else None,
            ),
        )
        decision = LinearModel.read(models / "decision.json") or DEFAULT
        if decision.features != FEATURES:
            log.warning("models/decision.json was fitted on other features: run `python -m bot kb train`")
            decision = DEFAULT
        self.ranker = Ranker(self.retriever, semantic, decision)
        self.meta = MetaIntents.build(self.kb.meta, self.vectors)
        self.vocabulary = _vocabulary(self.kb, [e.text for found in examples.values() for e in found])
        if self.vectors.encoded_at_load:
            log.warning(
                "%d texts of the knowledge base were not in %s and were encoded at start-up: "
                "run `python -m bot kb embed`",
                self.vectors.encoded_at_load,
                ARTIFACT,
            )

    def _neighbours(self, examples: list[Example] | None, label: str, ordinary: list[str]) -> Neighbours | None:
        """A classifier's labelled examples (those not labelled `label` call for a person),
        and the knowledge base's ordinary messages, by meaning."""
        if examples is None:
            return None
        texts = [e.text for e in examples] + ordinary
        flagged = np.array([e.label != label for e in examples] + [False] * len(ordinary), dtype=np.bool_)
        return Neighbours(self.vectors.of(texts, QUESTION), flagged)

    def handle(self, message: Incoming) -> Reply:
        text = sanitize(message.text)
        detection = self.languages.detect(text[:READ_LIMIT], message.language_hint, message.saved_language)
        m = self.catalogs[detection.language]
        preface = self._preface(m, detection, text)
        if not any(ch.isalnum() for ch in text):
            return Reply(
                "no_answer",
                m.language,
                (
                    *preface,
                    m._(
                        "I read text only. Please write your question in a few words, for example: "
                        '"Who can apply for the Gaza special measures?"'
                    ),
                ),
            )
        read = text[:READ_LIMIT]
        # One vector of the message, shared by triage and retrieval; and of its last lines,
        # for triage, when the message is longer than what retrieval reads.
        parts = [read, text[-TAIL:]] if len(text) > READ_LIMIT else [read]
        vectors = self.vectors.encoder.encode(parts, QUESTION)
        question = vectors[0]
        verdict = self.triage.assess(text, tuple(vectors), detection.language)
        if verdict.kind == "emergency":
            return self._emergency(m, verdict.category, preface)
        if verdict.kind == "handoff":
            return self._handoff(m, preface)
        intent = self.meta.intent(text, question)
        if intent == "volunteer":
            return self._volunteer(m, preface)
        if verdict.kind == "possible" and intent in ("", "help"):
            # A doubt never costs the person their answer: what to do if in danger comes
            # first ("help" alone may be a person in danger, too).
            preface = (self._if_in_danger(m), *preface)
        if intent:
            return self._menu(m, preface)
        result = self.ranker.search(read, detection.language, question, self.meta.asks_view(read)).result
        if not result.answered:
            return self._no_answer(m, preface)
        return self._answer(m, result, preface)

    def _preface(self, m: Messages, detection: Detection, text: str) -> tuple[str, ...]:
        lines = []
        if not detection.supported:
            lines.append(
                m._(
                    "I can answer in English, French, Spanish and Arabic "
                    "(English, Français, Español, العربية). Here is my answer in English."
                )
            )
        if len(text) > READ_LIMIT:
            lines.append(m._("Your message is long, so I read its beginning. Short questions get the best answers."))
        return tuple(lines)

    def _disclaimer(self, m: Messages) -> str:
        return m._(
            "This is general information, not legal advice. For your own situation, talk to a lawyer or a volunteer."
        )

    def _emergency(self, m: Messages, category: str, preface: tuple[str, ...]) -> Reply:
        sections = [m._("If you or someone near you is in danger right now, call 911 (police, ambulance, fire).")]
        if category == "suicide":
            sections.append(
                m._(
                    "If you are thinking about suicide or about hurting yourself, call or text 9-8-8, "
                    "the suicide crisis helpline. You deserve support, and you can talk to someone now."
                )
            )
        sections.append(m._("When you are safe, you can write to me again, or ask to talk to a volunteer."))
        return Reply("emergency", m.language, (*preface, *sections), emergency=category)

    def _handoff(self, m: Messages, preface: tuple[str, ...]) -> Reply:
        return Reply(
            "handoff",
            m.language,
            (
                *preface,
                m._(
                    "Your question is about your own situation. The answer depends on details that "
                    "only a person can weigh, so I will not guess: I give general information only, "
                    "not legal advice."
                ),
                self._volunteer_offer(m),
                m._("You can still ask me general questions about rules and programs."),
            ),
        )

    def _volunteer_offer(self, m: Messages) -> str:
        return m._(
            "A volunteer can take your question. Before anything is shared, I will tell you "
            "what the volunteer sees (your question, its language and a case number, nothing "
            "that identifies you) and ask for your consent. Volunteers are not lawyers unless "
            "they say so. For a decision about your case, talk to an immigration lawyer."
        )

    def _if_in_danger(self, m: Messages) -> str:
        return m._(
            "If you or someone near you is in danger right now, call 911. To talk about suicide, call or text 9-8-8."
        )

    def _menu(self, m: Messages, preface: tuple[str, ...]) -> Reply:
        """A greeting or "help": what the bot is, what it can help with, how to reach a person."""
        return Reply(
            "no_answer",
            m.language,
            (
                *preface,
                m._("Hello! I answer questions about immigration to Canada from verified sources, in your language."),
                self._topics(m),
                m._("If you need a person, you can ask to talk to a volunteer."),
            ),
        )

    def _volunteer(self, m: Messages, preface: tuple[str, ...]) -> Reply:
        """Asking for a person: the volunteer offer (the conversation asks for consent)."""
        return Reply(
            "handoff",
            m.language,
            (
                *preface,
                self._volunteer_offer(m),
            ),
        )

    def _topics(self, m: Messages) -> str:
        offered = [t.labels[m.language] for t in self.kb.topics.values() if t.offer]
        topics = m.ngettext(
            "I can help with this topic:", "I can help with these {count} topics:", len(offered)
        ).format(count=len(offered))
        return topics + "\n" + "\n".join(f"• {label}" for label in offered)

    def _no_answer(self, m: Messages, preface: tuple[str, ...]) -> Reply:
        return Reply(
            "no_answer",
            m.language,
            (
                *preface,
                m._("I do not have verified information that answers this, and I would rather say so than guess."),
                self._topics(m),
                m._("If you need a person, you can ask to talk to a volunteer."),
            ),
        )

    def _answer(self, m: Messages, result: Result, preface: tuple[str, ...]) -> Reply:
        today = self.today()
        sections: list[str] = list(preface)
        citations: list[Citation] = []
        numbers: dict[str, int] = {}  # one number per source, in order of first use
        stale: list[Passage] = []
        passages = self._with_companions([h.passage for h in result.hits])
        # A measure that has ended says so first, once per date, before what it was.
        ended = sorted({p.valid_until for p in passages if p.valid_until and p.valid_until < today})
        sections.extend(m.measure_ended(day) for day in ended)
        for passage in passages:
            number = numbers.setdefault(passage.source, len(numbers) + 1)
            if (passage.valid_until is None or passage.valid_until >= today) and passage.review_date() < today:
                stale.append(passage)
            sections.append(f"{passage.texts[m.language]} [{number}]")
            citations.append(self._cite(m, number, passage))
        # Old information says once what date it is from, not under every passage: the
        # oldest, which is what may have changed most (each source's own date is listed).
        if stale:
            sections.append(m.information_from(min((p.as_of for p in stale), key=lambda d: d.first_day)))
        header = m.ngettext("Source:", "Sources:", len(numbers))
        listed: dict[int, Citation] = {}
        for c in citations:
            listed.setdefault(c.number, c)
        listing = "\n".join(f"[{c.number}] {c.shown}" for c in listed.values())
        sections.append(f"{header}\n{listing}")
        sections.append(self._disclaimer(m))
        return Reply("answer", m.language, tuple(sections), tuple(citations))

    def _with_companions(self, found: list[Passage]) -> list[Passage]:
        """`found`, each followed by the passages read_with.yaml says must be shown with it
        (an end date, a rule that changed): a passage alone would mislead without them.
        What answers the question stays first; an ended measure is said before all of
        them by `measure_ended`, which counts the companions' end dates too."""
        shown = {p.id for p in found}
        passages: list[Passage] = []
        for passage in found:
            passages.append(passage)
            for cid in self.kb.read_with.get(passage.id, ()):
                if cid not in shown:
                    shown.add(cid)
                    passages.append(self.kb.passage(cid))
        return passages

    def _cite(self, m: Messages, number: int, passage: Passage) -> Citation:
        source = self.kb.sources[passage.source]
        when = source.date
        date_text = m.date(when) if when else m._("date unknown")
        if source.provider:
            shown = m._("Note about {provider}, {date}").format(provider=source.provider, date=date_text)
        else:
            shown = f"{source.title} — {source.publisher}, {date_text}"
        return Citation(
            number=number,
            passage_id=passage.id,
            source_id=source.id,
            source_file=source.file,
            title=source.title,
            publisher=source.publisher,
            date=when.iso() if when else "",
            date_text=date_text,
            source_text=" ".join(passage.quote.split()),
            shown=shown,
        )


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def _vocabulary(kb: KnowledgeBase, examples: list[str]) -> frozenset[str]:
    """The words of the passages' texts in every language, of the topics, the glossary, the
    stop words, the taught questions, the meta-phrases and the classifiers' examples
    (everyday words, written by maintainers, no one's name), folded."""
    texts: list[str] = list(examples)
    for p in kb.passages:
        texts.extend(p.texts.values())
    texts.extend(label for t in kb.topics.values() for label in t.labels.values())
    texts.extend(term for e in kb.glossary for terms in e.terms.values() for term in terms)
    texts.extend(word for words in kb.stopwords.values() for word in words)
    texts.extend(q for per in kb.asked_as.values() for qs in per.values() for q in qs)
    texts.extend(str(p) for per in kb.meta.values() if isinstance(per, dict) for ps in per.values() for p in ps or ())
    return frozenset(_WORD.findall(fold(" ".join(texts))))
