"""Prefill speed of the reference's stack (transformers, fp32, torch CPU) beside ours (llama.cpp GGUF).

torch, transformers, gguf and accelerate are NOT dependencies of seqmoe-local: only this optional comparison
needs them, in a reference venv of its own outside the repository. The llama.cpp side runs
scripts/bench_prefill.py in a subprocess with the project venv's python (one per build given with
``--build``), so both sides are measured in one sitting on the same prompts. Exact commands, from
the repository root:

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install TORCH transformers gguf accelerate
        # TORCH: a CPU build of torch (measured: torch-2.13.0+cpu, from a wheel file on disk)
    flock /tmp/seqmoe-cpu.lock /tmp/refvenv/bin/python scripts/bench_reference.py \
        --build lean=.venv/bin/python --threads 2 --reps 5 --json out/ref-2t.json
    flock /tmp/seqmoe-cpu.lock /tmp/refvenv/bin/python scripts/bench_reference.py \
        --build lean=.venv/bin/python --threads 1 --clock cpu --json out/ref-1t.json
    /tmp/refvenv/bin/python scripts/bench_reference.py --report out/ref-2t.json out/ref-1t.json

More ``--build LABEL=PYTHON`` add columns: another llama-cpp-python build in a venv of its own
holding seqmoe-local's dependencies (this checkout's seqmoe_local is put first on PYTHONPATH), e.g.

    python3 -m venv /tmp/avx2venv && /tmp/avx2venv/bin/pip install numpy pydantic platformdirs \
        filelock huggingface-hub 'textual>=8.2,<9' rich markdown-it-py
    LEAN="-DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$PWD/cmake/llama-lean.cmake"
    flock /tmp/seqmoe-cpu.lock env CMAKE_ARGS="$LEAN -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
        -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF" \
        /tmp/avx2venv/bin/pip install --no-cache-dir llama-cpp-python==0.3.36    # AVX2 only
    # OpenBLAS (apt-get install libopenblas-dev), the same way in /tmp/blasvenv:
    #   CMAKE_ARGS="$LEAN -DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS"
    ... --build lean=.venv/bin/python --build avx2=/tmp/avx2venv/bin/python \
        --build openblas=/tmp/blasvenv/bin/python

(``--no-cache-dir``: pip's wheel cache does not key on CMAKE_ARGS.) ``--experts`` one at a time
keeps each hold of the CPU lock short; ``--no-transformers`` or ``--no-llama`` measure one side
only, and ``--report`` prints saved runs together (``--reference`` picks the denominator).

Transformers side. Each expert is loaded from the very GGUF file llama.cpp reads
(``from_pretrained(dir, gguf_file=name, dtype=float32)`` dequantizes it to fp32, tokenizer
included): the reference's fp32 weights up to quantization noise, which does not change the
speed. Prefill is what the reference times before the first token: one forward pass over the
whole prompt, under ``torch.inference_mode()`` with ``torch.set_num_threads(N)``, warmed up once,
then ``--reps`` timed passes. Two variants, matching
bench_prefill's: ``last`` (``logits_to_keep=1``: what ``generate`` computes before its first
token) and ``all`` (a plain ``model(ids)``: logits for every token, what scoring needs).
``--torch-isa avx2`` caps torch's own kernels, MKL and oneDNN at AVX2 (through their
environment variables, set before torch is imported), as on a CPU without AVX-512.

llama.cpp side: bench_prefill's ``pp last`` and ``pp all`` (n_batch = n_ubatch = 512, repack
on, flash attention off: the engine's settings) at the same lengths and threads, over its
``--reps`` runs (no separate warm-up there: the first run is one of them, which the median and
best discount). Both sides read the first N tokens of the same text (bench_prefill.CORPUS),
each through its model's tokenizer. Ratios are llama.cpp / transformers
(above 1: ours is faster); medians and bests are printed (on a shared machine noise only ever adds
time, so the best is the steadier figure). Wall clock by default: run it under the CPU lock. When
other processes share the cores, ``--threads 1 --clock cpu`` (process CPU time of one compute
thread, on both sides) is nearly immune to them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import print_table, write_json  # stdlib only, so it imports in the reference venv too

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
DEFAULT_EXPERTS = ("smollm2-135m", "qwen-coder")
# Issue 15's figures, from another 2-core AMD EPYC without AVX-512, at ~650 tokens and 2 threads (tok/s).
ISSUE_FIGURES = {"smollm2-135m": (204.0, 116.0), "qwen-coder": (86.0, 43.5)}
# The cap on each library's instruction set for --torch-isa avx2 (read when torch is imported).
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
clock: Callable[[], float] = time.perf_counter  # set from --clock in main()
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}

# Run by each build's python: the demo experts' GGUF paths and bench_prefill's corpus, so both sides
# read the same files and the same text without this venv importing seqmoe_local or llama_cpp.
INFO_CODE = """
import json, sys
import llama_cpp
from bench_prefill import CORPUS, PROFILE
from seqmoe_local import engine
from seqmoe_local.config import load_config
config = load_config(use_user_file=False)
profile = config.profile(PROFILE)
print(json.dumps({"corpus": CORPUS, "llama_cpp_python": llama_cpp.__version__,
                  "system_info": engine.system_info(),
                  "paths": {n: str(config.model_path(profile.experts[n])) for n in sys.argv[1:]}}))
