import time, psycopg
from tests.servers import PostgresServer
def test_smoke(postgres: PostgresServer):
    import sqlalchemy as sa
    e = sa.create_engine(postgres.url(), pool_pre_ping=True)
    with e.connect() as c:
        print(c.exec_driver_sql("select count(*) from alembic_version").scalar())
    t=time.monotonic(); postgres.kill(); print("kill", time.monotonic()-t)
    t=time.monotonic(); postgres.start(); print("restart", time.monotonic()-t)
    with e.connect() as c:
        print(c.exec_driver_sql("select 1").scalar())
