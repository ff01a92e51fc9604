"""The storage backends (SQLite, PostgreSQL) behind the service layer's ports."""
