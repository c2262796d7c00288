"""Worker settings fill only >>key<< placeholders; submitted values reach the engine as given."""

import pytest

from atomistics.errors import AtomisticsError
from atomistics.fireworks.tasks import env_chk, resolve_machine

WORKER = {"_fw_env": {"results_db": "/worker/results.db", "cp2k_command": "mpirun -np 4 cp2k.psmp"}}


def test_a_concrete_submitted_value_is_never_overridden_by_the_worker():
    assert env_chk("/submitted/results.db", WORKER) == "/submitted/results.db"
    assert env_chk(">>results_db<<", WORKER) == "/worker/results.db"
    with pytest.raises(AtomisticsError, match="no env key 'calc_dir'"):
        env_chk(">>calc_dir<<", WORKER)


def test_machine_settings_are_passed_to_the_engine_not_the_environment(monkeypatch):
    monkeypatch.delenv("CP2K_COMMAND", raising=False)
    placeholders = {"cp2k_command": ">>cp2k_command<<", "cp2k_data_dir": ">>cp2k_data_dir<<"}
    # filled where the worker has them (shell words split into a list), else left to discovery
    assert resolve_machine(placeholders, WORKER) == {"command": ["mpirun", "-np", "4", "cp2k.psmp"]}
    assert resolve_machine(placeholders, {}) == {}
    given = {"cp2k_command": ["cp2k.psmp"], "cp2k_data_dir": "/data"}
    assert resolve_machine(given, WORKER) == {"command": ["cp2k.psmp"], "data_dir": "/data"}
    import os

    assert "CP2K_COMMAND" not in os.environ  # nothing exported
