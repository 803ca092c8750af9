"""Warehouse access for the dashboard: one connection per session, cached query results, and a clear
message (not a traceback) when the marts are missing or empty."""

from __future__ import annotations

import altair as alt
import pandas as pd
import psycopg2
import psycopg2.errors
import streamlit as st

from stack.postgres import connect
from stack.settings import ConfigError, load_settings

# queried marts are re-read at most this often; the pipeline page refreshes on its own timer
CACHE_SECONDS = 60
LIVE_CACHE_SECONDS = 5
EMPTY_HINT = "Run `make demo` (or the Dagster jobs) to load data, then reload this page."


class WarehouseNotReady(Exception):
    """The warehouse cannot answer yet: unreachable, marts not built, or no rows."""


@st.cache_resource(show_spinner=False)
def _connection():
    conn = connect(load_settings().postgres)
    conn.set_session(readonly=True, autocommit=True)
    return conn


def _run(sql: str, params: tuple) -> pd.DataFrame:
    conn = _connection()
    if conn.closed:
        _connection.clear()
        conn = _connection()
    with conn.cursor() as cur:
        cur.execute(sql, params)
        columns = [c.name for c in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=columns)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def query(sql: str, params: tuple = ()) -> pd.DataFrame:
    """Rows of a mart query; raises WarehouseNotReady when the warehouse or the mart is not there yet."""
    try:
        return _run(sql, params)
    except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName) as exc:
        raise WarehouseNotReady(f"The reporting marts are not built yet ({exc.diag.message_primary}).") from None
    except (psycopg2.OperationalError, ConfigError) as exc:
        _connection.clear()
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseNotReady(f"The warehouse cannot be reached: {first_line}.") from None


@st.cache_data(ttl=LIVE_CACHE_SECONDS, show_spinner=False)
def live_query(sql: str, params: tuple = ()) -> pd.DataFrame:
    """query() with a short cache, for the auto-refreshing pipeline page."""
    return query.__wrapped__(sql, params)


def require_rows(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    if frame.empty:
        raise WarehouseNotReady(f"No {what} yet.")
    return frame


def show_not_ready(exc: WarehouseNotReady) -> None:
    st.info(f"{exc} {EMPTY_HINT}", icon="ℹ️")


def to_float(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Amounts arrive as Decimal (NUMERIC); charts want floats, so only the plotted copy is converted."""
    plotted = frame.copy()
    for column in columns:
        plotted[column] = plotted[column].astype(float)
    return plotted


def ranked_bars(frame: pd.DataFrame, value: str, label: str, value_title: str, color: str, tooltip: list[str]):
    """Horizontal bars, largest first: the shape of every top-N chart."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(value, title=value_title),
            y=alt.Y(label, sort="-x", title=None),
            color=color,
            tooltip=tooltip,
        )
    )
