"""Benchmark the engine's chunked scoring against llama.cpp's own evaluation.

Run from the repository root (the demo GGUFs must be in the models directory):

    SEQMOE_MODELS_DIR=/tmp/models-dev .venv/bin/python scripts/bench_engine.py \
        [--reps N] [--chunk N] [--threads N] [--clock wall|cpu]

For each expert of the demo profile and two texts (a three-part maths + explain +
code question of ~200 tokens, and a ~700-token technical text) it prints:

(a) Time. ``Model.score(text)`` (tokenizing, byte offsets, chunked decode and the
    in-place NLL reduction: everything a caller waits for) divided by
    - the floor: llama.cpp decoding the same tokens with logits requested for every
      token, in batches of 512 (the model's n_batch = n_ubatch), without reading
      the logits. Scoring needs every token's logits, so llama.cpp must run the
      output projection for every token; this is the cost no scorer can avoid.
      It is measured through the raw batch API rather than ``Llama.eval`` with
      ``logits_all=True``, because that also copies every logit row into a numpy
      array in Python, which would flatter the ratio. The floor uses the very same
      loaded model and context as the scorer (same threads, n_ctx, KV cache), its
      batches are filled before the clock starts, and the clock covers only the
      ``llama_decode`` calls. Target: <= 1.10.
    - a plain prompt eval (logits of each batch's last token only, as ``Llama.eval``
      does), for information: this ratio includes the intrinsic all-token output
      projection, so it cannot reach 1.
    Each measurement is warmed up once, then repeated ``--reps`` times in rounds
    whose order rotates (score, floor, plain / floor, plain, score / ...) so that
    drift on a shared machine hits all three alike; the best of the repetitions
    is kept (noise only ever adds time) and ratios of the bests are printed, with
    the ratio of the medians beside them as a gauge of the noise.

    The clock is wall time by default. llama.cpp's worker threads spin-wait on
    each other, so on a small machine that another busy process shares, every
    multi-threaded decode slows down several-fold and erratically. ``--threads 1
    --clock cpu`` (process CPU time of a single compute thread) is nearly immune
    to that, at the price of making Python's share look about half as large as
    with two threads. CPU time with several threads counts their spinning: use it
    with one.

(b) Memory. Peak RSS of a fresh process that loads the expert and scores the text,
    divided by that of a fresh process that loads it and runs a plain eval of the
    same text (target <= 1.15); the RSS right after load is printed too. Each is a
    subprocess of this script (``--child``). The peak is the kernel's VmHWM from
    /proc/self/status, not ``ru_maxrss``: a forked child's ``ru_maxrss`` starts at
    the parent's RSS at the fork (the kernel keeps the old memory's high-water mark
    across exec), so it would report this script's own peak. Both include the
    interpreter, the imports and the mmapped weights they touch.

(c) Load time: ``Model(...)`` construction, cold-ish (the first load in a fresh
    process: the median over the memory subprocesses; the page cache is warm) and
    warm (a second load in the same process).

It also prints each expert's n_vocab and scoring chunk (derived from the
vocabulary unless ``--chunk`` overrides it for every expert, to explore the
time/memory trade-off), and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import llama_cpp
from benchlib import fill_batch, positive, print_table  # scripts/ is on sys.path when a script runs

from seqmoe_local.config import AppConfig, ExpertConfig, load_config
from seqmoe_local.engine import Model
from seqmoe_local.gguf import read_gguf

PROFILE = "demo"
PULL_COMMAND = f"seqmoe-local pull --profile {PROFILE}"
N_BATCH = 512  # the engine's n_batch and n_ubatch
TIME_TARGET = 1.10
RSS_TARGET = 1.15
MB = 1_000_000
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}

QUESTION = (
    "I am preparing a short lesson for first-year engineering students about rates of change, and I need "
    "help with three connected tasks. A cylindrical water tank has a radius of 1.5 m and a height of 4 m. "
    "A pump fills it at 0.2 cubic metres per minute while a leak at the bottom drains 0.05 cubic metres "
    "per minute.\n"
    "1. Calculate how long it takes to fill the empty tank to the brim. Show every step, keep pi symbolic "
    "until the end, and give the final answer in hours and minutes.\n"
    "2. Explain in plain language, for a student who finds algebra intimidating, why only the net rate "
    "matters, and what would change if the leak doubled halfway through the filling.\n"
    "3. Write a Python function fill_time(radius, height, inflow, outflow) that returns the filling time "
    "in minutes, raises ValueError when the tank can never fill, has a docstring, and is followed by two "
    "example calls with their expected output."
)

LONG_TEXT = """\
Write-ahead logging is the technique most databases use to survive a crash without losing committed work. \
The rule is simple: before a change to a data page is written to its place on disk, a record describing the \
change must already be on durable storage in the log. Because the log is written sequentially, appending to it \
is much cheaper than updating pages scattered across a large file, and a transaction can be reported as \
committed as soon as its commit record has been flushed. The modified pages themselves may stay in memory for \
minutes; if the machine loses power, the log contains everything needed to bring them up to date again.

