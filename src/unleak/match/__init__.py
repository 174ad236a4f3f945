"""Candidate -> signals -> index -> matches against a case's bank."""

from unleak.match.matcher import Match, Matcher, MatchResult, VerifyMode

__all__ = ["Match", "MatchResult", "Matcher", "VerifyMode"]
