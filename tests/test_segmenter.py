"""Tests for the query segmenter: a table of real-looking queries plus the partition invariants."""

from __future__ import annotations

import re

import pytest

from seqmoe_local.segmenter import DEFAULT_CUES, LANGUAGES, OTHER, WEAK, Segment, merge_cues, segment

FENCED_SQL = "```sql\nSELECT name FROM users WHERE age > 30; -- explain this, then compute\n```"
FENCED_PY = "```python\ndef avg(xs):\n    # find the mean, then explain why\n    return sum(xs) / len(xs)\n```"



def _whole(kind: str, query: str) -> tuple[str, list[tuple[str, str]]]:
    """A case where the whole query is one segment of `kind`."""
    return query, [(kind, query)]


# (query, expected [(kind, text), ...]) -- what a careful reader would split, not what the code says.
CASES: list[tuple[str, list[tuple[str, str]]]] = [
    # --- the motivating example and mixed tasks in one sentence ---
    (
        "A train travels 120 km in 1.5 hours. Find its average speed, explain how you got it, "
        "then write a Python function that computes average speed.",
        [
            ("other", "A train travels 120 km in 1.5 hours."),
            ("solve", "Find its average speed,"),
            ("explain", "explain how you got it,"),
            ("code", "then write a Python function that computes average speed."),
        ],
    ),
    (
        "Find x, explain why, then write code.",
        [("solve", "Find x,"), ("explain", "explain why,"), ("code", "then write code.")],
    ),
    (
        "Solve 2x + 3 = 7 and explain each step.",
        [("solve", "Solve 2x + 3 = 7"), ("explain", "and explain each step.")],
    ),
    (
        "Compute the derivative of x^3; and explain what it means geometrically.",
        [("solve", "Compute the derivative of x^3;"), ("explain", "and explain what it means geometrically.")],
    ),
    (
        "Calculate 15% of 80 and then write a function that computes any percentage.",
        [("solve", "Calculate 15% of 80"), ("code", "and then write a function that computes any percentage.")],
    ),
    (
        "Determine whether 91 is prime, and justify your answer.",
        [("solve", "Determine whether 91 is prime,"), ("explain", "and justify your answer.")],
    ),
    # --- "and" between nouns / relative clauses does not split ---
    _whole("solve", "Find the sum and product of 3 and 4."),
    _whole("explain", "Explain the difference between a process and a thread."),
    _whole("code", "Write a function that reads a file and counts the words in it."),
    _whole("explain", "Describe how merge sort works and why it runs in O(n log n) time."),
    # --- code first, other orders ---
    (
        "Write a Python function to check whether a number is prime. "
        "Then explain why it only tests divisors up to sqrt(n).",
        [
            ("code", "Write a Python function to check whether a number is prime."),
            ("explain", "Then explain why it only tests divisors up to sqrt(n)."),
        ],
    ),
    (
        "Implement binary search in Java, then explain its time complexity, and finally compute how many "
        "comparisons it needs for 1024 elements.",
        [
            ("code", "Implement binary search in Java,"),
            ("explain", "then explain its time complexity,"),
            ("solve", "and finally compute how many comparisons it needs for 1024 elements."),
        ],
    ),
    (
        "Explain what a closure is. Write an example in JavaScript.",
        [("explain", "Explain what a closure is."), ("code", "Write an example in JavaScript.")],
    ),
    # --- repeated kinds stay separate ---
    (
        "Solve 3x - 5 = 10. Solve x^2 = 49.",
        [("solve", "Solve 3x - 5 = 10."), ("solve", "Solve x^2 = 49.")],
    ),
    (
        "Find x, explain your method, then find y.",
        [("solve", "Find x,"), ("explain", "explain your method,"), ("solve", "then find y.")],
    ),
    (
        "Explain TCP. Explain UDP.",
        [("explain", "Explain TCP."), ("explain", "Explain UDP.")],
    ),
    # --- lists ---
    (
        "1. Solve 3x = 12.\n2. Explain each step.\n3. Write a Python function that solves ax = b.",
        [
            ("solve", "1. Solve 3x = 12."),
            ("explain", "2. Explain each step."),
            ("code", "3. Write a Python function that solves ax = b."),
        ],
    ),
    (
        "1. Compute 7 * 6 2. Explain the result 3. Write code that prints it",
        [
            ("solve", "1. Compute 7 * 6"),
            ("explain", "2. Explain the result"),
            ("code", "3. Write code that prints it"),
        ],
    ),
    (
        "Do the following:\n- find the mean of 2, 4 and 9\n- explain why the mean is sensitive to outliers",
        [
            ("other", "Do the following:"),
            ("solve", "- find the mean of 2, 4 and 9"),
            ("explain", "- explain why the mean is sensitive to outliers"),
        ],
    ),
    (
        "a) Calculate the area of a circle of radius 3.\nb) Describe how the formula is derived.",
        [
            ("solve", "a) Calculate the area of a circle of radius 3."),
            ("explain", "b) Describe how the formula is derived."),
        ],
    ),
    # --- question forms ---
    _whole("solve", "What is 3+4?"),
    _whole("solve", "How many edges does a complete graph on 5 vertices have?"),
    _whole("explain", "Why does ice float on water?"),
    _whole("explain", "How does a hash table handle collisions?"),
    _whole("code", "How would you implement an LRU cache in Python?"),
    _whole("code", "Can you write a regex that matches US zip codes?"),
    (
        "What is the probability of rolling two sixes? Why is it not 1/6?",
        [("solve", "What is the probability of rolling two sixes?"), ("explain", "Why is it not 1/6?")],
    ),
    # --- context sentences, data, CS and SQL ---
    (
        "Given the list [3, 1, 2]. Explain how insertion sort orders it.",
        [("other", "Given the list [3, 1, 2]."), ("explain", "Explain how insertion sort orders it.")],
    ),
    (
        "Given a table orders(id, customer_id, total), write an SQL query that returns the top customer, "
        "and explain how GROUP BY works.",
        [
            ("code", "Given a table orders(id, customer_id, total), write an SQL query "
                "that returns the top customer,"),
            ("explain", "and explain how GROUP BY works."),
        ],
    ),
    (
        "Let f(x) = x^2 - 4x + 3. Find the roots of f. Prove that f has a minimum at x = 2.",
        [
            ("other", "Let f(x) = x^2 - 4x + 3."),
            ("solve", "Find the roots of f."),
            ("solve", "Prove that f has a minimum at x = 2."),
        ],
    ),
    _whole("code", "Write a function that reverses a linked list. It must run in O(n) time and use O(1) memory."),
    (
        "Tom is 32 and Ann is 25.\nCompute their average age.\nThanks!",
        [("other", "Tom is 32 and Ann is 25."), ("solve", "Compute their average age."), ("other", "Thanks!")],
    ),
    _whole("solve", "Given a list of integers, find the maximum."),
    (
        "I have a list of numbers. How do I find the median in Python?",
        [("other", "I have a list of numbers."), ("code", "How do I find the median in Python?")],
    ),
    _whole("code", "Write SQL to list users older than 30."),
    # --- abbreviations, decimals, ellipses ---
    (
        "Explain recursion, e.g. with the factorial. Then write code for it.",
        [("explain", "Explain recursion, e.g. with the factorial."), ("code", "Then write code for it.")],
    ),
    (
        "Compare quicksort vs. mergesort, i.e. their worst cases. Implement the faster one.",
        [
            ("explain", "Compare quicksort vs. mergesort, i.e. their worst cases."),
            ("code", "Implement the faster one."),
        ],
    ),
    (
        "The sequence goes 1, 2, 4, 8... Find the next term.",
        [("other", "The sequence goes 1, 2, 4, 8..."), ("solve", "Find the next term.")],
    ),
    (
        "A car uses 6.5 litres per 100 km. Calculate the fuel for 250.75 km.",
        [("other", "A car uses 6.5 litres per 100 km."), ("solve", "Calculate the fuel for 250.75 km.")],
    ),
    # --- fenced code blocks and inline code ---
    (
        "Fix this code:\n" + FENCED_PY + "\nIt crashes on an empty list.",
        [("code", "Fix this code:\n" + FENCED_PY + "\nIt crashes on an empty list.")],
    ),
    (
        FENCED_SQL + "\nExplain what this query returns.",
        [("other", FENCED_SQL), ("explain", "Explain what this query returns.")],
    ),
    (
        "What does this print?\n```python\nprint('explain', 2 + 2)\n```\nThen write a version that prints 5.",
        [
            ("explain", "What does this print?\n```python\nprint('explain', 2 + 2)\n```"),
            ("code", "Then write a version that prints 5."),
        ],
    ),
    (
        "Explain what `re.findall(r'\\d+', s)` returns, then write a function that sums the numbers it finds.",
        [
            ("explain", "Explain what `re.findall(r'\\d+', s)` returns,"),
            ("code", "then write a function that sums the numbers it finds."),
        ],
    ),
    _whole("explain", "Why does `find_max(xs), then explain(xs)` raise an error?"),
    (
        "Explain the code below.\n\n```js\nconsole.log('write a function')\n```\n\nAlso, what does it print?",
        [
            ("explain", "Explain the code below.\n\n```js\nconsole.log('write a function')\n```"),
            ("explain", "Also, what does it print?"),
        ],
    ),
    # --- single kind, short, whitespace ---
    _whole("explain", "Explain recursion."),
    _whole("solve", "Compute 2^10"),
    ("   Implement quicksort in Rust.  \n\n", [("code", "Implement quicksort in Rust.")]),
    ("\n\nWhy is the sky blue?\n", [("explain", "Why is the sky blue?")]),
    # --- German, French and Spanish cues ---
    (
        "Calculez la vitesse moyenne d'un train qui parcourt 120 km en 1,5 heures. Expliquez votre raisonnement.",
        [
            ("solve", "Calculez la vitesse moyenne d'un train qui parcourt 120 km en 1,5 heures."),
            ("explain", "Expliquez votre raisonnement."),
        ],
    ),
    (
        "Berechne die Fläche eines Kreises mit Radius 3.\nErkläre deinen Lösungsweg.",
        [("solve", "Berechne die Fläche eines Kreises mit Radius 3."), ("explain", "Erkläre deinen Lösungsweg.")],
    ),
    (
        "Berechne 12 mal 12 und erkläre kurz, warum das Ergebnis eine Quadratzahl ist.",
        [("solve", "Berechne 12 mal 12"), ("explain", "und erkläre kurz, warum das Ergebnis eine Quadratzahl ist.")],
    ),
    (
        "Calcula el 15 % de 240, explica cómo lo hiciste y escribe una función en Python que lo haga.",
        [
            ("solve", "Calcula el 15 % de 240,"),
            ("explain", "explica cómo lo hiciste"),
            ("code", "y escribe una función en Python que lo haga."),
        ],
    ),
    # --- issue 13: task verbs, elaborations and framing sentences ---
    _whole("solve", "Design and analyze an offline algorithm that answers q range-count queries over n intervals."),
    _whole("solve", "Construct explicitly a sequence of continuous functions that converges pointwise but not "
        "uniformly."),
    _whole("solve", "Define a grammar for the language of balanced parentheses."),
    _whole("code", "You are asked to implement a fault-tolerant key-value store in Java."),
    (
        "You must maintain an array a[1..n] under range updates. Describe a data structure that does it in O(log n).",
        [
            ("other", "You must maintain an array a[1..n] under range updates."),
            ("solve", "Describe a data structure that does it in O(log n)."),
        ],
    ),
    (
        "Find the expected number of rounds, then write Java code that simulates the game. "
        "Your program should read n, simulate 1000 games, and print the average.",
        [
            ("solve", "Find the expected number of rounds,"),
            ("code", "then write Java code that simulates the game. "
                "Your program should read n, simulate 1000 games, and print the average."),
        ],
    ),
    (
        "Write a program that does the following:\n(i) reads a graph,\n(ii) counts its components,\n"
        "(iii) prints the largest one.\nThen explain its running time.",
        [
            ("code", "Write a program that does the following:\n(i) reads a graph,\n(ii) counts its components,\n"
                "(iii) prints the largest one."),
            ("explain", "Then explain its running time."),
        ],
    ),
    # --- issue 11: follow-ups in a conversation ---
    _whole("code", "Now rewrite that function so it takes a list of points."),
    _whole("code", "Now make it take a list of numbers."),
    _whole("code", "Convert it to TypeScript."),
    _whole("explain", "Why?"),
    _whole("solve", "What about 7 * 8?"),
    _whole("explain", "What about negative numbers?"),
    _whole("other", "Thanks, that works!"),
    # --- issue 13, round 6: cues and rules tuned on corpus batches 1-5 ---
    (
        "A box holds 24 eggs and 7 are broken. Is that more than a quarter?",
        [("other", "A box holds 24 eggs and 7 are broken."), ("solve", "Is that more than a quarter?")],
    ),
    (
        "I am 34 and earn 52000 a year. Should I rent or buy?",
        [("other", "I am 34 and earn 52000 a year."), ("explain", "Should I rent or buy?")],
    ),
    _whole("explain", "Explain why the soup curdled and how to avoid it next time."),
    (
        "Why do tides happen, and how many are there each day?",
        [("explain", "Why do tides happen,"), ("solve", "and how many are there each day?")],
    ),
    _whole("code", "Extend the parser so that it accepts hex literals."),
    _whole("code", "Then port it to Go."),
    _whole("code", "Add caching to this function."),
    _whole("explain", "Give me a few tips for learning to juggle."),
    _whole("solve", "Help me divide 120 euros among 7 people."),
    _whole("explain", "Define a function in mathematics."),
    _whole("code", "Code-moi un script Python qui renomme des fichiers."),
    _whole("explain", "C'est quoi une fermeture en JavaScript ?"),
    _whole("code", "Hazlo en Rust."),
    _whole("solve", "Wie alt ist der Baum, wenn er 80 Jahresringe hat?"),
    _whole("code", "Füge Typannotationen hinzu."),
    _whole("code", "Ajoute des tests unitaires."),
    _whole("code", "Añade manejo de errores a la función."),
    # --- issue 13, round 7: requests that no cue types get a kind from their content ---
    _whole("code", "Need a Go program that tails a log file."),
    _whole("code", "I need a cron expression for every weekday at 07:15."),
    _whole("code", "Ich brauche ein Skript, das meine Fotos umbenennt."),
    _whole("code", "J'ai besoin d'une fonction qui trie des dates."),
    _whole("code", "Necesito un script que borre los archivos temporales."),
    _whole("explain", "I'd like a plan for learning the guitar."),
    _whole("code", "Could you whip up a tiny HTTP server in Rust that serves one file?"),
    _whole("explain", "Would you recommend Python or Go for a small CLI tool?"),
    _whole("code", "Could you knock up a small Django app that lists my books?"),
    _whole("code", "Escríbeme una función que cuente vocales."),
    _whole("code", "Write two shell one-liners that count the lines in each file."),
    # Shaped like an imperative, about code or something to compute, and nothing else asks: a task.
    _whole("solve", "Express 1.25 as a fraction."),
    _whole("solve", "Put these in order: 2/3, 0.7, 65%."),
    _whole("code", "Turn it into a recursive version."),
    _whole("code", "Mach daraus eine Klasse."),
    # ... about neither, it names no kind of task (R8); context and thanks stay context.
    _whole("other", "Keep it short."),
    _whole("other", "I want to learn to knit."),
    _whole("other", "Marie a trois pommes."),
    # Found in review: a number that sizes the answer, statements in the past tense or the first
    # person, advice naming a language, opinions asked of "you", and advice after numeric givens.
    _whole("other", "Keep it under 100 words."),
    _whole("other", "Limit it to 3 bullet points."),
    _whole("other", "Got a 404 error from the API."),
    _whole("other", "Bought 3 apples and 2 pears yesterday."),
    _whole("other", "Wrote a Python script yesterday that works fine."),
    _whole("other", "Habe ein Problem mit meinem Server."),
    _whole("explain", "Give me some tips for learning Rust."),
    _whole("explain", "Would you use Go or Rust for a CLI tool?"),
    (
        "My laptop has 16 GB RAM and a 512 GB SSD. Which Linux distro do you recommend?",
        [("other", "My laptop has 16 GB RAM and a 512 GB SSD."), ("explain", "Which Linux distro do you recommend?")],
    ),
    (
        "Tom has 3 apples. Put them in a basket. Why is the basket heavy?",
        [("other", "Tom has 3 apples. Put them in a basket."), ("explain", "Why is the basket heavy?")],
    ),
    # A question about given code: what it prints or evaluates to is explained; its cost is solved.
    (
        "```python\nprint(sum(range(5)))\n```\nWhat value gets printed?",
        [("other", "```python\nprint(sum(range(5)))\n```"), ("explain", "What value gets printed?")],
    ),
    (
        "```python\nprint(sum(range(5)))\n```\nWhat is the time complexity of this for range(n)?",
        [
            ("other", "```python\nprint(sum(range(5)))\n```"),
            ("solve", "What is the time complexity of this for range(n)?"),
        ],
    ),
    _whole("solve", "What value of x makes 2x + 1 = 9?"),
    _whole("code", "Turn this CSV header into a Rust struct: id,name,price"),
    # A yes/no question right after a result is settled the same way; advice is still prose.
    (
        "Prove that every tree with n vertices has n - 1 edges. Does this still hold for forests?",
        [
            ("solve", "Prove that every tree with n vertices has n - 1 edges."),
            ("solve", "Does this still hold for forests?"),
        ],
    ),
    (
        "Compute the monthly payment on a 200000 loan at 4%. Is it worth refinancing?",
        [("solve", "Compute the monthly payment on a 200000 loan at 4%."), ("explain", "Is it worth refinancing?")],
    ),
    # --- nothing recognised: one "other" segment over the stripped query ---
    _whole("other", "请计算 3+4 的结果。然后解释原因。"),
    _whole("other", "asdf qwerty zxcv"),
]


