"""The `seqmoe-local` command: ask, route, pull, models, paths, chat, eval, calibrate.

This is the boundary where our exceptions become one-line messages and exit
codes; nothing below it prints to the terminal.
"""

from __future__ import annotations

import argparse
import errno
import faulthandler
import json
import os
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO, cast

from pydantic import ValidationError

from . import __version__, paths
from .config import AppConfig, Profile, RemoteExpertConfig, RouterConfig, load_config
from .conversation import Conversation, TurnRecord
from .errors import ConfigError, OutputError, SeqmoeError, UsageError
from .files import write_text_atomic
from .history import History, StoredMessage, export_markdown
from .pipeline import FINISH_NOTES, Event, Finished, Pipeline, Routed, SegmentDone, SegmentStarted, TokenGenerated
from .pool import PoolEvent
from .remote import GENERATION_ONLY_RULE, remote_status
from .router import REASON_LABELS, Assignment, Routing

if TYPE_CHECKING:
    from .pull import PullEvent as _PullEvent  # imported lazily at run time: only pull needs it


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


def _suite_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suites", nargs="+", metavar="SUITE",
                        help="gsm8k, humaneval, composite, sample, or a questions FILE.jsonl")
    parser.add_argument("--limit", type=_positive, metavar="N", help="only the first N items of each suite")
    parser.add_argument("--out", type=Path, metavar="DIR", help="the outcome table's directory (default: DATA/eval)")
    parser.add_argument("--gsm8k", type=Path, metavar="FILE", help="the GSM8K test.jsonl (default: found, see README)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqmoe-local",
        description="Answer compound questions with a team of small local experts, routed by language-model loss.",
    )
    parser.add_argument("--version", action="version", version=f"seqmoe-local {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error inline; allowed after the command too (or SEQMOE_DEBUG=1)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = commands.add_parser("ask", help="route a question and stream the experts' answers")
    _routing_options(ask)
    ask.add_argument("--max-tokens", type=_positive, metavar="N", help="cap new tokens per segment (default: per role)")
    follow = ask.add_mutually_exclusive_group()
    follow.add_argument("-c", "--continue", dest="continue_latest", action="store_true",
                        help="continue the latest conversation (the experts see its earlier turns)")
    follow.add_argument("--conversation", "--cid", type=_positive, metavar="ID",
                        help="continue conversation ID (see: seqmoe-local history)")

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

    history = commands.add_parser("history", help="list, show or export conversations")
    history_commands = history.add_subparsers(dest="history_command", metavar="ACTION")
    listing = history_commands.add_parser("list", help="the latest conversations (the default)")
    listing.add_argument("-n", "--limit", type=_positive, default=20, metavar="N", help="how many (default 20)")
    listing.add_argument("--json", action="store_true")
    show = history_commands.add_parser("show", help="one conversation, every turn and answer")
    show.add_argument("id", type=_positive, nargs="?", metavar="ID", help="conversation id (default: the latest)")
    show.add_argument("--json", action="store_true")
    export = history_commands.add_parser("export", help="a conversation as Markdown")
    export.add_argument("id", type=_positive, nargs="?", metavar="ID", help="conversation id (default: the latest)")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")

    doctor = commands.add_parser("doctor", help="show the llama.cpp build in use: AVX2/AVX-512, BLAS, GPU offload")
    doctor.add_argument("--json", action="store_true")

    chat = commands.add_parser("chat", help="open the terminal chat (the default with no command)")
    _common(chat)

    evaluate = commands.add_parser(
        "eval", help="run every expert on benchmark suites once (resumable), then score routing policies")
    _common(evaluate)
    _suite_options(evaluate)
    evaluate.add_argument("--max-tokens", type=_positive, metavar="N",
                          help="cap new tokens per segment (default: the suite's, e.g. gsm8k 256, humaneval 384)")
    evaluate.add_argument("--score-only", action="store_true",
                          help="generate nothing: score the policies on what the table already holds")

    calibrate = commands.add_parser(
        "calibrate", help="fit tau, the margin and per-expert loss factors on the outcome table; write models.toml")
    _common(calibrate)
    _suite_options(calibrate)
    calibrate.add_argument("--max-tokens", type=_positive, metavar="N", help="the cap the table was made with")
    calibrate.add_argument("--holdout", type=float, default=0.5, metavar="FRACTION",
                           help="share of items kept out of the fit to check it (default 0.5)")
    calibrate.add_argument("--dry-run", action="store_true", help="show the fitted settings without writing them")
    return parser


# -- helpers -------------------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> AppConfig:
    return load_config(args.config)


def _profile(config: AppConfig, args: argparse.Namespace) -> Profile:
    # --profile, --disable and --expert are command-line choices: naming something that does not exist is a
    # usage error (exit 2), not a configuration error; the default profile was checked when the config loaded.
    try:
        profile = config.profile(args.profile)
    except ConfigError as exc:
        if args.profile is None:
            raise
        raise UsageError(f"unknown profile {args.profile!r} (--profile); known profiles: "
                         f"{', '.join(config.profiles)}") from exc
    disabled: list[str] = list(getattr(args, "disable", None) or [])
    unknown = [d for d in disabled if d not in profile.experts]
    if unknown:
        raise UsageError(f"cannot disable {', '.join(unknown)}: not in profile {profile.name!r} "
                         f"(experts: {', '.join(profile.experts)})")
    if disabled and set(profile.experts) <= set(disabled):
        raise UsageError(f"--disable leaves no expert: profile {profile.name!r} has only "
                         f"{', '.join(profile.experts)}; disable fewer")
    profile = profile.without(disabled) if disabled else profile
    if getattr(args, "expert", None) and args.expert not in profile.experts:
        why = ("it is disabled" if args.expert in disabled
               else f"profile {profile.name!r} has: {', '.join(profile.experts)}")
        raise UsageError(f"cannot use --expert {args.expert}: {why}")
    return profile


_CONVERT = "iconv -f LATIN1 -t UTF-8"  # the usual culprit: text saved in a legacy 8-bit encoding


def _question(args: argparse.Namespace) -> str:
    """The question from the argument or, with "-", standard input; it must be UTF-8 text.

    Bytes that are not UTF-8 are refused (exit 2) rather than replaced: the experts would answer a
    question other than the one asked. A leading byte-order mark is dropped.
    """
    if args.question == "-":
        text = _read_stdin()
    else:
        text = args.question  # Python decoded argv with surrogateescape: undecodable bytes are lone surrogates
        bad = _unencodable(text)
        if bad is not None:
            position, what = bad
            raise UsageError(f"the question is not UTF-8 text ({what} at character {position + 1}); "
                             f"convert it, e.g. with {_CONVERT}, or pass it on standard input with \"-\"")
    if not text.strip():
        raise UsageError('the question is empty; usage: seqmoe-local ask "QUESTION" (or "-" to read standard input)')
    return text


def _read_stdin() -> str:
    stdin = sys.stdin
    if stdin is None:
        raise UsageError('standard input is closed; pass the question as an argument: seqmoe-local ask "QUESTION"')
    buffer = getattr(stdin, "buffer", None)
    if buffer is None:  # a text-only stream (an embedding program's); it is checked below like argv
        text = stdin.read()
    else:
        data = buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"standard input is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                             f"{exc.start:,}); convert it first, e.g. {_CONVERT} < FILE | seqmoe-local ask -") from exc
    bad = _unencodable(text)
    if bad is not None:
        raise UsageError(f"standard input is not UTF-8 text ({bad[1]} at character {bad[0] + 1}); "
                         f"convert it first, e.g. {_CONVERT} < FILE | seqmoe-local ask -")
    return text.removeprefix("\ufeff")


