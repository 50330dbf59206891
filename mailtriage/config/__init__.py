"""rules.yaml: the settings model, reading and checking the file, secrets and the starter files."""
