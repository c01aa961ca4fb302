"""Retrieval: which vetted passages answer a question, or that none does.

Owns the BM25 indexes (rank-bm25, one per language, built once), query expansion with
the multilingual glossary, the fallback to the English text when the question's own
language finds nothing, and the no-answer decision.

Questions and passages are matched on terms in which the head word of a glossary name of
several words is bound to the name (see `Analyzer`): the "demand" of "a demandé" meets
the passages where something is asked for, and those about "demandes d'asile" only
weakly.

The decision rests on *coverage*: the share of the question's meaningful words (weighted
by how rare they are in the knowledge base) that the passage contains, itself or through
a glossary synonym. BM25 ranks; coverage decides whether the best passage really speaks
to the question. Words the knowledge base has never seen weigh the most, so "who won
the hockey game" covers nothing; places and the country (`weak` glossary entries) never
count as evidence, so "weather in Montreal" covers nothing either. The threshold is
calibrated on `knowledge/calibration.yaml` by `python -m bot kb calibrate`.

May import: the standard library, rank-bm25 and NumPy (the arrays it scores in),
`bot.knowledge`, `bot.normalize`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from rank_bm25 import BM25Okapi

from bot.knowledge import KnowledgeBase, Passage
from bot.normalize import LANGUAGES, Analyzer, bound_stem, fold

# Used until `kb calibrate` has written knowledge/retrieval.yaml.
DEFAULT_THRESHOLDS = {"coverage": 0.5, "cross_coverage": 0.6, "secondary_ratio": 0.6}
# Synonyms found through the glossary help ranking, but less than the words typed.
EXPANSION_WEIGHT = 0.4
# A word typed on its own meets its uses as the head of a name less than a synonym: "a
# demandé" is not "demande d'asile", but "claims" may still be asylum claims.
BOUND_HEAD_WEIGHT = 0.2
MAX_PASSAGES = 3
# A question asking for a figure weighs a passage that states none this much less.
NO_FIGURE_WEIGHT = 0.5
_FIGURE = re.compile(r"\d")


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    coverage: float
    strong_matches: int
    searched: str  # the language of the index that found it
    doc: int = -1  # its position in that index


@dataclass(frozen=True)
class Result:
    """The passages that answer (best first), or none; `best` is kept for calibration."""

    hits: tuple[Hit, ...]
    best: Hit | None

    @property
    def answered(self) -> bool:
        return bool(self.hits)


@dataclass
class _Index:
    language: str
    analyzer: Analyzer
    passages: Sequence[Passage]
    bm25: BM25Okapi
    doc_terms: list[frozenset[str]]
    df: dict[str, int]
    # term -> the documents that contain it (ascending), and rank-bm25's score of the
    # term in each: a term scores 0 in every other document
    postings: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]]
    # the terms in which each stem is the bound head of a name
    bound: dict[str, tuple[str, ...]]
    # the phrases found by their stems, each under one of them (see _named)
    phrase_keys: dict[str, tuple[tuple[frozenset[str], str], ...]]
    # the phrases found as written (see _said_in_stop_words)
    typed: _Typed
    # term -> the entries with a phrase that contains it
    phrase_entries: dict[str, frozenset[str]]
    entry_stems: dict[str, frozenset[str]]
    weak_stems: frozenset[str]
    # the glossary concepts each passage names with one of their phrases, whole
    doc_concepts: list[frozenset[str]]
    # does each passage state a figure; and the words that ask for one, folded
    has_figure: npt.NDArray[np.bool_]
    asks_figure: re.Pattern[str] | None

    def idf(self, term: str) -> float:
        n = len(self.passages)
        return math.log(1.0 + n / (self.df.get(term, 0) + 0.5))


@dataclass
class Retriever:
    kb: KnowledgeBase
    thresholds: dict[str, float] = field(default_factory=dict)
    _indexes: dict[str, _Index] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.thresholds = {**DEFAULT_THRESHOLDS, **self.kb.thresholds, **self.thresholds}
        passages = self.kb.usable_passages
        for lang in LANGUAGES:
            self._indexes[lang] = self._build(lang, passages)

    def analyzer(self, lang: str) -> Analyzer:
        return self._indexes[lang].analyzer

    def _build(self, lang: str, passages: Sequence[Passage]) -> _Index:
        names = tuple(t for entry in self.kb.glossary for t in entry.terms.get(lang, ()))
        analyzer = Analyzer(lang, self.kb.stopwords.get(lang, frozenset()), names)
        corpus = []
        doc_stems = []
        doc_texts = []
        for p in passages:
            parts = [p.texts[lang], *(self.kb.topics[t].labels[lang] for t in p.topics if t in self.kb.topics)]
            if lang == "en":
                parts.append(p.quote)
            doc_texts.append("\n".join(parts))
            words = analyzer.stems(doc_texts[-1])
            corpus.append(analyzer.bind(words) or ["\u2205"])
            doc_stems.append(frozenset(words))
        bm25 = BM25Okapi(corpus)
        # rank-bm25 turns `doc_len` into an array on every call, and it is called once
        # per term below: from a list, that walks the whole corpus each time; from an
        # array of the same int64 values it copies memory, and the scores are the same.
        bm25.doc_len = np.array(bm25.doc_len)
        doc_terms = [frozenset(doc) for doc in corpus]
        docs_with: dict[str, list[int]] = {}
        for i, terms in enumerate(doc_terms):
            for t in terms:
                docs_with.setdefault(t, []).append(i)
        # In the order terms were first met, as before: `bound` and the query weights
        # follow it, and so does the order in which a document's term scores are summed.
        df = {t: len(docs) for t, docs in docs_with.items()}
        # The index never changes, so rank-bm25's score of each term (its idf, k1, b,
        # avgdl) is computed once, on the documents that have the term, instead of on
        # every document at every question.
        postings = {
            t: (np.array(docs, dtype=np.intp), np.array(bm25.get_batch_scores([t], docs), dtype=np.float64))
            for t, docs in docs_with.items()
        }
        bound: dict[str, list[str]] = {}
        for t in df:
            stem = bound_stem(t)
            if stem is not None:
                bound.setdefault(stem, []).append(t)
        phrases: list[tuple[frozenset[str], frozenset[str], str]] = []
        by_stems: list[tuple[frozenset[str], frozenset[str], str]] = []
        written: list[tuple[str, str, bool]] = []
        entry_stems: dict[str, frozenset[str]] = {}
        weak: set[str] = set()
        for entry in self.kb.glossary:
            stems: set[str] = set()
            entry_terms: set[str] = set()
            for phrase in entry.terms.get(lang, ()):
                phrase_stems = frozenset(analyzer.stems(phrase))
                as_written = _said_in_stop_words(phrase, phrase_stems)
                if as_written:
                    written.append((fold(phrase), entry.id, not phrase_stems and not entry.numbers))
                if phrase_stems:
                    phrase_terms = frozenset(analyzer.terms(phrase))
                    phrases.append((phrase_stems, phrase_terms, entry.id))
                    if not as_written:
                        by_stems.append((phrase_stems, phrase_terms, entry.id))
                    stems |= phrase_stems
                    entry_terms |= phrase_terms
            entry_stems[entry.id] = frozenset(stems)
            if entry.weak:
                # "York" bound to "New York" is no more evidence than "New York".
                weak |= stems | entry_terms
        phrase_keys = _phrase_keys(by_stems)
        typed = _Typed.of(written)
        doc_concepts = [
            _named(phrase_keys, t, s) | typed.named(fold(text))
            for t, s, text in zip(doc_terms, doc_stems, doc_texts, strict=True)
        ]
        has_figure = np.array([bool(_FIGURE.search(p.texts[lang])) for p in passages], dtype=np.bool_)
        asking = [fold(t) for e in self.kb.glossary if e.numbers for t in e.terms.get(lang, ())]
        asks_figure = re.compile(r"\b(?:" + "|".join(map(re.escape, asking)) + r")\b") if asking else None
        return _Index(
            lang,
            analyzer,
            passages,
            bm25,
            doc_terms,
            df,
            postings,
            {stem: tuple(terms) for stem, terms in bound.items()},
            phrase_keys,
            typed,
            _entries_by_term(phrases),
            entry_stems,
            frozenset(weak),
            doc_concepts,
            has_figure,
            asks_figure,
        )

    def _concepts(self, text: str, index: _Index) -> frozenset[str]:
        stems = index.analyzer.stems(text)
        return _named(index.phrase_keys, frozenset(index.analyzer.bind(stems)), frozenset(stems))

    def asks_figure(self, text: str, lang: str) -> bool:
        """Whether the question asks for a figure ("how many", "combien", "كم")."""
        return _asks_figure(self._indexes[lang], fold(text))

    def search(self, text: str, lang: str) -> Result:
        """The passages that answer `text`, asked in `lang`."""
        own = self.search_in(text, lang, lang)
        if own.answered or lang == "en":
            return own
        # The question's language found nothing: ask the English text through the glossary.
        english = self.search_in(text, lang, "en")
        return english if english.answered else own

    def search_in(self, text: str, asked_in: str, searched: str) -> Result:
        """Search one language's index (`searched`) with a question asked in `asked_in`."""
        source_index = self._indexes[asked_in]
        index = self._indexes[searched]
        stems = source_index.analyzer.stems(text)
        query = source_index.analyzer.bind(stems)
        if not query:
            return Result((), None)
        query_set = frozenset(query)
        folded = fold(text)
        written = source_index.typed.named(folded)
        concepts = _named(source_index.phrase_keys, query_set, frozenset(stems)) | written
        if searched != asked_in:
            # Mixed-language questions: words typed in English count as they are.
            written |= index.typed.named(folded)
            concepts |= self._concepts(text, index) | written
        # A typed word is found in a passage when the passage has it, or names whole a
        # glossary concept that the question names with a phrase containing the word.
        term_concepts: dict[str, frozenset[str]] = {
            term: source_index.phrase_entries.get(term, frozenset()) & concepts for term in query_set
        }
        # Words that can be found as typed: all of them in their own language; in English,
        # those the English text has too (names, acronyms, numbers).
        literal = query_set if searched == asked_in else frozenset(t for t in query_set if t in index.df)
        equivalents: dict[str, set[str]] = {}
        for term in query_set:
            found = {term} if term in literal else set()
            for eid in term_concepts[term]:
                found |= index.entry_stems.get(eid, frozenset())
            equivalents[term] = found
        weak = source_index.weak_stems
        weights: dict[str, float] = {}
        for term in query:
            for s in equivalents[term]:
                w = 1.0 if s == term else EXPANSION_WEIGHT
                weights[s] = max(weights.get(s, 0.0), w)
        for term in literal:
            for b in index.bound.get(term, ()):
                weights[b] = max(weights.get(b, 0.0), BOUND_HEAD_WEIGHT)
        # A concept named only in stop words ("until", "hasta cuándo") has no word of the
        # question to stand for it: its names are searched as synonyms of the question.
        for eid in written & (source_index.typed.stemless | index.typed.stemless):
            for s in index.entry_stems.get(eid, frozenset()):
                weights[s] = max(weights.get(s, 0.0), EXPANSION_WEIGHT)
        scores = _weighted_scores(index, weights)
        if _asks_figure(source_index, folded):
            scores = np.where(index.has_figure, scores, scores * NO_FIGURE_WEIGHT)
        order = _best(scores, MAX_PASSAGES * 3)
        # What each meaningful word of the question weighs, in the order coverage sums it.
        weighed = [(term, source_index.idf(term)) for term in query_set if term not in weak]
        hits = [self._hit(index, i, scores[i], weighed, term_concepts, literal) for i in order if scores[i] > 0]
        if not hits:
            return Result((), None)
        hits.sort(key=_rank_key)
        best = hits[0]
        key = "coverage" if searched == asked_in else "cross_coverage"
        threshold = self.thresholds[key]
        # A question of two meaningful words or more is not answered by a passage that
        # shares only one of them ("minimum wage" is not "minimum standards").
        needed = min(2, sum(1 for t in query_set if t not in weak))
        if best.coverage < threshold or best.strong_matches < max(1, needed):
            return Result((), best)
        ratio = self.thresholds["secondary_ratio"]
        candidates = [
            h for h in hits[1:] if h.score >= ratio * best.score and h.coverage >= threshold and h.strong_matches
        ]
        return Result(tuple(_diverse(best, candidates, index)), best)

    def _hit(
        self,
        index: _Index,
        i: int,
        score: float,
        weighed: list[tuple[str, float]],
        term_concepts: dict[str, frozenset[str]],
        literal: frozenset[str],
    ) -> Hit:
        doc = index.doc_terms[i]
        named = index.doc_concepts[i]
        total = matched = 0.0
        strong = 0
        for term, weight in weighed:
            total += weight
            if (term in literal and term in doc) or term_concepts[term] & named:
                matched += weight
                strong += 1
        coverage = matched / total if total else 0.0
        return Hit(index.passages[i], float(score), coverage, strong, index.language, i)


