"""Helpers of the clamav scenario's tests: the outcomes converge.yml recorded, and further runs."""

import json
import os
import subprocess
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parents[1]
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def result(label: str, name: str) -> dict:
    """What converge.yml recorded for a host: {failure, health}."""
    return json.loads((EPHEMERAL / "results" / label / f"{name}.json").read_text())


def converge(limit: str, *args: str) -> dict[str, int]:
    """Run converge.yml again on some hosts; returns host -> changed count of the recap."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CONFIG=str(EPHEMERAL / "ansible.cfg"))
    proc = subprocess.run(
        ["ansible-playbook", f"--inventory={SCENARIO_DIR / 'inventory.yml'}", f"--limit={limit}",
         *args, str(SCENARIO_DIR / "converge.yml")],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    recap = proc.stdout.split("PLAY RECAP", 1)[1]
    changed = {}
    for line in recap.splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[1] == ":":
            stats = dict(f.split("=", 1) for f in fields[2:] if "=" in f)
            assert stats["failed"] == "0" and stats["unreachable"] == "0", line
            changed[fields[0]] = int(stats["changed"])
    return changed
