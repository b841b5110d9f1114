"""Statements that delete or put back thousands of rows at once, and the foreign keys' own
per-row queries they set off."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def plan_cascades_once(session: Session) -> None:
    """For a transaction that deletes or puts back thousands of rows at once. The app's
    connections force a plan per run (app.db.make_engine), and that re-plans the foreign keys' per-row
    queries too: a cascaded delete of 10,000 derivations took 2.5x as long (4.0 s, not 1.6 s).
    Here, until the transaction ends, each of those queries keeps one plan. Plans kept from an
    earlier transaction are dropped first: one made while a table was empty scans it whole for
    every row once it is not (measured: a bulk delete's plan for annotation_events, made while
    that table was empty, took a later reset's delete of 20,000 annotations from 0.4 s to 14 s)."""
    session.execute(text("DISCARD PLANS"))
    session.execute(text("SET LOCAL plan_cache_mode = auto"))
