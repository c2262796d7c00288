"""Our custodian error handlers for CP2K: the gaps custodian's own handlers leave.

Measured on CP2K 2023.1 + custodian 2026.10:

* :class:`custodian.cp2k.handlers.UnconvergedScfErrorHandler` looks at one SCF of a
  GEO_OPT only, ``scf_converged[0]``; pymatgen reads the output in reverse, so that is the
  *last* SCF (tested on a real output), and a failed SCF in an earlier step goes unseen →
  :class:`AnyScfUnconvergedHandler` checks every SCF loop and reuses custodian's
  corrections (DIIS → CG → 3PNT line search → more SCF steps ...).
* ``AbortHandler`` matches only Cholesky failures and ``StdErrHandler`` only signals and
  out-of-memory, so an input-parsing abort or "OT not possible with kpoint" is caught only
  by the final validator → :class:`Cp2kAbortHandler` stops at any ``[ABORT]`` with CP2K's
  own message (not correctable: the input must be fixed).
* a GEO_OPT stopped by CP2K's WALLTIME is flagged as unconverged by neither the relaxation
  handler nor pymatgen's parser → :class:`GeoOptWalltimeHandler` restarts it from CP2K's
  restart file (custodian's ``restart`` helper).

All follow custodian's ``check(directory) -> bool`` / ``correct(directory) -> dict`` style.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from custodian.cp2k.handlers import UnconvergedScfErrorHandler
from custodian.custodian import ErrorHandler

from atomistics.parse.cp2k import WALLTIME_TEXT


def _tail(path: Path, n_bytes: int = 200_000) -> str:
    if not path.is_file():
        return ""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - n_bytes))
        return fh.read().decode(errors="replace")


class AnyScfUnconvergedHandler(UnconvergedScfErrorHandler):
    """Like custodian's SCF handler, but fires when *any* SCF loop did not converge."""

    def check(self, directory="./"):
        super().check(directory)  # sets is_ot / restart used by correct()
        from pymatgen.io.cp2k.outputs import Cp2kOutput

        out = Cp2kOutput(os.path.join(directory, self.output_file), auto_load=False, verbose=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pymatgen's "unconverged SCF" notice
            out.convergence()
        return not all(out.data.get("scf_converged") or [True])


_ABORT_BLOCK = re.compile(r"\[ABORT\](.*?)(?:\n \*{10,}|\Z)", re.S)


class Cp2kAbortHandler(ErrorHandler):
    """Any CP2K ``[ABORT]`` (input errors, OT with k-points, ...): stop with CP2K's message."""

    is_monitor = True
    is_terminating = True
    raises_runtime_error = True

    def __init__(self, output_file: str = "cp2k.out") -> None:
        self.output_file = output_file
        self.message = ""

    def check(self, directory="./") -> bool:
        text = _tail(Path(directory) / self.output_file)
        m = _ABORT_BLOCK.search(text)
        if not m:
            return False
        # drop CP2K's ASCII-art banner characters around the message
        text = re.sub(r"[*\\/|]+|(?<!\w)_+|_+(?!\w)|(?<=\s)O(?=\s)|\bO(?=/)", " ", m.group(1))
        self.message = " ".join(text.split())
        return True

    def correct(self, directory="./"):
        return {"errors": [f"CP2K aborted: {self.message}"], "actions": None}


class GeoOptWalltimeHandler(ErrorHandler):
    """A GEO_OPT stopped by CP2K's WALLTIME is an unconverged relaxation: restart it."""

    is_monitor = False
    is_terminating = True

    def __init__(
        self, input_file: str = "cp2k.inp", output_file: str = "cp2k.out", max_restarts: int = 3
    ):
        self.input_file = input_file
        self.output_file = output_file
        self.max_restarts = max_restarts
        self.n_restarts = 0

    def check(self, directory="./") -> bool:
        text = _tail(Path(directory) / self.output_file)
        return (
            WALLTIME_TEXT in text
            and "GEOMETRY OPTIMIZATION COMPLETED" not in text
            and "GEO_OPT" in (Path(directory) / self.input_file).read_text().upper()
        )

    def correct(self, directory="./"):
        if self.n_restarts >= self.max_restarts:
            return {"errors": ["GEO_OPT stopped at WALLTIME too often"], "actions": None}
        from custodian.cp2k.interpreter import Cp2kModder
        from custodian.cp2k.utils import restart
        from pymatgen.io.cp2k.inputs import Cp2kInput

        self.n_restarts += 1
        actions: list = []
        out = os.path.join(directory, self.output_file)
        inp = os.path.join(directory, self.input_file)
        restart(actions, out, inp, no_actions_needed=True)
        if actions:
            ci = Cp2kInput.from_file(inp)
            Cp2kModder(ci=ci, filename=self.input_file, directory=directory).apply_actions(actions)
        return {
            "errors": ["GEO_OPT stopped at WALLTIME (relaxation not converged)"],
            "actions": actions,
        }
