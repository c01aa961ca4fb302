"""The web server: one Starlette application for both channels, served by uvicorn.

Owns the routes (`POST /telegram`, `POST /whatsapp`, `GET /healthz`), what one request
and one caller may cost the server (request heads of 16 KB sent within
`BOT_HEADER_TIMEOUT`, bodies of 64 KB, 1 MB for WhatsApp, read within `BOT_BODY_TIMEOUT`,
at most `BOT_MAX_CONNECTIONS` connections: 413, 431, 408 or a closed connection, before
the bot reads anything), switching each channel on only when its credentials are set
(one log line when it is off), the background work (delivery retries, polling, the
retention purge at start-up and daily), and keeping libraries' logs free of tokens, chat
ids and message text.

May import: the standard library, Starlette, uvicorn, python-telegram-bot, twilio, and
the bot's settings, core (its type), conversation and channel modules. Never storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
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
# A WhatsApp message can be far longer than a Telegram one (Twilio documents 1,600
# characters for a Message body, WhatsApp 4,096 for the text of a business message, and
# people paste more): Twilio's form of even 65,536 four-byte characters, every byte
# percent-encoded, is under this. A longer message gets the "your message is long"
# reply; a body above this is refused with 413 before anything is read into the bot.
WHATSAPP_MAX_BODY = 1024 * 1024
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
    app.add_middleware(
        BodyLimit, limit=MAX_BODY, limits={"/whatsapp": WHATSAPP_MAX_BODY}, seconds=float(settings.body_timeout)
    )
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
    """413 for a body over `limit` bytes (or the limit of its path in `limits`): at once
    from Content-Length, or as soon as a streamed body passes the limit; the application
    never sees such a body."""

    def __init__(
        self, app: ASGIApp, limit: int, limits: dict[str, int] | None = None, seconds: float | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.limits = limits or {}
        # The whole body must arrive within this long (None: no bound): 408 otherwise.
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.limit)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(send)
                    return
        received = 0
        started = False
        complete = False
        loop = asyncio.get_running_loop()
        deadline = None if self.seconds is None else loop.time() + self.seconds

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete or deadline is None:
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
                except TimeoutError:
                    raise _TooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
                complete = not message.get("more_body", False)
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
        except _TooSlow:
            log.info("a request body too slow to arrive: 408")
            if not started:
                await _refuse(send, 408)
        except ClientDisconnect:
            # The caller left before its body arrived: nothing to answer, nothing to report.
            log.info("a client left before its request was read")


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send: Send, status: int) -> None:
    headers = [(b"content-length", b"0"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


# -- the connections themselves ------------------------------------------------------------

# A request's line and headers: Telegram's and Twilio's are well under 2 KB.
MAX_HEAD = 16 * 1024
# File descriptors kept for the server's own use (database, logs, outgoing connections to
# Telegram and Twilio) when BOT_MAX_CONNECTIONS is larger than the process may open.
FD_RESERVE = 64


def max_connections(settings: Settings) -> int:
    """BOT_MAX_CONNECTIONS, lowered to what the process's file limit leaves room for."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = settings.max_connections
    room = wanted if soft == resource.RLIM_INFINITY else max(min(wanted, soft - FD_RESERVE), 1)
    if room < wanted:
        log.warning("at most %d connections: the file limit is %d (ulimit -n)", room, soft)
    return room


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `uvicorn.run` needs, besides the application, to hold the server's bounds."""
    return {"http": guarded_http(max_connections(settings), float(settings.header_timeout))}


def guarded_http(connections: int, header_seconds: float, head_bytes: int = MAX_HEAD) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, bounded where uvicorn does not bound it: a request's
    head larger than `head_bytes` gets 431 (httptools would keep the whole of it in memory),
    a head not complete within `header_seconds` of the connection (or of the previous
    response) gets 408, and past `connections` open connections the oldest one still
    sending its head is closed to make room (slow-header connections cannot hold every
    file the process may open); when every connection is busy with a request, the new
    one gets 503."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Guarded(HttpToolsProtocol):
        _in_head = True
        _head = 0
        _since = 0.0
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_head()
            if len(self.connections) > connections:
                self._make_room()

        def _await_head(self) -> None:
            self._in_head, self._head, self._since = True, 0, self.loop.time()
            self._timer = self.loop.call_later(header_seconds, self._head_too_slow)

        def _stop_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _make_room(self) -> None:
            waiting = [
                c
                for c in self.connections
                if isinstance(c, Guarded) and c is not self and c._in_head and not c.transport.is_closing()
            ]
            if waiting:
                min(waiting, key=lambda c: c._since).transport.close()
            else:
                self._refuse(503)

        def _refuse(self, status: int) -> None:
            self._stop_timer()
            self._in_head = False
            reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n" % (status, reason[status])
            )
            self.transport.close()

        def _head_too_slow(self) -> None:
            self._timer = None
            if self._in_head and not self.transport.is_closing():
                self._refuse(408)

        def data_received(self, data: bytes) -> None:
            if self._in_head:
                self._head += len(data)
            super().data_received(data)
            if self._in_head and self._head > head_bytes and not self.transport.is_closing():
                self._refuse(431)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._stop_timer()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_timer()
            super().connection_lost(exc)

    return Guarded
