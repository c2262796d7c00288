"""Validate a CP2K input before anything is submitted.

Three layers, all reported with the section path, keyword and line:

1. schema: the file is parsed by cp2k-input-tools against the ``cp2k --xml`` schema of the
   CP2K that will run (cached, see :mod:`atomistics.cp2k.locate`); without an installed CP2K
   the schema bundled with cp2k-input-tools is used and a warning says so;
2. CP2K itself: ``cp2k --check FILE`` (about a second; it catches e.g. a ``&KIND`` without a
   name, which the schema check accepts);
3. semantic checks neither can express: OT with k-points, CELL vs POISSON periodicity, the
   Poisson solver vs the periodicity, the MT box size, smearing without added MOs, and the
   electron count vs UKS/multiplicity.
"""

from __future__ import annotations

import functools
import math
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from atomistics.cp2k.locate import _run, cp2k_binary, cp2k_schema, find_cp2k_command
from atomistics.errors import AtomisticsError
from atomistics.structures.spin import (
    lowest_multiplicity,
    multiplicity_problem,
    needs_unrestricted,
)

# Density reach (Å) assumed by the MT box check for an arbitrary input file; the presets use
# at least this (see protocol.molecule_box), so generated inputs always pass.
MT_DENSITY_RADIUS = 3.0


def _bundled_schema() -> tuple[Path, dict]:
    import cp2k_input_tools

    path = Path(cp2k_input_tools.DEFAULT_CP2K_INPUT_XML)
    return path, {
        "cp2k_version": None,
        "cp2k_revision": None,
        "cp2k_binary": None,
        "schema": str(path),
        "schema_source": f"bundled with cp2k-input-tools {cp2k_input_tools.__version__}",
    }


def schema_for(command: list[str] | None) -> tuple[Path, dict]:
    """Schema of the CP2K that will run, or the bundled one when there is none."""
    if not command:
        return _bundled_schema()
    path, info = cp2k_schema(command)
    return path, {
        "cp2k_version": info["version"],
        "cp2k_revision": info["revision"],
        "cp2k_binary": info["binary"],
        "schema": str(path),
        "schema_source": f"{Path(info['binary']).name} --xml",
    }


@functools.lru_cache(maxsize=4)
def schema_root(schema: str) -> ET.Element:
    return ET.parse(schema).getroot()


def _names(node: ET.Element) -> list[str]:
    return [n.text for n in node.iterfind("./NAME")]


def _child(node: ET.Element, tag: str, name: str) -> ET.Element | None:
    for sub in node.iterfind(f"./{tag}"):
        if name.upper() in _names(sub):
            return sub
    return None