Recovery after a crash usually proceeds in three phases. The analysis phase reads the log forward from the most \
recent checkpoint and rebuilds two tables: the transactions that were active at the moment of the crash, and the \
pages that may have been dirty in memory. The redo phase then replays every logged change whose effect might be \
missing from disk, including changes made by transactions that later aborted, so that the database returns to \
the exact state it was in when it stopped. Finally, the undo phase walks backwards through the log and reverses \
the changes of every transaction that never committed, writing compensation records so that an interrupted \
recovery can itself be resumed without undoing the same change twice.

Checkpoints bound the amount of log that recovery has to read. A naive checkpoint would stop all activity, \
flush every dirty page and write a marker, but that pauses the system for far too long on a busy server. A fuzzy \
checkpoint instead records which pages are dirty and which transactions are running, and lets the page flusher \
catch up in the background. The log sequence number stored on each page tells the redo phase whether a logged \
change is already reflected on disk, so replaying the log from an older point is harmless: a change is applied \
only when the page's number is smaller than the record's.

A subtle hazard is the torn page. Disks promise atomic writes of a sector, not of a database page that spans \
several sectors, so a crash in the middle of writing a page can leave half of it old and half new, and no log \
record describes such a mixture. Some systems therefore log a full image of each page the first time it changes \
after a checkpoint, and others write pages twice, first to a scratch area and then to their real place.

The design has consequences that application developers notice. Commit latency is dominated by the time it takes \
to flush the log, which is why group commit batches the flushes of many concurrent transactions into a single \
write, and why placing the log on a fast device matters more than the speed of the data disks. Long-running \
transactions are expensive because their log records cannot be discarded until they finish, and a huge \
transaction that aborts must undo every one of its changes, which can take as long as doing them. Replication \
builds on the same stream: a standby server that receives and replays the primary's log stays a faithful copy, \
and point-in-time recovery is nothing more than replaying archived log segments up to a chosen moment.

