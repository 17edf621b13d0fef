"""Streamed tokens collected between screen refreshes, so a fast expert costs at most ~10 Markdown updates a second.

The owner (the conversation screen) adds each token as its message arrives. The
first token after a write asks for the next write: a `FlushTokens` message posted
to the owner at once if the last write is FLUSH_INTERVAL_S old, otherwise by a
timer when it will be. The message queues behind the tokens already waiting, so
they are written together. The owner also writes early (`take`) before showing
any other event, which keeps the screen in event order; a flush message that
arrives after such an early write is stale and is ignored.
"""

from __future__ import annotations

import time

from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer

#: the shortest time between two writes of streamed tokens (the Markdown refresh rate while streaming)
FLUSH_INTERVAL_S = 0.1


class FlushTokens(Message, bubble=False):
    """Time to write the collected tokens; `request` tells a due flush from a stale one."""

    def __init__(self, request: int) -> None:
        super().__init__()
        self.request = request


class TokenBatch:
    """Tokens not yet on screen, by assignment position, and when the next write is due."""

    def __init__(self, owner: MessagePump) -> None:
        self._owner = owner
        self._pending: dict[int, list[str]] = {}
        self._timer: Timer | None = None
        self._request = 0  # the flush asked for; 0 when none is
        self._requests = 0
        self.taken_at = 0.0  # when the last batch was taken for the screen (monotonic seconds)

    def add(self, position: int, text: str) -> None:
        """Collect one token; ask for a write unless one is coming."""
        self._pending.setdefault(position, []).append(text)
        if self._request:
            return
        self._requests += 1
        self._request = request = self._requests
        delay = self.taken_at + FLUSH_INTERVAL_S - time.monotonic()
        if delay > 0:
            self._timer = self._owner.set_timer(delay, lambda: self._owner.post_message(FlushTokens(request)))
        else:  # (a zero-delay Textual timer would fail: it divides by its interval)
            self._owner.post_message(FlushTokens(request))

    def due(self, message: FlushTokens) -> bool:
        """Whether `message` asks for the write still pending (not one an early `take` already did)."""
        return message.request == self._request

    def take(self) -> dict[int, list[str]]:
        """The collected tokens, now; the pending write request is cancelled."""
        self._request = 0
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        pending, self._pending = self._pending, {}
        if pending:
            self.taken_at = time.monotonic()
        return pending

    def clear(self) -> None:
        """Drop anything collected (a new question starts)."""
        self.take()
