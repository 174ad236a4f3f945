"""robots.txt (RFC 9309): groups by user agent, Allow/Disallow with * and $, longest match wins."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit


@dataclass
class _Rule:
    allow: bool
    path: str
    regex: re.Pattern[str]


def _compile(path: str) -> re.Pattern[str]:
    anchored = path.endswith("$")
    if anchored:
        path = path[:-1]
    pattern = ".*".join(re.escape(part) for part in path.split("*"))
    return re.compile(pattern + ("$" if anchored else ""), re.DOTALL)


@dataclass
class Robots:
    """The rules that apply to one user agent on one origin."""

    rules: list[_Rule] = field(default_factory=list)
    crawl_delay: float | None = None
    allow_all: bool = False
    disallow_all: bool = False

    @classmethod
    def parse(cls, text: str, agent: str) -> Robots:
        agent = agent.lower()
        groups: list[tuple[list[str], list[_Rule], float | None]] = []
        current: tuple[list[str], list[_Rule], float | None] | None = None
        last_was_agent = False
        for raw in text.splitlines()[:10000]:
            line = raw.split("#", 1)[0].strip()
            if ":" not in line:
                continue
            key, value = (x.strip() for x in line.split(":", 1))
            key = key.lower()
            if key == "user-agent":
                if current is None or not last_was_agent:
                    current = ([], [], None)
                    groups.append(current)
                current[0].append(value.lower())
                last_was_agent = True
                continue
            last_was_agent = False
            if current is None:
                continue
            if key in ("allow", "disallow") and value:
                current[1].append(_Rule(key == "allow", value, _compile(value)))
            elif key == "disallow":  # an empty Disallow allows everything
                pass
            elif key == "crawl-delay":
                try:
                    groups[-1] = current = (current[0], current[1], float(value))
                except ValueError:
                    pass
        mine = [g for g in groups if any(a != "*" and a in agent for a in g[0])]
        if not mine:
            mine = [g for g in groups if "*" in g[0]]
        rules = [r for g in mine for r in g[1]]
        delays = [g[2] for g in mine if g[2] is not None]
        return cls(rules=rules, crawl_delay=max(delays) if delays else None)

    def allowed(self, url: str) -> bool:
        if self.disallow_all:
            return False
        if self.allow_all or not self.rules:
            return True
        parts = urlsplit(url)
        path = unquote(parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        best: _Rule | None = None
        for rule in self.rules:
            if rule.regex.match(path) and (
                best is None
                or len(rule.path) > len(best.path)
                or (len(rule.path) == len(best.path) and rule.allow and not best.allow)
            ):
                best = rule
        return best is None or best.allow
