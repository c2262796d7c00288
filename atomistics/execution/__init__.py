"""One calculation: plan (settings + content hash) → prepare → execute → parse → result record.

No database and no study logic here (those are one layer up, in
:mod:`atomistics.db`, :mod:`atomistics.reactions` and :mod:`atomistics.runner`).
"""

from atomistics.execution.hashing import calculation_hash, structure_fingerprint
from atomistics.execution.record import CalcResult, geometry_meta, why_unconverged
from atomistics.execution.steps import (
    Calculation,
    execute,
    is_complete,
    parse,
    plan_calculation,
    prepare,
    stage_input,
)

__all__ = [
    "CalcResult",
    "Calculation",
    "calculation_hash",
    "execute",
    "geometry_meta",
    "is_complete",
    "parse",
    "plan_calculation",
    "prepare",
    "stage_input",
    "structure_fingerprint",
    "why_unconverged",
]
