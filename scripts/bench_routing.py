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


def time_rescoring(args: argparse.Namespace, sizes: dict[str, int]) -> None:
    """Score ten policies on the table in this process and print how long it took (no generation)."""
    from seqmoe_local.config import RouterConfig, load_config
    from seqmoe_local.evaluation.harness import _gather_all, load_suites
    from seqmoe_local.evaluation.policies import router_policy, score, standard_policies
    from seqmoe_local.evaluation.table import OutcomeTable

    config = load_config()
    profile = config.profile()
    started = time.perf_counter()
    table = OutcomeTable(args.out)
    loaded = time.perf_counter() - started
    policies = standard_policies(profile, config.router)
    extra = [RouterConfig(tau=0.1), RouterConfig(min_relative_gain=0.0), RouterConfig(min_relative_gain=0.4),
             RouterConfig(tau=0.0)]
    policies += [router_policy(f"router-{i}", r, "") for i, r in enumerate(extra)][: 10 - len(policies)]
    for suite, size in sizes.items():
        if not size:
            continue
        (scored,) = _gather_all(config, profile, table, load_suites([suite], gsm8k=args.gsm8k, limit=size), None)
        started = time.perf_counter()
        result = score(policies, scored.data, profile, config.pool.max_resident)
        print(f"{suite}: {len(policies)} policies on {len(result.items)} items scored in "
              f"{time.perf_counter() - started:.3f} s (table read in {loaded:.2f} s)")


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
    parser.add_argument("--gsm8k-from", type=int, default=0, help="items already in the table (resume a run)")
    parser.add_argument("--humaneval-from", type=int, default=0, help="items already in the table (resume a run)")
    parser.add_argument("--log", type=Path, help="append the slices' progress lines here (default: OUT/bench.log)")
    parser.add_argument("--rescore", nargs=2, type=int, metavar=("GSM8K_N", "HUMANEVAL_N"),
                        help="only time re-scoring ten policies on the first N items of each suite, then stop")
    args = parser.parse_args()
    if args.rescore:
        time_rescoring(args, {"gsm8k": args.rescore[0], "humaneval": args.rescore[1]})
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.log or args.out / "bench.log"
    deadline = time.monotonic() + 60 * args.minutes
    sizes = {"gsm8k": args.gsm8k_from, "humaneval": args.humaneval_from}
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
    time_rescoring(args, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
