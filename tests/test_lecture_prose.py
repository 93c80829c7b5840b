"""Every sentence with a number in it matches what the lecture's cells print.

Each lecture keeps two lists below:

- CLAIMS: a phrase of the lecture's markdown that states a measured number, where an executed
  cell prints that number, and how close the two must be (the prose rounds: "about 8 points");
- NOT_MEASURED: phrases whose number is not a measurement, with the reason (a setting of the
  experiment, a value from the literature, a derivation, a rule of thumb, history).

A generic check keeps new prose from drifting silently: every number in the markdown that reads
like a measured value must lie inside a phrase of one of the two lists. A number reads like a
measured value when

- it is hedged: about, around, roughly, nearly, almost, approximately, near, over, under, more or
  less or fewer than, at least, at most, up to, within, below, above, ~, ≈;
- it carries a unit of measurement: %, percent, points, times, -fold (and, for digits, steps);
- it is a decimal with two or more decimals (0.53), a fraction or multiplier (two thirds, a
  fifth, a millionth, tenfold, twice its ...), or a formula that is only a number with a power or
  an approximation in it ($10^{-9}$, $1.5^9 \\approx 40$).

Left out, because they are not prose: headings, the References list, code spans, display math,
and inline math that has a variable in it ($\\lambda = 0.1$). A plain count ("ten layers", "128
units") is a setting and needs no entry.

Prefer a sentence printed by the cell (an f-string) to a number typed in the markdown; where the
markdown states a number, it is listed here.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import nbformat
import pytest

from lecture_runner import LECTURES, LectureError, executed_lecture

# ------------------------------------------------------------------ reading numbers in prose

_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
          "forty": 40, "fifty": 50, "a": 1, "an": 1}
_SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_FRACTIONS = {"half": 1 / 2, "halves": 1 / 2, "third": 1 / 3, "thirds": 1 / 3, "quarter": 1 / 4,
              "quarters": 1 / 4, "fifth": 1 / 5, "fifths": 1 / 5, "eighth": 1 / 8, "eighths": 1 / 8,
              "tenth": 1 / 10, "tenths": 1 / 10, "millionth": 1e-6, "millionths": 1e-6}
_MULTIPLIERS = {"twice": 2, "tenfold": 10, "hundredfold": 100, "thousandfold": 1000}

_COUNT = r"(?:a|an|" + "|".join(k for k in _UNITS if len(k) > 2) + r"|\d+)"
TOKEN = re.compile("|".join([
    r"(?P<math>\$[^$]+\$)",                                                     # kept only if numeric
    rf"(?P<fraction>\b{_COUNT}\s+(?:{'|'.join(_FRACTIONS)})\b|\bhalf\b)",         # two thirds, a fifth
    rf"(?P<scaled>\b{_COUNT}\s+(?:{'|'.join(_SCALES)})\b)",                        # a million, five million
    r"(?P<digits>(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\w)%?|(?<![\w.,])\d+(?:\.\d+)?(?!\w|[.,]\d)%?)",
    rf"(?P<word>\b(?:{'|'.join(k for k in _UNITS if len(k) > 2)}|{'|'.join(_MULTIPLIERS)}|{'|'.join(_SCALES)})\b)",
]), re.IGNORECASE)
HEDGE = re.compile(r"(?:\babout|\baround|\broughly|\bnearly|\balmost|\bapproximately|\bnear|\bover|\bunder|"
                   r"\bmore than|\bless than|\bfewer than|\bat least|\bat most|\bup to|\bwithin|\bbelow|"
                   r"\babove|~|≈)\s+(?:an?\s+)?$", re.IGNORECASE)
UNIT = re.compile(r"\s?(?:%|percent(?:age)?\b|points?\b|times\b|-?fold\b)", re.IGNORECASE)
STEPS = re.compile(r"\s(?:steps?)\b", re.IGNORECASE)
NUMERIC_MATH = re.compile(r"[\d\s.^{}()+\-/*]*\d[\d\s.^{}()+\-/*]*")


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str
    measured_looking: bool

    @property
    def value(self) -> float:
        return number_value(self.text)


def prose(markdown: str) -> str:
    """The running text of a markdown cell: headings, References and code blocks dropped, one space per gap."""
    markdown = markdown.split("## References")[0]
    markdown = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    lines = [line for line in markdown.splitlines() if not line.lstrip().startswith("#")]
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


def _masked(text: str) -> str:
    """`text` with code, display math and inline math that is not a bare number blanked (same length)."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731
    text = re.sub(r"`[^`]*`", blank, text)
    text = re.sub(r"\$\$.*?\$\$", blank, text)
    return re.sub(r"\$[^$]+\$", lambda m: m.group(0) if _is_numeric_math(m.group(0)) else blank(m), text)


