"""Reaction energies from single points, and every correction they can carry.

The package holds the reaction energy and its corrections as peers:

* this module: the record (:class:`ReactionEnergy`, its ``corrections`` dict, the names
  :data:`CORRECTIONS`), the one assembler, counterpoise (planned here: it is part of ΔE),
  table, CSV and plot;
* :mod:`atomistics.reactions.vacuum_series`: a charged slab's vacuum series (the fit
  itself is pure physics in :mod:`atomistics.charged_cell`);
* :mod:`atomistics.reactions.solvation`: the implicit-solvent ΔΔG_solv;
* :mod:`atomistics.reactions.study`: the one loop over a study's reactions and their
  corrections (pre-flight check, count, compute), which ``atomistics run`` and the
  FireWorks task both call.

Stored reactions as the bridge's inputs are read by :mod:`atomistics.stored_reactions`,
beside this package and above :mod:`atomistics.db` (which writes this package's records).

A reaction is ``Σ ν_r R → Σ ν_p P`` with stoichiometric coefficients ν > 0 and

    ΔE = Σ_p ν_p E(P) − Σ_r ν_r E(R)            (energies in eV)

A binding energy is the special case A + B → AB, ΔE = E(AB) − E(A) − E(B)
(negative = bound, the convention of the source paper's methods). The
counterpoise correction (Boys & Bernardi, Mol. Phys. 19, 553 (1970)) applies to
binding reactions: every fragment is evaluated at its geometry inside the
complex, alone in its own basis (``own``) and with the rest of the complex as
ghost atoms (``ghost``), each with the fragment's own charge and multiplicity:

    BSSE = Σ_X [E_X(own basis) − E_X(complex basis)]  ≥ 0
    ΔE(CP) = ΔE + BSSE

:func:`assemble` is the only place a :class:`ReactionEnergy` is made from
calculations; ``atomistics run`` (:mod:`atomistics.runner`) and the FireWorks
task both call it, and :func:`plan_counterpoise` is the only place the
counterpoise calculations are planned.

A reaction whose cells all have charge 0 needs no neutralising background;
when any participant is charged (Li⁺ + FSI⁻ → LiFSI, the paper's definitions)
the row is labelled :data:`CHARGED_LABEL` and is comparable only with the
paper's own charged-fragment numbers.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from atomistics.engines.base import STAGES, Engine
from atomistics.errors import AtomisticsError
from atomistics.execution import (
    CalcResult,
    Calculation,
    plan_calculation,
    stage_input,
    why_unconverged,
)
from atomistics.execution.hashing import combine_hashes
from atomistics.study import signed_coefficients

NEUTRAL_LABEL = "neutral"
CHARGED_LABEL = "paper's definition (charged fragments)"


# ----------------------------------------------------------------- arithmetic


def reaction_energy(coefficients: Mapping[str, float], energies_ev: Mapping[str, float]) -> float:
    """ΔE = Σ ν_i E_i with signed coefficients (+ products, − reactants)."""
    missing = [n for n in coefficients if n not in energies_ev]
    if missing:
        raise AtomisticsError(f"no energy for {missing}.")
    return float(sum(nu * energies_ev[n] for n, nu in coefficients.items()))


def binding_energy(e_complex_ev: float, e_fragments_ev: Sequence[float]) -> float:
    """E(AB) − Σ E(X); negative = bound."""
    if len(e_fragments_ev) < 2:
        raise AtomisticsError("a binding energy needs at least two fragment energies.")
    return float(e_complex_ev - sum(e_fragments_ev))


def counterpoise_correction(e_own_ev: Sequence[float], e_ghost_ev: Sequence[float]) -> float:
    """BSSE = Σ_X [E_X(own basis) − E_X(with ghosts)], per fragment at the complex geometry."""
    if len(e_own_ev) != len(e_ghost_ev):
        raise AtomisticsError("counterpoise needs one own-basis and one ghost energy per fragment.")
    return float(sum(o - g for o, g in zip(e_own_ev, e_ghost_ev, strict=True)))


def fragment_indices(complex_atoms: Atoms, fragments: Sequence[Atoms]) -> list[np.ndarray]:
    """Atom indices of each fragment inside the complex.

    The complex must be the fragments' atoms concatenated in some order (how the
    structure builders make ion pairs and adsorbate systems); the order is
    found by matching chemical symbols.
    """
    symbols = complex_atoms.get_chemical_symbols()
    if sum(len(f) for f in fragments) != len(symbols):
        raise AtomisticsError(
            f"the fragments have {sum(len(f) for f in fragments)} atoms but the complex has "
            f"{len(symbols)}: check binding_energies.fragments in the study file."
        )
    for order in itertools.permutations(range(len(fragments))):
        start, spans = 0, {}
        for k in order:
            n = len(fragments[k])
            if symbols[start : start + n] != fragments[k].get_chemical_symbols():
                break
            spans[k] = np.arange(start, start + n)
            start += n
        else:
            return [spans[k] for k in range(len(fragments))]
    raise AtomisticsError(
        "cannot map the fragments onto the complex (its atoms are not the fragments' atoms "
        "in sequence): counterpoise needs complexes built from their fragments."
    )


def counterpoise_structures(
    complex_atoms: Atoms, fragments: Sequence[Atoms]
) -> list[tuple[Atoms, Atoms]]:
    """For each fragment: (alone at the complex geometry, in the complex with ghosts).

    Both carry the *fragment's* charge and multiplicity.
    """
    out = []
    for frag, idx in zip(fragments, fragment_indices(complex_atoms, fragments), strict=True):
        info = {
            "charge": int(frag.info.get("charge", 0)),
            "spin_multiplicity": int(frag.info.get("spin_multiplicity", 1)),
            "name": frag.info.get("name", ""),
        }
        own = complex_atoms[idx]
        own.set_constraint()
        # Same box and absolute positions as the complex (see cp2k.protocol.frame_positions)
        own.info = dict(info, frame_positions=complex_atoms.get_positions().tolist())
        ghost = complex_atoms.copy()
        ghost.set_constraint()
        ghost.info = dict(info, frame_positions=complex_atoms.get_positions().tolist())
        mask = np.ones(len(ghost), dtype=bool)
        mask[idx] = False
        ghost.arrays["ghost"] = mask
        out.append((own, ghost))
    return out


# ----------------------------------------------------------------- the record

#: The corrections a reaction energy can carry: name → (what asks for it, the module that
#: plans and assembles it). Each is stored under its name in ``ReactionEnergy.corrections``
#: and on the reaction row (``data["corrections"]``, its summary columns in
#: :func:`atomistics.db.correction_columns`); :mod:`atomistics.reactions.study` runs them.
CORRECTIONS: dict[str, tuple[str, str]] = {
    "counterpoise": ("counterpoise: true", "atomistics.reactions (plan_counterpoise)"),
    "vacuum_series": (
        "vacuum_series: [...]",
        "atomistics.reactions.vacuum_series (run_vacuum_series)",
    ),
    "solvation": ("bridge.solvation", "atomistics.reactions.solvation (compute_solvation)"),
}


@dataclass
class ReactionEnergy:
    """One reaction energy ΔE (eV) with where it came from and whether it can be trusted."""

    name: str
    reactants: dict[str, float]
    products: dict[str, float]
    energy_ev: float  # the reported value (counterpoise-corrected when requested)
    energy_raw_ev: float
    paper_value_ev: float | None = None
    counterpoise: bool = False
    engine: str = ""
    protocol: str = ""
    converged: bool = True  # every input: SCF converged and geometry at fmax
    unconverged: list[str] = field(default_factory=list)  # "system:stage (why)"
    charged: bool = False  # some participant has a net charge
    energies_ev: dict[str, float] = field(default_factory=dict)
    calc_hashes: list[str] = field(default_factory=list)
    input_hash: str = ""
    #: every correction the reaction carries, by name (:data:`CORRECTIONS`), each its own
    #: JSON-able record; stored as one ``corrections`` entry on the reaction row
    corrections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_correction(self, name: str, record: Mapping[str, Any]) -> None:
        """Attach one correction's record (a name of :data:`CORRECTIONS`); ``energy_ev``
        changes only for counterpoise (the other corrections are reported beside it)."""
        if name not in CORRECTIONS:
            raise AtomisticsError(f"unknown correction {name!r}: one of {sorted(CORRECTIONS)}")
        self.corrections[name] = dict(record)

    @property
    def bsse_ev(self) -> float | None:
        """The counterpoise correction (eV), included in ``energy_ev``; None without one."""
        return self.corrections.get("counterpoise", {}).get("bsse_ev")

    @property
    def vacuum_series(self) -> dict[str, Any] | None:
        """A charged slab's vacuum series and its extrapolated value
        (:func:`atomistics.reactions.vacuum_series.assemble_vacuum_series`); ``energy_ev`` stays the
        single-cell value."""
        return self.corrections.get("vacuum_series")

    @property
    def solvation(self) -> dict[str, Any] | None:
        """ΔΔG_solv of the bridge's exchange reaction (``bridge.solvation``; the record of
        :class:`atomistics.reactions.solvation.SolvationCorrection`); ``energy_ev`` stays
        the gas-phase value."""
        return self.corrections.get("solvation")

    @property
    def label(self) -> str:
        return CHARGED_LABEL if self.charged else NEUTRAL_LABEL

    @property
    def equation(self) -> str:
        def side(d: dict[str, float]) -> str:
            return " + ".join(n if nu == 1 else f"{nu:g} {n}" for n, nu in d.items())

        return f"{side(self.reactants)} -> {side(self.products)}"

    @property
    def binding(self) -> tuple[str, list[str]] | None:
        """(complex, fragments) if this is a binding reaction (:func:`atomistics.study.binding_of`)."""
        from atomistics.study import binding_of

        return binding_of(self.reactants, self.products)

    # binding-energy vocabulary (E(AB) − ΣE(X) is this reaction's ΔE)
    @property
    def e_bind_ev(self) -> float:
        return self.energy_ev

    @property
    def e_bind_raw_ev(self) -> float:
        return self.energy_raw_ev

    @property
    def complex(self) -> str | None:
        b = self.binding
        return b[0] if b else None

    @property
    def fragments(self) -> list[str]:
        b = self.binding
        return b[1] if b else []

    def to_record(self) -> dict[str, Any]:
        """Flat JSON-able record (``results --json``, CSV, DB data)."""
        return {
            "name": self.name,
            "equation": self.equation,
            "label": self.label,
            "energy_ev": self.energy_ev,
            "energy_raw_ev": self.energy_raw_ev,
            "bsse_ev": self.bsse_ev,  # a column of the flat views (CSV, table); also below
            "counterpoise": self.counterpoise,
            "paper_value_ev": self.paper_value_ev,
            "converged": self.converged,
            "unconverged": list(self.unconverged),
            "charged": self.charged,
            "engine": self.engine,
            "protocol": self.protocol,
            "reactants": dict(self.reactants),
            "products": dict(self.products),
            "energies_ev": dict(self.energies_ev),
            "calc_hashes": list(self.calc_hashes),
            "input_hash": self.input_hash,
            "corrections": copy.deepcopy(self.corrections),
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> ReactionEnergy:
        """The record of :meth:`to_record`; one written before corrections were one dict
        (``bsse_ev``, ``vacuum_series``, ``solvation`` side by side) reads the same."""
        keys = cls.__dataclass_fields__
        entry = cls(**{k: copy.deepcopy(rec[k]) for k in keys if k in rec})
        if "corrections" not in rec:
            if rec.get("bsse_ev") is not None:
                entry.add_correction("counterpoise", {"bsse_ev": float(rec["bsse_ev"])})
            for name in ("vacuum_series", "solvation"):
                if rec.get(name):
                    entry.add_correction(name, rec[name])
        return entry


def compute_reaction(
    name: str,
    reactants: Mapping[str, float],
    products: Mapping[str, float],
    energies_ev: Mapping[str, float],
    paper_value_ev: float | None = None,
    cp_own_ev: Sequence[float] | None = None,
    cp_ghost_ev: Sequence[float] | None = None,
) -> ReactionEnergy:
    """A :class:`ReactionEnergy` from energies by system name (no provenance)."""
    coefficients = signed_coefficients(reactants, products)
    try:
        raw = reaction_energy(coefficients, energies_ev)
    except AtomisticsError as exc:
        raise AtomisticsError(f"reaction {name!r}: {exc}") from None
    if not math.isfinite(raw):
        raise AtomisticsError(
            f"reaction {name!r}: ΔE = {raw} is not a finite number: check its coefficients and "
            f"the energies of {list(coefficients)}."
        )
    bsse = None
    if cp_own_ev is not None and cp_ghost_ev is not None:
        bsse = counterpoise_correction(cp_own_ev, cp_ghost_ev)
    return ReactionEnergy(
        name=name,
        reactants=dict(reactants),
        products=dict(products),
        energy_ev=raw + bsse if bsse is not None else raw,
        energy_raw_ev=raw,
        paper_value_ev=paper_value_ev,
        counterpoise=bsse is not None,
        energies_ev={n: float(energies_ev[n]) for n in [*reactants, *products]},
        corrections={"counterpoise": {"bsse_ev": bsse}} if bsse is not None else {},
    )


def compute(
    name: str,
    complex_name: str,
    fragment_names: Sequence[str],
    energies_ev: Mapping[str, float],
    paper_value_ev: float | None = None,
    cp_own_ev: Sequence[float] | None = None,
    cp_ghost_ev: Sequence[float] | None = None,
) -> ReactionEnergy:
    """The binding energy E(complex) − Σ E(fragments) as a reaction fragments → complex."""
    if len(fragment_names) < 2:
        raise AtomisticsError("a binding energy needs at least two fragments.")
    reactants: dict[str, float] = {}
    for f in fragment_names:
        reactants[f] = reactants.get(f, 0.0) + 1.0
    return compute_reaction(
        name, reactants, {complex_name: 1.0}, energies_ev, paper_value_ev, cp_own_ev, cp_ghost_ev
    )


# ----------------------------------------------------------------- the assembler


def assemble(
    name: str,
    spec,
    results: Mapping[str, CalcResult],
    counterpoise: Sequence[tuple[CalcResult, CalcResult]] | None = None,
) -> ReactionEnergy:
    """The reaction ``spec`` (:class:`atomistics.study.ReactionSpec`) from final single points.

    ``results``: system name → its single-point :class:`CalcResult`;
    ``counterpoise``: per fragment, its (own-basis, ghost-basis) results. Every
    input's convergence and charge is carried into the record.
    """
    systems = [*spec.reactants, *spec.products]
    missing = [s for s in systems if s not in results]
    if missing:
        raise AtomisticsError(f"reaction {name!r}: no single point of {missing}.")
    inputs = [results[s] for s in systems]
    engines = sorted({r.engine for r in inputs})
    protocols = sorted({r.protocol for r in inputs})
    if len(engines) > 1 or len(protocols) > 1:
        raise AtomisticsError(
            f"reaction {name!r} would mix engines/protocols {engines}/{protocols}: "
            "all its energies must come from one engine and protocol."
        )
    own = [o.energy_ev for o, _ in counterpoise] if counterpoise else None
    ghost = [g.energy_ev for _, g in counterpoise] if counterpoise else None
    entry = compute_reaction(
        name,
        spec.reactants,
        spec.products,
        {s: results[s].energy_ev for s in systems},
        spec.paper_value_ev,
        own,
        ghost,
    )
    all_inputs = inputs + [r for pair in (counterpoise or []) for r in pair]
    entry.engine, entry.protocol = engines[0], protocols[0]
    entry.calc_hashes = [r.calc_hash for r in all_inputs]
    entry.input_hash = combine_hashes(*entry.calc_hashes)
    entry.unconverged = [w for r in all_inputs if (w := why_unconverged(r))]
    entry.converged = not entry.unconverged
    entry.charged = any(r.charge != 0 for r in inputs)
    return entry


def plan_counterpoise(
    study: str,
    name: str,
    spec,
    structures: Mapping[str, Atoms],
    complex_result: CalcResult,
    engine: Engine,
) -> list[tuple[Calculation, Calculation]]:
    """The (own, ghost) calculations of every fragment of the binding reaction ``spec``.

    The fragments are cut out of the complex at its final single-point geometry.
    """
    binding = spec.binding
    if binding is None:
        raise AtomisticsError(
            f"reaction {name!r}: counterpoise needs a binding reaction (fragments → one complex)."
        )
    cname, fnames = binding
    cplx = stage_input(structures[cname], complex_result)
    frags = [structures[f] for f in fnames]
    out = []
    for fname, (a_own, a_ghost) in zip(fnames, counterpoise_structures(cplx, frags), strict=True):
        label = f"{cname}~{fname}"
        meta = {"reaction": name, "complex": cname, "fragment": fname}
        out.append(
            tuple(
                plan_calculation(study, label, stage, atoms, engine, meta, previous=complex_result)
                for stage, atoms in (("cp_own", a_own), ("cp_ghost", a_ghost))
            )
        )
    return out


def check_engine_can_run(study, structures: Mapping[str, Atoms], engine: Engine, systems) -> None:
    """Resolve every setting the study will need, so a misfit fails before any job runs."""
    for name in systems:
        for stage in STAGES:
            engine.settings(structures[name], stage)
    for spec in study.all_reactions.values():
        if spec.counterpoise:
            if spec.binding is None:
                raise AtomisticsError(
                    "counterpoise: true needs a binding reaction (fragments → one complex)."
                )
            engine.settings(structures[spec.binding[0]], "cp_ghost")


# ----------------------------------------------------------------- presentation


def _fmt(value: float | None, spec: str = "+.3f") -> str:
    return "—" if value is None else format(value, spec)


def format_table(entries: Iterable, engine: str = "") -> str:
    """Text table: ours next to the paper's value, with convergence and definition."""
    entries = list(entries)
    width = max([16, *(len(b.name) for b in entries)])
    # the protocol (xtb method or CP2K protocol): two xtb rows from GFN1 and GFN2 differ there
    pwidth = max([8, *(len(getattr(b, "protocol", "") or "") for b in entries)])
    header = (
        f"{'reaction':<{width}} {'ΔE / eV':>10} {'BSSE / eV':>10} "
        f"{'paper / eV':>11} {'paper |E|':>10}  {'converged':<9}  engine  "
        f"{'protocol':<{pwidth}}  definition"
    )
    lines = [header, "-" * len(header)]
    flagged = []
    for b in entries:
        paper = b.paper_value_ev
        conv = getattr(b, "converged", True)
        if not conv:
            flagged.append(b)
        label = getattr(b, "label", "")
        lines.append(
            f"{b.name:<{width}} {b.energy_ev:>+10.3f} {_fmt(b.bsse_ev):>10} "
            f"{_fmt(paper, '+.2f'):>11} {_fmt(abs(paper) if paper is not None else None, '.2f'):>10}"
            f"  {'yes' if conv else 'NO':<9}  {getattr(b, 'engine', '') or engine:<6}  "
            f"{getattr(b, 'protocol', '') or '—':<{pwidth}}  {label}"
        )
    lines.append("ΔE = Σ ν E(products) − Σ ν E(reactants); for a binding energy, negative = bound.")
    lines.append("'paper' columns: values quoted in the paper (PBE-D3, CP2K), for comparison only;")
    lines.append("the paper reports |E_bind| of charged fragments (not comparable one to one).")
    for b in flagged:
        lines.append(f"NOT CONVERGED {b.name}: {'; '.join(getattr(b, 'unconverged', []))}")
    return "\n".join(lines)


