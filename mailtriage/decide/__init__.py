"""Decisions that need the rules: which client a sender is, whether to answer, and to whom."""
