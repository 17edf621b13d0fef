"""A learned second reading of the rule segmenter's parts: where a part holds two tasks, and each part's kind.

The cue rules in `segmenter` type a part by the cues they find in it, and cut a sentence only
where a cue of another kind begins. On questions worded unlike the ones they were written from
they miss about one question in ten, mostly in two ways: a second request in the same sentence
that has no cue of its own ("what's going on and how do I make the borrow checker happy?"), and
a part typed by the wrong cue, or by none. This module reads the rules' parts again with two
small linear models learnt from the labelled corpus (its dev part only):

- the *splitter* scores each place inside one line of a part where a clause could begin (after
  a comma or a semicolon, before a joiner such as "and", "then", "und", "puis", "y") and cuts
  where a task of another kind begins;
- the *typer* gives each part, after the cuts, its kind from its words and word pairs, its first
  and last words, where it stands among the parts, and the kind the rules gave it.

Both are logistic regressions over sparse binary features, so a reading is a few hundred
dictionary lookups per question: deterministic, pure Python, nothing to install. The weights live
in ``data/segment_model.tsv``, written by ``scripts/train_segment_model.py`` from the corpus and
the rules as they are; that file records what it was trained from, and a test fails when the
corpus, the rules or this module changed since (retraining takes about a minute).

Training reads each dev question's rule parts against its labelled parts: a rule part, and each
candidate cut in it, take the kinds of the labelled parts they overlap most. The rules were tuned
on those same questions, so they rarely miss there; to show the splitter what a missed cut looks
like, every pair of neighbouring labelled parts of different kinds within one sentence is also
given to it (and to the typer) as one part carrying the first one's kind. Measured on questions
neither the rules nor the models had seen, the second reading takes the share of questions whose
task-kind set is right from 90.8% to 94.2% (480 probe questions) and from 91.7% to 93.8% (the
240 of test batch 12; SEGMENTER_CORPUS.md, step 12).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

KINDS = ("solve", "explain", "code", "other")
MODEL_PATH = Path(__file__).resolve().parent / "data" / "segment_model.tsv"
_HEADER = "# segment model, trained on: "
SPLIT_THRESHOLD = 0.8  # a cut needs this probability: a wrong cut can add a kind, a missed one only loses one
RETYPE_THRESHOLD = 0.95  # a whole rule part changes kind only at this probability (cut pieces take the typer's)
_RULE_NOISE = 0.4  # the share of rule kinds drawn at random in training's second copy of each question

Part = tuple[str, int, int]  # (kind, start, end): offsets into the query, as the segmenter assembles them

CODE_MARK = "\ufffc"  # what the segmenter replaces code with in the masked query it hands to `refine`
_TOKEN = re.compile(CODE_MARK + r"+|[^\W\d_]+|\d+|[^\w\s]")
_JOINER = r"(?:and|then|also|plus|but|or|und|dann|außerdem|sowie|et|puis|ensuite|aussi|y|luego|después|también|e)"
# Places inside one line of a sentence only: sentences, lines and list items are the rules' units, and
# what they join across them (R3's details, a lead-in's items) they join on purpose. Only spaces are cut,
# so the pieces keep every other character (a comma stays with the clause it ends).
_CUT = re.compile(rf"(?<=[,;])[ \t]+(?=\S)|[ \t]+(?={_JOINER}\b)", re.IGNORECASE)
_ONLY_JOINERS = re.compile(rf"(?:[,;\s]*{_JOINER}\b)+[,;\s]*", re.IGNORECASE)
_WORDY = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class _Linear:
    """A logistic regression over named binary features: weights[feature][class]."""

    weights: Mapping[str, Sequence[float]]
    classes: int

    def probabilities(self, features: Iterable[str]) -> list[float]:
        scores = [0.0] * self.classes
        for name in features:
            w = self.weights.get(name)
            if w is not None:
                for k in range(self.classes):
                    scores[k] += w[k]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]


@dataclass(frozen=True)
class SegmentModel:
    """The splitter and the typer, as loaded from ``data/segment_model.tsv``."""

    splitter: _Linear
    typer: _Linear
    trained_on: Mapping[str, str]  # what the weights were learnt from: name -> sha256

    def dumps(self) -> str:
        """The model file: a header naming what it was trained from, then a line per feature.

        A line per feature ("splitter|typer <tab> feature <tab> weights") keeps a retraining's diff
        readable; feature names never hold whitespace (words are tokens without it).
        """
        lines = [_HEADER + " ".join(f"{k}={v}" for k, v in sorted(self.trained_on.items()))]
        for table, linear in (("splitter", self.splitter), ("typer", self.typer)):
            lines += [f"{table}\t{name}\t" + " ".join(map(str, w)) for name, w in sorted(linear.weights.items())]
        return "\n".join(lines) + "\n"

    def refine(self, query: str, masked: str, parts: Sequence[Part]) -> list[Part]:
        """Cut and retype the rule segmenter's `parts` of `query`.

        `masked` is the query with code replaced by a non-space character of the same length, so
        that no cut falls inside code and a fenced block stays with the text before it. A part is
        cut where the splitter is at least SPLIT_THRESHOLD sure a task of another kind begins.
        Then the typer reads every part: a piece of a cut takes the kind it finds likeliest, a part
        the rules left whole changes kind only when the typer is RETYPE_THRESHOLD sure (the rules'
        reading of the cases they were written for stands); pieces of one rule part that end up of
        one kind are joined again. If the rules found a task and this reading finds none, the
        rules' parts are kept, so a question never loses its only task here.
        """
        words = _Words(masked)
        pieces: list[tuple[Part, int]] = []  # (part with the rules' kind, index of the rule part)
        for index, (kind, start, end) in enumerate(parts):
            clauses = _clauses(masked, start, end)
            left = start
            for j in range(1, len(clauses)):
                features = _split_features(parts, index, clauses, j, words, masked)
                if self.splitter.probabilities(features)[1] >= SPLIT_THRESHOLD:
                    pieces.append(((kind, left, clauses[j - 1][1]), index))
                    left = clauses[j][0]
            pieces.append(((kind, left, end), index))
        spans = [piece for piece, _ in pieces]
        refined: list[Part] = []
        previous = -1
        for i, ((_, start, end), index) in enumerate(pieces):
            whole = (start, end) == (parts[index][1], parts[index][2])
            p = self.typer.probabilities(_kind_features(spans, i, words.between(start, end)))
            best = max(range(len(KINDS)), key=p.__getitem__)
            kind = KINDS[best] if not whole or p[best] >= RETYPE_THRESHOLD else spans[i][0]
            if refined and previous == index and refined[-1][0] == kind:
                refined[-1] = (kind, refined[-1][1], end)
            else:
                refined.append((kind, start, end))
            previous = index
        if _has_task(parts) and not _has_task(refined):
            return list(parts)
        return refined


def load(path: Path = MODEL_PATH) -> SegmentModel:
    """Read a model file written by `SegmentModel.dumps`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    trained_on = dict(field.split("=", 1) for field in lines[0].removeprefix(_HEADER).split())
    weights: dict[str, dict[str, list[float]]] = {"splitter": {}, "typer": {}}
    for line in lines[1:]:
        table, name, values = line.split("\t")
        weights[table][name] = [float(v) for v in values.split()]
    return SegmentModel(_Linear(weights["splitter"], 2), _Linear(weights["typer"], len(KINDS)), trained_on)


