"""Alembic migrations of the review store; they ship inside the package and run on open."""
