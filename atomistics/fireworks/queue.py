"""Each CP2K Firework's queue request (memory, wall time) from the job's resource estimate.

A FireWorks queue adapter (``my_qadapter.yaml``) asks every job for the same memory and wall
time. ``atomistics submit --qadapter my_qadapter.yaml`` instead puts, into each CP2K
Firework's ``spec._queueadapter``, the memory and wall time that job needs
(:func:`atomistics.cp2k.resources.estimate_resources`), never less than the adapter file asks
for. FireWorks applies ``spec._queueadapter`` in reservation mode only (``qlaunch -r``:
``fireworks/queue/queue_launcher.py``, the Firework is reserved before its job script is
written); without ``-r`` every job gets the adapter file's values.

Margins: the memory model is good to about ±30 % (its module docstring), the wall time to a
factor ~3, so the request is 1.3 × the memory estimate (capped at the node memory when one is
declared) and 3 × the wall-time estimate, rounded up to whole GiB and 5 minutes.

A job whose estimate itself exceeds a declared node memory (``--node-memory``, the adapter's
``node_memory`` key, or ``calculation.overrides.node_memory``) is refused at submission
(:func:`atomistics.cp2k.resources.check_fits`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from atomistics.cp2k.resources import MEMORY_STATED_ERROR, TIME_STATED_FACTOR  # noqa: E402
from atomistics.errors import AtomisticsError

# the memory model's stated error plus 20 % for systems beyond its calibration
MEMORY_MARGIN = 1.0 + MEMORY_STATED_ERROR + 0.2
WALLTIME_MARGIN = TIME_STATED_FACTOR  # the wall-time model's stated factor
WALLTIME_STEP_S = 300  # round requests up to 5 minutes
GIB = 2**30 / 1e9  # GB per GiB (SLURM's G and PBS's gb are binary)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_SCALE_GIB = {"": None, "k": 2**-20, "m": 2**-10, "g": 1.0, "t": 2**10}


@dataclass
class QueueRequest:
    """What the user's queue adapter asks of every job, and what one node has."""

    q_type: str = "SLURM"  # FireWorks' _fw_q_type: the syntax of the memory request
    ranks: int = 1  # MPI ranks of one job (all nodes)
    nodes: int = 1
    walltime_s: float | None = None  # the adapter's walltime
    mem_gb: float | None = None  # the adapter's memory request per node
    node_memory_gb: float | None = None  # memory of one node (refuse jobs above it)
    from_file: bool = False  # False: no adapter file, only the estimate and the node check


def parse_walltime(value, name: str = "walltime") -> float:
    """Seconds from a SLURM/PBS wall time: ``"24:00:00"``, ``"1-12:00:00"``, ``"90"`` (minutes)."""
    text = str(value).strip()
    days, _, rest = text.rpartition("-") if "-" in text else ("", "", text)
    parts = rest.split(":")
    try:
        numbers = [float(p) for p in parts]
        d = float(days) if days else 0.0
    except ValueError:
        numbers, d = [], 0.0
    if not numbers or len(numbers) > 3 or any(not math.isfinite(x) or x < 0 for x in numbers):
        raise AtomisticsError(f"{name} {text!r} is not a wall time: give e.g. '24:00:00'.")
    if len(numbers) == 1 and not days:  # SLURM: a bare number is minutes
        seconds = numbers[0] * 60
    else:
        if days and len(numbers) == 1:  # "days-hours"
            numbers = [numbers[0], 0, 0]
        seconds = sum(x * 60**i for i, x in enumerate(reversed(numbers)))
    seconds += d * 86400
    if seconds <= 0:
        raise AtomisticsError(f"{name} {text!r} must be positive, e.g. '24:00:00'.")
    return seconds


def parse_queue_memory(value, q_type: str, name: str = "mem") -> float:
    """GB from a queue memory request: ``"24G"`` (SLURM), ``"96gb"`` (PBS), ``"4000M"``.

    A bare number is MB for SLURM (its default unit) and bytes for PBS.
    """
    match = _SIZE.match(str(value))
    if match is None:
        raise AtomisticsError(f"{name} {value!r} is not a memory request: give e.g. '24G'.")
    number, prefix = float(match.group(1)), match.group(2).lower()
    scale = _SCALE_GIB[prefix]
    if scale is None:
        scale = 2**-10 if q_type.upper() == "SLURM" else 2**-30
    gb = number * scale * GIB
    if gb <= 0:
        raise AtomisticsError(f"{name} {value!r} must be positive, e.g. '24G'.")
    return gb


