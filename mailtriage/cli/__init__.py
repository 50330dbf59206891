"""The command line: thin click commands, each calling one function of the app layer."""