def to_csv(records: list[dict]) -> str:
    buf = io.StringIO()
    if not records:
        return ""
    keys = list(dict.fromkeys(k for r in records for k in r))
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    for r in records:
        writer.writerow(
            {k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in r.items()}
        )
    return buf.getvalue()


def plot(entries: Sequence, path: str | Path, title: str = "") -> Path:
    """Bar chart of ΔE (ours vs the paper's), PNG/SVG/PDF by extension.

    Unconverged entries are hatched and marked "not converged". Uses a bare
    :class:`matplotlib.figure.Figure` (no pyplot, no global backend change).
    """
    from matplotlib.figure import Figure

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise AtomisticsError(f"plot file {path} must end in .png, .svg or .pdf.")
    entries = list(entries)
    names = [b.name for b in entries]
    x = np.arange(len(entries))
    fig = Figure(figsize=(1.8 + 1.6 * len(entries), 3.6))
    ax = fig.subplots()
    ours = [b.energy_ev for b in entries]
    paper = [b.paper_value_ev if b.paper_value_ev is not None else np.nan for b in entries]
    bars = ax.bar(x - 0.2, ours, 0.4, label="this run", color="tab:blue")
    ax.bar(x + 0.2, paper, 0.4, label="paper", color="tab:gray")
    for bar, b, xi, v in zip(bars, entries, x, ours, strict=True):
        conv = getattr(b, "converged", True)
        if not conv:
            bar.set_hatch("//")
            bar.set_facecolor("white")
            bar.set_edgecolor("tab:red")
        text = f"{v:.2f}" + ("" if conv else "\nnot converged")
        ax.annotate(text, (xi - 0.2, v), ha="center", va="top", fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, names)
    ax.set_ylabel("ΔE / eV (binding: negative = bound)")
    ax.set_title(title)
    ax.legend(frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
