"""Split a compound question into ordered, typed parts ("solve", "explain", "code", ... or "other").

The segmenter is pure regex and string code: deterministic, fast, no models. Roles are data:
`segment` takes a cue table (role -> regexes) so a config file can add a role with its own cues.
The built-in knowledge is data per language (`LANGUAGES`: English, German, French, Spanish):
each `Language` holds its cues per role, the words that join clauses, and how a sentence that
details the task before it begins. `DEFAULT_CUES` is all languages' cues merged per role; a
role's `cues` in models.toml replace them for that role. What a correct split is, is written
down in ``seqmoe_local/data/SEGMENTER_CORPUS.md`` (the labelling rules), and measured on the
labelled corpus beside it by ``scripts/bench_segmenter.py``.

Algorithm, in four passes over the query:

1. Mask code. Fenced blocks (```...```, unclosed ones run to the end) and inline `code` are
   replaced, in a same-length copy of the query, by a neutral character, so that nothing inside
   them can end a sentence, start a line, or match a cue. Offsets stay valid.
2. Cut the masked query into units: sentences (., !, ?, CJK 。！？), list items (numbered or
   bulleted lines, and inline "1. ... 2. ..." sequences), lines that start like a new sentence
   (capital letter, list marker, blank line before), and the end of each fenced block.
   Decimals ("1.5"), abbreviations ("e.g.", "i.e.", "vs.", ...), list numbers ("2.") and
   ellipses followed by a lower-case word do not end a sentence.
3. Split units into clauses. Cues are matched on the unit after its list marker and opening
   punctuation ("¿"), so a cue anchored with ^ means "the unit starts with". A clause starts
   where a cue matches right after a joiner (",", ";", a line break, "and", "then", "und",
   "puis", "y", ..., with fillers such as "also" or "can you"), but only if the text before it
   already holds a cue: "sum and product" stays whole, and a leading "Given a list of
   integers, find ..." stays with its task. Neighbouring clauses of the same kind in one
   sentence are one task ("Describe how X works and why"), and an indirect question after a
   request to explain is that request's object, not a clause ("Explain why my bread didn't rise
   and how to fix it next time"; but "Why ..., and how many ...?" are two). A clause's kind is
   its earliest cue match (ties: the longer match, then cue-table order).
   Weak cues (a pattern that begins with ``(?#weak)``, such as "in Python") type a clause
   only when no other cue matches in it (the earliest weak one then), and never start one:
   "In Rust, why does ...?" is explain, "In R, plot a histogram" is code. A leading weak
   phrase ("In Rust,") is never a clause of its own. The built-in table's last resorts are
   weak too: a request to build something technical ("Put together a small Node.js server")
   is code, and any other question that names no task is solve when it holds a number
   ("Will 20 GB last 30 days?") and explain otherwise ("Is it safe for file names with
   spaces?"), so that a question is never left without a task.
4. Assemble segments. Task clauses are never merged, so two solve sentences stay two
   segments. Then, in order:
   - a unit that details the task before it joins that task whatever cues it holds: one
     that opens with a subject and a modal ("It should ...", "Your program must ...",
     "Das Programm soll ...") or "Make it ...", and each list item under a code task that
     ends with a colon ("Write a program that does the following:", "It should check that:");
   - a question typed only by weak cues right after context that gives two or more numbers asks
     for a result worked out from them ("A triangle has sides 5, 12 and 13. Is it a right
     triangle?" is solve), unless it asks for advice ("Should I ...?");
   - a fenced block joins the segment before it (the code a task talks about);
   - a unit with no cue is context ("other"): it joins a neighbouring "other" segment, and it
     continues the task before it when it starts like a detail of it (an elaboration: "The
     tables are ...", "Use only the standard library.", "I weigh 70 kg."); otherwise
     ("Thanks!", "Suppose ...") it is an "other" segment of its own. A fenced block that
     opens the query is data: it starts an "other" segment, which following context joins.

   - a request that no cue types still gets one task, its kind read from what it is about
     (code artefacts and language names, also plural and German/French/Spanish forms: code;
     numbers, formulas, maths objects: solve; anything else: explain). A request is a statement
     of need with an object ("Need a Python script ...", "I need a cron expression ...", "Ich
     brauche ein ...", "J'ai besoin d'un ...", "Necesito una ..."), a polite request ("Could you
     knock together a ...?", which the question fallback would read as explain), or a clitic
     imperative ("Escríbeme ...", "Code-moi ..."); never a unit that continues the task before it;
   - a question typed solve right after a fenced block that asks what the code prints, returns,
     evaluates to or holds ("What value does this evaluate to?") is explain, unless it asks for
     its cost or a probability ("What is the time complexity of this?");
   - a yes/no question that only the question fallback types, right after a solve task, is
     solve ("Prove X. Does it still hold if G is not connected?"), unless it asks for advice.
   Round 8 added rules about the shape of a unit rather than its phrases:
   - a headline, a request without a verb, is a task: a noun phrase naming a deliverable (a
     code noun in any of the four languages, any noun after a programming language's name, a
     formula, a proof, a summary), then what it is for ("Python function to flatten a list,
     please.", "Dockerfile for a Node app", "Bash script: rename ...", "Regex for UK
     postcodes?"). Its head noun types it, and the verbs of its complement describe the
     deliverable, so they do not type it ("Bash one-liner to count lines?" is code), unless a
     cue begins before the head ("Compare Python and Java for ...", "Prueba que ..."). Followed
     by a main verb it is a statement's subject ("Regex for emails is hard."), unless the unit
     asks. One of the same kind right after a task is a detail of it ("Write a SQL query ...
     Schema: ...");
   - an elliptical question (one that opens with no auxiliary, wh-word or pronoun subject, and
     that only the question fallback types) is typed by its content ("Chance that both are
     aces?", "And the derivative of that?"), unless it weighs a choice ("Python or Go for ...?");
     a yes/no question about mathematics is solve; advice stays prose, numbers or not;
   - a statement of need by someone else ("Our team needs a formula ...", "Mein Chef braucht
     ein Skript ...") is a request like "I need ...";
   - list items without a verb after context are parts of their own: a maths quantity ("(a) the
     variance"), a bare expression ("7 x 8") or a where/when/whether item about maths is solve,
     another indirect question explain; items that read as program steps stay context;
   - in a question about code (a fenced block, or a programming language or library named),
     being shown how ("Show how to restructure the loop", "How would I copy the list
     instead?") or changing "it"/"this" ("Turn this into a list comprehension") asks for code;
     An example in a language is code, also as an extra ("..., with a short SQL example"), and
     in a question about code an imperative on "it" ("Reshape it to 3x2.") changes the code;
   - a first-person statement that only weak cues type ("I have a list of numbers in Python.")
     is context, and advice ("Is it normal ...?", "ideas for a 10th birthday") is prose
     whatever numbers it holds.
   Round 9 added, in the same spirit:
   - a what-question about a definite thing right after givens with a number asks for a quantity
     worked out from them when it refers back to them or names a quantity ("A rectangle's perimeter
     is 64 cm. What are its dimensions?", "Quelles sont ses dimensions ?"), not a way, a tool or a
     fact looked up ("What's the greenest way to commute?", "What is the oven temperature ...?");
   - whether a mathematical statement or method still holds is settled by proof, in the four
     languages ("Does the result still hold if ...?", "Gilt die Aussage auch für ...?", "Le
     résultat reste-t-il vrai ...?", "¿Sigue siendo cierto el resultado ...?");
   - running an algorithm by hand on data is solve ("Trace Kruskal's algorithm on ...", "Verfolge
     den Algorithmus ...", "Déroule l'algorithme ...", "Aplica el algoritmo ..."); a bare verb of
     changing code, alone or before "please", is code ("Fix please.", "Korrigiere das bitte.");
     a clitic or redo imperative ("Refais-le sans ...", "Hazlo sin ...", "Mach das ohne ...") is
     typed by its content, with code words in German, French and Spanish;
   - a sentence that opens with the language its work is done in keeps every step in that code
     ("Using pandas, group ... and compute ..."), but a language named before a question only
     qualifies it ("In Java, when is a finally block skipped?" is explain); after a code block, a
     how-do-I clause asking for a change or a computation is code ("Why do I get NA, and how do I
     get the mean of the rest?"); how to fix a fault is code and how long one should is advice in
     German, French and Spanish too.
   Round 10, tuned on eighteen more batches written blind by other hands, added in the same spirit:
   - chat spellings are written out before the cues ("whats", "dont", "u", "pls", `_CASUAL`);
   - a question is about code also when it names a tool or a qualified name (`std::`, systemd, rustc,
     a `...Error`), holds inline code, or names a language with a version ("C++17:"); there, work
     written or built, "what's the fix", "what do I change", "how should it be written", an example
     asked for, and how to fix a fault in French, German and Spanish ask for code;
   - headlines may carry a participle ("bash script listing ..."), follow a topic ("Shell: a script
     that ...") or end in a colon that the spec follows ("shell one-liner pls: count ..."), and may
     name a quantity ("Probability of ...", "HCF of ..."); a label ("Part C:"), a topic before a
     question ("Kotlin question: what's ...?") and a declined deliverable ("No code, just the idea.")
     are not headlines; a comparison without a verb ("functor vs applicative") is explain;
   - verbless items under a lead-in that name code ("- the command to undo ...") are code, maths
     notation ("(a) P(X = 2)") is solve, and "(a) ... (b) ..." on one line are items;
   - a request for code keeps what its code computes ("a query listing ... and how many crates they
     shipped"); a unit naming only a language after a solve task makes it code ("O(n) pls, python");
   - German, French and Spanish cues run only on a query with a mark of their language
     (`_languages`): 1.2x faster, and an English "Union-find" is no longer read as German "finde".
   Round 11, tuned on thirty-seven more blind batches, added in the same spirit:
   - run-on chat joins tasks with "also", "plus", "please" and a dash, and writes "calc", "func",
     "thru", "the diff between", "q es", "c quoi"; a polite gerund reads as the imperative it asks
     for ("Would you mind writing a script ...");
   - a deliverable named as a noun after "along with", "as well as", "plus", "dazu", "ainsi que",
     "así como" is a task of its kind ("an explanation of ...", "a few words on why ...", "a proof
     that ...", "a note on its complexity", "a corrected version"), and a need stated first ("I need
     the probability of ..., plus ...") is a task of its own, typed by its content
     (`_need_then_task`); what the code asked for does ("make it add a tip and round ...", "una
     función que convierta ... y redondee ...") stays that code (`_steps_of_the_code`);
   - a list of requirements before the request ("Requirements for the tool:") asks for nothing, and
     "(1) ... (2) ..." on one line are items; a notion named as an item ("geometric meaning of the
     derivative") is prose, a cost or calculus written out is solve;
   - a wh-question set in a language ("What does `volatile` guarantee in Java, and ...?") is prose;
     a doubt voiced ("Are you sure?") and the same task again on other givens ("Same idea for a
     cone, ...") name no kind of task; R and C as rings or sets are no languages.
   Verbs of German, French and Spanish are listed once as lemmas (`_de_verbs`, `_fr_verbs`,
   `_es_verbs`) and matched in each imperative form, the infinitive of written instructions
   ("Montrer qu'...", "Demostrar que"), with clitics ("explícamelo") and separable particles
   ("Fasse ... zusammen"); a form after an article is a noun ("un intérprete").
   These guesses use only the built-in roles (solve, explain, code); a cue table from
   models.toml without them makes none.

Fallback: when nothing in the query asks for anything by its cues, the last unit shaped like an
imperative (a first word that no determiner, pronoun, auxiliary, preposition or conjunction is,
followed by an object: "Express 0.45 as a fraction.", "Turn it into an iterative version.",
"Mach daraus eine Klasse.") is the request, if its content says code or solve; one about
neither ("Keep it short.") names no kind of task. Otherwise (an unsupported language,
gibberish, context, thanks) every unit is context, so the query comes back as one "other"
segment covering the whole stripped query. When any cue matches, the units it matched in
become task segments of that kind: the best guess there is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

from seqmoe_local import segment_model

__all__ = ["DEFAULT_CUES", "LANGUAGES", "OTHER", "WEAK", "Language", "Segment", "merge_cues", "segment"]

OTHER = "other"
# A cue starting with this regex comment is weak: it types a clause only when no other cue
# matches in it (see the module docstring). A comment keeps the cue a plain regex string, so
# models.toml can use the marker too.
WEAK = "(?#weak)"


@dataclass(frozen=True)
class Segment:
    """One typed part of a query; start/end are character offsets into the original query."""

    kind: str  # a role name from the cue table ("solve", "explain", "code", ...) or "other"
    text: str  # == query[start:end]
    start: int
    end: int


@dataclass(frozen=True)
class Language:
    """What the segmenter knows about one language; every field but `cues` is a regex alternation."""

    cues: Mapping[str, tuple[str, ...]]  # role -> cue regexes, matched case-insensitively
    joiners: str  # words after which a new clause may start ("and", "then")
    fillers: str  # words that may sit between a joiner and the next cue ("also", "please")
    elaboration: str  # how a unit that details the task before it starts ("It should")
    continuation: str  # how a context unit that continues the task before it starts ("Use", "The")


# A cue table compiled: (role, pattern, weak) in table order.
_Table = tuple[tuple[str, re.Pattern[str], bool], ...]

# Programming languages and query languages by name. R, C and Go only in capitals (Go also a verb),
# and never after a one-letter word ("x in R", "for all z in C" are maths).
_LANGS = (
    r"(?:python|java(?:script)?|typescript|js|cpp|(?-i:TS)|c\+\+|c#|rust|golang|ruby|sql|bash|haskell|kotlin|swift"
    r"|php|perl|scala|julia|lua|matlab|postgres(?:ql)?|mysql|sqlite|powershell|dart|elixir|erlang|clojure|fortran"
    r"|cobol|zig|ocaml|f#|groovy|objective-c|solidity|verilog|vhdl|prolog|racket|vba|html|css|zsh"
    # Libraries and frameworks stand for their language ("plot it in matplotlib", "using pandas").
    r"|numpy|pandas|matplotlib|scipy|scikit-learn|sklearn|pytorch|tensorflow|keras|react|vue|angular|django|flask"
    r"|fastapi|jquery|ggplot2|dplyr|tidyverse|sympy|polars|seaborn|asyncio|node(?:\.?js)?|swiftui|uikit"
    r"|jetpack\s+compose"
    r"|laravel|rails|svelte|next\.js|nextjs|cuda|opencl"
    # (Not a ring, a field or a set named R or C: "ring R has ...", "r ∈ R", "ab = 0 in R implies ...".)
    r"|(?<!ring\s)(?<!field\s)(?<!group\s)(?<!∈\s)(?<!over\s)(?-i:R|C|Go)(?:['’]s)?(?![\w+#^'’])"
    r"(?!\s+(?:has|is|implies|be|itself|satisf\w*|are)\b))"
)
_IN_LANG = (
    rf"(?<!\b[^\W\d]\s)\b(?:in|using|with|mit|en|con|avec)\s+{_LANGS}(?![\w+#])"
    # (Not the real line: "Is it dense in R?", "closed in R^2".)
    r"(?<!dense\sin\sR)(?<!open\sin\sR)(?<!closed\sin\sR)(?<!bounded\sin\sR)(?<!compact\sin\sR)(?<!complete\sin\sR)"
    r"(?<!continuous\sin\sR)(?<!convergent\sin\sR)(?<!connected\sin\sR)(?!\^|²|³|\s*\^)"
)
# A clause ends at a comma, a semicolon or a joining word (commas inside parentheses aside): a
# pattern spanning "from here to the language name" must not reach into the next clause
# ("Find x, then write it in Python").
# ("y" before a sign is a variable, not Spanish "and": "Plot y = x^2 ... using matplotlib".)
_SAME_CLAUSE = r"(?:\([^()\n]*\)|(?!\b(?:and|then|und|dann|et|puis|y(?!\s*[=<>+*/^-])|luego)\b)[^.?!\n,;()])*?"
# Something to compute in a follow-up ("What about 7 * 8?", "And for n = 10?").
# (Not a digit that names a thing: "the 3D case", "10th grade", "4K video".)
_MATHY = _SAME_CLAUSE + r"(?:\d(?!\d*(?:d|k|st|nd|rd|th)\b)|[=+*/^])"
_REST_OF_CLAUSE = _SAME_CLAUSE[:-1]  # greedy: up to the clause's end

# What a number may be written as: "0.625 as a simplified fraction", "turn 45 into binary".
_NOTATION = (
    r"(?:(?:an?\s+)?(?:simplified\s+|reduced\s+|mixed\s+|improper\s+|decimal\s+|common\s+)?(?:fraction|percent(?:age)?"
    r"|decimal|ratio|scientific\s+notation|binary|hex(?:adecimal)?|octal|base\s+\d+|roman\s+numerals?)\b|an?\s+%|%)"
)

# What "write a ..." must be about to be code.
# Nouns in the singular or the plural ("the CREATE INDEX statements", "two one-liners").
_CODE_NOUN = (
    r"(?:code|(?:function|program|script|(?<!greedy\s)(?<!efficient\s)(?<!numerical\s)method|snippet"
    r"|regex(?:e)?|regular\s+expression|implementation"
    r"|(?<!sentence\s)(?<!paragraph\s)(?<!word\s)(?<!words\s)(?<!short\s)(?<!shorter\s)(?<!simple\s)(?<!simpler\s)version"
    r"|unit\s+test|test|one-liner|kernel|shader"
    r"|(?:dp|dynamic[- ]programming|brute[- ]force|memoi[sz]ed|recursive|iterative)\s+solution"
    r"|decorator|dataclass|statement|struct|module|component|dockerfile"
    r"|endpoint|(?:ci\s+|github\s+actions?\s+)?workflow|(?:makefile|make)\s+target|(?:excel|spreadsheet"
    r"|sheets)\s+formula|cron\s+(?:job|expression|entry|line)"
    r"|(?:shell\s+|git\s+|terminal\s+)?command|interface|schema|enum|trait|migration|playbook|manifest|stylesheet"
    r"|(?:config|configuration|yaml|json|compose|docker-compose)\s+file|(?:docker-)?compose\.ya?ml"
    r"|docker-compose|pipeline|stored\s+procedure|hook|unit\s+tests|(?:list|dict|set)\s+comprehension"
    r"|generator\s+expression|lambda|routine|subroutine|helper|route|handler|middleware|controller"
    r"|(?:test\s+)?suite|pytest|unittest|junit\s+test|jest\s+test|crontab(?:\s+line)?"
    rf"|command\s+line|makefile|macro|class(?:e)?|\.?gitignore|\.?dockerignore|alias)s?|quer(?:y|ies)"
    rf"|{_LANGS})(?![\w+#])"
    r"(?!\s+(?:lengths?|words?|books?|points?|of\s+conduct)\b)"
)

# Technical artefacts one builds with code (with "table", "web" and "files" a build request is code too).
_TECH = (
    r"(?:servers?|endpoints?|apis?|apps?|commands?|databases?|websites?|http|json|csv|xml|yaml|cli|bots?|docker"
    rf"|containers?|librar(?:y|ies)|packages?|plugins?|frontend|backend|services?|node\.js|flask|django|react|{_LANGS})"
)

# Verb forms from lemmas, so that a language's cue table lists verbs once and matches each of their
# imperative forms (familiar, polite, the infinitive of written instructions) with clitics, rather
# than the one form a question happened to use. Each returns one regex over whole words.


# A form after an article or a possessive is a noun ("un intérprete", "la dérive", "el detalle").
# (One look-behind per word length: Python's look-behinds are fixed-width.)
_NOT_AFTER_ARTICLE = (
    r"(?<!\bl')(?<!\bl’)(?<!\b(?:un|le|la|du|de|ce|ma|sa|el|al|su|mi|tu)\s)"
    r"(?<!\b(?:une|les|des|mon|son|una|los|las|del)\s)(?<!\b(?:este|esta)\s)(?<!\bcette\s)"
)


def _accent_free(form: str) -> str:
    """A regex for `form` in which every vowel may carry an accent or not ("calcúlalo", "explicame")."""
    classes = {"a": "[aá]", "e": "[eéè]", "i": "[ií]", "o": "[oó]", "u": "[uúü]"}
    out = []
    for ch in form:
        base = {"á": "a", "é": "e", "è": "e", "í": "i", "ó": "o", "ú": "u", "ü": "u"}.get(ch, ch)
        out.append(classes.get(base, re.escape(ch)))
    return "".join(out)


def _spelled_forms(lemma: str) -> list[str]:
    """The forms of an irregular verb written out: "résoudre=résous|résolvez" -> the infinitive and each form."""
    infinitive, spelled = lemma.split("=")
    return [_accent_free(f) for f in (infinitive, *spelled.split("|"))]


def _verb_forms(forms: list[str], clitics: str) -> str:
    """One regex over whole words for any of `forms`, not after an article, then `clitics`."""
    alternation = "|".join(forms)
    # (The look-behinds only where a form starts: they are the costly part.)
    return rf"\b(?={alternation}){_NOT_AFTER_ARTICLE}(?:{alternation}){clitics}\b(?![(-])"


def _fr_verbs(*lemmas: str) -> str:
    """French: tu and vous imperatives and the infinitive, with a clitic ("calcule", "calculez", "calculer",
    "explique-moi"). A lemma is an -er verb ("calculer"), an -ir verb of the second group ("établir/is"),
    or its forms spelled out ("résoudre=résous|résolvez").
    """
    forms: list[str] = []
    for lemma in lemmas:
        if "=" in lemma:
            forms += _spelled_forms(lemma)
        elif lemma.endswith("/is"):
            forms.append(_accent_free(lemma[:-5]) + "(?:issons|issez|is|ir)")
        else:
            forms.append(_accent_free(lemma[:-2]) + "(?:er|es|ez|ons|e)")
    return _verb_forms(forms, r"(?:-(?:moi|nous|le|la|les|lui|leur|en|y))*")


def _es_verbs(*lemmas: str) -> str:
    """Spanish: tú and usted imperatives and the infinitive, with clitics ("calcula", "calcule", "calcular",
    "calcúlalo", "explícamelo"). A stem that changes in the imperative follows a colon
    ("demostrar:demuestr"); irregular forms are spelled out after "=" ("deducir=deduce|deduzca").
    """
    forms: list[str] = []
    for lemma in lemmas:
        if "=" in lemma:
            forms += _spelled_forms(lemma)
            continue
        infinitive, _, imperative_stem = lemma.partition(":")
        stem = _accent_free(infinitive[:-2])
        endings = "(?:ar|ad|a|e)" if infinitive.endswith("ar") else f"(?:{infinitive[-2:]}|ed|id|e|a)"
        forms.append(stem + endings)
        if imperative_stem:
            forms.append(_accent_free(imperative_stem) + "[aeáé]")
    return _verb_forms(forms, r"(?:me|nos|te|le|les|lo|la|los|las|se)?(?:lo|la|los|las)?")


def _de_verbs(*lemmas: str) -> str:
    """German: du and Sie imperatives ("berechne", "berechnen Sie"). A separable verb is written with a
    "+" after its prefix ("zusammen+fassen"): its particle closes the clause ("Fasse den Text zusammen").
    """
    simple: list[str] = []
    separable: list[str] = []
    for lemma in lemmas:
        prefix, _, verb = lemma.rpartition("+")
        stem = verb[:-1] if verb.endswith(("eln", "ern")) else verb[:-2]
        forms = rf"(?:{stem}e?|{verb}\s+sie)"
        if prefix:
            separable.append(rf"{forms}\b[^.?!\n]{{0,60}}?\b{prefix}\b")
        else:
            simple.append(forms)
    parts = ([rf"(?:{'|'.join(simple)})\b(?![(-])"] if simple else []) + separable
    # The infinitive after a modal: "Könnten Sie mir beschreiben, ...", "Kannst du kurz erklären, ...".
    infinitives = [lemma.replace("+", "") for lemma in lemmas]
    parts.append(
        r"(?:kannst|könntest|können|könnten|würdest|würden|magst|möchtest)\s+(?:du|sie)\s+(?:(?:mir|uns|bitte"
        r"|noch|kurz|mal"
        rf"|einmal|genauer)\s+)*(?:{'|'.join(infinitives)})\b"
    )
    return rf"\b(?:{'|'.join(parts)})"


# Verbs are written in their base (imperative) form on purpose: "a function that computes x"
# describes code, it is not a new "compute" task. A verb followed by "(" is code ("count(*)").
ENGLISH = Language(
    cues={
        "solve": (
            # "Correct the count.", "Redo the calculation": the working of a result put right.
            r"\b(?:correct|fix|redo)\s+(?:the|your|my|this|that)\s+(?:\w+\s+)?(?:count|counting|calculation"
            r"|computation|proof"
            r"|derivation|sum|arithmetic|answer|result|math|maths|estimate)\b",
            # (Not "union find", a name; nor a verb ending a question: "what problem does weak_ptr solve?")
            r"(?<!-)(?<!\bunion\s)\b(?:solve(?!\s*\?)|calculate|compute|find|determine|evaluate|simplify|prove"
            r"|derive|deduce|estimate"
            r"|factori[sz]e|factor|integrate|differentiate|convert|count|work\s+out|figure\s+out|expand"
            r"|construct|devise|analy[sz]e|predict|classify|minimi[sz]e|maximi[sz]e|approximate)\b(?![-(])",
            # Verbs that are nouns too ("the design of", "each round") only with an object.
            r"\bdesign(?:\s+and\s+analy[sz]e)?\s+(?:an?|the|some)\b",
            r"\bround\s+(?:(?:off|up|down)\b|[-\d.,]+|(?:the|this|each|all|it|your)\b)",
            # ("Show by induction that ...", "Show rigorously that ...": the method may come first.)
            r"\b(?:show|demonstrate)\s+(?:(?:by|using|via)\s+(?:[\w-]+\s+){1,4}?|formally\s+|rigorously\s+|directly\s+"
            r"|carefully\s+)?that\b",
            # "Show it is bounded", "Show every tree is bipartite": "that" left out.
            r"\bshow\s+(?:it|they|this|these|(?:the|every|each|any|all)\s+(?:[\w-]+\s+){0,2}[\w-]+"
            r"|[a-z](?:_\w+)?)\s+(?:is|are"
            r"|has|have|must|cannot|can|converges?|diverges?|holds?|exists?|satisf(?:y|ies)|contains?|lies"
            r"|admits|attains)\b",
            r"\bshow\s+(?:that\s+)?(?:[\w-]+\s+){1,3}?(?:is|are)\s+(?:np-hard|np-complete|undecidable|decidable|regular"
            r"|context-free|countable|uncountable|compact|connected|bounded|irrational|injective|surjective"
            r"|bijective)\b",
            # "Show eigenvectors to distinct eigenvalues of A are perpendicular", "Show I - T has a bounded inverse".
            r"^(?:and\s+|then\s+|now\s+)?show\s+(?!(?:me|us|how|your|all|my|our|what|why|where|which|when|who"
            r"|each|every|an?"
            r"|some|one|the\s+(?:work|working|steps?|output|result|code|calculation|table))\b)"
            r"(?:(?!\b(?:where|which|that|how|when|why|who)\b)[^.?!\n,;:]){1,60}?\s(?:is|are|has|have|must"
            r"|cannot|can't|converges?|diverges?|holds?|exists?|commutes?|coincides?|agrees?|lies|admits?"
            r"|attains?|satisf(?:y|ies)"
            r"|divides?|equals?|fixes|maps|sends|preserves|defines|induces|generates|spans|separates|determines"
            r"|implies|possesses)\b",
            # "Show sqrt2 + sqrt3 cant be rational": a claim about a formula, "that" left out.
            r"\bshow\s+(?=[^.?!\n]{0,40}?[\d^√=<>+*/])(?!(?:me|us|how|your|all|the|my|our|this|that)\b)"
            r"[^.?!\n]{0,40}?\b(?:is|are|isn't|aren't|can't|cannot|can\s+never|must|divides|converges|diverges"
            r"|holds)\b",
            # "0.625 as a simplified fraction pls": a number to write in another form.
            r"^\s*[-+]?(?:\d[\d,]*)?\.?\d+\s*%?\s+(?:as|in|to|into)\s+" + _NOTATION,
            # "turn that into a % and keep one digit after the point": the result rewritten.
            r"\b(?:turn|convert|change|make|put|write|express)\s+(?:that|it|this|the\s+(?:result|answer|number"
            r"|value|total))\s+"
            r"(?:as|in|to|into)\s+" + _NOTATION,
            # "turn 0.625 into a fraction in lowest terms"
            r"\b(?:turn|change|make|put|write|express)\s+[-+]?(?:\d[\d,]*)?\.?\d+(?:/\d+)?\s*%?\s+(?:as|in|to|into)\s+"
            + _NOTATION,
            # "split a 187.40 bill between 4 ppl": a share to work out.
            r"\b(?:split|divide|share)\s+(?:an?\s+|the\s+|my\s+|our\s+"
            r"|this\s+)?(?:[$€£]?\d[\d.,]*\s*[$€£]?\s+)?(?:[\w-]+\s+){0,2}?"
            r"(?:bill|check|cost|costs|rent|total|amount|sum|budget|pizza|cake|profit|prize|tip|fee|fees"
            r"|expenses|winnings"
            r"|inheritance)\s+(?:between|among|amongst|by|into|evenly|equally|fairly|in|\d+\s+ways)\b",
            # "given an int array get the LIS length in n log n time": a quantity to work out.
            r"(?<!\bto\s)(?<!\bi\s)(?<!\bwe\s)(?<!\byou\s)(?<!\bcan\s)(?<!\bhow\s)\bget\s+the\s+(?:[\w-]+\s+){0,2}?(?:length|count"
            r"|number|sum|total|maximum|minimum|max|min|size|probability|area|volume|distance|median|mean|average)"
            r"\b(?!\s+(?:of|from|in)\s+(?:a|the|my|this)\s+(?:list|array|string|column|table|file|dict"
            r"|dataframe|vector)\b)",
            # "Give a 2x2 example.", "Construct a counterexample": an object with a property, to come up with.
            r"\b(?:give|find|construct|produce|exhibit)\s+(?:me\s+)?(?:an?|one)\s+(?:explicit\s+|concrete\s+"
            r"|simple\s+|small\s+)?"
            r"(?:\d+\s*[x×]\s*\d+\s+(?:example|matrix|matrices|counter-?example)|counter-?example)\b",
            # "Describe the algorithm and prove its correctness.": the design asked for, with its proof.
            r"\bdescribe\s+(?:the|your|such\s+an?)\s+(?:\w+\s+)?(?:algorithm|procedure|construction"
            r"|data\s+structure|method"
            r"|approach|strategy|scheme)\s+and\s+"
            r"(?:prove|analy[sz]e|show|bound|justify)\b",
            # "is it linear or linearithmic in the worst case?": a growth rate settled.
            r"\b(?:is|are)\s+(?:it|this|that|they|these)\s+(?:really\s+|actually\s+)?(?:linear|quadratic|cubic"
            r"|logarithmic"
            r"|linearithmic|polynomial|exponential|sublinear|superlinear|constant[- ]time|O\()",
            # "decide in linear time whether it is bipartite": a decision procedure to design.
            r"\bdecide\s+(?:in\s+(?:linear|polynomial|quadratic|logarithmic|constant|sublinear"
            r"|O\([^)]*\))\s+time|efficiently"
            r"|algorithmically)\s+(?:whether|if)\b",
            # "..., and is there a closed form that avoids the loop?": a formula to find.
            r"\b(?:is\s+there|does\s+(?:it|this|that)\s+have|find|give)\s+(?:a|an)\s+"
            r"(?:closed[- ]form|explicit\s+formula"
            r"|formula\s+for)\b",
            # "bake at 180°C; what's that in Fahrenheit?": a quantity in other units.
            r"\bwhat(?:'s|\s+is|\s+are)\s+(?:that|this|it|those|these)\s+in\s+(?:degrees\s+)?(?:fahrenheit"
            r"|celsius|kelvin|miles"
            r"|km|kilomet(?:re|er)s|met(?:re|er)s|feet|inches|cm|centimet(?:re|er)s|pounds|lbs|kg|kilos"
            r"|kilograms|ounces|oz"
            r"|grams|lit(?:re|er)s|gallons|cups|ml|dollars|euros|yen|hours|minutes|seconds|days|weeks|months"
            r"|years|binary"
            r"|hex(?:adecimal)?|decimal|percent|mph|km/h)\b",
            # "What does each of the other four pay?": a share worked out.
            r"\bwhat\s+(?:does|do|did|will|would|should)\s+(?:each|every\s*one|everybody|each\s+person"
            r"|each\s+of\s+(?:us|them|the\s+"
            r"(?:\w+\s+){0,3}?\w+))\s+(?:pay|owe|get|receive|earn|save|spend|contribute|chip\s+in|put\s+in)\b",
            # "(i) Order 3/4, 5/8, 2/3 and 7/12 from smallest to largest.": numbers put in order.
            r"^(?:order|sort|rank|arrange)\s+(?=[-\d(])",
            # A result named as a deliverable: "I'd love a proof via Cantor's diagonal trick that ...", "plus a note on
            # its time complexity", "I'd love to see the solution of 2x^2 - 7x + 3 = 0".
            r"\b(?:an?|some)\s+(?:short\s+|brief\s+|quick\s+|formal\s+|rigorous\s+|full\s+|clean\s+)?(?:proof"
            r"|derivation)"
            r"\s+(?:of|that|via|by|using|for|showing)\b",
            r"\ba\s+(?:short\s+|brief\s+|quick\s+)?(?:note|word|comment)\s+on\s+(?:its|the|their)\s+(?:time\s+"
            r"|space\s+)?"
            r"(?:complexity|running\s+time|runtime|cost|big[- ]?o)\b",
            r"\b(?:i['’]d|i\s+would)\s+(?:love|like)\s+to\s+(?:see|get|have|know)\s+(?:the\s+)?(?:solution"
            r"|answer|value|result"
            r"|roots?)s?\b",
            r"\b(?:i['’]d|i\s+would)\s+(?:love|like)\s+to\s+know\s+(?:what|how\s+much|how\s+many"
            r"|how\s+long)\b(?=[^.?!\n]*\d)",
            r"\bfigure\s+(?:the|out)\b",
            r"\b(?:work|figure)\s+(?:it|this|that|them)\s+out\b",
            r"\bsketch\s+(?:the|a|its|an|your)\s+(?:\w+\s+)?(?:proof|argument|derivation)\b",
            r"\blocate\s+(?:its|the|all)\s+(?:\w+\s+)?(?:(?:stationary|critical|turning|inflection|fixed"
            r"|extreme|extremal)"
            r"\s+points?|roots|zeros|maxima|minima)\b",
            r"\b(?:say|state|determine|decide|tell\s+(?:me|us))\s+(?:which|whether"
            r"|if)\s+(?:\w+\s+){0,3}?(?:(?:are|is)\s+|\w+['’]s\s+)"
            r"(?:local\s+|global\s+)?"
            r"(?:maxima|minima|maximum|minimum|max|min|convergent|divergent|continuous|differentiable|invertible|prime"
            r"|rational|irrational|even|odd|increasing|decreasing|bounded|injective|surjective|bijective)\b",
            # "What does 7! equal?", "What do the three come to?": a value.
            r"\bwhat\s+(?:does|do|would|will)\s+[^?\n]{1,40}?\s+(?:equal|come\s+(?:to|out\s+to)|add\s+up\s+to"
            r"|amount\s+to"
            r"|total)\b",
            # "And with quarterly compounding?", "How about if the interest is compounded monthly?": the sum again.
            r"^(?:and\s+|so\s+)?(?:(?:what|how)\s+about\s+(?:if\s+|with\s+|for\s+)?|(?:with|for|if"
            r"|at)\s+)(?:the\s+)?(?:\w+\s+){0,3}?"
            r"(?:compound\w*|interest|rates?|payments?|discount|tax|tip|salary|wages?)\b",
            # "Redo it and show each step." after a wrong result: worked out again (not "Redo it in Go").
            r"^(?:ok(?:ay)?,?\s+|so\s+|please\s+|then\s+)?redo\s+(?:it|that|this)\b(?!\s+(?:for|with|in|using|as)\b)",
            # "Which integers are they?" after givens: values to find.
            r"^which\s+(?:numbers?|integers?|values?|ones|digits|primes?|fractions?|angles?)\s+(?:are"
            r"|is)\s+(?:they|it|those|these)\b",
            # "scale that up pls" after a recipe.
            r"\bscale\s+(?:that|it|this|the\s+recipe|everything|them|the\s+amounts?|the\s+quantities)\s+(?:up|down)\b",
            # "Back your answer up, either by proof or ...", "True or false, with proof: ...": settled by proof.
            r"\bback\s+(?:it|that|this|your\s+(?:answer|claim))\s+up\b|^true\s+or\s+false\b",
            # "... — what are the new amounts?" after a recipe scaled.
            r"\bwhat\s+(?:are|is|will\s+be|would\s+be)\s+the\s+new\s+(?:amounts?|quantities|values?|totals?"
            r"|prices?|measurements"
            r"|numbers|dimensions|costs?)\b",
            r"\b(?:establish|verify)\s+(?:that|the|its|whether|(?:convergence|divergence|uniqueness|existence)\s+of)\b",
            r"\b(?:establish|conclude)\b[^.?!\n]{0,80}?\bthat\b",
            r"\b(?:obtain|derive|deduce)\s+(?:the|a)\s+(?:condition|equation|formula|expression|bound)\b",
            r"\bwhat(?:'s|\s+is)\s+each\s+(?:share|person['’]s\s+share|portion|cut)\b",
            r"\b(?:give|make|write|set)\s+(?:me\s+)?(?:an?|another"
            r"|some)\s+(?:\w+\s+){0,2}?(?:practice\s+)?(?:problem|exercise)s?\b",
            r"\bif\s+you\s+(?:could\s+)?(?:also\s+)?(?:proved|computed|calculated|worked\s+out|derived)\b",
            r"^(?:is|are)\s+[^?\n]{0,50}?\b[OΘΩ]\([^)\n]*\)[^?\n]*\?",
            r"^return\s+(?:the\s+)?(?:size|length|number|count|sum|maximum|minimum|max|min|value|index)\s+of\b"
            r"(?![^.?!\n]*\b(?:in|using)\s+" + _LANGS + r")",
            r"\bdesign\s+(?:it|this|that|one|such\s+an?\s+\w+)\b",
            r"\bjustify\s+(?:rigorously|formally)\s+that\b",
            # "Which data structure handles this in O(log n) per query?": a design to come up with.
            r"\bwhich\s+(?:data\s+structure|algorithm|approach)\s+(?:handles|supports|solves|achieves|gives"
            r"|runs|works|lets|to\s+use"
            r"|(?:would|should|could|do|can)\s+(?:you|i|we|one)\s+(?:use|pick|choose|apply|recommend))\b",
            r"\bargue\s+(?:rigorously\s+|formally\s+|carefully\s+)?that\b",
            # "tell me whether the full sequence must converge a.e.": settled by proof.
            r"\btell\s+(?:me|us)\s+(?:whether|if)\b[^.?!\n]{0,60}?\b(?:converges?|diverges?|convergent|divergent|holds?"
            r"|exists?|terminates?|invertible|prime|rational|irrational|bounded|continuous|differentiable"
            r"|integrable)\b",
            # "And its diagonal?" after a result: another quantity of the same object.
            r"^and\s+(?:its|the|their)\s+(?:\w+\s+)?(?:diagonal|area|perimeter|volume|surface\s+area|height"
            r"|length|width|radius"
            r"|diameter|mean|median|variance|derivative|integral|limit|sum|product|value|price|cost|total"
            r"|circumference)\s*\?",
            # "Get the line through (-3, 4) and (5, 0) in slope-intercept form": an equation to work out.
            r"\bget\s+the\s+(?:equation\s+of\s+the\s+)?(?:line|equation|parabola|circle|plane)\s+(?:through|of"
            r"|for|with)\b",
            # "Which region grew more over the year in percentage terms?": amounts compared from the data.
            r"\bwhich\s+(?:\w+\s+){0,2}?(?:grew|grows|increased|decreased|fell|rose|earned|sold|spent|saved"
            r"|scored)\s+(?:more|most"
            r"|less|least|faster|slower|the\s+most|the\s+least)\b",
            r"\buse\s+(?:it|this|that|them)\s+(?:for|on|with)\b[^.?!\n]*\d",
            r"\b(?:i|we)\s+need\s+a\s+(?:\w+\s+)?(?:way|method|algorithm|approach)\s+to\b",
            r"\bwhat\s+(?:gas\s+mark|temperature|size|setting|number|percentage|fraction|angle)\s+is\s+[-\d]",
            r"\b(?:total|tally)\s+up\b",
            # "Give me that last number in scientific notation."
            r"\b(?:give|write|put|show|express)\s+(?:me\s+)?(?:that|the|this)\s+(?:last\s+|final\s+)?(?:number"
            r"|result|answer|value"
            r"|total)\s+(?:in|as)\s+" + _NOTATION + r"|\bscientific\s+notation\b",
            # "so how do I get the area?" with the givens: the quantity worked out.
            # ("bases 7 and 11, height 4, so how do I get the area?": after the givens.)
            r"(?:\bso|,)\s+how\s+(?:do|would|can)\s+(?:i|we)\s+(?:get|find|work\s+out|calculate"
            r"|compute)\s+the\s+(?:area|volume|perimeter"
            r"|total|answer|result|mean|average|median|probability|slope|length|distance)\b",
            r"(?<!\bto\s)\bsplit\s+(?:it|this|that|the\s+\w+)\s+(?:fairly|evenly|equally|proportionally)\b",
            # "Show H ⊴ G.", "Show a Hamiltonian path exists in any tournament."
            r"^show\s+[^.?!\n]{1,30}?[⊴◁⊂⊆⊊≤≥≠≅≃∈∉↦]",
            r"\bshow\s+(?:an?|some)\s+(?:[\w-]+\s+){1,3}?(?:always\s+)?exists?\b",
            r"\bwhat\s+does\s+[^?\n]{1,60}?\s+cost\s+(?:asymptotically|in\s+the\s+(?:worst|average|best)\s+case)\b",
            r"\bwhat\s+(?:approach|algorithm|data\s+structure|method)\s+(?:achieves|gives|runs\s+in|attains|meets)\b",
            r"\bwhat(?:'s|\s+is|\s+will)\s+(?:the|it|that|this)\s+(?:\w+\s+)?(?:going\s+to\s+)?cost\b",
            r"\bwhat\s+(?:area|volume|length|distance|speed|price|cost|amount|percentage|fraction|angle|height"
            r"|width|radius"
            r"|temperature|weight|mass|total)\s+(?:does|do|did|will|would|is|are)\b",
            r"\b(?:give|make|do)\s+(?:me\s+)?(?:a|the)\s+(?:rough\s+|quick\s+)?(?:weekly|monthly|daily|yearly"
            r"|annual)\s+(?:breakdown"
            r"|budget|split|plan)\b",
            r"^which\s+(?:\w+\s+){0,2}?(?:has|have|had|gives|shows)\s+the\s+(?:highest|lowest|largest|smallest"
            r"|biggest|greatest"
            r"|most|least|best|worst)\b",
            r"\b(?:get|give|find)\s+(?:me\s+)?an?\s+(?:O\([^)]*\)\s+|\w+\s+){0,2}?(?:method|algorithm|approach"
            r"|procedure)\s+(?:for|to"
            r"|that)\b",
            r"\b(?:tell\s+(?:me|us)\s+)?(?:how|what)\s+(?:its|the)\s+(?:cost|running\s+time|complexity"
            r"|runtime)\s+(?:behaves|grows"
            r"|scales|changes|looks)\b",
            r"^(?:ok(?:ay)?\s+)?(?:and\s+|so\s+)?how\s+(?:would|does|will)\s+(?:that|it|this)\s+change\s+if\b[^?\n]*"
            r"(?:\bcompound\w*|\binterest|\brate|\bprice|\d)",
            r"\bwhat\s+(?:equation|formula|function)\s+(?:describes|gives|models|represents|fits)\b",
            r"\btell\s+(?:me|us)\s+what\s+(?:the|its)\s+(?:time\s+|space\s+)?(?:complexity|running\s+time"
            r"|runtime|big[- ]?o|cost)\b",
            # "ok and what if the rate is 4.5% instead": the same sum on other numbers.
            r"\bwhat\s+if\b[^?\n.]*?\d",
            # "suggest a pool size": a number to settle on.
            r"\b(?:suggest|recommend|propose|pick|choose)\s+(?:an?|the)\s+(?:good\s+|sensible\s+|reasonable\s+"
            r"|suitable\s+"
            r"|better\s+|new\s+)?(?:[\w-]+\s+)?(?:size|value|number|count|limit|threshold|timeout)\b",
            # "For each of the following, say whether it is O(n), O(n log n) or O(n^2):"
            r"\bsay\s+whether\s+(?:it|each|they)\s+(?:is|are|runs?\s+in)\s+(?:in\s+)?(?:O\(|Θ\(|linear"
            r"|polynomial|quadratic)",
            # "Using the probabilistic method, show there exists a tournament ...": an existence to prove.
            r"\bshow\s+(?:that\s+)?there\s+(?:exists?|is|are)\b",
            # "rough memory math pls": the arithmetic itself asked for.
            r"^(?:(?:and|also|plus|some|a\s+bit\s+of|the|quick|rough|rough\s+and\s+ready"
            r"|back[- ]of[- ]the[- ]envelope)\s+)*"
            r"(?:[\w-]+\s+)?(?:math|maths|arithmetic|numbers|estimate|calculation)s?\s*,?\s*(?:please|too|also"
            r"|as\s+well)?"
            r"\s*[.!?]*$",
            # "What quantities should I use now?" after a recipe: amounts to work out.
            r"\bwhat\s+(?:amounts?|quantities|quantity|measurements|proportions)\s+(?:of\s+[\w-]+\s+)?(?:should"
            r"|do|would|will"
            r"|must)\s+(?:i|we|you)\s+(?:use|need|buy|add|get|take|put\s+in|mix|measure(?:\s+out)?|weigh(?:\s+out)?)\b",
            # "What's the best, average and worst case of insertion sort?": a cost.
            r"\bwhat(?:'s|’s|\s+is|\s+are)\s+the\s+(?:[\w,-]+\s+){0,4}?cases?\s+(?:running\s+time\s+"
            r"|complexity\s+)?(?:of|for)\b",
            # Arithmetic on numbers given: "Add 2/3 and 5/6", "Multiply 12 by 7", "Add up 3, 4 and 5".
            r"(?<!s\s)\b(?:add|subtract|multiply|divide|sum|total|average|double|halve|square|cube|negate)\s+(?:up\s+)?"
            r"(?:together\s+)?(?:the\s+numbers\s+)?[-\d(√]",
            # What remains: "What's left after rent?", "How much is left over?"
            r"\bwhat(?:'s|’s|\s+is|\s+will\s+be)\s+(?:left|remaining)\b",
            # "Establish a bijection", "Exhibit a counterexample", "Enumerate the subsets".
            r"\b(?:establish|exhibit|enumerate|tabulate|tally)\s+(?:an?|the|all|each|every|its|their|that|whether)\b",
            # Coming up with something to a specification: an algorithm, a structure, a bound.
            r"\b(?:come\s+up\s+with|think\s+of|invent)\s+(?:an?|some)\s+(?:[\w()^+*/,-]+\s+){0,3}?(?:algorithm"
            r"|data\s+structure"
            r"|structure|scheme|method|design"
            r"|procedure|scheme|strategy|counter-?example|bound|formula|construction|proof|example|sequence"
            r"|schema|data\s+model|way|container"
            r"|function)\b",
            # ... or anything with a cost to meet: "Come up with a way to keep the last k readings ... in O(1)".
            r"\b(?:come\s+up\s+with|think\s+of|invent|devise|find)\s+(?:an?|some)\s+[^.?!\n]*?\bO\(",
            # Saying a result: "state its running time", "report the answer", "fill in the table and read off ...".
            r"\b(?:state|report|give(?:\s+me|\s+us)?|tell\s+(?:me|us))\s+(?:its|the|their|your|an?)\s+"
            r"(?!(?:[\w-]+\s+)?" + _LANGS + r"(?![\w+#]))"
            r"(?:[\w-]+\s+){0,2}?(?:running\s+time|runtime"
            r"|(?:time\s+|space\s+)?complexity|bound|value|values|result|answer|number|cost|probability"
            r"|order\s+of\s+growth"
            r"|gradient|slope|intercept|equation|coordinates|roots|zeros|vertex|maximum|minimum|mean|median|variance"
            r"|big-?o|asymptotics?"
            r"|recurrence|closed\s+form|solution)\b",
            r"\bfill\s+in\s+(?:the|this|that|a|each|every|all)\s+(?:[\w-]+\s+){0,2}?(?:table|grid|blanks?|gaps?|cells?"
            r"|entries|values|matrix)\b",
            r"\bread\s+off\b",
            # "Work through the example with n = 4": a computation with the numbers given.
            r"\b(?:work|run|go)\s+through\s+(?:[\w-]+\s+){0,3}?(?:with|for|on|using)\s+[^.?!\n]*?[\d=]",
            # Running an algorithm by hand on given data: "Trace Kruskal's algorithm on ...", "Simulate the first
            # three iterations of Newton's method", "Hand-run Dijkstra from A".
            r"\b(?:trace|simulate|hand-?run|dry-?run|execute|run|apply|carry\s+out|perform|retrace)\s+(?:through\s+)?"
            r"(?:[\w'’-]+\s+){0,4}?(?:algorithm|method|procedure|iterations?|steps?|rounds?|passes|recursion"
            r"|elimination"
            r"|search|sort|traversal|bfs|dfs|coding|encoding|rule|theorem|formula|test|criterion)\b",
            # The cost of code asked about: "How does its running time grow with n?"
            r"\bhow\s+(?:does|do|will|would)\b[^.?!\n]*\b(?:running\s+time|runtime|complexity|number\s+of\s+calls)\b"
            r"[^.?!\n]*\b(?:grow|grows|scale|scales|increase|increases)\b",
            r"\bhow\s+(?:many|much|far|long|fast|slow|often|big|large|old|likely|expensive|cheap|heavy|tall"
            r"|wide|deep|high"
            r"|hot|cold)\b",
            # "What will I pay per month?", "What do you get for 2^20?": a quantity asked for.
            r"\bwhat\s+(?:will|would|do|does|did|should|can)\s+(?!you\s+weigh\b)(?:(?!(?:change|fix|add|remove"
            r"|edit|modify|replace"
            r"|alter|do)\b)"
            r"[\w'’-]+\s+){1,3}?(?:pay|owe|cost|earn"
            r"|save|spend|weigh|end\s+up\s+with|have\s+left|make|take\s+home|bring\s+home|net|gross|clear"
            r"|receive|score|get"
            r"|get\s+back|need\s+to\s+(?:save|pay|earn|score|sell|run|walk|drive))\b",
            r"\bwhat\s+(?:do|does|would|will)\s+(?:you|i|we|it|that|this)\s+(?:get|give|come\s+to|equal)\b"
            + _SAME_CLAUSE + r"\d",
            # "Give the domain of f": a result, like "find"; "Give a proof" is further below.
            r"\bgive\s+(?:the|its|their)\s+(?:\w+\s+)?(?:domain|range|values?|inverse|derivative|period"
            r"|amplitude|roots?"
            r"|zeros?|solutions?|answer|result|kernel|image|limit|coordinates|asymptotes?|vertex|intercepts?)\b",
            # "Must sum a_n/n converge?": a yes/no settled by proof.
            r"^(?:is|are|does|do|must|can|will)\b[^?\n]*\b(?:converge|diverge)s?\b",
            r"\bby\s+(?:what|how\s+much|how\s+many)\b",
            # Whether a mathematical statement still holds is settled by proof: "Does the result still hold
            # if f is only continuous?", "Is the theorem true for infinite groups?" (a statement's noun and
            # a verb of holding, in a question).
            r"^(?=[^?\n]*\b(?:results?|statements?|claims?|theorems?|lemmas?|propositions?|corollary|conjectures?"
            r"|bounds?|inequalit(?:y|ies)|identit(?:y|ies)|equalit(?:y|ies)|formulas?|estimates?|propert(?:y|ies)"
            r"|conclusions?|converse|assertions?|implications?|equivalences?)\b)(?=[^?\n]*\b(?:hold|holds"
            r"|remain|remains"
            r"|stay|stays|true|false|valid|correct|right|wrong|tight|sharp|optimal|apply|applies|extend|extends"
            r"|generali[sz]es?|survive|survives|carry\s+over"
            r"|go\s+through|goes\s+through)\b)(?:is|are|does|do|will|would|must|can|could|was|were|and|but|so|then"
            r"|what\s+if|if)\b[^?\n]*\?",
            # ... and whether a method still works: "Would the algorithm still terminate if ...?"
            r"^(?:is|are|does|do|will|would|must|can|could)\b(?=[^?\n]*\b(?:algorithm|argument|proof|method"
            r"|construction"
            r"|reduction|procedure|approach)\s+(?:[\w-]+\s+)?(?:still|also|even|then)\s+(?:hold|holds|work"
            r"|works|terminate"
            r"|terminates|converge|converges|succeed|succeeds|apply|applies|go\s+through|run\s+in|give|gives|yield"
            r"|yields|be\s+(?:correct|valid|optimal))\b)[^?\n]*\?",
            # "What is 3+4?" asks for a number; the digit makes it a longer match than explain's "what is".
            # (Not a way or a plan asked for: "What's a sensible way to start with 200 a month?" is advice.)
            r"\b(?:what|which)(?:'s|\s+is|\s+are|\s+was|\s+will\s+be|\s+of)\b(?!\s+(?:an?|the|my|your|some)\s+"
            r"(?:sensible|reasonable|good|recommended|typical|safe|realistic)\b)(?!\s+(?:an?|the|my|your|some)\s+"
            # (Nor a digit of a name: "HTTP/2", "IPv4".)
            r"(?:[\w-]+\s+){0,2}?(?:ways?|approach(?:es)?|strateg(?:y|ies)|plans?|ideas?|options?|methods?|places?"
            r"|habits?|steps?|tips?|differences?\s+between)\b)"
            + _SAME_CLAUSE + r"(?<!\bline\s)(?<!\blines\s)(?<![/A-Za-z])\d",
            # (Not the notion of one: "What's the intuition behind eigenvalues?", "What is the point of a mean?")
            r"\bwhat(?:'s|\s+is|\s+are|\s+was|\s+will\s+be)\s+(?:the|its|my|your|their|his|her|our|this|that"
            r"|each\s+(?:person|one|of\s+us)['’]s|everyone['’]s|everybody['’]s)\s+"
            # ("What are its time and memory costs?", "What's the fewest points needed ...?")
            r"(?:(?:fewest|least|smallest|largest|minimum|maximum|most)\s+(?:number\s+of\s+)?\w+\s+(?:needed"
            r"|required|possible)\b|"
            r"(?:(?:time|space|memory)\s+and\s+(?:time|space|memory)\s+costs?\b|"
            r"(?!(?:intuition|idea|meaning|point|significance|purpose|role|concept|notion|definition|reasoning|logic"
            r"|motivation|rationale)\b)(?:[\w-]+\s+){0,2}?(?:value|sum|product|result|answer|probability|area"
            r"|volume|perimeter|derivative"
            r"|integral|limit|average|mean|median|mode|remainder|speed|velocity|distance|pace|rate|total|cost"
            r"|price|percentage|complexity|running\s+time|bound|number|determinant|rank|eigenvalues?|slope|chance|odds"
            r"|payments?|instal(?:l)?ments?|balance|tip|fee|bill|profit|loss|revenue|discount|savings|share"
            r"|change\s+due"
            r"|likelihood|big[- ]?o|(?:extra|additional|auxiliary)\s+space|space\s+(?:complexity|usage|cost|overhead)"
            r"|length|height|weight|mass|growth\s+rate|recurrence|closed\s+form|solutions?|formula|equation"
            r"|(?:lookup|access|search|insertion|deletion|query|update|expected|amortized|average"
            r"|worst-case)\s+(?:time|cost)|volatility|sharpe\s+ratio|standard\s+deviation|correlation|yield)))\b",
            # (Not advice: "Is it better to rent or buy if prices rise 5% a year?")
            r"^(?:is|are|does|do|must)\s(?!it\s+(?:better|wiser|wise|smarter|preferable|advisable|sensible"
            r"|worth|ok|okay|safe"
            r"|make\s+(?:more\s+)?sense"
            r"|a\s+good\s+idea|normal|common|usual"
            r"|typical|healthy|fine|legal|bad)\b)"
            r"(?=[^?\n]*\d[^?\n]*\?)",
            # "What percentage ...?", "What score do I need ...?": a quantity asked for.
            r"\bwhat\s+(?:[\w-]+\s+)?(?:percentage|percent|fraction|proportion|share|distance|speed|price|amount"
            r"|score|grade|temperature|weight)\b",
            rf"\btell\s+(?:me|us)\s+(?:what|which|whether|if|how\s+much|how\s+many|each|the|my|our|every(?:one"
            rf"|body)['’]s)\b"
            rf"{_SAME_CLAUSE}\d",
            r"\blist\s+(?:all|the)\s+(?:\w+\s+)?(?:primes?|numbers?|divisors?|factors?|solutions?|roots?|subsets?"
            r"|permutations?|combinations?)\b",
            r"\b(?:suggest|propose|find|give)\s+an?\s+(?:\w+\s+)?(?:schedule|rotation|plan|split|allocation|assignment"
            r"|arrangement)\b",
            r"\b(?:i|we)(?:'d|\s+would)?\s+(?:need|want|like)\s+an?\s+(?!(?:spreadsheet|excel|sheets"
            r"|google)\b)(?:\w+\s+)?"
            r"(?:formula|equation|estimate|derivation|proof|bound)\b",
            r"\b(?:insert|delete|remove|push|pop)\s+(?:the\s+(?:keys|values"
            r"|numbers)\s+)?\d[\d,\s]*(?:and\s+\d+\s+)?(?:into|from|in|onto)\b",
            # "Which is the better deal?": comparing quantities, not merits.
            r"(?:^|(?<=,\s)|(?<=\bme\s)|(?<=\bus\s))which\b(?=[^.?!\n]*\b(?:deal|cheaper|cheapest|larger"
            r"|largest|smaller|smallest|bigger"
            r"|biggest|greater|greatest|heavier|heaviest)\b|[^.?!\n]*\b(?:pays|costs?|earns?|saves?)\s+(?:the\s+)?"
            r"(?:most|least|more|less)\b)",
            # "Will I run out at this rate?", "Do we have enough?": a yes/no settled by calculation.
            r"^(?:will|would|do|does|can|could|is|are)\s+(?:i|we|you|it|they|there|that|this)\b[^.?!\n]*?\b(?:run\s+out"
            r"|enough|in\s+time|afford|exceed|break\s+even)\b",
            r"\bwrite\s+(?:\S+\s+){1,4}?(?:as|in)\s+(?:an?\s+)?(?:\w+\s+)?(?:fraction|decimal|percentage"
            r"|product|sum|binary|octal"
            r"|hexadecimal|hex|base\s+\d+|roman\s+numerals|scientific\s+notation"
            r"|power|polynomial|mixed\s+number)\b",
            # Not "write a regular expression" nor "write a Google Sheets formula": those are code.
            r"\bwrite\s+(?:down\s+)?(?:the|an?)\s+(?!(?:\w+\s+){0,2}?(?:regular\s|excel\b|google\b"
            r"|spreadsheet\b|sheets\b))"
            r"(?:\w+\s+){0,2}?(?:equation|formula|recurrence|expression|inequality|proof|closed\s+form)s?\b",
            r"\b(?:check|decide|verify|test|determine)\s+(?:whether|if|that)\b",
            r"\b(?:order|sort|arrange|rank)\s+(?:these|the\s+following|them)\b",
            r"\b(?:order|sort|arrange|rank|put)\s+(?:\w+\s+){0,3}?in\s+(?:increasing|decreasing|ascending"
            r"|descending)\s+order\b",
            # "can you do the induction properly": a proof or a sum carried out.
            r"\bdo\s+(?:the|a|an)\s+(?:\w+\s+)?(?:induction|proof|calculation|computation|derivation|integral)\b",
            # "Locate a value x in O(n) comparisons": a search to design.
            r"\blocate\s+(?:a|an|the)\s+(?:given\s+)?(?:value|element|key|item|target|number|minimum|maximum"
            r"|root|peak)\b",
            # "And what would the running time be then?": a cost.
            r"\bwhat\s+(?:would|will|is|was)\s+(?:the|its)\s+(?:running\s+time|runtime|complexity|cost|bound)\b",
            r"^gesucht\s+(?:ist|sind)\s+(?!(?:eine?[nmrs]?|der|die|das)\b)",
            r"\b(?:prueb[ae]|demuestr[ae])\s*,\s*[^,.?!\n]{1,40},\s*que\b",
            # Coming up with an algorithm is solving; describing a known one is explaining.
            r"\b(?:give|present|propose|describe|outline|sketch|suggest)(?:\s+and\s+(?:analy[sz]e|prove|justify"
            r"|implement))?"
            r"\s+an?\s+(?:[\w()^+*/,-]+\s+){0,4}?"
            r"(?:algorithm|data\s+structure|procedure|scheme|strategy|protocol|reduction)\b",
            # A strategy in a puzzle or a game is found, not recalled: "Describe the strategy.", "Give a winning
            # strategy"
            # (not a design pattern: "Describe the strategy pattern").
            r"\b(?:give|describe|outline|sketch|state|find|exhibit|present)\s+(?:the|your|an?|such\s+an?|that)\s+"
            r"(?:(?:optimal|winning|best|weighing|general)\s+)?strateg(?:y|ies)\b(?!\s+(?:pattern|design)\b)",
            r"\bgive\s+(?:an?\s+|the\s+)?(?:\w+\s+){0,2}?(?:counter-?example|graph|bound|proof|construction"
            r"|reduction|bijection"
            r"|closed\s+form|sequence|matrix|instance)\b",
            r"\bgive\s+an?\s+(?:\w+\s+)?example\s+of\b",
            r"\bgive\s+an?\s+(?:\w+\s+)?example\s+(?:showing|to\s+show|that\s+shows|which\s+shows)\b",
            r"\b(?:sketch|outline|provide|present|write(?:\s+(?:up|down|out))?)\s+(?:me\s+)?(?:an?"
            r"|the)\s+(?:[\w-]+\s+)?proof\b",
            # "What greedy rule maximizes total profit?": a rule or a choice that is best is found, not recalled.
            r"\b(?:what|which)\s+(?:[\w-]+\s+){0,2}?(?:rule|strategy|order|ordering|choice|policy|schedule"
            r"|value|split)\s+"
            r"(?:maximi[sz]es|minimi[sz]es|optimi[sz]es|guarantees|achieves|wins|is\s+optimal)\b",
            # "And does it still run in O(n) if there are duplicates?": a cost settled by analysis.
            r"^(?:and\s+|but\s+|so\s+)?(?:does|do|is|will|would|can|could)\b[^?\n]*\b(?:in|within|take|takes)\s+O\(",
            # Arithmetic on a recipe or a plan: "scale it to 7 people", "Scale the recipe up by 1.5".
            r"\b(?:scale|resize|adjust|convert)\s+(?:it|this|that|them|the\s+[\w-]+)\s+(?:up\s+|down\s+)?(?:to"
            r"|for|by)\s+\d",
            # "And if the interest is compounded monthly?": the same sum under a changed term.
            r"^and\s+(?:if|with|for|when)\b[^?\n]*\b(?:interest|rate|compounded|discount|tax|probability|price|cost|fee"
            r"|salary|speed|odds)\b",
            # "is 221 prime" (no question mark): a property of a number, settled by calculation.
            r"^(?:is|are)\s+(?:\d[\d,.]*|the\s+number\s+\d+)\s+(?:a\s+)?(?:prime|even|odd|divisible"
            r"|(?:a\s+)?perfect\s+square"
            r"|square|rational|irrational)\b",
            # "adjust the quantities", "scale the recipe": amounts worked out again.
            r"\b(?:adjust|scale|rescale|recalculate|convert)\s+(?:the\s+|all\s+the\s+|my\s+)?(?:quantities"
            r"|amounts|recipe"
            r"|ingredients|measurements|portions)\b",
            # "Reduce HALT to E-ACCEPT and conclude that ...": a reduction and its consequence, proved.
            r"\breduce\s+\S+\s+to\s+\S",
            r"\bconclude\s+that\b",
            # "Bound the amortized cost of ...": a bound proved.
            r"\bbound\s+(?:the|its|their|this|that)\s+(?:[\w-]+\s+){0,2}?(?:cost|time|number|size|error"
            r"|probability|depth"
            r"|height|sum|value|norm)\b",
            # "Give that result in engineering notation, three significant figures.": a number rewritten.
            r"\b(?:give|write|express|state|put)\s+(?:that|the|this|your|it)\s+(?:(?:result|answer|number"
            r"|value)\s+)?(?:in|as"
            r"|to)\s+(?:\w+\s+)?(?:notation|form|decimals?|fraction|percent(?:age)?|significant\s+figures"
            r"|decimal\s+places"
            r"|units?)\b",
            # "show subset-sum reduces to partition": a reduction or relation proved.
            r"\bshow\s+(?:that\s+)?[\w-]+\s+(?:reduces|implies|equals|divides|dominates|is\s+reducible)\b",
            # "Build a DFA for binary strings with an even number of 0s": an automaton constructed.
            r"\b(?:build|construct|give|design|draw)\s+(?:an?|the)\s+(?:minimal\s+|deterministic\s+)?(?:dfa|nfa"
            r"|automaton|pda"
            r"|turing\s+machine|context-free\s+grammar)\b[^.?!\n]*",
            # "Describe a structure supporting insert and ship-top-k": a design.
            r"\b(?:give|present|propose|describe|outline|sketch|suggest"
            r"|design)\s+an?\s+(?:[\w-]+\s+)?structure\s+(?:that|which"
            r"|supporting|for|with)\b",
            # "Est-ce encore vrai si ...?", "Donnez un contre-exemple.": settled by proof.
            r"\best-ce\s+(?:encore|toujours|aussi|alors)\s+(?:vrai|valable|le\s+cas)\b",
            r"\b(?:donne[zr]?|trouve[zr]?|exhibe[zr]?|da|d[eé]|encuentra|gib|geben\s+sie|finde)\s+(?:un|une"
            r"|ein(?:en)?)\s+"
            r"(?:contre-?exemple|contraejemplo|gegenbeispiel)\b",
            # "How do I scale everything?" after a recipe: amounts worked out.
            r"\bhow\s+(?:do|should|can|would)\s+(?:i|we)\s+(?:scale|adjust)\b",
            # "Choose the largest set of talks with no overlap": an optimum to find.
            r"\b(?:choose|pick|select|find)\s+(?:the|a)\s+(?:largest|smallest|maximum|minimum|biggest|best"
            r"|optimal|cheapest"
            r"|shortest|longest|most|fewest)\b",
            # "How does this scale with len(words)?": a cost.
            r"\bhow\s+(?:does|do|will|would)\s+(?:it|this|that|the\s+[\w-]+(?:\s+[\w-]+)?)\s+scale\b",
            # "What if the rate were 4.5%?": something to compute again.
            rf"^(?:and\s+|but\s+|ok\s+|so\s+)?what\s+if\b{_MATHY}",
            # "Express that answer in scientific notation": a number rewritten.
            r"\bexpress\s+(?:\S+\s+){1,4}?(?:as|in)\s+(?:an?\s+)?(?:\w+\s+)?(?:fraction|decimal|percentage"
            r"|scientific\s+notation"
            r"|standard\s+form|product|sum|power|terms|base|radians|degrees|polar\s+form|exponential\s+form)\b",
            r"\buse\s+(?:[\w-]+\s+){1,4}?to\s+(?:get|find|compute|calculate|determine|work\s+out|obtain|show|prove)\b",
            r"\bsettle\s+(?:exactly\s+|precisely\s+)?(?:when|whether|if|which|the|this|it)\b",
            # "Outline an efficient way to merge k sorted arrays": a method to come up with.
            r"\b(?:give|present|propose|describe|outline|sketch|suggest|find|devise)\s+an?\s+(?:efficient|fast"
            r"|faster|optimal"
            r"|linear-time|polynomial-time|[\w()]+-time|o\([^)]*\)|good|simple|practical|cheap|better)\s+(?:way"
            r"|method|approach"
            r"|technique|scheme|procedure)(?:\s+(?:to|for|of|that|which)\b|(?=\s*(?:[,.;:\n]|and\b|then\b|$)))",
            # "redo the calculation": a result worked out again.
            r"\b(?:redo|recompute|recalculate|re-?check|double-check|rework)\s+(?:the|this|that|your"
            r"|my)\s+(?:[\w-]+\s+)?"
            r"(?:calculation|sum|math|maths|arithmetic|computation|numbers|working|answer|result|payment|total"
            r"|interest|price"
            r"|cost|amount|average|mean|step|part)s?\b",
            # "And how does the big-O look afterwards?": the cost of the code as changed.
            r"\bhow\s+(?:does|do|would|will)\s+(?:the|its|their)\s+"
            r"(?:big[- ]?o|(?:time\s+|space\s+)?complexity|running\s+time"
            r"|runtime)\s+(?:look|change|compare)\b",
            # "Fit a least-squares line to this data": a model worked out from the data.
            r"\bfit\s+(?:an?|the)\s+(?:[\w-]+\s+){0,2}?(?:line|curve|model|regression|parabola|polynomial|distribution"
            r"|exponential)\b",
            # "What's a fair split?", "Is it cheaper to drive or take the train?": amounts worked out and compared.
            r"\bwhat(?:['’]s|\s+is|\s+would\s+be)\s+(?:a|the)\s+(?:fair|even|equal|right|correct)\s+(?:split"
            r"|share|division|price"
            r"|amount|tip|allocation)\b",
            r"^(?:so\s+|and\s+)?(?:is|are|would|will)\s+(?:it|that|this|they)\s+(?:\w+\s+)?(?:cheaper|faster"
            r"|quicker|more\s+expensive"
            r"|less\s+expensive|shorter|longer)\s+(?:to|if|than|for|by)\b",
            # "For each, give best/worst case time": a cost.
            r"\b(?:give|state|report|list|find|tell\s+(?:me|us))\s+(?:the\s+|its\s+|their\s+)?(?:best|worst|average)\b"
            r"[\w\s/,-]{0,24}?\bcases?\b",
            # "Define a grammar for ...": a construction to a specification; "Define a BST." is a concept.
            r"\bdefine\s+an?\s+(?:[\w-]+\s+){0,3}?(?:grammar|language|automaton|machine|function|sequence|relation"
            r"|bijection|map|metric|norm|measure|reduction|encoding|isomorphism"
            r"|homomorphism)\b(?:(?!\band\b)[^.?!\n])*?"
            r"\b(?:for|that"
            r"|such|which|whose|on|from)\b",
            r"\bwhen\s+(?:does|do|is|are|will|can)\b" + _SAME_CLAUSE
            + r"\b(?:hold|holds|attained|converge|converges|vanish)\b",
            # Follow-ups with something to compute.
            rf"\b(?:what|how)\s+about\b{_MATHY}",
            rf"^and\s+(?:for|with|if|when|at)\b{_MATHY}",
            # A question that names no task but holds a number asks for a result. (Matched from the
            # number on, so any other weak cue earlier in the question comes first.)
            # (Not a digit inside a name: "an S3 bucket", "IPv4", "EC2"; nor an age: "for a 25 year old".)
            WEAK + r"(?<![^\W\d_])(?!(?:1[5-9]|20)\d\d\b)(?!\d+[\s-]*(?:years?|yrs?)[\s-]*old\b)\d[^\n]*\?$",
            # "Help me split a 96 dollar bill ...": a request without a task verb, with numbers to work on.
            WEAK + r"^(?:(?:can|could|would)\s+you\s+|please\s+)?help\s+(?:me|us)\b(?=[^\n]*\d)",
        ),
        "explain": (
            # Not in compounds: "compare-and-swap".
            r"\b(?:explain|describe|justify|clarify|elaborate|discuss|interpret|compare|contrast|summari[sz]e"
            # (Not givens: "Define a sequence by a_1 = 1 and ...".)
            r"|illustrate|define(?!\s+(?:an?|the)\s+(?:sequence|function|map|relation|operator"
            r"|series)\s+(?:\(\w+\)\s+)?(?:by"
            r"|as|via|recursively|through)\b))\b(?!-)",
            # Not reported speech: "My kid asked why the moon changes shape."
            r"(?<!\basked\s)(?<!\bwondered\s)(?<!\bwondering\s)(?<!\bwonders\s)(?<!\bsee\s)(?<!\bunderstand\s)\bwhy\b",
            r"\bhelp\s+me\s+(?:to\s+)?understand\b",
            r"\b(?:which|who|where)\b[^?\n]*\b(?:slipped\s+up|slip\s+up|mess\s+up|went\s+wrong|go\s+wrong|get\s+wrong"
            r"|made\s+(?:a|the)\s+(?:mistake|error)|slip|slipped"
            r"|messed\s+up|got\s+it\s+wrong)\b",
            # "what gets printed" after a code block: what the code does.
            r"\bwhat\s+(?:gets|is|will\s+be|would\s+be)\s+(?:printed|returned|output|logged|displayed|shown)\b",
            # "how to keep fruit flies out of the kitchen": a how-to asked, in prose.
            r"^(?:and\s+|so\s+)?how\s+to\b",
            # "where did the factor of 3 come from?": the origin of a step, in prose.
            r"\bwhere\s+(?:does|did|do|is|was)\b[^?\n]*\bcome\s+from\b",
            # "say in words why a Gaussian maps to a Gaussian": prose.
            r"\bsay\s+(?:in\s+(?:words|plain\s+\w+|a\s+sentence(?:\s+or\s+two)?|a\s+few\s+words|\w+\s+words)\s+"
            r"|briefly\s+"
            r"|intuitively\s+|roughly\s+)?(?:why|how|what|which)\b",
            r"\bwhere\s+(?:did|does|do|have|has)\s+[^?\n]{0,40}\b(?:go|gone|went)\s*\?",
            r"\bgive\s+(?:an?\s+|the\s+)?(?:intuitive|informal|short|brief|simple|plain)\s+(?:reason"
            r"|explanation|picture|idea"
            r"|account)\b",
            r"\btell\s+(?:me|us)\s+(?:which|whether|if)\b",
            r"\bwhat\s+(?:changed|happened)\b",
            r"\bwhere\s+(?:does|do|did|would)\s+(?:the|this|that|my|your|it)\b[^?\n]*\b(?:break|breaks|fail"
            r"|fails|go\s+wrong"
            r"|stop\s+working)\b",
            r"(?:^|(?<=:\s))how\s+(?:long|much|many|often)\s+to\b",
            # "Where did you go wrong?": the mistake in an answer, in prose.
            r"\bwhere\s+(?:did|do|does|have|has)\s+(?:you|i|we|it|they|he|she)\s+(?:go|gone|get|got)\s+wrong\b"
            r"|\bwhere(?:['’]s|\s+is)\s+(?:the|my|your)\s+(?:mistake|error|slip)\b",
            r"\b(?:give|state|recall|write\s+down)\s+(?:me\s+)?(?:the|a)\s+(?:formal\s+|precise\s+)?definition\b",
            # "What's the intuition behind eigenvalues?": the idea of a notion, in prose.
            r"(?<!\bsame\s)\b(?:intuition|idea|reasoning|logic|motivation|rationale|philosophy"
            r"|story)\s+(?:behind|for)\b",
            r"\btrace\s+(?:the\s+|its\s+)?(?:history|origins?|development|evolution|rise|roots|influence)\b",
            # A language named before a question qualifies it: "In Java, when is a finally block skipped?"
            rf"^(?:in|using|with|for|en|con|mit|avec|dans)\s+{_LANGS}\s*,\s*[¿¡]?\s*(?=(?:cu[aá]l\w*|qu[eé]"
            rf"|por\s+qu[eé]"
            r"|cu[aá]ndo|d[oó]nde|pourquoi|quel\w*|qu['’]|warum|wieso|was|wann|welche\w*"
            r"|when|where|which|who|whether|is|are|was|were|does|do|did"
            r"|should|must|may|might|has|have|(?:can|could|would|will)\s+(?!you\b)\w)\b)",
            r"\bwhat\s+(?!(?:amount|number|percentage|fraction|quantity|size)\b)(?:\w+\s+)?(?:causes?|caused"
            r"|triggers?|triggered|leads?\s+to|makes)\b",
            # Advice is prose: "Give me some tips for ...", "Any suggestions for ...?"
            r"\b(?:give|share|offer|suggest|recommend|list)\s+(?:me\s+|us\s+)?(?:some\s+|a\s+few\s+|any\s+"
            r"|your\s+|\w+\s+)?"
            r"(?:tips|advice|ideas|suggestions|pointers|recommendations|hints)\b",
            r"(?:^|\b(?:also|and|plus|oh\s+and)\s+)any\s+(?:\w+\s+)?(?:tips|advice|ideas|suggestions|pointers"
            r"|recommendations)\b",
            r"\b(?:give|draw|provide|show)\s+(?:me\s+)?an?\s+(?:\w+\s+)?(?:picture|diagram|illustration|analogy)\b",
            r"\ban?\s+(?:\w+\s+)?explanation\s+of\b",
            r"\bwalk\s+(?:me\s+|us\s+)?through\b",
            # Phrasal verbs of explaining: "Talk me through ...", "Go over the second step", "Break down how ...".
            r"\b(?:talk|take|run|go|step)\s+(?:me\s+|us\s+)?(?:through|over)\s+(?!\d)",
            r"\b(?:break\s+down|spell\s+out|lay\s+out|unpack|recap)\s+(?:for\s+me\s+)?(?:how|why|what|the|this|that|it"
            r"|each|these|those|your|its)\b",
            r"\b(?:elaborate|expand|comment|reflect)\s+on\b",
            # "State exactly where compactness gets used.": a place in the argument named in prose.
            r"^(?:and\s+|also\s+|then\s+)?(?:clearly\s+|briefly\s+)?(?:state|indicate|point\s+out|mention|note)\s+"
            r"(?:\w+ly\s+)?(?:where|why|how|which\s+(?:step|steps|hypothes[ie]s|assumptions?|property|lemma"
            r"|theorem|part))\b",
            r"\bshow\s+(?:me\s+|us\s+)?how\b",
            # A typical duration or amount is general knowledge, not a sum: "How long does it usually take?"
            r"\bhow\s+(?:long|much|many|often)\s+(?:does|do|should|will|would|can)\s+(?:it|one|you|i|we|people|they)\s+"
            r"(?:usually|typically|normally|generally|commonly)\b",
            # "How long should I boil an egg?": advice, when no numbers make it a sum.
            r"\bhow\s+(?:long|much|many|often)\s+should\s+(?:i|we|you|one)\b(?![^?\n]*\d)",
            r"\bhow\s+long\s+(?:do|should|must)\s+(?:i|we|you|one)\b(?![^?\n]*\d)",
            # "how many mins to boil an egg so the yolk stays runny": a norm, when no numbers make it a sum.
            r"\bhow\s+(?:long|many\s+(?:mins?|minutes|hours?|hrs?|seconds|secs?|days|weeks|times))\s+(?:to|for"
            r"|do\s+(?:i|you|we)"
            r"|should)\s+(?:[\w-]+\s+){0,3}?(?:boil|bake|cook|roast|fry|grill|rest|soak|steep|brew|leave|let"
            r"|wait|keep|run|train"
            r"|practi[cs]e|study|sleep|water|charge|marinate|simmer|steam|microwave)\b(?![^?\n]*\d)",
            # "How long should the bulk ferment be at 22°C?": a norm asked for; one number is a condition, not a sum.
            r"\bhow\s+(?:long|often)\s+should\s+(?:the|my|our|your|a|an)\b(?![^?\n]*\d[^?\n]*\D\d)",
            r"\bshow\s+(?:me\s+|us\s+)?(?:(?:your|the|all|each|every|all\s+the)\s+)?(?:[\w-]+\s+)?(?:work"
            r"|working|steps?"
            r"|reasoning|calculations?"
            r"|derivation|counting|math|maths|arithmetic|algebra|logic|pass|passes|iterations?|rounds?|stages?"
            r"|recurrence"
            r"|(?:dp|memo|memoi[sz]ation|dynamic[- ]programming)\s+(?:table|array|grid|matrix)|recursion\s+tree"
            r"|call\s+tree)\b",
            r"\bhow\s+(?:does|do|did|is|are|was|were|come|can|could|would|should|might)\b",
            r"\bwhat(?:'s|\s+is|\s+are|\s+does|\s+do|\s+did|\s+happens|\s+goes\s+wrong|\s+went\s+wrong|\s+if)\b",
            r"\btell\s+(?:me|us|him|her|them|my\s+\w+|our\s+\w+)\s+(?:in\s+(?:\w+\s+){0,2}?words\s+|briefly\s+"
            r"|simply\s+"
            r"|roughly\s+|intuitively\s+)?(?:why|how|about|what)\b",
            # "I'd appreciate it if you also explained the general strategy", "which of the two would you expect to
            # run faster?"
            r"\bif\s+you\s+(?:could\s+)?(?:also\s+)?(?:explained|described|walked\s+(?:me|us)\s+through|went\s+over)\b",
            r"\bwhich\s+(?:of\s+(?:the|these|those)\s+(?:\w+\s+)?)?(?:would|do|should)\s+you\s+(?:expect"
            r"|recommend|prefer|pick|choose"
            r"|use)\b",
            r"\btell\s+(?:me|us)\s+when\b(?![^.?!\n]*\d)",
            # "what should I weigh when I price a vegan version?", "what can I actually claim?": advice, interpretation.
            r"\bwhat\s+(?:should|do|must)\s+(?:i|we)\s+(?:weigh|consider|keep\s+in\s+mind|think\s+about"
            r"|look\s+(?:at|for|out\s+for)"
            r"|watch\s+(?:out\s+)?for)\b",
            r"\bwhat\s+can\s+(?:i|we|you|one)\s+(?:actually\s+|really\s+|legitimately\s+|safely\s+)?(?:claim"
            r"|conclude|say|infer)\b",
            r"\badvise\s+(?:me|us)\s+(?:on|about|how|whether|what)\b",
            r"^(?:any\s+)?(?:tips|advice|ideas|suggestions)\s+(?:for|on|about|to)\b",
            r"\bhow\s+much\s+overhead\s+(?:does|do|is|will|would)\b(?![^?\n]*\d)",
            # "..., and would a financial planner call it too high?": a judgement asked for.
            r"\b(?:would|do|does|will)\s+(?:a|an|most|the)\s+(?:[\w-]+\s+){0,2}?(?:call|consider|think|say|see"
            r"|regard|deem)\b",
            r"\bput\s+(?:[\w-]+\s+){1,4}?into\s+(?:plain|simple|your\s+own|everyday|layman'?s)\s+(?:words"
            r"|english|language|terms)\b",
            r"\blet\s+(?:me|us)\s+know\s+(?:which|what|why|how|whether)\b",
            r"\bwhere\s+(?:exactly\s+)?(?:does|do|did)\s+(?:\w+\s+){0,3}?(?:break|fail|go\s+wrong"
            r"|stop\s+working|fall\s+apart)\b",
            # "eigenvalues intuition pls": prose named by a noun, without a verb.
            r"^(?:[\w'’-]+\s+){1,4}?(?:intuition|explanation|overview|eli5|in\s+plain\s+(?:english|words))\s*(?:,?\s*please)?"
            r"\s*[.!?]*$",
            # "give me a feel for why it fails to converge"
            r"\b(?:give|get)\s+(?:me\s+|us\s+)?(?:a|some)\s+(?:\w+\s+)?(?:feel|feeling|sense)\s+(?:for|of)\b",
            # Prose to review or to write: "Review my cover letter", "Outline the main ideas of ...".
            r"\b(?:review|critique|assess|appraise|proofread|outline|paraphrase|brainstorm)\s+(?:me\s+)?(?:an?|the|this"
            r"|that|my|our|your|these|those|some|its|their|how|why|what)\b",
            r"\b(?:write|draft|compose)\s+(?:me\s+|us\s+)?(?:an?|the|some)\s+(?:[\w-]+\s+){0,2}?(?:poem|email"
            r"|e-mail|letter"
            r"|story|essay|haiku|speech|toast|limerick|message|note|post|tweet|bio|blurb|description|slogan|song)s?\b",
            # Ideas asked for: "Suggest a few names for a bakery", "Give me a packing list for ...".
            r"\b(?:suggest|recommend|propose|name)\s+(?:me\s+)?(?:some|a\s+few|a\s+couple|several|good|possible"
            r"|alternative|two|three|four|five|ten|\d+)\s+(?!(?:[\w-]+\s+){0,2}?(?:algorithms?"
            r"|data\s+structures?|primes?"
            r"|numbers?|solutions?|examples?)\b)",
            r"\b(?:suggest|recommend)\b(?!-)",
            # Prose to produce or edit: "Fix the grammar: ...",
            # "List three causes of ...", "Name the planets", "Check my proof: ...".
            r"\b(?:fix|correct|improve|polish|check)\s+(?:the|my|this|its)\s+(?:grammar|spelling|wording"
            r"|punctuation|style"
            r"|phrasing|tone)\b",
            # Prose rewritten: "Rewrite the paragraph in a formal tone.", "Rephrase this email".
            r"\b(?:rewrite|rephrase|reword|shorten|edit|tighten|simplify)\s+(?:the|this|my|that|our"
            r"|your)\s+(?:[\w-]+\s+){0,2}?"
            r"(?:paragraph|text|sentence|email|e-mail|letter|essay|bio|intro(?:duction)?|summary|abstract|message|post"
            r"|speech|story|poem|description|wording|answer|explanation)s?\b",
            r"\b(?:check|review|look\s+over|critique)\s+(?:my|our|this)\s+(?:proof|essay|argument|reasoning"
            r"|writing|text"
            r"|paragraph|letter|email|cv|resume)\b",
            r"\b(?:list|name|give|mention|identify)\s+(?:me\s+)?(?:the\s+)?(?:two|three|four|five|six|seven"
            r"|eight|nine|ten"
            r"|a\s+few|several|some|main|key|\d+)\s+(?!(?:[\w-]+\s+){0,2}?(?:primes?|numbers?|solutions?|roots?"
            r"|factors?"
            r"|divisors?|multiples?|integers?|terms?|digits?)\b)",
            r"\bname\s+(?:the|all|every|each)\b",
            r"\b(?:give|make|write|prepare|put\s+together)\s+(?:me"
            r"|us)\s+an?\s+(?:[\w-]+\s+){0,2}?(?:list(?!\s+comprehension)|checklist|itinerary"
            r"|agenda|outline|overview|rundown)\b",
            # Planning advice: "Plan a week of dinners", "Draw up a study schedule", "Map out my first month".
            # (Not a name: "Plan A costs $35/month".)
            r"\b(?:plan|draw\s+up|map\s+out)\s+(?:me\s+|us\s+)?(?:an?|the|my|our|some"
            r"|out)\b(?<!(?-i:plan\sA))(?<!(?-i:Plan\sA))",
            r"\b(?:what|which)\s+(?:[\w-]+\s+){0,2}?(?:would|should|could)\s+(?:you|i|we|one)\b",
            r"\bis\s+it\s+(?:true|safe|worth|a\s+good\s+idea|a\s+bad\s+idea)\b",
            r"\b(?:i|we)(?:'d|\s+would)?\s+(?:like|want|need)\s+(?:an?\s+"
            r"|some\s+)?(?:\w+\s+){0,2}?(?:explanation|overview"
            r"|intuition|summary)\b",
            r"\b(?:give|provide|offer)\s+(?:me\s+)?(?:an?\s+|the\s+|some\s+)?(?:\w+\s+){0,2}?(?:explanation"
            r"|intuition|overview|justification|summary|analogy)\b",
            # "difference between BFS and DFS for shortest paths?": a comparison asked for without a verb.
            r"^(?:the\s+)?(?:main\s+|key\s+|real\s+|actual\s+|practical\s+)?differences?\s+between\b",
            # "what means this, and how I fix it?": the question of a learner of English.
            r"\bwhat\s+(?:means|mean|meaning)\s+(?:this|that|it)\b",
            # "When does marking a variable `volatile` in C fail to give you thread safety?": a when-question without
            # numbers asks for understanding.
            # (Not "When do they meet?" after givens: a time to work out.)
            r"^(?:and\s+|but\s+|so\s+)?when\s+(?:does|do|did|is|are|would|should|can|could|will)\b(?![^?\n]*\d)"
            r"(?=[^?\n]*\b(?:fail|fails|break|breaks|matter|matters|help|helps|make\s+sense|apply|applies|hold|holds"
            r"|go\s+wrong|goes\s+wrong|hurt|hurts|pay\s+off|pays\s+off)\b[^?\n]*\?)",
            # Prose named as a deliverable: "along with a short explanation of why ...", "plus a few words on why ...",
            # "as well as a discussion of ...", "a breakdown of what each flag does".
            r"\b(?:an?|some)\s+(?:short\s+|brief\s+|quick\s+|little\s+|clear\s+|simple\s+)?(?:explanation"
            r"|discussion|breakdown"
            r"|description|overview|summary|commentary|intuition|rundown)\s+(?:of|on|about|for|why|how|what|as\s+to)\b",
            r"\ba\s+(?:few|couple(?:\s+of)?)\s+(?:words|sentences|lines|remarks)\s+(?:on|about|explaining|why"
            r"|how|of|as\s+to)\b",
            r"\ba\s+(?:short\s+|brief\s+|quick\s+)?(?:note|word|comment)\s+on\s+(?:why|how|what)\b",
            # "I'd love to understand how compound interest works", "Any idea what it means?"
            r"\b(?:i['’]d\s+(?:love|like)|i\s+would\s+(?:love|like)|i\s+(?:really\s+)?(?:want|need|wish|hope)"
            r"|i['’]m\s+trying"
            r"|i\s+am\s+trying)\s+to\s+(?:\w+ly\s+)?(?:understand|learn|hear|see)\s+(?:how|why|what|about)\b",
            r"\bany\s+idea\s+(?:what|why|where)\b",
            r"\bwhat\s+(?:could|would|might|can|does|do)\s+(?:make|cause|lead)\b",
            r"\bshowing\s+(?:(?:every|each|all(?:\s+the)?|your|the)\s+)?(?:steps?|working|work)\b",
            # "... and write out every step this time": the working shown.
            r"\bwrite\s+(?:out|down)\s+(?:every|each|all(?:\s+the)?|the|your)\s+(?:steps?|working|work|reasoning)\b",
            # "... and add a short explanation of the sorting key": prose added to the answer.
            r"\b(?:add|include|append|attach)\s+(?:an?\s+|some\s+)?(?:short\s+|brief\s+|quick\s+"
            r"|little\s+)?(?:explanation|description"
            r"|summary|overview|commentary)\b",
            # Follow-ups: "What about negative numbers?", "And for an empty list?"
            r"\b(?:what|how)\s+about\b",
            r"^and\s+(?:for|with|if|when)\b(?![^?\n]*\bhow\s+(?:much|many|long|far)\b)",
            # Any other question that names no task asks for an answer in prose (matched on its "?"
            # alone, so that it is the last resort).
            WEAK + r"\?$",
            # "Help me plan a trip to Rome.": a request for advice in prose, unless numbers make it a sum.
            WEAK + r"^(?:(?:can|could|would)\s+you\s+|please\s+)?help\s+(?:me|us)\b",
        ),
        "code": (
            r"\b(?:write|create|give|generate|provide|make|build|define|produce|show\s+me|suggest|propose|offer"
            r"|hand|set\s+up"
            r"|knock\s+together|throw\s+together|put\s+together|whip\s+up|cook\s+up)\s+"
            # Not "Define a function in mathematics.": a concept, explained. Not advice: "Give me
            # some tips for learning Rust." asks for prose.
            # (Nor "What guarantees does `volatile` give you in Java?")
            r"(?:me\s+|us\s+)?(?!you\b)(?!(?:some\s+|a\s+few\s+|any\s+|your\s+|\w+\s+)?(?:tips|advice|ideas|suggestions"
            r"|pointers|recommendations|hints)\b)"
            rf"(?:an?\s+|the\s+|some\s+)?(?:(?!to\b)[\w+#-]+\s+){{0,3}}?{_CODE_NOUN}"
            r"(?!\s+in\s+(?:mathematics|maths?|logic|general|plain\s+words|your\s+own\s+words)\b)"
            # (Nor a complexity class: "Define the class BPP".)
            r"(?!\s+(?-i:(?:co-?)?(?:P|NP|BPP|RP|ZPP|BQP|PP|PSPACE|EXPTIME|NEXP|L|NL|PH|AC\d?|NC\d?|TC\d?|IP|AM"
            r"|MA|#P))\b)",
            rf"\b(?:i|we)(?:'d|\s+would)?\s+(?:also\s+|really\s+)?(?:need|want|like)\s+(?:an?"
            rf"|some)\s+(?:[\w+#-]+\s+){{0,3}}?{_CODE_NOUN}",
            rf"\bwrite\s+(?:it|this|that|them)\s+as\s+(?:an?\s+)?(?:[\w+#-]+\s+){{0,2}}?{_CODE_NOUN}",
            # "Using SQL, find ...": a task done in a language, unless what follows asks for an explanation.
            # ("Using SQL window functions, compute ...": a few words may name what of the language is used.)
            rf"\b(?:in|using|with)\s+{_LANGS}(?:\s+(?!(?:and|or|then)\b)[\w'’-]+){{0,3}}?\s*,(?!\s*(?:and\s+"
            rf"|but\s+|or\s+|so\s+)?[¿¡]?\s*(?:cu[aá]l|qu[eé]|c[oó]mo"
            r"|por\s+qu[eé]|cu[aá]ndo|d[oó]nde|pourquoi|comment|quel\w*|qu['’]|warum|wieso|wie|was|wann|welche\w*"
            r"|why|how\s+(?:does|do|did|is|are|come)|what|explain|describe"
            r"|compare|discuss|when|where|which|who|whether|is|are|was|were|does|do(?!\s+(?:an?|the|some)\b)"
            r"|did|should|must"
            r"|may|might|has|have|(?:can|could|would|will)\s+(?!you\b))\b)" + _REST_OF_CLAUSE,
            rf"\bgive\s+an?\s+(?:\w+\s+)?example\b{_SAME_CLAUSE}\b(?:in|using)\s+{_LANGS}(?![\w+#])",
            r"\bwrite\s+(?:an?\s+|some\s+)?(?:\w+\s+){0,2}?examples?\b",
            r"\b(?:implement|reimplement|refactor|debug)\b",
            # An example in a language is code, also as an extra: "..., with a short SQL example."
            r"\b(?:with|including|plus|and)\s+(?:an?\s+)?(?:[\w-]+\s+)?" + _LANGS
            + r"\s+(?:example|snippet|sample|demo|simulation|script|program|implementation|version)s?\b",
            # "confirm it with a short R simulation", "check it with a Python script": a program that checks a result.
            r"\b(?:confirm|check|verify|test|validate|sanity-check)\s+(?:it|this|that|them|the\s+[\w-]+"
            r"|your\s+[\w-]+)\s+"
            r"(?:with|by|using|via|in)\s+(?:an?\s+)?(?:[\w-]+\s+){0,2}?(?:" + _LANGS
            + r"(?![\w+#])|simulation|script|program|snippet)",
            # Looking code over for faults is debugging: "Can you review this function for bugs?"
            r"\b(?:review|check|scan|inspect|audit|go\s+over|look\s+over)\b[^.?!\n]{0,40}?\bfor\s+(?:any\s+"
            r"|possible\s+)?"
            r"(?:bugs?|errors?|mistakes|issues|problems|vulnerabilit(?:y|ies)|leaks?|race\s+conditions?)\b",
            # A change to code asked for: "Could you also handle the empty-string case?", "handle negative inputs".
            r"(?<!\bto\s)\bhandle\s+(?:the\s+|an?\s+)?(?:[\w-]+\s+){0,3}?(?:cases?|inputs?|errors?|exceptions?|values?"
            r"|strings?|lists?|arrays?|files?|numbers?|overflow|duplicates|unicode|timeouts?)\b",
            # (Not the noun: "Java code that I inherited ...", "the code that runs ...".)
            r"\bcode\s+(?:up|it|this|that(?!\s+(?:i|we|you|he|she|they|my|our|your|is|was|runs|uses|has|does)\b)|a|an"
            r"|the|me|us)\b",
            # "Write it in Go", "Turn that into Java", "Do it again using Rust": the same work, in a language.
            r"\b(?:write|do|redo|implement|code|rewrite|port|move|turn|translate|convert|put|solve|try|show)\s+"
            rf"(?:it|this|that|them|the\s+same)\s+(?:again\s+|over\s+)?(?:in|into|to|using)\s+{_LANGS}(?![\w+#])",
            # "Add memoization to this", "add caching to the function": a change to existing code.
            r"\badd\s+(?:(?!\d)[\w-]+\s+){1,3}?(?:to|into)\s+(?:it|this|that|them|(?:the|this|that|my|your|our)\s+"
            r"(?:[\w+#-]+\s+){0,2}?(?:code|function|method|class|program|script|query|snippet|loop|implementation"
            r"|solution|version|module|tests?|struct|api|endpoint|app|service))\b",
            r"\bfix\s+(?:it|this|that|them|(?:this|the|my|your|an?)\s+(?:[\w-]+\s+){0,2}?(?:code|function"
            r"|program|script"
            r"|query|bug|error|loop|class|method|snippet|signature|types?|declaration|lifetimes?|imports?|indentation"
            r"|syntax|build|test|tests))\b",
            r"\b(?:find|spot|fix|locate)(?:\s+and\s+fix)?\s+(?:the\s+|a\s+|any\s+|all\s+)?bugs?\b",
            r"\bhow\s+(?:would|do|does|can|could|should|to|might)\s+(?:you\s+|i\s+|we\s+|one\s+)?"
            r"(?:implement|code|write|program|build|fix)\b",
            WEAK + _IN_LANG,
            # "number of inversions via merge sort; python please": a request done in the language asked for.
            WEAK + r"(?<![\w+#])" + _LANGS
            + r"(?![\w+#])(?:\s+(?:code|impl|implementation|version|solution))?\s*,?\s*please\b"
            r"|\bplease\s*,?\s*(?:in\s+)?"
            + _LANGS + r"(?![\w+#])",
            # "reverse a linked list in place (Java)": a request done in the language named in brackets.
            WEAK + r"\(\s*(?:in\s+|using\s+)?" + _LANGS + r"(?:\s+(?:please|pls|plz))?\s*\)",
            # A request to make something technical ("Build a small Flask endpoint ...") with no better cue.
            WEAK + r"^(?:(?:can|could|would|will)\s+you\s+|please\s+|now\s+)?"
            r"(?:write|build|create|put\s+together|set\s+up"
            r"|generate|develop)\s+(?:me\s+|us\s+)?(?:an?|some)\b(?=[^\n]*\b(?:" + _TECH
            + r"|table|web|files?)(?![\w+#]))",
            # "How do I find the median in Python?" asks for code: longer than explain's "how do".
            rf"\bhow\s+(?:do|would|can|could|should)\s+(?:you|i|we|one)\b{_SAME_CLAUSE}\b(?:in|using"
            rf"|with)\s+{_LANGS}(?![\w+#])",
            # "How do I find which process holds port 8080 on Linux?": a command is the answer.
            rf"\bhow\s+(?:do|would|can|could|should)\s+(?:you|i|we|one)\b{_SAME_CLAUSE}\b(?:on|in|with|from"
            rf"|using|via)\s+"
            r"(?:linux|unix|ubuntu|debian|fedora|the\s+(?:terminal|shell|command\s+line|cli)|git|docker|kubectl"
            r"|tmux|cron"
            r"|crontab|systemd|an?\s+cron\s+job)\b",
            rf"\b(?:in|using|with)\s+{_LANGS}\s*,\s*how\s+(?:do|can|could|would|should)\s+(?:i|we|you|one)\b",
            # "Compute the median per month in SQL": the work is done by the code asked for.
            # (A verb, not the noun after an article: "I have a list of numbers in Python.")
            r"\b(?=[cfglsrdop])(?<!\ba\s)(?<!\ban\s)(?<!\bthe\s)(?<!\bmy\s)(?<!\bour\s)(?<!\bthis\s)"
            r"(?:compute|calculate|find|count|get|list|select|return|sum|determine|obtain|fetch|reshape|sort"
            rf"|filter|parse|read|load|plot|convert)\b{_SAME_CLAUSE}\b(?:in|using)\s+{_LANGS}(?![\w+#])",
            # "using R fit a linear model of mpg on wt": the same with the language first, no comma.
            r"^(?:in|using|with)\s+" + _LANGS + r"(?![\w+#])\s+"
            r"(?:compute|calculate|find|count|get|list|fit|plot|sort|filter"
            r"|parse|read|load|convert|make|build|write|create|draw|simulate|generate|estimate|test|run|do)\b",
            # "Write a trie with insert and search in Java": anything made in a programming language is code.
            r"\b(?:write|build|create|make|produce|generate|give|show)\s+(?:me\s+|us\s+)?(?:an?|the|some|one"
            r"|\w+['’]s)(?!\w)"
            # (its object may hold "and": "with insert and startsWith").
            r"[^.?!\n,;]*?\b(?:in|using)\s+" + _LANGS + r"(?![\w+#])",
            # "Convert this JSON to a Python dataclass", "Turn the table into Rust structs": code in a language.
            rf"\b(?:convert|turn|transform|translate|map|parse)\b{_SAME_CLAUSE}\b(?:to|into)\s+(?:an?\s+|some\s+)?"
            rf"{_LANGS}(?![\w+#])",
            # Changing code that exists: the usual follow-ups ("Rewrite it as a loop", "Convert it to Go").
            r"\b(?:re-?write|modify|change|extend|adapt|port|convert|translate|refactor|optimi[sz]e|generali[sz]e"
            r"|update|parallelize|vectori[sz]e|tweak|adjust|patch|harden|make|fix|debug|correct|rework"
            r"|memoi[sz]e|cache)\s+(?:it|them"
            r"|(?:this|that)(?=\s*(?:$|[,.;:?!]|\s(?:to|into|so|in|as"
            r"|for|using|with|from|such|without)\b))|(?:this|that|the|your|my|our|these|those)\s+(?:[\w+#-]+\s+){0,2}?"
            r"(?:code|function|method|class|program|script|query|snippet|loop|call|implementation|solution|version"
            r"|example|module|tests?|struct|functions|methods|sort|lines?|condition|statement|comprehension|command"
            r"|logic|parser|lexer|server|client|handler|api|endpoint|app|service|component|cli|tool|schema|migration"
            r"|dockerfile|makefile|config|pipeline|regex|interface|iterator|generator|decorator|macro|template"
            r"|test\s+suite|workflow|trigger|procedure|route|middleware))\b",
            r"\bmake\s+(?:it|them)\b",
            # "Now let it accept negative inputs as well.": the code made to do more.
            r"(?<!\bi\s)(?<!\bwe\s)(?<!\byou\s)\b(?:let|have)\s+(?:it|them|the\s+(?:function|script|code"
            r"|program|class|method|query))"
            r"\s+(?:also\s+)?(?!(?:go|be|sit|rest|cool|working|open|ready|running|done|here|now|on|off"
            r"|stand|rise|dry|simmer|soak|settle|happen|slide|pass)\b)[a-z]+",
            # "..., and after that code it in C++": the verb "code".
            r"(?<!\bthe\s)(?<!\bthis\s)(?<!\bmy\s)(?<!\byour\s)\bcode\s+(?:it|this|that|them)(?:\s+up)?"
            r"(?=\s*(?:$|[,.;:!?]|(?:in|using|with|for|now|too|as\s+well)\b))",
            # "demonstrate with a short snippet how ...": code to show it.
            r"\b(?:demonstrate|illustrate|show)\s+(?:it\s+|this\s+|that\s+)?(?:with|in|using"
            r"|through)\s+(?:an?\s+|some\s+)?(?:short\s+"
            r"|small\s+|tiny\s+|quick\s+|minimal\s+|little\s+)?(?:code|snippet|program|demo|example\s+program)\b",
            # "Show code.", "show me the code": the code itself asked for.
            r"^(?:and\s+|also\s+|then\s+|please\s+|pls\s+)?(?:show|give|paste|post)\s+(?:me\s+|us\s+)?(?:the\s+"
            r"|some\s+|a\s+bit\s+of\s+"
            r"|(?:a\s+)?sample\s+)?(?:code|snippet)\b",
            # "can u do it recursively instead": the code again, another way.
            r"\bdo\s+(?:it|this|that|them)\s+(?:recursively|iteratively|functionally|lazily|asynchronously|concurrently"
            r"|in\s+parallel|in\s+place|in\s+one\s+line|without\s+(?:recursion|a\s+loop|loops))\b",
            # "Now can you make the formula ignore blank cells?": a spreadsheet formula changed.
            r"\bmake\s+(?:the|this|that|my|your)\s+formula\s+(?:ignore|skip|handle|treat|work|return|count"
            r"|include|exclude"
            r"|use|look\s+up|spill)\b",
            # "b) write one that keeps all customers": one of the code just named.
            r"\bwrite\s+(?:me\s+|us\s+)?one\s+(?:that|which|where|for\s+(?:me|us|the|my|our|this|that|these)"
            r"|using|in)\b",
            r"\b(?:speed|clean|tidy)\s+(?:it|this|that|them)\s+up\b",
            r"\btrace\s+(?:the|this|a|my)\s+(?:bug|error|crash|leak|exception|fault|segfault)\b",
            # "Und jetzt bitte rekursiv.", "Now iteratively, please.": the code again, another way.
            r"^(?:and\s+|und\s+|et\s+|y\s+)?(?:now\s+|jetzt\s+|nun\s+|maintenant\s+|ahora\s+)?(?:please\s+|bitte\s+)?"
            r"(?:recursively|iteratively|rekursiv|iterativ|récursivement|itérativement|recursivamente|iterativamente)"
            r"(?:\s*,?\s*(?:please|bitte|por\s+favor|s['’]il\s+te\s+pla[iî]t))?\s*[.!?]*$",
            # A bare verb of changing code, alone or before "please": "Fix please.", "Refactor, please!"
            r"^(?:please\s+|pls\s+|plz\s+)?(?:fix|debug|refactor|optimi[sz]e|rewrite|patch)(?:\s+(?:it|this|that))?"
            r"(?:\s*,?\s*(?:please|pls|plz|now|again|asap|thanks|thx|quickly))*\s*[.!?]*$",
            # Being helped to make something technical: "Please help me set up a nightly backup cron job."
            r"\bhelp\s+(?:me|us)\s+(?:to\s+)?(?:write|set\s+up|build|create|make|configure|automate|script|code)\b"
            rf"(?=[^.?!\n]*\b(?:{_CODE_NOUN}|{_TECH}|cron)(?![\w+#]))",
            r"\bput\s+(?:type\s+)?(?:annotations?|type\s+hints?|docstrings?|comments?|logging)\b",
            r"\b(?:add|throw\s+in|put\s+in|stick\s+in|toss\s+in|sprinkle\s+in"
            r"|give\s+it)\s+(?:\w+\s+){0,3}?(?:type\s+hints?|docstrings?|annotations?|error\s+handling|tests?|logging"
            r"|comments?|methods?|parameters?|arguments?|validation|exceptions?|services?|endpoints?|routes?"
            r"|fields?|indexe?s"
            r"|an\s+index|logging\s+calls?|log\s+lines?|unit\s+tests?"
            r"|columns?|options?|flags?|features?|buttons?|lines?|checks?|memoi[sz]ation|caching|cache|loops?"
            r"|assertions?"
            r"|retries|retry|timeouts?|print\s+statements?)\b",
            r"\binclude\s+(?:\w+\s+){0,2}?(?:unit\s+tests?|tests?|benchmarks?|docstrings?|type\s+hints?)\b",
            # "; C++ code would be nice too.", "then verify numerically with numpy", "One line of Python to ..."
            r"\b(?:(?:" + _LANGS + r")\s+)?code\s+would\s+be\s+(?:nice|great|good|helpful|appreciated|welcome)\b",
            r"\b(?:verify|check|confirm|double-check)\s+(?:\w+\s+){0,3}?(?:with|in|using)\s+" + _LANGS + r"(?![\w+#])",
            r"\b(?:one|a|single)\s+line\s+of\s+(?:" + _LANGS + r")(?![\w+#])",
            r"\bredo\s+(?:it|this|that)\s+(?:with|using)\s+(?:\w+\(\)"
            r"|" + _LANGS + r"(?![\w+#])|an?\s+(?:loop|generator|dict"
            r"|set|list|heap|stack|queue|recursion|comprehension))",
            r"^(?:linux|unix|macos|mac|windows|ubuntu|debian|bash|shell|terminal|powershell|git|docker|vim"
            r"|emacs)\s*:\s*how\s+"
            r"(?:do|can|would)\s+(?:i|we|you)\b",
            r"\bshow\s+(?:me\s+|us\s+)?an?\s+(?:short\s+|small\s+|quick\s+|tiny\s+|minimal\s+"
            r"|simple\s+)?(?:demo|code\s+example"
            r"|example\s+program|snippet)\b",
            r"^(?:google\s+sheets|excel|sheets|libreoffice\s+calc)\s*:\s*",
            r"^(?:an?\s+)?(?:excel|sheets|google\s+sheets|spreadsheet)\s+formula\s+(?:needed|wanted|required"
            r"|please|pls)\b",
            r"\bdo\s+(?:it|this|that)\s+without\s+(?:the\s+|an?\s+)?(?:extra\s+)?(?:array|list|loop|recursion"
            r"|copy|buffer|library|dict"
            r"|set|map|stack|queue|temp\w*)\b",
            # "..., then a corrected version.": the code again, put right.
            r"\b(?:an?|the)\s+(?:corrected|fixed|working|cleaned-up|refactored|improved|updated|rewritten)\s+version\b",
            # "it would be great to have a trie in Go", "I'd love for it to also log each retry": code asked for.
            r"\bit\s+would\s+be\s+(?:great|nice|good|awesome|helpful|ideal)\s+to\s+(?:have|get)\s+(?:an?|some)\s+"
            r"(?:[\w+#-]+\s+){0,3}?" + _CODE_NOUN,
            r"\b(?:i['’]d|i\s+would)\s+(?:love|like)\s+(?:for\s+)?(?:it|the\s+(?:code|script|function|program"
            r"|class|query))\s+to\s+",
            # "How do I make a C++ class non-copyable?", "how do i load a csv into a pandas dataframe": a language
            # named as what the thing is made in.
            r"\bhow\s+(?:do|can|should|would)\s+(?:i|we|you|one)\s+[^?\n]{0,60}?\b(?:an?|the"
            r"|my)\s+" + _LANGS + r"(?![\w+#])",
            # "Which command rolls back my most recent commit ...?": a command asked for.
            r"\b(?:which|what)\s+(?:\w+\s+)?(?:command|commands|flag|flags|one-liner|shortcut"
            r"|cli\s+option)\b(?!\s+line\b)",
            # "... and rewrite line 12 so it falls back to 0.": a line of the code changed.
            r"\b(?:re-?write|change|fix|modify|replace|edit|patch|update)\s+lines?\s+\d+\b",
            r"\b(?:sprinkle|put|throw|stick|pop|slap|chuck|whack)\s+(?:in\s+)?(?:some\s+)?(?:docstrings?"
            r"|type\s+(?:hints?|annotations?)"
            r"|comments|logging)\b",
            # "How do I make a shell script exit ...": a script of the shell.
            r"\bhow\s+(?:do|can|should|would)\s+(?:i|we|you|one)\s+[^?\n]{0,40}?\b(?:an?|the|my)\s+(?:shell"
            r"|bash|cron|docker|git|sql"
            r"|excel)\s+(?:script|command|job|file|query|formula|alias|function)\b",
            # "Could the second function get type annotations and a docstring too?"
            r"\b(?:get|have|use|with|need|want)\s+(?:some\s+|proper\s+|full\s+)?(?:type\s+(?:annotations?"
            r"|hints?)|docstrings?"
            r"|a\s+docstring)\b",
            # "Also add a benchmark so I can compare the two versions.": more code for the code.
            r"\badd\s+(?:an?\s+|some\s+)?(?:small\s+|simple\s+|quick\s+|basic\s+|proper\s+)?(?:code\b|benchmarks?"
            r"|unit\s+tests?"
            r"|tests?|type\s+(?:hints?|annotations?)|logging|docstrings?|error\s+handling|input\s+validation|retries"
            r"|a\s+retry|timeouts?|caching|a\s+cache|a\s+cli|command-line\s+(?:flags?|options?|arguments?))\b",
            # "show a short C++ program in which ...": code shown (not "Show that the function f is ...").
            r"\bshow\s+(?:us\s+)?an?\s+(?:[\w+#-]+\s+){0,3}?" + _CODE_NOUN,
            rf"^(?:and\s+|so\s+)?how\s+to\b{_SAME_CLAUSE}\b(?:in|using|with)\s+{_LANGS}(?![\w+#])",
            rf"^{_LANGS}\s*[:—–]\s*how\s+(?:do|can|could|should|would)\s+(?:i|we|you|one)\b",
            # "What would a query look like that ...?", "Wie sieht eine SQL-Abfrage aus, die ...?": code asked for.
            r"\bwhat\s+(?:would|does|should|might)\s+(?:an?|the)\s+(?:[\w+#-]+\s+){0,2}?" + _CODE_NOUN
            + r"\s+look\s+like\b",
            # "wrap the whole computation in a Python function", "turn it into a class": the work made into code.
            r"\b(?:wrap|package|turn|put)\s+(?:[\w-]+\s+){0,4}?(?:in|into|as)\s+(?:an?\s+)?(?:[\w+#-]+\s+){0,2}?"
            + _CODE_NOUN,
            r"\bre-?write\s+(?:it\s+|this\s+|that\s+)?(?:using|with|without)\b",
            r"\b(?:re-?write|modify|change|adapt|extend)\s+(?:[\w-]+\s+){0,2}?(?:sort|search|algorithm|function"
            r"|method|class"
            r"|program|script|loop)\s+(?:to|so|using|with|in)\b",
            # "write a formula that adds 7% VAT to the price in B2": a cell named, so a spreadsheet formula.
            r"(?:\b(?:write|give|create|make|build)\s+(?:me\s+)?|\b(?:i|we)\s+(?:need|want|would\s+like)\s+"
            r"|\bi['’]d\s+like\s+)"
            r"(?:an?|the)\s+(?:[\w-]+\s+){0,2}?formula\b[^.?!\n]*?"
            r"\b(?-i:[A-Z]{1,2}[1-9]\d{0,4})\b",
            # "annotate the parameters with types", "rename x to something readable": edits to code.
            r"\bannotate\s+(?:the\s+|all\s+|its\s+|every\s+|each\s+)?(?:parameters?|arguments?|functions?"
            r"|variables?|fields?"
            r"|signatures?|code|methods?|return\s+types?|structs?|class(?:es)?|types?)\b",
            r"\brename\s+(?:the\s+)?(?:variables?|functions?|methods?|parameters?|arguments?|fields?|columns?|classes?"
            r"|[a-z_]\w*)\s+(?:to|as|into)\b",
        ),
    },
    # ("also" and "plus" join clauses in run-on chat: "prove ... also write a quick python check")
    # (Matched right before a cue, so "plus" here joins tasks: "What is 3 plus 4?" has no cue after it.)
    joiners=r"and|then|also|plus|please|pls|third(?:ly)?|finally|lastly|along\s+with|as\s+well\s+as"
    r"|together\s+with",
    fillers=r"and|then|after\s+that|actually|just|also|pls|plz|along\s+with|as\s+well\s+as|together\s+with|plus|please|now|finally|lastly|next|additionally|afterwards|briefly|first(?:ly)?"
    r"|second(?:ly)?|third(?:ly)?|(?:can|could|would|will)\s+(?:you|someone|somebody|anyone|anybody)",
    # ("At the end it should report ...": after a phrase of time.)
    elaboration=r"(?:(?:at\s+the\s+end|in\s+the\s+end|afterwards|on\s+(?:error|failure|success)|when\s+done|when\s+finished)"
    r",?\s+)?(?:(?:it|they|this|that)\s+|(?:the|your|each|every|its)\s+(?:[\w-]+\s+){1,3}?)(?:should|must|shall"
    r"|needs?\s+to|has\s+to|have\s+to|will|may|can|cannot|can't|is\s+expected\s+to)\b|make\s+(?:it|sure)\b"
    r"|(?:explain|describe)\s+(?:it|this|that)\s+(?:like|as\s+if|simply|in\s+simple|for\s+a|to\s+a)\b",
    continuation=r"(?:it|its|it's|this|that|these|those|they|them|the|your|each|every|our|both|all|there|use|using|i|i'm|my|we"
    # ("Also, how would I do this with a spreadsheet formula?" asks anew.)
    r"|make|keep|avoid|don't|do\s+not|include|ensure|assume|return|handle|only|ideally|preferably|please|also(?!,)|but"
    r"|with|without|here|here's|note|input|output|for\s+example|e\.g\.|i\.e\.|" + _LANGS + r")\b",
)

_DE_CODE_NOUN = (
    r"(?:[\w+#]+-)?(?:funktion(?:en)?|programm(?:e)?|code|skript(?:e)?|script(?:s)?|klasse(?:n)?|methode(?:n)?"
    r"|abfrage(?:n)?|regex|implementierung(?:en)?|version(?:en)?|tests?|unittests?|statements?|anweisung(?:en)?"
    r"|zeilen\s+(?:code|" + _LANGS + r")"
    r"|(?:excel|sheets|calc|tabellen)-?formel(?:n)?)"
)
GERMAN = Language(
    cues={
        "solve": (
            r"^und\s+(?:die|der|das|seine?|ihre?)\s+(?:diagonale|fläche|umfang|volumen|höhe|länge|breite|radius"
            r"|durchmesser"
            r"|mittelwert|median|varianz|ableitung|summe|wert|preis|kosten)\s*\?",
            r"\bnach\s+wie\s+vielen\s+(?:jahren|monaten|wochen|tagen|stunden|minuten|sekunden|runden|schritten)\b",
            r"\bkorrigier(?:e|en\s+sie)?\s+(?:die|den|das|deine|ihre|meine)\s+(?:\w+\s+)?(?:rechnung|zählung"
            r"|beweis|berechnung"
            r"|ergebnis|summe|antwort|abzählung)\b",
            r"\b(?:berechne|löse|bestimme|ermittle|finde|beweise|vereinfache|schätze|entwirf|entwickle|konzipiere"
            r"|konstruiere|leite|folgere|zähle|faktorisiere|integriere|differenziere|analysiere|klassifiziere|minimiere"
            r"|maximiere|runde|(?:berechnen|lösen|bestimmen|ermitteln|finden|beweisen|vereinfachen|schätzen|entwerfen"
            r"|entwickeln|konzipieren|konstruieren|leiten|folgern|zählen|faktorisieren|integrieren|differenzieren"
            r"|analysieren|klassifizieren|minimieren|maximieren|runden)\s+sie)\b(?!\()",
            r"\bprüfe(?:n\s+sie)?\b[^.?!\n]{0,30}?\bob\b",
            r"\bwelche[nrs]?\s+(?:strecke|geschwindigkeit|wert|wahrscheinlichkeit|preis|temperatur|fläche|anzahl|summe"
            r"|entfernung|dauer|maße|abmessungen|seitenlängen|länge|breite|höhe|kosten|zinsen|ersparnis"
            r"|flächeninhalt|umfang"
            r"|volumen|radius|durchmesser|inhalt|gewicht|masse|betrag|ergebnis|steigung|zinssatz|durchschnitt"
            r"|mittelwert"
            r"|rate|gesamtkosten|gesamtbetrag|endbetrag|preis)\b",
            r"\bzeig(?:e|en\s+sie)?\b[^.?!\n]{0,30}?\bdass\b",
            r"\b(?:zeig(?:e|en\s+sie)?|beweis(?:e|en\s+sie)?)\s*:",
            r"\bwie\s+(?:viele?|viel|lange|weit|schnell|oft|groß|hoch)\b",
            # "Wie teuer ist es jetzt?" (not "doppelt so lang wie breit").
            r"\bwie\s+(?:teuer|billig|alt|schwer|breit|tief|warm|kalt)\s+(?:ist|sind|war|waren|wird|werden|wäre)\b",
            r"\b(?:was|wie\s+viel)\s+(?:ist|sind|ergibt|ergeben|macht|beträgt)\b" + _SAME_CLAUSE + r"\d",
            r"\bwas\s+(?:ist|sind)\s+(?:der|die|das|sein|seine|ihr|ihre|dein|deine|mein"
            r"|meine)\s+(?:\w+\s+)?(?:wert|summe|produkt|ergebnis|wahrscheinlichkeit"
            r"|fläche|flächeninhalt|volumen|umfang|ableitung|integral|grenzwert|durchschnitt|mittelwert|median|rest"
            r"|geschwindigkeit|entfernung|laufzeit|komplexität|anzahl|preis)\b",
            rf"^und\s+(?:für|fuer|mit|wenn|bei)\b{_MATHY}",
            rf"^(?:und\s+)?was\s+(?:kommt|käme|ergibt\s+sich)\b{_MATHY}",
            # "Gilt die Aussage auch für ...?", "Bleibt das Ergebnis richtig, wenn ...?": settled by proof.
            r"^(?:gilt|gelten|bleibt|bleiben|ist|sind|stimmt|stimmen|trifft|treffen)\b(?=[^?\n]*\b(?:aussage|ergebnis"
            r"|resultat|satz|behauptung|ungleichung|gleichung|schranke|abschätzung|formel|identität|eigenschaft|lemma"
            r"|folgerung|umkehrung|äquivalenz|argument|beweis|verfahren|algorithmus|methode)\w*\b)[^?\n]*\?",
            # Every imperative form (du, Sie) and separable verbs ("Rechne ... aus", "Leite ... her").
            _de_verbs("berechnen", "bestimmen", "ermitteln", "beweisen", "vereinfachen", "schätzen", "faktorisieren",
                      "integrieren", "differenzieren", "minimieren", "maximieren", "runden", "lösen", "finden",
                      "konstruieren", "aus+rechnen", "her+leiten", "ab+leiten", "nach+weisen", "ab+schätzen",
                      "rechnen", "nach+rechnen", "durch+rechnen"),
            r"\b(?:verfolge|simuliere|führe|wende|spiele|gehe)(?:n\s+sie)?\b[^.?!\n]{0,40}?\b(?:algorithmus"
            r"|verfahren|methode"
            r"|suche|iterations?\w*|schritte?|sortier\w*)\b",
        ),
        "explain": (
            r"\bschreib(?:e|en\s+sie)?\s+(?:mir\s+|uns\s+)?(?:bitte\s+)?(?:alle\s+|die\s+|den\s+|deine\s+|deinen\s+"
            r"|jeden\s+)?(?:zwischenschritte"
            r"|rechenschritte|schritte|rechenweg|lösungsweg)\b",
            r"\b(?:erkläre|erklär|beschreibe|begründe|vergleiche|erläutere|diskutiere|interpretiere|definiere"
            r"|veranschauliche|(?:erklären|beschreiben|begründen|vergleichen|erläutern|diskutieren|interpretieren"
            r"|definieren|veranschaulichen)\s+sie)\b",
            r"\b(?:warum|wieso|weshalb)\b",
            r"\bsag(?:e|en\s+sie)?\s+(?:mir|uns)\s*,?\s+(?:wie|warum|wieso|weshalb)\b",
            r"\bmach(?:e|t|en\s+sie)?\s+(?:\w+\s+)?deutlich\b|\bverdeutliche(?:n\s+sie)?\b",
            # "Bitte mit Rechenweg.": the working asked for, as a part of its own.
            r"^(?:bitte\s+)?(?:(?:und|aber)\s+)?(?:bitte\s+)?(?:mit\s+|den\s+"
            r"|auch\s+den\s+)?(?:(?:ausführlichem|vollständigem"
            r"|kurzem|komplettem)\s+)?"
            r"(?:rechenweg|lösungsweg|zwischenschritten|begründung|erklärung)\b",
            # "... und zeig deinen Rechenweg": the working shown, like "Show your work".
            r"\bzeig(?:e|t|en\s+sie)?\s+(?:mir\s+|uns\s+)?(?:bitte\s+|mal\s+|noch\s+|auch\s+)*(?:deinen|ihren"
            r"|den|die|deine|ihre|alle|jeden)\s+(?:\w+\s+)?"
            r"(?:rechenweg|lösungsweg|rechenschritte?|zwischenschritte?|schritte?|rechnung|überlegungen?|weg)\b",
            r"\bwie\s+(?:funktioniert|funktionieren|arbeitet|kommt|kann|können|geht)\b",
            # Advice, when no numbers make it a sum: "Wie lange sollte ich Nudeln kochen?"
            r"\bwie\s+(?:lange|viel|viele|oft)\s+(?:sollte|soll|sollten|muss|müssen)\s+(?:ich|man|wir"
            r"|du)\b(?![^?\n]*\d)"
            # (Not an amount to pay: "Wie viel muss man noch bezahlen?" after a price.)
            r"(?!(?:\s+\w+){0,2}\s+(?:bezahlen|zahlen|ausgeben|überweisen|sparen|einzahlen|zurückzahlen)\b)",
            r"\bwas\s+(?:ist|sind|bedeutet|bedeuten|passiert|macht|gibt|tut)\b",
            r"^und\s+(?:für|fuer|mit|wenn|bei)\b",
            r"\b(?:gib|geben\s+sie)\s+(?:mir|uns)\s+(?:ein\s+paar\s+|einige\s+)?(?:tipps|ratschläge|ideen|vorschläge"
            r"|empfehlungen)\b",
            _de_verbs("erklären", "beschreiben", "begründen", "vergleichen", "erläutern", "diskutieren",
                      "interpretieren", "definieren", "veranschaulichen", "schildern", "zusammen+fassen", "dar+stellen",
                      "dar+legen"),
        ),
        "code": (
            r"\bwie\s+\w+\s+(?:ich|man)\s+mit\s+(?:einem|einer)\s+(?:[\w-]+-)?(?:befehl|kommando|skript|einzeiler)\b",
            # "Bau sie bitte so um, dass ...": a separable verb of rebuilding code.
            r"\bbau(?:e|en\s+sie)?\b(?:\s+[^\s.?!,;]+){1,5}?\s+um\b",
            # "Wie finde ich per SQL die Kunden, ...": how to do it in a language.
            r"\bwie\s+(?:\w+\s+)?(?:ich|man)\s+(?:[\w-]+\s+){0,2}?(?:per|mit|in|über|via)\s+" + _LANGS + r"(?![\w+#])",
            # "..., dazu ein kurzes Python-Programm, das ...": code named after the joining word.
            r"\b(?:dazu|sowie|außerdem|zusätzlich|und\s+auch)\s+(?:noch\s+)?(?:ein|eine|einen)\s+(?:[\w-]+\s+){0,2}?"
            + _DE_CODE_NOUN + r"\b",
            r"\b(?:schreib(?:e|en\s+sie)?|erstelle|erstellen\s+sie|erzeuge|gib|geben\s+sie|generiere|programmiere"
            r"|definiere|formulier(?:e|en\s+sie))\s+(?:mir\s+|uns\s+)?(?:(?:eine?[nmrs]?|die|den|das|der|dem"
            r"|etwas)\s+)?(?:[\w+#-]+\s+){0,3}?"
            rf"{_DE_CODE_NOUN}\b",
            r"\b(?:implementiere|programmiere|debugge|refaktoriere|(?:implementieren|programmieren|debuggen"
            r"|refaktorieren)\s+sie)\b",
            r"\b(?:änder(?:e|n\s+sie)|erweiter(?:e|n\s+sie)|konvertier(?:e|en\s+sie)|übersetz(?:e|en\s+sie)"
            r"|portier(?:e|en\s+sie)|optimier(?:e|en\s+sie)|korrigier(?:e|en\s+sie)|mach(?:e|en\s+sie)?"
            r"|schreib(?:e|en\s+sie)?)\s+(?:(?:die|den|das|diese[nms]?)\s+(?:[\w+#-]+\s+)?" + _DE_CODE_NOUN
            + r"|ihn|es|sie)\b",
            rf"\bwie\b{_SAME_CLAUSE}\b(?:ich|man|wir)\b{_SAME_CLAUSE}\b(?:in|mit)\s+{_LANGS}(?![\w+#])",
            # "Wie behebe ich das?", "Wie kann ich den Fehler beheben?": how to fix a fault is code.
            r"\bwie\s+(?:(?:kann|könnte|soll)\s+(?:ich|man|wir)\s+(?:[\w-]+\s+){0,3}?(?:beheben|reparieren"
            r"|fixen|debuggen)"
            r"|(?:behebe|repariere|fixe|debugge)\s+(?:ich|man|wir))\b",
            # Anything written or built in a programming language is code ("schreibe einen UDP-Client in Python").
            r"\b(?:schreib(?:e|en\s+sie)?|erstelle(?:n\s+sie)?|bau(?:e|en\s+sie)?|programmiere(?:n\s+sie)?)\b"
            r"[^.?!\n,;]*?\b(?:in|mit)\s+" + _LANGS + r"(?![\w+#])",
            # Verb last, as after a modal: "Kannst du eine Funktion schreiben, die ...", "... umschreiben?"
            r"\b(?:eine?[nmrs]?|den|die|das)\s+(?:[\w+#-]+\s+){0,2}?" + _DE_CODE_NOUN
            + r"\s+(?:schreiben|erstellen|programmieren|implementieren)\b",
            r"\bum(?:zu)?(?:schreiben|bauen)\b",
            r"\bwie\s+(?:sieht|s[aä]he|würde)\s+(?:eine?[nmrs]?|der|die|das)\s+(?:[\w+#-]+\s+){0,2}?" + _DE_CODE_NOUN
            + r"\b[^.?!\n]{0,80}?\baus(?:sehen)?\b",
            # "Kannst du das noch anpassen, damit ...?": a change to the code just given.
            r"\b(?:das|es|ihn|sie|die\s+funktion|den\s+code|das\s+skript)\s+(?:noch\s+|bitte\s+|so\s+"
            r"|mal\s+)*(?:anpassen|ändern"
            r"|umbauen|erweitern|umschreiben|korrigieren|verbessern|optimieren)\b",
            # An example in a language is code: "... und gib ein Beispiel in Python."
            r"\b(?:gib|geben\s+sie|zeig(?:e|en\s+sie)?|schreib(?:e|en\s+sie)?)\s+(?:mir\s+"
            r"|uns\s+)?(?:noch\s+)?(?:ein(?:en|ige)?\s+)?"
            rf"(?:\w+\s+)?(?:code)?beispiel(?:e)?\b{_SAME_CLAUSE}\b(?:in|mit)\s+{_LANGS}(?![\w+#])",
            # "Füge Typannotationen hinzu", "Ergänze Tests": a change to the code.
            r"\bfüge(?:n\s+sie)?\b[^.?!\n]{0,60}?\bhinzu\b",
            r"\bergänze(?:n\s+sie)?\s+(?:(?:eine?[nmrs]?|die|den|das)\s+)?(?:[\w-]+\s+)?(?:\w*tests?"
            r"|kommentare?|typannotationen"
            r"|typhinweise|fehlerbehandlung|docstrings?|logging|validierung|parameter|methoden?)\b",
            r"\bschreib(?:e|en\s+sie)?\b(?:\s+[^\s.?!,;]+){1,5}?\s+um\b(?=\s*(?:[.?!,;]|$))",
            _de_verbs("implementieren", "programmieren", "debuggen", "refaktorieren"),
            # A bare verb of changing code: "Korrigiere das bitte.", "Bitte fixen."
            r"^(?:bitte\s+)?(?:korrigier(?:e|en\s+sie)?|fix(?:e|en\s+sie)?|debugge|reparier(?:e|en\s+sie)?"
            r"|beheb(?:e|en\s+sie)?"
            r"|korrigieren|fixen|debuggen|reparieren|beheben)(?:\s+(?:das|es|ihn|sie|den\s+fehler|bitte|jetzt|nochmal"
            r"|mal|doch))*\s*[.!]*$",
        ),
    },
    joiners=r"und|dann|danach|anschließend|dazu|sowie",
    fillers=r"und|dann|danach|anschließend|dazu|sowie|außerdem|auch|bitte|jetzt|nun|zum\s+schluss|schließlich|zuletzt"
    r"|zusätzlich|abschließend|kannst\s+du|können\s+sie",
    elaboration=r"(?:(?:es|sie|er)\s+|(?:das|die|der|dein|deine|ihr|ihre|jede|jeder|jedes)\s+(?:[\w-]+\s+){1,2}?)"
    r"(?:soll|sollte|muss|müssen|sollen|darf|kann)\b",
    continuation=r"(?:es|sie|er|das|die|der|dies|diese[rsm]?|dein|deine|verwende|benutze|nutze|achte|ohne|mit|nur"
    r"|aber|auch|bitte|hier)\b",
)

_FR_CODE_NOUN = (r"(?:(?:fonction|programme|code|script|classe|méthode|requête|test|expression\s+régulière|regex"
                 r"|implémentation|version|commande|ligne\s+crontab|crontab)s?|exemples?\s+(?:de\s+code"
                 r"|en\s+" + _LANGS + r")"
                 r"|formules?\s+(?:excel|google\s+sheets|sheets|calc|de\s+tableur|dans\s+excel)"
                 r"|lignes?\s+de\s+(?:code|" + _LANGS
                 + r"))")
FRENCH = Language(
    cues={
        "solve": (
            r"\bdire\s+si\s+[^?.!\n]{0,60}?\best\s+(?:arithmétique|géométrique|convergente?|divergente?|bornée?"
            r"|croissante?"
            r"|décroissante?|premier|pair|impair|rationnel|irrationnel|continue|dérivable|inversible)\b",
            # "Et sa diagonale ?" after a result.
            r"^et\s+(?:sa|son|ses|le|la|les|l['’])\s*(?:\w+\s+)?(?:diagonale|aire|périmètre|volume|surface"
            r"|hauteur|longueur"
            r"|largeur|rayon|diamètre|moyenne|médiane|variance|dérivée|intégrale|limite|somme|produit|valeur"
            r"|prix|coût|total)\s*\?",
            # "Et si le rayon double ?": the same result for changed givens.
            r"^et\s+si\s+(?:le|la|les|l['’])\s*\w+\s+(?:double|triple|diminue|augmente|vaut|passe\s+à|est\s+de)\b",
            r"\bcorrige[zr]?\s+(?:le|la|les|ton|ta|tes|votre|vos|mon|ma|l['’])\s*(?:\w+\s+)?(?:dénombrement"
            r"|calcul|comptage|preuve"
            r"|démonstration|raisonnement|résultat|somme|réponse)\b",
            r"\b(?:calcule[zr]?|résous|résolvez|résoudre|détermine[zr]?|trouve[zr]?|démontre[zr]?|prouve[zr]?"
            r"|simplifie[zr]?|factorise[zr]?|estime[zr]?|conçois|concevez|concevoir|construis|construisez|construire"
            r"|évalue[zr]?|dérive[zr]?|déduis|déduisez|déduire|analyse[zr]?|prédis|prédisez|intègre|intégrez"
            r"|minimise[zr]?|maximise[zr]?|élabore[zr]?|arrondis(?:sez)?)\b(?!\()",
            r"\bvérifie[zr]?\s+(?:que|si|qu['’])",
            r"\bquel(?:le)?s?\s+(?:distance|vitesse|durée|valeur|probabilité|somme|prix|température|masse|hauteur"
            r"|longueur|aire|surface|pourcentage|quantité|montant)\b",
            # ("Montrer par récurrence que ...": the method may come first.)
            r"\bmontre[zr]?\s+(?:(?:par|avec|en\s+utilisant|à\s+l['’]aide\s+d(?:e\s+|['’]))\s*(?:[\w'’-]+\s+){1,2}?)?"
            r"qu(?:e\b|['’])",
            r"\bcombien\b",
            r"\bquel(?:le)?s?\s+(?:est|sont|était|sera)\b" + _SAME_CLAUSE + r"\d",
            r"\bquel(?:le)?s?\s+(?:est|sont|était|sera)\s+(?:le|la|les|son|sa|ses|leur|mon|ma|ton|ta|votre|notre"
            r"|l['’])\s*(?:\w+\s+)?(?:valeur|résultat|prix"
            r"|somme|produit|probabilité|aire|volume|périmètre|dérivée|intégrale|limite|moyenne|médiane|reste|vitesse"
            r"|distance|complexité|nombre|total|coût|pourcentage)\b",
            rf"^et\s+(?:pour|avec|si|quand|dans)\b{_MATHY}",
            # "Le résultat reste-t-il vrai ...?", "L'inégalité est-elle encore valable ...?": settled by proof.
            r"^(?=[^?\n]*\b(?:résultats?|théorèmes?|énoncés?|propriétés?|inégalités?|égalités?|identités?|formules?"
            r"|bornes?|lemmes?|propositions?|conclusions?|affirmations?|réciproques?|assertions?|estimations?"
            r"|arguments?"
            r"|démonstrations?|preuves?|méthodes?|algorithmes?)\b)"
            r"(?:[^?\n]*\b\w+(?:-t)?-(?:il|elle|ils|elles)\b|est-ce\s+que\b|(?:et\s+)?si\b)[^?\n]*\?",
            # Every imperative form and the infinitive of instructions ("Montrer", "Calculer"), with clitics.
            _fr_verbs("calculer", "déterminer", "trouver", "démontrer", "prouver", "simplifier", "factoriser",
                      "évaluer", "dériver", "minimiser", "maximiser", "élaborer", "exprimer", "dénombrer", "majorer",
                      "minorer", "établir/is", "arrondir/is", "convertir/is", "résoudre=résous|résolvez",
                      "construire=construis|construisez", "concevoir=conçois|concevez", "déduire=déduis|déduisez",
                      "poser=pose|posez", "développer", "réduire=réduis|réduisez", "vérifier",
                      "prédire=prédis|prédisez", "recalculer"),
            r"\b(?:déroule[zr]?|simule[zr]?|exécute[zr]?|applique[zr]?|trace[zr]?|effectue[zr]?)\b[^.?!\n]{0,40}?"
            r"\b(?:algorithme|méthode|procédé|procédure|recherche|tri|itérations?|étapes?|parcours)\b",
        ),
        "explain": (
            r"\bcomprendre\s+(?:pourquoi|comment|l['’]intérêt|le\s+sens|le\s+rôle|ce\s+que|ce\s+qu['’])",
            r"\b(?:explique[zr]?|décris|décrivez|décrire|justifie[zr]?|compare[zr]?(?!-)|commente[zr]?|interprète"
            r"|interprétez|discute[zr]?|définis|définissez|illustre[zr]?|clarifie[zr]?|résume[zr]?)\b",
            r"\bpourquoi\b",
            r"\bcombien\s+(?:de\s+\w+\s+)?(?:faut-il|dois-je|devrais-je|doit-on|faudrait-il)\b(?![^?\n]*\d)",
            r"\bcomment\s+(?:fonctionne|fonctionnent|marche|marchent|se\s+fait|est-ce|peut-on|faire|expliquer)\b",
            r"\bqu['’]est-ce\b",
            r"\bcomment\s+(?:on\s+)?[a-zéèêàç]+(?:er|ir|re)\b",
            r"\bdi(?:s|tes)-(?:moi|nous)\s+(?:comment|pourquoi)\b",
            r"\b(?:me\s+|nous\s+)dire\s+(?:ce\s+qu|pourquoi|comment|quel|si\b)",
            r"\b(?:merci\s+de|prière\s+de|n['’]oublie(?:z)?\s+pas\s+de)\s+(?:bien\s+vouloir\s+)?(?:me\s+"
            r"|nous\s+)?(?:détailler"
            r"|expliquer|justifier|montrer|décrire|préciser)\b",
            r"\b(?:comment|pourquoi)\s*(?:\w+\s*)?\?\s*$",
            r"\b(?:donne[zr]?|rappelle[zr]?|énonce[zr]?)\s+(?:la|une)\s+définition\b",
            r"\bque\s+(?:signifie|veut\s+dire|fait|renvoie|affiche|se\s+passe)\b",
            r"\bqu['’]en\s+est-il\b",
            # Spoken French: "C'est quoi la différence entre ... ?"
            r"\bc['’]est\s+quoi\b",
            r"\bquelles?\s+(?:est|sont)\s+(?:la|les)\s+différences?\b",
            r"\bquelles?\s+différences?\b",
            r"^et\s+(?:pour|avec|si|quand|dans)\b(?![^?\n]*\bcombien\b)",
            _fr_verbs("expliquer", "justifier", "comparer", "commenter", "interpréter", "discuter", "illustrer",
                      "clarifier", "résumer", "détailler", "présenter", "expliciter", "argumenter", "montrer",
                      "définir/is", "décrire=décris|décrivez"),
        ),
        "code": (
            r"\bcommenter\s+(?:le|ce|mon|ton|votre)\s+code\b",
            # "Corrige ça pour que ça marche aussi avec des nombres négatifs.": the code changed to work.
            r"\b(?:corrige|modifie|change|adapte)[zr]?\s+(?:ça|ca|cela)\s+pour\s+qu",
            r"\b(?:et\s+)?(?:aussi|ainsi\s+que|également)\s+(?:un|une"
            r"|des)\s+(?:[\w-]+\s+){0,2}?" + _FR_CODE_NOUN + r"\b",
            r"(?:\b(?:écris|écrivez|écrire|crée|créez|créer|génère|générez|donne|donnez|fournis"
            r"|fournissez)(?:-(?:moi|nous))?"
            r"|\b(?:me|nous)\s+(?:écrire|créer|générer|donner|fournir|coder|programmer))\s+"
            r"(?:(?:une?|du|des|le|la|les|cette|ce)\s+|l['’])?(?:[\w+#'’-]+\s+){0,3}?" + _FR_CODE_NOUN + r"\b",
            r"\b(?:implémente[zr]?|programme[zr]|débogue[zr]?|refactorise[zr]?)\b",
            r"\bajoute[zr]?\s+(?:(?:des|un|une|le|la|les|du|de\s+la)\s+)?(?:[\w-]+\s+)?(?:tests?|commentaires?"
            r"|docstrings?"
            r"|annotations?|gestion|journalisation|logs?|validation|exceptions?|paramètres?|arguments?|méthodes?)\b",
            r"\bcode[zr]?(?:-(?:moi|nous))?\s+(?:une?|le|la|les|du|des|cette|ce)\s+(?:[\w+#'’-]+\s+){0,3}?"
            + _FR_CODE_NOUN + r"\b",
            # "Passe-le en Java", "Fais-la en Rust": the same code in another language.
            rf"-(?:le|la|les)\s+en\s+{_LANGS}(?![\w+#])",
            r"\br[ée][ée]cri(?:s|vez|re|t)\b",
            r"\b(?:modifie[zr]?|corrige[zr]?|convertis(?:sez)?|tradui[st]|traduisez|adapte[zr]?|optimise[zr]?|étends"
            r"|étendez|change[zr]?|transforme[zr]?|rends|rendez)(?:-(?:le|la|les)\b|\s+(?:(?:cette|ce|le|la|les"
            r"|ton|ta|votre|mon|ma)\s+|l['’])(?:[\w+#-]+\s+)?"
            r"(?:fonction|code|programme|méthode|classe|script|requête|boucle|algorithme)\b)",
            rf"\bcomment\b{_SAME_CLAUSE}\b(?:en|avec)\s+{_LANGS}(?![\w+#])",
            # "Rajoute quelques tests unitaires stp.": more code for the code.
            r"\b(?:r?ajoute[zr]?)\s+(?:des|quelques|un|une|les)?\s*(?:\w+\s+)?(?:tests?|vérifications?"
            r"|validations?|contrôles?"
            r"|commentaires"
            r"|docstrings?|annotations"
            r"|gestion\s+d['’]erreurs?)\b",
            # "Tu peux l'adapter pour qu'elle accepte une liste vide ?": a change to the code just given.
            r"\b(?:le|la|les|l['’])\s*(?:adapter|modifier|réécrire|corriger|changer|étendre|optimiser|convertir"
            r"|traduire"
            r"|refactoriser|simplifier|accélérer|rendre)\b",
            r"\bcomment\s+(?:(?:puis-je|je\s+peux|on\s+peut|peut-on|dois-je)\s+)?(?:le\s+|la\s+"
            r"|les\s+)?(?:corriger|réparer|déboguer"
            r"|fixer)\b",
            r"\b(?:écris|écrivez|écrire|crée[zr]?|code[zr]?|programme[zr])(?:-(?:moi|nous))?\b[^.?!\n,;]*?\ben\s+"
            + _LANGS + r"(?![\w+#])",
            _fr_verbs("implémenter", "déboguer", "refactoriser", "scripter", "programmer=programmez",
                      "réécrire=réécris|réécrivez"),
        ),
    },
    joiners=r"et|puis|ensuite|ainsi\s+que",
    # (Fillers of every language apply to every query: only pronouns no other language has, "lui", "leur".)
    fillers=r"et|puis|ensuite|ainsi\s+que|enfin|aussi|lui|leur|également|maintenant|finalement|s['’]il\s+(?:te|vous)\s+plaît|peux-tu"
    r"|pouvez-vous",
    elaboration=r"(?:(?:il|elle)\s+|(?:le|la|les|ton|ta|votre|chaque)\s+(?:[\w-]+\s+){1,2}?)(?:doit|doivent|devra"
    r"|devrait|peut)\b",
    continuation=r"(?:il|elle|ils|elles|le|la|les|l['’]|cela|ceci|ce|cette|ton|ta|votre|utilise[zr]?|sans|avec"
    r"|seulement|mais|aussi|voici)\b",
)

_ES_CODE_NOUN = (r"(?:funci[oó]n(?:es)?|funciones|(?:programita|scriptcito|"
                 r"programa|código|codigo|script|clase|método|metodo|consulta|prueba"
                 r"|ejemplo)s?|expresi[oó]n(?:es)?\s+regular(?:es)?|regex|implementaci[oó]n(?:es)?|versi[oó]n(?:es)?"
                 r"|f[oó]rmulas?\s+(?:de|en|para)\s+(?:excel|google\s+sheets|sheets|calc|la\s+hoja\s+de\s+c[aá]lculo))")
SPANISH = Language(
    cues={
        "solve": (
            r"\ba\s+partir\s+de\s+cu[aá]nt[oa]s\b",
            r"^¿?\s*y\s+si\b[^?\n]*\b(?:perímetro|área|volumen|radio|lado|precio|tasa|interés|altura|base|descuento)\b",
            r"^¿?\s*y\s+(?:su|sus|el|la)\s+(?:diagonal|área|area|perímetro|volumen|altura|radio|diámetro|media"
            r"|mediana|derivada"
            r"|integral|suma|valor|precio|coste|costo|total)\s*\?",
            r"\bjustifica\w*\s+(?:con\s+rigor\s+|formalmente\s+|rigurosamente\s+)que\b",
            # "... el mínimo común múltiplo de 12, 18 y 30. ¿Cuál es?": the value asked for, bare.
            r"^¿?\s*(?:y\s+)?(?:cu[aá]l\s+es|cu[aá]nto\s+(?:es|da|sale|mide|cuesta|vale))\s*\?",
            r"\b(?:corrige|corrija)\s+(?:el|la|los|tu|su|mi)\s+(?:\w+\s+)?(?:conteo|c[aá]lculo|demostraci[oó]n"
            r"|prueba|resultado"
            r"|suma|respuesta|recuento)\b",
            r"\b(?:calcula|calcule|calcular|resuelve|resuelva|resolver|determina|determine|determinar|encuentra"
            r"|encuentre|encontrar|halla|halle|hallar|demuestra|demuestre|demostrar|simplifica|simplifique"
            r"|simplificar|factoriza|factorice|estima|estime|diseña|diseñe|diseñar|construye|construya|evalúa|evalúe"
            r"|analiza|analice|analizar|deduce|deduzca|predice|prediga|clasifica|clasifique|minimiza|minimice|maximiza"
            r"|maximice|redondea|redondee)\b(?!\()",
            r"\b(?:verifica|verifique|comprueba|compruebe)\s+(?:que|si)\b",
            r"\bqu[eé]\s+(?:distancia|velocidad|valor|probabilidad|precio|porcentaje|cantidad|área|temperatura"
            r"|duración|edad|altura|longitud|peso|masa|volumen|superficie)\b",
            r"\b(?:prueb[ae]|probar|comprobar|verificar)\s+(?:(?:por|mediante|usando"
            r"|con)\s+(?:[\w-]+\s+){1,2}?)?(?:que|si)\b",
            r"\b(?:saldr[ií]a|ser[ií]a|dar[ií]a|quedar[ií]a|costar[ií]a)\s+(?:lo\s+mismo|igual|m[aá]s\s+barato"
            r"|m[aá]s\s+caro)\b",
            r"\bcu[aá]nt[oa]s?\b",
            r"\bcu[aá]l(?:es)?\s+(?:es|son|será|sería|fue)\b" + _SAME_CLAUSE + r"\d",
            r"\bcu[aá]l(?:es)?\s+(?:es|son|será|sería|fue)\s+(?:el|la|los|las|su|sus|mi|mis|tu|tus|nuestro|nuestra)\s+"
            r"(?:\w+\s+)?(?:valor|resultado|precio"
            r"|suma|producto|probabilidad|área|volumen|perímetro|derivada|integral|límite|media|mediana|resto"
            r"|velocidad|distancia|complejidad|número|total|coste|costo|porcentaje)\b",
            rf"^y\s+(?:con|para|si|cuando|en)\b{_MATHY}",
            # "¿Sigue siendo cierto el resultado si ...?", "¿El teorema sigue valiendo ...?": settled by proof.
            r"^(?=[^?\n]*\b(?:resultados?|teoremas?|enunciados?|propiedad(?:es)?|desigualdad(?:es)?|igualdad(?:es)?"
            r"|identidad(?:es)?|fórmulas?|formulas?|cotas?|lemas?|proposici[oó]n(?:es)?|conclusi[oó]n(?:es)?"
            r"|afirmaci[oó]n(?:es)?|rec[ií]proc[oa]|argumentos?|demostraci[oó]n(?:es)?|m[eé]todos?"
            r"|algoritmos?)\b)(?=[^?\n]*\b(?:sigue|siguen|vale|valen|valiendo|cumple|cumplen"
            r"|cierto|cierta|ciertos|ciertas|verdadero|verdadera|v[aá]lid[oa]s?|mantiene|mantienen|contin[uú]a"
            r"|aplica|aplican)\b)[^?\n]*\?",
            # Every imperative form and the infinitive of instructions ("Demostrar que", "Calcular"), with clitics.
            _es_verbs("calcular", "determinar", "hallar", "simplificar", "factorizar", "estimar", "derivar", "integrar",
                      "expresar", "evaluar", "analizar", "minimizar", "maximizar", "redondear", "acotar",
                      "resolver:resuelv", "demostrar:demuestr", "encontrar:encuentr", "deducir=deduce|deduzca",
                      "construir=construye|construya", "recalcular", "plantear"),
            r"\b(?:aplica|aplique|aplicar|simula|simule|simular|ejecuta|ejecute|ejecutar|traza|trace|trazar|sigue|siga"
            r"|recorre|recorra)\b[^.?!\n]{0,40}?\b(?:algoritmo|método|metodo|procedimiento|búsqueda|ordenación"
            r"|iteraciones|pasos|recorrido)\b",
        ),
        "explain": (
            r"\b(?:explica|explique|explicar|describe|describa|describir|justifica|justifique|compara"
            r"|compare(?!-)|comenta|comente"
            r"|interpreta|interprete|discute|discuta|define|defina|aclara|aclare|resume|resuma|ilustra|ilustre)\b",
            # With a clitic the stress mark moves: "explícame", "descríbelo".
            r"\b(?:expl[ií]ca|descr[ií]be|just[ií]fica|comp[aá]ra)(?:me|nos|lo|la|los|las|melo|mela)\b",
            r"\bqu[eé]\s+diferencias?\b",
            # "... y dime cómo lo hiciste": how it was done, in prose.
            r"\b(?:d[ií](?:me|nos|game|ganos)|cu[eé]nta(?:me|nos))\s+(?:c[oó]mo|por\s+qu[eé]|de\s+d[oó]nde"
            r"|cu[aá]l|qu[eé]|si)\b",
            r"\b(?:me|nos)\s+(?:lo|la|los|las)?\s*explicas\b",
            r"\bse\s+diferencian?\b|\bdiferencias?\s+entre\b",
            # "... y muestra tu procedimiento": the working shown, like "Show your work".
            r"\bmu[eé]str(?:a|e|ame|eme|anos|enos)\s+(?:tu|su|el|los|todo\s+el|todos\s+los|cada)\s+(?:\w+\s+)?"
            r"(?:procedimiento|razonamiento|pasos?|c[aá]lculos?|desarrollo|trabajo|planteamiento)\b",
            r"\bpor\s+qu[eé]\b",
            r"\bcu[aá]nt[oa]s?\s+(?:\w+\s+)?(?:deber[ií]a|debo|hay\s+que|se\s+debe|conviene)\b(?![^?\n]*\d)",
            r"\bc[oó]mo\s+(?:funciona|funcionan|se\s+\w+|es|son|puede|puedo)\b",
            r"\bqu[eé]\s+(?:es|son|significa|hace|hacen|devuelve|imprime|pasa|ocurre|sucede)\b",
            r"^y\s+(?:con|para|si|cuando|en)\b",
            _es_verbs("explicar", "describir", "justificar", "comparar", "interpretar", "definir", "resumir", "aclarar",
                      "detallar", "comentar", "ilustrar", "discutir", "argumentar", "razonar"),
        ),
        "code": (
            r"\bc[aá]mbia(?:lo|la|los|las)\b",
            # "¿Cómo filtro filas de un DataFrame de pandas por fecha?": how to do it in a language or library.
            r"c[oó]mo\s+(?:\w+\s+)?(?:filtro|ordeno|agrupo|leo|escribo|cargo|convierto|hago|calculo|cuento|uno"
            r"|junto|elimino"
            r"|borro|quito|cambio|paso|guardo|exporto|importo|obtengo|saco"
            r"|creo)\b(?=[^?\n]*\b" + _LANGS + r"(?![\w+#]))",
            # "..., y también un programa en Python que compruebe el resultado.": code named after the joining word.
            r"\b(?:y\s+)?(?:también|además)\s+(?:un|una|unos|unas)\s+(?:[\w-]+\s+){0,2}?" + _ES_CODE_NOUN + r"\b",
            # With a clitic the stress mark moves: "escríbeme", "créanos", "genérame".
            r"\b(?:escr[ií]be|escr[ií]ba|escribir|cr[eé]a|cr[eé]e|crear|gen[eé]ra|gen[eé]re|dame|deme"
            r"|proporci[oó]na|haz|h[aá]game"
            r"|prep[aá]ra|prep[aá]re)"
            r"(?:me|nos|le|les)?\s+"
            r"(?:(?:una?|el|la|los|las|algo\s+de)\s+)?(?:[\w+#-]+\s+){0,3}?" + _ES_CODE_NOUN + r"\b",
            r"\b(?:implementa|implemente|implementar|depura|depure|refactoriza|refactorice)\b",
            r"\bprogram[ae]\s+(?:una?|el|la)\b",
            r"\ba[ñn]ad[ea](?:le|les)?\s+(?:(?:unas?|unos?|el|la|los|las)\s+)?(?:[\w-]+\s+)?(?:pruebas?|tests?"
            r"|comentarios?"
            r"|manejo|validación|validacion|anotaciones|tipos|docstrings?|parámetros?|parametros?|métodos?|metodos?"
            r"|registros?|logs?|excepciones?)\b",
            # "Pásalo a Java", "Hazlo en Rust": the same code in another language.
            rf"\b\w+(?:lo|la|los|las)\s+(?:a|en)\s+{_LANGS}(?![\w+#])",
            r"\brees?cr[ií]b(?:e|a|ir)(?:l[oa]s?)?\b",
            r"\b(?:corr[ií]gel[oa]s?|arr[eé]glal[oa]s?|rep[aá]ral[oa]s?|depúral[oa]s?|depural[oa]s?)\b",
            r"\b(?:adaptar|modificar|cambiar|corregir|convertir|traducir|optimizar|extender|reescribir"
            r"|arreglar)(?:l[oa]s?)\b",
            r"\b(?:convi[eé]rte|modif[ií]ca|trad[uú]ce|ad[aá]pta|optim[ií]za|ext[ií]ende|c[aá]mbia|transf[oó]rma"
            r"|h[aá]z)l[oa]s?\b(?!\s+(?:para|con|de|otra)\b)",
            r"\b(?:modifica|modifique|corrige|corrija|convierte|convierta|traduce|traduzca|adapta|adapte|optimiza"
            r"|optimice|extiende|extienda)(?:l[oa]s?\b|\s+(?:esta|este|la|el|tu|su|mi)\s+(?:[\w+#-]+\s+)?"
            r"(?:función|funcion|código|codigo|programa|método|clase|script|consulta|bucle|algoritmo)\b)",
            rf"\bc[oó]mo\b{_SAME_CLAUSE}\ben\s+{_LANGS}(?![\w+#])",
            r"\bc[oó]mo\s+(?:(?:puedo|se\s+puede|podr[ií]a)\s+)?(?:lo\s+|la\s+)?(?:arreglo|arreglar|corrijo"
            r"|corregir|depuro"
            r"|depurar)(?:l[oa])?\b",
            r"\b(?:escr[ií]b[ea](?:me|nos)?|escribir|cr[eé][ae](?:me|nos)?|crear|programa|programe|programar)\b"
            r"[^.?!\n,;]*?\ben\s+" + _LANGS + r"(?![\w+#])",
            _es_verbs("implementar", "depurar", "refactorizar", "codificar", "programar=programe|programad"),
            r"\b(?:represent[ae]|grafic[ae]|dibuj[ae]|traz[ae]|calcul[ae]|simul[ae]|visualiz[ae])\b" + _SAME_CLAUSE
            + r"\b(?:en|con)\s+" + _LANGS + r"(?![\w+#])",
        ),
    },
    joiners=r"y|luego|después|así\s+como",
    fillers=r"y|luego|después|así\s+como|además|también|ahora|finalmente|por\s+último|por\s+favor|puedes|podrías",
    elaboration=r"(?:(?:el|la|los|las|tu|su|cada)\s+(?:[\w-]+\s+){1,2}?)?(?:debe|deben|debería|tiene\s+que"
    r"|tendrá\s+que)\b|que\s+(?:muestre|imprima|devuelva|guarde|escriba|registre|avise|cuente|ignore|acepte|maneje)\b",
    continuation=r"(?:el|la|los|las|esto|eso|esta|este|tu|su|usa|use|utiliza|utilice|sin|con|solo|pero"
    r"|también|aquí)\b",
)

LANGUAGES: dict[str, Language] = {"en": ENGLISH, "de": GERMAN, "fr": FRENCH, "es": SPANISH}


def merge_cues(languages: Sequence[Language]) -> dict[str, tuple[str, ...]]:
    """One cue table from several languages: each role's cues, language after language, roles in first-seen order."""
    merged: dict[str, tuple[str, ...]] = {}
    for language in languages:
        for role, patterns in language.cues.items():
            merged[role] = merged.get(role, ()) + tuple(patterns)
    return merged


