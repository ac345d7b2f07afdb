from __future__ import annotations

from typing import Any

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


# ---- alias bombs and absurd nesting: a clear error with file and line, fast -------------------------

def laughs(levels: int, width: int = 9) -> str:
    """The classic "billion laughs": each level repeats the previous one `width` times by alias."""
    lines = ["base:", "  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"  - &l{level} [{refs}]")
    lines.append(f"rules: *l{levels}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [4, 9])
def test_billion_laughs_is_refused_with_file_and_line(levels: int) -> None:
    import time

    started = time.perf_counter()
    with pytest.raises(YamlSyntaxError, match=r"^bomb.yaml:\d+: YAML syntax error: .*aliases expand") as caught:
        parse_yaml(laughs(levels), "bomb.yaml")
    assert time.perf_counter() - started < 1.0
    assert caught.value.line > 1


def test_alias_cycle_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(YamlSyntaxError, match=r"^c.yaml:2: .*refers to a node that contains it"):
        parse_yaml("a: 1\nb: &x [1, *x]\n", "c.yaml")


@pytest.mark.parametrize("text", ["x: " + "[" * 5000 + "]" * 5000 + "\n", "x: " + "[" * 400 + "]" * 400 + "\n",
                                  "".join("  " * i + f"k{i}:\n" for i in range(2000))])
def test_absurd_nesting_is_a_syntax_error(text: str) -> None:
    with pytest.raises(YamlSyntaxError, match=r"^n.yaml:\d+: YAML syntax error: .*(nesting depth|nested more than)"):
        parse_yaml(text, "n.yaml")


def test_a_few_aliases_still_work() -> None:
    text = "team: &team [ann@x.example, bob@x.example]\nrules:\n  - owners: *team\n  - owners: *team\n"
    doc = parse_yaml(text, "ok.yaml")
    assert doc.data["rules"] == [{"owners": ["ann@x.example", "bob@x.example"]}] * 2
    assert doc.line_of(["rules", 1, "owners"]) == 1  # the anchored node's own line


def test_config_and_rules_loaders_report_the_bomb(tmp_path: Any) -> None:
    from connectors.errors import ConfigError
    from flows.config.loader import load_config
    from rules.loader import parse_ruleset

    with pytest.raises(ConfigError, match=r"rules.yaml:\d+: YAML syntax error: .*aliases expand"):
        parse_ruleset(laughs(9), "rules.yaml")
    config = tmp_path / "leadsync.yaml"
    config.write_text(laughs(9), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"leadsync.yaml:\d+: YAML syntax error: .*aliases expand"):
        load_config(config)
