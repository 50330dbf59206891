"""The base of every rules.yaml section: unknown keys refused, frozen once read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Every section refuses unknown keys, so a typo is an error instead of a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
