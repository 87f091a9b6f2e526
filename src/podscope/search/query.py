"""The search query language: parsed into a small tree, then written as an SQLite FTS5 expression.

    rookie mistakes                 both words (AND is implied)
    "rookie mistakes"               the exact phrase
    microphone AND (cheap OR budget)
    podcast NOT video               podcast -video        (exclude)
    monetiz*                        words starting with "monetiz"

Operators are the upper-case words AND, OR and NOT (lower-case and/or/not are ordinary words); NOT binds tightest,
then AND, then OR. Words are matched without regard to case, accents or punctuation.

Why it looks like this: every word and phrase is written into the FTS5 expression as a double-quoted string (quotes
inside doubled), so no user input can reach FTS5's own syntax, let alone SQL; the expression is always passed as a
bound parameter. A malformed query raises `QueryError`, whose message points at the problem with a caret.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from podscope.errors import InputError

OPERATORS = ("AND", "OR", "NOT")
# Words too common to be worth highlighting in results found by meaning (text matches highlight every matched word).
_STOPWORDS = """
    a an and are as at be but by can do does did for from had has have how i if in into is it its me my no not of on
    or our so than that the their them then there these they this to up us was we were what when where which who why
    will with would you your
"""
STOPWORDS = frozenset(_STOPWORDS.split())


class QueryError(InputError):
    """A query that cannot be parsed; the message shows where. `reading` says what its words alone can still be:
    "words" (the syntax is broken, the words are a fair reading), "nothing" (only exclusions: nothing to find),
    "refuse" (no words at all, or groups nested past reading: searching the words alone would not mean the same)."""

    def __init__(self, message: str, query: str, position: int, *, reading: str = "words"):
        pointer = f"\n  {query}\n  {' ' * position}^"
        super().__init__(f"search query: {message} (at character {position + 1}){pointer}")
        self.position = position
        self.reading = reading


# -- the tree ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # normalised tokens; more than one for a phrase (or a word with inner punctuation)
    prefix: bool = False

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class And:
    include: tuple[Node, ...]
    exclude: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Or:
    options: tuple[Node, ...]


Node = Term | And | Or


# -- tokens -----------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower case without accents, for highlighting (the index folds the same way: unicode61, remove_diacritics 2;
    "ß" stays "ß", as there)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """The words of a text as typed; FTS5 folds case and accents itself when they reach it quoted."""
    return [m.group() for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    """The normalised words of a text."""
    return [normalise(t) for t in tokens(text)]


@dataclass(frozen=True)
class _Token:
    kind: str  # word | phrase | ( | ) | AND | OR | NOT | -
    text: str
    position: int
    prefix: bool = False


def _tokens(query: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Token(c, c, i))
            i += 1
        elif c == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError('this quote is never closed: end the phrase with another "', query, i)
            text = query[i + 1 : end]
            if not words(text):
                raise QueryError("an empty phrase: put words between the quotes", query, i)
            out.append(_Token("phrase", text, i))
            i = end + 1
        elif c == "-" and (not out or out[-1].kind in ("(", "AND", "OR", "NOT", "-") or query[i - 1].isspace()):
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")":
                raise QueryError("'-' excludes what follows it: write -word with no space", query, i)
            out.append(_Token("-", c, i))
            i += 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"':
                j += 1
            raw = query[i:j]
            if raw in OPERATORS:
                out.append(_Token(raw, raw, i))
            else:
                prefix = raw.endswith("*")
                body = raw.rstrip("*")
                if "*" in body:
                    raise QueryError("'*' only goes at the end of a word, as in monetiz*", query, i + body.index("*"))
                if not words(body):
                    if prefix:
                        raise QueryError("'*' needs the start of a word before it, as in monetiz*", query, i)
                    i = j  # punctuation only: nothing to search for
                    continue
                out.append(_Token("word", body, i, prefix))
            i = j
    return out


# -- parser -----------------------------------------------------------------------------------------------------------


MAX_DEPTH = 16  # nested parentheses
MAX_TERMS = 128  # words and phrases in one query


class _Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = _tokens(query)
        self.i = 0
        self.depth = 0
        terms = [t for t in self.tokens if t.kind in ("word", "phrase")]
        if len(terms) > MAX_TERMS:
            raise QueryError(
                f"too many words: a query takes at most {MAX_TERMS} words and phrases", query, terms[MAX_TERMS].position
            )

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("nothing to search for: type one or more words", self.query, 0, reading="refuse")
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise QueryError("this ')' has no '(' before it", self.query, extra.position)
        return node

    def or_expr(self) -> Node:
        options = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "OR":
            self.take()
            if self.peek() is None or self.peek().kind in (")", "OR", "AND"):  # type: ignore[union-attr]
                raise QueryError("OR needs something after it", self.query, t.position)
            options.append(self.and_expr())
        flat = [x for o in options for x in (o.options if isinstance(o, Or) else (o,))]
        return flat[0] if len(flat) == 1 else Or(tuple(flat))

    def and_expr(self) -> Node:
        include: list[Node] = []
        exclude: list[Node] = []
        start = self.peek()
        if start is not None and start.kind == "OR":
            raise QueryError("OR needs something before it", self.query, start.position)
        while (t := self.peek()) is not None and t.kind not in ("OR", ")"):
            if t.kind == "AND":
                self.take()
                nxt = self.peek()
                if not include and not exclude:
                    raise QueryError("AND needs something before it", self.query, t.position)
                if nxt is None or nxt.kind in (")", "OR", "AND"):
                    raise QueryError("AND needs something after it", self.query, t.position)
                continue
            if t.kind in ("NOT", "-"):
                self.take()
                nxt = self.peek()
                if nxt is None or nxt.kind in (")", "OR", "AND", "NOT", "-"):
                    raise QueryError(f"{t.text} needs a word, phrase or group after it", self.query, t.position)
                exclude.append(self.atom())
                continue
            include.append(self.atom())
        if not include and not exclude:
            where = start.position if start is not None else len(self.query)
            raise QueryError("an empty group: put words between the parentheses", self.query, where)
        if not include:
            assert start is not None
            raise QueryError(
                "only exclusions: say what to search for too, as in podcast -video",
                self.query,
                start.position,
                reading="nothing",
            )
        if len(include) == 1 and not exclude:
            return include[0]
        flat = [x for i in include for x in (i.include if isinstance(i, And) and not i.exclude else (i,))]
        return And(tuple(flat), tuple(exclude))

    def atom(self) -> Node:
        t = self.take()
        if t.kind == "(":
            if self.peek() is not None and self.peek().kind == ")":  # type: ignore[union-attr]
                raise QueryError("an empty group: put words between the parentheses", self.query, t.position)
            if self.depth >= MAX_DEPTH:
                raise QueryError(
                    f"groups nested too deeply (at most {MAX_DEPTH} levels)", self.query, t.position, reading="refuse"
                )
            self.depth += 1
            node = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind != ")":
                raise QueryError("this '(' is never closed", self.query, t.position)
            self.take()
            return node
        if t.kind == "phrase":
            return Term(tuple(tokens(t.text)))
        if t.kind == "word":
            return Term(tuple(tokens(t.text)), prefix=t.prefix)
        raise QueryError(f"unexpected {t.text!r}", self.query, t.position)


@dataclass(frozen=True)
class Query:
    """A parsed query: its tree, the FTS5 expression, the words to highlight and the text to embed."""

    text: str
    tree: Node

    @property
    def fts(self) -> str:
        return _fts(self.tree)

    @property
    def highlights(self) -> list[Term]:
        """The terms a matching segment shows highlighted (excluded ones are not)."""
        return _positive_terms(self.tree)

    @property
    def content_highlights(self) -> list[Term]:
        """The highlight terms without stop words (for results found by meaning)."""
        return [t for t in self.highlights if t.phrase or t.prefix or normalise(t.words[0]) not in STOPWORDS]

    @property
    def plain(self) -> bool:
        """Only words (no phrase, prefix, operator or exclusion): hybrid search may return segments by meaning alone.
        Otherwise every result must satisfy the query's syntax."""
        return all(t.kind == "word" and not t.prefix for t in _tokens(self.text))

    def relaxed_fts(self, too_common: set[str] | frozenset[str] = frozenset()) -> str:
        """Any of the query's content words (an OR), leaving out `too_common` ones (normalised) unless nothing else is
        left: the text side of hybrid search for a plain query, ranked by bm25, so a natural-language question still
        finds segments that share its key words."""
        terms = [t for t in self.content_highlights if not _stop_word_pieces(t)] or self.highlights
        kept = [t for t in terms if normalise(" ".join(t.words)) not in too_common] or terms
        return " OR ".join(dict.fromkeys(_fts(t) for t in kept))

    @property
    def semantic_text(self) -> str:
        """What semantic search embeds: the query's words without its syntax."""
        return " ".join(" ".join(t.words) for t in self.highlights)


