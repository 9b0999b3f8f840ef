"""The chat socket at /ws/: parses frames, calls the services, delivers events.

Delivery keeps one cursor per conversation: a frame goes out only if its seq is the next
one; a gap left by the lossy channel layer is filled from the outbox. So each socket gets
every event it may see exactly once and in order. Every event carries its audience (the
members when it happened): a socket of a user outside it gets nothing.
"""

import asyncio
import enum
import json
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import Any

from auditlog.context import set_actor
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from accounts.models import User
from accounts.services.access import AccessChange

from . import selectors
from .admission import handshake_admitted
from .arrivals import Arrival, socket_arrive
from .auth import Presented
from .catch_up import CatchUpAsk, socket_catch_up
from .db_threads import in_db_thread
from .errors import ChatError, ErrorCode
from .models import EventType, PresenceStatus
from .payloads import user_payload
from .services import messages, presence
from .services.events import (
    GroupMessage,
    broadcasts_deferred,
    conversation_group,
    event_frame,
    group_send_all,
    user_group,
)
from .sign_in import AccessLostError, CloseCode, SignIn
from .sign_in_watch import token_sign_in_watch

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class _Self(enum.Enum):
    USER = "the socket's user"


_SELF = _Self.USER


def _as_actor(
    user: User | None,
    service: Callable[..., Any],
    kwargs: dict[str, Any],
    broadcasts: list[GroupMessage],
    sign_in: SignIn | None,
) -> Any:
    if sign_in is not None:
        sign_in.require()  # in the same thread hop as the service: no extra round trip
    with set_actor(user) if user is not None else nullcontext(), broadcasts_deferred(broadcasts):
        return service(**kwargs)


def _announce_later(broadcasts: list[GroupMessage]) -> Callable[[asyncio.Future[Any]], None]:
    def announce(call: asyncio.Future[Any]) -> None:
        if not call.cancelled():
            call.exception()  # its error frame has no socket left to go to
        _background.add(task := asyncio.ensure_future(group_send_all(broadcasts)))
        task.add_done_callback(_background.discard)

    return announce


# Tasks nobody awaits, kept referenced until they end (asyncio holds only weak references).
_background: set[asyncio.Future[None]] = set()


# Frames that make sense before `sync`: the rest are answered, and the client told once that
# it will see nothing live until it syncs.
_BEFORE_SYNC = frozenset({"sync", "ping", "presence.set"})


def _int_field(frame: dict[str, Any], name: str) -> int:
    value = frame.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ChatError(ErrorCode.INVALID_FRAME, f"'{name}' must be an integer")
    return value


def _confirmations(frame: dict[str, Any]) -> list[str]:
    """The warning tokens a sender confirms (docs/chat.md, "Content policies at send time")."""
    value = frame.get("confirm_warnings") or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ChatError(ErrorCode.INVALID_FRAME, "'confirm_warnings' must be a list of tokens")
    return value


