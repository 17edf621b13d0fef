"""Split a compound question into ordered, typed parts ("solve", "explain", "code", ... or "other").

The segmenter is pure regex and string code: deterministic, fast, no models. Roles are data:
`segment` takes a cue table (role -> regexes) so a config file can add a role with its own cues.

Algorithm, in four passes over the query:

1. Mask code. Fenced blocks (```...```, unclosed ones run to the end) and inline `code` are
   replaced, in a same-length copy of the query, by a neutral character, so that nothing inside
   them can end a sentence, start a line, or match a cue. Offsets stay valid.
2. Cut the masked query into units: sentences (., !, ?, CJK 。！？), list items (numbered or
   bulleted lines, and inline "1. ... 2. ..." sequences), lines that start like a new sentence
   (capital letter, list marker, blank line before), and the end of each fenced block.
   Decimals ("1.5"), abbreviations ("e.g.", "i.e.", "vs.", ...), list numbers ("2.") and
   ellipses followed by a lower-case word do not end a sentence.
3. Split units into clauses. A clause starts where a cue matches right after a joiner
   (",", ";", a line break, "and", "then", with fillers such as "also" or "can you"), but only
   if an earlier cue in the same unit already started a task: "sum and product" stays whole,
   and a leading "Given a list of integers, find ..." stays with its task. Neighbouring
   clauses of the same kind in one sentence are one task ("Describe how X works and why").
   A clause's kind is its earliest cue match (ties: the longer match, then cue-table order).
4. Assemble segments. Task clauses are never merged, so two solve sentences stay two
   segments. A unit with no cue is context ("other") and joins a neighbouring "other"
   segment, except that it continues the task before it when it reads like a follow-up
   ("It should ...", "Use ...", "Here is ...") and a fenced block always joins the segment
   before it (the code a task talks about). A fenced block that opens the query is data:
   it starts an "other" segment, which following context joins.

Fallback: when no cue matches anywhere (another language, gibberish), every unit is context, so
the query comes back as one "other" segment covering the whole stripped query. When any cue
matches, the units it matched in become task segments of that kind: the best guess there is.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DEFAULT_CUES", "OTHER", "Segment", "segment"]

OTHER = "other"


@dataclass(frozen=True)
class Segment:
    """One typed part of a query; start/end are character offsets into the original query."""

    kind: str  # a role name from the cue table ("solve", "explain", "code", ...) or "other"
    text: str  # == query[start:end]
    start: int
    end: int


# A compiled cue table: (role, pattern) pairs in table order.
_Table = tuple[tuple[str, re.Pattern[str]], ...]

_LANGS = r"(?:python|java(?:script)?|typescript|c\+\+|c#|rust|golang|ruby|sql|bash|haskell|kotlin|swift)"

# Verbs are written in their base (imperative) form on purpose: "a function that computes x"
# describes code, it is not a new "compute" task.
DEFAULT_CUES: dict[str, tuple[str, ...]] = {
    "solve": (
        r"\b(?:solve|calculate|compute|find|determine|evaluate|simplify|prove|derive|estimate"
        r"|factori[sz]e|factor|integrate|differentiate|convert|count|work\s+out)\b",
        r"\bshow\s+that\b",
        r"\bhow\s+(?:many|much|far|long|fast|often)\b",
        # "What is 3+4?" asks for a number; the digit makes it a longer match than explain's "what is".
        r"\b(?:what|which)(?:'s|\s+is|\s+are|\s+was|\s+will\s+be|\s+of)\b[^.?!\n]*?\d",
        r"\bwhat(?:'s|\s+is|\s+are)\s+the\s+(?:value|sum|product|result|answer|probability|area|volume"
        r"|perimeter|derivative|integral|limit|average|mean|median|remainder|speed|distance)\b",
        r"^(?:is|are)\s(?=[^?\n]*\d[^?\n]*\?)",
    ),
    "explain": (
        r"\b(?:explain|describe|justify|clarify|elaborate|discuss|interpret|compare|summari[sz]e)\b",
        r"\bwhy\b",
        r"\bwalk\s+(?:me\s+|us\s+)?through\b",
        r"\bshow\s+(?:your|the|all)\s+(?:work|working|steps|reasoning)\b",
        r"\bhow\s+(?:does|do|did|is|are|come|can|could)\b",
        r"\bwhat(?:'s|\s+is|\s+are|\s+does|\s+do|\s+did|\s+happens)\b",
        r"\btell\s+me\s+(?:why|how|about)\b",
    ),
    "code": (
        r"\b(?:write|create|give|generate|provide)\s+(?:me\s+)?(?:an?\s+|the\s+|some\s+)?(?:[\w+#-]+\s+){0,3}?"
        r"(?:code|function|program|script|class|method|snippet|query|regex|regular\s+expression"
        rf"|implementation|version|unit\s+tests?|tests?|{_LANGS})(?![\w+#])",
        r"\b(?:implement|refactor|debug)\b",
        r"\bcode\s+(?:up|it|this|that|a|an|the)\b",
        r"\bfix\s+(?:this|the|my)\s+(?:code|function|program|script|query)\b",
        r"\b(?:find|spot|fix|locate)(?:\s+and\s+fix)?\s+(?:the\s+|a\s+|any\s+|all\s+)?bugs?\b",
        r"\bhow\s+(?:would|do|does|can|could|should|to|might)\s+(?:you\s+|i\s+|we\s+|one\s+)?"
        r"(?:implement|code|write|program|build)\b",
        rf"\b(?:in|using)\s+{_LANGS}(?![\w+#])",
        # "How do I find the median in Python?" asks for code: longer than explain's "how do".
        rf"\bhow\s+(?:do|would|can|could|should)\s+(?:you|i|we|one)\b[^.?!\n]*?\b(?:in|using)\s+{_LANGS}(?![\w+#])",
    ),
}

# Stands in for masked code: not a word character, not whitespace, not punctuation.
_MASK = "\ufffc"
_CODE = re.compile(r"```.*?(?:```|\Z)|``[^\n]+?``|`[^`\n]+`", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|\Z)|[\u3002\uff01\uff1f]+")
_LIST_MARKER = re.compile(r"(?:[-*\u2022+]|\(?\d{1,3}[.)]|\(?[a-z]\))\s+", re.IGNORECASE)
# A list marker where an item can begin: a line start, or right after a sentence or a colon.
_ITEM_START = re.compile(r"(?:^|(?<=[.!?:;]\s))[ \t]*(" + _LIST_MARKER.pattern + ")", re.IGNORECASE | re.MULTILINE)
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "cf", "vs", "approx", "resp", "al", "ca", "mr", "mrs", "ms", "dr", "prof", "fig", "eq"}
)
# Words that may sit between a joiner and the cue verb of the next clause ("..., and then also explain").
_FILLER_TAIL = re.compile(
    r"(?:\b(?:and|then|also|please|now|finally|lastly|next|additionally|afterwards"
    r"|(?:can|could|would|will)\s+you)\b[\s,]*)*\Z",
    re.IGNORECASE,
)
_LAST_WORD = re.compile(r"(?<!\S)\S{1,12}\Z")
_SPACES = re.compile(r"\s*")
_BLANKS = re.compile(r"[ \t]*")
_JOINING_WORD = re.compile(r"\b(?:and|then)\b", re.IGNORECASE)
# How a context sentence that follows a task shows it belongs to that task.
_CONTINUATION = re.compile(
    r"(?:it|its|it's|this|that|these|those|they|them|use|using|make|keep|avoid|don't|do\s+not"
    r"|include|ensure|assume|return|handle|only|ideally|preferably|please|also|but|with|without"
    r"|here|here's|note|for\s+example|e\.g\.|i\.e\.|" + _LANGS + r")\b",
    re.IGNORECASE,
)


def segment(query: str, cues: Mapping[str, Sequence[str]] | None = None) -> list[Segment]:
    """Split `query` into ordered typed segments.

    `cues` maps each role name to regexes (matched case-insensitively) that mark a task of that
    kind; it replaces DEFAULT_CUES entirely, and its order breaks ties between roles. Segments
    are ordered, do not overlap, carry no surrounding whitespace, and together cover every
    non-whitespace character of the query. An empty or blank query gives []; any other query
    gives at least one segment. A query in which no cue matches (another language, gibberish)
    gives one "other" segment spanning the stripped query. Code (fenced or inline) is never
    split and cues inside it are ignored; a fenced block belongs to the segment before it, or
    to a leading "other" segment when it opens the query. See the module docstring for the
    whole algorithm. Raises re.error for an invalid cue pattern.
    """
    if not query.strip():
        return []
    table = _compile(
        tuple(
            (role, (patterns,) if isinstance(patterns, str) else tuple(patterns))
            for role, patterns in (DEFAULT_CUES if cues is None else cues).items()
        )
    )
    masked, fence_starts, fence_ends = _mask(query)
    segments: list[tuple[str, int, int]] = []  # (kind, start, end)
    for start, end in _units(masked, fence_ends):
        clauses = _clauses(masked, start, end, table)
        if clauses:
            segments.extend(clauses)
            continue
        joins_previous = segments and (
            start in fence_starts or segments[-1][0] == OTHER or _continues(query, start, end)
        )
        if joins_previous:
            segments[-1] = (segments[-1][0], segments[-1][1], end)
        else:
            segments.append((OTHER, start, end))
    return [Segment(kind, query[a:b], a, b) for kind, a, b in segments]


@lru_cache(maxsize=32)
def _compile(table: tuple[tuple[str, tuple[str, ...]], ...]) -> _Table:
    """Compile a cue table once; the config's table is reused for every query."""
    return tuple((role, re.compile(p, re.IGNORECASE)) for role, patterns in table for p in patterns)