def _asks_figure(index: _Index, folded: str) -> bool:
    return index.asks_figure is not None and index.asks_figure.search(folded) is not None


def _entries_by_term(phrases: list[tuple[frozenset[str], frozenset[str], str]]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for _, terms, eid in phrases:
        for term in terms:
            found.setdefault(term, set()).add(eid)
    return {term: frozenset(eids) for term, eids in found.items()}


def _said_in_stop_words(phrase: str, stems: frozenset[str]) -> bool:
    """A name whose meaning is carried by stop words: nothing is left of it without them
    ("until", "U.S."), or one word of several ("without status", "who can apply", "how
    long"). Found by its remaining stem, it would be named by every text that has that
    word ("status", "apply", "long"); it is found as written instead."""
    words = len(re.findall(r"\w+", fold(phrase)))
    return not stems or (words > 1 and len(stems) < 2)


@dataclass(frozen=True)
class _Typed:
    """Glossary names found as written (folded, whole words), and the entries they name.
    `stemless`: entries with a name that leaves no stem at all."""

    pattern: re.Pattern[str] | None
    entries: dict[str, frozenset[str]]
    stemless: frozenset[str]

    @classmethod
    def of(cls, written: list[tuple[str, str, bool]]) -> _Typed:
        entries: dict[str, set[str]] = {}
        for phrase, eid, _ in written:
            entries.setdefault(phrase, set()).add(eid)
        # Longest first: where two names overlap, the longer one is the name.
        ordered = sorted(entries, key=len, reverse=True)
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)") if ordered else None
        return cls(
            pattern,
            {phrase: frozenset(eids) for phrase, eids in entries.items()},
            frozenset(eid for _, eid, stemless in written if stemless),
        )

    def named(self, folded: str) -> frozenset[str]:
        if self.pattern is None:
            return frozenset()
        return frozenset(eid for m in self.pattern.finditer(folded) for eid in self.entries[m.group()])


