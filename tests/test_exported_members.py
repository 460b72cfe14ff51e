"""The public surface is deliberate: a change to it shows up here."""

from __future__ import annotations

import hud
import hud.errors
import hud.gym
import hud.job


def test_hud_exports() -> None:
    assert set(hud.__all__) == {
        "Job", "Settings", "Trajectory", "TrajectoryStep", "__version__", "aclose", "client", "create_job",
        "current_job", "errors", "get_settings", "gym", "job", "load_job", "trajectory", "sync", "SyncReport",
    }  # fmt: skip
    for name in hud.__all__:
        assert getattr(hud, name) is not None


def test_seed_names_live_in_hud_job() -> None:
    assert set(hud.job.__all__) == {
        "Comparison", "Job", "JobSummary", "Task", "TaskStats", "compare", "create_job", "current_job", "iter_jobs",
        "job", "jobs_to_pandas", "load_job", "run_job",
    }  # fmt: skip
    assert hud.job is __import__("hud.job").job  # the module, not shadowed by the decorator


def test_public_names_have_docstrings() -> None:
    for module in (hud, hud.job, hud.gym, hud.errors):
        for name in module.__all__:
            member = getattr(module, name)
            if callable(member) or isinstance(member, type):
                assert member.__doc__, f"{module.__name__}.{name} has no docstring"