def _mask(query: str) -> tuple[str, frozenset[int], frozenset[int]]:
    """Hide code from the splitter and the cues; also return where fenced blocks start and end."""
    parts, starts, ends, last = [], set(), set(), 0
    for m in _CODE.finditer(query):
        # An unclosed fence runs to the end of the query, but its trailing whitespace stays blank.
        end = m.start() + len(m.group().rstrip())
        parts += [query[last : m.start()], _MASK * (end - m.start())]
        last = end
        if m.group().startswith("```"):
            starts.add(m.start())
            ends.add(end)
    parts.append(query[last:])
    return "".join(parts), frozenset(starts), frozenset(ends)


def _units(masked: str, fence_ends: frozenset[int]) -> list[tuple[int, int]]:
    """Cut the masked query into sentence/list-item/line units, as stripped (start, end) spans."""
    # A block ends its unit so that what follows it is judged on its own; a fence inside a
    # line of prose ("what does ```x=1``` do") does not.
    cuts = {e for e in fence_ends if masked[_skip(masked, e, _BLANKS) :][:1] in ("", "\n", "\r")}
    markers = _list_markers(masked)
    cuts |= markers.keys()
    marker_dots = set(markers.values())
    for m in _SENTENCE_END.finditer(masked):
        if m.start() not in marker_dots and _ends_sentence(masked, m):
            cuts.add(m.end())
    for m in re.finditer(r"\n", masked):
        nxt = _skip(masked, m.end(), _BLANKS)
        if masked[nxt : nxt + 1] == "\n" or masked[nxt : nxt + 1].isupper() or _LIST_MARKER.match(masked, nxt):
            cuts.add(m.start())
    units, bounds = [], sorted(cuts | {0, len(masked)})
    for a, b in zip(bounds, bounds[1:]):
        while a < b and masked[a].isspace():
            a += 1
        while b > a and masked[b - 1].isspace():
            b -= 1
        if a < b:
            units.append((a, b))
    return units


