"""Prompt-processing and decode speed of the demo experts under this venv's llama.cpp build.

Run from the repository root, under the CPU lock, once per build variant (each in its own venv):

    flock /tmp/seqmoe-cpu.lock VENV/bin/python scripts/bench_prefill.py --label NAME --json out/NAME.json
    .venv/bin/python scripts/bench_prefill.py --compare out/a.json out/b.json ...   # side by side

The script runs in whatever venv invokes it, so it measures that venv's llama-cpp-python
build (``seqmoe-local doctor`` names its features; the header below prints them too).
The demo GGUFs must be in the models directory (``seqmoe-local pull --profile demo``).

What it measures (wall time, best of ``--reps``, default 3; tok/s = tokens / best):

(a) Per expert at 64, 256 and 1024 tokens (``--lengths``), with the engine's own settings
    (all cores, n_batch = n_ubatch = 512, weight repacking on, flash attention off):
    - ``pp last``: prompt processing with logits for the last token only (what
      generation pays before its first token);
    - ``pp all``: the same tokens with logits for every token, in one decode of up to
      512 tokens: the all-logits floor that scoring cannot beat;
    - ``score`` (at ``--variant-length`` only): ``engine.Model.score`` on the same text
      (chunked decode at the engine's derived chunk plus the in-place NLL reduction: the
      routing path);
    - ``decode``: greedy generation of ``--decode-tokens`` tokens, one per decode, after a
      prompt of that length.
(b) At ``--variant-length`` tokens (default 256, a routing-length question), one option
    changed at a time against (a)'s settings:
    - ``n_ubatch`` 64 / 128 / 256 / 512 (n_batch 512): pp last;
    - scoring chunk 32 / 64 / 128 / 256 / 512: all-logits decode in chunks of that many
      tokens (the engine's decode loop without the Python reduction), beside the logit
      memory it costs, 2 x chunk x n_vocab x 4 bytes (llama.cpp's output buffer and the
      graph's result; scripts/bench_engine.py measures the peak RSS);
    - threads 1 vs all cores (pp last, pp all, decode); on a machine whose cores have
      two hardware threads, also try the physical-core count;
    - weight repacking off (``use_extra_bufts = false``: no Q4_0/Q4_K re-layout at load);
    - flash attention on.
(c) Routing: ``Pipeline.route`` of the ~200-token three-part question of
    scripts/bench_engine.py with the three demo experts resident (pool of 3), per
    policy: the derived scoring chunk (from the vocabulary, capped at 64) with flash
    attention off (the engine's default) and on, and 128 / 256 / 512 for every expert
    with it on. Loads happen before the clock; the best of
    ``--reps`` routes is kept (the first also pays the first decode's buffer growth).
(d) Weight types (``--weight-types f16 bf16 q8_0``, off by default): each expert's GGUF
    requantized by llama.cpp (``llama_model_quantize``, requantizing allowed) into a temporary
    directory, then ``pp last``, ``pp all`` and ``decode`` at ``--variant-length`` tokens beside
    the shipped file, measured the same way, and (unless ``--no-routing``) (c)'s routing with the
    derived chunks, flash attention off, with every expert's file of each type. It says what a
    different download would buy: a file made from a 4-bit one keeps its 4-bit rounding, so this
    measures speed, not quality.

Clock. Wall time by default. llama.cpp's worker threads spin-wait on each other, so when
other processes share the cores every multi-threaded decode slows down several-fold and
erratically; ``--threads 1 --clock cpu`` (process CPU time of one compute thread) is nearly
immune to that and is the way to compare builds on a busy machine (the thread-count
variants are then skipped: with several threads, CPU time counts the spinning).

Everything except (c) goes through llama.cpp's batch API directly (a model and context
made by this script), so batch sizes, threads, repacking and flash attention can vary
without touching the engine. Environment variables that change which kernels run
(``OPENBLAS_CORETYPE``, ``NPY_DISABLE_CPU_FEATURES``, ``OMP_*``) are printed in the header.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
import numpy as np
from bench_engine import LONG_TEXT, QUESTION  # scripts/ is on sys.path when a script runs
from benchlib import fill_batch, positive, print_table, write_json

from seqmoe_local import engine  # also routes llama.cpp's log lines away from stderr
from seqmoe_local.config import AppConfig, ExpertConfig, load_config
from seqmoe_local.doctor import cpu_topology
from seqmoe_local.pipeline import Pipeline
from seqmoe_local.pool import ModelPool

PROFILE = "demo"
N_CTX = 4096  # what the engine gives the demo experts (>= 1024 + decode tokens)
N_BATCH = 512
UBATCHES = (64, 128, 256, 512)
CHUNKS = (32, 64, 128, 256, 512)
# (scoring chunk, flash attention) per routing policy; chunk None: the engine's derived chunk.
# The first row is the engine's default.
ROUTE_POLICIES = ((None, False), (None, True), (128, True), (256, True), (512, True))
ENV_KEYS = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "NPY_DISABLE_CPU_FEATURES", "OMP_NUM_THREADS",
            "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
clock: Callable[[], float] = time.perf_counter  # set from --clock in main()
CORPUS = (LONG_TEXT + "\n\n" + QUESTION + "\n\n") * 4  # > 1024 tokens for every demo tokenizer


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Settings:
    """One llama.cpp configuration: context and model options the bench varies."""

    threads: int
    n_batch: int = N_BATCH
    n_ubatch: int = N_BATCH
    repack: bool = True
    flash_attn: bool = False


class Raw:
    """A model and context made through llama.cpp's C API, with the given settings."""

    def __init__(self, path: Path, settings: Settings) -> None:
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = 0
        mparams.use_extra_bufts = settings.repack
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = N_CTX
        cparams.n_batch = settings.n_batch
        cparams.n_ubatch = settings.n_ubatch
        cparams.n_threads = cparams.n_threads_batch = settings.threads
        cparams.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if settings.flash_attn else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        cparams.no_perf = True
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            llama_cpp.llama_model_free(self.model)
            raise RuntimeError(f"llama.cpp could not make a context for {path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        self._batch = llama_cpp.llama_batch_init(N_BATCH, 0, 1)

    def close(self) -> None:
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_free(self.ctx)
        llama_cpp.llama_model_free(self.model)

    def tokenize(self, text: str, n: int) -> list[int]:
        """The first `n` tokens of `text`, with a start token where the GGUF asks for one."""
        data = text.encode("utf-8")
        buf = (llama_cpp.llama_token * (len(data) + 8))()
        count = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, len(buf), self.add_bos, False)
        if count < n:
            raise RuntimeError(f"corpus too short: {count} tokens < {n}")
        return list(buf[:n])

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)

    def _decode(self, tokens: list[int], start: int, *, all_logits: bool) -> None:
        batch = self._batch
        fill_batch(batch, tokens, start, all_logits=all_logits)
        status = llama_cpp.llama_decode(self.ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status}")

    def prefill(self, tokens: list[int], *, step: int, all_logits: bool) -> float:
        """Decode `tokens` from an empty cache, `step` per llama_decode; seconds spent."""
        self.clear()
        started = clock()
        for begin in range(0, len(tokens), step):
            self._decode(tokens[begin : begin + step], begin, all_logits=all_logits)
        llama_cpp.llama_synchronize(self.ctx)
        return clock() - started

    def generate(self, tokens: list[int], n_new: int, step: int = N_BATCH) -> tuple[float, float]:
        """Prefill `tokens` (logits for the last only), then greedy-decode `n_new` tokens one at a
        time; returns (prefill seconds, decode seconds): one prefill serves both figures."""
        prefill = self.prefill(tokens, step=step, all_logits=False)
        position = len(tokens)
        started = clock()
        for _ in range(n_new):
            row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, -1), shape=(self.n_vocab,))
            self._decode([int(row.argmax())], position, all_logits=False)
            position += 1
        llama_cpp.llama_synchronize(self.ctx)
        return prefill, clock() - started