def _is_numeric_math(formula: str) -> bool:
    body = re.sub(r"\\(?:cdot|times|approx|,|;|!)", " ", formula.strip("$"))
    return bool(NUMERIC_MATH.fullmatch(body))


def tokens(text: str) -> list[Token]:
    """The numbers in a prose text, each marked measured-looking or not (the module docstring's rule)."""
    masked = _masked(text)
    found = []
    for m in TOKEN.finditer(masked):
        kind, word = m.lastgroup, m.group(0)
        if kind == "math" and not _is_numeric_math(word):
            continue
        before, after = masked[:m.start()], masked[m.end():]
        bare = word.strip("$").strip()
        looks_measured = (
            (kind == "math" and ("^" in word or "\\approx" in word))  # 10^{-9}, 1.5^9 \approx 40
            or (kind == "fraction" and word.lower() != "half")         # two thirds, a fifth
            or word.lower() in ("tenfold", "hundredfold", "thousandfold")
            or (word.lower() == "twice" and bool(re.match(r"\s+(?:its|the|as|that)\b", after)))
            or bool(HEDGE.search(before))
            or word.endswith("%")
            or bool(UNIT.match(after))
            or (kind in ("digits", "math") and (bool(STEPS.match(after)) or bool(re.fullmatch(r"[-+]?\d+\.\d{2,}", bare))))
        )
        found.append(Token(m.start(), m.end(), word, looks_measured))
    return found


def number_value(text: str) -> float:
    """The value a number token states: '1,373' 1373, '30%' 30, 'two thirds' 2/3, '$1.5^9 \\approx 40$' 40."""
    text = text.strip()
    if text.startswith("$"):
        body = text.strip("$").split("\\approx")[-1]
        body = re.sub(r"\\(?:cdot|times)", "*", body).replace("\\,", "")
        body = re.sub(r"\^\{([^}]*)\}", r"**(\1)", body)
        body = re.sub(r"\^(\d+(?:\.\d+)?)", r"**\1", body).replace("{", "(").replace("}", ")")
        if not re.fullmatch(r"[\d\s.+\-*/()]+", body):
            raise ValueError(f"cannot read the number in {text!r}")
        return float(eval(body, {"__builtins__": {}}))  # only digits and operators get here
    words = text.lower().split()
    if words[-1] in _FRACTIONS:
        return (_count(words[0]) if len(words) > 1 else 1.0) * _FRACTIONS[words[-1]]
    if words[-1] in _SCALES:
        return (_count(words[0]) if len(words) > 1 else 1.0) * _SCALES[words[-1]]
    if words[0] in _MULTIPLIERS:
        return float(_MULTIPLIERS[words[0]])
    return _count(words[0].rstrip("%"))


def _count(word: str) -> float:
    return float(_UNITS[word]) if word in _UNITS else float(word.replace(",", ""))


# ------------------------------------------------------------------ reading numbers in outputs

