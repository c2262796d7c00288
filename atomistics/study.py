"""Study specification: which systems to build, which binding energies to form.

A study is a YAML file (see ``workflows/limmt_fsi.yaml``) loaded into typed
pydantic models. Errors name the offending key and its line in the file.
Sections owned by later stages (``calculation``, ``bridge``) are kept as
mappings here and validated by the modules that use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from ase import Atoms
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from atomistics.errors import StudySpecError
from atomistics.structures import adsorption, clay, molecules


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlabSystem(_Strict):
    """LiMMT(001) slab (see :func:`atomistics.structures.clay.build_limmt_slab`)."""

    kind: Literal["limmt-slab"]
    supercell: tuple[int, int] = (2, 2)
    vacuum: float = Field(clay.DEFAULT_VACUUM, gt=0)
    mg: int | None = Field(None, ge=0)
    seed: int = 0
    li_height: float = Field(clay.DEFAULT_LI_HEIGHT, gt=0, le=3)

    @field_validator("supercell")
    @classmethod
    def _positive(cls, v: tuple[int, int]) -> tuple[int, int]:
        if min(v) < 1:
            raise ValueError("supercell entries must be positive integers, e.g. [2, 2]")
        return v


class MoleculeSystem(_Strict):
    """An ion (FSI-, TFSI-, PF6-, Li+, Na+): isolated, or alone in a slab's periodic cell.

    ``cell_of: <slab system>`` puts the ion alone in that slab's cell with the slab's
    periodicity: the reference for a charged adsorbate. The energy of a charged
    periodic cell depends on the cell (neutralising background and image
    interactions; Makov & Payne, Phys. Rev. B 51, 4014 (1995)), so against an
    isolated ion it does not cancel in E_bind; computed in the complex's cell it
    cancels to leading order. (Measured with GFN2-xTB: FSI⁻ in the 2×2 LiMMT cell,
    8 BFGS steps, lies 0.47 eV below the relaxed isolated FSI⁻.)
    """

    kind: Literal["molecule"]
    species: str
    conformer: str | None = None
    cell_of: str | None = None

    @field_validator("species")
    @classmethod
    def _known(cls, v: str) -> str:
        return molecules.canonical_species(v)


class IonPairSystem(_Strict):
    """Cation–anion contact ion pair (bidentate)."""

    kind: Literal["ion-pair"]
    cation: str = "Li+"
    anion: str = "FSI-"
    conformer: str | None = None

    @field_validator("cation", "anion")
    @classmethod
    def _known(cls, v: str) -> str:
        return molecules.canonical_species(v)


class AdsorbateSystem(_Strict):
    """An ion placed on a slab defined elsewhere in the study."""

    kind: Literal["adsorbate"]
    slab: str
    adsorbate: str
    conformer: str | None = None
    site: Literal["al-oh", "hydroxyl", "cavity", "li"] = "al-oh"
    site_index: int = Field(0, ge=0)
    height: float = Field(adsorption.DEFAULT_HEIGHT, ge=0.5, le=6.0)
    orientation: str = "OO-down"
    azimuth: float = 0.0

    @field_validator("adsorbate")
    @classmethod
    def _known(cls, v: str) -> str:
        return molecules.canonical_species(v)


SystemSpec = Annotated[
    SlabSystem | MoleculeSystem | IonPairSystem | AdsorbateSystem, Field(discriminator="kind")
]


class BindingEnergySpec(_Strict):
    """E_bind = E(complex) − Σ E(fragments); negative means bound."""

    complex: str
    fragments: list[str] = Field(min_length=2)
    paper_value_ev: float | None = None
    counterpoise: bool = False


class CalculationSpec(_Strict):
    protocol: str = "paper"
    overrides: dict[str, Any] = Field(default_factory=dict)


class Study(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    engine: Literal["cp2k", "xtb"] = "xtb"
    calculation: CalculationSpec = CalculationSpec()
    systems: dict[str, SystemSpec] = Field(min_length=1)
    binding_energies: dict[str, BindingEnergySpec] = Field(default_factory=dict)
    bridge: dict[str, Any] | None = None

    @field_validator("systems")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"system name {name!r} must be letters, digits, '_' or '-'")
        return v

    @field_validator("bridge")
    @classmethod
    def _bridge(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        # Validated here so a bad bridge section fails at load time, not after the runs.
        from atomistics.continuum.study_bridge import parse_bridge_spec

        parse_bridge_spec(v)
        return v

    @model_validator(mode="after")
    def _references(self) -> Study:
        for name, spec in self.systems.items():
            if isinstance(spec, AdsorbateSystem):
                target = self.systems.get(spec.slab)
                if not isinstance(target, SlabSystem):
                    raise ValueError(
                        f"systems.{name}.slab = {spec.slab!r} is not a limmt-slab system of "
                        f"this study (slabs: {[k for k, s in self.systems.items() if isinstance(s, SlabSystem)]})"
                    )
            if isinstance(spec, MoleculeSystem) and spec.cell_of is not None:
                if not isinstance(self.systems.get(spec.cell_of), SlabSystem):
                    raise ValueError(
                        f"systems.{name}.cell_of = {spec.cell_of!r} is not a limmt-slab system "
                        "of this study"
                    )
        if self.bridge is not None:
            for role in ("surface_anion", "cation_anion"):
                ref = self.bridge.get(role)
                if ref is not None and ref not in self.binding_energies:
                    raise ValueError(
                        f"bridge.{role} = {ref!r} is not one of the study's binding_energies "
                        f"({list(self.binding_energies)})"
                    )
        for name, spec in self.binding_energies.items():
            for ref in [spec.complex, *spec.fragments]:
                if ref not in self.systems:
                    raise ValueError(
                        f"binding_energies.{name} refers to unknown system {ref!r} "
                        f"(systems: {list(self.systems)})"
                    )
        return self


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records the line of every mapping key, by its key path."""


