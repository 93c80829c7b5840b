"""Winnowing fingerprints of Python answer code (Schleimer, Wilkerson and Aiken, SIGMOD 2003), the
technique behind MOSS.

A submission's answer cells become one `Document`: a list of units, each a list of normalized
tokens that remember the line they came from. The tokens are the cell's syntax tree (Python's
`ast`) read in source order, one per node, labelled by its kind (`Assign`, `BinOp`, `Mult`,
`Call`, ...), with '{' and '}' around each block. Reading the tree rather than the text removes what
a copier changes cheaply and keeps what a solution is made of:
- comments, blank lines, whitespace, redundant parentheses and docstrings are gone;
- every identifier the student chose (arguments, local and global variables, helper functions)
  becomes 'V', by Python's scoping (a name bound in a function is local to all of it); what the
  assignment or the language fixes stays: attributes (`.shape`, `np.maximum`), keyword names of
  a call (`axis=`), method names, builtins, the graded names, and the names the release notebook
  binds (`np`, the course's functions); constants stay, by value (`'a'` and `"a"` alike);
- every top-level function, every method and each run of other top-level statements is a unit
  of its own, fingerprinted alone: the order of functions, of methods and of cells changes nothing.
A cell that does not parse is read with `tokenize` instead (names not kept become 'V').

A unit's k-grams (K consecutive tokens) are hashed, and in every window of W consecutive hashes
the smallest is kept (the rightmost on ties, as the paper's robust winnowing does). Guarantees:
any shared run of at least W + K - 1 tokens shares a fingerprint; no run shorter than K tokens does.

Why not a package: copydetect (PyPI, MIT) implements winnowing too, but on pygments tokens that
rename attributes and modules as well (so `np.maximum` matches any `a.b`), without normalizing
the order of functions, by comparing every pair of files, and its page loads its styles from a
CDN. The algorithm itself is the few lines below.
"""
from __future__ import annotations

import ast
import builtins
import io
import keyword
import tokenize
import zlib
from dataclasses import dataclass, field

import numpy as np

K = 12  # noise threshold in tokens: about one and a half ordinary lines, so shared idioms do not match
W = 8  # winnowing window: a shared run of W + K - 1 = 19 tokens (two or three lines) is always found
BUILTINS = frozenset(dir(builtins))
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_BASE = np.uint64(0x100000001B3)


