"""The `seqmoe-local` command: ask, route, pull, models, paths, chat, eval.

This is the boundary where our exceptions become one-line messages and exit
codes; nothing below it prints to the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from . import __version__, paths
from .config import AppConfig, Profile, RouterConfig, load_config
from .errors import SeqmoeError, UsageError
from .pipeline import Event, Finished, Pipeline, Routed, SegmentDone, SegmentStarted, TokenGenerated
from .pool import PoolEvent
from .router import REASON_LABELS, Assignment, Routing

def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="extra models.toml layered over the shipped and user files")
    parser.add_argument("--profile", help="expert profile (default: models.toml's default_profile)")


def _routing_options(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("question", help='the question, or "-" to read it from standard input')
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON record")
    parser.add_argument("--expert", metavar="NAME", help="force one expert for every segment (no routing)")
    parser.add_argument("--disable", metavar="NAME", action="append", default=[], help="leave an expert out")
    parser.add_argument("--tau", type=float, help="stage-1 tolerance: keep experts within (1 + tau) x the best loss")
    parser.add_argument("--scoring", choices=["single_pass", "templated"], help="how segment losses are computed")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqmoe-local",
        description="Answer compound questions with a team of small local experts, routed by language-model loss.",
    )
    parser.add_argument("--version", action="version", version=f"seqmoe-local {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = commands.add_parser("ask", help="route a question and stream the experts' answers")
    _routing_options(ask)
    ask.add_argument("--max-tokens", type=_positive, metavar="N", help="cap new tokens per segment (default: per role)")

    route = commands.add_parser("route", help="show how a question would be routed, without generating")
    _routing_options(route)

    pull = commands.add_parser("pull", help="download the profile's missing experts (verified by sha256)")
    _common(pull)
    pull.add_argument("names", nargs="*", metavar="NAME", help="experts to fetch (default: all of the profile)")
    pull.add_argument("--force", action="store_true", help="download again even if present")

    models = commands.add_parser("models", help="list the profile's experts: present or missing, size, path")
    _common(models)
    models.add_argument("--json", action="store_true")

    commands.add_parser("paths", help="print where config, models and data live")

    doctor = commands.add_parser("doctor", help="show the llama.cpp build in use: AVX2/AVX-512, BLAS, GPU offload")
    doctor.add_argument("--json", action="store_true")

    chat = commands.add_parser("chat", help="open the terminal chat (the default with no command)")
    _common(chat)

    evaluate = commands.add_parser("eval", help="score the router against baselines on a question set")
    _common(evaluate)
    evaluate.add_argument("questions", type=Path, metavar="FILE.jsonl", help="questions, one JSON object per line")
    evaluate.add_argument("--baseline", action="append", metavar="NAME",
                          help='"native" or an expert name (repeatable; default: all)')
    evaluate.add_argument("--limit", type=_positive, metavar="N", help="only the first N questions")
    evaluate.add_argument("--fresh", action="store_true", help="ignore results of an earlier run")
    evaluate.add_argument("--out", type=Path, metavar="DIR", help="where the results and reports go")
    evaluate.add_argument("--max-tokens", type=_positive, metavar="N", help="cap new tokens per segment")
    return parser


# -- helpers -------------------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> AppConfig:
    return load_config(args.config)


def _profile(config: AppConfig, args: argparse.Namespace) -> Profile:
    profile = config.profile(args.profile)
    disabled = getattr(args, "disable", [])
    profile = profile.without(disabled) if disabled else profile
    if getattr(args, "expert", None) and args.expert not in profile.experts:
        why = "it is disabled" if args.expert in disabled else f"profile {profile.name!r} has: {', '.join(profile.experts)}"
        raise UsageError(f"cannot use --expert {args.expert}: {why}")
    return profile


def _question(args: argparse.Namespace) -> str:
    text = sys.stdin.read() if args.question == "-" else args.question
    if not text.strip():
        raise UsageError('the question is empty; usage: seqmoe-local ask "QUESTION" (or "-" to read standard input)')
    return text


def _settings(config: AppConfig, args: argparse.Namespace) -> AppConfig:
    changes = {k: v for k, v in {"tau": args.tau, "scoring": args.scoring}.items() if v is not None}
    if not changes:
        return config
    try:  # validate: model_copy(update=...) would accept --tau nan
        router = RouterConfig.model_validate({**config.router.model_dump(), **changes})
    except ValidationError:
        raise UsageError("--tau must be a number >= 0 (e.g. --tau 0.5)") from None
    return config.model_copy(update={"router": router})


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def describe_assignment(assignment: Assignment) -> str:
    """One line: which expert took a segment and why."""
    return f"{assignment.kind} -> {assignment.expert} ({REASON_LABELS[assignment.reason]}: {assignment.detail})"


def print_routing(routing: Routing, out: TextIO) -> None:
    """A human summary of both routing stages."""
    if routing.stage1:
        losses = ", ".join(f"{e} {v:.3f}" for e, v in sorted(routing.stage1.items(), key=lambda kv: kv[1]))
        out.write(f"stage 1 (bits/byte on the whole question): {losses}; cutoff {routing.cutoff:.3f}")
        out.write(f"; excluded: {', '.join(routing.excluded)}\n" if routing.excluded else "; all active\n")
    for seg in routing.segments:
        out.write(f"  [{seg.kind}] {seg.text}\n")
    for assignment in routing.assignments:
        out.write(f"  {describe_assignment(assignment)}\n")


class _AskView:
    """Streams pipeline events to the terminal: routing and loads on stderr, answers on stdout."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err

    def __call__(self, event: Event) -> None:
        if isinstance(event, PoolEvent):
            verb = "loaded" if event.kind == "load" else "unloaded"
            self.err.write(f"[{verb} {event.expert} in {event.seconds:.2f} s]\n")
        elif isinstance(event, Routed):
            print_routing(event.routing, self.err)
        elif isinstance(event, SegmentStarted):
            a = event.assignment
            self.out.write(f"\n## {a.kind} · {a.expert} ({REASON_LABELS[a.reason]})\n\n")
        elif isinstance(event, TokenGenerated):
            self.out.write(event.text)
        elif isinstance(event, SegmentDone):
            note = " [cut at max tokens]" if event.output.finish_reason == "length" else ""
            self.out.write(f"{note}\n")
        elif isinstance(event, Finished):
            t = event.result.timings
            self.err.write(f"\n[routing {t.routing:.2f} s, loading {t.loading:.2f} s, "
                           f"generation {t.generation:.2f} s, total {t.total:.2f} s]\n")
        self.out.flush()


