"""pytest setup: import the package from the CMake build (NOMALY_BUILD_DIR, default <repo>/build), find the CLI
and the shared ODDS data (../shared/data; skipped with a reason when absent, a failure under CI=true)."""

import os
import pathlib
import sys

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("NOMALY_BUILD_DIR", REPO / "build")).resolve()
PKG_PARENT = BUILD / "python"
# Dask's worker processes are spawned: they find the package through PYTHONPATH, not through sys.path.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [str(PKG_PARENT), os.environ.get("PYTHONPATH", "")] if p)
sys.path.insert(0, str(PKG_PARENT))
CLI = BUILD / "nomaly"
DATA = REPO.parent / "shared" / "data"

# Small data sets first: the parity test runs every detector on every set and stays fast.
DATASETS = sorted(p.name for p in DATA.glob("*.csv")) if DATA.is_dir() else []


def require_data():
    if not DATASETS:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"shared data missing at {DATA} (CI=true)")
        pytest.skip(f"shared data not found at {DATA}")


@pytest.fixture
def cli():
    if not CLI.exists():
        pytest.fail(f"CLI not built at {CLI}")
    return str(CLI)


@pytest.fixture(scope="session")
def blobs():
    """500 x 4 Gaussian rows with 10 isolated outliers at the end (labels 1): random directions, radius 8-12."""
    rng = np.random.RandomState(7)
    d = rng.randn(10, 4)
    far = d / np.linalg.norm(d, axis=1, keepdims=True) * rng.uniform(8, 12, size=(10, 1))
    X = np.vstack([rng.randn(490, 4), far])
    y = np.r_[np.zeros(490, int), np.ones(10, int)]
    return X, y
