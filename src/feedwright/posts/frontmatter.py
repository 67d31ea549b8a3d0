"""A post's text -> (front matter, body), by python-frontmatter with our handlers.

python-frontmatter finds the handler whose opening matches, splits the text
with it and loads the front matter it splits off. Our handlers hold the
safety rules:

======================  ===========================================================
``---`` YAML            PyYAML's C loader with YAML 1.2-ish scalars: only
                        true/false/null are not strings (``title: no`` stays "no",
                        ``010`` stays "010", dates stay text for ``dates.py``); no
                        tags at all (``!!str``, ``!!python/object``: an error
                        naming the line); at most 10,000 values reached through
                        aliases (billion laughs); closed by ``---`` or ``...``
``+++`` TOML            tomllib
``{`` JSON              Hugo's: a JSON object at the start of the file
``;;;`` JSON            Hexo's: the members of an object, closed by a ``;;;`` line
                        (the opening ``;;;`` is optional, as in Hexo)
======================  ===========================================================

Front matter is at most 4 MB. Blank lines before it are allowed (Hexo
writes them; the seed post has one). Every error is a PostError that names
the line of the mistake in the file, in our words where PyYAML's are
obscure.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import BaseHandler
from yaml._yaml import CParser

from ..exceptions import PostError
from ..yamlwords import yaml_problem

MAX_FRONT_MATTER_BYTES = 4 * 1024 * 1024
# YAML nodes visited when walking the front matter *through* aliases: a real
# front matter has dozens; a "billion laughs" document has billions.
MAX_YAML_NODES = 10_000


class _Mistake(Exception):  # not seen by users: split() makes it a PostError
    """A front matter problem at ``line`` (1: the opening line) of the split-off text."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _check_size(fm: str) -> None:
    if len(fm) * 4 > MAX_FRONT_MATTER_BYTES and len(fm.encode()) > MAX_FRONT_MATTER_BYTES:
        raise _Mistake(f"front matter is larger than {MAX_FRONT_MATTER_BYTES // 2**20} MB")