def _phrase_keys(
    phrases: list[tuple[frozenset[str], frozenset[str], str]],
) -> dict[str, tuple[tuple[frozenset[str], str], ...]]:
    """Each phrase under the least of its stems: a text can name it only if it has that
    stem, so a text's own stems say which few phrases to test."""
    by_key: dict[str, list[tuple[frozenset[str], str]]] = {}
    for phrase_stems, _, eid in phrases:
        by_key.setdefault(min(phrase_stems), []).append((phrase_stems, eid))
    return {key: tuple(found) for key, found in by_key.items()}


def _named(
    phrase_keys: dict[str, tuple[tuple[frozenset[str], str], ...]], terms: frozenset[str], stems: frozenset[str]
) -> frozenset[str]:
    """The glossary entries a text names by stems (names carried by stop words are found
    as written, by `_Typed`). A name of several stems is found where all of them are, in
    any order ("Gaza family program" names the Gaza program); a name of one stem where
    that stem is not the bound head of another name (the "demand" of "demande d'asile"
    is the asylum claim's, not a word of its own)."""
    return frozenset(
        eid
        for key in stems | terms
        for phrase_stems, eid in phrase_keys.get(key, ())
        if phrase_stems <= (stems if len(phrase_stems) > 1 else terms)
    )


def _rank_key(h: Hit) -> float:
    """BM25 relevance weighted by how much of the question the passage covers: a passage
    that repeats one word of the question must not beat one that answers all of it."""
    return -h.score * h.coverage