def merge_raw_overrides(tree: dict, raw: dict, schema: Path) -> dict:
    """Merge a raw ``cp2k:`` override tree into ``tree``; every key must exist in the schema."""
    root = schema_root(str(schema))

    def norm(key: str) -> str:
        return str(key).lstrip("+&").upper()

    def merge(target: dict, extra: dict, node: ET.Element, path: str) -> None:
        for key, value in extra.items():
            name = norm(key)
            where = f"{path}/{name}" if path else name
            if key == "_":
                target["_"] = value
                continue
            sec = _child(node, "SECTION", name)
            if sec is not None and isinstance(value, dict | list):
                tkey = f"+{name.lower()}"
                if sec.get("repeats") == "yes":
                    existing = target.setdefault(tkey, [])
                    if isinstance(existing, dict):
                        existing = target[tkey] = [existing]
                    if isinstance(value, list):
                        for item in value:
                            sub: dict = {}
                            merge(sub, item, sec, where)
                            existing.append(sub)
                    elif all(
                        k == "_"
                        or _child(sec, "SECTION", norm(k)) is not None
                        or _child(sec, "KEYWORD", norm(k)) is not None
                        for k in value
                    ):  # the body of the one section of this kind (e.g. FORCE_EVAL)
                        if len(existing) != 1:
                            raise AtomisticsError(
                                f"override cp2k.{where}: the input has {len(existing)} {name} "
                                "sections; give {parameter: {...}} or a list."
                            )
                        merge(existing[0], value, sec, where)
                    else:  # {label: {...}}: merge into the section with that parameter
                        for label, body in value.items():
                            match = [e for e in existing if str(e.get("_")) == str(label)]
                            if not match or not isinstance(body, dict):
                                raise AtomisticsError(
                                    f"override cp2k.{where}: no {name} section {label!r} in the "
                                    f"generated input (have {[e.get('_') for e in existing]}); "
                                    "give a list to add new sections."
                                )
                            merge(match[0], body, sec, f"{where} {label}")
                else:
                    if not isinstance(value, dict):
                        raise AtomisticsError(
                            f"override cp2k.{where}: {name} is a single section; give a mapping."
                        )
                    merge(target.setdefault(tkey, {}), value, sec, where)
                continue
            if _child(node, "KEYWORD", name) is not None:
                target[name.lower()] = value
                continue
            options = [n for s in node.iterfind("./SECTION") for n in _names(s)]
            options += [n for k in node.iterfind("./KEYWORD") for n in _names(k)]
            import difflib

            close = difflib.get_close_matches(name, options, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise AtomisticsError(
                f"override cp2k.{where}: CP2K has no keyword or section {name} in "
                f"{path or 'the top level'}{hint}; check the CP2K manual for this version."
            )

    merge(tree, raw, root, "")
    return tree


class _LineMap:
    """Line numbers of sections and keywords of an input file (for messages only)."""

    def __init__(self, text: str):
        self.lines: dict[tuple[str, ...], int] = {}
        stack: list[str] = []
        for no, raw in enumerate(text.splitlines(), start=1):
            line = re.split(r"[!#]", raw, maxsplit=1)[0].strip()
            if not line:
                continue
            word = line.split()[0].upper()
            if word.startswith("&END"):
                if stack:
                    stack.pop()
            elif word.startswith("&"):
                stack.append(word[1:])
                self.lines.setdefault(tuple(stack), no)
            else:
                self.lines.setdefault((*stack, word), no)

    def find(self, *path: str) -> int | None:
        path = tuple(p.upper() for p in path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def _get(d: dict, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def _on(v) -> bool:
    """A section parameter / logical keyword is on (absent section -> caller decides)."""
    if isinstance(v, list):
        v = v[0] if v else True
    return v not in (False, "OFF", "off", ".FALSE.")


class _Report:
    """Errors and warnings of the semantic checks, with ``file:line`` locations."""

    def __init__(self, text: str, fname: str):
        self.lines = _LineMap(text)
        self.fname = fname
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def at(self, *path: str) -> str:
        no = self.lines.find(*path)
        return f"{self.fname}:{no}" if no else self.fname


_FP = "FORCE_EVAL"


def _check_scf(dft: dict, r: _Report) -> None:
    """OT with k-points, smearing with OT, smearing without ADDED_MOS."""
    scf = dft.get("+scf", {})
    ot = scf.get("+ot")
    ot_on = ot is not None and _on(ot.get("_", True))
    scheme = _as_list(_get(dft, "+kpoints", "scheme", default=["NONE"]))
    kp_on = str(scheme[0]).upper() not in ("NONE", "GAMMA")
    if (
        kp_on
        and str(scheme[0]).upper() == "MONKHORST-PACK"
        and [int(x) for x in scheme[1:4]] == [1, 1, 1]
    ):
        kp_on = False
    if ot_on and kp_on:
        r.errors.append(
            f"{r.at(_FP, 'DFT', 'SCF', 'OT')}: {_FP}/DFT/SCF/OT with {_FP}/DFT/KPOINTS SCHEME "
            f"{' '.join(map(str, scheme))}: CP2K aborts with 'OT not possible with kpoint "
            "calculations'; use diagonalisation with &MIXING and &SMEAR (and ADDED_MOS)."
        )
    smear = scf.get("+smear")
    if smear is not None and _on(smear.get("_", True)):
        if ot_on:
            r.errors.append(
                f"{r.at(_FP, 'DFT', 'SCF', 'SMEAR')}: {_FP}/DFT/SCF/SMEAR with OT: smearing needs "
                "diagonalisation; remove &OT or &SMEAR."
            )
        added = _as_list(scf.get("added_mos", [0]))
        if not added or int(added[0]) == 0:
            r.errors.append(
                f"{r.at(_FP, 'DFT', 'SCF', 'SMEAR')}: {_FP}/DFT/SCF/SMEAR without ADDED_MOS: "
                "smearing needs empty orbitals; set ADDED_MOS (e.g. 20 % of the occupied)."
            )


def _check_poisson(dft: dict, subsys: dict, r: _Report) -> None:
    """CELL vs POISSON periodicity, solver vs periodicity, dipole correction, the MT box."""
    cell = subsys.get("+cell", {})
    cell_per = str(cell.get("periodic", "XYZ")).upper()
    poisson = dft.get("+poisson", {})
    pois_per = str(poisson.get("periodic", "XYZ")).upper()
    solver = str(poisson.get("psolver", poisson.get("poisson_solver", "PERIODIC"))).upper()
    if cell_per != pois_per:
        r.errors.append(
            f"{r.at(_FP, 'DFT', 'POISSON', 'PERIODIC')}: {_FP}/DFT/POISSON/PERIODIC {pois_per} "
            f"does not match {_FP}/SUBSYS/CELL/PERIODIC {cell_per} (CP2K only warns); make them "
            "equal."
        )
    allowed = {
        "PERIODIC": {"XYZ"},
        "MULTIPOLE": {"NONE"},
        "WAVELET": {"NONE", "XZ", "XYZ"},
        "MT": {"NONE", "X", "Y", "Z", "XY", "XZ", "YZ"},
    }.get(solver)
    if allowed is not None and pois_per not in allowed:
        r.errors.append(
            f"{r.at(_FP, 'DFT', 'POISSON', 'PSOLVER')}: {_FP}/DFT/POISSON/PSOLVER {solver} does "
            f"not support PERIODIC {pois_per} (allowed: {', '.join(sorted(allowed))})."
        )
    if dft.get("surface_dipole_correction") not in (None, False) and pois_per != "XYZ":
        r.errors.append(
            f"{r.at(_FP, 'DFT', 'SURFACE_DIPOLE_CORRECTION')}: SURFACE_DIPOLE_CORRECTION needs a "
            f"3D-periodic Poisson solver (PERIODIC XYZ), got {pois_per}."
        )
    coords, _ = _coords(subsys)
    lengths = _cell_lengths(cell) if solver == "MT" and coords else None
    for axis in range(3) if lengths else ():
        vals = [c[axis] for c in coords]
        span = max(vals) - min(vals)
        need = 2 * (span + 2 * MT_DENSITY_RADIUS)
        if lengths[axis] + 1e-6 < need:
            r.errors.append(
                f"{r.at(_FP, 'SUBSYS', 'CELL')}: {_FP}/SUBSYS/CELL {'ABC'[axis]} = "
                f"{lengths[axis]:.2f} Å is too small for PSOLVER MT: MT needs the box at least "
                f"twice the extent of the density (span {span:.2f} Å + 2 × {MT_DENSITY_RADIUS} Å "
                f"→ ≥ {need:.2f} Å); enlarge the cell or use WAVELET."
            )


def _check_kinds_and_spin(dft: dict, subsys: dict, r: _Report) -> None:
    """Bare-symbol kind labels; electron count vs MULTIPLICITY and UKS (the shared rule)."""
    _, kinds_of_atoms = _coords(subsys)
    valence: dict[str, int] = {}
    for kind in _as_list(subsys.get("+kind", [])):
        label = str(kind.get("_", ""))
        if re.fullmatch(r"[A-Z][a-z]?", label):
            r.warnings.append(
                f"{r.at(_FP, 'SUBSYS', 'KIND')}: KIND {label} is a bare element symbol: pymatgen "
                f"(and custodian) read it back as something else (F -> False); use a label like "
                f"{label}1 with ELEMENT {label}."
            )
        pot = str(_as_list(kind.get("potential", [""]))[0])
        m = re.search(r"-q(\d+)$", pot)
        if m:
            valence[label.upper()] = int(m.group(1))
    if not kinds_of_atoms or not all(k.upper() in valence for k in kinds_of_atoms):
        return
    charge = int(_as_list(dft.get("charge", [0]))[0])
    n_el = sum(valence[k.upper()] for k in kinds_of_atoms) - charge
    uks = any(
        dft.get(k) not in (None, False)
        for k in ("uks", "lsd", "unrestricted_kohn_sham", "spin_polarized")
    )
    mult = int(_as_list(dft.get("multiplicity", [0]))[0]) or lowest_multiplicity(n_el)
    problem = multiplicity_problem(n_el, mult)
    if problem:
        r.errors.append(
            f"{r.at(_FP, 'DFT', 'MULTIPLICITY')}: {_FP}/DFT/MULTIPLICITY: {problem} "
            f"(valence electrons, CHARGE {charge}); fix MULTIPLICITY or CHARGE."
        )
    elif needs_unrestricted(n_el, mult) and not uks:
        r.errors.append(
            f"{r.at(_FP, 'DFT')}: {n_el} valence electrons (CHARGE {charge}) with multiplicity "
            f"{mult} need {_FP}/DFT/UKS .TRUE."
        )


def semantic_checks(tree: dict, text: str, fname: str) -> tuple[list[str], list[str]]:
    """Checks the schema cannot express; returns (errors, warnings)."""
    r = _Report(text, fname)
    force_evals = _as_list(tree.get("+force_eval", []))
    if not force_evals or not tree.get("+global"):
        missing = " and ".join(
            s
            for s, ok in (("&GLOBAL", tree.get("+global")), ("&FORCE_EVAL", force_evals))
            if not ok
        )
        r.errors.append(
            f"{fname}: no {missing} section: this is not a CP2K input (an empty file is not "
            "valid); write one with `atomistics inputs`."
        )
    for fe in force_evals:
        dft = _get(fe, "+dft")
        if not isinstance(dft, dict):
            continue
        subsys = fe.get("+subsys", {})
        _check_scf(dft, r)
        _check_poisson(dft, subsys, r)
        _check_kinds_and_spin(dft, subsys, r)
    return r.errors, r.warnings


def _coords(subsys: dict) -> tuple[list[tuple[float, ...]], list[str]]:
    """Cartesian coordinates (Å) and kind labels from &COORD; empty when not plainly given."""
    coord = subsys.get("+coord")
    if not isinstance(coord, dict) or coord.get("scaled") not in (None, False):
        return [], []
    if str(coord.get("unit", "angstrom")).lower() not in ("angstrom", "a"):
        return [], []
    out, labels = [], []
    for row in _as_list(coord.get("*", [])):
        words = row.split() if isinstance(row, str) else list(row)
        try:
            out.append(tuple(float(x) for x in words[1:4]))
            labels.append(str(words[0]))
        except (ValueError, IndexError):
            return [], []
    return out, labels


def _cell_lengths(cell: dict) -> list[float] | None:
    try:
        if all(k in cell for k in ("a", "b", "c")):
            return [math.sqrt(sum(float(x) ** 2 for x in cell[k])) for k in ("a", "b", "c")]
        if "abc" in cell:
            return [float(x) for x in cell["abc"]]
    except (TypeError, ValueError):
        return None
    return None


@functools.lru_cache(maxsize=4)
def schema_parser(schema: str):
    """A reusable cp2k-input-tools parser for ``schema`` (loading the XML takes seconds)."""
    from cp2k_input_tools.parser import CP2KInputParser
    from cp2k_input_tools.parser_errors import InvalidNameError
    from cp2k_input_tools.tokenizer import Context

    class _Parser(CP2KInputParser):
        # Workaround (cp2k-input-tools 0.9.3): a repeated non-repeatable keyword raises
        # NameRepetitionError without a Context, so parse() cannot attach the line number
        # and the message would have none. Raise the sibling error type that carries one.
        def _add_tree_keyword(self, kw):
            if not kw.repeats and any(k.name == kw.name for k in self._treerefs[-1].keywords):
                raise InvalidNameError(f"the keyword '{kw.name}' can only be given once", Context())
            super()._add_tree_keyword(kw)

    return _Parser(xmlspec=schema)


def parse_input(path: Path, schema: Path) -> dict:
    """Parse an input file against ``schema`` into cp2k-input-tools' canonical nested dict."""
    parser = schema_parser(str(schema))
    parser._base_inc_dir = str(path.parent)  # @INCLUDE relative to the file
    with path.open(encoding=input_encoding(path.read_bytes())) as fh:
        return parser.parse(fh)


def _schema_parse(path: Path, schema: Path) -> tuple[dict | None, str | None]:
    """Parse against the schema; (tree, None) or (None, error message with line)."""
    from cp2k_input_tools.parser_errors import ParserError

    parser = schema_parser(str(schema))
    try:
        return parse_input(path, schema), None
    except ParserError as exc:
        ctx = exc.args[1] if len(exc.args) > 1 else None
        section = "/".join(s.name for s in parser._treerefs[1:]) or "top level"
        line = getattr(ctx, "linenr", None)
        text = (getattr(ctx, "line", None) or "").strip()
        where = f"{path}:{line}" if line else str(path)
        return None, f"{where}: in section {section}: {exc.args[0]}" + (
            f" ({text!r})" if text else ""
        )
    except Exception as exc:  # tokenizer/preprocessor/unit errors of the library
        return None, f"{path}: cannot parse ({type(exc).__name__}: {exc})"


def cp2k_check(path: Path, command: list[str]) -> str | None:
    """Run ``cp2k --check``; None when CP2K accepts the file, else its message."""
    binary = cp2k_binary(command)
    proc = _run([*binary, "--check", path.name], cwd=path.parent, timeout=120)
    out = proc.stdout + proc.stderr
    if proc.returncode == 0 and "[ABORT]" not in out:
        return None
    lines = out.splitlines()
    start = next((i for i, ln in enumerate(lines) if "[ABORT]" in ln), None)
    if start is None:
        return f"{shlex.join(binary)} --check {path.name} failed (exit {proc.returncode}): {out.strip()[-400:]}"
    words = []
    for ln in lines[start + 1 :]:
        if ln.strip().startswith("*****"):
            break
        body = ln.strip().strip("*")
        body = re.sub(r"^\s*(\\___/|\||O/\||/\| \||/ \\)", "", body).strip()
        if re.fullmatch(r"[\w/]+\.F:\d+", body):
            continue
        if body:
            words.append(body)
    return "cp2k --check: " + " ".join(words)


#: characters a text input never holds: C0 controls but tab/LF/VT/FF/CR, DEL, C1 controls
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def input_encoding(data: bytes) -> str:
    """'utf-8', else 'latin-1': an ISO-8859-1 editor's byte in a comment (CP2K reads bytes)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def read_input_text(path: Path) -> str:
    """The text of a CP2K input (UTF-8, else Latin-1); refuse binary bytes with one line."""
    data = path.read_bytes()
    text = data.decode(input_encoding(data))
    bad = _BINARY.search(text)
    if bad is not None:
        raise AtomisticsError(
            f"{path}: not a CP2K input (binary byte 0x{ord(bad.group()):02x} at character "
            f"{bad.start()}); give the text input file (e.g. relax.inp written by "
            "`atomistics inputs`)."
        )
    if not text.strip():
        raise AtomisticsError(
            f"{path}: the file is empty, which is not a valid CP2K input; write one with "
            "`atomistics inputs`."
        )
    return text


def validate_input(path: str | Path, cp2k_command: list[str] | str | None = None) -> list[str]:
    """Validate a CP2K input; return warnings, raise :class:`AtomisticsError` listing errors."""
    path = Path(path)
    if not path.is_file():
        raise AtomisticsError(f"{path}: no such CP2K input file.")
    text = read_input_text(path)
    if isinstance(cp2k_command, str):
        cp2k_command = shlex.split(cp2k_command)
    command = cp2k_command or find_cp2k_command(required=False)
    warnings: list[str] = []
    schema, info = schema_for(command)
    if not command:
        warnings.append(
            f"no CP2K found: validated against the schema {info['schema_source']} and skipped "
            "`cp2k --check`; set CP2K_COMMAND or install CP2K to validate against the CP2K "
            "that will run."
        )
    errors: list[str] = []
    tree, err = _schema_parse(path, schema)
    if err:
        errors.append(f"{err} [schema: {info['schema_source']}]")
    else:
        sem_errors, sem_warnings = semantic_checks(tree, text, str(path))
        errors += sem_errors
        warnings += sem_warnings
    if command:
        msg = cp2k_check(path, command)
        if msg:
            errors.append(f"{path}: {msg}")
    if errors:
        raise AtomisticsError(
            f"{path}: invalid CP2K input ({len(errors)} problem{'s' if len(errors) > 1 else ''}):\n  - "
            + "\n  - ".join(errors)
        )
    return warnings
