"""fundledger: a double-entry ledger for a city's pooled medical-insurance fund (医保基金市级统筹).

Layers: ``ledger.core`` holds values and pure policy rules (no I/O), ``ledger.io``
reads and writes files, ``ledger.store`` is the only place that talks to PostgreSQL,
and ``cli`` renders. PostgreSQL itself enforces the accounting invariants.
"""

__version__ = "0.1.0"