def fingerprints() -> dict[str, str]:
    """sha256 of what the shipped weights depend on: the corpus, the rules, and this module's features."""
    here = Path(__file__).resolve().parent
    sources = {
        "corpus": here / "data" / "segmenter_corpus.jsonl",
        "segmenter": here / "segmenter.py",
        "segment_model": here / "segment_model.py",
    }
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in sources.items()}


@lru_cache(maxsize=1)
def default_model() -> SegmentModel:
    """The model shipped with the package, read once."""
    return load()


@dataclass(frozen=True)
class Example:
    """One labelled question as training sees it: its labelled parts and the rules' parts."""

    query: str
    masked: str
    labelled: Sequence[Part]
    rule_parts: Sequence[Part]


def train(examples: Sequence[Example], trained_on: Mapping[str, str], epochs: int = 8) -> SegmentModel:
    """Learn the splitter and the typer from `examples`; `trained_on` is recorded with the weights.

    Deterministic: a fixed shuffle seed and plain float arithmetic.
    """
    split_x: list[list[str]] = []
    split_y: list[int] = []
    kind_x: list[list[str]] = []
    kind_y: list[int] = []
    questions_with: Counter[str] = Counter()  # feature -> how many questions show it
    noise = random.Random(1)
    for example in examples:
        words = _Words(example.masked)
        first_sample = len(split_x), len(kind_x)
        missed = [
            (first, second)
            for first, second in pairwise(example.labelled)
            if first[0] != second[0] and _same_sentence(example.query, first[2], second[1])
        ]
        joined = [[(first[0], first[1], second[2])] for first, second in missed]
        for parts in [example.rule_parts, *joined]:
            for index, (_, start, end) in enumerate(parts):
                clauses = _clauses(example.masked, start, end)
                for j in range(1, len(clauses)):
                    split_x.append(_split_features(parts, index, clauses, j, words, example.masked))
                    left, right = (_label(example.labelled, *clauses[k]) for k in (j - 1, j))
                    split_y.append(int(left != right))
        cut = [[first, (first[0], second[1], second[2])] for first, second in missed]
        # The rules are right on nearly every question they were tuned on, so from their parts alone the
        # typer would learn to copy their kind. A second copy with kinds drawn at random teaches it to
        # read the words when the rules are wrong, as they are on one new question in ten.
        noisy = [
            (KINDS[noise.randrange(len(KINDS))] if noise.random() < _RULE_NOISE else kind, start, end)
            for kind, start, end in example.rule_parts
        ]
        for parts in [example.rule_parts, *cut, noisy]:
            for index, (_, start, end) in enumerate(parts):
                kind_x.append(_kind_features(parts, index, words.between(start, end)))
                kind_y.append(KINDS.index(_label(example.labelled, start, end)))
        questions_with.update({name for x in split_x[first_sample[0] :] + kind_x[first_sample[1] :] for name in x})
    # A feature of one question only is a name, a number or a typo more often than a way of asking: left out.
    known = {name for name, count in questions_with.items() if count > 1}
    return SegmentModel(
        splitter=_Linear(_fit([[n for n in x if n in known] for x in split_x], split_y, 2, epochs), 2),
        typer=_Linear(_fit([[n for n in x if n in known] for x in kind_x], kind_y, len(KINDS), epochs), len(KINDS)),
        trained_on=dict(trained_on),
    )


