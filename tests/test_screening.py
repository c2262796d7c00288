"""Site screening that converges (atomistics.execution.screening) on analytic model surfaces."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.geometry import find_mic, get_distances

from atomistics.errors import AtomisticsError
from atomistics.execution.screening import (
    enumerate_screening_placements,
    free_region_mask,
    relax_free_region,
    screen_placements,
)
from atomistics.structures import build_limmt_slab, build_molecule
from atomistics.structures.clay import _classify_oxygens
from atomistics.structures.exchange import build_exchange_structures, clear_vacuum, slab_in_cell

# ---------------------------------------------------------------- a model surface with a planted site

SPACING, N = 2.5, 4  # 4×4 square "surface" in a 10 Å × 10 Å cell, at z = 10 Å
Z_SURF = 10.0
DECOY, MEDIUM, PLANTED, EMPTY1, EMPTY2 = (
    (1.25, 1.25),
    (1.25, 6.25),
    (6.25, 6.25),
    (6.25, 1.25),
    (3.75, 3.75),
)
# wells felt by the adsorbate atom: (centre, depth eV, width Å)
WELLS = [
    (np.array([*DECOY, 12.0]), 0.6, 1.5),  # broad decoy: best at the nominal site, shallow
    (np.array([*MEDIUM, 12.0]), 0.45, 1.0),
    (np.array([PLANTED[0] + 0.5, PLANTED[1], 11.8]), 1.0, 0.35),  # narrow, off the nominal point
]
K_SPRING = 5.0  # eV/Å², surface atoms tied to their anchors
STRAIN = 0.3  # Å: the four atoms around the decoy start 0.3 Å off their anchors (0.9 eV of strain)


def _surface_grid():
    return np.array([[i * SPACING, j * SPACING, Z_SURF] for i in range(N) for j in range(N)])


def _anchors():
    anchors = _surface_grid()
    for k, (x, y, _) in enumerate(anchors):
        if (x, y) in ((0.0, 0.0), (2.5, 0.0), (0.0, 2.5), (2.5, 2.5)):
            anchors[k, 0] += STRAIN
    return anchors


class PlantedSurface(Calculator):
    """E = Σ ½k|r_i − r_i⁰|² (surface) − Σ_a Σ_w D_w exp(−|r_a − c_w|²/(2 s_w²)) (adsorbate, min. image)."""

    implemented_properties = ("energy", "forces")

    def __init__(self, anchors):
        super().__init__()
        self.anchors = np.asarray(anchors, float)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pos = self.atoms.positions
        n = len(self.anchors)
        forces = np.zeros_like(pos)
        dr = pos[:n] - self.anchors
        energy = 0.5 * K_SPRING * float(np.sum(dr**2))
        forces[:n] = -K_SPRING * dr
        for a in range(n, len(pos)):
            for centre, depth, width in WELLS:
                d, _ = find_mic(pos[a] - centre, self.atoms.cell, self.atoms.pbc)
                g = depth * np.exp(-np.dot(d, d) / (2 * width**2))
                energy -= g
                forces[a] -= g * d / width**2
        self.results = {"energy": energy, "forces": forces}


def _model_slab():
    slab = Atoms(["Cu"] * N * N, positions=_surface_grid(), cell=[10.0, 10.0, 25.0], pbc=(1, 1, 0))
    slab.info["charge"] = 0
    return slab


def _placement(slab, xy, height, label):
    atoms = slab + Atoms("O", positions=[[xy[0], xy[1], Z_SURF + height]])
    atoms.arrays["adsorbate"] = np.arange(len(atoms)) >= len(slab)
    atoms.info.update(
        site=label,
        site_index=0,
        orientation="-",
        azimuth=0.0,
        height=height,
        label=f"{label} h{height}",
    )
    return atoms


@pytest.fixture()
def model():
    slab = _model_slab()
    sites = {
        "decoy": DECOY,
        "medium": MEDIUM,
        "planted": PLANTED,
        "empty1": EMPTY1,
        "empty2": EMPTY2,
    }
    placements = [_placement(slab, xy, h, name) for name, xy in sites.items() for h in (2.0, 2.6)]
    return slab, placements, PlantedSurface(_anchors())


def test_calculator_forces_match_finite_differences(model):
    slab, placements, calc = model
    atoms = placements[4].copy()
    atoms.positions[-1] += [0.3, -0.2, 0.1]
    atoms.positions[0] += [0.1, 0.0, 0.05]
    atoms.calc = calc
    from ase.calculators.fd import calculate_numerical_forces

    assert np.allclose(atoms.get_forces(), calculate_numerical_forces(atoms, eps=1e-4), atol=1e-5)


def test_screening_finds_the_planted_site_that_the_prescreen_misses(model, tmp_path):
    slab, placements, calc = model
    result = screen_placements(placements, calc, slab, n_relax=3, radius=3.0, logdir=tmp_path)
    pre_best = min(result.records, key=lambda r: r.prescreen_relative)
    assert pre_best.site == "decoy"  # single points alone would pick the broad decoy
    best = result.best
    assert best.site == "planted" and best.stage == "relaxed"
    assert best.relative_energy == pytest.approx(-1.0, abs=1e-3)  # the planted well depth
    assert best.converged and best.fmax <= 0.05 and best.n_steps > 0
    relaxed = result.relaxed
    assert len(relaxed) == 3 and all(r.converged for r in relaxed)
    decoy = min((r for r in relaxed if r.site == "decoy"), key=lambda r: r.relative_energy)
    # framework strain around the decoy (0.9 eV) cancels against the same-region reference
    assert decoy.relative_energy == pytest.approx(-0.6, abs=2e-3)
    assert decoy.reference_converged and decoy.n_free == 5
    assert result.by_site()["planted"] == pytest.approx(-1.0, abs=1e-3)
    sites = result.by_site()
    assert result.site_spread == pytest.approx(max(sites.values()) - min(sites.values()))
    assert result.spread == pytest.approx(
        max(r.relative_energy for r in relaxed) - min(r.relative_energy for r in relaxed)
    )
    # every record carries the fields the study needs
    for r in result.records:
        d = r.as_dict()
        for key in ("site", "orientation", "height", "energy", "fmax", "converged", "n_steps"):
            assert key in d
    assert sum(r.stage == "prescreen" for r in result.records) == len(placements) - 3
    assert list(tmp_path.glob("relax-*.log")) and list(tmp_path.glob("reference-*.log"))


def test_counting_framework_relaxation_as_adsorption_would_pick_the_decoy(model):
    """The test above can fail: with an unrelaxed reference the strained decoy region wins."""
    slab, placements, calc = model
    result = screen_placements(placements, calc, slab, n_relax=3, radius=3.0)
    frozen = relax_free_region(slab, calc, np.zeros(len(slab), bool))
    naive = {r.site: r.energy - frozen.energy for r in result.relaxed}
    assert min(naive, key=naive.get) == "decoy"
    assert naive["decoy"] == pytest.approx(-0.6 - 4 * 0.5 * K_SPRING * STRAIN**2, abs=2e-3)


def test_prerelaxed_reference_mode(model):
    slab, placements, calc = model
    relaxed_slab = relax_free_region(slab, calc, np.ones(len(slab), bool), fmax=1e-4).atoms
    with pytest.raises(AtomisticsError, match="not relaxed|forces up to"):
        screen_placements(
            placements, calc, slab, n_relax=3, radius=3.0, reference_mode="prerelaxed"
        )
    moved = []
    for p in placements:
        q = p.copy()
        q.positions[: len(slab)] = relaxed_slab.positions
        moved.append(q)
    result = screen_placements(
        moved,
        calc,
        relaxed_slab,
        n_relax=3,
        radius=3.0,
        reference_mode="prerelaxed",
        fragment_energy=0.25,
    )
    assert result.best.site == "planted"
    assert result.best.relative_energy == pytest.approx(-1.25, abs=1e-3)


def test_too_few_relaxations_are_reported_honestly(model):
    slab, placements, calc = model
    result = screen_placements(placements, calc, slab, n_relax=1, radius=3.0, max_steps=2)
    assert result.best.site == "decoy"  # only the pre-screen winner was relaxed
    assert not result.best.converged and result.best.n_steps == 2
    assert "NOT converged" in result.table() and "only pre-screened" in result.table()


def test_table_json_and_plot(model, tmp_path):
    slab, placements, calc = model
    backend = matplotlib.get_backend()
    result = screen_placements(placements, calc, slab, n_relax=3, radius=3.0)
    table = result.table()
    assert table.splitlines()[2].startswith(result.best.label)
    assert f"{result.best.relative_energy:+.3f} eV" in table
    data = json.loads(result.write_json(tmp_path / "screen.json").read_text())
    assert data["best"]["site"] == result.best.site and len(data["records"]) == len(placements)
    png = result.plot(tmp_path / "screen.png")
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    assert matplotlib.get_backend() == backend


def test_screening_refuses_mismatched_inputs(model):
    slab, placements, calc = model
    other = slab.copy()
    other.set_cell([10.0, 10.0, 30.0], scale_atoms=False)
    with pytest.raises(AtomisticsError, match="different cells"):
        screen_placements(placements, calc, other)
    with pytest.raises(AtomisticsError, match="no placements"):
        screen_placements([], calc, slab)
    with pytest.raises(AtomisticsError, match="reference_mode"):
        screen_placements(placements, calc, slab, reference_mode="none")


# ---------------------------------------------------------------- free-region mask


def test_free_region_mask_picks_exactly_the_atoms_within_radius_across_the_boundary():
    slab = _model_slab()
    atoms = slab + Atoms("O", positions=[[9.7, 9.7, 11.0]])
    mask = free_region_mask(atoms, [len(slab)], 2.5)
    grid = _surface_grid()
    # by hand: (0,0) via the (+x,+y) image 1.09 Å; (7.5,0) and (0,7.5) via one image 2.44 Å;
    # (7.5,7.5) is 3.27 Å away, (0,2.5) 3.03 Å
    expected = {(0.0, 0.0), (7.5, 0.0), (0.0, 7.5)}
    got = {tuple(grid[k, :2]) for k in np.flatnonzero(mask[: len(slab)])}
    assert got == expected and mask[len(slab)]
    assert free_region_mask(atoms, [len(slab)], 0.5).sum() == 1  # adsorbate only
    with pytest.raises(AtomisticsError, match="indices"):
        free_region_mask(atoms, [99], 2.0)
    with pytest.raises(AtomisticsError, match="radius"):
        free_region_mask(atoms, [16], -1.0)


def test_free_region_mask_on_the_limmt_exchange_product():
    ex = build_exchange_structures(build_limmt_slab())
    p = ex.product
    ads = np.flatnonzero(p.arrays["adsorbate"])
    radius = 4.0
    mask = free_region_mask(p, ads, radius)
    assert mask[ads].all()  # FSI⁻ and its Li⁺
    clay = p.arrays["clay"].astype(bool)
    clay_idx = np.flatnonzero(clay)
    kinds = _classify_oxygens(p[clay_idx])
    z_mid = p.positions[clay_idx][np.isin(p.numbers[clay_idx], (12, 13)), 2].mean()
    basal_top = {int(clay_idx[k]) for k in kinds["basal"] if p.positions[clay_idx[k], 2] > z_mid}
    hydroxyl_o = {int(clay_idx[k]) for k in kinds["hydroxyl"]}
    _, d = get_distances(p.positions[ads], p.positions, p.cell, p.pbc)
    near = d.min(axis=0) <= radius
    freed = set(np.flatnonzero(mask)) - set(ads)
    # nothing of the framework interior moves
    assert not any(p[k].symbol in ("Si", "Al", "Mg") for k in freed)
    assert all(p.positions[k, 2] > z_mid for k in freed)
    # every top basal O within reach is free, none beyond
    assert {k for k in basal_top if near[k]} == {k for k in freed if k in basal_top}
    # O and H of a hydroxyl move together; top-face Li⁺ within reach are free
    for k in freed:
        if p[k].symbol == "H":
            ohs = sorted(hydroxyl_o)
            assert ohs[int(np.argmin(p.get_distances(k, ohs, mic=True)))] in freed
    top_li = [
        k for k in np.flatnonzero(~clay & ~p.arrays["adsorbate"]) if p.positions[k, 2] > z_mid
    ]
    assert {k for k in top_li if near[k]} <= freed
    assert freed <= basal_top | hydroxyl_o | set(np.flatnonzero(p.numbers == 1)) | set(top_li)
    assert len(freed) >= 6
    # the reference slab relaxes the same atoms: the mask of its first atoms
    assert mask[: len(ex.slab)].sum() == len(freed)


def test_limmt_placements_share_one_cell_with_the_requested_vacuum():
    slab = build_limmt_slab()
    fsi = build_molecule("FSI-")
    placements = enumerate_screening_placements(
        slab,
        fsi,
        sites=("cavity",),
        azimuths=(0.0,),
        heights=(2.5, 3.2),
        counter_ion="Li+",
        n_counter_ion_positions=2,
    )
    assert len(placements) >= 4
    cell = placements[0].cell.array
    assert all(np.allclose(p.cell.array, cell) for p in placements)
    assert min(clear_vacuum(p) for p in placements) == pytest.approx(15.0, abs=1e-9)
    assert {p.info["height"] for p in placements} == {2.5, 3.2}
    assert {p.info["counter_ion_rank"] for p in placements} == {0, 1}
    assert all(p.info["charge"] == 0 for p in placements)
    labels = [p.info["label"] for p in placements]
    assert len(set(labels)) == len(labels)
    ref = slab_in_cell(slab, placements[0])
    assert np.allclose(ref.positions, placements[-1].positions[: len(slab)])


def test_stock_ase_calculator_emt_adatom_prefers_the_fourfold_hollow():
    """EMT Au adatom on Cu(100): the 4-fold hollow beats bridge and top (coordination)."""
    from ase.build import add_adsorbate, fcc100
    from ase.calculators.emt import EMT

    slab = fcc100("Cu", size=(2, 2, 3), vacuum=8.0)
    slab.pbc = (True, True, False)
    placements = []
    for site in ("ontop", "bridge", "hollow"):
        atoms = slab.copy()
        add_adsorbate(atoms, "Au", 2.0, site)
        atoms.arrays["adsorbate"] = np.arange(len(atoms)) >= len(slab)
        atoms.info.update(site=site, site_index=0, height=2.0)
        placements.append(atoms)
    result = screen_placements(placements, EMT(), slab, n_relax=3, radius=3.0)
    assert result.best.site == "hollow" and result.best.converged
    e = {r.site: r.relative_energy for r in result.relaxed}
    assert e["hollow"] < e["bridge"] < e["ontop"]
    assert all(r.fmax <= 0.05 for r in result.relaxed)


def test_log_file_symlinked_out_of_logdir_is_refused(model, tmp_path):
    """Every log the screening writes stays inside ``logdir`` (atomistics.paths.inside)."""
    slab, placements, calc = model
    outside = tmp_path / "outside.log"
    logdir = tmp_path / "logs"
    logdir.mkdir()
    (logdir / "reference-000.log").symlink_to(outside)
    with pytest.raises(AtomisticsError, match="outside the output folder"):
        screen_placements(placements, calc, slab, n_relax=1, radius=3.0, logdir=logdir)
    assert not outside.exists()


class _PullApartPair(Calculator):
    """E = k (d − d₀)² on the first two atoms (d₀ = 2.6 Å): a relaxation that breaks S–F."""

    implemented_properties = ("energy", "forces")

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        v = self.atoms.positions[1] - self.atoms.positions[0]
        d = float(np.linalg.norm(v))
        forces = np.zeros((len(self.atoms), 3))
        forces[0], forces[1] = 4.0 * (d - 2.6) * v / d, -4.0 * (d - 2.6) * v / d
        self.results = {"energy": 2.0 * (d - 2.6) ** 2, "forces": forces}


def test_screening_relaxation_is_the_engines_loop_so_a_broken_bond_is_not_converged():
    """The screening relaxes through atomistics.engines.relaxation.relax: fmax is reached
    (the forces vanish at d = 2.6 Å), yet the adsorbate's S–F bond broke, so the placement
    is NOT converged and says why, exactly as the engine's own relaxation would."""
    sf = Atoms("SF", positions=[[5, 5, 5], [5, 5, 6.64]], cell=[10, 10, 10], pbc=True)
    sf.arrays["adsorbate"] = np.ones(2, bool)
    out = relax_free_region(sf, _PullApartPair(), np.ones(2, bool), fmax=0.01, max_steps=200)
    assert out.fmax <= 0.01  # the optimiser itself finished
    assert np.isclose(
        np.linalg.norm(out.atoms.positions[1] - out.atoms.positions[0]), 2.6, atol=0.01
    )
    assert not out.converged
    assert any("bonding of the molecule/adsorbate changed" in w for w in out.warnings)

    # an intact relaxation (stretch only to 1.80 Å, still bonded) is converged, no warning
    class _Short(_PullApartPair):
        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            Calculator.calculate(self, atoms, properties, system_changes)
            v = self.atoms.positions[1] - self.atoms.positions[0]
            d = float(np.linalg.norm(v))
            forces = np.zeros((len(self.atoms), 3))
            forces[0], forces[1] = 4.0 * (d - 1.8) * v / d, -4.0 * (d - 1.8) * v / d
            self.results = {"energy": 2.0 * (d - 1.8) ** 2, "forces": forces}

    ok = relax_free_region(sf, _Short(), np.ones(2, bool), fmax=0.01, max_steps=200)
    assert ok.converged and ok.warnings == []


