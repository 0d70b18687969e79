"""Django's PostgreSQL backend; psycopg's pool checks a borrowed connection with config/db_pool.py."""

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper

from config.db_pool import check_connection


class DatabaseWrapper(PostgresDatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        if pool is not None and self.settings_dict["CONN_HEALTH_CHECKS"]:
            # Django gives the pool psycopg_pool's check, a round trip on every borrow;
            # the pool calls whatever it keeps here (tests/test_db_pool.py holds it to that).
            pool._check = check_connection
        return pool
