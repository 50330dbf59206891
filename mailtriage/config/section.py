"""The base of every rules.yaml section: unknown keys refused, frozen once read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Every section refuses unknown keys, so a typo is an error instead of a silent default."""

    # defer_build: a section's validator is made when it is first used on its own; rules.yaml is
    # validated by the Rules validator, which holds every section's schema, so loading the rules
    # builds one validator instead of one per section too (the same checks, made once).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)