@dataclass(frozen=True)
class Printed:
    """A number the code cell whose source contains `cell` prints, found by `pattern`.

    Every group of every match of `pattern` (re.MULTILINE) in the cell's printed text is read as a
    float, in order; `combine` turns them into one value (default: the only one), `scale` then
    converts units (100 turns a fraction into the percent the prose states).
    """

    cell: str
    pattern: str
    combine: Callable[..., float] | None = None
    scale: float = 1.0

    def read(self, nb: nbformat.NotebookNode) -> tuple[int, float]:
        """(index of the code cell, the value)."""
        index = _code_cell(nb, self.cell)
        printed = "".join(o.get("text", "") for o in nb.cells[index].outputs if o.output_type == "stream")
        matches = re.findall(self.pattern, printed, flags=re.M)
        values = [float(v.replace(",", "")) for m in matches for v in (m if isinstance(m, tuple) else (m,))]
        if not values:
            raise AssertionError(f"code cell {index} (`{_first_line(nb.cells[index])}`) printed nothing that "
                                 f"matches {self.pattern!r}; it printed:\n{printed}")
        if self.combine is None and len(values) != 1:
            raise AssertionError(f"{self.pattern!r} matched {len(values)} numbers in code cell {index}; give a combine")
        return index, (self.combine(*values) if self.combine else values[0]) * self.scale


def _code_cell(nb: nbformat.NotebookNode, snippet: str) -> int:
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and snippet in c.source]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} code cells contain {snippet!r}; a claim must name exactly one")
    return found[0]


def _first_line(cell) -> str:
    return cell.source.strip().splitlines()[0][:60]


@dataclass(frozen=True)
class Claim:
    """A phrase of the markdown, holding exactly one number, and the output that number states.

    The stated value s and the measured value m agree when |s - m| <= tol; with log=True when
    |log10 s - log10 m| <= tol; bound 'at least' means s <= m <= s + tol ("over 40%"), 'at most'
    s - tol <= m <= s ("below 20%").
    """

    phrase: str
    output: Printed
    tol: float
    bound: str | None = None
    log: bool = False

    def agrees(self, stated: float, measured: float) -> bool:
        if self.log:
            if stated <= 0 or measured <= 0:
                return False
            stated, measured = math.log10(stated), math.log10(measured)
        if self.bound == "at least":
            return stated <= measured <= stated + self.tol
        if self.bound == "at most":
            return stated - self.tol <= measured <= stated
        return abs(stated - measured) <= self.tol


SETTING = "a setting of the experiment, not a measurement"
LITERATURE = "a value from the literature"
DERIVATION = "a derivation or arithmetic, not a measurement"
ADVICE = "a rule of thumb"
HISTORY = "history"


N = r"([-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?)"  # a printed number: 1,373  0.408  -4.9  7.3e-11

