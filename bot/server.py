"""The web server: one Starlette application for both channels, served by uvicorn.

Owns the routes (`POST /telegram`, `POST /whatsapp`, `GET /healthz`), the 64 KB body
limit (413 before anything is parsed), switching each channel on only when its
credentials are set (one log line when it is off), the background work (delivery
retries, polling, the retention purge at start-up and daily), and keeping libraries'
logs free of tokens, chat ids and message text.

May import: the standard library, Starlette, python-telegram-bot, twilio, and the
bot's settings, core (its type), conversation and channel modules. Never storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import FrameType

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from telegram import Bot as TelegramBot
from telegram.request import BaseRequest, HTTPXRequest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.conversation import Conversations, Unavailable
from bot.core import Bot
from bot.settings import Settings
from bot.telegram_channel import TelegramChannel
from bot.whatsapp import WhatsAppChannel, WhatsAppSender
from bot.whatsapp import twilio_client as rest_client

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
PURGE_EVERY = 24 * 60 * 60.0
REMIND_EVERY = 60.0
# Messages that could not leave (and what a crash left in the outbox) are retried this often.
RETRY_EVERY = 5.0
# On SIGINT or SIGTERM: background tasks get this long to end once cancelled, and the
# whole process this long to exit (then it exits at once).
SHUTDOWN_GRACE = 1.0
SHUTDOWN_DEADLINE = 4.0
# Libraries that log request URLs (with the bot token), parameters (chat ids, texts) or
# headers at INFO or DEBUG: they speak only of problems.
QUIET_LOGGERS = ("httpx", "httpcore", "hpack", "telegram", "twilio", "uvicorn.access", "asyncio")


@dataclass
class Channels:
    telegram: TelegramChannel | None = None
    whatsapp: WhatsAppChannel | None = None
    whatsapp_sender: WhatsAppSender | None = None
    polling: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Set when something was queued; the delivery worker wakes up on it.
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    worker: bool = False
    # A reload asked for from the volunteers' room, and how to do it.
    reload_requested: Callable[[], bool] = lambda: False
    reload: Callable[[], Awaitable[None]] | None = None

    async def kick(self) -> None:
        """Something was queued. With the delivery worker running, wake it, so that the
        request that queued it ends now; without it (tests), deliver at once."""
        if self.worker:
            self.wake.set()
        else:
            await self._reload_if_asked()
            await self.deliver()

    async def _reload_if_asked(self) -> None:
        if self.reload is not None and self.reload_requested():
            await self.reload()

    async def deliver_when_woken(self) -> None:
        """The delivery worker: on each wake-up, and every RETRY_EVERY seconds for what
        could not leave (and what a crash left in the outbox)."""
        while True:
            try:
                await self._reload_if_asked()
                await self.deliver()
            except Exception as exc:
                log.warning("delivery failed (%s); will retry", type(exc).__name__)
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for loses a cancellation
            # that arrives as the event is set, and with a poller waking this worker many
            # times a second, the server never stopped on SIGINT or SIGTERM.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_EVERY):
                    await self.wake.wait()
            self.wake.clear()

    async def deliver(self) -> None:
        """Deliver what is queued on every channel (an event on one channel can queue
        messages for the other: a WhatsApp question posted to the volunteers' room)."""
        # One channel's failure must not stall the other's messages.
        for sender in (self.telegram, self.whatsapp_sender):
            if sender is None:
                continue
            try:
                await sender.deliver()
            except Unavailable:
                raise
            except Exception as exc:
                log.error("delivery failed on one channel (%s)", type(exc).__name__)


def quiet_libraries() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_libraries()


def telegram_bot(settings: Settings, request: BaseRequest | None = None) -> TelegramBot:
    base = settings.telegram_api_base_url
    return TelegramBot(
        settings.telegram_token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=request or HTTPXRequest(connection_pool_size=16),
        # getUpdates holds its connection open for POLL_TIMEOUT seconds: its own pool.
        get_updates_request=request or HTTPXRequest(read_timeout=60.0),
    )


def channels(
    settings: Settings,
    conversations: Conversations,
    polling: bool,
    telegram_request: BaseRequest | None = None,
    twilio_client: Client | None = None,
) -> Channels:
    """The channels whose credentials are set; one log line for each that is off."""
    found = Channels(polling=polling)
    if not settings.telegram_token:
        log.info("telegram off: TELEGRAM_BOT_TOKEN is not set")
    else:
        secret = settings.telegram_webhook_secret
        if not polling and not secret:
            log.warning("telegram webhook off: TELEGRAM_WEBHOOK_SECRET is not set (set it, or use --polling)")
        elif not polling and not settings.public_base_url:
            log.warning("telegram webhook off: PUBLIC_BASE_URL is not set (set it, or use --polling)")
        else:
            log.info("telegram on: %s", "polling" if polling else "webhook")
        found.telegram = TelegramChannel(
            conversations, telegram_bot(settings, telegram_request), secret, settings.volunteer_chat_id, found.kick
        )
    if not (settings.twilio_auth_token and settings.public_base_url):
        missing = "TWILIO_AUTH_TOKEN" if not settings.twilio_auth_token else "PUBLIC_BASE_URL"
        log.info("whatsapp off: %s is not set", missing)
    else:
        validator = RequestValidator(settings.twilio_auth_token)
        found.whatsapp = WhatsAppChannel(
            conversations,
            validator,
            settings.public_base_url + "/whatsapp",
            account_sid=settings.twilio_account_sid,
            kick=found.kick,
        )
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from:
        client = twilio_client or rest_client(
            settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base_url
        )
        found.whatsapp_sender = WhatsAppSender(
            conversations, client, settings.twilio_whatsapp_from, settings.twilio_template_sid
        )
        if found.whatsapp is not None:
            log.info("whatsapp on, with replies from volunteers")
    elif found.whatsapp is not None:
        log.info(
            "whatsapp on; whatsapp replies from volunteers off: TWILIO_ACCOUNT_SID or TWILIO_WHATSAPP_FROM is not set"
        )
    if settings.volunteer_chat_id is None:
        log.info("volunteer desk off: VOLUNTEER_CHAT_ID is not set")
    elif found.telegram is None:
        log.warning("volunteer desk off: the volunteers' room is on Telegram, and TELEGRAM_BOT_TOKEN is not set")
    else:
        log.info("volunteer desk on")
    return found


def telegram_state(found: Channels) -> str:
    """What /healthz says of Telegram: off, polling (the loop runs), polling stopped,
    webhook (Telegram accepted it) or webhook not set."""
    if found.telegram is None:
        return "off"
    if found.polling:
        return "polling" if found.telegram.polling else "polling stopped"
    return "webhook" if found.telegram.webhook_set else "webhook not set"


def create_app(
    settings: Settings,
    conversations: Conversations,
    *,
    polling: bool = False,
    telegram_request: BaseRequest | None = None,
    twilio_client: Client | None = None,
    background: bool = True,
    rebuild: Callable[[], tuple[Bot | None, list[str]]] | None = None,
) -> Starlette:
    """The ASGI application. `background=False` leaves out the periodic tasks (tests
    drive delivery, reminders and purging themselves). `rebuild` makes a new bot from the
    knowledge base on disk, or says why not: a reload (SIGHUP, or /reload in the
    volunteers' room) swaps it in without a restart."""
    quiet_libraries()
    found = channels(settings, conversations, polling, telegram_request, twilio_client)

    async def reload() -> None:
        if rebuild is None:
            return
        bot, problems = await asyncio.to_thread(rebuild)
        conversations.replace_bot(bot, problems)
        log.info("knowledge base reload: %s", "done" if bot is not None else f"refused, {len(problems)} problem(s)")
        await found.kick()

    found.reload = reload
    found.reload_requested = lambda: conversations.reload_requested

    async def healthz(request: Request) -> Response:
        report = {"status": "ok", **conversations.health()}
        report["channels"] = {"telegram": telegram_state(found), "whatsapp": "on" if found.whatsapp else "off"}
        report["whatsapp_replies"] = "on" if found.whatsapp_sender else "off"
        report["desk"] = "on" if found.telegram is not None and settings.volunteer_chat_id is not None else "off"
        ok = report["database"] == "ok"
        if not ok:
            report["status"] = "degraded"
        return JSONResponse(report, status_code=200 if ok else 503)

    async def telegram(request: Request) -> Response:
        if found.telegram is None or polling:
            return Response(status_code=404)
        return await found.telegram.webhook(request)

    async def whatsapp(request: Request) -> Response:
        if found.whatsapp is None:
            return Response(status_code=404)
        return await found.whatsapp.webhook(request)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _purge(conversations)
        if background:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reload()))
            found.tasks.append(asyncio.create_task(_every(PURGE_EVERY, lambda: _apurge(conversations))))
            found.tasks.append(asyncio.create_task(_every(REMIND_EVERY, lambda: _remind(conversations, found))))
            found.worker = True
            found.tasks.append(asyncio.create_task(found.deliver_when_woken()))
            if found.telegram is not None:
                if polling:
                    found.tasks.append(asyncio.create_task(found.telegram.poll()))
                elif settings.public_base_url and found.telegram.secret:
                    url = settings.public_base_url + "/telegram"
                    if not await found.telegram.set_webhook(url):
                        found.tasks.append(asyncio.create_task(found.telegram.retry_webhook(url)))
            _bound_shutdown()
        try:
            yield
        finally:
            for task in found.tasks:
                task.cancel()
            # A task that does not end when cancelled (a call stuck in a library) is left
            # behind rather than holding the shutdown.
            if found.tasks:
                _, stuck = await asyncio.wait(found.tasks, timeout=SHUTDOWN_GRACE)
                if stuck:
                    names = ", ".join(sorted(t.get_coro().__qualname__ for t in stuck))  # type: ignore[union-attr]
                    log.warning("shutdown: %d background task(s) did not stop (%s); left behind", len(stuck), names)
            found.tasks.clear()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/telegram", telegram, methods=["POST"]),
        Route("/whatsapp", whatsapp, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.channels = found
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    return app


def _bound_shutdown() -> None:
    """Whatever happens after SIGINT or SIGTERM (a connection that does not close, a
    library call stuck in a worker thread), the process ends within SHUTDOWN_DEADLINE
    seconds. The server's own handlers (uvicorn's) still run first and stop it cleanly;
    this only arms a timer beside them. What is queued is in the database, and is sent
    after the restart. Only in the main thread (not under a test client)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Callable[..., object] = previous) -> None:
            timer = threading.Timer(SHUTDOWN_DEADLINE, _exit_now)
            timer.daemon = True
            timer.start()
            previous(signum, frame)

        signal.signal(sig, handler)


def _exit_now() -> None:
    log.error("shutdown took more than %.0f s: exiting now", SHUTDOWN_DEADLINE)
    logging.shutdown()
    os._exit(1)


def _purge(conversations: Conversations) -> None:
    try:
        purged = conversations.purge()
    except Unavailable:
        log.warning("retention purge postponed: database busy")
        return
    log.info("retention purge: %d people, %d events, %d queued messages", purged.users, purged.events, purged.outbox)


async def _apurge(conversations: Conversations) -> None:
    _purge(conversations)


async def _remind(conversations: Conversations, found: Channels) -> None:
    try:
        if conversations.remind():
            await found.kick()
    except Unavailable:
        log.warning("reminders postponed: database busy")


async def _every(seconds: float, job: Callable[[], Awaitable[None]]) -> None:
    """Run `job` every `seconds`; a failure is logged (its kind only) and retried."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception as exc:
            log.warning("background job failed (%s); will retry", type(exc).__name__)


class BodyLimit:
    """413 for a body over `limit` bytes: at once from Content-Length, or as soon as a
    streamed body passes the limit; the application never sees such a body."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