def last_and_decode(
    raw: Raw, tokens: list[int], n_new: int, reps: int, step: int = N_BATCH
) -> tuple[tuple[float, float], tuple[float, float]]:
    """((best, median) prefill seconds, (best, median) decode seconds) over `reps` generations."""
    pairs = [raw.generate(tokens, n_new, step) for _ in range(reps)]
    prefills, decodes = [p[0] for p in pairs], [p[1] for p in pairs]
    return (min(prefills), statistics.median(prefills)), (min(decodes), statistics.median(decodes))


def best_of(run: Callable[[], float], reps: int) -> tuple[float, float]:
    """(best, median) seconds of `reps` runs.

    No separate warm-up: the best of three already leaves out a first run that pages in
    the weights or grows llama.cpp's buffers, and a warm-up would cost a fourth run.
    """
    samples = [run() for _ in range(reps)]
    return min(samples), statistics.median(samples)


@contextmanager
def opened(path: Path, settings: Settings) -> Iterator[Raw]:
    raw = Raw(path, settings)
    try:
        yield raw
    finally:
        raw.close()


def engine_model(config: AppConfig, expert: ExpertConfig, threads: int, chunk: int | None) -> engine.Model:
    """An expert loaded as the pool loads it (optionally with another scoring chunk)."""
    return engine.Model(
        expert.name, config.model_path(expert), n_ctx=N_CTX, n_gpu_layers=0, n_threads=threads,
        chunk=chunk or expert.score_chunk, scoring_memory_mb=config.engine.scoring_memory_mb,
        seed=config.engine.seed, expected_size=expert.size,
    )  # fmt: skip


