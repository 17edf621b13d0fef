"""Pipeline events as Textual messages, posted from the thread that runs the pipeline.

The pipeline calls its listener on its own thread. `Relay` is that listener: it
turns each event into a message and posts it to the conversation screen with
`post_message`, which is thread-safe and never waits, so the generating thread
never waits for the screen. The screen handles each kind with an `@on` handler,
in the order the events happened (one message queue).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from textual.message import Message
from textual.message_pump import MessagePump

from seqmoe_local import pipeline
from seqmoe_local.pool import PoolEvent

E = TypeVar("E")


class PipelineMessage(Message, Generic[E], bubble=False):
    """One pipeline event; `event` is the pipeline's own record of it.

    None of these bubble (each subclass says so: Textual resets it per class): only the screen handles them.
    """

    def __init__(self, event: E) -> None:
        super().__init__()
        self.event = event


class Routed(PipelineMessage[pipeline.Routed], bubble=False):
    """Routing is done: segments, both stages, assignments."""


class SegmentStarted(PipelineMessage[pipeline.SegmentStarted], bubble=False):
    """A task segment began (its model may still have to load)."""


class TokenGenerated(PipelineMessage[pipeline.TokenGenerated], bubble=False):
    """One streamed piece of a segment's answer."""


class SegmentDone(PipelineMessage[pipeline.SegmentDone], bubble=False):
    """A segment ended, with its output and finish reason."""


class Finished(PipelineMessage[pipeline.Finished], bubble=False):
    """The whole answer ended (also after a cancel): outputs, loads, history use."""


class ModelChanged(PipelineMessage[PoolEvent], bubble=False):
    """The pool loaded or evicted a model."""


class RunEnded(Message, bubble=False):
    """The worker is done; `error` is what stopped it early, if anything. Always the last message of a run."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error


#: the message class for each pipeline event class
MESSAGES: dict[type, type[PipelineMessage]] = {
    pipeline.Routed: Routed,
    pipeline.SegmentStarted: SegmentStarted,
    pipeline.TokenGenerated: TokenGenerated,
    pipeline.SegmentDone: SegmentDone,
    pipeline.Finished: Finished,
    PoolEvent: ModelChanged,
}


class Relay:
    """The pipeline's listener for one question: posts every event to `target`, and carries a cancel.

    A cancel pressed before `Pipeline.ask` began (which clears the pipeline's own
    flag) is applied again at the next event, so it is never lost.
    """

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self.pipeline: pipeline.Pipeline | None = None
        self.cancel_requested = threading.Event()
        self.idle = threading.Event()  # set when the worker thread has ended
        self.idle.set()

    def __call__(self, event: pipeline.Event) -> None:
        """On the pipeline's thread: post, never wait."""
        self.target.post_message(MESSAGES[type(event)](event))
        if self.cancel_requested.is_set() and self.pipeline is not None:
            self.pipeline.cancel()

    def cancel(self) -> None:
        """Stop the answer at the next token (from any thread)."""
        self.cancel_requested.set()
        if self.pipeline is not None:
            self.pipeline.cancel()

    def ended(self, error: BaseException | None) -> None:
        """On the worker thread, last: the run is over."""
        self.target.post_message(RunEnded(error))
        self.idle.set()
