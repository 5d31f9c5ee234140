"""The settings the analytics layer reads from settings.toml, with their defaults.

Plain dicts for now (``pipelines.settings.load()``); each function says what comes back.
"""

from __future__ import annotations

from pipelines import settings as settings_mod


def cfg() -> dict:
    """The whole of settings.toml (``pipelines.settings.load``)."""
    return settings_mod.load()


def expected_level() -> int:
    """``[gas] expected_level`` (default 0): the GAS level a goal is expected to reach."""
    return int(cfg().get("gas", {}).get("expected_level", 0))


def rho() -> float:
    """``[gas] rho`` (default 0.3): the goals' intercorrelation in the GAS T-score."""
    return float(cfg().get("gas", {}).get("rho", 0.3))


def comparison() -> dict:
    """``[comparison]``: min_sessions, min_children, resamples, seed, confidence."""
    c = dict(cfg().get("comparison", {}))
    return {
        "min_sessions": int(c.get("min_sessions_per_approach", 3)),
        "min_children": int(c.get("min_children", 5)),
        "resamples": int(c.get("bootstrap_resamples", 2000)),
        "seed": int(c.get("bootstrap_seed", 20261122)),
        "confidence": float(c.get("confidence", 0.95)),
    }


def flag_cfg() -> dict:
    """``[flags]``: the needs-attention thresholds and windows."""
    f = dict(cfg().get("flags", {}))
    return {
        "engagement_window_weeks": int(f.get("engagement_window_weeks", 8)),
        "engagement_trend_alpha": float(f.get("engagement_trend_alpha", 0.05)),
        "engagement_min_sessions": int(f.get("engagement_min_sessions", 5)),
        "gas_stall_weeks": int(f.get("gas_stall_weeks", 12)),
        "attendance_window_weeks": int(f.get("attendance_window_weeks", 8)),
        "attendance_min_rate": float(f.get("attendance_min_rate", 0.75)),
        "attendance_min_scheduled": int(f.get("attendance_min_scheduled", 4)),
        "dropout_days": int(f.get("dropout_days", 30)),
        # "active" before the gap: attended in the N days before the drop-out window
        "dropout_active_days": int(f.get("dropout_active_days", 90)),
        "rating_gap_days": int(f.get("rating_gap_days", 60)),
    }
