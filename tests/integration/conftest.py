"""The sample ledger's fixtures (``sample_db``, ``sample_ids``), built once a worker and copied
per test, are tests/sampled.py's, shared with tests/security through tests/conftest.py."""
