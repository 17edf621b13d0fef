"""Build the outcome table for GSM8K and HumanEval in slices, then score the routing policies.

The long run behind issue 14's figures. Each slice is one `seqmoe-local eval SUITE --limit N`
command (the table is resumable, so each computes only the items it adds), optionally under
`flock LOCK nice -n 10` so other users of a shared machine can interleave short runs between
slices. Slices alternate between the suites until both reach their size or the deadline
passes (checked before each slice). Then every policy is scored from the table alone
(`--score-only`), and the time re-scoring ten policies takes is measured.

    python scripts/bench_routing.py --out /results/outcomes --gsm8k ../shared/data/gsm8k/test.jsonl \
        --minutes 90 --lock /tmp/seqmoe-cpu.lock
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def slice_command(args: argparse.Namespace, suite: str, limit: int, *, score_only: bool = False) -> list[str]:
    command = [sys.executable, "-m", "seqmoe_local.cli", "eval", suite, "--limit", str(limit), "--out", str(args.out)]
    if args.gsm8k:
        command += ["--gsm8k", str(args.gsm8k)]
    if score_only:
        command.append("--score-only")
    if args.lock and not score_only:
        command = ["flock", args.lock, "nice", "-n", "10", *command]
    return command


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the outcome table's directory")
    parser.add_argument("--gsm8k", type=Path, help="GSM8K test.jsonl")
    parser.add_argument("--minutes", type=float, default=90.0, help="start no slice after this many minutes")
    parser.add_argument("--lock", help="run each slice under flock LOCK nice -n 10")
    parser.add_argument("--gsm8k-items", type=int, default=200)
    parser.add_argument("--humaneval-items", type=int, default=100)
    parser.add_argument("--gsm8k-step", type=int, default=5, help="items added per GSM8K slice")
    parser.add_argument("--humaneval-step", type=int, default=3, help="items added per HumanEval slice")
    parser.add_argument("--log", type=Path, help="append the slices' progress lines here (default: OUT/bench.log)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.log or args.out / "bench.log"
    deadline = time.monotonic() + 60 * args.minutes
    sizes = {"gsm8k": 0, "humaneval": 0}
    goals = {"gsm8k": (args.gsm8k_items, args.gsm8k_step), "humaneval": (args.humaneval_items, args.humaneval_step)}
    with open(log_path, "a", encoding="utf-8") as log:
        while time.monotonic() < deadline and any(sizes[s] < goals[s][0] for s in sizes):
            for suite, (goal, step) in goals.items():
                if sizes[suite] >= goal or time.monotonic() >= deadline:
                    continue
                limit = min(sizes[suite] + step, goal)
                started = time.monotonic()
                log.write(f"# slice {suite} --limit {limit} at {time.strftime('%H:%M:%S')}\n")
                log.flush()
                done = subprocess.run(slice_command(args, suite, limit), stdout=subprocess.DEVNULL, stderr=log)
                log.write(f"# slice {suite} --limit {limit} exit {done.returncode} "
                          f"after {time.monotonic() - started:.0f} s\n")
                log.flush()
                if done.returncode != 0:
                    print(f"slice {suite} --limit {limit} failed (exit {done.returncode}); see {log_path}")
                    return done.returncode
                sizes[suite] = limit
    print(f"table filled: gsm8k {sizes['gsm8k']} items, humaneval {sizes['humaneval']} items ({args.out})")
    for suite, size in sizes.items():
        if size:
            started = time.perf_counter()
            report = subprocess.run(slice_command(args, suite, size, score_only=True), capture_output=True, text=True)
            print(report.stdout)
            print(f"[{suite}: scoring from the table, whole command {time.perf_counter() - started:.2f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