# -- commands ------------------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _settings(_config(args), args)
    profile = _profile(config, args)
    question = _question(args)
    view = None if args.json else _AskView(out, err)
    pipeline = Pipeline(config, profile, on_event=view)
    try:
        result = pipeline.ask(question, expert=args.expert, max_new_tokens=args.max_tokens)
    finally:
        pipeline.close()
    if args.json:
        out.write(result.model_dump_json(indent=2) + "\n")
    return 0


def cmd_route(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _settings(_config(args), args)
    profile = _profile(config, args)
    pipeline = Pipeline(config, profile)
    try:
        routing = pipeline.route(_question(args), expert=args.expert)
    finally:
        pipeline.close()
    if args.json:
        out.write(routing.model_dump_json(indent=2) + "\n")
    else:
        print_routing(routing, out)
    return 0


def cmd_pull(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .pull import PullEvent, pull_experts

    config = _config(args)
    profile = _profile(config, args)
    unknown = [n for n in args.names if n not in profile.experts]
    if unknown:
        raise UsageError(f"unknown expert(s) {', '.join(unknown)} in profile {profile.name!r}; "
                         f"known: {', '.join(profile.experts)}")
    experts = [profile.experts[n] for n in args.names or profile.experts]
    progress = _Progress(err)

    def on_event(event: PullEvent) -> None:
        progress.update(event)

    results = pull_experts(config, experts, force=args.force, on_event=on_event)
    progress.finish()
    failed = [r for r in results if r.status == "failed"]
    for r in results:
        what = {"downloaded": f"downloaded from {r.source}", "present": "already present"}.get(r.status, "FAILED")
        line = f"{r.expert}: {what}"
        line += f" ({r.bytes / 1e6:,.1f} MB, {r.seconds:.1f} s) -> {r.path}" if r.status != "failed" else f": {r.error}"
        out.write(line + "\n")
    if failed:
        err.write(f"{len(failed)} of {len(results)} expert(s) could not be fetched; fix the cause above and run the "
                  f"same command again (completed downloads are kept, partial ones resume).\n")
        return 6
    return 0


class _Progress:
    """A one-line progress display per file: bytes, rate and ETA (plain lines when not a terminal)."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.tty = err.isatty()
        self.started: dict[str, float] = {}
        self.last_print = 0.0

    def update(self, event) -> None:  # PullEvent; typed loosely so pull is imported lazily
        now = time.monotonic()
        if event.phase == "progress":
            self.started.setdefault(event.expert, now)
            if not self.tty and now - self.last_print < 5 and event.done_bytes != event.total_bytes:
                return
            self.last_print = now
            elapsed = max(now - self.started[event.expert], 1e-6)
            rate = event.done_bytes / elapsed
            total = event.total_bytes or 0
            pct = f"{100 * event.done_bytes / total:5.1f}%" if total else ""
            eta = f"ETA {max(total - event.done_bytes, 0) / rate:4.0f} s" if total and rate > 0 else ""
            line = (f"{event.expert} [{event.source}] {pct} {event.done_bytes / 1e6:8.1f}/{total / 1e6:.1f} MB "
                    f"{rate / 1e6:6.1f} MB/s {eta}")
            self.err.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        elif event.message and event.phase in ("start", "source_failed", "failed"):  # the summary says the rest
            self.err.write(("\r\x1b[K" if self.tty else "") + f"{event.message}\n")
        self.err.flush()

    def finish(self) -> None:
        if self.tty:
            self.err.write("\r\x1b[K")


def cmd_models(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .engine import resolve_gpu_layers
    from .pull import model_statuses

    config = _config(args)
    profile = _profile(config, args)
    rows = []
    for status in model_statuses(config, profile):
        expert = profile.experts[status.name]
        gpu_layers = resolve_gpu_layers(expert.n_gpu_layers)
        rows.append({
            "name": status.name, "roles": status.roles, "present": status.present, "problem": status.problem,
            "size_on_disk": status.size_on_disk, "expected_size": status.expected_size,
            "quantization": status.quantization, "architecture": status.architecture, "chat": expert.chat,
            "gpu_offload": gpu_layers != 0, "n_gpu_layers": gpu_layers, "path": str(status.path),
            "pull_command": status.pull_command,
            "natives": [role for role, name in profile.natives.items() if name == status.name],
        })
    if args.json:
        out.write(json.dumps({"profile": profile.name, "experts": rows}, indent=2) + "\n")
        return 0
    out.write(f"profile {profile.name}: {profile.description}\n")
    for row in rows:
        state = "present" if row["present"] else (row["problem"] or "missing")
        size = f"{(row['size_on_disk'] or row['expected_size'] or 0) / 1e6:,.0f} MB"
        native = f" native for {', '.join(row['natives'])}" if row["natives"] else ""
        out.write(f"  {row['name']:<16} {state:<9} {size:>8}  {row['quantization'] or '?':<7} "
                  f"gpu: {'yes' if row['gpu_offload'] else 'no'}{native}\n      {row['path']}\n")
        if not row["present"]:
            out.write(f"      fetch with: {row['pull_command']}\n")
    return 0


def cmd_paths(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = load_config()
    out.write(f"config file (optional): {paths.user_config_file()}\n")
    out.write(f"models:                 {config.model_path(next(iter(config.experts.values()))).parent}\n")
    out.write(f"data:                   {paths.data_dir()}\n")
    return 0


def cmd_doctor(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .doctor import build_report, render

    report = build_report()
    out.write((report.model_dump_json(indent=2) if args.json else render(report)) + "\n")
    return 0


def cmd_chat(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .tui.app import run

    config = _config(args)
    return run(config, _profile(config, args))


def cmd_eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .evaluation import render_table, run_eval

    config = _config(args)
    report = run_eval(
        config, _profile(config, args), args.questions, baselines=args.baseline, limit=args.limit,
        fresh=args.fresh, out_dir=args.out, max_new_tokens=args.max_tokens,
        progress=lambda line: err.write(line + "\n"),
    )
    out.write(render_table(report) + "\n")
    return 0


COMMANDS = {"ask": cmd_ask, "route": cmd_route, "pull": cmd_pull, "models": cmd_models, "paths": cmd_paths,
            "chat": cmd_chat, "eval": cmd_eval, "doctor": cmd_doctor}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `seqmoe-local` script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv or ["chat"])  # no arguments: open the chat
    try:
        return COMMANDS[args.command](args, sys.stdout, sys.stderr)
    except SeqmoeError as exc:
        sys.stdout.flush()
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stdout.flush()
        sys.stderr.write("\ninterrupted; partial output above is kept\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
