"""A built wheel carries the shipped models: install it into a fresh venv and load one by name."""

import json
import os
import subprocess
import sys
import venv

import pytest

from conftest import REPO


def test_wheel_in_fresh_venv_loads_shipped_model(tmp_path):
    shipped = sorted(p.name for p in (REPO / "models").iterdir() if (p / "config.json").is_file())
    if not shipped:
        pytest.skip("no shipped model in models/ yet")
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(wheels.glob("topicclf-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # install only our wheel; the dependencies come from this test's environment on PYTHONPATH
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    deps = [p for p in sys.path if p.endswith("site-packages")]
    code = ("import json, topicclf; clf = topicclf.load(%r); "
            "print(json.dumps({'file': topicclf.__file__, 'labels': clf.labels}))") % shipped[0]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(deps), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["file"].startswith(site)  # the wheel's copy, not the source tree
    assert info["labels"]