def _unencodable(text: str) -> tuple[int, str] | None:
    """(index, description) of the first character UTF-8 cannot encode (a lone surrogate), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        # surrogateescape maps an undecodable byte 0xXY to U+DCXY
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"lone surrogate U+{code:04X}"
        return exc.start, what
    return None


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
            output = event.output
            note = FINISH_NOTES.get(output.finish_reason, "")
            note = f"{note}: {output.error}" if output.error else note
            self.out.write(f" [{note}]\n" if note else "\n")
        elif isinstance(event, Finished):
            result = event.result
            if result.history.left_out:
                self.err.write(f"[{result.history.note()}]\n")
            t = result.timings
            self.err.write(f"\n[routing {t.routing:.2f} s, loading {t.loading:.2f} s, "
                           f"generation {t.generation:.2f} s, total {t.total:.2f} s]\n")
        self.out.flush()


# -- commands ------------------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _settings(_config(args), args)
    profile = _profile(config, args)
    question = _question(args)
    conversation = Conversation.open(continue_latest=args.continue_latest, conversation_id=args.conversation,
                                     profile=profile.name, warn=lambda line: err.write(line + "\n"))
    view = None if args.json else _AskView(out, err)
    pipeline = Pipeline(config, profile, on_event=view)
    started = time.time()
    try:
        result = pipeline.ask(question, history=conversation.exchanges, expert=args.expert,
                              max_new_tokens=args.max_tokens)
    except BaseException:  # Ctrl-C, a broken pipe: the partial turn is kept, marked cancelled
        partial = pipeline.partial_result()
        if partial is not None:
            conversation.record(question, partial, started)
        raise
    finally:
        pipeline.close()
    turn = conversation.record(question, result, started)
    if args.json:
        record = TurnRecord(conversation_id=conversation.id, turn=turn, **dict(result))
        out.write(record.model_dump_json(indent=2) + "\n")
    elif conversation.id is not None:
        err.write(f"[conversation {conversation.id}, turn {turn}; continue it with: seqmoe-local ask -c \"...\"]\n")
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
        _print_generation_only_rule(profile, out)
    return 0


def _print_generation_only_rule(profile: Profile, out: TextIO) -> None:
    names = [n for n, e in profile.experts.items() if isinstance(e, RemoteExpertConfig) and not e.scoring]
    if names:
        out.write(f"  note: {', '.join(names)} {'is' if len(names) == 1 else 'are'} generation-only: "
            f"{GENERATION_ONLY_RULE}\n")


def cmd_pull(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .pull import PullEvent, pull_experts, remote_note

    config = _config(args)
    profile = _profile(config, args)
    unknown = [n for n in args.names if n not in profile.experts]
    if unknown:
        raise UsageError(f"unknown expert(s) {', '.join(unknown)} in profile {profile.name!r}; "
                         f"known: {', '.join(profile.experts)}")
    experts = [profile.experts[n] for n in args.names or profile.experts]
    for expert in experts:  # nothing to download for an expert on a server
        if isinstance(expert, RemoteExpertConfig):
            out.write(remote_note(expert) + "\n")
    experts = [e for e in experts if not isinstance(e, RemoteExpertConfig)]
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

    #: seconds of transfer before a rate is shown: the first events come a megabyte apart, microseconds in
    _RATE_AFTER_S = 1.0

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.tty = err.isatty()
        self.baseline: dict[str, tuple[float, int]] = {}  # expert -> (time, bytes) of its first progress event
        self.last_print = 0.0

    def update(self, event: _PullEvent) -> None:
        """Show one pull event (progress lines are throttled to one per 5 s when not a terminal)."""
        now = time.monotonic()
        if event.phase == "progress":
            # A resumed download starts with the bytes kept from before: the rate counts only what arrives now.
            started, start_bytes = self.baseline.setdefault(event.expert, (now, event.done_bytes))
            if not self.tty and now - self.last_print < 5 and event.done_bytes != event.total_bytes:
                return
            self.last_print = now
            elapsed = now - started
            rate = (event.done_bytes - start_bytes) / elapsed if elapsed >= self._RATE_AFTER_S else None
            total = event.total_bytes or 0
            pct = f"{100 * event.done_bytes / total:5.1f}%" if total else ""
            speed = f"{rate / 1e6:6.1f} MB/s" if rate is not None else "     - MB/s"
            eta = f"ETA {max(total - event.done_bytes, 0) / rate:4.0f} s" if total and rate else ""
            line = (f"{event.expert} [{event.source}] {pct} {event.done_bytes / 1e6:8.1f}/{total / 1e6:.1f} MB "
                    f"{speed} {eta}").rstrip()
            self.err.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        elif event.message and event.phase in ("start", "source_failed", "failed"):  # the summary says the rest
            self.err.write(("\r\x1b[K" if self.tty else "") + f"{event.message}\n")
        self.err.flush()

    def finish(self) -> None:
        """Clear the progress line in a terminal."""
        if self.tty:
            self.err.write("\r\x1b[K")


def cmd_models(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .engine import resolve_gpu_layers
    from .pull import model_statuses

    config = _config(args)
    profile = _profile(config, args)
    rows: list[dict[str, Any]] = []
    statuses = {status.name: status for status in model_statuses(config, profile)}
    for name, expert in profile.experts.items():
        natives = [role for role, native in profile.natives.items() if native == name]
        if isinstance(expert, RemoteExpertConfig):
            remote = remote_status(expert)  # asks the server: reachable, serves the model, can score
            rows.append({
                "name": name, "kind": "remote", "roles": list(expert.roles), "server": remote.server,
                "api": expert.api, "model": expert.model, "chat": expert.chat, "scoring": expert.scoring,
                "reachable": remote.reachable, "serves_model": remote.serves_model, "can_score": remote.can_score,
                "detail": remote.detail, "natives": natives,
            })
            continue
        status = statuses[name]
        gpu_layers = resolve_gpu_layers(expert.n_gpu_layers)
        rows.append({
            "name": status.name, "kind": "local", "roles": status.roles, "present": status.present,
            "problem": status.problem,
            "size_on_disk": status.size_on_disk, "expected_size": status.expected_size,
            "quantization": status.quantization, "architecture": status.architecture, "chat": expert.chat,
            "gpu_offload": gpu_layers != 0, "n_gpu_layers": gpu_layers, "path": str(status.path),
            "pull_command": status.pull_command,
            "natives": natives,
        })
    if args.json:
        out.write(json.dumps({"profile": profile.name, "experts": rows}, indent=2) + "\n")
        return 0
    out.write(f"profile {profile.name}: {profile.description}\n")
    for row in rows:
        native = f" native for {', '.join(row['natives'])}" if row["natives"] else ""
        if row["kind"] == "remote":
            score = "yes" if row["can_score"] else ("generation only" if not row["scoring"] else "no")
            out.write(f"  {row['name']:<16} remote    {row['server']} ({row['api']}, model {row['model']}){native}\n"
                      f"      reachable: {'yes' if row['reachable'] else 'no'}; can score: {score}\n"
                      f"      {row['detail']}\n")
            continue
        state = "present" if row["present"] else (row["problem"] or "missing")
        size = f"{(row['size_on_disk'] or row['expected_size'] or 0) / 1e6:,.0f} MB"
        out.write(f"  {row['name']:<16} {state:<9} {size:>8}  {row['quantization'] or '?':<7} "
                  f"gpu: {'yes' if row['gpu_offload'] else 'no'}{native}\n      {row['path']}\n")
        if not row["present"]:
            out.write(f"      fetch with: {row['pull_command']}\n")
    return 0


def cmd_paths(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # Shows where things are even when the configuration is broken: it is how the user finds the file to fix.
    problem: ConfigError | None = None
    try:
        config = load_config()
        # = model_path's parent
        models = config.models_dir.expanduser() if config.models_dir else paths.default_models_dir()
    except ConfigError as exc:
        problem, models = exc, paths.default_models_dir()
    out.write(f"config file (optional): {paths.user_config_file()}\n")
    out.write(f"models:                 {models}{' (the default; see the warning below)' if problem else ''}\n")
    out.write(f"data:                   {paths.data_dir()}\n")
    out.write(f"logs:                   {log_dir()}\n")
    if problem is not None:
        out.flush()
        err.write(f"warning: the configuration cannot be used: {problem}\n")
    return 0


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    action = args.history_command or "list"
    store = History.open()
    try:
        if action == "list":
            summaries = store.conversations(limit=getattr(args, "limit", 20))
            if getattr(args, "json", False):
                out.write(json.dumps([s.__dict__ for s in summaries], indent=2) + "\n")
            elif not summaries:
                out.write('no conversations yet; start one with: seqmoe-local ask "QUESTION"\n')
            for s in summaries if not getattr(args, "json", False) else []:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.updated_at))
                out.write(f"{s.id:>5}  {when}  {s.messages:>3} turn(s)  [{s.profile}]  {s.title}\n")
            return 0
        conversation_id = args.id or store.latest_conversation()
        if conversation_id is None:
            raise UsageError('there are no conversations yet; start one with: seqmoe-local ask "QUESTION"')
        summary = store.conversation(conversation_id)
        messages = store.messages(conversation_id)
        if action == "show" and args.json:
            record = {**summary.__dict__, "turns": [json.loads(_message_json(m)) for m in messages]}
            out.write(json.dumps(record, indent=2) + "\n")
            return 0
        text = export_markdown(summary, messages)
        if action == "export" and args.output is not None:
            write_text_atomic(args.output, text)
            err.write(f"wrote conversation {conversation_id} to {args.output}\n")
        else:
            out.write(text)
        return 0
    finally:
        store.close()


def _message_json(message: StoredMessage) -> str:
    return json.dumps({
        "id": message.id, "question": message.question, "mode": message.mode, "cancelled": message.cancelled,
        "error": message.error, "created_at": message.created_at, "finished_at": message.finished_at,
        "routing": json.loads(message.routing.model_dump_json()) if message.routing else None,
        "outputs": [o.model_dump() for o in message.outputs],
    })


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

    def progress(line: str) -> None:
        err.write(line + "\n")
        err.flush()

    report = run_eval(
        config, _profile(config, args), args.suites, out_dir=args.out, limit=args.limit,
        max_new_tokens=args.max_tokens, gsm8k=args.gsm8k, generate=not args.score_only, say=progress,
    )
    out.write(render_table(report))
    return 0


def cmd_calibrate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .evaluation import render_table, run_calibrate
    from .evaluation.policies import describe_router

    config = _config(args)
    result = run_calibrate(
        config, _profile(config, args), args.suites, out_dir=args.out, limit=args.limit,
        max_new_tokens=args.max_tokens, gsm8k=args.gsm8k, holdout=args.holdout, write=not args.dry_run,
        say=lambda line: err.write(line + "\n"),
    )
    out.write(render_table(result.report))
    out.write("\nfits on the training items:\n")
    for fit in result.fits:
        out.write(f"  {fit.signal:<10} {fit.train_right}/{fit.train_items} right: {describe_router(fit.settings)}\n")
    out.write(f"\nbefore: {describe_router(result.before)}\nafter:  {describe_router(result.after)} "
              f"({result.chosen.signal} signal)\n")
    if result.written is None:
        out.write("not written (--dry-run); run again without --dry-run to write it\n")
    else:
        out.write(f"written to {result.written}:\n")
        out.write("".join(f"  {line}\n" for line in result.after_text.splitlines() if line.strip()))
        out.write("undo: restore the [router] lines shown before, or delete them to go back to the shipped settings\n")
    return 0


COMMANDS = {"ask": cmd_ask, "route": cmd_route, "pull": cmd_pull, "models": cmd_models, "paths": cmd_paths,
            "chat": cmd_chat, "eval": cmd_eval, "calibrate": cmd_calibrate, "history": cmd_history,
            "doctor": cmd_doctor}


# -- the boundary ---------------------------------------------------------------------------------

#: exit status of a command whose output pipe was closed by the reader (`| head`): 128 + SIGPIPE, as a
#: program killed by the signal would report it, and quietly, as such a program would be
EXIT_PIPE_CLOSED = 141
#: exit status of an unexpected exception (a bug): its traceback goes to a log file
EXIT_INTERNAL = 1


def log_dir() -> Path:
    """Where the run logs go: the traceback of an unexpected error, a fatal signal's stack dump."""
    return paths.cache_dir() / "logs"


