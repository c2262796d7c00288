"""LaunchPad handling: embedded files, conflicts with user files, no credentials printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import atomistics, venv_script
from mini_study import MINI_STUDY


def cli(*args: str, cwd: Path):
    return atomistics(*args, cwd=cwd)


def test_mongodb_errors_never_show_credentials(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    (tmp_path / "lp.yaml").write_text(
        "host: 127.0.0.1\nport: 9\nname: fw\nusername: alice\npassword: s3cret-Pw\n"
        "mongoclient_kwargs: {serverSelectionTimeoutMS: 300}\n"
    )
    (tmp_path / "lp_uri.yaml").write_text(
        "host: mongodb://alice:s3cret-Pw@127.0.0.1:9/fw?serverSelectionTimeoutMS=300\n"
        "uri_mode: true\nname: fw\nmongoclient_kwargs: {serverSelectionTimeoutMS: 300}\n"
    )
    for lp in ("lp.yaml", "lp_uri.yaml"):
        rc, out, err = cli("submit", "mini.yaml", "--launchpad", lp, cwd=tmp_path)
        assert rc == 2, err
        assert "cannot use the LaunchPad" in err and "Traceback" not in err
        assert "s3cret-Pw" not in out + err
    assert not (tmp_path / "FW_config.yaml").exists()  # nothing written for a MongoDB LaunchPad


def test_user_files_are_never_overwritten(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    (tmp_path / "FW_config.yaml").write_text("ECHO_TEST: mine\n")
    rc, out, err = cli("submit", "mini.yaml", cwd=tmp_path)
    assert rc == 2 and "EmbeddedMongoClient" in err  # says which lines to add
    assert (tmp_path / "FW_config.yaml").read_text() == "ECHO_TEST: mine\n"
    (tmp_path / "FW_config.yaml").unlink()
    (tmp_path / "my_launchpad.yaml").write_text("host: db.example.org\nname: fw\n")
    rc, out, err = cli("submit", "mini.yaml", cwd=tmp_path)
    assert rc == 2 and "--launchpad my_launchpad.yaml" in err
    assert (tmp_path / "my_launchpad.yaml").read_text() == "host: db.example.org\nname: fw\n"


def test_bad_study_fails_before_anything_is_written(tmp_path):
    (tmp_path / "bad.yaml").write_text(MINI_STUDY.replace("species: Li+", "species: Xx+"))
    rc, out, err = cli("submit", "bad.yaml", cwd=tmp_path)
    assert rc == 2 and "line" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_clients_in_one_process_share_one_store(tmp_path):
    """The stock mongomock-persistence gives each client its own stale copy; ours does not."""
    code = f"""
import os
os.chdir({str(tmp_path)!r})
from atomistics.fireworks.launchpad import ensure_embedded, open_launchpad
from pathlib import Path
lp_file, _ = ensure_embedded(Path('.'))
a = open_launchpad(lp_file, Path('.')).launchpad
b = open_launchpad(lp_file, Path('.')).launchpad
from fireworks import Firework, ScriptTask
a.add_wf(Firework(ScriptTask.from_str('true'), name='one'))
print(b.fireworks.count_documents({{}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "1"
    # and it was written back at exit
    assert '"name": "one"' in (tmp_path / "launchpad.json").read_text()


def _fireworks_script(name: str, *args: str, cwd: Path):
    return venv_script(name, *args, cwd=cwd)


def _one_line_error(rc: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_truncated_store_is_one_line_for_every_tool(tmp_path):
    """A launchpad.json cut short (full disk, killed writer): rlaunch, lpad, status, submit."""
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    rc, out, err = cli("submit", "mini.yaml", "--db", "results.db", cwd=tmp_path)
    assert rc == 0, err
    store = tmp_path / "launchpad.json"
    text = store.read_text()
    store.write_text(text[: len(text) // 2])
    truncated = store.read_bytes()
    for tool, args in (
        ("rlaunch", ("singleshot",)),
        ("lpad", ("get_fws",)),
    ):
        rc, out, err = _fireworks_script(tool, *args, cwd=tmp_path)
        line = _one_line_error(rc, err)
        assert "not valid JSON" in line and "launchpad.json.broken" in line, (tool, line)
    for args in (("status",), ("submit", "mini.yaml", "--db", "results.db")):
        rc, out, err = cli(*args, cwd=tmp_path)
        assert "launchpad.json.broken" in _one_line_error(rc, err), args
    assert store.read_bytes() == truncated  # nothing rewrote or reset it
    # the fix the message names works
    store.rename(tmp_path / "launchpad.json.broken")
    rc, out, err = cli("submit", "mini.yaml", "--db", "results.db", cwd=tmp_path)
    assert rc == 0 and "submitted workflow" in out, err


def test_empty_store_is_refused_not_reset(tmp_path):
    """A 0-byte launchpad.json used to be taken as a new LaunchPad and reset by submit."""
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    rc, out, err = cli("submit", "mini.yaml", "--db", "results.db", cwd=tmp_path)
    assert rc == 0, err
    store = tmp_path / "launchpad.json"
    store.write_bytes(b"")
    rc, out, err = cli("submit", "mini.yaml", "--db", "results.db", cwd=tmp_path)
    line = _one_line_error(rc, err)
    assert "is empty (0 bytes)" in line and f"mv {store} {store}.broken" in line
    assert store.read_bytes() == b""
    rc, out, err = _fireworks_script("rlaunch", "singleshot", cwd=tmp_path)
    assert "is empty (0 bytes)" in _one_line_error(rc, err)
    assert store.read_bytes() == b""


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[]", "not a JSON object"),
        (b'{"$oid": 1}', "not a LaunchPad store"),
        (bytes(range(256)) * 2, "not text (binary bytes)"),
        (b"   \n", "holds only blanks"),
    ],
)
def test_broken_store_contents_are_one_line(tmp_path, content, problem):
    """Whatever is in launchpad.json, the FireWorks tools stop with one line (no traceback)."""
    (tmp_path / "my_launchpad.yaml").write_text(f"host: embedded:{tmp_path / 'launchpad.json'}\n")
    (tmp_path / "FW_config.yaml").write_text(
        'MongoClient: {"@module": atomistics.fireworks.embedded, "@callable": EmbeddedMongoClient}\n'
        f"LAUNCHPAD_LOC: {tmp_path / 'my_launchpad.yaml'}\n"
    )
    (tmp_path / "launchpad.json").write_bytes(content)
    rc, out, err = _fireworks_script("lpad", "get_fws", cwd=tmp_path)
    assert problem in _one_line_error(rc, err)
    assert (tmp_path / "launchpad.json").read_bytes() == content
