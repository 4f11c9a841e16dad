# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static facts about the PowerShell side, read with tree-sitter-powershell (no PowerShell here).

* :func:`syntax_problems` lists every ERROR / MISSING node of a PowerShell source, as
  ``file:line:col: message`` with the offending source line; the parse test fails on any.
* :func:`literal` evaluates a literal PowerShell expression (strings, numbers, ``$true``,
  ``@()``, ``'a', 'b'``, ``@{...}``, ``[Ordered]@{...}``): enough to read a module's ``$spec``.
* :func:`collector_contract` reads, from ``plugins/modules/win_inventory_info.ps1``, the property names
  the collector emits: the top-level keys, the ``platform`` keys and the item keys of every
  section. It relies on two conventions of that file, checked here (a violation raises
  :class:`ContractError` instead of silently missing keys):

  - items are added with ``Add-DivestItem -Section <section> -Item ([Ordered]@{...})``, where
    ``<section>`` is a string, or a parameter of the enclosing function with a
    ``[ValidateSet(...)]`` naming its sections, and the item is a literal hashtable;
  - ``skipped`` / ``errors`` entries are added with ``$inventory.<section>.Add([Ordered]@{...})``.

* :func:`documented_windows_contract` reads the same facts from ``docs/raw-inventory.md``.

