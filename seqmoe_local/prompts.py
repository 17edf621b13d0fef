"""How an expert is prompted: one layout for routing and generation.

An expert sees the conversation as chat messages: a system text, the earlier turns
(each user question and the answer assembled from its segments), then the new
message. Routing scores the new message in that context. Generation appends the
segment's instruction to the same user message and opens the assistant's turn, so
the text scored for routing is, token for token, a prefix of every generation
prompt of that expert: the engine keeps that prefix's KV cache instead of reading
it again.

Chat models render the messages with their own chat template (in the engine, which
owns the tokenizer). Base models, and remote completion servers, get the plain-text
layout below, built from the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]

#: between the user's message and the segment's instruction, in the same user turn
INSTRUCTION_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str


@dataclass(frozen=True)
class Exchange:
    """A finished turn of a conversation, as later turns see it."""

    question: str
    answer: str


def context_messages(system: str, history: Sequence[Exchange]) -> list[Message]:
    """The messages before a new user message: the system text, then each earlier turn."""
    messages = [Message("system", system)] if system else []
    for turn in history:
        messages.append(Message("user", turn.question))
        messages.append(Message("assistant", turn.answer))
    return messages


def user_content(message: str, instruction: str) -> str:
    """The user turn of a generation prompt: the message, then the segment's instruction."""
    return f"{message}{INSTRUCTION_SEPARATOR}{instruction}" if instruction else message


# -- the plain-text layout (base models, remote completion servers) ---------------------------------

PLAIN_QUESTION = "Question:\n"
PLAIN_ANSWER = "\n\nAnswer:\n"
PLAIN_TURN_END = "\n\n"
#: a base model has no end-of-turn token: stop it before it starts the next turn itself
PLAIN_STOPS = ["\nQuestion:", "\n\n\n", "\nAnswer:"]


@dataclass(frozen=True)
class Piece:
    """A run of prompt text: template text (may hold special tokens) or message content (never does)."""

    text: str
    content: bool


def plain_pieces(context: Sequence[Message], message: str, instruction: str | None) -> list[Piece]:
    """The plain-text prompt as pieces.

    With ``instruction=None`` it stops right after `message` (the routing text);
    otherwise the instruction and the answer cue follow (the generation prompt), and
    the routing text is a prefix of it.
    """
    pieces: list[Piece] = []
    for m in context:
        if m.role == "system":
            pieces += [Piece(m.content, True), Piece(PLAIN_TURN_END, False)]
        elif m.role == "user":
            pieces += [Piece(PLAIN_QUESTION, False), Piece(m.content, True)]
        else:
            pieces += [Piece(PLAIN_ANSWER, False), Piece(m.content, True), Piece(PLAIN_TURN_END, False)]
    pieces += [Piece(PLAIN_QUESTION, False), Piece(message, True)]
    if instruction is not None:
        if instruction:
            pieces.append(Piece(INSTRUCTION_SEPARATOR + instruction, True))
        pieces.append(Piece(PLAIN_ANSWER, False))
    return pieces


def join(pieces: Sequence[Piece]) -> str:
    """The prompt text of `pieces`."""
    return "".join(p.text for p in pieces)
