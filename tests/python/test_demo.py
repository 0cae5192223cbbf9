"""The demo raises no false alarm of its own: every suspect it lists grows
with the planted leak (one Request per request handled, and what each
Request holds), none with the demo's own bookkeeping between snapshots
(it once listed a float: a new pause figure kept per round)."""

import json
import subprocess
import sys


def test_every_suspect_of_the_demo_grows_with_the_leak(tmp_path):
    requests = 500
    proc = subprocess.run(
        [sys.executable, '-m', 'objgraph', 'demo', '--users', '2000',
         '--requests', str(requests), '--snapshots', '4', '--image', '',
         '--json'], capture_output=True, text=True, timeout=300,
        cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc['suspects'][0]['type'] == 'Request'
    for suspect in doc['suspects']:
        counts = suspect['counts']
        steps = [b - a for a, b in zip(counts, counts[1:])]
        # each interval handled `requests` requests, each leaking its
        # Request and the objects it holds
        assert min(steps) >= requests, (suspect['type'], counts)
