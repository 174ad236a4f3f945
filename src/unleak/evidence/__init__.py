"""Evidence: sightings, captures (WARC, encrypted at rest), the hash-chained log, export and verify."""
