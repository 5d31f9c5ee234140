"""The pipeline (layer 1, above ``stats``): read exports (``ingest``, ``profiles``), load them
(``load``, ``upsert``, ``dates``, ``manifest``), keep the warehouse (``warehouse``), build the
SQL models (``transform``, ``queries``), settings and the synthetic practice (``sample``).
``python -m pipelines ...`` (``cli``) is the entry point above every layer. See
docs/architecture.md."""
