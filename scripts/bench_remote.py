"""Benchmark scoring the same texts with a local expert and with the same model behind a server.

Run from the repository root, under the CPU lock (the demo GGUFs must be in the models directory):

    flock /tmp/seqmoe-cpu.lock .venv/bin/python scripts/bench_remote.py [--texts N] [--reps N]

It starts llama-cpp-python's own server (``python -m llama_cpp.server``, the ``server`` extra)
on 127.0.0.1 serving the demo Gemma-3-270M (the demo expert whose echo log-probs that server
gets right), and scores the first N three-part questions of scripts/questions_3part.jsonl,
each rendered in the plain layout of `prompts` with a system text as context:

(a) Time, side by side in one run, best of ``--reps`` rounds whose order rotates:
    - local: ``engine.Model.score`` of the rendered prompt (the expert's own chunk, as the pool
      would load it);
    - remote: ``RemoteModel.score(text, context=...)``, one HTTP request per text (the probe ran
      before the clock);
    - server eval: the same prompt sent without echo or log-probs, for information: what the
      server's llama.cpp costs before it formats log-probs. The remote/eval gap is
      llama-cpp-python's server building its echo answer in Python (it sorts the whole
      vocabulary for every prompt token: 262k entries for Gemma).
    Before each remote or eval request the server last saw a different text, so it re-reads
    everything after the shared "Question:" prefix (it keeps the previous prompt's KV cache).
(b) Memory of our own process: peak RSS (VmHWM) of a fresh process that scores the texts
    locally, and of one that scores them through the server; their ratio. The server's own
    peak RSS is printed beside them: the memory moves out of our process, it does not vanish.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import print_table

from seqmoe_local.config import RemoteExpertConfig, load_config
from seqmoe_local.prompts import Message, join, plain_pieces

EXPERT = "gemma3-270m"
QUESTIONS = Path(__file__).resolve().parent / "questions_3part.jsonl"
SYSTEM = "You are a careful problem solver. Work step by step, briefly."
N_CTX = 1024


def peak_rss_mb(pid: int | str = "self") -> float:
    """The kernel's high-water mark of a process's resident memory (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def read_texts(limit: int) -> list[str]:
    with QUESTIONS.open() as handle:
        return [json.loads(line)["query"] for line in handle if line.strip()][:limit]


def remote_expert(url: str) -> RemoteExpertConfig:
    return RemoteExpertConfig(kind="remote", name="gemma-remote", description="bench", base_url=url,
                              model="served", read_timeout=600)


class Server:
    """llama-cpp-python's server on a free 127.0.0.1 port, up once uvicorn says so."""

    def __init__(self, model: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "served",
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX), "--n_batch", "512",
             "--n_threads", "2", "--n_threads_batch", "2", "--verbose", "false"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.ready = threading.Event()
        threading.Thread(target=self._read_log, daemon=True).start()
        if not self.ready.wait(120) or self.process.poll() is not None:
            self.stop()
            raise SystemExit("llama_cpp.server did not start; is the server extra installed? "
                             "pip install 'llama-cpp-python[server]'")

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if "Uvicorn running on" in line:
                self.ready.set()
        self.ready.set()

    def eval_only(self, prompt: str) -> float:
        """Seconds for a completion of one token without echo or log-probs."""
        body = json.dumps({"model": "served", "prompt": prompt, "max_tokens": 1, "temperature": 0}).encode()
        request = urllib.request.Request(f"{self.url}/v1/completions", data=body,
                                         headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
        return time.perf_counter() - started

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def child(kind: str, url: str, limit: int) -> None:
    """Score the texts in a fresh process, then print its peak RSS (the memory measurement)."""
    texts = read_texts(limit)
    context = [Message("system", SYSTEM)]
    if kind == "local":
        from seqmoe_local.engine import Model

        config = load_config(use_user_file=False)
        expert = config.profile("demo").experts[EXPERT]
        with Model(EXPERT, config.model_path(expert), n_ctx=N_CTX, n_threads=2,
                   scoring_memory_mb=config.engine.scoring_memory_mb) as model:
            for text in texts:
                model.score(join(plain_pieces(context, text, None)))
    else:
        from seqmoe_local.remote import RemoteModel

        model = RemoteModel(remote_expert(url))
        for text in texts:
            model.score(text, context=context)
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))