def test_placement_hashes_follow_the_input_and_the_calculator():
    """input_hash is execution.hashing's content hash: it changes with the calculator's
    settings and not with anything else of the run."""
    from ase.calculators.lj import LennardJones

    slab = Atoms("H4", positions=_surface_grid()[:4], cell=[10, 10, 20], pbc=[True, True, False])
    ads = Atoms("He", positions=[[1.25, 1.25, 12.0]])
    place = slab + ads
    place.arrays["adsorbate"] = np.array([False] * 4 + [True])

    def run(settings):
        res = screen_placements(
            [place],
            LennardJones(),
            slab,
            n_relax=0,
            calculator_id=dict(engine="toy", engine_version="1", settings=settings),
        )
        return res.records[0].input_hash

    a, b, c = run({"k": 1}), run({"k": 1}), run({"k": 2})
    assert a == b and a != c and len(a) == 64


class _Counting(PlantedSurface):
    """The planted surface, counting its evaluations."""

    calls = 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        type(self).calls += 1
        super().calculate(atoms, properties, system_changes)


def test_every_stage_is_a_results_database_row_and_a_rerun_continues(model, tmp_path):
    """Each stage (frozen reference, pre-screens, relaxations, same-region references) is
    stored as a calculation row under its content hash; the same screen run again reads
    every stage back (no evaluation) and gives the same records."""
    from atomistics import db as resdb
    from atomistics.cli.screen import _DatabaseStore

    slab, placements, _ = model
    db = resdb.connect(tmp_path / "results.db")
    ident = dict(engine="toy", engine_version="toy-1", settings={}, study="s", system="o_on_cu")

    def screen():
        _Counting.calls = 0
        res = screen_placements(
            placements,
            _Counting(_anchors()),
            slab,
            n_relax=2,
            radius=3.0,
            calculator_id=ident,
            store=_DatabaseStore(db),
        )
        return res, _Counting.calls

    first, calls_first = screen()
    rows = resdb.calculation_rows(db, "s")
    stages = sorted(r.stage for r in rows)
    # 1 frozen reference + 10 pre-screens (single points) + 2 relaxations + 2 references
    assert stages.count("screen-prescreen") == len(placements) == 10
    assert stages.count("screen-relax") == 2 and stages.count("screen-reference") == 3
    by_hash = {r.calc_hash: r for r in rows}
    for rec in first.records:
        row = by_hash[rec.input_hash]
        assert row.energy == pytest.approx(rec.energy, abs=1e-12)
        assert row.name == f"o_on_cu@{rec.label}"
    for rec in first.relaxed:
        row = by_hash[rec.input_hash]
        assert row.stage == "screen-relax" and bool(row.geo_converged) == rec.converged
        assert row.relax_fmax == pytest.approx(rec.fmax) and row.n_steps == rec.n_steps
    assert calls_first > 20

    again, calls_again = screen()
    assert calls_again == 0
    assert len(resdb.calculation_rows(db, "s")) == len(rows)  # nothing stored twice
    for a, b in zip(first.records, again.records, strict=True):
        assert (a.input_hash, a.stage, a.converged, a.n_steps) == (
            b.input_hash,
            b.stage,
            b.converged,
            b.n_steps,
        )
        assert a.relative_energy == pytest.approx(b.relative_energy, abs=1e-12)
        assert a.fmax == pytest.approx(b.fmax, abs=1e-12)
        assert np.allclose(a.atoms.positions, b.atoms.positions, atol=1e-12)
    assert any("15 stage(s) read from the results database" in n for n in again.notes)