def _list_markers(masked: str) -> dict[int, int]:
    """Map the start of each list-item number/bullet to the offset of its '.' (or -1 if none)."""
    markers: dict[int, int] = {}
    for m in _ITEM_START.finditer(masked):
        dot = m.start(1) + m.group(1).find(".")
        markers[m.start(1)] = dot if m.group(1).rstrip().endswith(".") else -1
    # "1. Compute x 2. Explain y" on one line: follow the numbering while it stays consecutive.
    numbered = sorted(p for p in markers if masked[p : p + 2] in ("1.", "1)"))
    if numbered:
        pos, n = numbered[0], 2
        while m := re.compile(rf"(?<=\s){n}[.)](?=\s)").search(masked, pos):
            markers[m.start()] = m.start() + len(str(n)) if masked[m.end() - 1] == "." else -1
            pos, n = m.end(), n + 1
    return markers


def _skip(text: str, pos: int, blank: re.Pattern[str]) -> int:
    """Offset of the first character at or after `pos` that `blank` does not match."""
    return blank.match(text, pos).end()


def _ends_sentence(masked: str, m: re.Match[str]) -> bool:
    """Whether terminal punctuation really ends a sentence (not 'e.g.', '1.' or a mid-sentence '...')."""
    punct = m.group().rstrip("\"'\u201d\u2019)]")
    nxt = _skip(masked, m.end(), _SPACES)
    following = masked[nxt : nxt + 1]
    if punct.startswith("..") or "\u2026" in punct:
        return following.isupper()
    if punct != ".":
        return True
    last = _LAST_WORD.search(masked, max(0, m.start() - 12), m.start())
    word = last.group().lower().lstrip("([\"'") if last else ""
    if word == "etc":
        return following.isupper()
    return word not in _ABBREVIATIONS


def _clauses(masked: str, start: int, end: int, table: _Table) -> list[tuple[str, int, int]]:
    """Split one unit into task clauses as (kind, start, end); [] when no cue matches in it."""
    text = masked[start:end]
    hits = sorted(
        (m.start(), -(m.end() - m.start()), order, role)
        for order, (role, pattern) in enumerate(table)
        for m in pattern.finditer(text)
    )
    if not hits:
        return []
    cuts = [0]
    for pos in sorted({h[0] for h in hits}):
        # Windows keep this linear in the unit's length; fillers and joiners are short.
        cut = _FILLER_TAIL.search(text, max(0, pos - 60), pos).start()
        before = text[max(0, cut - 40) : cut]
        joined = (
            _JOINING_WORD.search(text, cut, pos) is not None
            or before.rstrip()[-1:] in (",", ";")
            or "\n" in before[len(before.rstrip()) :]
        )
        if joined and hits[0][0] < cut and cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(len(text))
    clauses: list[tuple[str, int, int]] = []
    for a, b in zip(cuts, cuts[1:]):
        kind = hits[bisect_left(hits, (a,))][3]
        while text[b - 1].isspace():
            b -= 1
        if clauses and clauses[-1][0] == kind:
            clauses[-1] = (kind, clauses[-1][1], start + b)
        else:
            clauses.append((kind, start + a, start + b))
    return clauses


def _continues(query: str, start: int, end: int) -> bool:
    """Whether a context unit reads as a follow-up to the task before it ('It must be O(n).')."""
    text = query[start:end]
    marker = _LIST_MARKER.match(text)
    return _CONTINUATION.match(text[marker.end() if marker else 0 :].lstrip("(\"'")) is not None
