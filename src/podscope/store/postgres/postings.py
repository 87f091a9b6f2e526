"""Words and prefixes answered from the postings table (`segment_terms`, migration 0017) instead of the segments.

GIN finds the segments that hold a word, but PostgreSQL must then read every one of them (to see it, count it and
rank it): a word in 30,000 segments costs about 80 ms, a prefix in 180,000 over 600 ms at 1,000,000 segments.
`segment_terms` keeps one row per (lexeme, segment) with the lexeme's occurrences (tf) and the segment's number of
words (len), written by a trigger from the same generated tsvector, under a covering index: a query made
only of words and prefixes joined by OR is counted and ranked by an index-only scan of that index, never touching a
segment until the page and the facets' sample are read.

The ranking is bm25 as FTS5 computes it (k1 1.2, b 0.75, idf log((N - n + 0.5) / (n + 0.5)) and never below
1e-6, a prefix's tf summed over the words it covers), so these queries rank on PostgreSQL as on SQLite. N and the
average length come from the planner's statistics once the library holds EXACT_BELOW segments (the rows of
`segments` and `segment_terms` in `pg_class`, the mean tf of a posting from `pg_stats`: all kept by autovacuum, and
the same for every server process), and are counted below that.

Only lexemes the server's parser reads as one token of ASCII letters and digits take this way (a word like `naïve`
is folded to ASCII before it gets here); anything else, any filter and the date order go through GIN.
"""

from __future__ import annotations

import re
from typing import Any

K1, B = 1.2, 0.75  # FTS5's bm25 constants
EXACT_BELOW = 5_000  # segments: under this the collection's size and average length are counted, not estimated

# Every segment's postings, from its tsvector (as the trigger of 0017 writes one segment's): for a bulk load.
FILL = """INSERT INTO segment_terms (lexeme, segment_id, tf, len)
          SELECT t.lexeme, s.id, cardinality(t.positions), w.len
          FROM segments s, LATERAL (SELECT SUM(cardinality(positions))::integer AS len FROM unnest(s.tsv)) w,
               unnest(s.tsv) t"""

_TERM = re.compile(r"'([a-z0-9]{1,200})'(:\*)?")

Terms = list[tuple[str, bool]]  # (lexeme, prefix)


def postings_terms(tsquery: str) -> Terms | None:
    """The terms of a tsquery (as `fts5_to_tsquery` writes it) that is one word or prefix or an OR of them, as
    (lexeme, prefix); None for any other query (phrases, AND, NOT, groups, other letters)."""
    body = tsquery
    if body.startswith("(") and body.endswith(")") and body.count("(") == 1 and body.count(")") == 1:
        body = body[1:-1]
    terms: Terms = []
    for part in body.split(" | "):
        m = _TERM.fullmatch(part)
        if m is None:
            return None
        terms.append((m.group(1), m.group(2) is not None))
    return terms


def _after(prefix: str) -> str:
    """The first string in byte order after every string that starts with `prefix` (ASCII here)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _where(lexeme: str, prefix: bool) -> tuple[str, list[Any]]:
    """The postings of one term: a word's lexeme, or the range of every lexeme a prefix starts."""
    return ("lexeme >= ? AND lexeme < ?", [lexeme, _after(lexeme)]) if prefix else ("lexeme = ?", [lexeme])


def _leaves(terms: Terms) -> tuple[list[str], list[Any]]:
    """Per term, a SELECT of its postings (segment_id, tf, len; a prefix's summed per segment), with parameters."""
    leaves, params = [], []
    for i, (lexeme, prefix) in enumerate(terms):
        where, values = _where(lexeme, prefix)
        if prefix:
            leaves.append(
                f"SELECT {i} AS i, segment_id, SUM(tf) AS tf, MIN(len) AS len FROM segment_terms WHERE {where}"
                " GROUP BY segment_id"
            )
        else:
            leaves.append(f"SELECT {i} AS i, segment_id, tf, len FROM segment_terms WHERE {where}")
        params += values
    return leaves, params


def matching_sql(terms: Terms) -> tuple[str, list[Any]]:
    """A CTE `m` (id) of every segment matching any of the terms, without ranking them (for the facets), with its
    parameters: a word's postings name each segment once, a prefix's are made distinct, and so are the terms'."""
    parts, params = [], []
    for lexeme, prefix in terms:
        where, values = _where(lexeme, prefix)
        parts.append(f"SELECT {'DISTINCT ' if prefix else ''}segment_id AS id FROM segment_terms WHERE {where}")
        params += values
    return f"m AS MATERIALIZED ({' UNION '.join(parts)})", params


def ranked_sql(terms: Terms, segments: float, average: float) -> tuple[str, list[Any], str]:
    """CTEs ending in `m` (id, rank: bm25, higher is better) over every segment matching any of the terms, their
    parameters, and what a rank of `m` is multiplied by to be the bm25 score (an expression over `n.total`, the
    number of matches, from a CTE `n` the caller adds): a single term's idf, the same for every match, is left out
    of `m` and applied to the page alone."""
    leaves, params = _leaves(terms)
    k1, b = f"{K1}::float8", f"{B}::float8"  # (a bare 1.2 is numeric, and numeric arithmetic is slow)
    weight = f"p.tf * ({k1} + 1) / (p.tf + {k1} * (1 - {b} + {b} * p.len / {float(average)!r}::float8))"

    def idf(n: str) -> str:
        return f"GREATEST(ln(({float(segments)!r}::float8 - {n} + 0.5) / ({n} + 0.5)), 1e-6)"

    if len(terms) == 1:
        return (
            f"m AS MATERIALIZED (SELECT p.segment_id AS id, {weight} AS rank FROM ({leaves[0]}) p)",
            params,
            idf("n.total"),
        )
    sql = f"""p AS MATERIALIZED ({" UNION ALL ".join(leaves)}),
        df AS (SELECT i, {idf("COUNT(*)")} AS idf FROM p GROUP BY i),
        m AS MATERIALIZED (SELECT p.segment_id AS id, SUM(df.idf * {weight}) AS rank FROM p JOIN df ON df.i = p.i
                           GROUP BY p.segment_id)"""
    return sql, params, "1"