Operators tune a handful of settings. The checkpoint interval trades recovery time against the write amplification \
of flushing hot pages repeatedly; the log buffer size determines how much work can accumulate before a flush is \
forced; and the synchronous commit setting decides whether a commit waits for the log to reach the disk or only \
the operating system's cache. Relaxing that last setting can multiply throughput, at the price of losing the \
last few milliseconds of committed transactions in a power failure, although the database itself stays consistent.
"""

TEXTS = {"question": QUESTION, "long": LONG_TEXT}


def load_model(
    config: AppConfig, expert: ExpertConfig, chunk: int | None, threads: int | None
) -> tuple[Model, float]:
    """Load an expert with the arguments the pool uses; returns the model and the seconds it took."""
    path = config.model_path(expert)
    info = read_gguf(path, expert.size)
    started = time.perf_counter()
    model = Model(
        expert.name,
        path,
        n_ctx=min(expert.context_length, info.context_length or expert.context_length),
        n_gpu_layers=expert.n_gpu_layers,
        n_threads=threads or config.engine.n_threads,
        chunk=chunk or expert.score_chunk,
        scoring_memory_mb=config.engine.scoring_memory_mb,
        seed=config.engine.seed,
        expected_size=expert.size,
    )
    return model, time.perf_counter() - started


class Decoder:
    """llama.cpp evaluating a token list on a model's context, in batches of 512 filled up front.

    ``all_logits`` flags every token for output (the scoring floor); otherwise only
    each batch's last token is flagged, as ``Llama.eval`` does (a plain prompt eval).
    The logits are never read.
    """

    def __init__(self, model: Model, tokens: list[int], *, all_logits: bool) -> None:
        self._ctx = model._ctx
        self._batches: list[llama_cpp.llama_batch] = []
        for begin in range(0, len(tokens), N_BATCH):
            part = tokens[begin : begin + N_BATCH]
            batch = llama_cpp.llama_batch_init(len(part), 0, 1)
            fill_batch(batch, part, begin, all_logits=all_logits)
            self._batches.append(batch)

    def _clear(self) -> None:
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), True)

    def run(self, clock: Callable[[], float]) -> float:
        """Decode all batches from an empty KV cache; returns the seconds spent in llama_decode."""
        self._clear()
        started = clock()
        for batch in self._batches:
            status = llama_cpp.llama_decode(self._ctx, batch)
            if status != 0:
                raise RuntimeError(f"llama_decode failed with status {status}")
        seconds = clock() - started
        self._clear()
        return seconds

    def close(self) -> None:
        for batch in self._batches:
            llama_cpp.llama_batch_free(batch)
        self._batches = []


def timed_score(model: Model, text: str, clock: Callable[[], float]) -> float:
    started = clock()
    model.score(text)
    return clock() - started


@dataclass(frozen=True)
class Timing:
    """Seconds of each repetition, per measurement ("score", "floor", "plain")."""

    n_tokens: int
    samples: dict[str, list[float]]

    def best(self, name: str) -> float:
        return min(self.samples[name])

    def ratio(self, over: str, *, median: bool = False) -> float:
        pick = statistics.median if median else min
        return pick(self.samples["score"]) / pick(self.samples[over])


def time_text(model: Model, text: str, reps: int, clock: Callable[[], float]) -> Timing:
    """Scoring, the all-logits floor and a plain eval, warmed up once, then `reps` rounds in rotating order."""
    tokens = model.tokenize(text)
    floor, plain = Decoder(model, tokens, all_logits=True), Decoder(model, tokens, all_logits=False)
    try:
        runs: dict[str, Callable[[], float]] = {
            "score": lambda: timed_score(model, text, clock),
            "floor": lambda: floor.run(clock),
            "plain": lambda: plain.run(clock),
        }
        names = list(runs)
        for name in names:  # warm-up: buffers grow to their final size, pages are touched
            runs[name]()
        samples: dict[str, list[float]] = {name: [] for name in names}
        for rep in range(reps):
            for name in names[rep % 3 :] + names[: rep % 3]:
                samples[name].append(runs[name]())
    finally:
        floor.close()
        plain.close()
    return Timing(len(tokens), samples)


def memory_status() -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident set size of this process, in bytes."""
    with open("/proc/self/status") as handle:
        fields = dict(line.split(":", 1) for line in handle)
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM")}  # reported in kB


def child(config: AppConfig, expert: ExpertConfig, args: argparse.Namespace) -> None:
    """Fresh-process measurement: load, then score or plain-eval once; print RSS and load time as JSON."""
    model, load_seconds = load_model(config, expert, args.chunk, args.threads)
    loaded_rss = memory_status()["VmRSS"]
    text = TEXTS[args.text]
    if args.child == "score":
        model.score(text)
    else:
        decoder = Decoder(model, model.tokenize(text), all_logits=False)
        decoder.run(time.perf_counter)
        decoder.close()
    print(json.dumps({"loaded_rss": loaded_rss, "peak_rss": memory_status()["VmHWM"], "load_seconds": load_seconds}))