# Maximal marginal relevance: how much a passage's overlap with those already chosen
# counts against it. Three passages saying the same thing answer less than three that
# each add something.
MMR_PENALTY = 0.5


def _diverse(best: Hit, candidates: list[Hit], index: _Index) -> list[Hit]:
    terms = {id(h): index.doc_terms[h.doc] for h in [best, *candidates]}
    top = -_rank_key(best) or 1.0
    chosen = [best]
    pool = list(candidates)
    while pool and len(chosen) < MAX_PASSAGES:
        # A passage whose quote a chosen one already holds word for word (a seed that a
        # maintainer's note quotes) would only say it twice.
        pool = [h for h in pool if not any(within(h.passage.quote, c.passage.quote) for c in chosen)]
        if not pool:
            break

        def value(h: Hit) -> float:
            overlap = max(_jaccard(terms[id(h)], terms[id(c)]) for c in chosen)
            return -_rank_key(h) / top - MMR_PENALTY * overlap

        pick = max(pool, key=value)
        pool.remove(pick)
        # One that holds a chosen passage's words and says more takes its place.
        held = next((n for n, c in enumerate(chosen) if within(c.passage.quote, pick.passage.quote)), None)
        if held is None:
            chosen.append(pick)
        else:
            chosen[held] = pick
    return chosen