def text_of(raw: Raw, tokens: list[int]) -> str:
    """The text that `tokens` spell (for Model.score, which tokenizes itself)."""
    pieces = []
    for token in tokens:
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(raw.vocab, token, buf, len(buf), 0, False)
        pieces.append(buf.raw[: max(n, 0)])
    return b"".join(pieces).decode("utf-8", errors="replace")


def tps(tokens: int, seconds: float) -> float:
    return tokens / seconds if seconds > 0 else float("nan")


def measure_expert(
    config: AppConfig, expert: ExpertConfig, args: argparse.Namespace, threads: int, physical: int
) -> dict:
    """Every measurement of one expert; returns plain data for the JSON file and the tables."""
    path = config.model_path(expert)
    base = Settings(threads=threads)
    out: dict = {"expert": expert.name, "main": [], "ubatch": [], "chunk": [], "options": []}
    with opened(path, base) as raw:
        out["n_vocab"] = raw.n_vocab
        corpus = {n: raw.tokenize(CORPUS, n) for n in args.lengths}
        corpus.setdefault(args.variant_length, raw.tokenize(CORPUS, args.variant_length))
        texts = {n: text_of(raw, corpus[n][1 if raw.add_bos else 0 :]) for n in args.lengths}
        for n in args.lengths:
            progress(f"{expert.name}: {n} tokens")
            (last, last_med), (dec, dec_med) = last_and_decode(raw, corpus[n], args.decode_tokens, args.reps)
            full, full_med = best_of(lambda n=n: raw.prefill(corpus[n], step=N_BATCH, all_logits=True), args.reps)
            out["main"].append({"tokens": n, "pp_last": tps(n, last), "pp_last_med": tps(n, last_med),
                                "pp_all": tps(n, full), "pp_all_med": tps(n, full_med),
                                "decode": tps(args.decode_tokens, dec), "decode_med": tps(args.decode_tokens, dec_med)})
        n = args.variant_length
        tokens = corpus[n]
        progress(f"{expert.name}: scoring chunks at {n} tokens")
        for chunk in () if args.no_variants else CHUNKS:
            sec, med = best_of(lambda chunk=chunk: raw.prefill(tokens, step=chunk, all_logits=True), args.reps)
            out["chunk"].append({"chunk": chunk, "tokens": n, "pp_all": tps(n, sec), "pp_all_med": tps(n, med),
                                 "logit_mb": 2 * min(chunk, n) * raw.n_vocab * 4 / 1e6})
        base_row = {"pp_last": None, "pp_all": None, "decode": None}
        for row in out["main"]:
            if row["tokens"] == n:
                base_row = {key: row[key] for key in base_row}
        if base_row["pp_last"] is None and not args.no_variants:  # variant length not among the main lengths
            (last, _), (dec, _) = last_and_decode(raw, tokens, args.decode_tokens, args.reps)
            full = best_of(lambda: raw.prefill(tokens, step=N_BATCH, all_logits=True), args.reps)[0]
            base_row = {"pp_last": tps(n, last), "pp_all": tps(n, full), "decode": tps(args.decode_tokens, dec)}
    if base_row["pp_last"] is not None:
        out["options"].append({"option": f"baseline ({threads} threads, ubatch 512, repack, no FA)", **base_row})

    variants: list[tuple[str, Settings]] = [
        (f"n_ubatch {u}", Settings(threads=threads, n_ubatch=u)) for u in UBATCHES if u != N_BATCH
    ]
    # On the CPU clock, several threads count their spin-waits too: compare thread counts on wall time only.
    thread_counts = sorted({1, physical, threads} - {threads}) if clock is time.perf_counter else []
    variants += [(f"{t} thread{'s' if t > 1 else ''}", Settings(threads=t)) for t in thread_counts]
    variants += [("repack off", Settings(threads=threads, repack=False)),
                 ("flash attention on", Settings(threads=threads, flash_attn=True))]
    if args.no_variants:
        variants = []
    for name, settings in variants:
        progress(f"{expert.name}: {name}")
        with opened(path, settings) as raw:
            step = settings.n_batch
            if name.startswith("n_ubatch"):
                last = best_of(lambda step=step: raw.prefill(tokens, step=step, all_logits=False), args.reps)[0]
                out["ubatch"].append({"n_ubatch": settings.n_ubatch, "tokens": n, "pp_last": tps(n, last)})
                continue
            (last, _), (dec, _) = last_and_decode(raw, tokens, args.decode_tokens, args.reps, step)
            full = best_of(lambda step=step: raw.prefill(tokens, step=step, all_logits=True), args.reps)[0]
            out["options"].append({"option": name, "pp_last": tps(n, last), "pp_all": tps(n, full),
                                   "decode": tps(args.decode_tokens, dec)})
    if variants:
        out["ubatch"].append({"n_ubatch": N_BATCH, "tokens": n, "pp_last": base_row["pp_last"]})

    progress(f"{expert.name}: engine.Model.score")
    model = engine_model(config, expert, threads, None)
    try:
        out["chunk_engine"] = model.chunk
        for row in out["main"]:
            if row["tokens"] != args.variant_length:
                continue
            text = texts[row["tokens"]]
            n_scored = len(model.score(text).tokens)  # Model.score tokenizes itself: count what it read
            sec, _ = best_of(lambda text=text: timed(lambda: model.score(text)), args.reps)
            row["score"] = tps(n_scored, sec)
            row["score_tokens"] = n_scored
    finally:
        model.close()
    return out


