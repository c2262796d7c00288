"""CP2K inputs for the paper's PBE-D3 protocol: settings, basis resolution, generation, validation.

Data flow: structure (ase.Atoms) → :func:`resolve_settings` → :func:`write_cp2k_input`
(cp2k-input-tools generator) → :func:`validate_input` (schema of the installed CP2K,
``cp2k --check`` and semantic checks). See the README section "CP2K inputs".
"""

from atomistics.cp2k.generate import build_input_tree, write_cp2k_input
from atomistics.cp2k.locate import cp2k_version_info, find_cp2k_command, find_cp2k_data_dir
from atomistics.cp2k.protocol import PRESETS, STAGES, Cp2kSettings, resolve_settings
from atomistics.cp2k.validate import validate_input

__all__ = [
    "PRESETS",
    "STAGES",
    "Cp2kSettings",
    "build_input_tree",
    "cp2k_version_info",
    "find_cp2k_command",
    "find_cp2k_data_dir",
    "resolve_settings",
    "validate_input",
    "write_cp2k_input",
]
