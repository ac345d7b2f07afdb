from __future__ import annotations

import pytest

from connectors.yaml_lines import YamlSyntaxError, format_path, parse_yaml

TEXT = """\
rules: rules.yaml
sources:
  - type: csv
    name: a
  - type: form_files
    path: x.jsonl
"""


@pytest.mark.parametrize(("path", "line"), [
    (["rules"], 1), (["sources", 0, "name"], 4), (["sources", 1, "path"], 6), (["sources", 1, "missing"], 5),
    (["nowhere"], 1),
])
def test_line_of_each_path(path: list[str | int], line: int) -> None:
    assert parse_yaml(TEXT, "c.yaml").line_of(path) == line


def test_where_formats_file_line_and_path() -> None:
    assert parse_yaml(TEXT, "c.yaml").where(["sources", 1, "path"]) == "c.yaml:6: sources[1].path"
    assert format_path([]) == "(top level)"


def test_values_typed_like_safe_load() -> None:
    doc = parse_yaml("a: yes\nb: 1.5\nc: null\nd: '01'\n", "x")
    assert doc.data == {"a": True, "b": 1.5, "c": None, "d": "01"}


def test_syntax_error_has_line() -> None:
    with pytest.raises(YamlSyntaxError, match=r"^c.yaml:3: YAML syntax error"):
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "c.yaml")
