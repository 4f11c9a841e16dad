# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An AWX execution environment built with ansible-builder gets what the collection needs.

No image can be built here (no registry, no container build in CI), so the two halves of a
build are run as ansible-builder runs them:

* ``ansible-builder create`` on the shipped EE definition (examples/execution-environment):
  the build context names fleetsec.divest and ansible.windows, with galaxy.yml's constraints;
* the builder stage's introspection (``ansible-builder introspect``, the same code as the
  context's ``_build/scripts/introspect.py``) of the collection installed from the tarball
  users get: it asks pip for jmespath, from meta/execution-environment.yml.

ansible-builder is pinned in tests/requirements.txt: this test always runs in the units stage.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import yaml
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
EXAMPLE = ROOT / "examples" / "execution-environment"


def run(*argv, cwd, env=None):
    proc = subprocess.run([str(a) for a in argv], cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def galaxy_dependencies():
    return yaml.safe_load((ROOT / "galaxy.yml").read_text())["dependencies"]


def test_the_build_context_installs_the_collection_and_its_collection_dependencies(tmp_path):
    run(BIN / "ansible-builder", "create", "-f", EXAMPLE / "execution-environment.yml", "-c", tmp_path / "context",
        cwd=tmp_path)
    context = tmp_path / "context"
    wanted = {c["name"]: c.get("version") for c in
              yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]}
    assert "fleetsec.divest" in wanted
    for name, constraint in galaxy_dependencies().items():
        assert wanted.get(name) == constraint, (name, wanted)          # ansible.windows >=2.0.0
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile and "requirements.yml" in containerfile
    # the builder stage introspects the installed collections and pip-installs what they ask for
    assert (context / "_build" / "scripts" / "introspect.py").is_file()
    assert "introspect" in containerfile


def test_the_builder_stage_asks_pip_for_jmespath_from_the_built_tarball(tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"))
    run(BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path, ROOT, cwd=tmp_path, env=env)
    tarball = next(tmp_path.glob("fleetsec-divest-*.tar.gz"))
    run(BIN / "ansible-galaxy", "collection", "install", "--force", "--no-deps", "-p", tmp_path / "collections", tarball,
        cwd=tmp_path, env=env)
    run(BIN / "ansible-builder", "introspect", tmp_path / "collections", "--write-pip", tmp_path / "pip.txt",
        cwd=tmp_path)
    lines = [line.split("#")[0].strip() for line in (tmp_path / "pip.txt").read_text().splitlines()]
    assert any(line.startswith("jmespath") for line in lines), lines
    # and the version it asks for is one this collection is tested with
    pinned = [line for line in (ROOT / "tests" / "requirements.txt").read_text().splitlines()
              if line.startswith("jmespath==")]
    requirement = Requirement(next(line for line in lines if line.startswith("jmespath")))
    assert requirement.specifier.contains(pinned[0].split("==")[1])