def measure_child(kind: str, url: str, limit: int) -> float:
    done = subprocess.run([sys.executable, __file__, "--child", kind, "--url", url, "--texts", str(limit)],
                          capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3, help="how many questions to score (default 3)")
    parser.add_argument("--reps", type=int, default=2, help="timed rounds (default 2)")
    parser.add_argument("--child", choices=["local", "remote"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.texts)
        return 0
    if args.texts < 2 or args.reps < 1:
        parser.error("--texts must be at least 2 (the server caches the last prompt) and --reps at least 1")

    from seqmoe_local.engine import Model
    from seqmoe_local.remote import RemoteModel

    config = load_config(use_user_file=False)
    expert = config.profile("demo").experts[EXPERT]
    path = config.model_path(expert)
    if not path.is_file():
        print(f"missing {path}; fetch it with: seqmoe-local pull {EXPERT} --profile demo", file=sys.stderr)
        return 1
    texts = read_texts(args.texts)
    context = [Message("system", SYSTEM)]
    prompts = [join(plain_pieces(context, t, None)) for t in texts]
    started = time.perf_counter()
    server = Server(path)
    try:
        remote = RemoteModel(remote_expert(server.url))
        probe = remote.check_scoring()
        local = Model(EXPERT, path, n_ctx=N_CTX, n_threads=2, scoring_memory_mb=config.engine.scoring_memory_mb)
        tokens = [local.score(p).n_tokens for p in prompts]  # also warms the local model up
        best: dict[str, list[float]] = {k: [float("inf")] * len(texts) for k in ("local", "remote", "eval")}

        def run_local() -> None:
            for i, prompt in enumerate(prompts):
                t0 = time.perf_counter()
                local.score(prompt)
                best["local"][i] = min(best["local"][i], time.perf_counter() - t0)

        def run_remote() -> None:
            for i, text in enumerate(texts):
                t0 = time.perf_counter()
                remote.score(text, context=context)
                best["remote"][i] = min(best["remote"][i], time.perf_counter() - t0)

        def run_eval() -> None:
            for i, prompt in enumerate(prompts):
                best["eval"][i] = min(best["eval"][i], server.eval_only(prompt))

        phases = [run_local, run_remote, run_eval]
        for rep in range(args.reps):
            for phase in phases[rep % 3:] + phases[: rep % 3]:  # rotate: drift hits all three alike
                phase()
        local.close()
        memory = {kind: measure_child(kind, server.url, len(texts)) for kind in ("local", "remote")}
        server_peak = peak_rss_mb(server.process.pid)
    finally:
        server.stop()

    print(f"{EXPERT} (Gemma-3-270M Q4_K_M) local (chunk {local.chunk}) vs llama-cpp-python's server on 127.0.0.1, "
          f"best of {args.reps}; probe: {probe.detail}\n")
    rows = []
    for i, _text in enumerate(texts):
        rows.append([f"question {i + 1}", str(tokens[i]), f"{best['local'][i]:.3f}", f"{best['remote'][i]:.3f}",
                     f"{best['remote'][i] / best['local'][i]:.1f}", f"{best['eval'][i]:.3f}"])
    total = {k: sum(v) for k, v in best.items()}
    rows.append(["all", str(sum(tokens)), f"{total['local']:.3f}", f"{total['remote']:.3f}",
                 f"{total['remote'] / total['local']:.1f}", f"{total['eval']:.3f}"])
    print_table(["text", "tokens", "local s", "remote s", "remote/local", "server eval s"], rows)
    print()
    print_table(["peak RSS of our process", "MB"], [
        ["local scoring", f"{memory['local']:.0f}"],
        ["remote scoring", f"{memory['remote']:.0f}"],
        ["remote / local", f"{memory['remote'] / memory['local']:.2f}"],
        ["(the server process)", f"{server_peak:.0f}"],
    ])
    print(f"\n({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
