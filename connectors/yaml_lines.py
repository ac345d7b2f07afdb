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
    doc = YamlDocument(filename=filename, data=None)
    if node is None:
        return doc
    doc.data = _convert(node, (), doc.lines)
    return doc


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            result[key] = _convert(value_node, (*path, str(key)), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, index), lines) for index, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    # Let the safe constructor type the scalar (int, bool, null, timestamp...) exactly as safe_load would.
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
