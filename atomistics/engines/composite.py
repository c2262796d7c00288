"""A composite protocol: relax with one engine, then the single point with another.

``calculation.relax_engine: xtb`` in a CP2K study (or ``atomistics run --relax-engine
xtb``) relaxes every geometry with the cheap engine and computes the energy with CP2K
on that geometry: "PBE-D3 // GFN1-xTB" in the usual method//geometry notation (e.g.
Bursch, Mewes, Hansen & Grimme, Angew. Chem. Int. Ed. 61, e202205735 (2022),
on such composite protocols).
It is what a user without a week of cluster time can afford.

:class:`CompositeEngine` follows the :class:`~atomistics.engines.base.Engine` interface,
so ``atomistics run`` and the FireWorks tasks use it unchanged:

* the relax stage is the relax engine's own calculation: same settings, same labels and
  the same content hash as in a study run with that engine alone, so an xtb study's
  stored relaxations are reused, not recomputed;
* every other stage (single point, counterpoise, solvated single points) is the main
  engine's, and its hashed settings carry ``geometry_from`` (engine, method and version
  of the relaxation), so a CP2K energy on a GFN1-xTB geometry never shares a hash or a
  protocol label with one on a CP2K geometry: its protocol reads ``paper//GFN1-xTB``.

Each calculation folder holds ``composite_stage.json`` naming the engine that wrote
it, so ``execute`` and ``read_result`` (called without the stage) go to the right one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ase import Atoms

from atomistics.engines.base import Engine, EngineResult

STAGE_FILE = "composite_stage.json"
#: The key of the main engine's hashed settings that records the geometry's origin.
GEOMETRY_KEY = "geometry_from"


class CompositeEngine:
    """``relax`` by ``relax_engine``, every other stage by ``main`` (module docstring)."""

    def __init__(self, main: Engine, relax_engine: Engine) -> None:
        self.main = main
        self.relax_engine = relax_engine
        self.name = main.name  # the energies are the main engine's

    @property
    def protocol(self) -> str:
        """``<main protocol>//<relax protocol>``, e.g. ``paper//GFN1-xTB``."""
        main = str(getattr(self.main, "protocol", self.main.name))
        return f"{main}//{getattr(self.relax_engine, 'protocol', self.relax_engine.name)}"

    def stage_engine(self, stage: str) -> Engine:
        return self.relax_engine if stage == "relax" else self.main

    def labels(self, stage: str) -> tuple[str, str, str]:
        """(engine name, version, protocol) recorded for a calculation of ``stage``."""
        if stage == "relax":
            eng = self.relax_engine
            return eng.name, eng.version(), str(getattr(eng, "protocol", eng.name))
        return self.main.name, self.main.version(), self.protocol

    def version(self) -> str:
        return self.main.version()

    def variant(self, *args: Any, **kwargs: Any) -> CompositeEngine:
        """The main engine's variant (e.g. a Γ-point or solvated single point) with the same
        relax engine, so that a variant's single points keep the composite's label
        (``paper//GFN1-xTB``) and record where their geometry came from."""
        return CompositeEngine(self.main.variant(*args, **kwargs), self.relax_engine)

    def geometry_from(self) -> dict[str, str]:
        eng = self.relax_engine
        return {
            "engine": eng.name,
            "protocol": str(getattr(eng, "protocol", eng.name)),
            "version": eng.version(),
        }

    def settings(self, atoms: Atoms, stage: str) -> dict[str, Any]:
        if stage == "relax":
            return self.relax_engine.settings(atoms, stage)
        return {**self.main.settings(atoms, stage), GEOMETRY_KEY: self.geometry_from()}

    def write_inputs(
        self, directory: Path, atoms: Atoms, stage: str, settings: dict[str, Any]
    ) -> dict[str, Any]:
        own = {k: v for k, v in settings.items() if k != GEOMETRY_KEY}
        meta = self.stage_engine(stage).write_inputs(directory, atoms, stage, own)
        (Path(directory) / STAGE_FILE).write_text(
            json.dumps({"stage": stage, "engine": self.stage_engine(stage).name})
        )
        return meta

    def _engine_of(self, directory: Path) -> Engine:
        stage = json.loads((Path(directory) / STAGE_FILE).read_text())["stage"]
        return self.stage_engine(stage)

    def execute(self, directory: Path) -> None:
        self._engine_of(directory).execute(directory)

    def read_result(self, directory: Path) -> EngineResult:
        return self._engine_of(directory).read_result(directory)

    def __getattr__(self, name: str) -> Any:
        # machine and physics attributes the runner reads (command, overrides, data_dir,
        # ...) are the main engine's; never reached for the attributes defined above
        if name in ("main", "relax_engine"):
            raise AttributeError(name)
        return getattr(self.main, name)
