"""The command line: `python -m bot chat | ask | serve | kb check | kb calibrate | kb stale | kb gaps | kb report`.

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
    kb_commands.add_parser("calibrate", help="set the no-answer thresholds from knowledge/calibration.yaml")
    kb_commands.add_parser("stale", help="passages past their review-by date or whose measure ended, oldest first")
    kb_commands.add_parser("report", help="per passage: times cited, thumbs up and down, age, languages")
    kb_commands.add_parser("gaps", help="questions asked at least twice that the bot could not answer, per language")
    args = parser.parse_args(argv)

    _stdio_utf8()
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.command == "kb":
        return _kb(args.kb_command, settings)
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.polling)

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
    from bot.server import configure_logging, create_app

    configure_logging(settings.log_level)
    app = create_app(settings, build_conversations(settings), polling=polling, rebuild=lambda: rebuild_bot(settings))
    # uvicorn's access log would record callers' addresses: off. Its other logs go
    # through the configuration above.
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None, proxy_headers=True)
    return 0


def _kb(command: str, settings: Settings) -> int:
    if command == "check":
        from bot.kbcheck import check, errors

        problems = check(settings.knowledge_dir)
        for problem in problems:
            print(problem)
        bad = errors(problems)
        if bad:
            print(f"{len(bad)} problem(s)", file=sys.stderr)
            return 1
        print("knowledge base OK", file=sys.stderr)
        return 0
    if command == "report":
        from datetime import date

        from bot.knowledge import load
        from bot.storage import Store
        from bot.usage import report as usage_report

        store = Store.open(settings.data_dir)
        for line in usage_report(load(settings.knowledge_dir), store, settings.today or date.today()):
            print(line)
        store.close()
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
    from bot.calibration import calibrate

    return calibrate(settings, sys.stdout)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The reader left (`| head`): nothing more to say, and no traceback about it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