"""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def positive(value: str) -> int:
    """An argparse type: a whole number >= 1 (benchlib's, which this venv need not import)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_arg(value: str) -> tuple[str, str]:
    """An argparse type: LABEL=PYTHON."""
    label, sep, python = value.partition("=")
    if not sep or not label or not python:
        raise argparse.ArgumentTypeError("expected LABEL=PYTHON, e.g. lean=.venv/bin/python")
    return label, python


def child_env() -> dict[str, str]:
    """The environment for a build's python: this checkout's seqmoe_local and scripts/ first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(SCRIPTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def build_info(python: str, experts: list[str]) -> dict[str, Any]:
    """Model paths, corpus and llama.cpp build of one build's venv."""
    done = subprocess.run([python, "-c", INFO_CODE, *experts], capture_output=True, text=True, env=child_env(),
                          cwd=ROOT, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{python} could not report its models:\n{done.stderr}")
    info: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return info


def tps(tokens: int, seconds: float) -> float:
    return tokens / seconds if seconds > 0 else float("nan")


def transformers_header() -> dict[str, Any]:
    """Import torch and transformers (the reference venv only: not project dependencies) and name them."""
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()  # its bars would bury the figures on stderr
    torch.set_num_interop_threads(1)
    capped = any(k in os.environ for k in AVX2_ENV)
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "isa_env": {k: os.environ[k] for k in AVX2_ENV if k in os.environ},
            "side": "transformers-avx2" if capped else "transformers"}  # fmt: skip


def measure_transformers(
    expert: str, path: str, corpus: str, lengths: list[int], threads: list[int], reps: int, header: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows of transformers fp32 prefill tok/s for one expert per thread count and length."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(path)
    progress(f"transformers: loading {gguf.name} (dequantized to fp32)")
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.eval()
    header.setdefault("load_seconds", {})[expert] = time.perf_counter() - started
    header["attn_implementation"] = model.config._attn_implementation
    ids = tokenizer(corpus, return_tensors="pt")["input_ids"]
    if ids.shape[1] < max(lengths):
        raise SystemExit(f"corpus too short for {expert}: {ids.shape[1]} tokens < {max(lengths)}")
    rows: list[dict[str, Any]] = []
    for t in threads:
        torch.set_num_threads(t)
        for n in lengths:
            prompt = ids[:, :n]
            row: dict[str, Any] = {"side": header["side"], "expert": expert, "threads": t, "tokens": n}
            for name, kwargs in (("last", {"logits_to_keep": 1}), ("all", {})):
                samples = []
                with torch.inference_mode():
                    for rep in range(reps + 1):  # the first pass is the warm-up
                        begin = clock()
                        out = model(prompt, use_cache=True, **kwargs)
                        seconds = clock() - begin
                        assert out.logits.shape[1] == (1 if kwargs else n)
                        if rep:
                            samples.append(seconds)
                row[name] = tps(n, statistics.median(samples))
                row[f"{name}_best"] = tps(n, min(samples))
            progress(f"transformers {expert} {t}t {n} tokens: last {row['last']:.1f}, all {row['all']:.1f} tok/s "
                     f"(medians; best {row['last_best']:.1f}, {row['all_best']:.1f})")  # fmt: skip
            rows.append(row)
    return rows


def measure_llama(
    label: str, python: str, expert: str, lengths: list[int], threads: list[int], reps: int, clock_name: str
) -> list[dict[str, Any]]:
    """Rows of bench_prefill's pp last / pp all tok/s for one build and expert, per thread count."""
    rows: list[dict[str, Any]] = []
    for t in threads:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "prefill.json"
            command = [python, str(SCRIPTS / "bench_prefill.py"), "--label", label, "--json", str(out),
                       "--experts", expert, "--lengths", *map(str, lengths), "--threads", str(t),
                       "--reps", str(reps), "--clock", clock_name, "--no-variants", "--no-routing"]  # fmt: skip
            progress(f"llama.cpp ({label}), {t} thread(s): {' '.join(command)}")
            done = subprocess.run(command, env=child_env(), cwd=ROOT, check=False, stdout=sys.stderr)
            if done.returncode != 0:
                raise SystemExit(f"bench_prefill.py failed for {label} (status {done.returncode})")
            data = json.loads(out.read_text())
        for e in data["experts"]:
            for r in e["main"]:
                rows.append({"side": label, "expert": e["expert"], "threads": t, "tokens": r["tokens"],
                             "last": r["pp_last_med"], "all": r["pp_all_med"], "last_best": r["pp_last"],
                             "all_best": r["pp_all"], "decode": r["decode_med"]})  # fmt: skip
    return rows


def report(runs: list[dict[str, Any]], reference: str = "transformers") -> None:
    """One table of both sides per metric, every other side against `reference`, over all the runs given."""
    rows = [row for run in runs for row in run["rows"]]
    for run in runs:
        h = run["header"]
        print(f"run {h.get('started', '?')}, {h.get('clock', 'wall')} clock: {h.get('cpu', '?')}, "
              f"{h.get('cpu_flags', '-')}; "
              f"load average before {h.get('load_average')}, after {h.get('load_average_after')}")  # fmt: skip
        if "transformers" in h:
            t = h["transformers"]
            print(
                f"  transformers {t['transformers']}, torch {t['torch']} (kernels {t['cpu_capability']}, "
                f"env {t['isa_env'] or '-'}), fp32, attention {t.get('attn_implementation')}"
            )
        for label, info in h.get("builds", {}).items():
            print(f"  llama.cpp [{label}]: llama-cpp-python {info['llama_cpp_python']}: {info['system_info']}")
    builds = list(dict.fromkeys(r["side"] for r in rows if r["side"] != reference))
    keys = sorted({(r["expert"], r["threads"], r["tokens"]) for r in rows}, key=lambda k: (k[0], -k[1], k[2]))
    index = {(r["side"], r["expert"], r["threads"], r["tokens"]): r for r in rows}
    for metric, what in (("last", "median, logits for the last token (time to first token)"),
                         ("all", "median, logits for every token (scoring)"),
                         ("last_best", "best, logits for the last token"),
                         ("all_best", "best, logits for every token")):  # fmt: skip
        table = []
        for expert, threads, tokens in keys:
            ref = index.get((reference, expert, threads, tokens), {}).get(metric)
            cells = [expert, str(threads), str(tokens), f"{ref:.1f}" if ref else "-"]
            for label in builds:
                ours = index.get((label, expert, threads, tokens), {}).get(metric)
                cells.append(f"{ours:.1f}" if ours else "-")
                cells.append(f"{ours / ref:.2f}" if ours and ref else "-")
            table.append(cells)
        print(f"\nprefill tok/s, {what}; ratio = that column / {reference}")
        print_table(["expert", "threads", "tokens", reference,
                     *(c for label in builds for c in (label, "ratio"))], table)  # fmt: skip
    print(
        "\nissue 15 (another 2-core EPYC, no AVX-512, ~650 tokens, 2 threads): "
        + "; ".join(
            f"{e} transformers {a:.0f}, llama.cpp {b:.1f} ({b / a:.2f}x)" for e, (a, b) in ISSUE_FIGURES.items()
        )
    )


def cpu_flags() -> str:
    """The SIMD flags that pick the kernels on either side (x86 Linux; '-' elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "-"
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    wanted = [f for f in flags if f.startswith(("avx", "amx", "fma", "f16c"))]
    return " ".join(sorted(wanted)) or "no AVX"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=build_arg, action="append", metavar="LABEL=PYTHON",
                        help="a llama-cpp-python build: the python of a venv with it and seqmoe-local's "
                             "dependencies (repeatable; the first also names the GGUF paths)")  # fmt: skip
    parser.add_argument("--experts", nargs="+", default=list(DEFAULT_EXPERTS), metavar="NAME")
    parser.add_argument("--lengths", type=positive, nargs="+", default=[256, 650])
    parser.add_argument("--threads", type=positive, nargs="+", default=[2, 1])
    parser.add_argument("--reps", type=positive, default=3, help="timed passes after one warm-up (default 3)")
    parser.add_argument(
        "--torch-isa",
        choices=["native", "avx2"],
        default="native",
        help="avx2: cap torch, MKL and oneDNN at AVX2 (a CPU without AVX-512)",
    )
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                        help="wall time, or process CPU time (with --threads 1 only: a busy machine)")  # fmt: skip
    parser.add_argument("--no-transformers", action="store_true", help="measure the llama.cpp side only")
    parser.add_argument("--no-llama", action="store_true", help="measure the transformers side only")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--reference",
        default="transformers",
        help="with --report: the side the ratios divide by (transformers-avx2 for --torch-isa avx2 runs)",
    )
    parser.add_argument("--report", type=Path, nargs="+", metavar="JSON", help="print saved runs together and exit")
    args = parser.parse_args()
    if args.report:
        report([json.loads(path.read_text()) for path in args.report], args.reference)
        return 0
    if not args.build:
        parser.error("give at least one --build LABEL=PYTHON (e.g. lean=.venv/bin/python)")
    if args.clock == "cpu" and args.threads != [1]:
        parser.error("--clock cpu needs --threads 1: with more, CPU time counts the threads' spin-waits")
    global clock
    clock = CLOCKS[args.clock]
    if args.torch_isa == "avx2":
        os.environ.update(AVX2_ENV)  # before torch is imported, in measure_transformers

    infos = {label: build_info(python, args.experts) for label, python in args.build}
    first = infos[args.build[0][0]]
    missing = [p for p in first["paths"].values() if not Path(p).is_file()]
    if missing:
        print(
            "missing model file(s): " + ", ".join(missing) + "\nfetch them with: seqmoe-local pull --profile demo",
            file=sys.stderr,
        )
        return 1
    header: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "cpu": cpu_model(),
        "cpu_flags": cpu_flags(), "logical_cpus": os.cpu_count(), "load_average": os.getloadavg(), "clock": args.clock,
        "builds": {label: {k: v for k, v in info.items() if k != "corpus"} for label, info in infos.items()},
    }  # fmt: skip
    if not args.no_transformers:
        header["transformers"] = transformers_header()
    rows: list[dict[str, Any]] = []
    # Expert by expert, both sides back to back, so drift in the machine's load hits both alike.
    for expert in args.experts:
        if not args.no_transformers:
            rows += measure_transformers(expert, first["paths"][expert], first["corpus"], args.lengths,
                                         args.threads, args.reps, header["transformers"])  # fmt: skip
        if not args.no_llama:
            for label, python in args.build:
                rows += measure_llama(label, python, expert, args.lengths, args.threads, args.reps, args.clock)
    header["load_average_after"] = os.getloadavg()
    run = {"header": header, "rows": rows}
    report([run])
    write_json(args.json, run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