Usage from another test (the matcher's, for example)::

    from ansible_collections.fleetsec.divest.tests.unit.plugins.modules.win_inventory_contract import (
        collector_contract)
    emitted = collector_contract().sections     # {'uninstall': frozenset({'key', ...}), ...}
"""

from __future__ import annotations

import dataclasses
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[4]
COLLECTOR = REPO / "plugins" / "modules" / "win_inventory_info.ps1"
RAW_INVENTORY_DOC = REPO / "docs" / "raw-inventory.md"

ITEM_FUNCTION = "add-divestitem"
INVENTORY_VARIABLE = "$inventory"


class ContractError(ValueError):
    """The source does not follow the conventions the extraction relies on."""


class NotLiteral(ValueError):
    """An expression that is not a plain literal."""


# --------------------------------------------------------------------------- parsing

_PARSER = None


def parser():
    """A tree-sitter parser for PowerShell (imported lazily: tests skip cleanly without it)."""
    global _PARSER
    if _PARSER is None:
        import tree_sitter
        import tree_sitter_powershell

        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return _PARSER


def parse(source):
    if isinstance(source, str):
        source = source.encode("utf-8")
    return parser().parse(source)


def syntax_problems(source, name="<string>"):
    """Every ERROR and MISSING node: ``name:line:col: message`` plus the source line.

    Lines and columns are 1-based (editors' convention). Nested ERROR nodes are reported
    once, at the outermost one.
    """
    if isinstance(source, str):
        source = source.encode("utf-8")
    tree = parse(source)
    lines = source.decode("utf-8", "replace").splitlines()
    problems = []

    def report(node, message):
        row, col = node.start_point
        line = lines[row] if row < len(lines) else ""
        snippet = source[node.start_byte:node.end_byte].decode("utf-8", "replace")
        snippet = snippet.splitlines()[0][:60] if snippet.strip() else ""
        problems.append(
            "%s:%d:%d: %s%s\n    %s\n    %s^"
            % (name, row + 1, col + 1, message, (" near %r" % snippet) if snippet else "",
               line, " " * col)
        )

    def walk(node):
        if node.is_missing:
            report(node, "missing %r" % node.type)
            return
        if node.is_error:
            report(node, "syntax error")
            return
        if node.has_error:
            for child in node.children:
                walk(child)

    walk(tree.root_node)
    return problems


def text(node):
    return node.text.decode("utf-8")


def named(node):
    return [child for child in node.named_children if child.type != "comment"]


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


# --------------------------------------------------------------------------- literals

def _unwrap(node):
    """Descend through the grammar's single-child precedence layers."""
    while True:
        kids = named(node)
        if node.type == "cast_expression":
            node = kids[-1]
            continue
        if node.type == "parenthesized_expression":
            node = kids[0]
            continue
        if node.type == "array_literal_expression" and len(kids) > 1:
            return node  # 'a', 'b'
        if node.type in ("string_literal", "integer_literal", "variable", "hash_literal_expression",
                         "array_expression"):
            return node
        if len(kids) == 1:
            node = kids[0]
            continue
        return node


def string_value(node):
    node = _unwrap(node)
    if node.type != "string_literal":
        raise NotLiteral("not a string: %s" % text(node))
    raw = text(node)
    inner = named(node)[0] if named(node) else node
    if inner.type == "verbatim_string_characters" and raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    if raw.startswith('"') and "$" not in raw and "`" not in raw:
        return raw[1:-1]
    raise NotLiteral("not a constant string: %s" % raw)


def literal(node):
    node = _unwrap(node)
    kind = node.type
    if kind == "string_literal":
        return string_value(node)
    if kind == "integer_literal":
        return int(text(node), 0)
    if kind == "variable":
        constants = {"$true": True, "$false": False, "$null": None}
        if text(node).lower() in constants:
            return constants[text(node).lower()]
        raise NotLiteral("variable %s" % text(node))
    if kind == "hash_literal_expression":
        return {key: literal(value) for key, value in hash_entries(node)}
    if kind == "array_literal_expression":
        return [literal(child) for child in named(node)]
    if kind == "array_expression":
        values = []
        for statement in named(node):
            for pipeline in named(statement) if statement.type == "statement_list" else [statement]:
                value = literal(pipeline)
                values.extend(value if isinstance(value, list) else [value])
        return values
    raise NotLiteral("not a literal: %s" % text(node)[:80])


def hash_node(node):
    """The hash_literal_expression of ``@{...}`` / ``[Ordered]@{...}`` / ``(...)``, or None."""
    node = _unwrap(node)
    return node if node.type == "hash_literal_expression" else None


def hash_entries(node):
    """``(key, value node)`` pairs of a hash literal, keys as written (case kept)."""
    body = [child for child in named(node) if child.type == "hash_literal_body"]
    entries = []
    for entry in named(body[0]) if body else []:
        if entry.type != "hash_entry":
            continue
        key_node, value = named(entry)[0], named(entry)[-1]
        key_kids = named(key_node)
        if key_kids and key_kids[0].type == "simple_name":
            key = text(key_kids[0])
        else:
            key = string_value(key_node)
        entries.append((key, value))
    return entries


def assignments(root, variable):
    """Value nodes assigned to ``variable`` (``$name = value``), in source order."""
    found = []
    for node in walk(root):
        if node.type != "assignment_expression":
            continue
        left = _unwrap(node.child_by_field_name("left") or named(node)[0])
        if left.type == "variable" and text(left).lower() == variable.lower():
            found.append(named(node)[-1])
    return found


def module_spec(source):
    """The ``$spec`` hashtable of an Ansible.Basic module as Python data."""
    tree = parse(source)
    values = assignments(tree.root_node, "$spec")
    if len(values) != 1:
        raise ContractError("expected one `$spec = @{...}` assignment, found %d" % len(values))
    return literal(values[0])


# --------------------------------------------------------------------------- collector contract

@dataclasses.dataclass(frozen=True)
class Contract:
    top_level: frozenset
    platform: frozenset
    sections: dict  # section -> frozenset of item keys (list sections, skipped and errors)


def _command_arguments(command):
    """``{'-name': value node}`` of a command's named parameters."""
    arguments = {}
    elements = [child for child in named(command) if child.type == "command_elements"]
    pending = None
    for child in named(elements[0]) if elements else []:
        if child.type == "command_argument_sep":
            continue
        if child.type == "command_parameter":
            pending = text(child).lower()
            arguments[pending] = None
        elif pending is not None:
            arguments[pending] = child
            pending = None
    return arguments


def _enclosing(node, kind):
    while node is not None and node.type != kind:
        node = node.parent
    return node


def _validate_set(function, variable):
    """The strings of ``[ValidateSet(...)]`` on parameter ``variable`` of ``function``."""
    for parameter in walk(function):
        if parameter.type != "script_parameter":
            continue
        names = [child for child in named(parameter) if child.type == "variable"]
        if not names or text(names[0]).lower() != variable.lower():
            continue
        for attribute in walk(parameter):
            if attribute.type != "attribute":
                continue
            attribute_name = [child for child in named(attribute) if child.type == "attribute_name"]
            if attribute_name and text(attribute_name[0]).lower() == "validateset":
                arguments = [child for child in named(attribute) if child.type == "attribute_arguments"]
                return [string_value(argument) for argument in named(arguments[0])]
    return None


def _sections_of(value, command, where):
    node = _unwrap(value)
    if node.type == "string_literal":
        return [string_value(node)]
    if node.type == "variable":
        function = _enclosing(command, "function_statement")
        allowed = _validate_set(function, text(node)) if function is not None else None
        if allowed:
            return allowed
    raise ContractError(
        "%s: -Section must be a string or a parameter with [ValidateSet(...)], got %s"
        % (where, text(value)))


def collector_contract(path=COLLECTOR, source=None):
    """What the collector emits, read from its source (see the module docstring)."""
    if source is None:
        source = pathlib.Path(path).read_bytes()
    tree = parse(source)
    root = tree.root_node
    sections = {}

    def add(section, keys, where):
        known = sections.setdefault(section, set())
        if known and known != set(keys):
            raise ContractError(
                "%s: items of %r differ between call sites: %s vs %s"
                % (where, section, sorted(known), sorted(keys)))
        known.update(keys)

    for node in walk(root):
        where = "%s:%d" % (pathlib.Path(path).name, node.start_point[0] + 1)
        if node.type == "command":
            name = named(node)[0]
            if text(name).lower() != ITEM_FUNCTION:
                continue
            arguments = _command_arguments(node)
            if arguments.get("-section") is None or arguments.get("-item") is None:
                raise ContractError("%s: Add-DivestItem needs -Section and -Item" % where)
            item = hash_node(arguments["-item"])
            if item is None:
                raise ContractError(
                    "%s: -Item must be a literal [Ordered]@{...}, got %s"
                    % (where, text(arguments["-item"])[:60]))
            keys = [key for key, _value in hash_entries(item)]
            for section in _sections_of(arguments["-section"], node, where):
                add(section, keys, where)
        elif node.type == "invokation_expression":
            kids = named(node)
            if len(kids) < 3 or kids[0].type != "member_access" or text(kids[1]).lower() != "add":
                continue
            target = named(kids[0])
            if not target or text(target[0]).lower() != INVENTORY_VARIABLE:
                continue
            section = text(target[-1])
            arguments = [child for child in walk(kids[-1]) if child.type == "argument_expression"]
            item = hash_node(arguments[0]) if arguments else None
            if item is None:
                raise ContractError("%s: $inventory.%s.Add() needs a literal [Ordered]@{...}"
                                    % (where, section))
            add(section, [key for key, _value in hash_entries(item)], where)

    values = assignments(root, INVENTORY_VARIABLE)
    if len(values) != 1 or hash_node(values[0]) is None:
        raise ContractError("expected one `$inventory = [Ordered]@{...}` assignment")
    top = dict(hash_entries(hash_node(values[0])))
    platform = hash_node(top["platform"]) if "platform" in top else None
    if platform is None:
        raise ContractError("$inventory.platform must be a literal [Ordered]@{...}")
    return Contract(
        top_level=frozenset(top),
        platform=frozenset(key for key, _value in hash_entries(platform)),
        sections={section: frozenset(keys) for section, keys in sections.items()},
    )


# --------------------------------------------------------------------------- documented contract

def _strip_parentheses(cell):
    previous = None
    while previous != cell:
        previous = cell
        cell = re.sub(r"\([^()]*\)", "", cell)
    return cell


def _names(cell):
    """Backticked names of a table cell, leaving out what parentheses say about them."""
    cell = _strip_parentheses(cell)
    names = []
    for token in re.findall(r"`([^`]+)`", cell):
        if token.startswith("{") and token.endswith("}"):
            names.extend(part.strip() for part in token[1:-1].split(","))
        else:
            names.append(token)
    return names


def _table(markdown, heading):
    """Rows (lists of cells) of the first table after ``heading``."""
    lines = markdown.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        raise ContractError("%s: heading %r not found" % (RAW_INVENTORY_DOC.name, heading))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            continue
        rows.append(cells)
    return rows[1:]  # without the header row


def documented_windows_contract(path=RAW_INVENTORY_DOC):
    """The Windows contract as docs/raw-inventory.md states it."""
    markdown = pathlib.Path(path).read_text(encoding="utf-8")
    linux = {_names(row[0])[0]: _names(row[1]) for row in _table(markdown, "## Linux sections")}
    sections = {}
    for row in _table(markdown, "## Windows sections"):
        section = _names(row[0])[0]
        keys = _names(row[1])
        if "as on linux" in row[-1].lower():
            keys = keys + [key for key in linux.get(section, []) if key not in keys]
        sections[section] = frozenset(keys)
    top_level = set(sections)
    platform = set()
    for row in _table(markdown, "## Common top-level keys"):
        key = _names(row[0])[0]
        if "linux only" in row[-1].lower():
            continue
        top_level.add(key)
        if key == "platform":
            platform.update(_names(row[-1]))
        elif key in ("skipped", "errors"):
            sections[key] = frozenset(_names(row[-1]))
    return Contract(top_level=frozenset(top_level), platform=frozenset(platform),
                    sections=sections)
