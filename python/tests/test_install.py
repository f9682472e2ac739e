"""`make python-install`'s script installs a package that imports from any folder, as a non-root user, with no
LD_LIBRARY_PATH (ONNX Runtime is found through the extension's RUNPATH $ORIGIN)."""

import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, REPO

CHECK = """
import os, sys, numpy as np, nomaly
assert 'site-packages' in nomaly.__file__ or 'dist-packages' in nomaly.__file__, nomaly.__file__
X = np.random.RandomState(0).randn(200, 3)
det = nomaly.IForest(n_estimators=10, random_state=1).fit(X)
onnx = nomaly.OnnxModel(det.to_onnx())
print(os.getuid(), np.abs(onnx.decision_function(X) - det.decision_function(X)).max() <= 1e-5)
"""


def test_installed_package_imports_as_non_root_user_from_another_folder():
    venv = tempfile.mkdtemp(prefix="nomaly-venv-")
    try:
        os.chmod(venv, 0o755)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
        subprocess.run(["bash", str(REPO / "scripts" / "python_install.sh"), str(BUILD), venv], check=True, env=env,
                       capture_output=True, timeout=300)
        cmd = [os.path.join(venv, "bin", "python"), "-c", CHECK]
        as_root = os.getuid() == 0
        if as_root:
            if shutil.which("runuser") is None:
                pytest.fail("runuser (util-linux) is needed to test the install as a non-root user")
            cmd = ["runuser", "-u", "nobody", "--"] + cmd
        out = subprocess.run(cmd, cwd="/", env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        uid, parity = out.stdout.split()
        assert parity == "True"
        assert int(uid) != 0 or not as_root
    finally:
        shutil.rmtree(venv, ignore_errors=True)
