"""Usage report (`python -m bot kb report`): how each passage serves, for maintainers.

Owns putting together, per passage, the times it was cited, thumbs up and down, its age,
the languages it has, its source's title and where it is written (file:line), from the
knowledge base and the counts the database keeps (no person, no channel, no text); the
replies per language and kind (answers, no answers, handoffs, emergencies); and the
answers per language and topic. Gives it as
plain text lines, or as one self-contained HTML page with a chart of the answers per
topic and language (inline SVG drawn by matplotlib; no script, nothing fetched).

May import: the standard library, matplotlib (only inside the function that draws the
HTML report's chart, so that the server does not load it at start-up) and the bot's
knowledge, normalize and storage modules.
"""

from __future__ import annotations

import html
import io
import textwrap
from dataclasses import dataclass
from datetime import date

from bot.knowledge import KnowledgeBase
from bot.normalize import LANGUAGES
from bot.storage import Store


@dataclass(frozen=True)
class PassageUsage:
    passage_id: str
    cited: int
    helpful: int
    unhelpful: int
    age_days: int
    languages: tuple[str, ...]
    title: str = ""  # the source's title
    source: str = ""  # the source's id
    where: str = ""  # file:line of the passage


def passage_usage(kb: KnowledgeBase, store: Store, today: date) -> list[PassageUsage]:
    """Every passage, most cited first."""
    cited = store.citations()
    feedback = store.passage_feedback()
    rows = []
    for p in kb.passages:
        source = kb.sources.get(p.source)
        rows.append(
            PassageUsage(
                p.id,
                cited.get(p.id, 0),
                *feedback.get(p.id, (0, 0)),
                (today - p.as_of.first_day).days,
                tuple(lang for lang in LANGUAGES if p.texts.get(lang, "").strip()),
                title=source.title if source else "",
                source=p.source,
                where=f"{p.file}:{p.line}",
            )
        )
    return sorted(rows, key=lambda r: (-r.cited, r.passage_id))


# The kinds of reply counted per language: answers (from the topics' counts), then the
# replies that are not answers, which say what the knowledge base or the bot lacks.
KINDS = ("answer", "no_answer", "handoff", "emergency")


def kind_counts(store: Store) -> tuple[list[str], dict[tuple[str, str], int]]:
    """Languages (the bot's four, then any other) and (language, kind) -> replies."""
    counts = dict(store.reply_counts())
    for language, _, count in store.answer_counts():
        counts[(language, "answer")] = counts.get((language, "answer"), 0) + count
    languages = [*LANGUAGES, *sorted({language for language, _ in counts} - set(LANGUAGES))]
    return languages, counts


def report(kb: KnowledgeBase, store: Store, today: date) -> list[str]:
    header = f"{'cited':>6} {'👍':>4} {'👎':>4} {'age (days)':>10}  {'languages':<11}"
    lines = [header + "  passage  [source: title]  file:line"]
    for r in passage_usage(kb, store, today):
        languages = ",".join(r.languages)
        lines.append(
            f"{r.cited:>6} {r.helpful:>4} {r.unhelpful:>4} {r.age_days:>10}  {languages:<11}  {r.passage_id}"
            f"  [{r.source}: {r.title}]  {r.where}"
        )
    lines.append("")
    lines.append("replies per language and kind:")
    columns, counts = kind_counts(store)
    lines.append(f"  {'':<10}" + "".join(f"{language:>7}" for language in columns))
    for kind in KINDS:
        lines.append(f"  {kind:<10}" + "".join(f"{counts.get((language, kind), 0):>7}" for language in columns))
    lines.append("")
    lines.append("answers per language and topic:")
    for language, topic, count in store.answer_counts():
        lines.append(f"  {language}  {topic or '-':<24} {count:>6}")
    return lines


NO_TOPIC = "(no topic)"
NO_ANSWERS = "No answers have been counted yet."
# Okabe–Ito colours: told apart with the common colour-vision deficiencies.
LANGUAGE_COLOURS = {"en": "#0072B2", "fr": "#E69F00", "es": "#009E73", "ar": "#CC79A7"}
OTHER_COLOUR = "#999999"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #888; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
code { font-size: 0.9em; }
"""


def _topic_label(kb: KnowledgeBase, topic: str) -> str:
    if not topic:
        return NO_TOPIC
    known = kb.topics.get(topic)
    return known.labels.get("en", topic) if known else topic


def _answer_table(store: Store) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """Topics (most answered first), languages (the bot's four, then any other) and counts.
    A language with no answer keeps its column: that zero is worth seeing."""
    counts = {(language, topic): count for language, topic, count in store.answer_counts()}
    languages = [*LANGUAGES, *sorted({language for language, _ in counts} - set(LANGUAGES))]
    totals: dict[str, int] = {}
    for (_, topic), count in counts.items():
        totals[topic] = totals.get(topic, 0) + count
    topics = sorted(totals, key=lambda t: (-totals[t], t))
    return topics, languages, counts


def _chart_svg(labels: list[str], languages: list[str], rows: list[list[int]]) -> str:
    """A horizontal stacked bar chart, one bar per label, one colour per language, as an
    inline <svg> element."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    # Text stays text (no glyph outlines), ids come from a fixed salt and the font is the
    # one matplotlib ships (whatever the machine's matplotlibrc says), so the same counts
    # give the same bytes. Labels are never read as maths: a pair of "$" in a topic would
    # be typeset, or fail to parse. rc_context puts every setting back afterwards.
    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "newcomer-bot",
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans"],
            "font.size": 9,
            "text.parse_math": False,
        }
    ):
        fig = Figure(figsize=(8, 1.2 + 0.35 * len(labels)), layout="constrained")
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        positions = list(range(len(labels)))
        left = [0] * len(labels)
        for i, language in enumerate(languages):
            widths = [row[i] for row in rows]
            ax.barh(
                positions,
                widths,
                left=left,
                label=language,
                color=LANGUAGE_COLOURS.get(language, OTHER_COLOUR),
                height=0.7,
            )
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for y, total in zip(positions, left, strict=True):
            ax.annotate(str(total), (total, y), xytext=(3, 0), textcoords="offset points", va="center")
        ax.set_yticks(positions, [textwrap.fill(label, 45) for label in labels])
        ax.invert_yaxis()  # most answered at the top
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("answers")
        ax.margins(x=0.08)
        ax.spines[["top", "right"]].set_visible(False)
        fig.legend(loc="outside upper center", ncols=max(len(languages), 1), frameon=False, title="language")
        buf = io.StringIO()
        # No metadata: its date and matplotlib version would differ from run to run.
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    # Inline SVG in HTML takes the element alone, without the XML declaration and doctype.
    svg = svg[svg.index("<svg") :]
    description = html.escape("Answers per topic, stacked by language; the table below gives the same counts.")
    return svg.replace("<svg", f'<svg role="img" aria-label="{description}"', 1)