def format_memory(gb: float, q_type: str) -> str:
    """A memory request in whole GiB, in the scheduler's syntax."""
    gib = max(1, math.ceil(gb / GIB - 1e-9))
    return f"{gib}gb" if q_type.upper() == "PBS" else f"{gib}G"


def format_walltime(seconds: float) -> str:
    """``HH:MM:SS`` (hours may exceed 24: SLURM and PBS both accept it)."""
    total = int(math.ceil(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def read_qadapter(path: str | Path | None, node_memory=None, ranks: int | None = None):
    """The :class:`QueueRequest` of a FireWorks queue adapter file (or of the options alone).

    ``node_memory`` (``--node-memory``) wins over the file's ``node_memory`` key; ``ranks``
    (``calculation.overrides.mpi_ranks``) is used when the file gives no ``mpi_ranks``.
    """
    from atomistics.cp2k.resources import parse_memory

    spec: dict = {}
    if path is not None:
        import yaml

        from atomistics.yamlsafe import check_yaml, read_yaml_text

        text = read_yaml_text(path, "queue adapter")
        check_yaml(text, str(path))
        spec = yaml.safe_load(text)
        if not isinstance(spec, dict):
            raise AtomisticsError(
                f"queue adapter {path} is not a mapping: give a FireWorks my_qadapter.yaml."
            )
    q_type = str(spec.get("_fw_q_type") or "SLURM")
    if q_type.upper() not in ("SLURM", "PBS"):
        raise AtomisticsError(
            f"queue adapter {path}: _fw_q_type {q_type!r} is not supported for the resource "
            "request: use SLURM or PBS (workflows/fireworks/my_qadapter_*.yaml)."
        )
    given_ranks = spec.get("mpi_ranks") or ranks or 1
    nodes = spec.get("nodes") or 1
    for key, value in (("mpi_ranks", given_ranks), ("nodes", nodes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise AtomisticsError(f"queue adapter {path}: {key} {value!r} must be an integer ≥ 1.")
    declared = node_memory if node_memory is not None else spec.get("node_memory")
    return QueueRequest(
        q_type=q_type.upper(),
        ranks=given_ranks,
        nodes=nodes,
        walltime_s=parse_walltime(spec["walltime"]) if spec.get("walltime") else None,
        mem_gb=parse_queue_memory(spec["mem"], q_type) if spec.get("mem") else None,
        node_memory_gb=parse_memory(declared, "node memory") if declared is not None else None,
        from_file=path is not None,
    )


def node_memory_gb(estimate, queue: QueueRequest) -> float:
    """The estimate's memory on one node (ranks spread evenly over the nodes)."""
    per_node_ranks = math.ceil(estimate.ranks / max(1, queue.nodes))
    return estimate.memory_per_rank_gb * per_node_ranks


def queue_request(estimate, queue: QueueRequest, name: str = "job") -> dict:
    """``spec._queueadapter`` of one CP2K Firework: memory and wall time, never below the
    adapter's own request; refuses a job that cannot fit a declared node memory."""
    from atomistics.cp2k.resources import check_fits

    if queue.node_memory_gb is not None:
        if queue.nodes > 1:  # check what one node holds
            per_node = node_memory_gb(estimate, queue)
            if per_node > queue.node_memory_gb:
                raise AtomisticsError(
                    f"{name}: needs about {per_node:.1f} GB per node ({estimate.summary()}) but "
                    f"a node has {queue.node_memory_gb:g} GB: use fewer ranks per node, lower "
                    "'cutoff', or run on nodes with more memory."
                )
        else:
            check_fits(estimate, queue.node_memory_gb, name)
    if not queue.from_file:
        return {}
    mem = node_memory_gb(estimate, queue) * MEMORY_MARGIN
    if queue.node_memory_gb is not None and mem > queue.node_memory_gb:
        # the margin may not ask for more than the node has: whole GiB below it
        mem = max(math.floor(queue.node_memory_gb / GIB), 1) * GIB
    mem = max(mem, queue.mem_gb or 0.0)
    wall = math.ceil(estimate.wall_time_s * WALLTIME_MARGIN / WALLTIME_STEP_S) * WALLTIME_STEP_S
    wall = max(wall, queue.walltime_s or 0.0)
    return {"mem": format_memory(mem, queue.q_type), "walltime": format_walltime(wall)}


__all__ = [
    "QueueRequest",
    "format_memory",
    "format_walltime",
    "parse_queue_memory",
    "parse_walltime",
    "queue_request",
    "read_qadapter",
]
