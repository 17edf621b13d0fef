"""Score one answer against its item's `Check`: final numbers, regexes, and code run in the sandbox.

The answer is the pipeline's outputs, one per task segment, as (kind, text) pairs. The solve
text is the solve outputs (the whole answer when there is none); the code text likewise.
Code from models runs only in `seqmoe_local.sandbox`.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from ..sandbox import SandboxLimits, extract_code, run_code, score_code
from .suites import Check

#: how generated code is run: the sandbox's defaults (10 s, 512 MB, no network, writes only in a temp dir)
CODE_LIMITS = SandboxLimits()

_NUMBER = r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?"
# "Answer: 18", "answer is $18.00", "#### 18", "\boxed{18}": the last such marker wins.
_MARKED = re.compile(r"(?:answer\s*(?:is|:|=)?|####|\\boxed\{)\s*\**\s*\$?\s*(" + _NUMBER + ")", re.I)
_ANY = re.compile(_NUMBER)
# "3. Calculate ..." in a numbered list is not an answer: list markers are skipped.
_LIST_MARKER = re.compile(r"^[ \t]*\d+[.)](?:[ \t]|$)", re.M)


@dataclass(frozen=True)
class Verdict:
    """How one answer fared: right or not, each check's result, and one line of detail."""

    correct: bool
    checks: dict[str, bool]
    detail: str


def _text_of(outputs: Sequence[tuple[str, str]], kind: str) -> str:
    of_kind = [text for k, text in outputs if k == kind]
    return "\n\n".join(of_kind or [text for _, text in outputs])


def _to_float(token: str) -> float | None:
    token = token.replace(",", "").rstrip(".")
    try:
        if "/" in token:
            top, bottom = token.split("/", 1)
            return float(top) / float(bottom)
        return float(token)
    except (ValueError, ZeroDivisionError):
        return None


def final_number(text: str) -> float | None:
    """The answer's final number: after the last "Answer:"-style marker, else the last number in the text.

    Without a marker, list numbers and lines ending in "?" are skipped: a base model that
    restates the question (or invents the next one) has not answered it.
    """
    marked = _MARKED.findall(text)
    statements = "\n".join(line for line in text.splitlines() if not line.rstrip().endswith("?"))
    candidates = marked or _ANY.findall(_LIST_MARKER.sub(" ", statements))
    for token in reversed(candidates):
        value = _to_float(token)
        if value is not None:
            return value
    return None


def numbers_match(found: float | None, gold: float) -> bool:
    return found is not None and abs(found - gold) <= 1e-6 * max(1.0, abs(gold))


def humaneval_program(prompt: str, entry_point: str, text: str) -> str:
    """The program to test: the task's prompt completed by the model's answer.

    A code block that defines the function replaces the prompt's stub (the prompt stays
    above it for its imports and helpers); a block without it, or a bare completion (a base
    model continuing the prompt), is read as the function's body.
    """
    code = extract_code(text)
    if code is not None and re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        return prompt + "\n" + code + "\n"
    body = code if code is not None else text
    if body.strip() and not body.startswith((" ", "\t")):
        body = textwrap.indent(body, "    ")
    return prompt + body + "\n"


def recheck_text(check: Check, kinds: Sequence[str], texts: Sequence[str], stored: dict[str, bool]) -> dict[str, bool]:
    """The cheap checks (number, regex) applied again to stored texts; the code check as stored.

    Lets a fix to the number extraction reach every stored answer without generating again.
    """
    results = dict(stored)
    solve_text = _text_of(list(zip(kinds, texts, strict=False)), "solve")
    if check.number is not None:
        results["number"] = numbers_match(final_number(solve_text), check.number)
    if check.regex is not None:
        results["regex"] = re.search(check.regex, solve_text) is not None
    return results


def check_answer(check: Check, outputs: Sequence[tuple[str, str]], limits: SandboxLimits = CODE_LIMITS) -> Verdict:
    """Run every check that `check` sets on the answer (code in the sandbox)."""
    results: dict[str, bool] = {}
    details: list[str] = []
    solve_text = _text_of(outputs, "solve")
    if check.number is not None:
        found = final_number(solve_text)
        results["number"] = numbers_match(found, check.number)
        details.append(f"number {found if found is not None else 'none'} vs {check.number:g}")
    if check.regex is not None:
        results["regex"] = re.search(check.regex, solve_text) is not None
    if check.code_test is not None:
        code_text = _text_of(outputs, "code")
        if check.code_prompt is not None and check.entry_point is not None:
            program = humaneval_program(check.code_prompt, check.entry_point, code_text)
            try:
                ast.parse(program)
            except (SyntaxError, ValueError) as exc:
                results["code"] = False
                details.append(f"code syntax_error: {getattr(exc, 'msg', exc)}")
            else:
                run = run_code(program, check.code_test, limits)
                results["code"] = bool(run.passed)
                details.append(f"code {run.status}" + (f": {run.detail}" if run.detail else ""))
        else:
            scored = score_code(code_text, check.code_test, limits)
            results["code"] = bool(scored.passes)
            details.append(f"code {scored.status}" + (f": {scored.detail}" if scored.detail else ""))
    return Verdict(correct=bool(results) and all(results.values()), checks=results, detail="; ".join(details)[:300])
