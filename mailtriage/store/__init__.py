"""The SQLite file: the only place with SQL. Typed rows, transactions, migrations, the per-file lock."""
