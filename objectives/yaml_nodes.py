"""Reading PyYAML's node tree: a node's line, how to name what it holds, merge-key lookup.

The checks work on nodes rather than constructed values so every problem can name its
line; these helpers are the small vocabulary they share.
"""

from __future__ import annotations

import difflib

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def kind_of(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "empty"
    return repr(node.value)


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def lookup(node: MappingNode, key: str) -> Node | None:
    """The value of `key` in a mapping not flattened yet: its own entry (the last one)
    first, else the first merged mapping (`<<: *anchor`) that has it."""
    found = None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.tag != MERGE_TAG and key_node.value == key:
            found = value_node
    if found is not None:
        return found
    for key_node, value_node in node.value:
        if key_node.tag != MERGE_TAG:
            continue
        merged = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in merged:
            if isinstance(source, MappingNode) and (hit := lookup(source, key)) is not None:
                return hit
    return None