# What every role gets unless models.toml gives it `cues` (which replace these for that role).
DEFAULT_CUES: dict[str, tuple[str, ...]] = merge_cues(list(LANGUAGES.values()))


# The built-in cues of German, French and Spanish, by pattern: they only run on a query with a mark of their
# language (`_languages`), which saves most of the matching on the rest. English cues always run.
_ENGLISH_PATTERNS = frozenset(pattern for patterns in ENGLISH.cues.values() for pattern in patterns)
_PATTERN_LANGUAGE: dict[str, str] = {
    pattern: code
    for code, language in LANGUAGES.items() if code != "en"
    for patterns in language.cues.values() for pattern in patterns
    if pattern not in _ENGLISH_PATTERNS
}
# Function words, letters and marks common in each language: any one of them lets its cues run. Generous on
# purpose, since a missing mark would lose a cue while an extra one only costs time.
_LANGUAGE_MARKS = {
    "de": re.compile(
        r"[äöüß]|\b(?:und|der|das|den|dem|des|ist|sind|ich|du|wir|nicht|mit|für|fuer|ein|eine|einen|einem|zu|von"
        r"|wie|wer|bitte|warum|wieso|weshalb|kannst|können|mir|mich|uns|sie|auf|aus|bei|nach|oder|aber|auch"
        r"|gibt|gilt|zeig\w*|schreib\w*|berechne\w*|bestimme\w*|erkläre?\w*|mach\w*|dass|ob|wenn|noch|nur|nun"
        r"|jetzt|danke|hallo|hat|habe)\b",
        re.IGNORECASE,
    ),
    "fr": re.compile(
        r"[éèêëàâçùûîïôœ]|\b(?:le|la|les|un|une|des|de|et|est|que|qui|pour|avec|dans|sur|pas|je|tu|il|elle|vous|nous"
        r"|ce|cette|ces|quel\w*|comment|pourquoi|combien|montre\w*|calcule\w*|écri\w*|ecri\w*|donne\w*|fais|faire|moi"
        r"|mon|ma|mes|ton|ta|tes|son|sa|ses|en|au|aux|si|puis|ensuite|merci|bonjour|salut|svp|stp)\b|\b[ldjcsqnm]['’]",
        re.IGNORECASE,
    ),
    "es": re.compile(
        # (Not "ü" alone, nor "du" for French: German has them too.)
        r"[ñáíóú¿¡]|\b(?:el|la|los|las|un|una|unos|unas|y|que|de|del|en|por|para|con|es|como|qu[eé]|c[oó]mo"
        r"|cu[aá]l\w*|cu[aá]nt\w*|mi|mis|tu|tus|su|sus|se|lo|le|al|si|hazme|dame|ponme|escribe\w*|calcula\w*"
        r"|explica\w*|muestra\w*|resuelve\w*|halla\w*|demuestra\w*|encuentra\w*|luego|despu[eé]s|tambi[eé]n|ahora|porfa"
        r"|gracias|hola|oye"
        r"|\w+(?:ifica|iza))\b",
        re.IGNORECASE,
    ),
}


