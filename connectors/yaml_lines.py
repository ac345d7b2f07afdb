"""Load YAML while remembering the line of every value, so errors can say file:line: path.

Pure: takes text, returns data plus a position map. Shared by the config loader and anyone
else that validates YAML written by ops people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

# A YAML alias repeats its anchored node wherever it is used, so a few lines can stand for billions of
# nodes ("billion laughs"). Real config reuses a block a few times; these bounds stop a bomb in
# milliseconds while leaving room for any hand-written file.
MAX_NODES = 200_000
MAX_ALIAS_EXPANSION = 20_000
MAX_DEPTH = 300  # rules nest conditions (not/any/all) a few hundred levels at most


@dataclass
class YamlDocument:
    filename: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int:
        """Line (1-based) of the deepest existing node on `path`."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)

    def where(self, path: Sequence[str | int]) -> str:
        dotted = format_path(path)
        return f"{self.filename}:{self.line_of(path)}: {dotted}"


def format_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class YamlSyntaxError(ValueError):
    def __init__(self, filename: str, line: int, problem: str) -> None:
        super().__init__(f"{filename}:{line}: YAML syntax error: {problem}")
        self.line = line


def parse_yaml(text: str, filename: str) -> YamlDocument:
    """Parse one YAML document (safe constructors only) and record the line of each node."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlSyntaxError(filename, (mark.line + 1) if mark else 1, str(exc.problem or exc)) from None
    except RecursionError:  # the composer recurses once per nesting level
        raise YamlSyntaxError(filename, 1, f"nested more than {MAX_DEPTH} levels deep") from None
    doc = YamlDocument(filename=filename, data=None)
    if node is None:
        return doc
    try:
        doc.data = _Converter(filename, doc.lines).convert(node, (), 1)
    except RecursionError:  # MAX_DEPTH is checked, but the caller's own stack may already be deep
        raise YamlSyntaxError(filename, 1, "nested too deeply to read") from None
    return doc


class _Converter:
    """Node graph -> plain data, refusing alias bombs, alias cycles and absurd nesting with file:line."""

    def __init__(self, filename: str, lines: dict[Path, int]) -> None:
        self.filename = filename
        self.lines = lines
        self.nodes = 0
        self.expanded = 0
        self.seen: set[int] = set()  # ids of nodes already converted once: meeting one again is an alias
        self.open: set[int] = set()  # collections on the current path: meeting one again is a cycle

    def convert(self, node: yaml.Node, path: Path, line: int, in_alias: bool = False) -> Any:
        """`line` is where the node is used: inside an alias's expansion, the line of the alias."""
        in_alias = in_alias or id(node) in self.seen
        self._count(node, path, line, in_alias)
        self.lines[path] = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return _scalar(node)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.convert(item, (*path, index), self._line(item, line, in_alias), in_alias)
                        for index, item in enumerate(node.value)]
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = _scalar(key_node)
                # an alias has no mark of its own: the key it is the value of is where it is used
                used = line if in_alias else key_node.start_mark.line + 1
                result[key] = self.convert(value_node, (*path, str(key)), used, in_alias)
            return result
        finally:
            self.open.discard(id(node))

    def _line(self, item: yaml.Node, parent_line: int, in_alias: bool) -> int:
        return parent_line if in_alias or id(item) in self.seen else item.start_mark.line + 1

    def _count(self, node: yaml.Node, path: Path, line: int, in_alias: bool) -> None:
        where = format_path(path)[:200]
        if id(node) in self.open:
            raise YamlSyntaxError(self.filename, line, f"{where}: an alias refers to a node that contains it")
        if len(path) > MAX_DEPTH:
            raise YamlSyntaxError(self.filename, line, f"{where}: nested more than {MAX_DEPTH} levels deep")
        self.nodes += 1
        self.seen.add(id(node))
        self.expanded += in_alias
        if self.expanded > MAX_ALIAS_EXPANSION:
            raise YamlSyntaxError(self.filename, line, f"{where}: aliases expand to more than "
                                  f"{MAX_ALIAS_EXPANSION:,} nodes (refused: an alias bomb?)")
        if self.nodes > MAX_NODES:
            raise YamlSyntaxError(self.filename, line, f"more than {MAX_NODES:,} nodes: far larger than any config")


def _scalar(node: yaml.Node) -> Any:
    # Let the safe constructor type the scalar (int, bool, null, timestamp...) exactly as safe_load would.
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
