"""Shared fixtures of the execute_rpm scenario's tests."""

import sys
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCENARIO_DIR.parent / "shared"))
sys.path.insert(0, str(SCENARIO_DIR.parent / "clamav"))
