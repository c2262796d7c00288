"""User-facing errors.

Every problem a user can fix (bad parameter, bad study file, missing CP2K data
file, ...) is raised as :class:`AtomisticsError` with a message that names the
problem and the fix. The CLI prints these to stderr and exits with code 2;
anything else is a bug and keeps its traceback.
"""


class AtomisticsError(ValueError):
    """A problem with the user's input or environment, with a message saying how to fix it."""


class StructureCheckError(AtomisticsError):
    """A built structure failed a sanity check (overlap, coordination, charge, vacuum...)."""


class StudySpecError(AtomisticsError):
    """The study YAML file is invalid; the message names the key and line."""