def _key_lines(text: str) -> dict[tuple, int]:
    lines: dict[tuple, int] = {}
    root = yaml.compose(text, Loader=_LineLoader)

    def walk(node: yaml.Node, path: tuple) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
                lines[sub] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for k, item in enumerate(node.value):
                walk(item, (*path, k))

    if root is not None:
        walk(root, ())
    return lines


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    path = tuple(p for p in loc if not (isinstance(p, str) and p in _DISCRIMINATOR_TAGS))
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


_DISCRIMINATOR_TAGS = {"limmt-slab", "molecule", "ion-pair", "adsorbate"}


def parse_study(text: str, source: str = "<study>") -> Study:
    """Parse and validate study YAML text; errors name the key path and line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StudySpecError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise StudySpecError(
            f"{source}: a study file must be a YAML mapping with 'name' and 'systems'."
        )
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        lines = _key_lines(text)
        messages = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc if p not in _DISCRIMINATOR_TAGS) or "(top level)"
            line = _line_for(loc, lines)
            msg = err["msg"].removeprefix("Value error, ")
            messages.append(f"{source} line {line or '?'}: {key}: {msg}")
        raise StudySpecError("invalid study file:\n  " + "\n  ".join(messages)) from None
    except StudySpecError:
        raise


def load_study(path: str | Path) -> Study:
    """Load a study YAML file (see :func:`parse_study`)."""
    path = Path(path)
    if not path.is_file():
        raise StudySpecError(f"study file {path} does not exist.")
    return parse_study(path.read_text(), str(path))


def build_system(study: Study, name: str, _cache: dict[str, Atoms] | None = None) -> Atoms:
    """Build one system of a study; adsorbate systems reuse their slab."""
    cache = {} if _cache is None else _cache
    if name in cache:
        return cache[name].copy()
    if name not in study.systems:
        raise StudySpecError(f"study {study.name!r} has no system {name!r}: {list(study.systems)}.")
    spec = study.systems[name]
    if isinstance(spec, SlabSystem):
        atoms = clay.build_limmt_slab(
            spec.supercell, spec.vacuum, spec.mg, spec.seed, spec.li_height
        )
    elif isinstance(spec, MoleculeSystem):
        atoms = molecules.build_molecule(spec.species, spec.conformer)
        if spec.cell_of is not None:
            slab = build_system(study, spec.cell_of, cache)
            atoms.set_cell(slab.cell)
            atoms.pbc = slab.pbc
            atoms.center()
            # relaxed like the adsorbate it is the reference for
            atoms.arrays["adsorbate"] = np.ones(len(atoms), dtype=bool)
            atoms.info["cell_of"] = spec.cell_of
    elif isinstance(spec, IonPairSystem):
        atoms = molecules.build_ion_pair(spec.cation, spec.anion, spec.conformer)
    else:
        slab = build_system(study, spec.slab, cache)
        mol = molecules.build_molecule(spec.adsorbate, spec.conformer)
        atoms = adsorption.place_adsorbate(
            slab, mol, spec.site, spec.site_index, spec.height, spec.orientation, spec.azimuth
        )
    atoms.info["name"] = name
    atoms.info["study"] = study.name
    cache[name] = atoms
    return atoms.copy()


def build_study_structures(study: Study) -> dict[str, Atoms]:
    """Every system of the study, in file order."""
    cache: dict[str, Atoms] = {}
    return {name: build_system(study, name, cache) for name in study.systems}
