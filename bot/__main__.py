"""The command line: `python -m bot chat | ask | serve | kb check | add | calibrate | embed | train |
stale | gaps | report`.

Owns parsing arguments, reading settings once from the environment, and exit codes.

May import: the standard library and every module of the bot.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.settings import Settings, SettingsError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def _stdio_utf8() -> None:
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="newcomer-bot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("chat", help="talk with the bot in this terminal")
    ask = commands.add_parser("ask", help="one question, one reply")
    ask.add_argument("question", nargs="*", help="the question (omit with --jsonl)")
    ask.add_argument("--jsonl", action="store_true", help="read JSON lines on stdin, write JSON lines")
    ask.add_argument("--lang", help="a language hint (en, fr, es, ar), as a channel would give")
    serve = commands.add_parser("serve", help="run the web server for Telegram and WhatsApp")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    serve.add_argument("--polling", action="store_true", help="fetch Telegram updates by long polling (no webhook)")
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    kb_commands.add_parser("check", help="validate the knowledge base")
    add = kb_commands.add_parser(
        "add", help="register a new document or service-provider note and draft its passages, one per paragraph"
    )
    add.add_argument("source_file", help="a UTF-8 text file, or a note written from knowledge/notes/_template.md")
    add.add_argument("--title", default="", help="the document's title (not for a note)")
    add.add_argument("--publisher", default="", help="who published it (not for a note)")
    add.add_argument("--date", default="", help="its date: YYYY-MM-DD, YYYY-MM or YYYY (not for a note)")
    add.add_argument("--kind", default="news", help="news, government, advocacy or service-provider (default news)")
    add.add_argument("--id", default="", help="the source id (default: from the title and date)")
    kb_commands.add_parser("calibrate", help="set the no-answer thresholds from knowledge/calibration.yaml")
    kb_commands.add_parser("embed", help="encode the passages and taught questions into knowledge/vectors.npz")
    kb_commands.add_parser("train", help="fit the learned models from knowledge/ and report them")
    teach = kb_commands.add_parser("teach", help="add a question, as people ask it, to a passage's examples")
    teach.add_argument("question")
    teach.add_argument("passage_id")
    teach.add_argument("--lang", choices=("en", "fr", "es", "ar"), help="the question's language (found otherwise)")
    kb_commands.add_parser("stale", help="passages past their review-by date or whose measure ended, oldest first")
    report = kb_commands.add_parser("report", help="per passage: times cited, thumbs up and down, age, languages")
    report.add_argument("--html", metavar="FILE", help="write the report as a web page, with a chart, to FILE")
    kb_commands.add_parser("gaps", help="questions asked at least twice that the bot could not answer, per language")
    args = parser.parse_args(argv)

    _stdio_utf8()
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.command == "kb" and args.kb_command == "add":
        return _kb_add(args, settings)
    if args.command == "kb" and args.kb_command == "report":
        return _kb_report(settings, args.html)
    if args.command == "kb" and args.kb_command == "teach":
        return _kb_teach(settings, args.question, args.passage_id, args.lang)
    if args.command == "kb":
        return _kb(args.kb_command, settings)
    if args.command == "serve":
        from bot.keys import PepperError

        try:
            return _serve(settings, args.host, args.port, args.polling)
        except PepperError as exc:  # a pepper file others can read: refused, said plainly
            print(f"error: {exc}", file=sys.stderr)
            return 2

    from bot.app import build_bot
    from bot.core import Incoming
    from bot.terminal import for_terminal, run_chat, run_jsonl

    bot = build_bot(settings)
    if args.command == "chat":
        run_chat(bot, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
        return 0
    if args.jsonl:
        run_jsonl(bot, sys.stdin, sys.stdout)
        return 0
    question = " ".join(args.question)
    print(for_terminal(bot.handle(Incoming(question, language_hint=args.lang))))
    return 0


def _serve(settings: Settings, host: str, port: int, polling: bool) -> int:
    import uvicorn

    from bot.app import build_conversations, rebuild_bot
    from bot.server import SHUTDOWN_GRACE, configure_logging, create_app, uvicorn_options

    # Never serve what `kb check` rejects: at start-up there is no last good build to keep
    # (a reload keeps the running one), so the server refuses to start and says why.
    bot, problems = rebuild_bot(settings)
    if bot is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(
            f"error: not serving: kb check found {len(problems)} problem(s) in {settings.knowledge_dir};"
            " fix them (`python -m bot kb check` lists them) and start again",
            file=sys.stderr,
        )
        return 1
    configure_logging(settings.log_level)
    app = create_app(
        settings, build_conversations(settings, bot), polling=polling, rebuild=lambda: rebuild_bot(settings)
    )
    # uvicorn's access log would record callers' addresses: off. Its other logs go
    # through the configuration above.
    # On SIGINT or SIGTERM, requests in flight get SHUTDOWN_GRACE seconds to end; the server
    # arms its own deadline beside (bot.server._bound_shutdown).
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE) + 1,
        **uvicorn_options(settings),
    )
    return 0


def _kb_add(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import date
    from pathlib import Path

    from bot.drafts import AddError, add_source

    try:
        added = add_source(
            settings.knowledge_dir,
            Path(args.source_file),
            title=args.title,
            publisher=args.publisher,
            when=args.date,
            kind=args.kind,
            source_id=args.id,
            today=settings.today or date.today(),
        )
    except AddError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    where = "knowledge/sources.yaml" if added.registered else "its front matter (a note registers itself)"
    print(f"source {added.source_id}: {added.file}, registered in {where}")
    print(
        f"{added.drafts} draft passage(s) in {added.passages_file}"
        + (f" ({added.skipped} short paragraph(s) left out)" if added.skipped else "")
    )
    print("next: in each draft worth keeping, set topics, write en, fr, es and ar, fill vetted_by and vetted_on,")
    print("change status to vetted and delete the drafts you do not need; then run `python -m bot kb check`")
    return 0


def _kb_report(settings: Settings, html_file: str | None) -> int:
    import importlib.util
    from datetime import date
    from pathlib import Path

    if html_file is not None and importlib.util.find_spec("matplotlib") is None:
        # An optional extra: serving does not need it, so the Docker image leaves it out.
        print(
            "error: kb report --html draws its chart with matplotlib, which is not installed here "
            "(the Docker image leaves it out): pip install 'newcomer-bot[report]', "
            "or run kb report without --html",
            file=sys.stderr,
        )
        return 2

    from bot.knowledge import load
    from bot.storage import Store
    from bot.usage import html_report
    from bot.usage import report as usage_report

    kb = load(settings.knowledge_dir)
    today = settings.today or date.today()
    store = Store.open(settings.data_dir)
    try:
        if html_file is None:
            for line in usage_report(kb, store, today):
                print(line)
            return 0
        page = html_report(kb, store, today)
    finally:
        store.close()
    try:
        Path(html_file).write_text(page, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {html_file}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"report written to {html_file}", file=sys.stderr)
    return 0


def _kb_teach(settings: Settings, question: str, passage_id: str, lang: str | None) -> int:
    from bot.knowledge import load
    from bot.teaching import TeachError, teach

    try:
        added = teach(load(settings.knowledge_dir), question, passage_id, lang)
    except TeachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"taught to {passage_id} ({added}); run `python -m bot kb embed` to store its vector, then reload")
    return 0


def _kb(command: str, settings: Settings) -> int:
    if command == "check":
        from bot.kbcheck import check, errors

        problems = check(settings.knowledge_dir)
        for problem in problems:
            print(problem)
        bad = errors(problems)
        to_do = len(problems) - len(bad)
        left = f"; {to_do} note(s) of work left (drafts, texts to fill)" if to_do else ""
        if bad:
            print(f"{len(bad)} problem(s){left}", file=sys.stderr)
            return 1
        print(f"knowledge base OK{left}", file=sys.stderr)
        return 0
    if command == "gaps":
        from bot.storage import Store

        store = Store.open(settings.data_dir)
        rows = store.gaps(at_least=2)
        store.close()
        for language, question, count, last_day in rows:
            print(f"{language}  {count:>4}×  last {last_day}  {question}")
        print(f"{len(rows)} question(s) asked at least twice without an answer", file=sys.stderr)
        return 0
    if command == "stale":
        from datetime import date

        from bot.freshness import report as stale_report
        from bot.knowledge import load

        lines = stale_report(load(settings.knowledge_dir), settings.today or date.today())
        for line in lines:
            print(line)
        print(f"{len(lines)} passage(s) to review", file=sys.stderr)
        return 0
    if command == "embed":
        from bot.app import build_bot
        from bot.understanding.encoder import ARTIFACT
        from bot.understanding.training import keep_training_vectors

        bot = build_bot(settings)
        keep_training_vectors(bot, settings.knowledge_dir)  # so that `kb train` encodes only what is new
        stored = bot.vectors.write(settings.knowledge_dir / ARTIFACT)
        print(f"{stored} vectors written to {ARTIFACT} ({bot.vectors.encoded_at_load} newly encoded)")
        return 0
    if command == "train":
        from bot.understanding.training import train

        try:
            return train(settings, sys.stdout)
        except ImportError as exc:  # scikit-learn: in the test lock, not in what serving needs
            print(f"error: {exc.name} is needed to train: pip install -r requirements/test.lock", file=sys.stderr)
            return 2
    from bot.calibration import calibrate

    return calibrate(settings, sys.stdout)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C while loading or answering: leave quietly, with the shell's code for it.
        print(file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # The reader left (`| head`): nothing more to say, and no traceback about it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
