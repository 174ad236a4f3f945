"""Candidate -> signals -> index -> matches against a case's bank."""

from unleak.match.matcher import Match, MatchResult, Matcher

__all__ = ["Match", "MatchResult", "Matcher"]
