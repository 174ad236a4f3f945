"""unleak: find, document, trace and take down leaked private media."""

__version__ = "0.1.0"