CLAIMS: dict[str, list[Claim]] = {
    "01_foundations": [
        Claim("reports a loss of 100", Printed("bce_on_probabilities_vs_logits", rf"BCELoss\(sigmoid\(z\)\)\s+loss =\s+{N}"), tol=0.005),
        Claim("instead of 120", Printed("bce_on_probabilities_vs_logits", rf"BCEWithLogitsLoss\(z\)\s+loss =\s+{N}"), tol=0.005),
        Claim("which is 1.461 for", Printed("floor = ex.double_softmax_floor", rf"floor log\(1 \+ 9/e\) = {N}"), tol=5e-4),
    ],
    "02_initialization": [
        Claim(r"layer: $2^{-9/2} \approx 0.044$", Printed("xavier_std = ", rf"std of layer 10 / layer 1: {N}"), tol=0.005),
        Claim("the spread shrinks tenfold per layer",
              Printed("LAYERS_SHOWN = ", rf"N\(0, 0.01²\): std .* {N} times smaller per layer"), tol=1.5),
        Claim("standard deviation is about $10^{-10}$",
              Printed("LAYERS_SHOWN = ", rf"N\(0, 0.01²\): std {N} at layer 1, {N} at layer 10", lambda first, last: last),
              tol=0.5, log=True),
        Claim("in about half of the examples",
              Printed("LAYERS_SHOWN = ", rf"layer 10: {N}% of the activations are exactly \+1", scale=0.01), tol=0.1),
        Claim("shrinks tenfold per layer on its way back",
              Printed("def log_grad", rf"N\(0, 0.01²\)\s+median log10 \|dL/dh\|: {N} at layer 10, {N} at layer 1",
                      lambda layer10, layer1: 10 ** ((layer10 - layer1) / 9)), tol=1.5),
        Claim("from about $10^{-5}$",
              Printed("def log_grad", rf"N\(0, 0.01²\)\s+median log10 \|dL/dh\|: {N} at layer 10", lambda v: 10**v),
              tol=0.5, log=True),
        Claim("to about $10^{-14}$",
              Printed("def log_grad", rf"N\(0, 0.01²\)\s+median log10 \|dL/dh\|: .* {N} at layer 1$", lambda v: 10**v),
              tol=0.5, log=True),
        Claim("at about $10^{-10}$", Printed("def log_grad", rf"weight gradient norms of all layers: from {N} to {N}", max),
              tol=0.5, log=True),
        Claim("That is six times smaller", Printed("layer = nn.Linear(400, 400", rf"He's variance is {N} times"), tol=0.3),
        Claim("sit at chance (10%", Printed("train_schemes = ", rf"^tanh, .*N\(0, 0.01²\) {N}", scale=100), tol=2),
    ],
    "03_gradient_flow": [
        Claim("about a million times smaller",
              Printed("flow = {", rf"sigmoid \(Xavier\)\s+weight gradient, first layer / last hidden layer = {N}", lambda v: 1 / v),
              tol=0.5, log=True),
        Claim(r"$1.5^9 \approx 40$ times larger",
              Printed("flow = {", rf"ReLU \(1.5 x He\)\s+gradient reaching layer 1 / layer 10 = {N}"), tol=6),
        Claim("by about $10^{-4}$ of their size", Printed("for lr in (1e-3, 0.1, 1.0)", rf"lr = 0.001 .* median {N}"),
              tol=0.5, log=True),
        Claim("the largest is over 40%", Printed("for lr in (1e-3, 0.1, 1.0)", rf"lr = 1 .* largest {N}%"),
              tol=15, bound="at least"),
        Claim("where SGD needs about 90", Printed("steps_to_escape", rf"^SGD\s+\S+\s+\S+\s+{N}"), tol=5),
    ],
    "04_normalization": [
        Claim("needs over a thousand steps", Printed("views = ex.rescalings(X2)", rf"raw: .* relative error:\s+{N}"),
              tol=1000, bound="at least"),
        Claim(r"About $5 \cdot 10^6$ for raw pixels",
              Printed("digits_ls = ", rf"raw: condition number\s+{N}, loss above"), tol=0.2, log=True),
        Claim("about 140 after standardization",
              Printed("digits_ls = ", rf"standardized: condition number\s+{N}, loss above"), tol=10),
        Claim("from about 96%", Printed("per_class = ", rf"mean over the ten digits: {N}% with the training"), tol=1.5),
        Claim("still 5% off", Printed("running = ", rf"momentum 0.01: .* {N}% after 300"), tol=1),
        Claim("from about step 30 on", Printed("running = ", rf"momentum  0.1: .* from step {N} on"), tol=5),
        Claim("the useful range ends at 0.3",
              Printed("lr_runs = ", rf"no normalization\s+largest learning rate that trains: {N}"), tol=0),
        Claim("trains at every rate up to 3",
              Printed("lr_runs = ", rf"batch norm (?:before|after) ReLU\s+largest learning rate that trains: {N}", min), tol=0),
        Claim("about twenty times smaller", Printed("probes = ", rf"the spread is {N} times"), tol=5),
    ],
    "05_regularization": [
        Claim("about one percentage point", Printed("small = ex.small_training_set", rf"standard error .*: {N}%"), tol=0.3),
        Claim("about 23,000 parameters", Printed("capacity = ex.capacity_sweep", rf"128 units: {N} parameters"), tol=500),
        Claim("after about 7 epochs", Printed("capacity = ex.capacity_sweep", rf"validation loss lowest after epoch {N}"), tol=1),
        Claim("to twice its minimum", Printed("capacity = ex.capacity_sweep", rf"it is {N} times that"), tol=0.3),
        Claim("over 50 points", Printed("capacity = ex.capacity_sweep", rf"^ 128 units: train .* gap {N}", scale=100),
              tol=10, bound="at least"),
        Claim("from 0.53 at", Printed("decay_runs = ", rf"^lambda 0 +: .* gap {N}"), tol=0.005),
        Claim("to about 0.32 at", Printed("decay_runs = ", rf"^lambda 0.01 +: .* gap {N}"), tol=0.01),
        Claim(r"(at $3\cdot10^{-3}$ here)", Printed("decay_runs = ", rf"best validation accuracy at lambda = {N}"), tol=1e-9),
        Claim("by orders of magnitude within ten epochs",
              Printed("adam = ex.adam_l2_vs_adamw", rf"below 1% of their start from epoch {N} on"), tol=4, bound="at most"),
        Claim("Two thirds of the L1 network's weights",
              Printed("penalties = ", rf"L1:\s+{N}% of the weights exactly 0", scale=0.01), tol=0.05),
        # Chaotic at this learning rate: the exact figure differs between CPUs (31% to 40% seen), the stall does not.
        Claim("stalls below 50%", Printed("max_norm = ", rf"unconstrained: train {N}", scale=100), tol=35, bound="at most"),
        Claim("heads to 100%", Printed("stopping = ", rf"final training accuracy {N}", scale=100), tol=2),
        Claim("falls by about 8 points", Printed("stopping = ", rf"{N} below its best", scale=100), tol=1.5),
        Claim("runs a third of the epochs", Printed("stopping = ", rf"early stopping ran {N} of the epochs"), tol=0.06),
    ],
}