WEIGHT_TYPES = {"f16": "F16", "bf16": "BF16", "q8_0": "Q8_0", "q4_0": "Q4_0", "q4_k_m": "Q4_K_M"}


def requantized(source: Path, kind: str, directory: Path) -> Path:
    """`source` rewritten by llama.cpp with weights of `kind` (a WEIGHT_TYPES key), in `directory`
    (made once per run: the per-expert rows and the routing rows share the file)."""
    target = directory / f"{source.stem}.{kind}.gguf"
    if target.exists():
        return target
    progress(f"requantizing {source.name} to {kind}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{WEIGHT_TYPES[kind]}")
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 1
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if status != 0:
        raise RuntimeError(f"llama_model_quantize to {kind} failed with status {status}")
    return target


def measure_weight_types(config: AppConfig, entry: dict, args: argparse.Namespace, threads: int,
                         directory: Path) -> list[dict]:
    """Section (d): pp last, pp all and decode at the variant length, shipped file vs requantized ones.

    The shipped file's row is section (a)'s at that length, when (a) measured it (same settings).
    """
    n, rows = args.variant_length, []
    expert = config.experts[entry["expert"]]
    shipped = config.model_path(expert)
    files = [("shipped", shipped)]
    for kind in args.weight_types:
        files.append((kind, requantized(shipped, kind, directory)))
    measured = next((r for r in entry["main"] if r["tokens"] == n), None)
    for kind, path in files:
        row = {"weights": kind, "mb": path.stat().st_size / 1e6, "tokens": n}
        if kind == "shipped" and measured:
            rows.append(row | {key: measured[key] for key in ("pp_last", "pp_all", "decode")})
            continue
        progress(f"{expert.name}: weights {kind}")
        with opened(path, Settings(threads=threads)) as raw:
            tokens = raw.tokenize(CORPUS, n)
            (last, _), (dec, _) = last_and_decode(raw, tokens, args.decode_tokens, args.reps)
            full = best_of(lambda raw=raw, tokens=tokens: raw.prefill(tokens, step=N_BATCH, all_logits=True),
                           args.reps)[0]
        rows.append(row | {"pp_last": tps(n, last), "pp_all": tps(n, full), "decode": tps(args.decode_tokens, dec)})
    return rows


