"""Reading YAML the user gives us, with bounded work and no silent surprises.

PyYAML's ``safe_load`` is safe against code execution but not against:

- a huge file, or a small one whose aliases expand into millions of nodes
  (the "billion laughs" pattern: each alias is a reference, but the pydantic
  validation that follows walks the expanded tree: 3 GB before it stops);
- a recursive alias (``a: &a [*a]``), which builds a cyclic object;
- a duplicate mapping key, where the last one silently wins;
- bytes that are not UTF-8 text.

:func:`read_yaml_text` and :func:`check_yaml` refuse each of these with one
line naming the problem and the fix, before any Python object is built. The
ceilings are in :mod:`atomistics.limits` (1 MiB, 100 000 expanded nodes).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from atomistics.errors import StudySpecError
from atomistics.limits import max_yaml_bytes, max_yaml_nodes


def read_yaml_text(path: str | Path, what: str = "study file") -> str:
    """The text of a YAML file: size-limited, UTF-8 (a BOM is accepted), not binary."""
    path = Path(path)
    if not path.is_file():
        raise StudySpecError(f"{what} {path} does not exist.")
    size = path.stat().st_size
    limit = max_yaml_bytes()
    if size > limit:
        raise StudySpecError(
            f"{path}: {size} bytes is larger than the {limit}-byte ceiling for a {what}: check "
            "that this is the right file (override with ATOMISTICS_MAX_YAML_BYTES=N)."
        )
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise StudySpecError(f"{path}: binary data, not a YAML text file: give the {what}.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StudySpecError(
            f"{path}: not UTF-8 text (byte {exc.start}): save the {what} as UTF-8."
        ) from None


def check_yaml(text: str, source: str = "<yaml>") -> None:
    """Refuse oversized text, alias bombs, recursive aliases and duplicate keys.

    Works on the composed node graph (aliases are shared nodes there, nothing is
    expanded), counting the nodes the document would have once every alias is
    expanded, with memoisation, so the check itself is linear in the file.
    """
    limit = max_yaml_bytes()
    if len(text.encode("utf-8", "replace")) > limit:
        raise StudySpecError(
            f"{source}: more than {limit} bytes of YAML: check that this is the right file "
            "(override with ATOMISTICS_MAX_YAML_BYTES=N)."
        )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()
        raise StudySpecError(
            f"{source}: not valid YAML ({' '.join(line.strip() for line in first[:3])}): fix "
            "the syntax or give the right file."
        ) from None
    except RecursionError:
        raise StudySpecError(
            f"{source}: the YAML is nested too deeply to be a study file: give the right file."
        ) from None
    if root is None:
        return
    node_limit = max_yaml_nodes()
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def expanded(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise StudySpecError(
                f"{source} line {node.start_mark.line + 1}: a YAML alias refers to the node that "
                "contains it (recursive alias): write the values out instead."
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    ident = (k.tag, k.value)
                    if ident in seen:
                        raise StudySpecError(
                            f"{source} line {k.start_mark.line + 1}: duplicate key {k.value!r} "
                            f"(first on line {seen[ident]}); YAML would silently keep the last "
                            "one: remove or rename one of them."
                        )
                    seen[ident] = k.start_mark.line + 1
                total += expanded(k) + expanded(v)
                if total > node_limit:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += expanded(item)
                if total > node_limit:
                    break
        active.discard(key)
        sizes[key] = total
        if total > node_limit:
            raise StudySpecError(
                f"{source}: the YAML expands (aliases included) to more than {node_limit} nodes, "
                "far more than a study file needs (an alias bomb?): write the values out "
                "(override with ATOMISTICS_MAX_YAML_NODES=N)."
            )
        return total

    try:
        expanded(root)
    except RecursionError:
        raise StudySpecError(
            f"{source}: the YAML is nested too deeply to be a study file: give the right file."
        ) from None


__all__ = ["check_yaml", "read_yaml_text"]