NOT_MEASURED: dict[str, list[tuple[str, str]]] = {
    "01_foundations": [
        ("of which 15%", SETTING),
        ("to $10^{-8}$ or better", ADVICE),
        ("(about $10^{50}$)", LITERATURE),
    ],
    "02_initialization": [
        ("by $0.01$ (the signal", DERIVATION),
        ("its derivative is below 1", DERIVATION),
    ],
    "03_gradient_flow": [
        ("is at most $1/4$", DERIVATION),
        ("nearly 0 once", DERIVATION),
        ("by at least 4", DERIVATION),
        ("Clipping by value at 0.05", SETTING),
        ("Around $10^{-3}$ is a healthy rule of thumb", ADVICE),
        ("curvature 20 times larger", SETTING),
        ("a step below $2/20$", DERIVATION),
        ("started $10^{-3}$ off the ridge", SETTING),
        ("not within 150 steps", SETTING),
        ("SGD with twice its learning rate", SETTING),
        ("Until about 2010", HISTORY),
        ("factors near 1 with", ADVICE),
    ],
    "04_normalization": [
        ("0.9 or 0.99", LITERATURE),
        ("; 0.01 is smooth", SETTING),
        ("after 300 steps", SETTING),
        ("stays within 5%", SETTING),
        ("from 0.01 to 3", SETTING),
        ("start four times too small", SETTING),
        (r"$4^5 \approx 1000$-fold", DERIVATION),
        ("start four times too large", SETTING),
        ("every 5 steps", SETTING),
        ("from 0.05 to 0.8", SETTING),
        ("(learning rate 0.05)", SETTING),
    ],
    "05_regularization": [
        ("learning rate 0.05", SETTING),
        ("(learning rate $10^{-3}$", SETTING),
        ("(four times the default", SETTING),
        ("all $2^{256}$ of them", DERIVATION),
        ("Replace a fifth of", SETTING),
        ("shifts of up to 5 samples", SETTING),
        ("(an eighth of the image)", DERIVATION),
        ("Shifts of up to 20 samples", SETTING),
    ],
}

IDS = [path.stem for path in LECTURES]