def spawn_child(what: str, expert: str, text: str, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, os.path.abspath(__file__), "--child", what, "--expert", expert, "--text", text]
    for option in ("chunk", "threads"):
        if getattr(args, option):
            command += [f"--{option}", str(getattr(args, option))]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {' '.join(command[2:])} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def mark(ratio: float, target: float) -> str:
    return f"{ratio:5.2f} {'ok' if ratio <= target else 'OVER'}"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def chunk_arg(value: str) -> int:
    chunk = int(value)
    if not 8 <= chunk <= N_BATCH or chunk % 8:
        raise argparse.ArgumentTypeError(f"must be a multiple of 8 in 8..{N_BATCH}")
    return chunk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=positive, default=3, help="timed repetitions after one warm-up (default 3)")
    parser.add_argument("--chunk", type=chunk_arg, help="scoring chunk for every expert (default: derived from vocab)")
    parser.add_argument("--threads", type=positive, help="llama.cpp threads (default: the config's, i.e. all cores)")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall", help="wall time, or process CPU time")
    parser.add_argument("--child", choices=["score", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--expert", help=argparse.SUPPRESS)
    parser.add_argument("--text", choices=list(TEXTS), help=argparse.SUPPRESS)
    args = parser.parse_args()

    config = load_config(use_user_file=False)
    profile = config.profile(PROFILE)
    if args.child:
        child(config, profile.experts[args.expert], args)
        return 0

    missing = [str(config.model_path(e)) for e in profile.experts.values() if not config.model_path(e).is_file()]
    if missing:
        print("missing model file(s):\n  " + "\n  ".join(missing), file=sys.stderr)
        print(f"fetch them with: {PULL_COMMAND}", file=sys.stderr)
        return 1

    threads = args.threads or config.engine.n_threads or os.cpu_count()
    print(
        f"llama-cpp-python {llama_cpp.__version__}, {threads} threads on {os.cpu_count()} cores, n_batch {N_BATCH}, "
        f"chunk {args.chunk or 'derived'}, {args.clock} clock, {args.reps} reps after 1 warm-up; "
        f"load average {load_average()}"
    )
    started = time.perf_counter()
    time_rows: list[list[str]] = []
    rss_rows: list[list[str]] = []
    load_rows: list[list[str]] = []
    for name, expert in profile.experts.items():
        progress(f"{name}: timing")
        first, _ = load_model(config, expert, args.chunk, args.threads)  # cold loads come from the children
        first.close()
        model, warm_load = load_model(config, expert, args.chunk, args.threads)
        try:
            timings = {key: time_text(model, text, args.reps, CLOCKS[args.clock]) for key, text in TEXTS.items()}
            chunk, n_vocab = model.chunk, model.n_vocab
        finally:
            model.close()
        progress(f"{name}: peak RSS in fresh processes")
        cold_loads: list[float] = []
        for key, t in timings.items():
            time_rows.append([
                name, key, str(t.n_tokens), str(chunk),
                f"{t.best('score'):.3f}", f"{t.best('floor'):.3f}", f"{t.best('plain'):.3f}",
                mark(t.ratio("floor"), TIME_TARGET), f"{t.ratio('floor', median=True):5.2f}",
                f"{t.ratio('plain'):5.2f}",
            ])  # fmt: skip
            scored = spawn_child("score", name, key, args)
            plain = spawn_child("plain", name, key, args)
            cold_loads += [scored["load_seconds"], plain["load_seconds"]]
            rss_rows.append([
                name, key, str(chunk), f"{plain['loaded_rss'] / MB:.0f}",
                f"{scored['peak_rss'] / MB:.0f}", f"{plain['peak_rss'] / MB:.0f}",
                mark(scored["peak_rss"] / plain["peak_rss"], RSS_TARGET),
            ])  # fmt: skip
        load_rows.append([name, str(n_vocab), str(chunk), f"{statistics.median(cold_loads):.3f}", f"{warm_load:.3f}"])

    print(f"\n(a) scoring time vs llama.cpp ({args.clock} seconds, best of reps; ratios of bests, and of medians)")
    print_table(
        ["expert", "text", "tokens", "chunk", "score s", "floor s", "plain s",
         f"score/floor (<={TIME_TARGET:.2f})", "(median)", "score/plain"],
        time_rows,
    )  # fmt: skip
    print("\n(b) peak RSS (VmHWM), a fresh process each (MB)")
    print_table(
        ["expert", "text", "chunk", "after load", "load+score", "load+plain", f"score/plain (<={RSS_TARGET:.2f})"],
        rss_rows,
    )
    print("\n(c) model load (seconds)")
    print_table(["expert", "n_vocab", "chunk", "cold-ish (median of 4 fresh)", "warm (2nd load)"], load_rows)
    print(f"\n{time.perf_counter() - started:.0f} s; load average {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