def _ids() -> list[str]:
    return [re.sub(r"\W+", "_", query.strip())[:40] for query, _ in CASES]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=_ids())
def test_table(query: str, expected: list[tuple[str, str]]) -> None:
    assert [(s.kind, s.text) for s in segment(query)] == expected


def _check_invariants(query: str, segments: list[Segment], kinds: set[str]) -> None:
    assert segments, "a non-blank query must give at least one segment"
    covered = [0] * len(query)
    previous_end = 0
    for seg in segments:
        assert seg.kind in kinds
        assert seg.text == query[seg.start : seg.end]
        assert seg.text and seg.text == seg.text.strip()
        assert seg.start >= previous_end, "segments must be ordered and disjoint"
        previous_end = seg.end
        for i in range(seg.start, seg.end):
            covered[i] += 1
    for i, ch in enumerate(query):
        if not ch.isspace():
            assert covered[i] == 1, f"character {i} ({ch!r}) is not in exactly one segment"


@pytest.mark.parametrize("query", [q for q, _ in CASES], ids=_ids())
def test_invariants(query: str) -> None:
    _check_invariants(query, segment(query), set(DEFAULT_CUES) | {OTHER})


def test_invariants_on_joined_and_mangled_queries() -> None:
    # Property-style: gluing table queries together and changing their whitespace or case must
    # never break the partition, whatever the kinds come out as.
    queries = [q for q, _ in CASES]
    for i, query in enumerate(queries):
        for variant in (
            query + " " + queries[(i + 1) % len(queries)],
            query + "\n\n" + queries[(i + 7) % len(queries)],
            query.upper(),
            query.replace(" ", "\n"),
            "  \t" + query.replace(". ", ".\n\n") + " \n",
        ):
            _check_invariants(variant, segment(variant), set(DEFAULT_CUES) | {OTHER})


