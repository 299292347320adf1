"""The README's warehouse SQL (the ```sql block after <!-- warehouse-sql -->), run by DuckDB on
the real Online Retail log, gives exactly the counts `borderless aggregate`
computes: same rows, same count, quantity and last_seen; and the per-customer
SQL (after <!-- warehouse-customers-sql -->) exactly `aggregate --customers-out`."""
import os
import subprocess
import sys
import tempfile
import time

import duckdb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOG = os.environ.get(
    "BORDERLESS_RETAIL_CSV",
    os.path.join(ROOT, "..", "shared", "data", "online-retail", "online_retail.csv.gz"),
)
BIN = os.environ.get("BORDERLESS_BIN", os.path.join(ROOT, "target", "release", "borderless"))


def readme_sql():
    """(CREATE VIEW statement, aggregation query) from the README."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = text.split("<!-- warehouse-sql -->", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    view, query = block.split(";", 1)
    return view.strip(), query.strip().rstrip(";")


def readme_customer_sql():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = text.split("<!-- warehouse-customers-sql -->", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    return block.strip().rstrip(";")


def test_duckdb_matches_borderless_customer_counts():
    with tempfile.TemporaryDirectory() as tmp:
        ours = os.path.join(tmp, "customers.csv")
        cmd = [BIN, "aggregate", "--retail", LOG, "-o", os.devnull, "--customers-out", ours, "--quiet"]
        subprocess.run(cmd, check=True)
        con = duckdb.connect()
        con.execute("SET TimeZone = 'America/Los_Angeles'")
        q = lambda path: "'" + path.replace("'", "''") + "'"
        view, _ = readme_sql()
        con.execute(view.replace("'online_retail.csv.gz'", q(LOG)))
        t = time.time()
        con.execute(f"CREATE TABLE warehouse AS {readme_customer_sql()}")
        took = time.time() - t
        con.execute(
            f"CREATE TABLE tool AS SELECT * FROM read_csv({q(ours)}, header = true, all_varchar = true)"
        )
        cols = (
            "customer, coalesce(country, '') country, product, CAST(orders AS BIGINT) o, "
            "CAST(quantity AS BIGINT) q, CAST(returned AS BIGINT) r, first_seen, last_seen"
        )
        n_tool = con.execute("SELECT count(*) FROM tool").fetchone()[0]
        n_wh = con.execute("SELECT count(*) FROM warehouse").fetchone()[0]
        only_tool = con.execute(
            f"SELECT {cols} FROM tool EXCEPT SELECT {cols} FROM warehouse ORDER BY ALL LIMIT 5"
        ).fetchall()
        only_wh = con.execute(
            f"SELECT {cols} FROM warehouse EXCEPT SELECT {cols} FROM tool ORDER BY ALL LIMIT 5"
        ).fetchall()
        assert not only_tool and not only_wh, f"tool only: {only_tool}\nwarehouse only: {only_wh}"
        assert n_tool == n_wh and n_tool > 200_000, (n_tool, n_wh)
        customers = con.execute("SELECT count(DISTINCT customer) FROM tool").fetchone()[0]
        print(f"{n_tool} customer rows ({customers} customers) identical; DuckDB query {took:.2f} s")


def test_duckdb_matches_borderless_aggregate():
    with tempfile.TemporaryDirectory() as tmp:
        ours = os.path.join(tmp, "counts.csv")
        subprocess.run([BIN, "aggregate", "--retail", LOG, "-o", ours, "--quiet"], check=True)
        con = duckdb.connect()
        con.execute("SET TimeZone = 'Asia/Tokyo'")  # the SQL must not depend on the session zone
        q = lambda path: "'" + path.replace("'", "''") + "'"
        view, sql = readme_sql()
        assert "'online_retail.csv.gz'" in view
        con.execute(view.replace("'online_retail.csv.gz'", q(LOG)))
        t = time.time()
        con.execute(f"CREATE TABLE warehouse AS {sql}")
        took = time.time() - t
        con.execute(
            f"CREATE TABLE tool AS SELECT * FROM read_csv({q(ours)}, header = true, all_varchar = true)"
        )
        cols = "segment, product, week, event, CAST(count AS BIGINT) c, CAST(quantity AS BIGINT) q, last_seen"
        n_tool = con.execute("SELECT count(*) FROM tool").fetchone()[0]
        n_wh = con.execute("SELECT count(*) FROM warehouse").fetchone()[0]
        only_tool = con.execute(
            f"SELECT {cols} FROM tool EXCEPT SELECT {cols} FROM warehouse ORDER BY ALL LIMIT 5"
        ).fetchall()
        only_wh = con.execute(
            f"SELECT {cols} FROM warehouse EXCEPT SELECT {cols} FROM tool ORDER BY ALL LIMIT 5"
        ).fetchall()
        assert not only_tool and not only_wh, f"tool only: {only_tool}\nwarehouse only: {only_wh}"
        assert n_tool == n_wh and n_tool > 100_000, (n_tool, n_wh)
        totals = con.execute("SELECT sum(CAST(count AS BIGINT)) FROM tool").fetchone()[0]
        print(f"{n_tool} rows ({totals} events) identical; DuckDB query {took:.2f} s")


if __name__ == "__main__":
    test_duckdb_matches_borderless_aggregate()
    test_duckdb_matches_borderless_customer_counts()
    print("2 passed, 0 failed")
    sys.exit(0)