def _fit(xs: list[list[str]], ys: list[int], classes: int, epochs: int) -> dict[str, list[float]]:
    """Multinomial logistic regression by AdaGrad over the samples, rounded for the file."""
    learning_rate, l2 = 0.2, 1e-5
    weights: dict[str, list[float]] = {}
    squares: dict[str, list[float]] = {}
    order = list(range(len(xs)))
    shuffle = random.Random(0)
    for _ in range(epochs):
        shuffle.shuffle(order)
        for i in order:
            p = _Linear(weights, classes).probabilities(xs[i])
            for name in xs[i]:
                w = weights.setdefault(name, [0.0] * classes)
                g2 = squares.setdefault(name, [1e-8] * classes)
                for k in range(classes):
                    grad = p[k] - (k == ys[i]) + l2 * w[k]
                    g2[k] += grad * grad
                    w[k] -= learning_rate * grad / math.sqrt(g2[k])
    # Rounded to 3 places (no reading changes by that) and without features that never moved.
    return {name: [round(v, 3) for v in w] for name, w in sorted(weights.items()) if any(abs(v) >= 5e-3 for v in w)}


class _Words:
    """The masked query's tokens with their offsets: words lower-cased, digits as "0", each piece of code as "<code>".

    What code says is left unread, as the cues leave it: a docstring's numbers are not a sum to do.
    """

    def __init__(self, masked: str) -> None:
        found = list(_TOKEN.finditer(masked))
        self.tokens = [_token(m.group()) for m in found]
        self._starts = [m.start() for m in found]

    def index(self, offset: int) -> int:
        """The index of the first token that starts at or after `offset`."""
        return bisect_left(self._starts, offset)

    def between(self, start: int, end: int) -> list[str]:
        return self.tokens[self.index(start) : self.index(end)]


def _token(text: str) -> str:
    return "0" if text.isdigit() else "<code>" if text[0] == CODE_MARK else text.lower()