def _languages(masked: str) -> frozenset[str]:
    """The languages whose built-in cues may match in the query: English always, and each one marked in it."""
    return frozenset(["en", *(code for code, marks in _LANGUAGE_MARKS.items() if marks.search(masked))])


@lru_cache(maxsize=64)
def _for_languages(table: _Table, languages: frozenset[str]) -> _Table:
    """`table` without the built-in cues of the languages not in `languages` (a table's own cues all stay)."""
    return tuple(entry for entry in table if _PATTERN_LANGUAGE.get(entry[1].pattern, "en") in languages)


def _alternation(field: str) -> str:
    return "|".join(f"(?:{getattr(language, field)})" for language in LANGUAGES.values())


# The role whose list items under a lead-in ending with ":" detail one deliverable ("Write a
# program that: - reads ... - prints ..."); under other lead-ins each item is a part of its own.
_PROGRAM_ROLE = "code"
# The role of a question that names no task but follows givens with numbers ("A triangle has
# sides 5, 12 and 13. Is it a right triangle?"): a result worked out from them.
_RESULT_ROLE = "solve"
# The role whose verb takes an indirect question as its object: "Explain why my bread didn't rise
# and how to fix it next time" is one part, though "how to fix it" alone would be code.
_PROSE_ROLE = "explain"
# An indirect question: a wh-word not followed by an auxiliary ("how to fix it", "why it fails";
# not "how do I fix it?"), with no programming language named in it.
_WH = re.compile(r"(?:how|why|what|where|when|which|who|wie|warum|was|comment|pourquoi|qu|c[oó]mo|por\s+qu|qu[eé])\b",
                 re.IGNORECASE)