def _mapping(data: object, kind: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _Mistake(
            f"front matter must be a {kind} mapping of keys to values, got a {type(data).__name__}"
        )
    return {str(k): v for k, v in data.items()}


# --------------------------------------------------------------------------- YAML


_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_SCALAR, _SEQUENCE, _MAPPING = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode
# The only plain scalars that are not text (YAML 1.2's core schema, less numbers).
_IMPLICIT = {
    **dict.fromkeys(["true", "True", "TRUE", "false", "False", "FALSE"], _BOOL_TAG),
    **dict.fromkeys(["~", "null", "Null", "NULL", ""], _NULL_TAG),
    "<<": _MERGE_TAG,
}


@cache
def _loader() -> type[CParser]:
    """PyYAML's C parser (libyaml), composing nodes that resolve only
    true/false/null (and ``<<`` merges): YAML 1.1 reads ``title: no`` as
    False, ``1:20`` as 80 and ``010`` as 8. Nodes only: :func:`_construct`
    makes the data, so PyYAML's constructor and resolver are left out."""

    class Loader(CParser):
        # libyaml asks this for every node: one lookup in place of PyYAML's
        # table of regular expressions, which held only these words anyway.
        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode:
                return (implicit[0] and _IMPLICIT.get(value)) or _STR_TAG
            if kind is yaml.SequenceNode:
                return "tag:yaml.org,2002:seq"
            return "tag:yaml.org,2002:map"

        # PyYAML's path resolvers, which nothing here registers: nothing to track.
        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

    return Loader


def _yaml_mistake(exc: yaml.YAMLError, text: str) -> _Mistake:
    problem, mark = yaml_problem(exc, text)
    return _Mistake(f"front matter is not valid YAML: {problem}", _line(mark))


def _line(mark: Any) -> int | None:
    # The split-off text starts with the rest of the opening line (mark line 0).
    return None if mark is None else mark.line + 1


def _refuse_tags(raw: str) -> None:
    """A tag (``!!str``, ``!local``, ``!!python/object``) anywhere is a mistake:
    front matter is data, and a tag is how YAML asks for more than data."""
    loader = _loader()(raw)
    try:
        while loader.check_event():
            event = loader.get_event()
            tag = getattr(event, "tag", None)
            if event is not None and tag is not None:
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                raise _Mistake(
                    f"front matter uses the YAML tag {shown}: tags are not allowed",
                    _line(event.start_mark),
                )
    finally:
        loader.dispose()


def _construct(root: yaml.Node) -> Any:
    """The data of a composed document, under our scalar rules: every scalar is
    text except true/false/null. Values reached through aliases count against
    MAX_YAML_NODES (billion laughs); the line named is the top-level key whose
    value runs over. (PyYAML's general constructor does the same for our three
    scalar kinds, at several times the cost.)"""
    budget = MAX_YAML_NODES
    top: Any = None  # the top-level key being built

    def build(node: yaml.Node, outermost: bool = False) -> Any:
        nonlocal budget, top
        budget -= 1
        if budget < 0:
            raise _Mistake(
                f"front matter expands to more than {MAX_YAML_NODES} values through YAML aliases",
                _line((top or node).start_mark),
            )
        kind = node.__class__
        if kind is _SCALAR:
            tag = node.tag
            if tag == _STR_TAG:
                return node.value
            if tag == _BOOL_TAG:
                return node.value.lower() == "true"
            if tag == _NULL_TAG:
                return None
            return node.value
        if kind is _SEQUENCE:
            return [build(item) for item in node.value]
        assert kind is _MAPPING
        data: dict[Any, Any] = {}
        own: list[tuple[Any, Any]] = []
        for key_node, value_node in node.value:
            if outermost:
                top = key_node
            if key_node.tag == _MERGE_TAG:  # ``<<: *defaults``: keys of its own win
                merged = build(value_node)
                for part in merged if isinstance(merged, list) else [merged]:
                    if isinstance(part, dict):
                        data.update(part)
                continue
            key = build(key_node)
            if isinstance(key, list | dict):
                raise _Mistake(
                    "front matter is not valid YAML: a key that is a list or a mapping",
                    _line(key_node.start_mark),
                )
            own.append((key, build(value_node)))
        data.update(own)
        return data

    return build(root, outermost=True)


class _Fenced(BaseHandler):
    """Front matter between an opening line (``_OPEN``) and a closing one
    (``FM_BOUNDARY``), the opening line first in the text."""

    _OPEN: re.Pattern[str]

    def detect(self, text: str) -> bool:
        return self._OPEN.match(text) is not None

    def split(self, text: str) -> tuple[str, str]:
        assert self.FM_BOUNDARY is not None
        parts = self.FM_BOUNDARY.split(text, 2)
        if len(parts) < 3:
            raise _Mistake(f"front matter opened with {self.START_DELIMITER!r} is never closed", 1)
        _check_size(parts[1])
        return parts[1], parts[2]


class YAMLHandler(_Fenced):
    FM_BOUNDARY = re.compile(r"^(?:-{3,}|\.{3})[ \t]*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "---"
    _OPEN = re.compile(r"-{3,}[ \t]*\n")

    def load(self, fm: str, **kwargs: object) -> dict[str, Any]:
        loader = _loader()(fm)
        try:
            if "!" in fm:
                _refuse_tags(fm)
            node = loader.get_single_node()
            if node is None:
                return {}
            data = _construct(node)
        except yaml.YAMLError as exc:
            raise _yaml_mistake(exc, fm) from None
        except RecursionError:
            raise _Mistake("front matter is nested too deeply") from None
        finally:
            loader.dispose()
        return _mapping(data, "YAML")


# --------------------------------------------------------------------------- TOML and JSON


# tomllib's words for the mistakes authors make most, in words they can act on.
_TOML_WORDS = {
    "Illegal character '\\n'": "a quoted value is not closed on its line",
    "Invalid value": 'a value that is not TOML (text is quoted: title = "Hello")',
}


class TOMLHandler(_Fenced):
    FM_BOUNDARY = re.compile(r"^\+{3,}[ \t]*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"
    _OPEN = re.compile(r"\+{3,}[ \t]*\n")
    _AT = re.compile(r" \(at line (\d+), column \d+\)")

    def load(self, fm: str, **kwargs: object) -> dict[str, Any]:
        import tomllib  # (only for a post that has TOML front matter)

        try:
            return tomllib.loads(fm)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            at = self._AT.search(message)
            line = int(at[1]) if at else None
            problem = self._AT.sub("", message)
            problem = _TOML_WORDS.get(problem, problem)
            raise _Mistake(f"front matter is not valid TOML: {problem}", line) from None
        except RecursionError:
            raise _Mistake("front matter is nested too deeply") from None


def _json(fm: str, first_line: int = 1) -> tuple[dict[str, Any], int]:
    """The object at the start of ``fm`` and where it ends."""
    try:
        # strict=False: a tab or newline inside a string is what an author meant.
        data, end = json.JSONDecoder(strict=False).raw_decode(fm)
    except json.JSONDecodeError as exc:
        raise _Mistake(f"front matter is not valid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise _Mistake("front matter is nested too deeply") from None
    return _mapping(data, "JSON"), end


class JSONHandler(BaseHandler):
    """Hugo's JSON front matter: an object at the start of the file."""

    FM_BOUNDARY = re.compile(r"\{")
    START_DELIMITER = END_DELIMITER = ""
    _OPEN = re.compile(r'\{\s*(?:"|\})')

    def detect(self, text: str) -> bool:
        return self._OPEN.match(text) is not None

    def split(self, text: str) -> tuple[str, str]:
        _, end = _json(text)
        _check_size(text[:end])
        return text[:end], text[end:]

    def load(self, fm: str, **kwargs: object) -> dict[str, Any]:
        return _json(fm)[0]


class HexoJSONHandler(BaseHandler):
    """Hexo's JSON front matter: an object's members, then a ``;;;`` line
    (a ``;;;`` line before them is optional)."""

    FM_BOUNDARY = re.compile(r"^;{3,}[ \t]*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = ";;;"
    _OPEN = re.compile(r";{3,}[ \t]*\n|\"")

    def detect(self, text: str) -> bool:
        if text.startswith(";;;"):
            return self._OPEN.match(text) is not None
        # Without the opening line: members first, then the closing line.
        return text.startswith('"') and self.FM_BOUNDARY.search(text) is not None

    def split(self, text: str) -> tuple[str, str]:
        opened = text.startswith(";;;")
        parts = self.FM_BOUNDARY.split(text, 2 if opened else 1)
        if opened:
            if len(parts) < 3:
                raise _Mistake("front matter opened with ';;;' is never closed", 1)
            members, body = parts[1], parts[2]
        else:
            members, body = parts
        _check_size(members)
        # "{" in place of the opening line (or before the first member) keeps
        # JSON's line numbers those of the split text.
        return "{" + members + "}", body

    def load(self, fm: str, **kwargs: object) -> dict[str, Any]:
        data, end = _json(fm)
        if fm[end:].strip():
            raise _Mistake("front matter between ';;;' lines is not one JSON object")
        return data


class HexoYAMLHandler(YAMLHandler):
    """Hexo's YAML front matter without its opening line: keys from the first
    line, then a ``---`` line (what ``hexo new`` wrote before Hexo 3). Taken
    for front matter only when the first line sets ``title`` or ``date`` and
    every line before the ``---`` looks like YAML (a key, a list item, an
    indented line): a Markdown post that opens with a paragraph and a
    ``---`` rule is not one."""

    _FIRST = re.compile(r"(?i)(?:title|date)[ \t]*:")
    _LINE = re.compile(r"[\w-]+[ \t]*:.*|[ \t]+\S.*|-[ \t].*|[ \t]*(?:#.*)?")

    def detect(self, text: str) -> bool:
        if not self._FIRST.match(text):
            return False
        assert self.FM_BOUNDARY is not None
        close = self.FM_BOUNDARY.search(text)
        if close is None:
            return False
        return all(self._LINE.fullmatch(line) for line in text[: close.start()].splitlines())

    def split(self, text: str) -> tuple[str, str]:
        assert self.FM_BOUNDARY is not None
        fm, body = self.FM_BOUNDARY.split(text, 1)
        _check_size(fm)
        return fm, body


_HANDLERS = (YAMLHandler(), TOMLHandler(), JSONHandler(), HexoJSONHandler(), HexoYAMLHandler())


# --------------------------------------------------------------------------- split


def split(text: str, path: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a post's text (LF line ends, no control characters).

    Raises PostError naming ``path`` and the line of the mistake in the file.
    """
    start = len(text) - len(text.lstrip())
    handler = frontmatter.detect_format(text[start:], _HANDLERS)
    if handler is None:
        return {}, text
    # The blank lines before the opening line, for line numbers in the file.
    lead = text.count("\n", 0, start)
    try:
        meta, content = frontmatter.parse(text, handler=handler)
    except _Mistake as mistake:
        message = mistake.message
        if mistake.line is not None:
            # "front matter is not valid YAML (line 4): ..."
            head, sep, tail = message.partition(": ")
            message = f"{head} (line {lead + mistake.line}){sep}{tail}"
        raise PostError(message, path=path) from None
    return meta, _unstrip(text, content)


# A key at the start of a line of YAML front matter: a cheap look for a key
# written twice, before the front matter is composed again to be sure.
_TOP_KEY = re.compile(r"^([^\s#\-\[{][^\n:]*):", re.MULTILINE)


def repeated_keys(text: str) -> list[tuple[str, list[int]]]:
    """The top-level keys a post's YAML front matter writes more than once,
    each with the lines of the file it is written on. :func:`split` takes
    the last one, as Hugo and Jekyll do (Hexo refuses such a post);
    ``feedwright check`` warns. [] for other front matter, or none, or
    front matter that :func:`split` refuses (that is an error of its own)."""
    start = len(text) - len(text.lstrip())
    handler = frontmatter.detect_format(text[start:], _HANDLERS)
    if not isinstance(handler, YAMLHandler):
        return []
    try:
        fm = handler.split(text[start:])[0]
    except _Mistake:
        return []
    names = [name.strip().strip("'\"") for name in _TOP_KEY.findall(fm)]
    if len(set(names)) == len(names):
        return []  # nearly every post: nothing composed again
    loader = _loader()(fm)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        return []
    finally:
        loader.dispose()
    if node.__class__ is not _MAPPING:
        return []
    lead = text.count("\n", 0, start)
    lines: dict[str, list[int]] = {}
    for key_node, _ in node.value:
        if key_node.__class__ is _SCALAR and key_node.tag != _MERGE_TAG:
            lines.setdefault(key_node.value, []).append(lead + (_line(key_node.start_mark) or 0))
    return [(key, where) for key, where in lines.items() if len(where) > 1]


def _unstrip(text: str, content: str) -> str:
    """``content`` (python-frontmatter strips the body) with the indentation
    of its first line back: a body that starts with an indented code block
    must stay one. ``content`` is a tail of the stripped ``text``."""
    end = len(text.rstrip())
    begin = end - len(content)
    line_start = text.rfind("\n", 0, begin) + 1
    if begin > line_start and not text[line_start:begin].strip(" \t"):
        return text[line_start:end]
    return content


__all__ = ["MAX_FRONT_MATTER_BYTES", "MAX_YAML_NODES", "repeated_keys", "split"]