def _clauses(masked: str, start: int, end: int) -> list[tuple[int, int]]:
    """Where a new clause could begin inside masked[start:end]: stripped (start, end) spans, in order.

    No span starts with code, and none is only code, punctuation or joiners besides: code stays
    with what introduces it, and a lone joiner ("and" before "then ...") opens the next clause.
    """
    spans: list[tuple[int, int]] = []
    left = start
    for m in _CUT.finditer(masked, start, end):
        if masked[m.end()] == CODE_MARK:
            continue
        spans.append((left, m.start()))
        left = m.end()
    spans.append((left, end))
    clauses: list[tuple[int, int]] = []
    opening: int | None = None
    for i, (a, b) in enumerate(spans):
        if opening is not None:
            a, opening = opening, None
        bare = masked[a:b].replace(CODE_MARK, " ")
        if _WORDY.search(bare) and not _ONLY_JOINERS.fullmatch(bare):
            clauses.append((a, b))
        elif i < len(spans) - 1 and CODE_MARK not in masked[a:b]:
            opening = a  # a lone "and" before "then ..." opens the next clause
        elif clauses:
            clauses[-1] = (clauses[-1][0], b)  # code, punctuation or a joiner alone stays with the clause before
        else:
            clauses.append((a, b))
    return clauses


def _place(i: int, n: int) -> str:
    return "only" if n == 1 else "first" if i == 0 else "last" if i == n - 1 else "mid"


def _kind_features(parts: Sequence[Part], i: int, words: list[str]) -> list[str]:
    """What the typer reads of part i: its words, its first and last words, its place, the rules' kinds."""
    kind = parts[i][0]
    place = _place(i, len(parts))
    features = [
        "bias",
        f"r={kind}",
        f"prev={parts[i - 1][0] if i else '^'}",
        f"next={parts[i + 1][0] if i + 1 < len(parts) else '$'}",
        f"at={place}",
        f"r{kind}at={place}",
        f"len={min(len(words) // 5, 8)}",
    ]
    features += [f"u={w}" for w in set(words)]
    features += [f"b={a}_{b}" for a, b in set(pairwise(words))]
    for k, w in enumerate(words[:3]):
        features += [f"p{k}={w}", f"r{kind}p{k}={w}"]
    if words:
        features.append(f"last={words[-1]}")
    return features


def _split_features(
    parts: Sequence[Part], i: int, clauses: Sequence[tuple[int, int]], j: int, words: _Words, masked: str
) -> list[str]:
    """What the splitter reads of the place before clause j of part i: that clause, the words before, the gap."""
    kind, start, end = parts[i]
    first, cut, last = words.index(start), words.index(clauses[j][0]), words.index(end)
    clause = words.between(*clauses[j])
    gap = _gap(masked, clauses[j - 1][1])
    features = ["bias", f"r={kind}", f"gap={gap}", f"r{kind}gap={gap}"]
    for k, w in enumerate(clause[:3]):
        features += [f"p{k}={w}", f"r{kind}p{k}={w}", f"g{gap}p{k}={w}"]
    features += [f"cu={w}" for w in set(clause)]
    features += [f"cb={a}_{b}" for a, b in set(pairwise(clause))]
    # The words before are read near the cut only, so a long part costs no more per place.
    features += [f"bu={w}" for w in set(words.tokens[max(first, cut - 12) : cut])]
    features += [f"b3={w}" for w in words.tokens[max(first, cut - 3) : cut]]
    if cut > first:
        features.append(f"b0={words.tokens[first]}")
    features += [
        f"at={min(j, 3)}",
        f"of={min(len(clauses), 6)}",
        f"blen={min((cut - first) // 5, 6)}",
        f"alen={min((last - cut) // 5, 6)}",
    ]
    return features


def _gap(masked: str, end: int) -> str:
    """How the clause ending at `end` ends: a comma, a semicolon, the end of a sentence, or no mark."""
    last = masked[end - 1]
    return last if last in ",;" else "." if last in ".?!:" else "sp"


def _label(labelled: Sequence[Part], start: int, end: int) -> str:
    """The kind of the labelled part that overlaps start:end most."""
    best, overlap = KINDS[-1], 0
    for kind, a, b in labelled:
        if min(b, end) - max(a, start) > overlap:
            best, overlap = kind, min(b, end) - max(a, start)
    return best


def _same_sentence(query: str, first_end: int, second_start: int) -> bool:
    """Two neighbouring labelled parts in one sentence: the first does not end one, and no line lies between."""
    return query[first_end - 1] not in ".?!:\n" and "\n" not in query[first_end:second_start]


def _has_task(parts: Iterable[Part]) -> bool:
    return any(kind != KINDS[-1] for kind, _, _ in parts)