@pytest.mark.parametrize("query", ["", " ", "\n\t  \n"])
def test_blank_query_gives_no_segments(query: str) -> None:
    assert segment(query) == []


def test_offsets_point_into_the_original_query() -> None:
    query = "  Given x = 2.\nFind 3x, then explain."
    segments = segment(query)
    assert segments == [
        Segment("other", "Given x = 2.", 2, 14),
        Segment("solve", "Find 3x,", 15, 23),
        Segment("explain", "then explain.", 24, 37),
    ]


def test_segments_are_frozen() -> None:
    seg = segment("Explain recursion.")[0]
    with pytest.raises(AttributeError):
        seg.kind = "code"  # type: ignore[misc]


def test_custom_cues_add_a_role() -> None:
    cues = {**DEFAULT_CUES, "translate": (r"\btranslate\b",)}
    query = "Translate 'good morning' into German, then explain the word order."
    assert [(s.kind, s.text) for s in segment(query, cues)] == [
        ("translate", "Translate 'good morning' into German,"),
        ("explain", "then explain the word order."),
    ]


def test_custom_cues_replace_the_defaults() -> None:
    query = "Translate this sentence into French. Explain the grammar."
    assert [(s.kind, s.text) for s in segment(query, {"translate": [r"\btranslate\b"]})] == [
        ("translate", "Translate this sentence into French."),
        ("other", "Explain the grammar."),
    ]
    # With no cues at all, nothing is a task; and a table without the built-in roles guesses no kind.
    assert [(s.kind, s.text) for s in segment(query, {})] == [("other", query)]
    assert [s.kind for s in segment("Need a Python script that renames files.", {"translate": [r"\btranslate\b"]})] == [
        "other"
    ]