_INDIRECT = re.compile(
    r"(?!how\s+(?:many|much|likely|far|long|often|big|large|old)\b)(?:how|why|what|where|when|whether|wie|warum"
    r"|comment|pourquoi|c[oó]mo|por\s+qu[eé])\b(?!\s+(?:do|does|did"
    r"|is|are|was|were|can|could|would|should|will|shall|might|must|has|have|i|we)\b)(?![^.?!\n]*"
    + _IN_LANG + ")",
    re.IGNORECASE,
)
# ... and after a request for code, an amount it is to compute ("a query listing each supplier and how many crates
# they shipped.", "eine Funktion, die zählt, wie oft jedes Wort vorkommt."): no auxiliary after it, no "?" to end it.
_INDIRECT_AMOUNT = re.compile(
    r"(?:how\s+(?:many|much|often|long)|wie\s+(?:oft|viele?|lange)|combien|cu[aá]nt[oa]s?)\b(?![^.?!\n]*\?)"
    r"(?!\s+(?:[\w-]+\s+){0,2}?(?:do|does|did|is|are|was|were|can|could|would|should|will|shall|must|has|have|i|we"
    r"|you)\b)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Such a question asks for a result unless it asks for advice ("Should we ...?").
_ADVICE = re.compile(r"(?:should|shall|ought)\b|(?:does|would)\s+it\s+make\s+(?:more\s+)?sense\b"
                     r"|(?:is|would)\s+(?:it|that|this)\s+(?:be\s+)?(?:better|wise|smarter"
                     r"|preferable|advisable|sensible|worth|ok"
                     r"|okay|safe|normal|common|usual|typical|healthy|fine|legal|bad)\b",
                     re.IGNORECASE)
# ... or one anywhere in it: "Which distro do you recommend?", "Which one needs more attention?"
_ADVICE_WITHIN = re.compile(
    r"\b(?:recommend|suggest|prefer|advise|(?:do|would)\s+you\s+(?:think|use|pick|choose|go\s+with)|attention"
    r"|better\s+for\s+me|best\s+for\s+(?:me|us))\b",
    re.IGNORECASE,
)

# A request that no cue types (rule (a) of round 7): "Need a Python script that ...", "Ich brauche
# ein Bash-Skript, das ...", "Express 0.45 as a fraction." It still gets one task, its kind read
# from what it is about (`_content_kind`). Only the built-in roles take part: a cue table from
# models.toml without them gets no such guess. Words that may come before the request proper:
_REQUEST_LEAD = (
    r"(?:(?:then|now|also|please|and|finally|next|just|so|ok(?:ay)?|und|dann|bitte|jetzt|nun|et|puis|maintenant"
    r"|enfin|y|luego|ahora|por\s+favor)\b[\s,]*)*"
)
# A statement of need with an object (not "I want to learn to ..."), in the present or the
# conditional, in each language; or a polite request ("Could you ...", "Kannst du ...").
# Someone the person asking speaks for: a possessive subject ("our team", "my sister's class"), a
# person ("the client", "a colleague"), or a third-person pronoun; then a third-person verb of need.
_THIRD_PERSON = (
    r"(?:(?:(?:my|our|his|her|their|mein\w*|unser\w*|sein\w*|ihr\w*|mon|ma|mes|notre|nos|son|sa|ses|leur|leurs|mi|mis"
    r"|nuestr[oa]s?|su|sus)\s+(?:[\w'’-]+\s+){0,2}?[\w'’-]+"
    r"|(?:the|a|an)\s+(?:[\w-]+\s+)?(?:team|boss|manager|client|customer|teacher|colleague|coworker|co-worker"
    r"|company|department|friend|partner|professor|lab|group|startup|shop|school|class|student|user|owner|landlord)"
    r"|he|she|they|someone|somebody|er|sie|il|elle|ils|elles|él|ella|ellos)\s+"
    r"(?:really\s+|also\s+|urgently\s+|just\s+)?(?:needs|wants|requires|would\s+like|asked\s+(?:me\s+|us\s+)?for"
    r"|is\s+looking\s+for|are\s+looking\s+for|need|want|require"
    r"|braucht|brauchen|benötigt|benötigen|möchte|möchten|will|wollen|sucht|suchen"
    r"|a\s+besoin|ont\s+besoin|veut|veulent|voudrait|voudraient|cherche|cherchent"
    r"|necesita|necesitan|quiere|quieren|querría|busca|buscan))"
)
_NEED = (
    r"(?:(?:i|we)\s+(?:really\s+|just\s+|also\s+|urgently\s+)?(?:need|want|require|would\s+like|would\s+love)"
    r"|(?:i|we)['’]d\s+(?:like|love)|needs?|wanted|looking\s+for|(?:i|we)['’](?:m|re)\s+looking\s+for"
    r"|(?:ich|wir)\s+(?:brauche|brauchen|bräuchte|bräuchten|möchte|möchten|hätte\s+gerne?|hätten\s+gerne?|suche|suchen)"
    r"|(?:brauche|bräuchte)\s+(?:dafür|hierfür|noch|dazu)|(?:brauche|bräuchte|benötige|suche)\s+ich"
    r"|gesucht\s+(?:ist|wird|sind|werden)|(?:mir|uns)\s+fehl(?:t|en)(?:\s+(?:noch|jetzt))?|on\s+cherche|se\s+busca"
    r"|j['’](?:ai|aurais)\s+besoin|nous\s+(?:avons|aurions)\s+besoin|il\s+me\s+(?:faut|faudrait)|je\s+(?:veux"
    r"|voudrais|cherche|souhaite|souhaiterais)"
    r"|j['’]aimerais|nous\s+(?:voudrions|aimerions|souhaitons|souhaiterions)"
    r"|necesito|necesitamos|necesitar[ií]a|quiero|queremos|quisiera|me\s+gustar[ií]a|busco|(?:me|nos)\s+(?:hace"
    r"|har[ií]a)\s+falta"
    # Someone else's need, said by the person asking: "Our team needs a formula ...", "My boss wants
    # a script ...", "Unser Team braucht ...", "Notre équipe a besoin d'...", "Mi jefe necesita ...".
    r"|" + _THIRD_PERSON + r")\s+"
    # ("I'd love to see the solution ...", "J'aimerais connaître la probabilité ...": a verb of getting first.)
    r"(?:(?:to\s+(?:see|know|get|have)|connaître|savoir|avoir|voir|obtenir|conocer|saber|tener|ver|obtener)\s+)?"
    r"(?:(?:d['’]|de\s+)?(?:an?|some|one|the|ein|eine|einen|etwas|die|der|das|den|un|une|des|du|la|le|les|l['’]|una?"
    r"|unos|unas|el|la|los|las)\b"
    # ("I need SQL that ...", "I need Python for this")
    r"|" + _LANGS + r"(?![\w+#]))"
)
_ASK = (
    # (German puts the verb last: "Kannst du es mir am Beispiel von nginx erklären?" asks for prose.)
    r"(?:(?:can|could|would|will)\s+(?:you|u)|(?:kannst\s+du|könntest\s+du|können\s+sie"
    r"|könnten\s+sie)(?![^?.!\n]*\b(?:erklären"
    r"|beschreiben|sagen|erzählen|verraten|erläutern|näherbringen|zeigen,\s+wie|zeigen,\s+warum)\s*[?.!]?\s*$)|peux-tu"
    r"|pourrais-tu|pouvez-vous|pourriez-vous|puedes|podr[ií]as|podr[ií]a|(?:can|could|may)\s+i\s+(?=(?:get|have)\b))"
    r"\s*(?:please\s+|bitte\s+|mir\s+|me\s+)?"
    # Not advice or opinion asked for ("Would you recommend Go for a CLI?"): that is a question.
    r"(?!(?:help|tell|explain|recommend|suggest|say|agree|mind|know|think|believe|prefer|consider|rather|like|be"
    # ("Could you use recursion instead?" asks for a change, though.)
    r"|advise|expect|guess|use(?![^?\n]*\binstead\b)|pick|choose|go|remember|recall|see|imagine|trust|dire|expliquer"
    r"|décrire|raconter|erklären|beschreiben|sagen|erzählen|explicar|decir|describir|contar)\b)[^\W\d]+\s+"
)
_STRONG_REQUEST = re.compile(
    # ("Given n integers, I want the LIS length ...")
    _REQUEST_LEAD + r"(?:given\s+[^,.;\n]{1,60},\s*)?(?:" + _NEED + r"|" + _ASK + r"|[^\W\d]+-(?:moi|nous)\b"
    r"|[^\W\d]*[áéíóú][^\W\d]*(?:me|nos)\b|(?:hazme|dame|dime|ponme)\b)",
    re.IGNORECASE,
)
# A request for a piece of code by name: "I'd need an SQL query returning ...", "Could you give me a function that ...".
_CODE_REQUEST = re.compile(
    _STRONG_REQUEST.pattern + r"\s*(?:(?:d['’]|de\s+)?(?:an?|some|one|the|ein|eine|einen|un|une|des|du|una?)\s+)?"
    r"(?:[\w'’+#-]+\s+){0,2}?(?:" + _CODE_NOUN + r"|" + _DE_CODE_NOUN + r"|" + _FR_CODE_NOUN + r"|" + _ES_CODE_NOUN
    + r")\b",
    re.IGNORECASE,
)
_JOIN_GAP = re.compile(r"[\s,;]*")
_WH_AUX = re.compile(
    r"(?:and\s+|but\s+|so\s+)?(?:(?:in|on|with|using)\s+" + _LANGS + r"(?![\w+#])\s*,\s*)?"
    r"(?:(?:what|why|how|when|where|which)\s+(?:\w+\s+)?(?:does|do|did|is|are|was|were|would|should|happens?)"
    r"|(?:can|is|are|does|do|should|may)\s+(?!you\b|i\b|(?:this|it|that)\s+be\b))\b",
    re.IGNORECASE,
)
# ... also after what it is for: "Für jede Filiale soll der Monat mit dem höchsten Umsatz herauskommen – bräuchte
# dafür SQL."
# ... or with the verb before its subject, German-style: "Für unsere Warenwirtschaft brauche ich SQL, das ...".
_LATE_REQUEST = re.compile(
    r"[^\n]*?(?:[–—;]\s*(?:" + _STRONG_REQUEST.pattern + r")|\b(?:brauche|bräuchte|benötige|suche)\s+ich\s+(?:noch\s+)?"
    r"(?:ein|eine|einen|das|die|den|" + _LANGS + r")(?![\w+#]))",
    re.IGNORECASE,
)
# A request without a verb, shaped like a headline: a noun phrase naming a deliverable, then what it is
# for ("Python function to flatten a list, please.", "Dockerfile for a Node 20 app", "Bash script:
# rename ...", "Regex for UK postcodes?", "Formula for the area of a ring?"). Not a subject that
# starts a statement ("The script for the backup fails ..."): no definite determiner, possessive or
# pronoun first.
_HEADLINE = re.compile(
    # (After a topic: "Shell: a script that ...", "Excel — a formula for ...".)
    # (Not a label: "Part C: Explain ...", "Aufgabe B: ...".)
    _REQUEST_LEAD + r"(?:(?:quick|short|small|simple|easy)\s+(?:one|question|q)\s*[:—–]\s*)?"
    r"(?!(?:part|question|task|exercise|problem|step|section|teil|aufgabe|frage|partie|exercice|parte"
    r"|ejercicio|pregunta)\s+\w{1,3}\s*[:.)])"
    # (Nor a deliverable declined: "No code, just the idea.", "Kein Code, nur die Idee.")
    r"(?!(?:no|not|without|kein\w*|ohne|pas\s+de|sans|sin|nada\s+de)\b)"
    r"(?:[\w+#.-]+\s*[:—–]\s*)?(?:(?:an?|one|some|ein|eine|einen|une?|una?|quick|short|simple|small)\s+)*"
    r"(?!(?:the|this|that|these|those|my|our|your|his|her|their|its|it|i|we|you|he|she|they|there|here|der|die|das"
    r"|dieser?|diesen|mein\w*|unser\w*|dein\w*|le|la|les|l['’]|ce|cette|ces|mon|ma|mes|notre|votre|ton|ta|el|los|las"
    r"|este|esta|estos|mi|mis|nuestr\w*|tu|su|sus)\b)"
    # Modifiers of the head noun only, no preposition or verb between: not "Requirements for the script:".
    r"(?:(?!(?:for|to|of|in|on|with|from|by|about|and|or|is|are|was|were|für|von|mit|und|oder|ist|sind|pour|de|du|des"
    # nor an article: "Construct a Huffman code for ..." is a verb and its object.
    r"|an?|the|some|this|that|me|us|ein|eine|einen|un|une|una|el|la|le|les"
    r"|avec|et|ou|est|para|con|y|o|es)\b)[\w+#./'’-]+\s+){0,3}?"
    r"(?:" + _CODE_NOUN + r"|" + _DE_CODE_NOUN + r"|" + _FR_CODE_NOUN + r"|" + _ES_CODE_NOUN
    # Or any noun after a programming language's name ("C++ template for ...", "Rust CLI that ...").
    + r"|" + _LANGS + r"[\s-]+(?:(?!(?:and|or|und|oder|et|ou|y|o|vs)\b)[\w+#-]+\s+){0,1}"
    r"(?!(?:and|or|und|oder|et|ou|y|o|vs)\b)[\w+#-]+"
    + r"|(?P<result>formula|formel|formule|f[oó]rmula|proof|derivation|closed\s+form|estimate|bound|probability|chance"
    r"|odds|volume|area|surface\s+area|perimeter|circumference|derivative|integral|antiderivative"
    r"|expected\s+(?:value|number|time|length|count|cost)|variance"
    r"|determinant|inverse|gcd|lcm|hcf|gcf|square\s+root|number\s+of\s+ways|(?:amortized\s+|expected\s+"
    r"|worst-case\s+)?cost"
    r"|running\s+time|time\s+complexity|big-?o|wahrscheinlichkeit|probabilité|probabilidad)"
    r"|(?P<prose>explanation|summary|overview|comparison))(?![\w+#])"
    # What it is for ("to flatten ...", "that runs ...") describes the deliverable: its verbs ask nothing.
    r"(?:(?P<complement>\s+(?:for|to|of|that|which|please|für|zum|zur|zu|um|die|das|der|den|pour|qui|afin|para|que)\b"
    # ("bash script listing the 15 biggest files", "Python generator yielding the leaves ...")
    r"|\s+(?!(?:during|morning|evening|nothing|something|anything|everything|thing|king|ring|string"
    r"|spring)\b)[a-z]+ing\b"
    # ("An HTML page with a login form, please.": "with" only in a request that says please or asks.)
    r"|\s+(?:with|using|mit|avec|con)\b(?=[^\n]*(?:\bplease\b|\bbitte\b|s['’]il\s+(?:te|vous)\s+pla[iî]t|por\s+favor"
    r"|\?\s*$)))"
    r"|(?=\s*(?:please\s*)?(?:[:?,]|$)))",
    re.IGNORECASE,
)
# A list item without a verb that names a piece of code ("- the command to undo my last commit", "- a .gitignore
# for a Node project", "(c) the SQL query behind it"): code asked for, under a lead-in that asks nothing.
_CODE_ITEM = re.compile(
    r"(?:(?:an?|the|one|some|my|our|your)\s+)?(?:(?!(?:for|to|of|in|on|with|from|by|about|and|or|is|are|was|were)\b)"
    r"[\w+#./'’-]+\s+){0,3}?" + _CODE_NOUN + r"(?:\s+(?-i:[A-Z])[\w.]*)?(?:\s+(?:to|for|that|which|with|in|using)\b"
    r"|\s*[.?!]?\s*$)",
    re.IGNORECASE,
)
# A short unit that names only a language ("Python.", "O(n) please, python", "In Rust pls."): the language of the
# task before.
_LANG_DETAIL = re.compile(
    r"(?:[^\s.?!]+[\s,;]+){0,3}?(?:(?:in|using|with)\s+)?" + _LANGS + r"(?![\w+#])(?:\s*,?\s*please)?\s*[.!]?\s*",
    re.IGNORECASE,
)
# A yes/no question about a reason or an intuition asks for prose ("Is there an intuitive reason it works?") ...
_REASON = re.compile(
    r"\b(?:reasons?|intuitions?|intuitive(?:ly)?|ideas?|analog(?:y|ies)|pictures?|meaning|why|fairer"
    r"|preferable|more\s+(?:appropriate|useful|sensible|meaningful|representative|natural))\b", re.IGNORECASE
)
# ... and one right after a solve task is about its result only when it says so ("Does it still hold?"),
# not "Is tipping expected in Japan?" after a tip worked out.
_RESULT_REFERENCE = re.compile(
    r"\b(?:it|this|that|these|those|they|them|the\s+(?:[\w-]+\s+)?(?:result|bound|claim|statement|answer|same|converse"
    r"|estimate|inequality|formula|method|algorithm|hypothes[ie]s|assumptions?|conditions?)|necessary|sufficient|needed"
    r"|sharp|tight)\b",
    re.IGNORECASE,
)
# Tools and names that make a question one about code, like a language: "the unit file" of systemd, "std::unique_ptr".
_TOOL_NAMED = re.compile(
    r"\b(?:systemd|unit\s+file|dockerfile|docker|kubernetes|k8s|nginx|crontab|git|rustc|gcc|clang|javac|npm|pip|cargo"
    r"|borrow\s+checker|compiler|linker|segfault|segmentation\s+fault|stack\s+trace|traceback|null\s+pointer"
    r"|(?-i:[A-Z]\w+(?:Error|Exception))"
    r"|maven|gradle|makefile|cmake|webpack|terraform|ansible|excel|spreadsheet|google\s+sheets|vba)\b|\b\w+::\w+",
    re.IGNORECASE,
)
# "Tips for packing a carry-on for a 10 day trip?": advice asked for, whatever numbers come with it.
_TIPS_FOR = re.compile(
    r"\b(?:tips|advice|ideas|suggestions|recommendations|pointers)\s+(?:for|on|about|to)\b", re.IGNORECASE
)
# The opening of a direct question: a wh-word, or an auxiliary before its subject ("what am I doing wrong",
# "wouldn't a plain dict be simpler", "is there a faster way"), after an interjection.
_UNMARKED_QUESTION = re.compile(
    r"(?:(?:hmm+|hm|so|ok(?:ay)?|well|wait|also|and|but|oh|ah)\b[\s,.]*)*(?:(?:what|why|how|which|where|when|who)\b"
    r"|(?:is|are|was|were|do|does|did|can|could|would|will|should|shall|has|have)(?:n['’]?t)?\s+(?:i|you|we|it"
    r"|this|that"
    r"|there|they|he|she|a|an|the|my|your|our)\b)",
    re.IGNORECASE,
)
_MAKE_IT = re.compile(r"make\s+it\b", re.IGNORECASE)
# A topic before a question: "C++: is `std::vector<bool>` a real container?"
_TOPIC = re.compile(r"(?:(?:[\w+#.-]+\s+){0,2}[\w+#.-]+\s*[:—–]\s*)?")
# Two things set against each other, with no verb: "functor vs applicative", "unique_ptr versus shared_ptr?"
_COMPARISON = re.compile(_REQUEST_LEAD + r"(?!(?:big-?o|complexity|cost|running\s+time|runtime)\s+(?:of|for)\b)"
                         r"(?:[\w+#.'’:-]+\s+){0,3}?[\w+#.'’-]+\s+(?:vs\.?|versus)\s+[\w+#.'’-]+",
                         re.IGNORECASE)
# Asking to be shown how to do something: prose in general, but code when the question is about code
# (a fenced block, or a programming language named): "In Rust, why ...? Show how to restructure the
# loop.", "Show a short example where ...", "How would I copy the list instead?" after a Python block.
_SHOW_HOW = re.compile(
    r"(?:[\s,;]|\b(?:and|then|also|please|now|finally|first|second|third|next|so|but|ok(?:ay)?)\b)*"
    # Changing "it" or "this" in a question about code changes the code: "Turn this into a list comprehension".
    r"(?:(?:turn|convert|change|transform|rewrite|simplify|shorten|clean\s+up|speed\s+up|tidy\s+up)\s+(?:it|this|that"
    r"|them|(?:the|my|this)\s+code)\b"
    r"|(?:show|give)\s+(?:me\s+|us\s+)?(?:how\s+(?:to|i|we|you|one)\b|an?\s+(?:[\w-]+\s+){0,2}?(?:example|snippet"
    r"|demo)\b|the\s+(?:[\w-]+\s+)?(?:correct|right|proper|idiomatic|best|clean|safe|usual|fixed|corrected)\s+"
    # ("How would you handle the lazy propagation?" asks for the idea, though.)
    r"(?:way|version)\b)|how\s+(?:(?:do|would|can|could|should)\s+(?:i|we|one)|(?:do|can"
    r"|could)\s+you)\s+(?!(?:know|tell|decide|choose"
    r"|think|say|learn|pick|explain|understand|remember|read)\b)[^\W\d]+[^?\n]*\?)",
    re.IGNORECASE,
)
# A bare expression to work out: "3/4 + 1/8", "2.5 * 0.4 =", "(12 - 5)^2".
# (Terms are numbers or a letter with a coefficient and a power: "x^2 + 1", "2x - 7".)
# Functions and operators of mathematics written out: "P(X = 2)", "E[X] and Var(X)", "f'(3)", "gcd(84, 60)".
_MATH_NOTATION = re.compile(
    r"(?:\s*(?:and|und|et|y|,|\+|-)?\s*[A-Za-z]{1,4}'*\s*(?:\([^()\n]*\)|\[[^\[\]\n]*\]))+\s*[.?]?", re.IGNORECASE
)
_TERM = r"[\s(]*(?:[-\d.,]*[a-z](?![a-z])|[-\d.,]+)(?:\^\d+)?[)\s]*"
_EXPRESSION = re.compile(_TERM + r"(?:[-+*/^×÷x%]" + _TERM + r")+[=?]?\s*", re.IGNORECASE)
# A statement about oneself or one's things ("I have ...", "We use ...", "My app runs ..."), not a need.
_STATEMENT = re.compile(
    # ("In C, my array has 12 ints ...": the language first.)
    r"(?:(?:in|with|using)\s+" + _LANGS + r"(?![\w+#])\s*,\s*)?"
    r"(?:(?:this|it)\s+is\s+my\s+(?:first|second|third|\w+)\s+(?:week|day|month|time|year|project)\b|"
    r"(?:i|we|my\s+[\w'’-]+|our\s+[\w'’-]+)\s+(?:(?:also|currently|already|just|usually)\s+)?(?:have|has|had|am|'m"
    r"|are|'re|is|was|were|use|uses|used|work|works|worked|wrote|got|tried|started|keep|run|runs|ran|store|stores"
    r"|ich\s+habe)\b)"
    r"|(?:je\s+(?:ne\s+)?(?:comprends|vois|sais|suis|travaille|utilise)|j['’](?:ai|utilise)"
    r"|ich\s+(?:verstehe|habe|bin|arbeite|nutze|benutze)|(?:yo\s+)?(?:no\s+)?(?:entiendo|tengo|uso|trabajo|estoy))\b"
    r"(?![^.?!\n]*\b(?:want|need|would\s+like|how|help|please|trying\s+to|looking\s+for)\b)",
    re.IGNORECASE,
)
# "• the big-O of each operation": a cost named as a list item.
_COST_ITEM = re.compile(
    r"(?:[-•*]\s*)?(?:the\s+|its\s+)?(?:time\s+|space\s+|worst-case\s+|average\s+|amortized\s+)?(?:big[- ]?o|complexity"
    r"|running\s+time|runtime|cost)\b",
    re.IGNORECASE,
)
# "ok, now redo it for a cone, radius 4, height 9.": the same task again on other givens names no kind of task.
_SAME_AGAIN = re.compile(
    _REQUEST_LEAD + r"(?:(?:re-?do|do|repeat|try)\s+(?:it|that|this|the\s+same(?:\s+thing)?)(?:\s+again)?"
    r"|(?:the\s+)?same\s+(?:idea|thing|question|again|calculation|exercise|problem))"
    r"[\s,]+(?:only\s+|just\s+)?(?:for|with|on|but)\b"
    # ("can you say that again but way simpler": the last answer again, another way.)
    r"|(?:(?:can|could|would)\s+you\s+)?(?:say|put|repeat|rephrase|word)\s+(?:that|it|this)(?:\s+again)?\s+(?:but\s+)?"
    r"(?:(?:way|much|a\s+lot|a\s+bit)\s+)?(?:simpler|more\s+simply|shorter|differently|in\s+simpler)"
    # ("and the second one?": the same task for another item.)
    r"|(?:and\s+|what\s+about\s+|how\s+about\s+)?(?:the\s+)?(?:first|second|third|last|other|next|previous)"
    r"\s+(?:one|part|question|item|case)s?\s*\?",
    re.IGNORECASE,
)
# "a) d/dx of x^3 sin x", "b) ∫ 1/(1+x^2) dx over [0, 1]": calculus written out.
_CALCULUS = re.compile(r"\bd/d[a-z]\b|[∫∑∏√∂]|\blim\s*(?:_|\(|\{|as\b)|\bd[xyt]\b", re.IGNORECASE)
# "c) geometric meaning of the derivative": a notion to explain, named as a list item.
_PROSE_ITEM = re.compile(
    r"(?:the\s+)?(?:[\w-]+\s+)?(?:meaning|intuition|interpretation|idea|significance|purpose|point|differences?"
    r"|pros\s+and\s+cons|advantages?|disadvantages?|history|motivation)\s+(?:of|behind|between)\b",
    re.IGNORECASE,
)
# "Requirements for the tool:", "The script must:": a lead-in to what a program must do.
_SPEC_LEAD = re.compile(
    r"\b(?:requirements?|specs?|specification|constraints|features|must[- ]haves|acceptance\s+criteria"
    r"|anforderungen|exigences|requisitos)\b|\b(?:should|must|needs\s+to|has\s+to|will|shall)\s*:",
    re.IGNORECASE,
)
# "Is a jump like that usually allowed?": what is normal or permitted, a question of general knowledge.
_NORM = re.compile(
    r"\b(?:usually|generally|typically|normally|commonly|legal|legally|allowed|permitted|customary"
    r"|common\s+practice|fair|fairer|fairest|ethical|reasonable|polite|rude|worth\s+it)\b",
    re.IGNORECASE,
)
# "Are you sure? I got 120.": a doubt about the last answer, no kind of task.
_DOUBT = re.compile(
    r"(?:(?:hm+|um+|wait|but|hold\s+on|hang\s+on)[\s,.]+)?(?:are\s+you\s+(?:sure|certain|positive)|you\s+sure|really"
    r"|seriously|is\s+that\s+(?:right|correct|true))\s*\?",
    re.IGNORECASE,
)
# "Les pointeurs en C, je n'y comprends rien.": not understanding something is context, not a request.
_NOT_UNDERSTOOD = re.compile(
    r"\b(?:i\s+(?:don['’]?t|do\s+not|can['’]?t|cannot|still\s+don['’]?t)\s+(?:really\s+)?(?:understand|get|grasp)"
    r"|je\s+(?:ne\s+)?(?:n['’]y\s+)?comprends\s+(?:pas|rien)|ich\s+verstehe\s+(?:\w+\s+)?(?:nicht|nichts|kein\w*)"
    r"|no\s+(?:lo\s+|la\s+)?entiendo)\b",
    re.IGNORECASE,
)
_WH_RESULT = re.compile(
    r"(?:where|when|whether|which|for\s+which|wo|wann|ob|où|quand|si|dónde|cuándo)\b", re.IGNORECASE
)
_LEAD = re.compile(_REQUEST_LEAD, re.IGNORECASE)
# A sentence that opens by naming the language its work is done in ("Using pandas, group ... and compute ...",
# "In SQL, find ... and count ..."): every step it asks for is done by that code.
_LANG_LEAD = re.compile(
    _REQUEST_LEAD + r"(?:in|using|with|mit|en|avec|con|usando|utilisant|verwende|benutze)\s+" + _LANGS
    # ("Using R and the built-in mtcars data, ...", "Using SQL with a table shipments(id, carrier), ...")
    + r"(?![\w+#])(?:\s+[\w'’-]+|\s*\([^()\n]*\)){0,8}?\s*,",
    re.IGNORECASE,
)
# A what-question about a definite thing ("What are its dimensions?", "What is the radius?", "Quelles sont ses
# dimensions ?") right after givens with a number asks for a quantity worked out from them; not one about a
# notion of prose ("What is the point of ...?", "What's the difference ...?").
# ... when it refers back to the givens ("its", "their") or names a quantity ("the monthly payments"); not a
# fact looked up ("What is the oven temperature for fan ovens?", "What is the return policy usually like?").
_BACK_REFERENCE = re.compile(
    r"[^?\n]*?\b(?:its|their|his|her|my|our|your|ses|son|sa|leur|leurs|mon|ma|mes|sein|seine|ihr|ihre|mein"
    r"|meine|su|sus|mi|mis)\s"
    # ("The mean of five numbers is 14. Four of them are ... What is the fifth?")
    r"|[^?\n]*?\bthe\s+(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|missing|other|remaining"
    r"|final)\b",
    re.IGNORECASE,
)
_QUANTITY_NOUN = re.compile(
    r"\b(?:payments?|instal(?:l)?ments?|costs?|price|total|amount|interest|balance|savings|share|length|width|height"
    r"|depth|weight|age|capacity|dimensions|sides?|diagonal|coordinates|change|profit|loss|discount|tax|salary|wage"
    r"|zahlung\w*|kosten|preis|betrag|zinsen|seiten|maße|mensualités?|coût|prix|montant|intérêts?|côtés?|pagos?"
    r"|cuotas?|coste|costo|precio|importe|intereses|lados?)\b",
    re.IGNORECASE,
)
_QUANTITY_QUESTION = re.compile(
    r"(?:(?:roughly|approximately|about|so|and|then|now|ok(?:ay)?|exactly|ballpark|quick\s+question|und|et|y|alors|also"
    r"|entonces)[\s,:]+)*"
    # ("If a fifth of what remains goes into savings, what is that each month?": a condition first.)
    r"(?P<condition>if\s+[^,?\n]*,\s*)?"
    r"(?:(?:what|which)(?:'s|’s|\s+(?:is|are|was|were|will\s+be|would\s+be))\s+(?:its|the|their|his|her|my|our|your"
    r"|each|both|that|this)|was\s+(?:ist|sind|wäre|wären)\s+(?:sein|seine|ihr|ihre|der|die|das|mein|meine)"
    r"|quel(?:le)?s?\s+(?:est|sont|serait|seraient)\s+(?:ses|son|sa|leur|leurs|le|la|les|l['’]|mon|ma|mes)"
    r"|cu[aá]l(?:es)?\s+(?:es|son|ser[ií]a|ser[ií]an)\s+(?:su|sus|el|la|los|las|mi|mis))(?:\s+|(?<=['’]))"
    r"(?!(?:[\w-]+\s+){0,2}?(?:way|approach|strategy|option|choice|tool|app|route\s+to|thing|place|time\s+to"
    r"|point|purpose|reason|difference|meaning|idea|problem|issue|catch|trick|intuition|logic|rule"
    r"|rationale|best|advantage|benefit|risk|name|story|history|role|use|context|definition|origin|status|default"
    r"|recommended|typical|usual|standard|normal|official|current|minimum\s+requirements?"
    r"|sinn|zweck|grund|unterschied|bedeutung|idee|problem|but|raison|différence|sens|idée|problème|propósito"
    r"|razón|diferencia|sentido|significado|problema)s?\b)[^?\n]*\?$",
    re.IGNORECASE,
)
_WRITE = re.compile(r"\b(?:write|implement|code|build|create)\b", re.IGNORECASE)
_DIGITS = re.compile(r"[\d=+*/^<>]+")
_PROGRAM_VERB = re.compile(
    r"(?:sort|count|print|list|filter|save|output|delete|remove|rename|move|copy|compress|gzip|zip|log|send"
    r"|email|upload"
    r"|download|archive|skip|ignore)\s+(?:them|it|the|each|every|all|those|these|by)\b",
    re.IGNORECASE,
)
_PROGRAM_STEP = re.compile(
    r"(?:finally|then|afterwards|at\s+the\s+end|in\s+the\s+end),?\s+(?:echo|print|log|output|display|write\s+out|report"
    r"|exit\s+with|send|email|save)\b",
    re.IGNORECASE,
)
_CHANGE_VERB = re.compile(
    _REQUEST_LEAD + r"(?:add|remove|drop|replace|rename|move|wrap|insert|delete|switch|pin|bump|expose|mount|enable"
    r"|disable|configure|swap|split|merge|extract|inline|parametri[sz]e)\s+(?:an?|the|some|all|every|each|its|this|that"
    r"|these|those|my|our|\w+['’]s)\b",
    re.IGNORECASE,
)
_ON_IT = re.compile(_REQUEST_LEAD + r"[^\W\d]+\s+(?:it|this|them|the\s+code|my\s+code)\b", re.IGNORECASE)
# In a question about code, being shown how to do something is a cue for code of its own, so that it
# starts a clause: "Explain Rust's Option type and show how to unwrap it safely."
_CODE_CONTEXT_CUES: _Table = (
    # "What's the fix?", "What do I change to make it link?", "What should the query look like instead?": the
    # change to the code asked for.
    ("code", re.compile(
        r"\bwhat(?:['’]s|\s+is|\s+would\s+be)\s+(?:the|a)\s+(?:\w+\s+)?(?:fix|workaround|correct\s+(?:version"
        r"|syntax|way)|change"
        r"|tweak|edit|rewrite)\b"
        r"|\bhow\s+should\s+(?:it|this|that|the\s+\w+|[a-z_]+(?:_\w+|\(\)))\s+be\s+(?:written|done|fixed"
        r"|changed|structured"
        r"|rewritten|declared|patched|modified)\b"
        r"|\bhow\s+(?:do|can|could|should|would)\s+(?:i|we)\s+(?:speed|clean|tidy)\s+(?:it|this|that)\s+up\b"
        r"|\bwhat(?:['’]s|\s+is|\s+would\s+be)\s+the\s+(?:corrected|fixed|working|right"
        r"|correct)\s+(?:\w+\s+)?(?:query|code"
        r"|version|function|statement|command|regex|line|signature)\b"
        # "Make Buffer obey the rule of three": a name of the code made to do something.
        r"|\bmake\s+(?-i:[A-Z][a-z]+[A-Z]?\w*|\w+_\w+|\w+\(\))\s+(?!sense\b)[a-z]+"
        # "how do I get [10, 20, 30]": a different output asked of the code.
        r"|\bhow\s+(?:do|can|could|should|would)\s+(?:i|we)\s+get\s+(?:it\s+to\s+(?:print|return|give"
        r"|output)\s+)?[\[(\"'\d]"
        r"|\bhow\s+(?:do|can|could|should|would)\s+(?:i|we)\s+(?:get|make)\s+(?:it|this|that"
        r"|the\s+\w+)\s+(?:to\s+)?(?:running|working|started|compiling|building|compile"
        r"|work|run|build|pass|link|load|start)\b"
        r"|\bwhat\s+(?:do|should|must|can|would)\s+(?:i|we)\s+(?:need\s+to\s+|have\s+to\s+)?(?:change|fix|add"
        r"|remove|edit"
        r"|modify|replace|write|put)\b"
        r"|\bwhat\s+should\s+(?:the|my|this|it|that|our)\s+(?:[\w-]+\s+){0,2}?look\s+like\b"
        # "what's the idiomatic way to restructure it?": a rewrite asked for.
        r"|\bwhat(?:['’]s|\s+is|\s+would\s+be)\s+(?:the|a)\s+(?:more\s+)?(?:idiomatic|right|correct|proper"
        r"|clean(?:er|est)?"
        r"|recommended|safe(?:r|st)?|better|best)\s+way\s+to\s+(?:restructure|rewrite|write|fix|do|structure"
        r"|refactor|handle"
        r"|implement|express|avoid)\b"
        # "java: whats the way to go through a csv one line at a time": how to do it in that language.
        r"|\bwhat(?:['’]s|\s+is)\s+(?:the|a)\s+(?:best\s+|right\s+|simplest\s+|easiest\s+|fastest\s+"
        r"|quickest\s+|cleanest\s+|safest\s+|most\s+\w+\s+"
        r"|proper\s+|usual\s+"
        r"|standard\s+)?way\s+(?:in\s+" + _LANGS + r"\s+)?to\s+(?!(?:learn|study|practi[cs]e|get\s+started"
        r"|start\s+learning|prepare"
        r"|think|understand|remember|teach|explain|set\s+(?:it|that|this|things)\s+up|organi[sz]e|approach)\b)",
        re.IGNORECASE), False),
    ("code", re.compile(
        r"(?:(?<=\band\s)|(?<=\bbut\s)|(?<=\bso\s))how\s+(?:do|can|could|should|would)\s+(?:i|we)\s+(?:patch"
        r"|fix|correct|repair"
        r"|rewrite|modify"
        r"|change)\b", re.IGNORECASE), False),
    # "Et comment contourner ça avec RefCell ?", "¿Cómo lo arreglo?", "Wie umgehe ich das?": a change to the code.
    ("code", re.compile(
        r"(?:^(?:et\s+)?comment\s+(?:puis-je\s+|peut-on\s+|on\s+(?:peut\s+)?|faire\s+pour\s+|je\s+)?(?:le\s+"
        r"|la\s+|les\s+)?"
        r"(?:corrige\b|répare\b|règle\b|contourne\b|corriger"
        r"|contourner|éviter|résoudre|réparer|changer|modifier|réécrire|régler)"
        r"|^(?:y\s+)?¿?\s*c[oó]mo\s+(?:puedo\s+|se\s+puede\s+)?(?:lo\s+|la\s+)?(?:evito|evitar|soluciono"
        r"|solucionar|cambio"
        r"|cambiar|esquivo|esquivar)"
        r"|^(?:und\s+)?wie\s+(?:kann\s+ich\s+(?:das\s+|es\s+)?(?:umgehen|vermeiden|lösen|ändern)|umgehe\s+ich"
        r"|vermeide\s+ich"
        r"|löse\s+ich|ändere\s+ich))\b" + _REST_OF_CLAUSE, re.IGNORECASE), False),
    # In a question about code, an example asked for is code: "Ponme un ejemplo con una tabla de ventas."
    ("code", re.compile(
        r"\b(?:give|show)\s+(?:me\s+|us\s+)?an?\s+(?:\w+\s+)?example\b|\b(?:ponme|dame|muéstrame|muestrame)\s+un\s+"
        r"(?:\w+\s+)?ejemplo\b|\bdonne[zr]?(?:-moi)?\s+un\s+(?:\w+\s+)?exemple\b|\b(?:gib"
        r"|zeig)\s+(?:mir\s+)?(?:ein|einen)\s+"
        r"(?:\w+\s+)?(?:code)?beispiel\b", re.IGNORECASE), False),
    # "C++17: write a thread-safe singleton ...": in a question about code, what is written or built is code,
    # unless it is prose or mathematics.
    ("code", re.compile(
        # (A new thing: "write the rows to a file" is a step of a program described.)
        r"(?:\b(?:write|implement|create|build|develop|code)\s+(?:me\s+|us\s+)?|\b(?:give|show|make)\s+(?:me|us)\s+)"
        r"(?:an?|some|one)\s+(?!(?:[\w-]+\s+){0,2}?"
        r"(?:poem|email|e-mail|letter|story|essay|haiku|speech|message|note|post|tweet|bio|description|summary"
        r"|explanation|paragraph|list|table|outline|overview|proof|equation|formula|recurrence|inequality|plan)s?\b)",
        re.IGNORECASE), False),
    ("code", re.compile(r"\b(?:show|give)\s+(?:me\s+|us\s+)?how\s+to\b", re.IGNORECASE), False),
    # "Also rewrite the thing without a generator", "what should I run to fix it", "give me the ... lines to change it".
    ("code", re.compile(
        r"\b(?:re-?write|refactor|rework)\s+(?:the|this|that|it|my|your)\b"
        r"|\bwhat\s+(?:command\s+)?(?:should|do|can|must)\s+(?:i|we)\s+(?:run|type|enter|execute)\b"
        r"|\bwhat\s+(?:change|changes|fix|fixes|edit|edits)\s+(?:do|should|must|would|can)\s+(?:i|we)\b"
        # "Explain it and fix the copy.", "can you add a default for an empty array", "list the commands I should run"
        r"|\b(?:fix|correct|patch|repair)\s+(?:the|this|that|it|my)\b"
        r"|\badd\s+(?:a|an)\s+(?:default|check|guard|fallback|case|branch|parameter|argument|option|flag|field"
        r"|column|index"
        r"|method|healthcheck|timeout|retry)\b"
        r"|\b(?:list|give|show)\s+(?:me\s+|us\s+)?the\s+commands?\b"
        r"|\bshow\s+(?:me\s+|us\s+)?the\s+(?:change|changes|fix|diff|patch|edit)\b"
        r"|\b(?:update|edit|change|modify)\s+(?:the|this|my)\s+(?:file|config|compose\s+file|yaml|manifest)\b"
        r"|\bwhat\s+(?:should|do)\s+(?:i|we)\s+(?:pass|give|put|use)\s+(?:to|in|into)\b"
        r"|\bwhat\s+(?:do|should|would)\s+(?:i|we)\s+(?:type|enter)\b"
        r"|\brun\s+(?:an?\s+)?(?:\w+\s+)?(?:regression|anova|t-test|chi-squared\s+test)\b"
        # "which conversion methods should I call", "and how do i sort numerically" (after a block)
        r"|\b(?:which|what)\s+(?:\w+\s+)?(?:methods?|functions?|calls?|apis?|flags?|options?)\s+(?:should|do"
        r"|can|must|would)"
        r"\s+(?:i|we)\s+(?:call|use|pass|set|run)\b"
        r"|^(?:and\s+|so\s+|but\s+)?how\s+(?:do|can|could|should|would)\s+(?:i|we)\s+(?:sort|filter|fix|change"
        r"|convert|parse"
        r"|format|round|merge|split|reverse|dedupe|deduplicate|flatten|reshape|rename|remove|drop|replace)\b"
        r"|\b(?:give|show)\s+(?:me\s+|us\s+)?the\s+(?:[\w.-]+\s+){0,2}?(?:lines?|config|configuration|settings"
        r"|snippet|commands?)"
        r"\s+(?:to|that|for)\b", re.IGNORECASE), False),
    # "I have a spreadsheet ... Give me a formula that sums ...": about a spreadsheet, the formula is code.
    ("code", re.compile(
        r"\b(?:give|write|make|build|need|want|suggest|show)\s+(?:me\s+|us\s+)?(?:an?|the"
        r"|some)\s+(?:[\w-]+\s+)?formula\b"
        r"|\b(?:what|which)\s+formula\b", re.IGNORECASE), False),
    # "Why do I get NA, and how do I get the mean of the rest?" after an R block: the how-do-I clause asks for code.
    ("code", re.compile(
        # (A change or a computation asked for, not "how can I catch these bugs with tooling?")
        r"(?<=,\s)(?:and\s+|but\s+|so\s+)?how\s+(?:(?:do|can|could|should|would)\s+(?:i|we|you)"
        r"|(?:i|we)(?:\s+(?:should|could|can|would|might|need\s+to|have\s+to|ought\s+to))?)"
        r"\s+(?:(?:change|fix|make|turn|restructure|reorgani[sz]e|refactor|convert|rewrite|modify|remove|drop|replace"
        r"|filter|sort|handle|skip|ignore|compute|calculate|count|sum|round|format|parse|print|plot|reshape|merge|split"
        r"|join|speed\s+up|optimi[sz]e|vectori[sz]e|rearrange|reorder|rework|rename|move|pass|cast|patch"
        r"|correct|repair)\b"
        # ("..., and how do I get it to ignore that?": the code made to behave otherwise.)
        r"|get\s+(?:it|this|that|them)\s+to\s+(?!be\b|understand\b)[^\W\d]+|get\s+(?:the\s+)?"
        r"(?:mean|sum|average|median|count|total|max(?:imum)?|min(?:imum)?|number|length|size|rid|values?|rows?"
        r"|columns?|keys?|items?)\b)", re.IGNORECASE), False),
)
# (A version may follow the name: "C++17", "Python3".)
_LANG_NAMED = re.compile(r"(?<!\b\w\s)\b" + _LANGS + r"(?:\d+(?:\.\d+)*)?(?![\w+#])", re.IGNORECASE)
# A unit that says please or asks a question.
_ASKS = re.compile(r"\bplease\b|\bbitte\b|s['’]il\s+(?:te|vous)\s+pla[iî]t|\bpor\s+favor\b|\?\s*$", re.IGNORECASE)
# A main verb after a noun phrase makes it a statement's subject ("... runs every night", "... is hard",
# "Java code that I inherited uses ..."); a verb after "that", "to", "which" without a subject of
# its own belongs to a clause that describes the noun ("function that returns ...", "script to rename ...").
_MAIN_VERB = re.compile(
    r"(?:(?!\b(?:that|which|who|to|where|when|if|die|das|der|qui|que|pour|para|um|zu)\s+(?!(?:i|we|you|he|she|they|it"
    r"|ich|wir|je|nous|yo)\b))[^.?!\n])*?\b(?:is|are|was|were|isn't|aren't|wasn't|has|have|had|does|do|did|doesn't"
    r"|don't|didn't|can't|won't|keeps|kept|fails|failed|crashes|crashed|runs|ran|uses|used|breaks|broke|takes|took"
    r"|throws|threw|seems|looks|works|worked|gets|got|stopped|stops|hangs|leaks|ist|sind|war|hat|est|sont|était"
    r"|es|son|era|tiene)\b",
    re.IGNORECASE,
)
# What opens a real question, rather than an elliptical request ("Regex for UK postcodes?", "Chance
# that both are aces?", "And the derivative of that?"): an auxiliary, a wh-word or a pronoun subject.
_QUESTION_OPENER = re.compile(
    # (after a setting: "In modern C++, what separates ...?")
    _REQUEST_LEAD + r"(?:(?:in|on|under|unter|dans|en|sous)\s+[\w+#./-]+(?:\s+[\w+#./-]+){0,2}\s*,\s*)?"
    r"(?:is|are|was|were|am|do|does|did|can|could|would|should|will|shall|may"
    r"|might|must|has|have"
    r"|had|what|what's|which|who|whom|whose|why|how|when|where|whether|i|we|you|it|it's|they|he|she|this|that|there"
    r"|any|anything|anyone|or|but|if|ist|sind|war|kann|können|gibt|hat|haben|wird|soll|sollte|wie|was|wer|wo|wann"
    r"|kannst|könntest|können|könnten|würdest|würden|warum|wieso|weshalb|worin|wodurch|woran|wofür|wozu|womit"
    r"|inwiefern|welche\w*|ob|est|sont|peut|peux|quel\w*|qu\w*|comment|pourquoi|où|quand|es|son|puede|puedo|hay"
    r"|qu[eé]|cu[aá]l\w*|c[oó]mo|d[oó]nde|cu[aá]ndo|por)\b",
    re.IGNORECASE,
)
# A choice or advice asked for ("Python or Java for a first language?") is a question answered in prose.
_CHOICE = re.compile(r"\b(?:or|vs\.?|versus|oder|ou|o)\b", re.IGNORECASE)
# An imperative, read from its shape (Latin script only): a word that no determiner, pronoun, auxiliary, wh-word,
# preposition or conjunction is, nor a verb form ending in -ing, -ed or a plain -s, followed by an
# object ("Express 0.45 ...", "Put these in order", "Turn it into ...", "Mach daraus ..."). Only a
# guess, so it is used only for a query in which nothing else asks for anything.
_NOT_IMPERATIVE = (
    r"(?:a|an|the|this|that|these|those|there|here|it|its|i|we|you|he|she|they|my|our|your|his|her|their|me|us"
    r"|them|let|suppose|assume|consider|given|note|recall|imagine|say|what|which|who|whom|whose|why|how|when"
    r"|where|whether|is|are|was|were|be|been|am|do|does|did|have|has|had|can|could|would|should|will|shall|may"
    r"|might|must|thanks|thank|ok|okay|yes|no|hmm|hi|hello|hey|dear|in|on|at|of|for|from|by|with|without|about"
    r"|after|before|during|under|over|into|onto|to|as|if|so|but|or|and|because|since|while|also|then|now|just"
    r"|only|both|all|each|every|some|any|many|most|few|several|one|two|three|four|five|six|seven|eight|nine|ten"
    r"|first|second|third|last|next|finally|please|sure|great|nice|cool|good|oh|well|yesterday|today|tomorrow"
    r"|der|die|das|ein|eine|ich|du|er|es|wir|ihr|sei|seien|gegeben|im|am|auf|für|mit|von|zu|bei|nach|aus|wenn"
    r"|und|aber|oder|danke|hallo|ja|nein|je|tu|il|elle|on|nous|vous|ils|elles|le|la|les|un|une|des|du|ce|cette"
    r"|ces|mon|ma|soit|voici|voilà|dans|pour|sur|avec|sans|par|en|à|au|aux|de|merci|bonjour|oui|non|si|quand"
    r"|mais|et|ou|est|yo|él|ella|nosotros|ellos|el|los|las|una|unos|unas|sea|dado|dada|para|con|sin|por|tengo"
    r"|hay|gracias|hola|sí|pero|cuando|es|está|son"
    # Irregular past forms and first-person verbs open statements ("Got a 404 from the API.",
    # "Bought 3 apples yesterday.", "Habe ein Problem mit ..."), not requests.
    r"|got|made|bought|ran|spent|saw|wrote|left|took|went|came|found|gave|kept|lost|paid|sold|sent|built|told"
    r"|thought|felt|heard|met|brought|caught|taught|began|broke|chose|drove|ate|fell|flew|forgot|grew|knew|led"
    r"|rode|sang|sat|slept|spoke|stood|stole|swam|threw|understood|woke|won|wore|meant|dealt|lent|bent|fed|hit"
    r"|habe|hab|hatte|hatten|haben|bin|war|waren|sind|wurde|ai|avais|suis|étais|avons|tenemos|tenía|tuve|fui"
    r"|era|estoy|estaba|hice)"
)
_IMPERATIVE = re.compile(
    # A clitic imperative needs no object after it: "Refais-le sans ...", "Hazlo sin ...", "Vuelve a hacerlo ...".
    _REQUEST_LEAD + r"(?:[a-zß-öø-ÿœ]{2,}-(?:le|la|les)\b|(?:re)?h[aá]z(?:lo|la|los|las)\b|(?:re)?fai(?:s|tes)\b"
    r"|vuelve\s+a\s+\w+(?:lo|la)\b|"
    r"(?!" + _NOT_IMPERATIVE + r"\b)(?![^\W\d]*(?:ing|[^e]ed|[^s]s)\b)[a-zß-öø-ÿœ]{2,}\s+"
    r"(?:me\s+|us\s+|mir\s+|uns\s+|moi\s+)?(?:it|this|that|these|those|them|an?|the|my|your|our|their|his|her|its"
    r"|some|all|each"
    r"|every|both|daraus|damit|das|es|eine?[nmrs]?|die|den|dem|diese[nmrs]?|le|la|les|l['’]|un|une|des|du|ce|cette"
    r"|ces|el|los|las|una?|esto|esta|este|[-\d(]))",
    re.IGNORECASE,
)
# What a request that no cue types is about: code (an artefact or a language named), something to
# compute (numbers, formulas, maths objects), or else a request for prose.
_CONTENT_CODE = re.compile(
    r"\b" + _CODE_NOUN + r"|\b(?:" + _DE_CODE_NOUN + r"|" + _FR_CODE_NOUN + r"|"
    + _ES_CODE_NOUN + r"|" + _TECH + r"|bash|shell|cron|dockerfile|recursive|iterative|rekursive?n?|récursive?"
    r"|recursiv[ao]|excel|spreadsheets?|google\s+sheets|vba|git|github|kubernetes|k8s|terminal|compiler?|compiles?"
    r"|linter|npm|pip|cargo|maven|gradle|yaml|regexp?|one-liner|unit\s+tests?|pytest|junit"
    # Constructs of programs: "Use a generator instead.", "Do it with a dict comprehension."
    r"|generators?|iterators?|lambdas?|comprehensions?|dict(?:ionar(?:y|ies))?|hash\s?maps?|tuples?|callbacks?"
    r"|promises?"
    r"|async|await|mutex(?:es)?|goroutines?|threads?|loops?|variables?|exceptions?|try/except|bitwise|pointers?"
    r"|recursion|memoi[sz]ation|caching|iteration|terraform|ansible|helm|nginx|systemd|cloudformation|kubectl"
    r"|webpack|eslint|cmake|config|(?-i:SELECT|UPDATE|JOIN|GROUP\s+BY|WHERE|VLOOKUP|XLOOKUP)"
    # The same constructs in German, French and Spanish ("ohne externe Bibliotheken", "sans boucle", "sin recursión").
    r"|bibliothek(?:en)?|biblioth[eè]ques?|bibliotecas?|librer[ií]as?|abhängigkeit(?:en)?|dépendances?"
    r"|dependencias?|dependenc(?:y|ies)|variablen|schleifen?|boucles?|bucles?|rekursion|r[eé]cursi(?:on|vit[eé])"
    r"|recursi[oó]n|recursividad|iterativ\w*|it[eé]rati(?:f|ve)s?|ausnahmen?|globale?n?|modul(?:e|en)?"
    r"|typannotationen|typhinweise|klasse[n]?|diccionarios?|dictionnaires?|wörterbücher|wörterbuch|hashmaps?)\b",
    re.IGNORECASE,
)
# A number that only sizes or formats the answer ("under 100 words", "4 spaces", "3 bullet points")
# says nothing about maths; any other number, an operator or a maths word does.
_FORMAT_COUNT = re.compile(
    r"\d+(?:st|nd|rd|th|er|e|ème|º|ª)\b|\d+\s+(?:words?|sentences?|paragraphs?|lines?|spaces?|tabs?|characters?"
    r"|chars?|bullets?|bullet\s+points?"
    r"|points?|items?|examples?|pages?|minutes?|seconds?|steps?|columns?|rows?|emojis?|tweets?|slides?|wörter|sätze"
    r"|zeilen|mots|phrases|lignes|palabras|frases|líneas)\b",
    re.IGNORECASE,
)
# Ideas or advice asked for are prose, whatever numbers come with them ("ideas for a 10th birthday party").
_CONTENT_ADVICE = re.compile(
    r"\b(?:ideas?|tips?|advice|suggestions?|recommendations?|pointers|hints?|inspiration|pros\s+and\s+cons|ideen|tipps?"
    r"|ratschläge?|idées?|conseils?|ideas|consejos?|sugerencias?)\b",
    re.IGNORECASE,
)
# A token of letters and digits names a thing ("S3", "EC2", "IPv4", "H200"), it is no number.
_NAMED_NUMBER = re.compile(r"\b[^\W\d_]+\d\w*")
_CONTENT_MATH = re.compile(
    r"\d|[=+*/^<>]|\b(?:equations?|fractions?|decimals?|integrals?|derivatives?|matri(?:x|ces)|polynomials?"
    r"|probabilit(?:y|ies)|chances?|odds|likelihood|percentages?|percent|primes?|angles?|triangles?|circles?|area"
    r"|volume|perimeter|radius|diameter|sum|product|quotient|remainder|variance|standard\s+deviation|median"
    # Words that are verbs too ("Limit it to 3 bullet points", "I mean ...") only as nouns.
    r"|(?:the|its|a)\s+(?:mean|limit|range|mode)|(?:mean|limit)\s+of"
    r"|average|expected\s+value|distribution|determinant|eigenvalues?|eigenvectors?|series|sequence|roots?"
    r"|logarithm|exponent|rationals?|irrationals?|integers?|reals|real\s+numbers|natural\s+numbers|countabl[ey]"
    r"|uncountabl[ey]|divisible|parity|convergen(?:t|ce)|continuous|differentiable|bijecti(?:on|ve)|injective"
    r"|surjective|isomorphi[cs]m?|vector\s+space|subspace|vertices|groups?|subgroups?|solvable|abelian|noetherian"
    r"|first-order|linear\s+orders?|axiomati\w+"
    r"|(?:hilbert|banach|metric|topological|normed|measure|sample)\s+spaces?|compact|reflexive|separable"
    r"|finite-dimensional"
    r"|infinite-dimensional|manifolds?|homeomorphic|polynomials?|context-free|decidable|undecidable|np-hard|np-complete"
    r"|computable|uncomputable|recursively\s+enumerable|det|vanish(?:es)?|nilpotent|invertible|diagonali[sz]able"
    r"|dimensions|length|width|height|ratio|proportion|speed|velocity|acceleration|increasing|decreasing|concave"
    r"|convex|maxim(?:um|a)|minim(?:um|a)|critical\s+points?|extrema|asymptotes?|intercepts?|zeros|slope"
    r"|gradient|factorial|modulo|mod|gcd|lcm|divisors?|multiples?|theorem|lemma|proof|inequality"
    r"|bound|running\s+time|time\s+complexity|complexity|recurrence|asymptotic|edit\s+distance|distance|shortest"
    r"|gleichung|bruch|ableitung|wahrscheinlichkeit|varianz|mittelwert|summe|integral|grenzwert|folge|reihe|beweis"
    r"|équation|fraction|dérivée|probabilité|variance|moyenne|somme|limite|suite|série|intégrale|démonstration"
    r"|ecuación|fracción|derivada|probabilidad|varianza|media|suma|límite|sucesión|serie|integral|demostración"
    # Plurals ("Gilt das auch für unendliche Reihen?", "les suites", "las ecuaciones").
    r"|reihen|folgen|gleichungen|brüche|ableitungen|matrizen|primzahlen|gruppen|équations|suites|séries|dérivées"
    r"|groupes|ecuaciones|fracciones|sucesiones|series|derivadas|grupos)\b",
    re.IGNORECASE,
)
# A question about a given piece of code asks what it does (explain), not a result to work out
# (rule (b)): "What value does this evaluate to?", "What is the value of y?" after a fenced block.
_CODE_RESULT = re.compile(
    r"\bwhat\s+(?:is|are|'s)\s+[A-Za-z_]\w*(?:\[[^\]\n]*\]|\([^)\n]*\)|\.\w+)+\s*\?"
    r"|\b(?:value|values|evaluates?|evaluated|output|outputs|print|prints|printed|returns?|returned|result|log"
    r"|logs|logged|display|displays|contain|contains|hold|holds|end\s+up)\b",
    re.IGNORECASE,
)
# A yes/no question (not one asking for advice: "Should I ...?", "Is it safe ...?").
_YES_NO = re.compile(
    r"(?:and\s+|but\s+|so\s+)?(?:is|are|does|do|did|can|must|will|would|could|was|were|has|have|gilt|ist|sind"
    r"|est-ce|existe-t-il|es|son|existe)\b(?!\s+(?:it|this|that)\s+(?:safe|worth|better|wise|ok|okay|a\s+good"
    r"|a\s+bad)\b)(?!\s+(?:you|i|we)\b)",
    re.IGNORECASE,
)
# What about code is still a result to work out: its cost, or the chance of an outcome.
_COST_QUESTION = re.compile(
    r"\b(?:complexity|running\s+time|runtime|big-?o|asymptotic|how\s+(?:many|long|often|likely)|probability"
    r"|chance|odds|expected)\b",
    re.IGNORECASE,
)

# Stands in for masked code: not a word character, not whitespace, not punctuation.
_MASK = segment_model.CODE_MARK
_MASK_RUN = re.compile(_MASK + "{2,}")
_CODE = re.compile(r"```.*?(?:```|\Z)|``[^\n]+?``|`[^`\n]+`", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|\Z)|[\u3002\uff01\uff1f]+")
_LIST_MARKER = re.compile(
    r"(?:[-*\u2022+]|\(?\d{1,3}[.)]|\(?[a-z]\)|\(?(?:i{1,3}|iv|vi{0,3}|ix|x)[.)])\s+", re.IGNORECASE
)
# A list marker where an item can begin: a line start, or right after a sentence or a colon
# (there only a number, a letter or a bullet, since "1 + 2 + ... + n" and "... - 3" are maths).
_ITEM_START = re.compile(
    r"(?:^[ \t]*(" + _LIST_MARKER.pattern + r")|(?<=[.!?:;]\s)[ \t]*((?:\u2022|\(?\d{1,3}[.)]|\(?[a-z]\)"
    r"|\(?(?:i{1,3}|iv|vi{0,3}|ix|x)\))\s+))",
    re.IGNORECASE | re.MULTILINE,
)
# What a unit's cues are matched after: its list marker and opening punctuation.
_BODY_START = re.compile(r"(?:" + _LIST_MARKER.pattern + r")?[\s\"'(\u00bf\u00a1\u201c\u2018]*", re.IGNORECASE)
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "cf", "vs", "approx", "resp", "al", "ca", "mr", "mrs", "ms", "dr", "prof", "fig", "eq", "f.g", "a.e",
     "w.r.t"}
)
# Words that may sit between a joiner and the cue verb of the next clause ("..., and then also explain").
_FILLER_TAIL = re.compile(r"(?:\b(?:" + _alternation("fillers") + r")\b[\s,]*)*\Z", re.IGNORECASE)
_JOINING_WORD = re.compile(r"\b(?:" + _alternation("joiners") + r")\b", re.IGNORECASE)
_ELABORATION = re.compile(_alternation("elaboration"), re.IGNORECASE)
_CONTINUATION = re.compile(_alternation("continuation"), re.IGNORECASE)
_LAST_WORD = re.compile(r"(?<!\S)\S{1,12}\Z")
_SPACES = re.compile(r"\s*")
_BLANKS = re.compile(r"[ \t]*")
_WORD = re.compile(r"\w")