def markdown_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, prose) of every markdown cell."""
    return [(i, prose(c.source)) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


def locate(cells: list[tuple[int, str]], phrase: str) -> tuple[int, str, int]:
    """(cell index, its prose, start of `phrase` in it) of the one markdown cell holding the phrase."""
    phrase = re.sub(r"\s+", " ", phrase)
    found = [(i, text, text.find(phrase)) for i, text in cells if phrase in text]
    if len(found) != 1:
        raise AssertionError(f"the phrase {phrase!r} is in {len(found)} markdown cells, not exactly one: "
                             "update the table (or lengthen the phrase) to match the prose")
    return found[0]


def stated_number(text: str, start: int, phrase: str) -> float:
    inside = [t for t in tokens(text) if start <= t.start and t.end <= start + len(phrase)]
    if len(inside) != 1:
        raise AssertionError(f"the claim {phrase!r} must hold exactly one number, it holds {[t.text for t in inside]}")
    return inside[0].value


# ------------------------------------------------------------------ the tests

def test_every_lecture_has_a_table():
    assert sorted(CLAIMS) == sorted(NOT_MEASURED) == sorted(IDS)


@pytest.mark.parametrize("path", LECTURES, ids=IDS)
def test_every_measured_looking_number_is_in_the_table(path):
    cells = markdown_cells(nbformat.read(path, as_version=4))
    listed = [claim.phrase for claim in CLAIMS[path.stem]] + [phrase for phrase, _ in NOT_MEASURED[path.stem]]
    spans: dict[int, list[tuple[int, int]]] = {}
    problems = []
    for phrase in listed:
        try:
            index, _, start = locate(cells, phrase)
        except AssertionError as err:
            problems.append(str(err))
            continue
        end = start + len(re.sub(r"\s+", " ", phrase))
        spans.setdefault(index, []).append((start, end))
        if phrase in dict(NOT_MEASURED[path.stem]) and not any(
                t.measured_looking and start <= t.start and t.end <= end for t in tokens(dict(cells)[index])):
            problems.append(f"NOT_MEASURED lists {phrase!r}, but no number in it reads like a measured value: remove it")
    for index, text in cells:
        for token in tokens(text):
            covered = any(s <= token.start and token.end <= e for s, e in spans.get(index, []))
            if token.measured_looking and not covered:
                context = text[max(0, token.start - 50):token.end + 30]
                problems.append(f"markdown cell {index}: {token.text!r} reads like a measured value, in "
                                f"'...{context}...'; add the phrase to CLAIMS (with the output it states) "
                                "or to NOT_MEASURED (with why it is not measured)")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=IDS)
def test_numbers_in_the_prose_match_the_outputs(path, pytestconfig):
    try:
        nb = executed_lecture(path, pytestconfig).notebook
    except LectureError as err:
        pytest.fail(str(err), pytrace=False)
    cells = markdown_cells(nb)
    disagreements = []
    for claim in CLAIMS[path.stem]:
        index, text, start = locate(cells, claim.phrase)
        stated = stated_number(text, start, claim.phrase)
        code_index, measured = claim.output.read(nb)
        if not claim.agrees(stated, measured):
            how = f"{claim.bound} " if claim.bound else "within "
            disagreements.append(
                f"markdown cell {index}: {claim.phrase!r} states {stated:g}, but code cell {code_index} "
                f"(`{_first_line(nb.cells[code_index])}`) gives {measured:g} "
                f"({how}{claim.tol:g}{' in log10' if claim.log else ''} required)")
    assert not disagreements, f"{path.name}:\n" + "\n".join(disagreements)


@pytest.mark.parametrize("text, value", [
    ("1,373", 1373), ("30%", 30), ("0.408", 0.408), ("two thirds", 2 / 3), ("a third", 1 / 3),
    ("a million", 1e6), ("tenfold", 10), ("twice", 2), (r"$1.5^9 \approx 40$", 40), ("$10^{-9}$", 1e-9),
    (r"$5 \cdot 10^6$", 5e6), ("half", 0.5),
])
def test_stated_numbers_are_read_as_written(text, value):
    assert number_value(text) == pytest.approx(value)


def test_the_rule_flags_measured_looking_numbers_and_spares_settings_and_formulas():
    text = ("A network of 128 units trained for 40 epochs with $\\lambda = 0.1$ reaches about 96% after "
            "1373 steps, twice as fast, at $10^{-4}$ per step and a gap of 0.53; `lr=0.05` in code.")
    flagged = [t.text for t in tokens(text) if t.measured_looking]
    assert flagged == ["96%", "1373", "twice", "$10^{-4}$", "0.53"]
