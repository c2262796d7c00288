"""Calculation plan, content hash, the prepare/execute/parse/store steps and the study runner."""

from atomistics.execution.hashing import calculation_hash, structure_fingerprint
from atomistics.execution.runner import StudyRun, run_calculation, run_study, study_lock
from atomistics.execution.steps import (
    CalcResult,
    Calculation,
    execute,
    parse,
    plan_calculation,
    prepare,
    store,
)

__all__ = [
    "CalcResult",
    "Calculation",
    "StudyRun",
    "calculation_hash",
    "execute",
    "parse",
    "plan_calculation",
    "prepare",
    "run_calculation",
    "run_study",
    "store",
    "structure_fingerprint",
    "study_lock",
]