def segment(query: str, cues: Mapping[str, Sequence[str]] | None = None, *, refine: bool = True) -> list[Segment]:
    """Split `query` into ordered typed segments.

    `cues` maps each role name to regexes (matched case-insensitively) that mark a task of that
    kind; it replaces DEFAULT_CUES entirely, and its order breaks ties between roles. A regex
    that begins with WEAK ("(?#weak)") is a weak cue (see the module docstring). Segments
    are ordered, do not overlap, carry no surrounding whitespace, and together cover every
    non-whitespace character of the query. An empty or blank query gives []; any other query
    gives at least one segment. A query in which no cue matches (an unsupported language,
    gibberish) gives one "other" segment spanning the stripped query. Code (fenced or inline)
    is never split and cues inside it are ignored; a fenced block belongs to the segment
    before it, or to a leading "other" segment when it opens the query. See the module
    docstring for the whole algorithm. Raises re.error for an invalid cue pattern.

    With `refine` (the default) and the built-in cue table, the rules' parts are read again by
    the learned splitter and typer of `segment_model` (trained on the rules' output for the
    built-in table only, so a table with other cues or roles is left to the rules alone).
    """
    if not query.strip():
        return []
    spec = tuple(
        (role, (patterns,) if isinstance(patterns, str) else tuple(patterns))
        for role, patterns in (DEFAULT_CUES if cues is None else cues).items()
    )
    table = _compile(spec)
    masked, fence_starts, fence_ends = _mask(query)
    units = _units(masked, fence_ends)
    roles = {role for role, _, _ in table}
    table = _for_languages(table, _languages(masked))
    guess = {_PROGRAM_ROLE, _RESULT_ROLE, _PROSE_ROLE} <= roles  # only the built-in roles guess a kind
    segments, untyped = _assemble(masked, units, fence_starts, table, guess, {})
    if guess and all(kind == OTHER for kind, _, _ in segments):
        # Nothing asks for anything by its cues: the last unit shaped like an imperative ("Express
        # 0.45 as a fraction.", "Turn it into an iterative version.") is the request, if it is about
        # code or something to compute. One about neither ("Keep it short.", "Shorter, please.")
        # names no kind of task: the pipeline answers it as one segment routed by loss.
        # A question typed without its question mark ("what am I doing wrong", "hmm, wouldn't a plain dict
        # be simpler here") is a question all the same: prose, or a result when it holds a number.
        for start, body, end in reversed(untyped):
            words = _squeeze(masked, body, end)[0]
            if (
                _IMPERATIVE.match(words) and not _SAME_AGAIN.match(words)
                and (kind := _content_kind(words)) != _PROSE_ROLE
            ):
                segments, _ = _assemble(masked, units, fence_starts, table, guess, {start: kind})
                break
            if masked[end - 1] not in ".!?" and _UNMARKED_QUESTION.match(words) and not _SAME_AGAIN.match(words):
                kind = _RESULT_ROLE if _NUMBER.search(_NAMED_NUMBER.sub(" ", words)) else _PROSE_ROLE
                segments, _ = _assemble(masked, units, fence_starts, table, guess, {start: kind})
                break
    if refine and dict(spec) == DEFAULT_CUES:
        segments = segment_model.default_model().refine(query, masked, segments)
    return [Segment(kind, query[a:b], a, b) for kind, a, b in segments]


