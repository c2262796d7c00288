"""Study specification: which systems to build, which reactions (binding energies) to form.

A study is a YAML file (see ``workflows/limmt_fsi.yaml``) loaded into typed
pydantic models. Errors name the offending key and its line in the file.
Sections owned by later stages (``calculation``, ``bridge``) are kept as
mappings here and validated by the modules that use them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from ase import Atoms
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from atomistics.charged_cell import VACUUM_SERIES_MIN_POINTS, distinct_heights
from atomistics.errors import StudySpecError
from atomistics.limits import check_atom_count
from atomistics.structures import adsorption, clay, molecules
from atomistics.yamlsafe import check_yaml, read_yaml_text


class _Strict(BaseModel):
    # allow_inf_nan=False: a '.nan' or '.inf' in the study file is refused with its key and line
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SlabSystem(_Strict):
    """LiMMT(001) slab (see :func:`atomistics.structures.clay.build_limmt_slab`)."""

    kind: Literal["limmt-slab"]
    supercell: tuple[int, int] = (2, 2)
    vacuum: float = Field(clay.DEFAULT_VACUUM, gt=0)
    mg: int | None = Field(None, ge=0)
    seed: int = Field(0, ge=0)
    li_height: float = Field(clay.DEFAULT_LI_HEIGHT, gt=0, le=3)

    @field_validator("supercell")
    @classmethod
    def _positive(cls, v: tuple[int, int]) -> tuple[int, int]:
        if min(v) < 1:
            raise ValueError("supercell entries must be positive integers, e.g. [2, 2]")
        # the atom ceiling (atomistics.limits), checked from the counts before building
        check_atom_count(clay.ATOMS_PER_CELL * v[0] * v[1], f"a {v[0]}x{v[1]} LiMMT slab")
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
    #: the anion's counter-ion (e.g. Li+) at the best nearby free surface position: the
    #: neutral product of the exchange reaction slab + [Li⁺–FSI⁻] → slab·(FSI⁻ + Li⁺)
    counter_ion: str | None = None
    counter_ion_rank: int = Field(0, ge=0)
    #: Å clear above the topmost atom (the adsorbate): the complex gets its own cell;
    #: None keeps the slab's cell (its clear vacuum then counts from the slab's top)
    vacuum: float | None = Field(None, gt=0)
    #: a screened geometry (``atomistics screen`` → best.extxyz), relative to the study
    #: file: its adsorbate and counter-ion positions replace site/height/orientation/azimuth
    #: (:func:`atomistics.structures.start_from.apply_start_from`)
    start_from: str | None = Field(None, min_length=1)

    @field_validator("counter_ion")
    @classmethod
    def _cation(cls, v: str | None) -> str | None:
        return None if v is None else molecules.canonical_species(v)

    @field_validator("adsorbate")
    @classmethod
    def _known(cls, v: str) -> str:
        return molecules.canonical_species(v)


class InCellSystem(_Strict):
    """System ``system`` placed in the cell of the complex ``cell_of`` (a reaction's reference).

    A slab goes where its atoms are in the complex (:func:`atomistics.structures.exchange.
    slab_in_cell`); a molecule or ion pair is centred in the cell and relaxed like an
    adsorbate (:func:`~atomistics.structures.exchange.molecule_in_cell`). All energies of
    a reaction are then taken in one cell.
    """

    kind: Literal["in-cell"]
    system: str
    cell_of: str


SystemSpec = Annotated[
    SlabSystem | MoleculeSystem | IonPairSystem | AdsorbateSystem | InCellSystem,
    Field(discriminator="kind"),
]


#: Å, smallest clear vacuum of a vacuum series (the density must decay in the vacuum)
VACUUM_SERIES_MIN_HEIGHT = 5.0


def _vacuum_series(v: list[float] | None) -> list[float] | None:
    """≥ 3 distinct clear-vacuum heights (Å), each ≥ VACUUM_SERIES_MIN_HEIGHT, sorted."""
    if v is None:
        return None
    bad = [h for h in v if not h >= VACUUM_SERIES_MIN_HEIGHT or h > clay.MAX_VACUUM]
    if bad:
        raise ValueError(
            f"heights {bad} Å: each clear vacuum must lie between {VACUUM_SERIES_MIN_HEIGHT:g} "
            f"and {clay.MAX_VACUUM:g} Å, e.g. [15, 20, 25]"
        )
    if distinct_heights(v) < VACUUM_SERIES_MIN_POINTS:
        raise ValueError(
            f"{v}: the fit a + bL + c/L needs at least 3 different heights (Å), e.g. [15, 20, 25]"
        )
    return sorted(v)


class BindingEnergySpec(_Strict):
    """E_bind = E(complex) − Σ E(fragments); negative means bound.

    ``vacuum_series``: clear vacua (Å) above the complex's topmost atom; for a charged
    slab complex the binding energy is also extrapolated from single points at each
    height, E(L) = a + bL + c/L (:mod:`atomistics.reactions.vacuum_series`).
    """

    complex: str
    fragments: list[str] = Field(min_length=2)
    paper_value_ev: float | None = None
    counterpoise: bool = False
    vacuum_series: list[float] | None = None

    check_vacuum_series = field_validator("vacuum_series")(_vacuum_series)


#: Range of a stoichiometric coefficient ν: a formula unit's multiple or simple fraction
#: (½, ⅓, ¼, …). Outside it ΔE is an overflow (ν E beyond a double: NaN), a rounding of
#: 300 digits or a −0.000 from ν ≈ 1e-320: a typo, not a reaction.
MIN_COEFFICIENT = 0.01
MAX_COEFFICIENT = 100.0


def _coefficient(name: str, nu: Any) -> float:
    """One stoichiometric coefficient: a number (not a YAML yes/true) in the allowed range."""
    fix = (
        f"give a positive number from {MIN_COEFFICIENT:g} to {MAX_COEFFICIENT:g}, e.g. 1, 2 or 0.5"
    )
    if isinstance(nu, bool):
        raise _NestedValueError(
            (name,), f"{nu!r} is a YAML boolean (yes/no/true/false), not a coefficient: {fix}"
        )
    if not isinstance(nu, int | float):
        raise _NestedValueError((name,), f"{nu!r} is not a number: {fix}")
    if not (MIN_COEFFICIENT <= nu <= MAX_COEFFICIENT):  # NaN fails too
        raise _NestedValueError(
            (name,), f"stoichiometric coefficient {nu!r} is out of range: {fix}"
        )
    return float(nu)


def signed_coefficients(
    reactants: dict[str, float], products: dict[str, float]
) -> dict[str, float]:
    """ν_X of ΔE = Σ ν_X E(X): + for products, − for reactants (a system on both sides nets)."""
    out = {n: -float(nu) for n, nu in reactants.items()}
    for n, nu in products.items():
        out[n] = out.get(n, 0.0) + float(nu)
    return out


class ReactionSpec(_Strict):
    """ΔE = Σ ν_p E(product p) − Σ ν_r E(reactant r), stoichiometric coefficients ν > 0.

    ``reactants``/``products``: a list of system names (ν = 1 each, a name given
    twice counts twice) or a mapping ``{system: ν}`` with ``MIN_COEFFICIENT`` ≤ ν ≤
    ``MAX_COEFFICIENT``. A binding energy
    E(AB) − E(A) − E(B) is the reaction A + B → AB. Both sides must balance atoms
    and charge (checked when the study is loaded, :func:`check_reactions`).
    """

    reactants: dict[str, float] = Field(min_length=1)
    products: dict[str, float] = Field(min_length=1)
    paper_value_ev: float | None = None
    counterpoise: bool = False
    description: str = ""
    #: Å of clear vacuum above the complex (binding reactions of a charged slab only)
    vacuum_series: list[float] | None = None

    check_vacuum_series = field_validator("vacuum_series")(_vacuum_series)

    @field_validator("reactants", "products", mode="before")
    @classmethod
    def _coefficients(cls, v: Any) -> Any:
        if isinstance(v, list | tuple):
            out: dict[str, float] = {}
            for name in v:
                if not isinstance(name, str):
                    raise ValueError(f"a reaction side lists system names, got {name!r}")
                out[name] = out.get(name, 0.0) + 1.0
            v = out
        if isinstance(v, dict):
            return {name: _coefficient(str(name), nu) for name, nu in v.items()}
        return v

    @property
    def coefficients(self) -> dict[str, float]:
        """Signed coefficients: + for products, − for reactants."""
        return signed_coefficients(self.reactants, self.products)

    @property
    def binding(self) -> tuple[str, list[str]] | None:
        """(complex, fragments) if this is a binding reaction (see :func:`binding_of`)."""
        return binding_of(self.reactants, self.products)


def binding_of(
    reactants: dict[str, float], products: dict[str, float]
) -> tuple[str, list[str]] | None:
    """(complex, fragments) if a reaction is a binding reaction: one product with ν = 1 and
    whole-number reactant coefficients (a fragment with ν = 2 is listed twice); else None."""
    if len(products) != 1 or any(nu != 1 for nu in products.values()):
        return None
    if any(nu != round(nu) for nu in reactants.values()):
        return None
    fragments = [n for n, nu in reactants.items() for _ in range(int(nu))]
    return next(iter(products)), fragments


class CalculationSpec(_Strict):
    """Engine settings. ``protocol`` and ``overrides`` are CP2K's; ``xtb`` is the xtb engine's.

    Each engine reads only its own settings and rejects a setting meant for it that
    it does not know (:func:`atomistics.engines.engine_options`); CP2K-only
    settings that differ from the defaults are refused when the study runs with xtb.
    """

    protocol: str = "paper"
    overrides: dict[str, Any] = Field(default_factory=dict)
    xtb: dict[str, Any] = Field(default_factory=dict)
    #: relax every geometry with this engine, then the single point with the study's engine
    #: (a composite protocol, e.g. CP2K energies on xtb geometries: engines/composite.py)
    relax_engine: Literal["xtb", "cp2k"] | None = None

    @field_validator("overrides", "xtb")
    @classmethod
    def _finite(cls, v: dict[str, Any]) -> dict[str, Any]:
        # free-form settings (any value type): '.nan'/'.inf' would pass allow_inf_nan
        for path, value in _leaves(v, ()):
            if isinstance(value, float) and not math.isfinite(value):
                raise _NestedValueError(path, f"{value} is not a finite number: give a real value")
        return v


class _NestedValueError(ValueError):
    """A ValueError about ``path`` inside the validated field (for the error's line)."""

    def __init__(self, path: tuple, detail: str) -> None:
        super().__init__(f"{'.'.join(map(str, path))}: {detail}")
        self.path, self.detail = path, detail


def _leaves(value: Any, path: tuple):
    """(key path, value) of every leaf of nested mappings and lists."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list | tuple):
        for k, v in enumerate(value):
            yield from _leaves(v, (*path, k))
    else:
        yield path, value


class BridgeSolvationSpec(_Strict):
    """``bridge.solvation``: compute ΔΔG_solv of the bridge's exchange reaction.

    ``model``: ``alpb:<solvent>``, ``gbsa:<solvent>``, ``cpcm:<ε or solvent>``,
    ``cosmo:<ε or solvent>`` (xtb) or ``sccs:<ε>`` (cp2k); ``approximation``:
    ``cluster`` (xtb on periodic cells) or ``none``; ``error``: how its 1σ is computed,
    any of ``edge`` and ``model``; ``alternative``: the second model of ``model``.
    Checked against the engine and run by :mod:`atomistics.reactions.solvation`.
    """

    model: str
    approximation: Literal["cluster", "none"] = "none"
    error: list[Literal["edge", "model"]] | None = None
    alternative: str | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _one_or_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("model", "alternative")
    @classmethod
    def _model(cls, v: str | None) -> str | None:
        if v is None:
            return v
        kind, _, value = v.strip().partition(":")
        if kind.lower() not in ("alpb", "gbsa", "cpcm", "cosmo", "sccs") or not value.strip():
            raise ValueError(
                f"{v!r} is not MODEL:SOLVENT; use cpcm:7.2, alpb:thf, gbsa:thf, cosmo:7.2 (xtb) "
                "or sccs:7.2 (cp2k)"
            )
        return v.strip().lower()


def check_bridge_solvation(bridge: dict[str, Any]) -> BridgeSolvationSpec:
    """``bridge.solvation`` checked (one-line ``ValueError`` naming the key and the fix)."""
    value = bridge.get("solvation")
    if not isinstance(value, dict):
        raise ValueError(
            "bridge.solvation must be a mapping, e.g. {model: cpcm:7.2, approximation: cluster}"
        )
    try:
        spec = BridgeSolvationSpec.model_validate(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(map(str, err["loc"]))
        raise ValueError(
            f"bridge.solvation.{key}: {err['msg'].removeprefix('Value error, ')}"
        ) from None
    if bridge.get("solvation_correction") is not None:
        raise ValueError(
            "bridge.solvation and bridge.solvation_correction both given: keep the computed one "
            "(solvation) or the number (solvation_correction), not both"
        )
    if bridge.get("exchange") is None:
        raise ValueError(
            "bridge.solvation corrects the exchange reaction: name it in bridge.exchange"
        )
    return spec


#: The bridge's FITTED fallback binding energies when its section does not name them: the
#: defaults of :class:`atomistics.continuum.study_bridge.BridgeSpec` (the continuum layer
#: above this one; tests/test_issue16_study_inputs.py keeps the two equal).
BRIDGE_FALLBACK_DEFAULTS = {"surface_anion": "limmt_fsi", "cation_anion": "li_fsi"}


def _check_bridge_source(bridge: dict[str, Any], names: list[str]) -> None:
    """The bridge needs a reaction of the study: its exchange reaction or both fallbacks.

    Without one, `atomistics run` would have nothing to carry through the bridge and
    would skip it: a bridge section that cannot run is a mistake, refused at load.
    """
    if bridge.get("exchange") is not None:
        return
    fallback = {
        role: (bridge[role], "") if role in bridge else (default, " (default)")
        for role, default in BRIDGE_FALLBACK_DEFAULTS.items()
    }
    missing = [
        f"bridge.{role} = {ref!r}{note}"
        for role, (ref, note) in fallback.items()
        if ref not in names
    ]
    if not missing:
        return
    raise _NestedValueError(
        ("bridge",),
        "no reaction to take the adsorption free energy from: bridge.exchange is not given "
        f"and {' and '.join(missing)} not in the study (its binding_energies and reactions: "
        f"{names}); name the exchange reaction in bridge.exchange, or both binding energies "
        "in bridge.surface_anion and bridge.cation_anion, or remove the bridge section",
    )


class Study(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    engine: Literal["cp2k", "xtb"] = "xtb"
    calculation: CalculationSpec = CalculationSpec()
    systems: dict[str, SystemSpec] = Field(min_length=1)
    binding_energies: dict[str, BindingEnergySpec] = Field(default_factory=dict)
    reactions: dict[str, ReactionSpec] = Field(default_factory=dict)
    bridge: dict[str, Any] | None = None
    #: folder that relative paths in the file (``start_from``) are relative to
    _base_dir: Path | None = PrivateAttr(default=None)
    #: the file's name and the line of every key (by key path), for :meth:`location`
    _source: str = PrivateAttr(default="<study>")
    _lines: dict[tuple, int] = PrivateAttr(default_factory=dict)

    def location(self, *path: str) -> str:
        """``"<file> line N"`` of a study key (the nearest line known); ``""`` for a study
        not parsed from text."""
        line = _line_for(path, self._lines) if self._lines else None
        return f"{self._source} line {line}" if line else ""

    def where(self, *path: str) -> str:
        """``"<file> line N: a.b.c"``: a study key as errors name it."""
        key, location = ".".join(map(str, path)), self.location(*path)
        return f"{location}: {key}" if location else key

    def resolve_path(self, path: str) -> Path:
        """A path of the study file, relative to the file's folder (else the working folder)."""
        p = Path(path).expanduser()
        return p if p.is_absolute() or self._base_dir is None else self._base_dir / p

    def calculated_systems(self) -> list[str]:
        """The systems whose energies the study needs, in the study's order.

        A study with reactions or binding energies calculates the systems they use; any
        other system is a building block (e.g. the slab an adsorbate or an in-cell
        reference is built from): built, but not relaxed or computed. A study without
        reactions calculates every system.
        """
        specs = self.all_reactions
        if not specs:
            return list(self.systems)
        used = {n for spec in specs.values() for n in (*spec.reactants, *spec.products)}
        return [n for n in self.systems if n in used]

    @property
    def all_reactions(self) -> dict[str, ReactionSpec]:
        """``reactions`` (the primary results) then ``binding_energies`` (fragments → complex)."""
        out = dict(self.reactions)
        out |= {
            name: ReactionSpec(
                reactants=list(b.fragments),
                products=[b.complex],
                paper_value_ev=b.paper_value_ev,
                counterpoise=b.counterpoise,
                vacuum_series=b.vacuum_series,
            )
            for name, b in self.binding_energies.items()
        }
        return out

    @field_validator("name")
    @classmethod
    def _not_only_dots(cls, v: str) -> str:
        # '.' and '..' match the pattern but name the current/parent folder: the
        # study's run folder would lie outside --workdir.
        if set(v) == {"."}:
            raise ValueError(f"study name {v!r} is only dots: use letters, digits, '_', '-' or '.'")
        return v

    @field_validator("systems")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"system name {name!r} must be letters, digits, '_' or '-'")
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
            if isinstance(spec, InCellSystem):
                inner = self.systems.get(spec.system)
                if not isinstance(inner, SlabSystem | MoleculeSystem | IonPairSystem):
                    raise ValueError(
                        f"systems.{name}.system = {spec.system!r} is not a limmt-slab, molecule or "
                        "ion-pair system of this study"
                    )
                if not isinstance(self.systems.get(spec.cell_of), AdsorbateSystem):
                    raise ValueError(
                        f"systems.{name}.cell_of = {spec.cell_of!r} is not an adsorbate system "
                        "of this study"
                    )
            if isinstance(spec, MoleculeSystem) and spec.cell_of is not None:
                if not isinstance(self.systems.get(spec.cell_of), SlabSystem):
                    raise ValueError(
                        f"systems.{name}.cell_of = {spec.cell_of!r} is not a limmt-slab system "
                        "of this study"
                    )
        # The bridge section itself is validated by atomistics.continuum.study_bridge where it
        # is used (the study layer does not import the continuum); its references here.
        if self.bridge is not None and not isinstance(self.bridge, dict):
            raise ValueError("bridge must be a mapping (see workflows/limmt_fsi.yaml)")
        if self.bridge is not None:
            names = list(self.binding_energies) + list(self.reactions)
            for role in ("surface_anion", "cation_anion", "exchange"):
                ref = self.bridge.get(role)
                if ref is not None and ref not in names:
                    raise ValueError(
                        f"bridge.{role} = {ref!r} is not one of the study's binding_energies "
                        f"or reactions ({names})"
                    )
            if self.bridge.get("solvation") is not None:
                check_bridge_solvation(self.bridge)
            _check_bridge_source(self.bridge, names)
        clash = sorted(set(self.binding_energies) & set(self.reactions))
        if clash:
            raise ValueError(
                f"{clash} named in both binding_energies and reactions: rename one of them"
            )
        for name, spec in self.binding_energies.items():
            for ref in [spec.complex, *spec.fragments]:
                if ref not in self.systems:
                    raise ValueError(
                        f"binding_energies.{name} refers to unknown system {ref!r} "
                        f"(systems: {list(self.systems)})"
                    )
            if spec.complex in spec.fragments:
                raise ValueError(
                    f"binding_energies.{name}: {spec.complex!r} is listed as its own fragment; "
                    "the fragments are the parts the complex is made of"
                )
        for name, spec in self.reactions.items():
            for ref in [*spec.reactants, *spec.products]:
                if ref not in self.systems:
                    raise ValueError(
                        f"reactions.{name} refers to unknown system {ref!r} "
                        f"(systems: {list(self.systems)})"
                    )
            both = sorted(set(spec.reactants) & set(spec.products))
            if both:
                raise ValueError(
                    f"reactions.{name}: {both} on both sides; a system cannot react into itself"
                )
        self._check_vacuum_series()
        return self

    def _check_vacuum_series(self) -> None:
        """A vacuum series needs a binding reaction whose complex is an adsorbate on a slab."""
        for name, spec in self.all_reactions.items():
            if spec.vacuum_series is None:
                continue
            where = f"{'binding_energies' if name in self.binding_energies else 'reactions'}.{name}"
            if spec.binding is None:
                raise ValueError(
                    f"{where}.vacuum_series needs a binding reaction (fragments -> one complex "
                    "with coefficient 1): the series varies the complex's cell"
                )
            if spec.counterpoise:
                raise ValueError(
                    f"{where}: vacuum_series and counterpoise together are not supported; "
                    "drop one of them"
                )
            cname, fragments = spec.binding
            if not isinstance(self.systems[cname], AdsorbateSystem):
                raise ValueError(
                    f"{where}.vacuum_series: the complex {cname!r} is not a slab system (kind: "
                    "adsorbate); a vacuum series is for a charged slab, drop vacuum_series"
                )
            for f in fragments:
                if isinstance(self.systems[f], AdsorbateSystem):
                    raise ValueError(
                        f"{where}.vacuum_series: fragment {f!r} is an adsorbate system; each "
                        "fragment goes alone into the complex's cell: use the bare slab and the ion"
                    )


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


_DISCRIMINATOR_TAGS = {"limmt-slab", "molecule", "ion-pair", "adsorbate", "in-cell"}


def parse_study(text: str, source: str = "<study>", base_dir: str | Path | None = None) -> Study:
    """Parse and validate study YAML text; errors name the key path and line.

    ``base_dir``: the folder relative paths in the study (``start_from``) refer to.
    """
    check_yaml(text, source)  # size, alias bombs, recursive aliases, duplicate keys
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StudySpecError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise StudySpecError(
            f"{source}: a study file must be a YAML mapping with 'name' and 'systems'."
        )
    try:
        study = Study.model_validate(data)
    except ValidationError as exc:
        lines = _key_lines(text)
        messages = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            nested = (err.get("ctx") or {}).get("error")
            msg = err["msg"].removeprefix("Value error, ")
            if isinstance(nested, _NestedValueError):  # the nested key and its own line
                loc, msg = (*loc, *nested.path), nested.detail
            key = ".".join(str(p) for p in loc if p not in _DISCRIMINATOR_TAGS) or "(top level)"
            line = _line_for(loc, lines)
            messages.append(f"{source} line {line or '?'}: {key}: {msg}")
        raise StudySpecError("invalid study file:\n  " + "\n  ".join(messages)) from None
    except StudySpecError:
        raise
    study._base_dir = Path(base_dir) if base_dir is not None else None
    study._source, study._lines = source, _key_lines(text)
    check_reactions(study)
    return study


def _composition(atoms: Atoms) -> dict[str, int]:
    out: dict[str, int] = {}
    for symbol in atoms.get_chemical_symbols():
        out[symbol] = out.get(symbol, 0) + 1
    return out


def _side(spec: dict[str, float], systems: dict[str, Atoms]) -> tuple[dict[str, float], float]:
    atoms: dict[str, float] = {}
    charge = 0.0
    for name, nu in spec.items():
        for symbol, n in _composition(systems[name]).items():
            atoms[symbol] = atoms.get(symbol, 0.0) + nu * n
        charge += nu * int(systems[name].info.get("charge", 0))
    return atoms, charge


def _formula(atoms: dict[str, float]) -> str:
    return " ".join(f"{s}{n:g}" for s, n in sorted(atoms.items()) if abs(n) > 1e-9) or "nothing"


def check_reactions(study: Study, structures: dict[str, Atoms] | None = None) -> None:
    """Every reaction (and binding energy) balances atoms and charge on both sides.

    Catches a complex whose fragments are not its parts (``li_fsi`` from
    ``[li, li]``) before anything runs: such an energy is meaningless.
    """
    reactions = study.all_reactions
    if not reactions:
        return
    systems = structures if structures is not None else build_study_structures(study)
    for name, spec in reactions.items():
        section = "binding_energies" if name in study.binding_energies else "reactions"
        left, q_left = _side(spec.reactants, systems)
        right, q_right = _side(spec.products, systems)
        elements = set(left) | set(right)
        if any(abs(left.get(e, 0.0) - right.get(e, 0.0)) > 1e-9 for e in elements):
            diff = {e: right.get(e, 0.0) - left.get(e, 0.0) for e in elements}
            raise StudySpecError(
                f"{section}.{name} does not balance atoms: reactants {_formula(left)}, products "
                f"{_formula(right)} (products minus reactants: {_formula(diff)}); fix the "
                "systems or coefficients so both sides hold the same atoms."
            )
        if abs(q_left - q_right) > 1e-9:
            raise StudySpecError(
                f"{section}.{name} does not balance charge: reactants {q_left:+g} e, products "
                f"{q_right:+g} e; fix the systems or coefficients."
            )
        if spec.vacuum_series is not None and spec.binding is not None:
            charge = int(systems[spec.binding[0]].info.get("charge", 0))
            if charge == 0:
                raise StudySpecError(
                    f"{section}.{name}.vacuum_series: the complex {spec.binding[0]!r} has charge 0, "
                    "so its cell has no neutralising background and no series is needed: remove "
                    "vacuum_series."
                )


def load_study(path: str | Path) -> Study:
    """Load a study YAML file (see :func:`parse_study`)."""
    path = Path(path)
    return parse_study(read_yaml_text(path), str(path), base_dir=path.parent)


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
    elif isinstance(spec, AdsorbateSystem):
        atoms = _build_adsorbate(spec, build_system(study, spec.slab, cache))
        if spec.start_from is not None:
            from atomistics.structures.start_from import apply_start_from

            keep_cell = spec.vacuum is None and spec.counter_ion is None  # place_adsorbate's
            atoms = apply_start_from(
                atoms,
                study.resolve_path(spec.start_from),
                vacuum=None if keep_cell else float(atoms.info["vacuum"]),
                what=f"systems.{name}",
            )
    else:
        atoms = _build_in_cell(study, spec, cache)
    atoms.info["name"] = name
    atoms.info["study"] = study.name
    cache[name] = atoms
    return atoms.copy()


def _build_adsorbate(spec: AdsorbateSystem, slab: Atoms) -> Atoms:
    from atomistics.structures import exchange

    mol = molecules.build_molecule(spec.adsorbate, spec.conformer)
    where = (spec.site, spec.site_index, spec.height, spec.orientation, spec.azimuth)
    if spec.counter_ion is not None:
        return exchange.build_adsorbate_with_counterion(
            slab,
            mol,
            *where,
            counter_ion=spec.counter_ion,
            counter_ion_rank=spec.counter_ion_rank,
            vacuum=spec.vacuum,
        )
    if spec.vacuum is not None:
        return exchange.build_adsorbate_complex(slab, mol, *where, vacuum=spec.vacuum)
    return adsorption.place_adsorbate(slab, mol, *where)


def _build_in_cell(study: Study, spec: InCellSystem, cache: dict[str, Atoms]) -> Atoms:
    from atomistics.structures import exchange

    inner = build_system(study, spec.system, cache)
    host = build_system(study, spec.cell_of, cache)
    if isinstance(study.systems[spec.system], SlabSystem):
        atoms = exchange.slab_in_cell(inner, host)
    else:
        atoms = exchange.molecule_in_cell(inner, host)
    atoms.info["cell_of"] = spec.cell_of
    return atoms


def build_study_structures(study: Study) -> dict[str, Atoms]:
    """Every system of the study, in file order."""
    cache: dict[str, Atoms] = {}
    return {name: build_system(study, name, cache) for name in study.systems}