class EncodedFrames:
    """Event frames as JSON text, encoded once per process for every socket they go to.

    An event never changes once written, so its conversation and seq name its frame; the
    live copy and the outbox copy of a frame are the same (event_frame).
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._texts: OrderedDict[tuple[int, int], str] = OrderedDict()

    def text(self, frame: dict[str, Any]) -> str:
        key = (frame["conversation"], frame["seq"])
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = json.dumps(frame)
            if len(self._texts) > self._size:
                self._texts.popitem(last=False)
        return text


_encoded_frames = EncodedFrames()


class ChatConsumer(AsyncJsonWebsocketConsumer):
    user: User
    cursors: dict[int, int]
    synced: bool
    # Live frames that came ahead of their turn, per conversation, by seq; and the task that
    # fills the gap from the outbox if the missing frames do not come live in time.
    held: dict[int, dict[int, tuple[dict[str, Any], list[int]]]]
    gap_waits: dict[int, asyncio.Task[None]]
    sign_in: SignIn
    # Set when the process's token watch finds this socket's API token ended.
    sign_in_lost: CloseCode | None
    closing: asyncio.Future[None] | None = None
    access_watch: asyncio.Task[None] | None
    # The last presence status this socket passed on, per user.
    presence_seen: dict[int, str]
    # Whether a frame that acts before `sync` was answered with the not_synced notice.
    told_not_synced: bool
    # The socket's ASGI receive: admission reads a client's departure from it (admission.py).
    client_receive: Callable[[], Awaitable[dict[str, Any]]]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.client_receive = receive
        await super().__call__(scope, receive, send)

    async def connect(self) -> None:
        """Authenticate, join, accept and say hello: admitted a few handshakes at a time
        (admission.py), the arrival batched with the others of the moment (arrivals.py). A
        handshake whose client left while it waited its turn is dropped unworked."""
        gate = await handshake_admitted(self.client_receive)
        if gate is None:
            raise StopConsumer  # nothing was done for it: nothing to undo
        try:
            await self._arrive()
        finally:
            gate.release()

    async def _arrive(self) -> None:
        self.cursors = {}
        self.synced = False
        self.held = {}
        self.gap_waits = {}
        self.presence_seen = {}
        self.told_not_synced = False
        self.sign_in_lost = None
        self.access_watch = None

        async def join(arrival: Arrival | None) -> None:
            if arrival is None:
                return
            self.user, self.sign_in = arrival.user, arrival.sign_in
            await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
            # Before the presence goes out, so that this socket hears its own.
            for conversation_id in arrival.joined:
                await self.channel_layer.group_add(
                    conversation_group(conversation_id), self.channel_name
                )
            # An event committed between the read and the joins is not lost: nothing live
            # goes out before `sync`, whose catch-up (_reconcile) reads the outbox past these.
            self.cursors = {cid: last for cid, (_joined, last) in arrival.joined.items()}
            await self.accept()

        arrival = await socket_arrive(
            presented=self.scope.get("chat_credentials") or Presented(None, None),
            channel_name=self.channel_name,
            then=join,
        )
        if arrival is None:
            await self.close(code=int(CloseCode.SIGNED_OUT))
            return
        if self.sign_in.token_digest is not None:
            token_sign_in_watch.add(self.sign_in.token_digest, self)
        self.access_watch = asyncio.create_task(self._watch_access())
        await self.send_json(
            {"type": "hello", "user": user_payload(self.user), "cursors": self.cursors}
        )

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "user"):
            return
        for task in self.gap_waits.values():
            task.cancel()
        if self.access_watch is not None:
            self.access_watch.cancel()
        if self.sign_in.token_digest is not None:
            token_sign_in_watch.discard(self.sign_in.token_digest, self)
        await self._call(
            presence.presence_session_set,
            check_sign_in=False,
            user=self.user,
            channel_name=self.channel_name,
            status=PresenceStatus.OFFLINE,
        )
        for conversation_id in list(self.cursors):
            await self.channel_layer.group_discard(
                conversation_group(conversation_id), self.channel_name
            )
        await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run the handler of a message, without channels' per-message connection cleanup.

        channels runs `close_old_connections` in its one database thread before every
        message it dispatches: at fan-out ten, eleven thread hops per chat message, each
        queued behind the services' queries (docs/performance.md). This consumer uses the
        database only through `in_db_thread`, which gives the connection back inside each
        call. The handshake's middleware (session, user, token) runs in channels' thread
        through `database_sync_to_async`, which gives its connection back itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def _call(
        self,
        service: Callable[..., Any],
        *,
        check_sign_in: bool = True,
        then: Callable[[Any], Awaitable[None]] | None = None,
        actor: User | _Self | None = _SELF,
        **kwargs: Any,
    ) -> Any:
        """Run a service in a database thread, with this user as the audit actor.

        First the socket's sign-in is checked (AccessLostError if it no longer holds): a
        session's in the call's own thread hop; a token's as the process's token watch last
        found it (sign_in_watch.py: within EIM_SOCKET_TOKEN_CHECK_SECONDS). What the service
        broadcasts is sent from here once it returns (or fails after committing). If the
        socket's task is cancelled meanwhile, the call still ends in its thread, and what it
        committed is still announced when it does. `then` runs with the result before the
        broadcasts go out. `actor`: the audit actor, if not this socket's user (the handshake's
        call runs before the user is known).
        """
        broadcasts: list[GroupMessage] = []
        if check_sign_in and self.sign_in_lost is not None:
            raise AccessLostError(self.sign_in_lost)
        # A session's sign-in is re-checked with the call; a token's by the process's watch.
        by_session = check_sign_in and self.sign_in.token_digest is None
        sign_in = self.sign_in if by_session else None
        call = asyncio.ensure_future(
            in_db_thread(_as_actor)(
                self.user if actor is _SELF else actor, service, kwargs, broadcasts, sign_in
            )
        )
        try:
            result = await asyncio.shield(call)
            if then is not None:
                await then(result)
            return result
        except asyncio.CancelledError:
            if not call.done():
                call.add_done_callback(_announce_later(broadcasts))
            raise
        finally:
            if call.done():
                await group_send_all(broadcasts)

    # ----- frames from the client

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = await self._parse(text_data, bytes_data)
        if frame is None:
            return
        handler = self._handlers().get(frame["type"])
        try:
            if handler is None:
                raise ChatError(ErrorCode.UNKNOWN_TYPE, f"unknown frame type {frame['type']!r}")
            await handler(frame)
        except ChatError as error:
            await self._send_error(error, frame)
        except AccessLostError as lost:
            await self.close(code=int(lost.code))
            return
        if not self.synced and not self.told_not_synced and frame["type"] not in _BEFORE_SYNC:
            self.told_not_synced = True
            await self.send_json(
                {
                    "type": "notice",
                    "code": "not_synced",
                    "detail": "this socket has not sent 'sync': it receives no live events "
                    "(its own messages included) until it does",
                }
            )

    @property
    def user_id(self) -> int:
        return int(self.user.pk)

    def sign_in_ended(self, code: CloseCode) -> None:
        """The process's token watch found this socket's API token ended: refuse every
        frame from now on, and close."""
        self.sign_in_lost = code
        self.closing = asyncio.ensure_future(self.close(code=int(code)))

    async def _watch_access(self) -> None:
        """Re-check the sign-in every EIM_SOCKET_ACCESS_CHECK_SECONDS, and catch up.

        The close sent when access ends travels on the lossy channel layer; this bounds how
        long a socket whose close was lost stays open. Catching up (as a ping does) also
        ends a removed member's subscription whose member.left frame was lost. The first
        wait is drawn at random, so that sockets that connected together (after a server
        restart, say) do not all check at the same moment.
        """
        period = settings.EIM_SOCKET_ACCESS_CHECK_SECONDS
        await asyncio.sleep(random.uniform(0, period))
        while True:
            try:
                if self.synced:
                    await self._reconcile(check_sign_in=True)
                else:
                    await in_db_thread(self.sign_in.require)()
            except AccessLostError as lost:
                await self.close(code=int(lost.code))
                return
            except Exception:
                logger.exception("re-checking the socket of user %s failed", self.user.pk)
            await asyncio.sleep(period)

    async def _parse(
        self, text_data: str | None, bytes_data: bytes | None
    ) -> dict[str, Any] | None:
        raw = text_data if text_data is not None else bytes_data
        if raw is None:
            return None
        if len(raw) > settings.EIM_MAX_FRAME_BYTES:
            await self._send_error(
                ChatError(
                    ErrorCode.FRAME_TOO_LARGE,
                    f"a frame is at most {settings.EIM_MAX_FRAME_BYTES} bytes",
                ),
                {},
            )
            return None
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            await self._send_error(
                ChatError(ErrorCode.INVALID_JSON, "the frame is not valid JSON"), {}
            )
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self._send_error(
                ChatError(ErrorCode.INVALID_FRAME, "a frame is a JSON object with a 'type'"), {}
            )
            return None
        return frame

    def _handlers(self) -> dict[str, Handler]:
        return {
            "message.send": self.on_message_send,
            "message.edit": self.on_message_edit,
            "message.delete": self.on_message_delete,
            "reaction.add": self.on_reaction_add,
            "reaction.remove": self.on_reaction_remove,
            "typing": self.on_typing,
            "presence.set": self.on_presence_set,
            "read.mark": self.on_read_mark,
            "sync": self.on_sync,
            "ping": self.on_ping,
        }

    async def _send_error(self, error: ChatError, frame: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"type": "error", "code": error.code.value, "detail": error.detail}
        for echo in ("ref", "client_id"):
            if isinstance(frame.get(echo), str | int):
                reply[echo] = frame[echo]
        if error.retry_after is not None:
            reply["retry_after"] = error.retry_after
        if error.findings is not None:
            reply["findings"] = error.findings
        await self.send_json(reply)

    async def _ok(self, frame: dict[str, Any]) -> None:
        if "ref" in frame:
            await self.send_json({"type": "ok", "ref": frame["ref"]})

    async def on_message_send(self, frame: dict[str, Any]) -> None:
        attachments = frame.get("attachments") or []
        parent = frame.get("parent")
        if not isinstance(attachments, list) or not all(isinstance(a, int) for a in attachments):
            raise ChatError(ErrorCode.INVALID_FRAME, "'attachments' must be a list of ids")
        if parent is not None and not isinstance(parent, int):
            raise ChatError(ErrorCode.INVALID_FRAME, "'parent' must be a message id")
        result = await self._call(
            messages.message_send,
            author=self.user,
            conversation_id=_int_field(frame, "conversation"),
            body=frame.get("body", ""),
            client_id=frame.get("client_id"),
            parent_id=parent,
            attachment_ids=attachments,
            confirm_warnings=_confirmations(frame),
        )
        await self.send_json(
            {"type": "message.ack", "client_id": frame.get("client_id"), "message": result.payload}
        )

    async def on_message_edit(self, frame: dict[str, Any]) -> None:
        await self._call(
            messages.message_edit,
            user=self.user,
            message_id=_int_field(frame, "message"),
            body=frame.get("body"),
            confirm_warnings=_confirmations(frame),
        )
        await self._ok(frame)

    async def on_message_delete(self, frame: dict[str, Any]) -> None:
        await self._call(
            messages.message_delete, user=self.user, message_id=_int_field(frame, "message")
        )
        await self._ok(frame)

    async def on_reaction_add(self, frame: dict[str, Any]) -> None:
        await self._call(
            messages.reaction_add,
            user=self.user,
            message_id=_int_field(frame, "message"),
            emoji=frame.get("emoji"),
        )
        await self._ok(frame)

    async def on_reaction_remove(self, frame: dict[str, Any]) -> None:
        await self._call(
            messages.reaction_remove,
            user=self.user,
            message_id=_int_field(frame, "message"),
            emoji=frame.get("emoji"),
        )
        await self._ok(frame)

    async def on_typing(self, frame: dict[str, Any]) -> None:
        await self._call(
            presence.typing_notify,
            user=self.user,
            conversation_id=_int_field(frame, "conversation"),
            thread=frame.get("thread"),
        )

    async def on_presence_set(self, frame: dict[str, Any]) -> None:
        await self._call(
            presence.presence_session_set,
            user=self.user,
            channel_name=self.channel_name,
            status=frame.get("status"),
        )
        await self._ok(frame)

    async def on_read_mark(self, frame: dict[str, Any]) -> None:
        conversation_id = _int_field(frame, "conversation")
        marker = await self._call(
            messages.read_mark,
            user=self.user,
            conversation_id=conversation_id,
            seq=frame.get("seq"),
        )
        await self.channel_layer.group_send(
            user_group(self.user.pk),
            {
                "type": "read.changed",
                "frame": {"type": "read.updated", "conversation": conversation_id, "seq": marker},
            },
        )

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self._call(presence.presence_session_touch, channel_name=self.channel_name)
        if self.synced:
            await self._reconcile()
        await self.send_json({"type": "pong"})

    async def on_sync(self, frame: dict[str, Any]) -> None:
        """Replay what the client missed since its cursors, then start live delivery."""
        cursors = frame.get("cursors") or {}
        if not isinstance(cursors, dict):
            raise ChatError(ErrorCode.INVALID_FRAME, "'cursors' maps conversation ids to seqs")
        for key, value in cursors.items():
            if not str(key).isdigit() or not isinstance(value, int) or value < 0:
                raise ChatError(ErrorCode.INVALID_FRAME, "'cursors' maps conversation ids to seqs")
            conversation_id = int(key)
            if conversation_id in self.cursors:
                self.cursors[conversation_id] = min(value, self.cursors[conversation_id])
        self.synced = True
        await self._reconcile(check_sign_in=True)
        await self.send_json({"type": "sync.done", "cursors": self.cursors})

    # ----- delivery

    async def _reconcile(self, *, check_sign_in: bool = False) -> None:
        """Catch up with the outbox: new conversations, lost frames at the tail.

        One thread hop in the usual case, shared with the other sockets catching up at the
        moment (catch_up.py): the sign-in check (with `check_sign_in`), the conversations
        and the first page of each one behind come in one call; only a conversation more
        than a page behind, or one the user left, reads more.
        """
        joined, pages = await socket_catch_up(
            CatchUpAsk(
                sign_in=self.sign_in if check_sign_in else None,
                user_id=self.user.pk,
                cursors=dict(self.cursors),
                page=settings.EIM_SYNC_PAGE,
            )
        )
        for conversation_id in set(self.cursors) - set(joined):
            # Removed while the member.left frame was lost: deliver it from the outbox.
            await self._deliver_from_outbox(conversation_id, up_to=None)
        for conversation_id, (joined_seq, last_seq) in joined.items():
            if conversation_id not in self.cursors:
                await self._subscribe(conversation_id, joined_seq - 1)
            for event in pages.get(conversation_id, ()):
                await self._deliver(event_frame(event), event.audience)
            if conversation_id in pages or last_seq > self.cursors.get(conversation_id, last_seq):
                # The rest, if more than a page was missing; then the frames held meanwhile.
                await self._deliver_from_outbox(conversation_id, up_to=last_seq)

    async def _subscribe(self, conversation_id: int, cursor: int) -> None:
        await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        self.cursors[conversation_id] = cursor

    async def _unsubscribe(self, conversation_id: int) -> None:
        await self.channel_layer.group_discard(
            conversation_group(conversation_id), self.channel_name
        )
        self.cursors.pop(conversation_id, None)

    async def _deliver_from_outbox(self, conversation_id: int, *, up_to: int | None) -> None:
        page = settings.EIM_SYNC_PAGE
        while conversation_id in self.cursors:
            cursor = self.cursors[conversation_id]
            if up_to is not None and cursor >= up_to:
                break
            limit = page if up_to is None else min(page, up_to - cursor)
            events = await in_db_thread(selectors.events_after)(
                conversation_id=conversation_id, after_seq=cursor, limit=limit
            )
            for event in events:
                await self._deliver(event_frame(event), event.audience)
            if len(events) < limit:
                break
        await self._release_held(conversation_id)

    async def _deliver(self, frame: dict[str, Any], audience: list[int]) -> None:
        conversation_id, seq = frame["conversation"], frame["seq"]
        cursor = self.cursors.get(conversation_id)
        if cursor is None or seq <= cursor:
            return
        self.cursors[conversation_id] = seq
        if self.user.pk in audience:
            await self.send(text_data=_encoded_frames.text(frame))
        if frame["type"] == EventType.MEMBER_LEFT and frame["user"]["id"] == self.user.pk:
            await self._unsubscribe(conversation_id)

    def _hold(self, frame: dict[str, Any], audience: list[int]) -> None:
        """Keep a frame that came ahead of its turn until the ones before it are delivered.

        Events commit in seq order, but two senders' broadcasts (two database threads, two
        servers) may reach the layer the other way round. Going to the outbox at once would
        cost every member's socket a query for a frame that is a few milliseconds away; so
        wait EIM_GAP_WAIT_MS for it first. A frame the layer really lost costs that wait.
        """
        conversation_id = frame["conversation"]
        self.held.setdefault(conversation_id, {})[frame["seq"]] = (frame, audience)
        if conversation_id not in self.gap_waits:
            self.gap_waits[conversation_id] = asyncio.create_task(
                self._fill_gap_later(conversation_id)
            )

    async def _fill_gap_later(self, conversation_id: int) -> None:
        await asyncio.sleep(settings.EIM_GAP_WAIT_MS / 1000)
        del self.gap_waits[conversation_id]  # a gap found from here on waits again
        held = self.held.get(conversation_id)
        if held:
            await self._deliver_from_outbox(conversation_id, up_to=max(held) - 1)

    async def _release_held(self, conversation_id: int) -> None:
        """Deliver the held frames that are now next in turn; forget those already passed."""
        held = self.held.get(conversation_id)
        while held:
            cursor = self.cursors.get(conversation_id)
            if cursor is None:
                held.clear()
                break
            for seq in [seq for seq in held if seq <= cursor]:
                del held[seq]
            if cursor + 1 not in held:
                break
            await self._deliver(*held.pop(cursor + 1))
        if not held:
            self.held.pop(conversation_id, None)
            waiting = self.gap_waits.pop(conversation_id, None)
            if waiting is not None:
                waiting.cancel()

    async def conversation_event(self, message: dict[str, Any]) -> None:
        """A live event from the channel layer (possibly late, duplicated or after a gap)."""
        frame, audience = message["event"], message["audience"]
        conversation_id, seq = frame["conversation"], frame["seq"]
        is_my_join = (
            frame["type"] == EventType.MEMBER_JOINED and frame["user"]["id"] == self.user.pk
        )
        if conversation_id not in self.cursors and is_my_join:
            await self._subscribe(conversation_id, seq - 1)
        if not self.synced or conversation_id not in self.cursors:
            return
        if seq > self.cursors[conversation_id] + 1:
            self._hold(frame, audience)
            return
        await self._deliver(frame, audience)
        await self._release_held(conversation_id)

    async def typing_changed(self, message: dict[str, Any]) -> None:
        frame = message["frame"]
        if frame["user"] != self.user.pk and self.user.pk in message["audience"]:
            await self.send_json(frame)

    async def presence_changed(self, message: dict[str, Any]) -> None:
        """A presence comes once per conversation this socket shares with its user: only a
        status that is news for this socket goes out."""
        frame = message["frame"]
        if self.presence_seen.get(frame["user"]) == frame["status"]:
            return
        self.presence_seen[frame["user"]] = frame["status"]
        await self.send_json(frame)

    async def read_changed(self, message: dict[str, Any]) -> None:
        await self.send_json(message["frame"])

    async def notice_created(self, message: dict[str, Any]) -> None:
        """A notice for this user (services/notices.py): shown by every open client."""
        await self.send_json(message["frame"])

    async def preferences_changed(self, message: dict[str, Any]) -> None:
        """The user changed a chat choice (services/preferences.py) on some client."""
        await self.send_json(message["frame"])

    async def conversation_left(self, message: dict[str, Any]) -> None:
        """The user left or was removed: the conversation's presence and typing stop at once.

        The member.left event itself is delivered in its turn (from the outbox now, should
        its live frame be late or lost).
        """
        conversation_id = message["conversation"]
        await self.channel_layer.group_discard(
            conversation_group(conversation_id), self.channel_name
        )
        if self.synced and conversation_id in self.cursors:
            await self._deliver_from_outbox(conversation_id, up_to=None)

    async def access_changed(self, message: dict[str, Any]) -> None:
        """The user's access shrank (accounts' access_reduced, services/access_changes.py)."""
        change = message["change"]
        if change == AccessChange.DEACTIVATED:
            await self.close(code=int(CloseCode.ACCESS_ENDED))
        elif change == AccessChange.ROLE_REVOKED:
            await self.close(code=int(CloseCode.RECONNECT))
        else:  # a password, token or session ended: only the sockets that rode on it close
            try:
                await in_db_thread(self.sign_in.require)()
            except AccessLostError as lost:
                await self.close(code=int(lost.code))

    async def session_ended(self, message: dict[str, Any]) -> None:
        """A browser session logged out: close the sockets that rode on that session."""
        if self.sign_in.session_key == message["session_key"]:
            await self.close(code=int(CloseCode.SIGNED_OUT))