def _row(cells: list[str], header: str = "") -> str:
    """One table row; `header` is the first cell's (already escaped) markup when it is a
    row header."""
    return "<tr>" + header + "".join(cells) + "</tr>"


def html_report(kb: KnowledgeBase, store: Store, today: date) -> str:
    """The usage report as one self-contained HTML page (no script, no external resource)."""
    e = html.escape
    topics, languages, counts = _answer_table(store)
    labels = [_topic_label(kb, topic) for topic in topics]
    rows = [[counts.get((language, topic), 0) for language in languages] for topic in topics]

    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>newcomer-bot usage report, {e(today.isoformat())}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<h1>newcomer-bot usage report</h1>",
        f'<p>Report of <time datetime="{e(today.isoformat())}">{e(today.isoformat())}</time>;'
        f" knowledge base version <code>{e(kb.version)}</code>, {len(kb.passages)} passages.</p>",
        "<h2>Answers per topic and language</h2>",
    ]
    if not topics:
        out.append(f"<p>{e(NO_ANSWERS)}</p>")
    else:
        out += [
            "<figure>",
            _chart_svg(labels, languages, rows),
            "<figcaption>Answers per topic, one colour per language.</figcaption>",
            "</figure>",
            "<table>",
            "<caption>answers per language and topic</caption>",
            "<thead>",
            _row(
                [f'<th scope="col" class="num">{e(language)}</th>' for language in languages]
                + ['<th scope="col" class="num">total</th>'],
                '<th scope="col">topic</th>',
            ),
            "</thead>",
            "<tbody>",
        ]
        for topic, label, row in zip(topics, labels, rows, strict=True):
            named = f' title="{e(topic)}"' if topic and label != topic else ""
            out.append(
                _row(
                    [f'<td class="num">{n}</td>' for n in [*row, sum(row)]],
                    f'<th scope="row"{named}>{e(label)}</th>',
                )
            )
        column_totals = [sum(column) for column in zip(*rows, strict=True)]
        out += [
            "</tbody>",
            "<tfoot>",
            _row(
                [f'<td class="num">{n}</td>' for n in [*column_totals, sum(column_totals)]],
                '<th scope="row">all topics</th>',
            ),
            "</tfoot>",
            "</table>",
        ]
    kind_languages, kinds = kind_counts(store)
    out += [
        "<h2>Replies per language and kind</h2>",
        "<table>",
        "<thead>",
        _row(
            [f'<th scope="col" class="num">{e(language)}</th>' for language in kind_languages],
            '<th scope="col">kind</th>',
        ),
        "</thead>",
        "<tbody>",
        *(
            _row(
                [f'<td class="num">{kinds.get((language, kind), 0)}</td>' for language in kind_languages],
                f'<th scope="row">{e(kind)}</th>',
            )
            for kind in KINDS
        ),
        "</tbody>",
        "</table>",
    ]
    out += [
        "<h2>Passages, most cited first</h2>",
        "<table>",
        "<thead>",
        _row(
            [
                f'<th scope="col"{cls}>{name}</th>'
                for name, cls in [
                    ("times cited", ' class="num"'),
                    ("👍", ' class="num"'),
                    ("👎", ' class="num"'),
                    ("age (days)", ' class="num"'),
                    ("languages", ""),
                    ("passage", ""),
                    ("source", ""),
                    ("file:line", ""),
                ]
            ]
        ),
        "</thead>",
        "<tbody>",
    ]
    for r in passage_usage(kb, store, today):
        numbers = [f'<td class="num">{n}</td>' for n in (r.cited, r.helpful, r.unhelpful, r.age_days)]
        out.append(
            _row(
                [
                    *numbers,
                    f"<td>{e(','.join(r.languages))}</td>",
                    f"<td><code>{e(r.passage_id)}</code></td>",
                    f'<td><span title="{e(r.source)}">{e(r.title)}</span></td>',
                    f"<td><code>{e(r.where)}</code></td>",
                ]
            )
        )
    out += ["</tbody>", "</table>", "</body>", "</html>", ""]
    return "\n".join(out)