def test_default_cues_are_the_languages_merged() -> None:
    assert DEFAULT_CUES == merge_cues(list(LANGUAGES.values()))
    for name, language in LANGUAGES.items():
        assert {"solve", "explain", "code"} <= set(language.cues), name


def test_weak_cue_types_only_a_clause_without_other_cues() -> None:
    cues = {"code": [WEAK + r"\bin python\b"], "explain": [r"\bwhy\b"]}
    assert [(s.kind, s.text) for s in segment("In Python, why is this slow?", cues)] == [
        ("explain", "In Python, why is this slow?")
    ]
    assert [s.kind for s in segment("Sort these in Python.", cues)] == ["code"]


def test_cue_order_breaks_ties() -> None:
    query = "Check the result."
    assert segment(query, {"a": [r"\bcheck\b"], "b": [r"\bcheck\b"]})[0].kind == "a"
    assert segment(query, {"b": [r"\bcheck\b"], "a": [r"\bcheck\b"]})[0].kind == "b"


def test_is_deterministic() -> None:
    query = CASES[0][0]
    assert segment(query) == segment(query)


# The structural rules of round 8, each on wording that is in no corpus batch: the set of task
# kinds only (where the parts end is checked by the table above and by the corpus).
GENERAL_RULES = [
    # a headline request without a verb: its head noun types it, its complement's verbs describe it
    ("SQL query for the ten most recent orders per customer, please.", {"code"}),
    ("Bash one-liner to count lines in all .py files?", {"code"}),
    ("C++ template for a fixed-size ring buffer, please.", {"code"}),
    ("Formula for compound interest with monthly compounding?", {"solve"}),
    ("Eine Python-Funktion, die doppelte Einträge aus einer Liste entfernt, bitte.", {"code"}),
    ("Script Bash qui supprime les fichiers de plus de 30 jours ?", {"code"}),
    ("Una consulta SQL para contar usuarios activos por día.", {"code"}),
    ("Compare Python and JavaScript for writing backend services.", {"explain"}),
    # ... but not the subject of a statement
    ("A Python script for backups runs every night. Why might it fail with a permission error?", {"explain"}),
    ("Regex for emails is notoriously hard. What makes it so difficult?", {"explain"}),
    ("Java code that I inherited uses raw types everywhere. Is that a problem?", {"explain"}),
    ("Terraform config for an S3 bucket with versioning?", {"code"}),
    # an elliptical question is typed by its content; a real question opens with an auxiliary or a wh-word
    ("Square root of 1764?", {"solve"}),
    ("Expected value of a fair six-sided die?", {"solve"}),
    ("Python or Go for a small web scraper?", {"explain"}),
    # someone else's need
    ("My sister needs a short script that renames her holiday photos by date.", {"code"}),
    ("Mein Chef braucht ein Skript, das Logdateien archiviert.", {"code"}),
    ("Mon équipe a besoin d'un script Bash pour sauvegarder une base MySQL.", {"code"}),
    ("Mi jefe necesita una consulta SQL que liste los clientes sin pedidos.", {"code"}),
    # verbs in every form: imperatives, infinitives of instructions, clitics, separable particles
    ("Démontrer que la somme de deux nombres pairs est paire.", {"solve"}),
    ("Justifier que la fonction exp est strictement croissante.", {"explain"}),
    ("Hallar el área bajo la curva y = x^2 entre 0 y 3.", {"solve"}),
    ("Explicar por qué el cielo es azul.", {"explain"}),
    ("Fasse den Inhalt von Faust in drei Sätzen zusammen.", {"explain"}),
    ("Rechne 15 % von 80 aus.", {"solve"}),
    ("Go through the proof of Cantor's theorem step by step.", {"explain"}),
    ("Establish a bijection between the naturals and the integers.", {"solve"}),
    ("Add 2/3 and 5/6.", {"solve"}),
    ("Suggest a good name for a golden retriever puppy.", {"explain"}),
    ("Plan a week of vegetarian dinners for two.", {"explain"}),
    # anything made in a programming language is code, in each language
    ("Explain what a race condition is and show an example in Java.", {"explain", "code"}),
    ("Beschreibe kurz TCP und schreibe dann einen einfachen UDP-Client in Python.", {"explain", "code"}),
    # in a question about code, being shown how, or changing "this", asks for code
    ("In Rust, why can't I move out of a borrowed vector? Show how to restructure it.", {"explain", "code"}),
    ("Turn this into a list comprehension:\n```python\nout = []\nfor x in xs:\n    out.append(x * 2)\n```",
     {"code"}),
    ("Can you review this function for bugs?\n```python\ndef avg(xs):\n    return sum(xs) / len(xs)\n```", {"code"}),
    # items without a verb after context: a maths quantity is solve, an indirect question explain
    ("Here are my exam scores: 72, 85, 90, 64.\n(a) the mean\n(b) the range", {"solve"}),
    ("For the data 1, 3, 5:\n(a) the variance\n(b) what the variance tells us", {"solve", "explain"}),
    ("Quick ones:\n(i) 7 x 8\n(ii) 144 / 12", {"solve"}),
    ("Steps:\n1. Read numbers from stdin.\n2. Print their sum.\nWrite this in C.", {"code"}),
    # yes/no about mathematics is settled by proof; advice stays prose, numbers or not
    ("Is every bounded sequence of reals convergent? Justify your answer.", {"solve", "explain"}),
    ("Is it better to rent or buy in a city where prices rise 5% a year?", {"explain"}),
    ("Need some ideas for a 10th birthday party.", {"explain"}),
    ("Is it normal for a cat to sleep 16 hours a day?", {"explain"}),
    ("Let (a_n) be Cauchy. Show it is bounded.", {"solve"}),
    ("An HTML page with a centered login form, please.", {"code"}),
    # prose to produce, edit or list
    ("List three causes of World War I.", {"explain"}),
    ("Name the planets in order from the sun.", {"explain"}),
    ("Fix the grammar: 'Me and him goes to school.'", {"explain"}),
    ("Summary of the French Revolution in five bullet points.", {"explain"}),
    ("Gib mir Tipps für besseren Schlaf.", {"explain"}),
    ("A 3-year-old weighs 14 kg. Is that normal?", {"explain"}),
    # statements about oneself ask nothing, whatever they name
    ("I have a list of numbers in Python.", set()),
    ("Our team uses Postgres 15 on Ubuntu.", set()),
    ("The function takes a list of integers and returns their sum.", set()),
]


@pytest.mark.parametrize(("query", "kinds"), GENERAL_RULES, ids=[re.sub(r"\W+", "_", q)[:40] for q, _ in GENERAL_RULES])
def test_general_rules(query: str, kinds: set[str]) -> None:
    assert {s.kind for s in segment(query)} - {OTHER} == kinds
