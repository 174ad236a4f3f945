"""Find: sources, a polite and safe fetcher, and the resumable scan loop."""
