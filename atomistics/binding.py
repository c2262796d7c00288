"""Binding energies E_bind = E(AB) − Σ E(fragments), optional counterpoise, table, plot.

All energies in eV; negative E_bind means bound (definition as in the source paper's
methods). The counterpoise correction (Boys & Bernardi, Mol. Phys. 19, 553 (1970))
evaluates every fragment at its geometry inside the complex twice:
alone in its own basis (``own``) and with the rest of the complex present as
ghost atoms (basis functions, no nuclei, no electrons; ``ghost``). Each term
uses the fragment's own charge and multiplicity, so charged fragments (Li⁺,
FSI⁻) are handled exactly like neutral ones:

    BSSE = Σ_X [E_X(own basis) − E_X(complex basis)]  ≥ 0
    E_bind(CP) = E_bind + BSSE
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from atomistics.errors import AtomisticsError


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


@dataclass
class BindingEnergy:
    name: str
    complex: str
    fragments: list[str]
    e_bind_ev: float  # the reported value (counterpoise-corrected when requested)
    e_bind_raw_ev: float
    paper_value_ev: float | None = None
    counterpoise: bool = False
    bsse_ev: float | None = None
    energies_ev: dict[str, float] = field(default_factory=dict)
    calc_hashes: list[str] = field(default_factory=list)
    input_hash: str = ""


def compute(
    name: str,
    complex_name: str,
    fragment_names: Sequence[str],
    energies_ev: dict[str, float],
    paper_value_ev: float | None = None,
    cp_own_ev: Sequence[float] | None = None,
    cp_ghost_ev: Sequence[float] | None = None,
) -> BindingEnergy:
    """A :class:`BindingEnergy` from single-point energies by system name."""
    missing = [n for n in [complex_name, *fragment_names] if n not in energies_ev]
    if missing:
        raise AtomisticsError(f"binding energy {name!r}: no energy for {missing}.")
    raw = binding_energy(energies_ev[complex_name], [energies_ev[f] for f in fragment_names])
    bsse = None
    if cp_own_ev is not None and cp_ghost_ev is not None:
        bsse = counterpoise_correction(cp_own_ev, cp_ghost_ev)
    return BindingEnergy(
        name=name,
        complex=complex_name,
        fragments=list(fragment_names),
        e_bind_ev=raw + bsse if bsse is not None else raw,
        e_bind_raw_ev=raw,
        paper_value_ev=paper_value_ev,
        counterpoise=bsse is not None,
        bsse_ev=bsse,
        energies_ev={n: energies_ev[n] for n in [complex_name, *fragment_names]},
    )


# ---------------------------------------------------------------- presentation


def _fmt(value: float | None, spec: str = "+.3f") -> str:
    return "—" if value is None else format(value, spec)


def format_table(entries: Iterable, engine: str = "") -> str:
    """Text table: ours next to the paper's value (the paper quotes the magnitude)."""
    entries = list(entries)
    width = max([16, *(len(b.name) for b in entries)])
    header = (
        f"{'binding energy':<{width}} {'E_bind / eV':>12} {'BSSE / eV':>10} "
        f"{'paper E_bind / eV':>18} {'paper |E| / eV':>15}  engine"
    )
    lines = [header, "-" * len(header)]
    for b in entries:
        paper = b.paper_value_ev
        lines.append(
            f"{b.name:<{width}} {b.e_bind_ev:>+12.3f} {_fmt(b.bsse_ev):>10} "
            f"{_fmt(paper, '+.2f'):>18} {_fmt(abs(paper) if paper is not None else None, '.2f'):>15}"
            f"  {getattr(b, 'engine', engine)}"
        )
    lines.append("negative = bound. 'paper' columns: values quoted in the paper (PBE-D3, CP2K),")
    lines.append("for comparison only; the paper reports the magnitude |E_bind|.")
    return "\n".join(lines)


def to_records(entries: Iterable) -> list[dict]:
    out = []
    for b in entries:
        d = asdict(b) if isinstance(b, BindingEnergy) else dict(b)
        out.append(d)
    return out


def to_json(entries: Iterable) -> str:
    return json.dumps(to_records(entries), indent=1)


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
    """Bar chart of E_bind (ours vs the paper's), PNG or SVG by extension."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise AtomisticsError(f"plot file {path} must end in .png, .svg or .pdf.")
    entries = list(entries)
    names = [b.name for b in entries]
    x = np.arange(len(entries))
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(entries), 3.6))
    ours = [b.e_bind_ev for b in entries]
    paper = [b.paper_value_ev if b.paper_value_ev is not None else np.nan for b in entries]
    ax.bar(x - 0.2, ours, 0.4, label="this run", color="tab:blue")
    ax.bar(x + 0.2, paper, 0.4, label="paper", color="tab:gray")
    for xi, v in zip(x, ours, strict=True):
        ax.annotate(f"{v:.2f}", (xi - 0.2, v), ha="center", va="top", fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, names)
    ax.set_ylabel("E_bind / eV (negative = bound)")
    ax.set_title(title)
    ax.legend(frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
