"""The three-ion study the engine and FireWorks tests share (xtb: seconds per run)."""

MINI_STUDY = """\
name: mini
engine: xtb
systems:
  fsi: {kind: molecule, species: FSI-, conformer: C2}
  li: {kind: molecule, species: Li+}
  li_fsi: {kind: ion-pair, cation: Li+, anion: FSI-, conformer: C2}
binding_energies:
  li_fsi: {complex: li_fsi, fragments: [li, fsi], paper_value_ev: -8.35}
"""
