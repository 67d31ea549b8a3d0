"""PyYAML's (libyaml's) error messages in words an author can act on.

Shared by ``config.yaml`` (config.py) and posts' front matter
(posts/frontmatter.py): the same mistake reads the same in both, and points
at the line of the mistake, not where the parser gave up (an unclosed quote
on line 3 is found at the end of the file).
"""

from __future__ import annotations

from typing import Any

# (words in libyaml's message, what we say, True: the mistake is where the
# construct began (an unclosed list), not where the parser gave up)
PROBLEMS = (
    ("did not find expected ',' or ']'", "a [list] is not closed with ']'", True),
    ("did not find expected ',' or '}'", "a {mapping} is not closed with '}'", True),
    ("expected ',' or ']'", "a [list] is not closed with ']'", True),
    ("expected ',' or '}'", "a {mapping} is not closed with '}'", True),
    ("end of stream", "a quoted value is never closed", True),
    ("could not find expected ':'", "a line that is neither 'key: value' nor a list item", True),
    ("unhashable key", "a key that is a list or a mapping", True),
    ("mapping values are not allowed", "a ': ' where YAML takes none (quote the value)", False),
    ("tab character", "a tab where YAML allows only spaces", False),
    ("found character '\\t'", "a tab where YAML allows only spaces", False),
    ("undefined alias", "an alias (*name) with no anchor (&name) before it", False),
    ("duplicate anchor", "an anchor (&name) defined twice", False),
    ("did not find expected key", "a line not in line with the keys above it", False),
    ("expected '-' indicator", "a line not in line with the list above it", False),
    ("expected <block end>", "a line not in line with the keys above it", False),
    ("cannot start any token", "a value that starts with @ or ` (quote it)", False),
)


def yaml_problem(exc: Exception, text: str | None = None) -> tuple[str, Any]:
    """(what is wrong, in our words; the mark of the line to name, or None).
    ``text``: what was parsed, for the character libyaml found but does not
    name (a tab, or an ``@`` that starts a value)."""
    context = getattr(exc, "context", None) or ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["not valid"])[0]
    mark = getattr(exc, "problem_mark", None)
    if problem == "found character that cannot start any token" and text and mark is not None:
        found = text[mark.index : mark.index + 1]
        problem = f"found character {found!r} that cannot start any token"
    for words, says, at_start in PROBLEMS:
        if words in f"{context} {problem}":
            problem = says
            if at_start and getattr(exc, "context_mark", None) is not None:
                mark = exc.context_mark  # type: ignore[attr-defined]
            break
    return problem, mark


__all__ = ["PROBLEMS", "yaml_problem"]