def mask_code(query: str) -> str:
    """`query` with its code (fenced blocks, inline `code`) replaced by a non-space character, offsets kept."""
    return _mask(query)[0]


def _assemble(
    masked: str, units: list[tuple[int, int]], fence_starts: frozenset[int], table: _Table, guess: bool,
    forced: Mapping[int, str],
) -> tuple[list[tuple[str, int, int]], list[tuple[int, int, int]]]:
    """Pass 4: the units' clauses assembled into (kind, start, end) segments; also the context units.

    `forced` maps a unit's start to the kind it takes as one task whatever its cues. `guess`: a
    request that no cue types gets a kind from its content (see `_content_kind`). The context
    units come back as (start, body, end), in order, for the caller's last-resort guess.
    """
    segments: list[tuple[str, int, int]] = []  # (kind, start, end)
    untyped: list[tuple[int, int, int]] = []
    about_code = guess and (bool(fence_starts) or _names_code(masked, 0, len(masked)))
    items_detail = False  # the last unit was a code task ending with ":" (or an item under one)
    context_items = False  # the last unit was context ending with ":" (or an item under it)
    spec_items = False  # ... and that context was a list of requirements ("Requirements for the tool:")
    for start, end in units:
        body = _skip(masked, start, _BODY_START)
        previous = segments[-1][0] if segments else OTHER
        if start in forced:
            segments.append((forced[start], start, end))
            items_detail = False
            continue
        is_item = body > start and _LIST_MARKER.match(masked, start) is not None
        if previous != OTHER and (
            (items_detail and is_item) or start in fence_starts
            # "Need bash: ... should get gzipped. Finally, echo a count of the archives.": one more step of it.
            or (previous == _PROGRAM_ROLE and _PROGRAM_STEP.match(masked, body, end) is not None)
            or ((elaboration := _ELABORATION.match(masked, body, end)) and not (
                # "What does paths(3, 3) return? Make it run in O(r·c) instead.": after prose about code, a change.
                about_code and previous != _PROGRAM_ROLE and _MAKE_IT.match(elaboration.group())
            ))
        ):
            # A detail of the task before: its list items, its code, "It should ..." sentences.
            segments[-1] = (previous, segments[-1][1], end)
            items_detail = previous == _PROGRAM_ROLE and (items_detail and is_item or masked[end - 1] == ":")
            continue
        items_detail = False
        under_lead_in, context_items = context_items and is_item, False
        spec_items = spec_items and under_lead_in
        words = _squeeze(masked, body, end)[0]  # what the guesses below read
        weak_only = _once(partial(_weak_only, masked, body, end, table))  # asked by several guesses below
        clauses = _clauses(masked, start, body, end, table + _CODE_CONTEXT_CUES if about_code else table)
        if guess and spec_items and not _strong_request_in(words):
            # "Requirements for the tool: 1. take a directory ... 2. count lines per extension": what the
            # program must do, stated before the request for it, asks for nothing itself.
            clauses = []
        if (
            clauses and previous == OTHER and segments and masked[end - 1] == "?"
            and weak_only() and not _ADVICE.match(masked, body, end)
            and not _ADVICE_WITHIN.search(masked, body, end)
            and any(role == _RESULT_ROLE for role, _, _ in table)
            and len(_NUMBER.findall(masked, segments[-1][1], segments[-1][2])) >= 2
        ):
            clauses = [(_RESULT_ROLE, start, end)]
        elif (
            guess and [kind for kind, _, _ in clauses] in ([_PROSE_ROLE], [_RESULT_ROLE, _PROSE_ROLE])
            and previous == OTHER and segments
            # (Not "What is its output?" about code pasted or named just before.)
            and not (about_code and _names_code(masked, segments[-1][1], end))
            and (quantity := _QUANTITY_QUESTION.match(words))
            and (len(clauses) == 1 or quantity.group("condition"))
            and (_BACK_REFERENCE.match(words) is not None or _QUANTITY_NOUN.search(words) is not None
                 or _CONTENT_MATH.search(_DIGITS.sub(" ", words)) is not None or quantity.group("condition"))
            and not _ADVICE.search(masked, body, end) and not _ADVICE_WITHIN.search(masked, body, end)
            and _NUMBER.search(masked, segments[-1][1], segments[-1][2]) is not None
        ):
            # "A rectangle's perimeter is 64 cm. What are its dimensions?": a quantity from the givens.
            clauses = [(_RESULT_ROLE, start, end)]
        # An item under a lead-in is a part of its own ("(a) the variance (b) the standard deviation").
        if (
            guess and clauses and masked[end - 1] == "."
            and (_STATEMENT.match(masked, body, end) or _NOT_UNDERSTOOD.search(masked, body, end))
            and not any(not weak and pattern.search(masked, body, end) for _, pattern, weak in table)
        ):
            # "I have a list of numbers in Python.": a statement about oneself asks nothing, whatever it names.
            clauses = []
        if guess and (_DOUBT.fullmatch(words) or _SAME_AGAIN.match(words)) and weak_only():
            clauses = []  # "Are you sure? I got 120.": a doubt about the last answer names no kind of task.
        continues = previous != OTHER and not under_lead_in and _CONTINUATION.match(masked, body, end) is not None
        detail = False
        if guess and not continues:
            if _COMPARISON.match(words) and not _strong_cue_in(words, len(words), table):
                # "functor vs applicative, no jargon please", "Mutex vs semaphore in C?": a comparison asked for.
                clauses = [(_PROSE_ROLE, start, end)]
            elif not clauses and (_STRONG_REQUEST.match(words) or _LATE_REQUEST.match(words)):
                # "Need a Python script that ...", "Ich brauche ein Bash-Skript ...": a request, typed by content.
                clauses = [(_content_kind(words), start, end)]
            elif (
                len(clauses) == 1 and clauses[0][0] == _PROSE_ROLE and _STRONG_REQUEST.match(words)
                and weak_only()
            ):
                # "Could you put together a FastAPI route ...?": a request, not a question to answer in prose.
                clauses = [(_content_kind(words), start, end)]
            elif (headline := _HEADLINE.match(words)) and _is_headline(words, headline, clauses, table):
                # "Python function to flatten a list, please.", "Dockerfile for a Node app", "Bash one-liner to
                # count lines?": a request without a verb; the verbs of what it is for describe it.
                kind = _content_kind(words)
                if kind != _PROGRAM_ROLE and headline.group("result"):
                    kind = _RESULT_ROLE
                elif kind != _PROGRAM_ROLE and headline.group("prose"):
                    kind = _PROSE_ROLE
                if kind == previous:
                    detail = True  # "Write a SQL query ... Schema: customers(id, name)": a detail of that task
                    clauses = []
                else:
                    clauses = [(kind, start, end)]
            elif (
                len(clauses) == 1 and clauses[0][0] == _PROSE_ROLE and masked[end - 1] == "?"
                and weak_only() and not _QUESTION_OPENER.match(words, _skip(words, 0, _TOPIC))
                and not _CHOICE.search(words) and not _ADVICE_WITHIN.search(words)
                and (kind := _content_kind(words)) != _PROSE_ROLE
            ):
                # "Regex for UK postcodes?", "Chance that both are aces?": an elliptical request, typed by content.
                clauses = [(kind, start, end)]
            elif (
                len(clauses) == 1 and clauses[0][0] == _RESULT_ROLE and masked[end - 1] == "?"
                and weak_only()
                and (_ADVICE.match(words, _skip(words, 0, _LEAD)) is not None or _ADVICE_WITHIN.search(words))
            ):
                # "Is it better to rent or buy if prices rise 5% a year?": advice asked, numbers or not.
                clauses = [(_PROSE_ROLE, start, end)]
            elif (
                len(clauses) == 1 and clauses[0][0] == _PROSE_ROLE and masked[end - 1] == "?"
                and _YES_NO.match(words) and weak_only()
                and not _ADVICE.search(words) and not _ADVICE_WITHIN.search(words)
                and not _CONTENT_CODE.search(words) and _CONTENT_MATH.search(_DIGITS.sub(" ", words))
                and not _REASON.search(words)
            ):
                # "Is every bounded sequence convergent?": a yes/no question about mathematics is settled by proof.
                clauses = [(_RESULT_ROLE, start, end)]
            elif (
                len(clauses) == 1 and clauses[0][0] == _PROSE_ROLE and previous == _RESULT_ROLE
                and _YES_NO.match(words) and weak_only()
                and not _REASON.search(words) and not _NORM.search(words)
                and (_RESULT_REFERENCE.search(words) or _CONTENT_MATH.search(_DIGITS.sub(" ", words))) is not None
            ):
                # "Prove X. Does it still hold if G is not connected?": a yes/no question about the
                # result just worked out is settled the same way, by proof or calculation.
                clauses = [(_RESULT_ROLE, start, end)]
            elif (
                clauses and clauses[0][0] == _RESULT_ROLE and masked[end - 1] == "?"
                and (any(f < start for f in fence_starts) or _MASK in masked[:start])
                and _CODE_RESULT.search(masked, clauses[0][1], clauses[0][2])
                and not _COST_QUESTION.search(masked, clauses[0][1], clauses[0][2])
            ):
                # "What value does this evaluate to?" after a code block: what the code does, in prose.
                clauses = [(_PROSE_ROLE, clauses[0][1], clauses[0][2])] + clauses[1:]
        if (
            guess and len(clauses) == 1 and clauses[0][0] == _RESULT_ROLE and masked[end - 1] == "?"
            and weak_only() and _TIPS_FOR.search(words)
        ):
            clauses = [(_PROSE_ROLE, start, end)]  # "Also, tips for getting to 10k steps?": advice, numbers or not
        if (
            guess and clauses and clauses[0][0] in (_PROGRAM_ROLE, _RESULT_ROLE)
            and _CODE_REQUEST.match(words)
        ):
            # "J'aurais besoin d'une requête SQL renvoyant, pour chaque auteur, le nombre de livres ...": what the code
            # computes is its object, not a sum of its own (but "..., and tell me each share when ..." is a task).
            clauses = _computing_as_code(masked, clauses, joined_stay=True)
        if guess and clauses and _STRONG_REQUEST.match(words):
            clauses = _need_then_task(masked, body, clauses, table)
        if guess and len(clauses) > 1:
            clauses = _steps_of_the_code(masked, clauses)
        if guess and under_lead_in and not clauses and not spec_items:
            # "For the data 2, 4, 4, 5: (a) the variance (b) what the spread tells us": items without a
            # verb under a lead-in that asks nothing name what to work out (a maths quantity) or explain
            # (an indirect question); other items (requirements, data) stay context.
            if _IMPERATIVE.match(words):
                pass  # a step of a program described ("2. Print their sum."), not a quantity asked for
            elif _WH.match(words):
                # "where it is increasing" is a result; "what the deviation tells us" is prose.
                math = _RESULT_ROLE if _CONTENT_MATH.search(_DIGITS.sub(" ", words)) else _PROSE_ROLE
                clauses = [(math if _WH_RESULT.match(words) else _PROSE_ROLE, start, end)]
            elif _PROSE_ITEM.match(words):
                clauses = [(_PROSE_ROLE, start, end)]  # "c) geometric meaning of the derivative, in 2 sentences"
            elif _CODE_ITEM.match(words):
                clauses = [(_PROGRAM_ROLE, start, end)]
            elif (
                _CONTENT_MATH.search(_DIGITS.sub(" ", words)) or _EXPRESSION.fullmatch(words)
                or _MATH_NOTATION.fullmatch(words) or _COST_ITEM.match(words) or _CALCULUS.search(words)
            ):
                clauses = [(_RESULT_ROLE, start, end)]
        if about_code and not continues:
            if not clauses and (
                _SHOW_HOW.match(masked, body, end)
                or (not under_lead_in and _IMPERATIVE.match(masked, body, end) and _ON_IT.match(masked, body, end))
                # "Add a healthcheck and make web wait for it." after a compose file: a change to what was pasted.
                or (any(f < start for f in fence_starts) and _CHANGE_VERB.match(masked, body, end))
            ):
                # "Reshape it to 3x2." after a numpy block: an imperative on the code is a change to it.
                clauses = [(_PROGRAM_ROLE, start, end)]
            # "Show how to restructure the loop", "How would I copy the list instead?" in a question about code.
            clauses = [
                (_PROGRAM_ROLE if kind == _PROSE_ROLE and _SHOW_HOW.match(masked, max(a, body), b) else kind, a, b)
                for kind, a, b in clauses
            ]
        if guess and len(clauses) > 1 and clauses[0][0] == _PROGRAM_ROLE and _LANG_LEAD.match(masked, body, end):
            # "Using pandas, group the table by region and compute the mean": the computing is the code's.
            clauses = _computing_as_code(masked, clauses, joined_stay=False)
        if (
            guess and previous == _RESULT_ROLE and not under_lead_in
            and all(kind == _PROGRAM_ROLE for kind, _, _ in clauses)
            and _LANG_DETAIL.fullmatch(words)
            and not _strong_cue_in(words, len(words), table)
        ):
            # "Find the max sum of a window of length k. O(n) pls, python": the task before is done in that language.
            segments[-1] = (_PROGRAM_ROLE, segments[-1][1], end)
            continue
        if clauses:
            segments.extend(clauses)
            context_items = under_lead_in
            items_detail = clauses[-1][0] == _PROGRAM_ROLE and masked[end - 1] == ":"
            continue
        untyped.append((start, body, end))
        # Items after context: "Scores: 72, 85, 90. (a) the mean (b) the range" (not items after a task's items).
        context_items = under_lead_in or not is_item
        if not is_item:
            spec_items = masked[end - 1] == ":" and _SPEC_LEAD.search(masked, body, end) is not None
        joins_previous = segments and (start in fence_starts or previous == OTHER or continues or detail)
        if joins_previous:
            segments[-1] = (segments[-1][0], segments[-1][1], end)
        else:
            segments.append((OTHER, start, end))
    return segments, untyped


