"""LiMMT anion-braking separator study: structures -> CP2K inputs -> runs -> binding energies -> continuum."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("limmt-atomistics")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
