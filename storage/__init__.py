"""The case store: SQLAlchemy 2.0 typed models, the engine wrapper and Alembic migrations.

Knows nothing of Telegram, and nothing of encryption either: it stores the
sealed bytes the domain layer (`casework`) hands it.
"""
