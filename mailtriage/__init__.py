"""mailtriage: keep an inbox inside its promised response windows."""

__version__ = "0.1.0"