class _PipeClosed(Exception):
    """Our reader went away (EPIPE on stdout or stderr)."""


class _Guarded:
    """A text stream whose write failures become our errors, and that writes what its encoding cannot hold.

    EPIPE becomes _PipeClosed (a quiet exit); other OS errors (ENOSPC on `> /dev/full`, EIO) an
    OutputError; characters the stream cannot encode (a lone surrogate from a file name) are replaced.
    """

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream, self._name = stream, name

    def write(self, text: str) -> int:
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                encoding = getattr(self._stream, "encoding", None) or "utf-8"
                return self._stream.write(text.encode(encoding, "replace").decode(encoding))
        except OSError as exc:
            raise self._failure(exc) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._failure(exc) from exc

    def isatty(self) -> bool:
        return self._stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _failure(self, exc: OSError) -> Exception:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            return _PipeClosed()
        return OutputError(f"cannot write to {self._name}: {exc.strerror or exc}; "
                           f"{'free some disk space or ' if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ''}"
                           "send the output somewhere else")


class _RunLog:
    """This run's log file: open from the start so a fatal signal (SIGBUS, SIGSEGV) can dump the stack into it.

    Python cannot recover from such a signal: faulthandler writes the stack of every thread to this file
    and the process still dies. The file is removed when the run ends normally and kept otherwise.
    """

    def __init__(self, argv: list[str]) -> None:
        self.path: Path | None = None
        self._handle: IO[str] | None = None
        self._faulthandler = False
        for directory in (log_dir(), Path(tempfile.gettempdir())):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
                path = directory / f"seqmoe-local-{stamp}-{os.getpid()}.log"
                self._handle = path.open("w", encoding="utf-8", errors="backslashreplace")
                self.path = path
                break
            except OSError:
                continue
        if self._handle is None or self.path is None:
            return
        _prune_logs(self.path.parent)
        self._handle.write(f"seqmoe-local {__version__}, python {sys.version.split()[0]}, pid {os.getpid()}\n"
                           f"command: seqmoe-local {' '.join(argv)}\nstarted: {datetime.now().isoformat()}\n\n")
        self._handle.flush()
        # Only when nobody else asked for it (PYTHONFAULTHANDLER, -X faulthandler, pytest): theirs stays.
        if not faulthandler.is_enabled():
            faulthandler.enable(self._handle)
            self._faulthandler = True

    def write_traceback(self, exc: BaseException) -> Path | None:
        """Append `exc` with its causes; the path of the log, or None when there is none."""
        if self._handle is None:
            return None
        try:
            self._handle.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            self._handle.flush()
        except OSError:
            return None
        return self.path

    def close(self, *, keep: bool) -> None:
        """Stop the fault handler and close the log; delete it unless `keep`."""
        if self._faulthandler:
            faulthandler.disable()
        if self._handle is not None:
            self._handle.close()
            if not keep and self.path is not None:
                self.path.unlink(missing_ok=True)


