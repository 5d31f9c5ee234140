"""Shared test setup: the dashboard's local single-user mode needs Streamlit bound to
127.0.0.1 (``.streamlit/config.toml`` says so when tests run from the project root; this
makes it hold from any working directory). Tests of the other modes set it themselves."""

from streamlit import config as _st_config

_st_config.set_option("server.address", "127.0.0.1")