def measure_routing_weights(config: AppConfig, args: argparse.Namespace, threads: int, shipped: dict,
                            directory: Path) -> list[dict]:
    """Section (d), routing: the shipped files (section (c)'s first row, `shipped`: the same policy),
    then every expert requantized to each weight type."""
    rows = [{"weights": "shipped", **shipped}]
    profile = config.profile(PROFILE)
    for kind in args.weight_types:
        experts = dict(config.experts)
        for name, expert in profile.experts.items():
            made = requantized(config.model_path(expert), kind, directory)
            # No pins: the rewritten file has its own size and hash.
            experts[name] = expert.model_copy(update={"filename": made.name, "sha256": None, "size": None})
        cfg = config.model_copy(update={"experts": experts, "models_dir": directory})
        rows += [{"weights": kind, **row} for row in measure_routing(cfg, threads, args.reps, ROUTE_POLICIES[:1])]
    return rows


def report_weight_types(data: dict) -> None:
    """Print section (d), if it was measured."""
    rows = []
    for e in data["experts"]:
        base = e.get("weights", [])[:1]
        for r in e.get("weights", []):
            rows.append([e["expert"], r["weights"], f"{r['mb']:.0f}", f"{r['pp_last']:.1f}",
                         f"{r['pp_last'] / base[0]['pp_last']:.2f}", f"{r['pp_all']:.1f}",
                         f"{r['pp_all'] / base[0]['pp_all']:.2f}", f"{r['decode']:.1f}",
                         f"{r['decode'] / base[0]['decode']:.2f}"])
    if rows:
        print(f"\n(d) weight types at {data['variant_length']} tokens: tok/s, ratio to the shipped file")
        print_table(["expert", "weights", "MB", "pp last", "x", "pp all", "x", "decode", "x"], rows)
    routed = data.get("routing_weights", [])
    if routed:
        base = routed[0]["best"]
        print("\n(d) Pipeline.route, ~200-token question, 3 experts resident, derived chunks: seconds")
        print_table(["weights", "tokens", "best s", "median s", "speed-up"],
                    [[r["weights"], str(sum(r["tokens"].values())), f"{r['best']:.3f}", f"{r['median']:.3f}",
                      f"{base / r['best']:.2f}"] for r in routed])


