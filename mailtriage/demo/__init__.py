"""The demo: a private Dovecot, a local SMTP server and a SQLite file, started for `mailtriage demo`."""
