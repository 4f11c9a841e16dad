# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run playbooks against "Windows hosts" made of test doubles (tests/windows/README.md).

* :func:`build_collections` copies this checkout's collection to ``<tmp>/ansible_collections/
  fleetsec/divest``, replaces the documentation-only ``win_inventory_info.py`` and
  ``win_defender_info.py`` by the doubles, and returns the ANSIBLE_COLLECTIONS_PATH to use:
  the ansible.windows doubles first, then the copy, then ``.cache/collections``.
* :func:`write_states` / :func:`read_state`: the per-host JSON states the doubles share.
* :func:`write_inventory`: a YAML inventory of local-connection hosts.
* :func:`run_playbook`: ``ansible-playbook`` of the checkout's ``.venv`` with that path, a
  jsonfile fact cache in the work directory, and the state directory in the environment.

Plays set ``environment: {DIVEST_WINDOUBLE_DIR: ..., DIVEST_WINDOUBLE_HOST: "{{ inventory_hostname }}"}``;
:data:`PLAY_ENVIRONMENT` is that block, reading the directory from the controller's environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
DOUBLES = HERE / "doubles"
FLEETSEC_DOUBLES = DOUBLES / "fleetsec"
WINDOWS_DOUBLES = DOUBLES / "ansible_collections" / "ansible" / "windows"
CACHE_COLLECTIONS = REPO / ".cache" / "collections"
VENV = pathlib.Path(os.environ.get("DIVEST_WINFLOW_VENV") or REPO / ".venv") / "bin"  # the ansible-core to run
ANSIBLE_PLAYBOOK = VENV / "ansible-playbook"
PLAYBOOKS = HERE / "playbooks"

EXCLUDED_TOP = {".git", ".cache", "node_modules", ".pytest_cache", ".benchmarks"}
DOUBLED_MODULES = ("win_inventory_info.py", "win_defender_info.py")

# The play-level environment every play against double hosts uses.
PLAY_ENVIRONMENT = {
    "DIVEST_WINDOUBLE_DIR": "{{ lookup('ansible.builtin.env', 'DIVEST_WINDOUBLE_DIR') }}",
    "DIVEST_WINDOUBLE_HOST": "{{ inventory_hostname }}",
}


def _ignore(root):
    root = pathlib.Path(root)

    def ignore(directory, names):
        directory = pathlib.Path(directory)
        skipped = {"__pycache__"} & set(names)
        if directory == root:
            skipped |= {name for name in names if name in EXCLUDED_TOP or name.startswith(".venv")}
        if directory == root / "tests":
            skipped |= {"output"} & set(names)
        return skipped

    return ignore


def build_collections(tmp, repo=REPO):
    """Copy the collection, put the module doubles in, return the ANSIBLE_COLLECTIONS_PATH string."""
    tmp = pathlib.Path(tmp)
    target = tmp / "ansible_collections" / "fleetsec" / "divest"
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(repo, target, ignore=_ignore(repo), symlinks=True)
    for name in DOUBLED_MODULES:
        shutil.copyfile(FLEETSEC_DOUBLES / name, target / "plugins" / "modules" / name)
        # The real module is the .ps1 beside it; Ansible would pick it over the double.
        powershell = target / "plugins" / "modules" / name.replace(".py", ".ps1")
        if powershell.exists():
            powershell.unlink()
    return os.pathsep.join([str(DOUBLES), str(tmp), str(CACHE_COLLECTIONS)])


def write_states(directory, states):
    """Write ``{host: state}`` as ``<directory>/<host>.json`` (atomically, as the doubles do)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    wd = windouble()
    for host, state in states.items():
        wd.write_state(state, str(directory), host)


def read_state(directory, host):
    return windouble().read_state(str(directory), host)


def write_inventory(path, hosts, group="windows", variables=None):
    """A YAML inventory of local-connection hosts running the checkout's .venv Python.

    ``hosts`` is a list of names (all in ``group``) or ``{group: [names]}``.
    """
    import yaml

    groups = hosts if isinstance(hosts, dict) else {group: list(hosts)}
    python = str(VENV / "python")
    children = {}
    for name, members in groups.items():
        # Each host's interpreter is a wrapper that tells the doubles the host's name, so that
        # playbooks of the collection (which set no play environment) run unchanged against them.
        children[name] = {"hosts": {host: {"ansible_connection": "local",
                                           "ansible_python_interpreter": _interpreter(path, host, python)}
                                    for host in members}}
    data = {"all": {"vars": dict(variables or {}), "children": children}}
    pathlib.Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def _interpreter(inventory, host, python):
    wrapper = pathlib.Path(inventory).resolve().parent / "python-for-hosts" / host
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text("#!/bin/sh\nDIVEST_WINDOUBLE_HOST='%s' exec '%s' \"$@\"\n" % (host, python), encoding="utf-8")
    wrapper.chmod(0o755)
    return str(wrapper)


def run_playbook(playbook, inventory, extra_vars=None, env=None, collections=None, state_dir=None,
                 work_dir=None, check=False, limit=None, verbosity=0, timeout=600, args=()):
    """Run ansible-playbook; returns ``{"rc", "stdout", "stderr", "cmd"}``.

    ``collections`` is what :func:`build_collections` returned; ``state_dir`` the directory of
    the hosts' states (exported as DIVEST_WINDOUBLE_DIR); ``work_dir`` holds the fact cache
    (``<work_dir>/facts``) and Ansible's home. ``env`` adds or overrides variables.
    """
    playbook = pathlib.Path(playbook)
    if not playbook.is_absolute() and not playbook.exists() and playbook.suffix in (".yml", ".yaml"):
        playbook = PLAYBOOKS / playbook  # else a collection playbook (fleetsec.divest.plan)
    work_dir = pathlib.Path(work_dir or state_dir or ".")
    environment = dict(os.environ)
    environment.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": collections or os.pathsep.join([str(DOUBLES), str(CACHE_COLLECTIONS)]),
        "ANSIBLE_CACHE_PLUGIN": "jsonfile",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(work_dir / "facts"),
        "ANSIBLE_HOME": str(work_dir / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work_dir / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "PATH": "%s%s%s" % (VENV, os.pathsep, os.environ.get("PATH", "")),
    })
    environment.pop("ANSIBLE_COLLECTIONS_PATHS", None)
    if state_dir is not None:
        environment["DIVEST_WINDOUBLE_DIR"] = str(state_dir)
    environment.update(env or {})
    cmd = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if limit:
        cmd += ["--limit", limit]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    cmd += list(args)
    proc = subprocess.run(cmd, env=environment, cwd=str(REPO), capture_output=True, text=True, timeout=timeout,
                          check=False)
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "cmd": cmd}


_WINDOUBLE = None


def windouble():
    """The doubles' state library (module_utils/_windouble.py), loaded by file path."""
    global _WINDOUBLE
    if _WINDOUBLE is None:
        path = WINDOWS_DOUBLES / "plugins" / "module_utils" / "_windouble.py"
        spec = importlib.util.spec_from_file_location("divest_windouble", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _WINDOUBLE = module
    return _WINDOUBLE