def timed(run: Callable[[], object], on: Callable[[], float] | None = None) -> float:
    """Seconds `run()` takes on the --clock (or on `on`)."""
    now = on or clock
    started = now()
    run()
    return now() - started


def with_chunk(config: AppConfig, chunk: int | None) -> AppConfig:
    """The config with every expert's score_chunk set (None keeps the derived chunk)."""
    if chunk is None:
        return config
    experts = {name: e.model_copy(update={"score_chunk": chunk}) for name, e in config.experts.items()}
    return config.model_copy(update={"experts": experts})


def measure_routing(config: AppConfig, threads: int, reps: int,
                    policies: tuple[tuple[int | None, bool], ...] = ROUTE_POLICIES) -> list[dict]:
    """Pipeline.route on the seed-length question, three experts resident, per chunk and attention policy."""
    rows = []
    for chunk, flash in policies:
        engine_cfg = config.engine.model_copy(update={"n_threads": threads, "flash_attn": flash})
        cfg = with_chunk(config, chunk).model_copy(update={"engine": engine_cfg})
        profile = cfg.profile(PROFILE)
        pool = ModelPool(cfg, profile, max_resident=len(profile.experts))
        pipeline = Pipeline(cfg, profile, pool=pool)
        try:
            for name in profile.experts:
                pool.get(name)  # loads before the clock
            progress(f"routing, chunk {chunk or 'derived'}, flash attention {'on' if flash else 'off'}")
            seconds = []
            for _ in range(reps):
                seconds.append(timed(lambda pipeline=pipeline: pipeline.route(QUESTION)))
            routing = pipeline.route(QUESTION)  # untimed: its token counts
            chunks = {name: pool.get(name).chunk for name in profile.experts}
            vocab = {name: pool.get(name).n_vocab for name in profile.experts}
            tokens = routing.tokens_scored
        finally:
            pipeline.close()
        rows.append({
            "policy": f"{'derived' if chunk is None else f'{chunk} for all'}, FA {'on' if flash else 'off'}",
            "chunks": chunks, "tokens": tokens, "best": min(seconds), "median": statistics.median(seconds),
            "logit_mb": {n: 2 * min(chunks[n], tokens[n]) * vocab[n] * 4 / 1e6 for n in chunks},
        })  # fmt: skip
    return rows