_FILLER_GAP = re.compile(r"[\s,]*(?:(?:" + _alternation("fillers") + r")\b[\s,]*)*", re.IGNORECASE)
_PARENTHESES = re.compile(r"\([^()\n]*\)")
_PLEASE_COLON = re.compile(r"\s*(?:please\s*)?[:?]", re.IGNORECASE)


_TELL_ME = re.compile(
    r"(?:[\s,;]|\b(?:and|then|also|finally)\b)*(?:(?:tell|show|give)\s+(?:me|us)|let\s+(?:me"
    r"|us)\s+know)\b", re.IGNORECASE
)


def _computing_as_code(
    masked: str, clauses: list[tuple[str, int, int]], joined_stay: bool
) -> list[tuple[str, int, int]]:
    """`clauses` with each solve clause made part of the code asked for, neighbours of one kind merged.

    With `joined_stay`, a solve clause that opens with a joining word ("and tell me ...") stays a task of its own.
    """
    merged: list[tuple[str, int, int]] = []
    for kind, a, b in clauses:
        # ("Using R, regress ..., and tell me whether horsepower matters": that result is a task of its own.)
        joined = joined_stay and _JOINING_WORD.match(masked, _skip(masked, a, _JOIN_GAP)) is not None
        if kind == _RESULT_ROLE and not joined and not _TELL_ME.match(masked, a):
            kind = _PROGRAM_ROLE
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1], b)
        else:
            merged.append((kind, a, b))
    return merged


