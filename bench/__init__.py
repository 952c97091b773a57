"""Benchmarks of fundledger against references measured in the same run (`make bench`)."""