_KEEP_LOGS = 20


def _prune_logs(directory: Path) -> None:
    """Keep the newest logs only: a run killed outright (SIGKILL, SIGTERM) leaves its log behind."""
    try:
        logs = sorted(directory.glob("seqmoe-local-*.log"), key=lambda p: p.name, reverse=True)
        for old in logs[_KEEP_LOGS - 1:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # someone else's files in a shared temporary directory: not ours to manage


def _say(line: str) -> None:
    """Write one line to stderr, if there is anywhere to write it."""
    try:
        if sys.stderr is not None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's last flush of what is still buffered
    cannot fail again after we reported the failure ("Exception ignored ... BrokenPipeError", status 120)."""
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else -1
    except (OSError, ValueError, AttributeError):
        return
    if fd < 0 or sys.stdout is not sys.__stdout__:
        return  # not the process's own stdout (a test's capture): nothing will be flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `seqmoe-local` script; returns the exit status (the codes are listed in README).

    This is the boundary: our own errors become one line and their exit code; a closed output pipe a
    quiet exit; anything else one line naming a log file with the traceback (``--debug`` prints it too).
    """
    argv = sys.argv[1:] if argv is None else argv
    if sys.stderr is None:  # started with 2>&-: argparse and our messages need somewhere to go
        sys.stderr = open(os.devnull, "w")  # lives as long as the process
    # --debug is accepted anywhere before a "--" (after the command too: `ask --debug ...`).
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end] or bool(os.environ.get("SEQMOE_DEBUG"))
    argv = [a for a in argv[:end] if a != "--debug"] + argv[end:]
    args = build_parser().parse_args(argv)
    if args.command is None:  # no command: open the chat
        args = build_parser().parse_args([*argv, "chat"])
    if sys.stdout is None:  # started with >&-: fd 1 is closed, nothing could be shown
        _say("error: standard output is closed (started with >&-?); run the command with its output going to "
             "a terminal, a file or a pipe")
        return OutputError.exit_code
    out = cast(TextIO, _Guarded(sys.stdout, "standard output"))
    err = cast(TextIO, _Guarded(sys.stderr, "standard error"))
    log = _RunLog(argv)
    keep_log = False
    try:
        status = COMMANDS[args.command](args, out, err)
        out.flush()  # a full disk shows here, while it can still be reported
        return status
    except _PipeClosed:
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    except SeqmoeError as exc:
        if debug:
            _say("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
        if isinstance(exc, OutputError):
            _silence_stdout()
        else:
            _flush_quietly(sys.stdout)
        _say(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _flush_quietly(sys.stdout)
        _say("\ninterrupted; partial output above is kept")
        return 130
    except Exception as exc:  # the last resort: a bug, or a failure nothing above expected
        _flush_quietly(sys.stdout)
        path = log.write_traceback(exc)
        keep_log = path is not None
        if debug:
            _say("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
        where = f"the traceback is in {path}" if path else "no log file could be written"
        hint = "" if debug else "; run again with --debug to see it here"
        _say(f"error: unexpected {type(exc).__name__}: {_first_line(str(exc))} ({where}{hint}; "
             "please report it with that file)")
        return EXIT_INTERNAL
    finally:
        log.close(keep=keep_log)


def _flush_quietly(stream: TextIO | None) -> None:
    """Flush what was printed before an error, so it comes before the message; a failure here changes nothing."""
    try:
        if stream is not None:
            stream.flush()
    except (OSError, ValueError):
        _silence_stdout()


if __name__ == "__main__":
    sys.exit(main())
