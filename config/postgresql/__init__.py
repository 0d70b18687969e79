"""Django's PostgreSQL backend with the pool's borrow check of config/db_pool.py (ENGINE "config.postgresql")."""
