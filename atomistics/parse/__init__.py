"""Parsers for program outputs (CP2K)."""

from atomistics.parse.cp2k import Cp2kParsed, parse_cp2k_output

__all__ = ["Cp2kParsed", "parse_cp2k_output"]