@dataclass
class Document:
    """One submission's answer code, normalized (module docstring).

    - text: the compared cells joined as they are shown (lines are 1-based into it)
    - units: per unit, `tokens` (normalized strings) and `lines` (the line in `text` each came from)
    - skipped: cells that could not be read as Python at all, by their first line
    """

    text: str
    units: list[tuple[list[str], list[int]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ normalization

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SKIPPED = (ast.Load, ast.Store, ast.Del)  # a name's context says nothing the tree's shape does not


def _without_magics(source: str) -> str:
    """IPython's %magics and !shell lines blanked (line numbers kept), so the rest parses as Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _body_without_docstring(body: list) -> list:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return body[1:]
    return body


def _constant(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40]


class _Reader:
    """One document's tokens, read in one pass over each cell's tree.

    A Name is written down with the scopes it was read in, and decided once the document is read:
    'V' when one of those scopes binds it (a function's arguments and assignments, or the student's
    top-level names that are not kept), else its own name. That is Python's rule: a name assigned
    anywhere in a function is local everywhere in it."""

    def __init__(self, keep: frozenset[str]):
        self.keep = keep
        self.top: set[str] = set()  # the student's top-level names (all cells of the document)
        self.units: list[tuple[list, list[int]]] = []
        self.scopes: list[set[str]] = []
        self.tokens: list = []
        self.lines: list[int] = []
        self.offset = 0
        self._parent_kind: str | None = None  # 'function' or 'class' while reading one's body

    # -- units ------------------------------------------------------------------
    def cell(self, tree: ast.Module, first_line: int) -> None:
        self.offset = first_line - 1
        plain = None
        for node in _body_without_docstring(tree.body):
            if isinstance(node, _FUNCTIONS):
                self._unit(lambda n=node: self._function(n))
                plain = None
            elif isinstance(node, ast.ClassDef):
                self._unit(lambda n=node: self._class(n))
                plain = None
            else:
                if plain is None:
                    plain = self._open()
                self.tokens, self.lines = plain
                self._statement(node)

    def _open(self) -> tuple[list, list[int]]:
        unit = ([], [])
        self.units.append(unit)
        return unit

    def _unit(self, read) -> None:
        self.tokens, self.lines = self._open()
        read()

    # -- tokens -----------------------------------------------------------------
    def _emit(self, token, line: int) -> None:
        self.tokens.append(token)
        self.lines.append(line + self.offset)

    def _bind(self, name: str) -> None:
        if self.scopes:
            self.scopes[-1].add(name)
        elif name not in self.keep:
            self.top.add(name)

    def _block(self, body: list, line: int) -> None:
        self._emit("{", line)
        for stmt in body:
            self._statement(stmt)
        self._emit("}", self.lines[-1] - self.offset if self.lines else line)

    def _statement(self, node) -> None:
        if isinstance(node, _FUNCTIONS):
            self._function(node)
        elif isinstance(node, ast.ClassDef):
            self._class(node)
        else:
            self._node(node, node.lineno)

    def _function(self, node) -> None:
        for decorator in node.decorator_list:
            self._node(decorator, node.lineno)
        if self._parent_kind != "class":
            self._bind(node.name)
        # A top-level def is the student's helper unless it is kept (a graded name); a method's
        # name is called as an attribute (self.loss), so it stays.
        name = node.name if self._parent_kind == "class" or node.name in self.keep else "V"
        self._emit("def", node.lineno)
        self._emit(name, node.lineno)
        outer, self._parent_kind = self._parent_kind, "function"
        self.scopes.append(set())
        self._arguments(node.args, node.lineno)
        if node.returns is not None:
            self._node(node.returns, node.lineno)
        self._block(_body_without_docstring(node.body), node.lineno)
        self.scopes.pop()
        self._parent_kind = outer

    def _class(self, node: ast.ClassDef) -> None:
        self._bind(node.name)
        self._emit("class", node.lineno)
        self._emit(node.name if node.name in self.keep else "V", node.lineno)
        for base in node.bases:
            self._node(base, node.lineno)
        header = (self.tokens, self.lines)
        outer, self._parent_kind = self._parent_kind, "class"
        self._emit("{", node.lineno)
        for stmt in _body_without_docstring(node.body):
            if isinstance(stmt, _FUNCTIONS) and outer is None:
                self._unit(lambda n=stmt: self._function(n))  # each method its own unit
                self.tokens, self.lines = header
            else:
                self._statement(stmt)
        self._emit("}", node.lineno)
        self._parent_kind = outer

    def _arguments(self, args: ast.arguments, line: int) -> None:
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self._node(default, line)
        for arg in args.posonlyargs + args.args + [args.vararg] + args.kwonlyargs + [args.kwarg]:
            if arg is not None:
                self.scopes[-1].add(arg.arg)
                self._emit("V", getattr(arg, "lineno", line))

    def _node(self, node, line: int) -> None:
        """The tokens of an expression or a simple statement, in source order."""
        line = getattr(node, "lineno", line)
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                self._bind(node.id)
            self._emit(("name", node.id, tuple(self.scopes)), line)
            return
        if isinstance(node, ast.Constant):
            self._emit(_constant(node.value), line)
            return
        if isinstance(node, ast.Attribute):
            self._node(node.value, line)
            self._emit("." + node.attr, line)
            return
        if isinstance(node, ast.keyword):
            self._emit(f"{node.arg}=" if node.arg else "**", line)
            self._node(node.value, line)
            return
        if isinstance(node, (ast.Lambda,)):
            self._emit("Lambda", line)
            self.scopes.append(set())
            self._arguments(node.args, line)
            self._node(node.body, line)
            self.scopes.pop()
            return
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            self._emit(type(node).__name__, line)
            return
        if isinstance(node, ast.ExceptHandler):
            self._emit("ExceptHandler", line)
            if node.type is not None:
                self._node(node.type, line)
            if node.name:
                self._bind(node.name)
                self._emit(("name", node.name, tuple(self.scopes)), line)
            self._block(node.body, line)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self._emit(type(node).__name__, line)
            for alias in node.names:
                self._emit(alias.name, line)
            return
        if isinstance(node, _SKIPPED):
            return
        self._emit(type(node).__name__, line)
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    self._block(value, line)
                else:
                    for item in value:
                        if isinstance(item, ast.AST):
                            self._node(item, line)
            elif isinstance(value, ast.AST):
                self._node(value, line)

    # -- the decision -----------------------------------------------------------
    def resolved(self) -> list[tuple[list[str], list[int]]]:
        def decide(token) -> str:
            if isinstance(token, str):
                return token
            _, name, scopes = token
            return "V" if any(name in s for s in scopes) or name in self.top else name

        return [([decide(t) for t in tokens], lines) for tokens, lines in self.units if tokens]


def _fallback_units(source: str, keep: frozenset[str], first_line: int) -> list[tuple[list[str], list[int]]]:
    """A cell that does not parse (a syntax error further down): its tokens, one unit, every name that
    is neither kept, a keyword nor an attribute renamed."""
    tokens, lines, previous = [], [], ""
    for tok in tokenize.generate_tokens(io.StringIO(_without_magics(source)).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        text = tok.string
        if tok.type == tokenize.NAME and text not in keep and previous != "." and not keyword.iskeyword(text):
            text = "V"
        tokens.append({tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}.get(tok.type, text))
        lines.append(tok.start[0] + first_line - 1)
        previous = tok.string
    return [(tokens, lines)] if tokens else []


def normalize(sources: list[str], keep: frozenset[str]) -> Document:
    """One Document from a submission's answer cells, in order (module docstring).

    - keep: names never renamed (graded names, what the release notebook binds); builtins are always kept
    """
    keep = keep | BUILTINS
    reader = _Reader(keep)
    fallback, text_parts, skipped, line = [], [], [], 1
    for source in sources:
        try:
            reader.cell(ast.parse(_without_magics(source)), line)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            try:
                fallback += _fallback_units(source, keep, line)
            except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError):
                skipped.append(source.strip().split("\n", 1)[0][:80])
        text_parts.append(source.rstrip("\n"))
        line += source.rstrip("\n").count("\n") + 2  # cells are joined with one blank line
    return Document("\n\n".join(text_parts), reader.resolved() + fallback, skipped)


# ------------------------------------------------------------------ hashing and winnowing

_TOKEN_IDS: dict[str, int] = {}


def _token_ids(tokens: list[str]) -> np.ndarray:
    ids = [_TOKEN_IDS.get(t) for t in tokens]
    for i, (t, v) in enumerate(zip(tokens, ids)):
        if v is None:
            ids[i] = _TOKEN_IDS.setdefault(t, zlib.crc32(t.encode()) | (len(t) << 32))
    return np.asarray(ids, dtype=np.uint64)


def kgram_hashes(tokens: list[str], k: int = K) -> np.ndarray:
    """(len(tokens) - k + 1,) uint64 hashes, one per k-gram: a polynomial in the token ids, then mixed
    (splitmix64's finalizer) so that the window minimum is a fair sample. Empty when too short."""
    ids = _token_ids(tokens)
    n = len(ids) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _BASE + ids[j:j + n]
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h & _MASK


def winnow(hashes: np.ndarray, w: int = W) -> np.ndarray:
    """Positions of the fingerprints of `hashes`: the minimum of each window of w (rightmost on
    ties), each position once, ascending. A sequence shorter than a window keeps its minimum."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(hashes) <= w:
        return np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))])
    windows = np.lib.stride_tricks.sliding_window_view(hashes, w)
    rightmost = w - 1 - np.argmin(windows[:, ::-1], axis=1)
    return np.unique(np.arange(len(windows)) + rightmost)


def fingerprints(doc: Document, k: int = K, w: int = W) -> dict[int, list[tuple[int, int]]]:
    """Fingerprint hash -> where it occurs: (unit, position of the k-gram's first token)."""
    found: dict[int, list[tuple[int, int]]] = {}
    for u, (tokens, _) in enumerate(doc.units):
        hashes = kgram_hashes(tokens, k)
        for position in winnow(hashes, w):
            found.setdefault(int(hashes[position]), []).append((u, int(position)))
    return found


def all_kgrams(doc: Document, k: int = K) -> set[int]:
    """Every k-gram hash of the document (not only fingerprints): what excluded code is made of."""
    return {int(h) for tokens, _ in doc.units for h in kgram_hashes(tokens, k)}