def _names_code(masked: str, a: int, b: int) -> bool:
    """Whether masked[a:b] holds code, or names a programming language or a tool."""
    return (
        _MASK in masked[a:b] or _LANG_NAMED.search(masked, a, b) is not None
        or _TOOL_NAMED.search(masked, a, b) is not None
    )


# What a piece of code is asked to do, after "that", "to", "make it" ("a function that converts ... and rounds ...").
_CODE_DOES = re.compile(r"\b(?:that|which|to|make\s+(?:it|them)|que|qui|die|der|das)\b", re.IGNORECASE)
# "... and round each share up": one more thing it does, a bare verb of computing right after the joining word.
_ONE_MORE_STEP = re.compile(
    r"(?:and|y|und|et)\s+(?:round|redondee|arrondisse|runde[tn]?|sort|ordene|trie|sortiert|count|cuente|compte"
    r"|zählt|sum"
    r"|sume|summiert|add|ajoute|addiert|convert|convierta|convertisse|konvertiert|rank|group|filter|normali[sz]e"
    r"|scale|average|total|calculate|calcule|berechnet|compute)\b",
    re.IGNORECASE,
)


def _need_then_task(
    masked: str, body: int, clauses: list[tuple[str, int, int]], table: _Table
) -> list[tuple[str, int, int]]:
    """`clauses` with a need stated first made a task of its own, typed by its content.

    "I need the probability of drawing two aces ..., plus a few words on why ...", "I'd love a bash
    one-liner that lists ..., along with a breakdown of what each flag does": the need has no cue of its
    own, so the clause split never starts a clause at it; it ends at the joining word before the first cue.
    """
    kind, a, b = clauses[0]
    words, at = _squeeze(masked, body, b)
    starts = [m.start() for _, pattern, weak in table if not weak for m in (pattern.search(words),) if m]
    if not starts or min(starts) == 0:
        return clauses
    first = at[min(starts)]
    tail = _FILLER_TAIL.search(masked, max(body, first - 60), first)
    assert tail is not None, "_FILLER_TAIL matches the empty string at the window's end"
    cut = tail.start()
    head_end = len(masked[:cut].rstrip())
    if head_end <= body or not (
        masked[head_end - 1] in ",;" or _JOINING_WORD.search(masked, cut, first) is not None
    ):
        return clauses
    head = _content_kind(_squeeze(masked, body, head_end)[0])
    if head == kind:
        return clauses
    return [(head, a, head_end), (kind, cut, b)] + clauses[1:]


def _steps_of_the_code(masked: str, clauses: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """`clauses` with a computing step joined to the code clause it describes.

    "Could you make it add a tip and round each share up to the nearest cent?", "una función que
    convierta kilómetros a millas y redondee a dos decimales": the second verb is what the code does,
    not a sum of its own, unless it brings numbers of its own ("... and round 2.675 to two places").
    """
    merged: list[tuple[str, int, int]] = []
    for kind, a, b in clauses:
        if (
            kind == _RESULT_ROLE and merged and merged[-1][0] == _PROGRAM_ROLE
            and _ONE_MORE_STEP.match(masked, a) and not _NUMBER.search(masked, a, b)
            and _CODE_DOES.search(masked, merged[-1][1], merged[-1][2])
        ):
            merged[-1] = (_PROGRAM_ROLE, merged[-1][1], b)
        else:
            merged.append((kind, a, b))
    return merged


_FINITE_IN_HEAD = re.compile(
    r"\S+\s+(?:[\w-]+\s+)?(?:keeps|kept|refuses|refused|won't|doesn't|didn't|can't|isn't|wasn't|fails|failed|crashes"
    r"|crashed|throws|threw|says|said|complains|complained|seems|tells|told|rejects|rejected)\b",
    re.IGNORECASE,
)
_TOPIC_LABEL = re.compile(
    r"\b(?:question|problem|issue|doubt|puzzle|thing|topic|context|background|situation|scenario|setup|note"
    r"|frage|problème"
    r"|pregunta|problema)\s*\Z",
    re.IGNORECASE,
)


def _is_headline(words: str, headline: re.Match[str], clauses: list[tuple[str, int, int]], table: _Table) -> bool:
    """Whether a unit that opens like a headline is a request without a verb, not a statement or a verb's object.

    Not when the noun phrase is the subject of a main verb ("A Python script for backups runs every
    night.", "Regex for emails is hard."), unless the unit asks (a question, "please", a colon
    after the head); when cues match, only if none begins before the complement and no joining
    word follows it (the complement's verbs describe the deliverable).
    """
    complement = headline.start("complement") if headline.group("complement") else headline.end()
    if _FINITE_IN_HEAD.match(words, 0, complement):
        return False  # "Rust keeps refusing to let me take a &mut ..., why is that?": a subject and its verb
    after = _PLEASE_COLON.match(words, headline.end())
    asks = headline.group("complement") is None and after is not None or bool(_ASKS.search(words))
    # (An aside in brackets says nothing about the shape: "regex for dates (don't worry about leap years)".)
    if not asks and _MAIN_VERB.match(_PARENTHESES.sub(lambda m: " " * len(m.group()), words), complement):
        return False
    if after is not None and after.group().endswith(":") and (
        words.rstrip().endswith("?") or _TOPIC_LABEL.search(words, 0, headline.end())
    ):
        # "C++: is vector<bool> a real container?", "Kotlin question: what's ...?", "Rust question: the borrow
        # checker won't let me ...": a topic
        return False
    if not clauses:
        return True
    # "Shell one-liner, please: count the lines of Python ...": what follows the colon specifies the deliverable.
    described = headline.group("complement") is not None or (after is not None and after.group().endswith(":"))
    return (
        described and not _strong_cue_in(words, complement, table)
        and not _task_after_joiner(words, complement, table)
    )


def _strong_request_in(words: str) -> bool:
    """Whether `words` asks for something outright: "write", "please", a need, a question mark."""
    return any(found is not None for found in (_ASKS.search(words), _STRONG_REQUEST.match(words), _WRITE.search(words)))


def _task_after_joiner(words: str, start: int, table: _Table) -> bool:
    """Whether a joining word after `start` opens a task of its own ("..., and explain it"), not a detail."""
    for joiner in _JOINING_WORD.finditer(words, start):
        after = _skip(words, joiner.end(), _FILLER_GAP)
        if _PROGRAM_VERB.match(words, after):
            continue  # "bash one-liner to find all files over 100MB and sort them by size": one more step of it
        if any(not weak and pattern.match(words, after) for _, pattern, weak in table):
            return True
    return False


def _strong_cue_in(words: str, limit: int, table: _Table) -> bool:
    """Whether a strong cue matches within words[:limit] ("Compare Python and Java for ..." is a verb's object)."""
    return any(
        not weak and (m := pattern.search(words)) is not None and m.start() < limit for _, pattern, weak in table
    )


def _content_kind(words: str) -> str:
    """The kind of a request that no cue types, from what it is about: code, a result, or prose."""
    if _CONTENT_CODE.search(words):
        return _PROGRAM_ROLE
    if _CONTENT_ADVICE.search(words):
        return _PROSE_ROLE
    if _CONTENT_MATH.search(_FORMAT_COUNT.sub(" ", _NAMED_NUMBER.sub(" ", words))):
        return _RESULT_ROLE
    return _PROSE_ROLE


@lru_cache(maxsize=32)
def _compile(table: tuple[tuple[str, tuple[str, ...]], ...]) -> _Table:
    """Compile a cue table once; the config's table is reused for every query."""
    return tuple(
        (role, re.compile(p, re.IGNORECASE), p.startswith(WEAK)) for role, patterns in table for p in patterns
    )


def _mask(query: str) -> tuple[str, frozenset[int], frozenset[int]]:
    """Hide code from the splitter and the cues; also return where fenced blocks start and end."""
    parts, starts, ends, last = [], set(), set(), 0
    for m in _CODE.finditer(query):
        # An unclosed fence runs to the end of the query, but its trailing whitespace stays blank.
        end = m.start() + len(m.group().rstrip())
        parts += [query[last : m.start()], _MASK * (end - m.start())]
        last = end
        if m.group().startswith("```"):
            starts.add(m.start())
            ends.add(end)
    parts.append(query[last:])
    return "".join(parts), frozenset(starts), frozenset(ends)


def _units(masked: str, fence_ends: frozenset[int]) -> list[tuple[int, int]]:
    """Cut the masked query into sentence/list-item/line units, as stripped (start, end) spans."""
    # A block ends its unit so that what follows it is judged on its own; a fence inside a
    # line of prose ("what does ```x=1``` do") does not.
    cuts = {e for e in fence_ends if masked[_skip(masked, e, _BLANKS) :][:1] in ("", "\n", "\r")}
    markers = _list_markers(masked)
    cuts |= markers.keys()
    marker_dots = set(markers.values())
    for m in _SENTENCE_END.finditer(masked):
        if m.start() not in marker_dots and _ends_sentence(masked, m):
            cuts.add(m.end())
    for m in re.finditer(r"\n", masked):
        nxt = _skip(masked, m.end(), _BLANKS)
        if masked[nxt : nxt + 1] == "\n" or masked[nxt : nxt + 1].isupper() or _LIST_MARKER.match(masked, nxt):
            cuts.add(m.start())
    units, bounds = [], sorted(cuts | {0, len(masked)})
    for a, b in zip(bounds, bounds[1:], strict=False):
        while a < b and masked[a].isspace():
            a += 1
        while b > a and masked[b - 1].isspace():
            b -= 1
        if a < b:
            units.append((a, b))
    return units


def _list_markers(masked: str) -> dict[int, int]:
    """Map the start of each list-item number/bullet to the offset of its '.' (or -1 if none)."""
    markers: dict[int, int] = {}
    for m in _ITEM_START.finditer(masked):
        group = 1 if m.group(1) is not None else 2
        dot = m.start(group) + m.group(group).find(".")
        markers[m.start(group)] = dot if m.group(group).rstrip().endswith(".") else -1
    # "1. Compute x 2. Explain y" on one line: follow the numbering while it stays consecutive.
    # ("(1) compute ..., (2) explain ...": numbers in brackets too.)
    numbered = sorted(p for p in markers if masked[p : p + 2] in ("1.", "1)") or masked[p : p + 3] == "(1)")
    if numbered:
        pos, n = numbered[0], 2
        bracketed = masked[pos] == "("
        while step := re.compile(rf"(?<=\s)\({n}\)(?=\s)" if bracketed else rf"(?<=\s){n}[.)](?=\s)").search(
            masked, pos
        ):
            markers[step.start()] = step.start() + len(str(n)) if masked[step.end() - 1] == "." else -1
            pos, n = step.end(), n + 1
    # "(a) define entropy (b) compute H for a fair die (c) why ...": the same for letters.
    lettered = sorted(p for p in markers if masked[p : p + 3].lower() == "(a)" or masked[p : p + 2].lower() == "a)")
    if lettered:
        pos = lettered[0]
        steps = _NEXT_LETTER_PAREN if masked[pos] == "(" else _NEXT_LETTER
        for step_pattern in steps:
            if not (step := step_pattern.search(masked, pos + 1)):
                break
            markers[step.start()] = -1
            pos = step.end()
    return markers


# The next lettered item of an inline list, "(b)" after "(a)" (or "b)" after "a)"), after a space.
_NEXT_LETTER_PAREN = tuple(re.compile(rf"(?<=\s)\({c}\)(?=\s)", re.IGNORECASE) for c in "bcdefgh")
_NEXT_LETTER = tuple(re.compile(rf"(?<=\s){c}\)(?=\s)", re.IGNORECASE) for c in "bcdefgh")


def _skip(text: str, pos: int, blank: re.Pattern[str]) -> int:
    """Offset of the first character at or after `pos` that `blank` does not match."""
    match = blank.match(text, pos)
    assert match is not None, "blank patterns match the empty string"
    return match.end()


def _ends_sentence(masked: str, m: re.Match[str]) -> bool:
    """Whether terminal punctuation really ends a sentence (not 'e.g.', '1.' or a mid-sentence '...')."""
    punct = m.group().rstrip("\"'\u201d\u2019)]")
    nxt = _skip(masked, m.end(), _SPACES)
    following = masked[nxt : nxt + 1]
    if punct.startswith("..") or "\u2026" in punct:
        return following.isupper()
    before = masked[max(0, m.start() - 2) : m.start()]
    if punct == "!" and before and (
        before[-1].isdigit() or before[-1] == ")" or (before[-1].isalpha() and not before[:-1].isalnum())
    ):
        # A factorial ("16! mod 17", "(p - 1)! = ...", "n! for n >= 0") unless a new sentence visibly starts.
        return following == "" or following.isupper()
    if punct != ".":
        return True
    last = _LAST_WORD.search(masked, max(0, m.start() - 12), m.start())
    word = last.group().lower().lstrip("([\"'") if last else ""
    if word == "etc":
        return following.isupper()
    return word not in _ABBREVIATIONS


def _clauses(masked: str, start: int, body: int, end: int, table: _Table) -> list[tuple[str, int, int]]:
    """Split one unit into task clauses as (kind, start, end); [] when no cue matches in it.

    Cues are matched on the unit from `body` on (after its list marker), so that ^ in a cue
    means the start of the sentence; offsets below are relative to `start`.
    """
    text = masked[start:end]
    words, at = _squeeze(masked, body, end)
    # (position, -length, table order, role, weak, end), positions relative to `start`
    hits = sorted(
        (at[m.start()] - start, at[m.start()] - at[m.end()], order, role, weak, at[m.end()] - start)
        for order, (role, pattern, weak) in enumerate(table)
        for m in pattern.finditer(words)
    )
    if not hits:
        return []
    weak_spans = [(h[0], h[5]) for h in hits if h[4]]
    cuts = [0]
    strong = [h for h in hits if not h[4]]
    for pos in sorted({h[0] for h in strong}):
        if any(h[0] < pos < h[5] for h in strong):
            continue  # inside a longer cue ("In R, how do I ..." is one code cue)
        # Windows keep this linear in the unit's length; fillers and joiners are short.
        tail = _FILLER_TAIL.search(text, max(0, pos - 60), pos)
        assert tail is not None, "_FILLER_TAIL matches the empty string at the window's end"
        cut = tail.start()
        before = text[max(0, cut - 40) : cut]
        joined = (
            _JOINING_WORD.search(text, cut, pos) is not None
            or before.rstrip()[-1:] in (",", ";")
            # ("union find ... — write a python class for it": a dash after a clause with a task of its own.)
            or (before.rstrip()[-1:] in ("—", "–") and any(not h[4] for h in hits if cuts[-1] <= h[0] < cut))
            or "\n" in before[len(before.rstrip()) :]
        )
        if joined and cut > cuts[-1] and _holds_task(text, cuts[-1], cut, hits, weak_spans):
            if (
                _INDIRECT.match(text, pos) and _kind(hits, cuts[-1], cut) == _PROSE_ROLE
                and not _WH.match(text, _first_strong(hits, cuts[-1], cut))
            ):
                continue  # the object of "Explain ... and how ...", not a task of its own
            if _INDIRECT_AMOUNT.match(text, pos) and _kind(hits, cuts[-1], cut) == _PROGRAM_ROLE:
                continue  # what the code computes: "a query listing each supplier ... and how many crates ..."
            cuts.append(cut)
    cuts.append(len(text))
    clauses: list[tuple[str, int, int]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        kind = _kind(hits, a, b)
        question = text.rstrip().endswith("?") and _WH_AUX.match(text, _skip(text, a, _JOIN_GAP)) is not None
        if kind == _PROGRAM_ROLE and question and not any(not h[4] for h in hits if a <= h[0] < b):
            # "What exactly does the `restrict` qualifier promise in C, and ...?", "In Java, can several threads share
            # a HashMap?": the language is the setting of a question, not code asked for.
            kind = _PROSE_ROLE
        while text[b - 1].isspace():
            b -= 1
        if clauses and clauses[-1][0] == kind:
            clauses[-1] = (kind, clauses[-1][1], start + b)
        else:
            clauses.append((kind, start + a, start + b))
    return clauses


def _kind(hits: list[tuple], a: int, b: int) -> str:
    """The kind of the clause text[a:b]: its earliest strong cue's role, else its earliest weak one's."""
    inside = [h for h in hits if a <= h[0] < b]
    return next((h[3] for h in inside if not h[4]), inside[0][3])


def _first_strong(hits: list[tuple], a: int, b: int) -> int:
    """Where the first strong cue in text[a:b] starts (a if none)."""
    return next((h[0] for h in hits if a <= h[0] < b and not h[4]), a)


def _once(compute: Callable[[], bool]) -> Callable[[], bool]:
    """`compute`, run at most once: later calls return the first result."""
    result: list[bool] = []

    def cached() -> bool:
        if not result:
            result.append(compute())
        return result[0]

    return cached


def _weak_only(masked: str, body: int, end: int, table: _Table) -> bool:
    """Whether only weak cues, and none of the program role, match in masked[body:end]."""
    words, _ = _squeeze(masked, body, end)
    return not any(
        pattern.search(words) for role, pattern, weak in table if not weak or role == _PROGRAM_ROLE
    )


def _squeeze(masked: str, a: int, b: int) -> tuple[str, Sequence[int]]:
    """masked[a:b] with each run of masked code cut to one character, and each offset's place in `masked`.

    The cues then cost the same for a pasted 500-line file as for a one-word snippet; a run of
    masked characters matches no cue anyway. Casual spellings are written out ("whats" -> "what's",
    "u" -> "you", `_CASUAL`), so that the cues need not list them.
    """
    text = masked[a:b]
    if _MASK * 2 not in text:
        if _CASUAL.search(text) is None:
            return text, range(a, b + 1)
        return _spell_out(text, list(range(a, b + 1)))
    parts: list[str] = []
    offsets: list[int] = []
    last = 0
    for m in _MASK_RUN.finditer(text):
        parts.append(text[last : m.start() + 1])
        offsets.extend(range(a + last, a + m.start() + 1))
        last = m.end()
    parts.append(text[last:])
    offsets.extend(range(a + last, b + 1))
    squeezed = "".join(parts)
    return _spell_out(squeezed, offsets) if _CASUAL.search(squeezed) else (squeezed, offsets)


# Chat spellings of the words that cues are made of: an apostrophe left out ("whats", "dont", "im") and short
# forms ("u", "ur", "pls", "thx", "ppl", "yrs"). Not "its", "were", "id", "ill", "well": words in their own right.
_CASUAL_FORMS = {
    "u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks", "ppl": "people", "yrs": "years",
    "cuz": "because", "bc": "because", "abt": "about", "w/": "with", "calc": "calculate", "func": "function",
    "funcs": "functions", "diff": "difference", "thru": "through", "hw": "how", "y": "why", "w": "with", "q": "qué",
    "xq": "por qué", "pq": "por qué", "c": "c'est",
}
# A polite request with a gerund ("Would you mind writing a script ...", "... and then fixing the code?")
# reads as the imperative it asks for.
_GERUNDS = {
    "writing": "write", "making": "make", "fixing": "fix", "rewriting": "rewrite", "changing": "change",
    "adding": "add", "converting": "convert", "implementing": "implement", "creating": "create",
    "building": "build", "updating": "update", "modifying": "modify", "extending": "extend", "porting": "port",
    "refactoring": "refactor", "explaining": "explain", "describing": "describe", "telling": "tell",
    "walking": "walk", "going": "go", "clarifying": "clarify", "calculating": "calculate", "computing": "compute",
    "working": "work", "figuring": "figure", "solving": "solve", "checking": "check", "finding": "find",
    "proving": "prove", "showing": "show", "giving": "give", "putting": "put", "translating": "translate",
    "turning": "turn", "sketching": "sketch", "drafting": "draft", "comparing": "compare", "listing": "list",
    "summarizing": "summarize", "summarising": "summarise", "estimating": "estimate", "deriving": "derive",
    "simplifying": "simplify", "rounding": "round", "debugging": "debug", "optimizing": "optimize",
    "optimising": "optimise", "adapting": "adapt", "breaking": "break", "spelling": "spell", "outlining": "outline",
}
_CASUAL_FORMS.update(_GERUNDS)
_CASUAL = re.compile(
    r"\b(?:(?:what|that|how|where|who|there|here|let)(?=s\b)|(?:don|doesn|isn|aren|can|won|didn|wasn|shouldn|wouldn"
    r"|couldn|haven|hasn)(?=t\b)|i(?=(?:m|ve)\b)|(?:you|they)(?=(?:re|ve)\b)|we(?=ve\b))"
    r"|\b(?:u|ur|pls|plz|thx|ppl|yrs|cuz|bc|abt|funcs?|thru)\b|(?<!\S)w/"
    # ("y does the sky look blue": a lower-case "y" only; "Y is Hausdorff" is a space.)
    r"|(?:^|(?<=\s))(?-i:y)(?=\s+(?:does|do|is|are|did|would)\b)|\bhw(?=\s+(?:do|to|can|does|would|should)\b)"
    r"|(?<=\s)w(?=\s+" + _LANGS + r"(?![\w+#]))"
    # (Only where the short form cannot be meant as itself: "the calc" app, "git diff", "p and q", "in C".)
    r"|(?:^|(?<=\s))calc(?=\s+(?:the|a|an|my|how|what|\d))|(?<=\bthe\s)diff(?=\s+(?:between|betw|btw)\b)"
    r"|(?:^|(?<=[\s¿]))q(?=\s+(?:es|son|significa|hace|pasa|quiere)\b)|\b[xp]q\b(?=\s+[^\W\d])"
    r"|(?:^|(?<=\s))c(?=\s+quoi\b)"
    r"|(?:(?<=\bmind\s)|(?<=\band\sthen\s))(?:" + "|".join(_GERUNDS) + r")\b",
    re.IGNORECASE,
)


def _spell_out(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    """`text` with its casual spellings written out (`_CASUAL`); each new character maps to its word's offset."""
    parts: list[str] = []
    mapped: list[int] = []
    last = 0
    for m in _CASUAL.finditer(text):
        word = m.group()
        full = _CASUAL_FORMS.get(word.lower())
        if full is None:  # an apostrophe left out: "whats" -> "what's"
            parts.append(text[last : m.end()] + "'")
            mapped.extend(offsets[last : m.end()])
            mapped.append(offsets[m.end()])
        else:
            parts.append(text[last : m.start()] + full)
            mapped.extend(offsets[last : m.start()])
            mapped.extend([offsets[m.start()]] * len(full))
        last = m.end()
    parts.append(text[last:])
    mapped.extend(offsets[last:])
    return "".join(parts), mapped


def _holds_task(text: str, a: int, b: int, hits: list[tuple], weak_spans: list[tuple[int, int]]) -> bool:
    """Whether text[a:b] can be a clause: a cue matches in it, and not just a weak one that is all it says."""
    inside = [h for h in hits if a <= h[0] < b]
    if any(not h[4] for h in inside):
        return True
    if not inside:
        return False
    # "In Rust, why ...": a leading weak phrase is a qualifier of the clause after it.
    rest = text[a:b]
    for s, e in weak_spans:
        s, e = max(s, a) - a, min(e, b) - a
        if s < e:
            rest = rest[:s] + " " * (e - s) + rest[e:]
    return _WORD.search(rest) is not None
