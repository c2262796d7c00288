"""Every correction of a reaction energy has one shape: ``ReactionEnergy.corrections``,
stored whole on the reaction row (``data["corrections"]``) with its summary columns."""

import pytest

from atomistics import db as resdb
from atomistics import reactions as rx
from atomistics.errors import AtomisticsError

SERIES = {
    "status": "ok",
    "converged": True,
    "value_ev": 1.25,
    "uncertainty_ev": 0.05,
    "points": [[15.0, 1.6], [20.0, 1.5], [25.0, 1.45]],
}
SOLVATION = {"ddg_ev": 0.31, "sigma_ev": 0.1, "model": "cpcm:7.2", "converged": False}


def _entry():
    e = {"ab": -100.0, "a": -40.0, "b": -50.0}
    entry = rx.compute(
        "ab", "ab", ["a", "b"], e, cp_own_ev=[-40.1, -49.9], cp_ghost_ev=[-40.3, -50.0]
    )
    entry.engine, entry.protocol = "xtb", "quick"
    entry.add_correction("vacuum_series", SERIES)
    entry.add_correction("solvation", SOLVATION)
    return entry


def test_every_correction_is_one_named_record():
    entry = _entry()
    assert (
        set(entry.corrections)
        == set(rx.CORRECTIONS)
        == {
            "counterpoise",
            "vacuum_series",
            "solvation",
        }
    )
    assert entry.bsse_ev == pytest.approx(0.3) and entry.energy_ev == pytest.approx(-9.7)
    assert entry.vacuum_series == SERIES and entry.solvation == SOLVATION
    with pytest.raises(AtomisticsError, match="unknown correction 'edge'"):
        entry.add_correction("edge", {})


def test_record_round_trip_and_the_older_flat_record():
    entry = _entry()
    back = rx.ReactionEnergy.from_record(entry.to_record())
    assert back.corrections == entry.corrections and back.energy_ev == entry.energy_ev
    # a record stored before the corrections were one dict (three keys side by side)
    old = {k: v for k, v in entry.to_record().items() if k != "corrections"}
    old.update(vacuum_series=SERIES, solvation=SOLVATION)
    assert rx.ReactionEnergy.from_record(old).corrections == entry.corrections
    # no correction: an empty dict, and the flat view's bsse_ev is None
    plain = rx.compute("ab", "ab", ["a", "b"], {"ab": -1.0, "a": -0.4, "b": -0.5})
    assert plain.corrections == {} and plain.to_record()["bsse_ev"] is None


def test_the_row_keeps_the_records_and_their_columns(tmp_path):
    db = resdb.connect(tmp_path / "r.db")
    resdb.write_reactions(db, "s", "xtb", "quick", [_entry()])
    (row,) = resdb.reaction_rows(db, "s")
    assert row.data["corrections"] == _entry().corrections
    assert row.bsse_ev == pytest.approx(0.3)
    assert row.e_vacuum_extrapolated_ev == 1.25 and row.vacuum_series_status == "ok"
    assert row.ddg_solv_ev == 0.31 and row.solvation_converged is False
    (back,) = resdb.reactions_from_db(db, "s")
    assert back.corrections == _entry().corrections
