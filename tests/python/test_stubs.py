"""The extension's type stubs (objgraph/_heapgraph.pyi) say what the
extension has: mypy's stubtest imports objgraph._heapgraph and checks
every name, signature and class of the stub against it, both ways (a
method the stub lacks fails as much as one it invents)."""

import os
import subprocess
import sys


def test_stub_matches_the_extension(tmp_path):
    done = subprocess.run(
        [sys.executable, '-m', 'mypy.stubtest', 'objgraph._heapgraph'],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env=dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / 'cache')))
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert 'Success' in report, report