def sgemm_gflops(n: int = 1536, reps: int = 5) -> float:
    """numpy's float32 matrix product (its bundled OpenBLAS, all cores), best of `reps`, in GFLOP/s.

    A yardstick for the dense fp32 GEMM a PyTorch/transformers prefill runs on: on another
    CPU, compare llama.cpp's tok/s per sgemm GFLOP/s rather than raw tok/s. On the CPU
    clock this is per core (CPU seconds of all of OpenBLAS's threads).
    """
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = min(timed(lambda: a @ b) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def header(label: str, threads: int, physical: int, logical: int) -> dict:
    return {
        "label": label,
        "llama_cpp_python": llama_cpp.__version__,
        "system_info": engine.system_info(),
        "gpu_offload": engine.gpu_offload_supported(),
        "cpu": platform.processor() or platform.machine(),
        "threads": threads,
        "physical_cores": physical,
        "logical_cpus": logical,
        "env": {k: os.environ[k] for k in ENV_KEYS if k in os.environ},
        "load_average": os.getloadavg(),
        "python": sys.executable,
        "sgemm_gflops": sgemm_gflops(),
        "clock": "cpu" if clock is time.process_time else "wall",
    }


def report(data: dict) -> None:
    """Print one run's tables."""
    h = data["header"]
    print(f"== {h['label']}: llama-cpp-python {h['llama_cpp_python']}, {h['threads']} threads, "
          f"{h.get('clock', 'wall')} clock "
          f"({h['physical_cores']} physical cores, {h['logical_cpus']} logical CPUs), python {h['python']}")
    print(f"   {h['system_info']}")
    print(f"   GPU offload: {h['gpu_offload']}; env: {h['env'] or '-'}; load average before {h['load_average']}; "
          f"numpy sgemm {h['sgemm_gflops']:.0f} GFLOP/s")
    rows = []
    for e in data["experts"]:
        for r in e["main"]:
            score = r.get("score")
            rows.append([e["expert"], str(r["tokens"]), f"{r['pp_last']:.1f}", f"{r['pp_all']:.1f}",
                         f"{r['pp_last'] / r['pp_all']:.2f}", f"{score:.1f}" if score else "-", str(e["chunk_engine"]),
                         f"{r['pp_all'] / score:.2f}" if score else "-", f"{r['decode']:.1f}",
                         f"{r['pp_last_med']:.1f}/{r['pp_all_med']:.1f}/{r['decode_med']:.1f}"])
    print("\n(a) tok/s, best of reps (n_batch = n_ubatch = 512, repack on, flash attention off)")
    print_table(["expert", "tokens", "pp last", "pp all", "all cost x", "score", "chunk", "score/floor x",
                 "decode", "medians last/all/dec"], rows)
    if any(e["chunk"] for e in data["experts"]):
        report_variants(data)
    report_routing(data)
    report_weight_types(data)


def report_variants(data: dict) -> None:
    """Print section (b)."""
    rows = []
    for e in data["experts"]:
        for r in sorted(e["ubatch"], key=lambda r: r["n_ubatch"]):
            rows.append([e["expert"], str(r["tokens"]), str(r["n_ubatch"]), f"{r['pp_last']:.1f}"])
    print("\n(b1) n_ubatch (n_batch 512): pp last tok/s")
    print_table(["expert", "tokens", "n_ubatch", "pp last"], rows)
    rows = []
    for e in data["experts"]:
        floor = next(r["pp_all"] for r in e["chunk"] if r["chunk"] == max(CHUNKS))
        for r in e["chunk"]:
            rows.append([e["expert"], str(r["tokens"]), str(r["chunk"]), f"{r['pp_all']:.1f}",
                         f"{floor / r['pp_all']:.2f}", f"{r['logit_mb']:.0f}"])
    print("\n(b2) scoring chunk: all-logits decode in chunks, tok/s; time vs one 512 decode; logit memory MB")
    print_table(["expert", "tokens", "chunk", "pp all", "time x", "logit MB"], rows)
    rows = []
    for e in data["experts"]:
        for r in e["options"]:
            rows.append([e["expert"], r["option"], f"{r['pp_last']:.1f}", f"{r['pp_all']:.1f}", f"{r['decode']:.1f}"])
    print(f"\n(b3) runtime options at {data['variant_length']} tokens: tok/s")
    print_table(["expert", "option", "pp last", "pp all", "decode"], rows)


def report_routing(data: dict) -> None:
    """Print section (c), if it was measured."""
    if data.get("routing"):
        rows = []
        base = data["routing"][0]["best"]
        for r in data["routing"]:
            rows.append([r["policy"], " ".join(f"{n}={c}" for n, c in r["chunks"].items()),
                         str(sum(r["tokens"].values())), f"{r['best']:.3f}", f"{r['median']:.3f}",
                         f"{base / r['best']:.2f}", f"{max(r['logit_mb'].values()):.0f}"])
        print("\n(c) Pipeline.route, ~200-token question, 3 experts resident: seconds")
        print_table(["policy", "chunks", "tokens", "best s", "median s", "speed-up", "max logit MB"], rows)


def find_row(run: dict, expert: str, tokens: int) -> dict:
    """One run's section (a) row for an expert and length ({} where it was not measured)."""
    for e in run["experts"]:
        if e["expert"] == expert:
            return next((r for r in e["main"] if r["tokens"] == tokens), {})
    return {}


def compare(files: list[Path]) -> None:
    """Side-by-side ratios of several runs (e.g. one per build variant), against the first."""
    runs = [json.loads(f.read_text()) for f in files]
    labels = [r["header"]["label"] for r in runs]
    for r in runs:
        print(f"{r['header']['label']}: {r['header']['system_info']}  env {r['header']['env'] or '-'}")
    for metric in ("pp_last", "pp_all", "score", "decode"):
        rows = []
        for e in runs[0]["experts"]:
            for r0 in e["main"]:
                if metric not in r0:
                    continue
                cells = [e["expert"], str(r0["tokens"])]
                for run in runs:
                    value = find_row(run, e["expert"], r0["tokens"]).get(metric)
                    cells.append(f"{value:.1f} ({value / r0[metric]:.2f}x)" if value else "-")
                rows.append(cells)
        print(f"\n{metric} tok/s (ratio to {labels[0]})")
        print_table(["expert", "tokens", *labels], rows)
    routed = [r for r in runs if r.get("routing")]
    if routed:
        rows = []
        base = routed[0]["routing"][0]["best"]
        for k, r0 in enumerate(routed[0]["routing"]):
            cells = [r0["policy"]]
            for run in routed:
                value = run["routing"][k]["best"]
                cells.append(f"{value:.3f} ({base / value:.2f}x)")
            rows.append(cells)
        print(f"\nrouting seconds, best (speed-up vs {routed[0]['header']['label']} with today's chunks)")
        print_table(["policy", *(r["header"]["label"] for r in routed)], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="this build", help="name of the build variant, for the tables and JSON")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--compare", type=Path, nargs="+", metavar="JSON", help="print runs side by side and exit")
    parser.add_argument("--lengths", type=positive, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--variant-length", type=positive, default=256)
    parser.add_argument("--reps", type=positive, default=3, help="timed repetitions after one warm-up (default 3)")
    parser.add_argument("--decode-tokens", type=positive, default=32)
    parser.add_argument("--threads", type=positive, help="llama.cpp threads (default: the config's, i.e. all cores)")
    parser.add_argument("--experts", nargs="+", metavar="NAME", help="only these demo experts")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                        help="wall time, or process CPU time (use with --threads 1 on a busy machine)")
    parser.add_argument("--no-variants", action="store_true", help="skip (b)")
    parser.add_argument("--no-routing", action="store_true", help="skip (c)")
    parser.add_argument("--weight-types", nargs="+", default=[], choices=list(WEIGHT_TYPES), metavar="TYPE",
                        help=f"(d): also measure each expert requantized to these ({', '.join(WEIGHT_TYPES)})")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare)
        return 0
    global clock
    clock = CLOCKS[args.clock]

    config = load_config(use_user_file=False)
    profile = config.profile(PROFILE)
    names = args.experts or list(profile.experts)
    paths = [config.model_path(profile.experts[n]) for n in names]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print("missing model file(s):\n  " + "\n  ".join(missing), file=sys.stderr)
        print(f"fetch them with: seqmoe-local pull --profile {PROFILE}", file=sys.stderr)
        return 1
    physical, logical = cpu_topology()
    threads = args.threads or config.engine.n_threads or logical
    started = time.perf_counter()
    data = {"header": header(args.label, threads, physical, logical), "variant_length": args.variant_length,
            "experts": [measure_expert(config, profile.experts[n], args, threads, physical) for n in names]}
    if not args.no_routing:
        data["routing"] = measure_routing(config, threads, args.reps)
    if args.weight_types:
        with tempfile.TemporaryDirectory(prefix="seqmoe-weights-") as tmp:
            for entry in data["experts"]:
                entry["weights"] = measure_weight_types(config, entry, args, threads, Path(tmp))
            if not args.no_routing:
                data["routing_weights"] = measure_routing_weights(config, args, threads, data["routing"][0], Path(tmp))
    data["seconds"] = time.perf_counter() - started
    data["load_average_after"] = os.getloadavg()
    report(data)
    print(f"\n{data['seconds']:.0f} s; load average after {data['load_average_after']}")
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
