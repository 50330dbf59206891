"""The SQLite file: the only place with SQL. Typed records in, typed records out.

- `db`: opening and creating the file (owner-only, WAL), and `Store`, the repositories together;
- `base`: the connection, BEGIN IMMEDIATE transactions, savepoints, the one funnel for writes;
- `migrations`: SCHEMA, SCHEMA_VERSION and MIGRATIONS, applied in order at open;
- `rows`: the frozen dataclasses (`Thread`, `Message`, `Reply`, `FolderMark`, `Mark`);
- `marks`, `threads`, `messages`, `replies`: the repositories (marks also keeps `meta`);
- `reports`: read-only queries for the summary, statistics, listings and status;
- `privacy`: GDPR: a person's, a client's or expired records found, read out and erased, the file compacted;
- `dbfile`, `lock`: the file at the edge (errors as one line) and one check at a time.
"""