def _stop_word_pieces(term: Term) -> bool:
    """A word that punctuation splits into stop words and single letters ("that's", "it's", "I'm"): in a plain
    query it carries no content, and as a phrase it costs the text side a check of its positions."""
    return term.phrase and all(len(w) == 1 or normalise(w) in STOPWORDS for w in term.words)


def parse(query: str) -> Query:
    return Query(query, _Parser(query).parse())


def _quote(words_: tuple[str, ...]) -> str:
    return '"' + " ".join(words_).replace('"', '""') + '"'


def _fts(node: Node) -> str:
    """The FTS5 expression, flat: (a AND b) NOT (x OR y), so long queries never nest deeply."""
    if isinstance(node, Term):
        return _quote(node.words) + (" *" if node.prefix else "")
    if isinstance(node, Or):
        return "(" + " OR ".join(_fts(o) for o in node.options) + ")"
    inner = " AND ".join(_fts(i) for i in node.include)
    if len(node.include) > 1:
        inner = f"({inner})"
    if node.exclude:
        inner = f"({inner} NOT ({' OR '.join(_fts(e) for e in node.exclude)}))"
    return inner


def _positive_terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Or):
        return [t for o in node.options for t in _positive_terms(o)]
    return [t for i in node.include for t in _positive_terms(i)]


def highlight_spans(text: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Character spans of `text` that match the terms (words, phrases, prefixes), merged and in order."""
    found = [(m.start(), m.end(), normalise(m.group())) for m in _WORD.finditer(text)]
    spans: list[tuple[int, int]] = []
    for term in terms:
        wanted = [normalise(w) for w in term.words]
        n = len(wanted)
        for i in range(len(found) - n + 1):
            window = found[i : i + n]
            if all(tok == w for (_, _, tok), w in zip(window[:-1], wanted[:-1], strict=True)):
                last, want = window[-1][2], wanted[-1]
                if last == want or (term.prefix and last.startswith(want)):
                    spans.append((window[0][0], window[-1][1]))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged
