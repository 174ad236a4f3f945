"""The network layer: the safe fetcher, its SSRF guard, robots.txt, URL keys, and what a fetched
page links to (html).

Everything that reaches the network goes through here: the scan, evidence timestamps and
screenshots, and take-down removal checks. Nothing here knows about cases or evidence."""