REPEAT_SHARE = 0.8  # of a quote's runs of five words found in another's: it says nothing new


@functools.lru_cache(maxsize=65536)  # pairs of passages' quotes, compared on every answer
def within(a: str, b: str) -> bool:
    """Quote `a` is (nearly) word for word inside quote `b`."""
    inner = _shingles(a)
    return bool(inner) and len(inner & _shingles(b)) >= REPEAT_SHARE * len(inner)


@functools.lru_cache(maxsize=8192)  # passages' quotes: a bounded set, read on every answer
def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return frozenset(tuple(words[i : i + 5]) for i in range(max(0, len(words) - 4)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _best(scores: npt.NDArray[np.float64], n: int) -> list[int]:
    """The `n` best documents with a positive score, best first; ties go to the earlier
    document, as in a stable sort of every score."""
    docs = np.flatnonzero(scores > 0)
    if len(docs) > n:
        # Only documents scoring at least the n-th best score can be among the n best
        # (all of them, if several tie with it): found without sorting the others.
        nth = np.partition(scores[docs], len(docs) - n)[len(docs) - n]
        docs = docs[scores[docs] >= nth]
    best: list[int] = docs[np.lexsort((docs, -scores[docs]))][:n].tolist()
    return best


def _weighted_scores(index: _Index, weights: dict[str, float]) -> npt.NDArray[np.float64]:
    """rank-bm25's Okapi score of every document, each query term weighted (typed 1,
    synonym less): as summing `get_scores([term])` over the terms, in the same order,
    to the same bits, but paying only for the documents that have each term."""
    totals = np.zeros(len(index.passages))
    for term, weight in weights.items():
        found = index.postings.get(term)
        if found is None:  # in no document: rank-bm25 scores it 0 everywhere
            continue
        docs, scores = found
        # `docs` has no repeats, so each document gets one addition per term, as before.
        totals[docs] += weight * scores
    return totals
