# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The removal of one product (``linux_remove``) and of vendor leftovers (``linux_cleanup``).

Both take the recipe the plan carries (docs/catalog.md), the vendor's own directories
(``vendor_dirs``: residue must lie inside them, files elsewhere are named in ``residue_files``)
and a ``Host``; they return a plain dict for ``exit_json`` or raise ``RemovalError``, whose
``details`` carry the same keys, so a failure still says what was done before it. Check mode
predicts: every step is recorded as it would be done, nothing is changed. Residue goes through
the one guarded walker of ``removal.paths`` in both modules; whatever the guards refuse is in
``refused_paths`` (with a warning), never deleted.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import stat

from ansible_collections.fleetsec.divest.plugins.module_utils._linux import layout
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Record, RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.files import (
    apply_edit,
    clean_repo_text,
    read_text,
    remove_lines,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.packages import Holds, check_name, detect
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.paths import (
    UnsafePath,
    check_vendor_dirs,
    delete_paths,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.system import (
    kill_processes,
    remove_accounts,
    stop_services,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.text import clean_text
from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import PatternError, PatternSet

__metaclass__ = type

__all__ = ["remove_product", "cleanup", "normalize_recipe", "RECIPE_KEYS"]

#: Recipe keys this module acts on; others (order, reboot, note ...) are accepted and ignored.
RECIPE_KEYS = ("method", "packages", "services", "processes", "purge", "residue", "residue_files",
               "config_edits", "accounts", "password", "repo_files")


def _str_list(recipe, key):
    value = recipe.get(key)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise RemovalError("removal.%s must be a list of strings" % key)
    for item in value:
        if not isinstance(item, str) or not item:
            raise RemovalError("removal.%s must be a list of non-empty strings, got %r" % (key, item))
    return list(value)


def normalize_recipe(recipe):
    """Validate the parts of a removal recipe this module uses; returns a clean copy."""
    if not isinstance(recipe, dict):
        raise RemovalError("removal must be a mapping (the recipe of a plan's remove action)")
    out = {
        "method": recipe.get("method") or "package",
        "packages": [check_name(p) for p in _str_list(recipe, "packages")],
        "services": _str_list(recipe, "services"),
        "processes": _str_list(recipe, "processes"),
        "residue": _str_list(recipe, "residue"),
        "residue_files": _str_list(recipe, "residue_files"),
        "repo_files": _str_list(recipe, "repo_files"),
        "purge": recipe.get("purge", True),
        "password": recipe.get("password") or "none",
        "config_edits": [],
        "accounts": {"users": [], "groups": []},
    }
    if not isinstance(out["purge"], bool):
        raise RemovalError("removal.purge must be true or false")
    edits = recipe.get("config_edits") or []
    if not isinstance(edits, (list, tuple)):
        raise RemovalError("removal.config_edits must be a list of {path, regexp}")
    for edit in edits:
        if not isinstance(edit, dict) or not isinstance(edit.get("path"), str) or not isinstance(edit.get("regexp"), str):
            raise RemovalError("removal.config_edits entries need a path and a regexp, got %r" % (edit,))
        if not edit["path"].startswith("/") or "\x00" in edit["path"]:
            raise RemovalError("removal.config_edits: %r is not an absolute path" % (edit["path"],))
        out["config_edits"].append({"path": edit["path"], "regexp": edit["regexp"]})
    accounts = recipe.get("accounts") or {}
    if not isinstance(accounts, dict):
        raise RemovalError("removal.accounts must be {users: [...], groups: [...]}")
    for key in ("users", "groups"):
        out["accounts"][key] = _str_list(accounts, key)
    return out


def _vendor_dirs(vendor_dirs):
    try:
        return check_vendor_dirs(list(vendor_dirs or []))
    except UnsafePath as exc:
        raise RemovalError(str(exc))


def _residue(host, record, recipe, vendor_dirs, prune):
    """Delete the recipe's residue and residue files; warn about every refusal."""
    paths = delete_paths(host, record, recipe["residue"], prune_empty_parents=prune, vendor_dirs=vendor_dirs,
                         files=recipe["residue_files"])
    for item in paths["refused"]:
        record.warn("residue refused: %s" % item["message"])
    return paths


def _refused(record, refused, exc):
    """Note a file the guards refused (``RemovalError`` with ``refused``); re-raise anything else."""
    if not exc.details.get("refused"):
        raise exc
    record.warn(exc.msg)
    refused.append({"path": exc.details.get("path"), "message": exc.msg})


def _config_edits(host, record, edits, backup, refused, step="config_edits"):
    by_path = {}
    for edit in edits:
        by_path.setdefault(edit["path"], []).append(edit["regexp"])
    edited = []
    for path, regexps in by_path.items():
        text, hostpath = read_text(host, path)
        if text is None:
            continue
        new, removed = remove_lines(text, regexps)
        try:
            if apply_edit(host, record, step, path, text, new, backup=backup, lines=removed):
                edited.append({"path": path, "removed_lines": removed})
        except RemovalError as exc:
            _refused(record, refused, exc)
    return edited


def _query(managers, names):
    """``(found, by_manager)``: ``{name: [Package]}`` over every manager, in recipe order."""
    found = {}
    owner = {}
    for manager in managers:
        for name, instances in manager.query(names).items():
            found.setdefault(name, []).extend(instances)
            for inst in instances:
                owner[id(inst)] = manager
    return found, owner


def _package_summary(found, names):
    out = []
    for name in names:
        for inst in found.get(name, ()):
            out.append(inst.as_dict())
    return out


def remove_product(host, removal, product="product", vendor=None, manager="auto", stop=True, kill_timeout=10,
                   backup=False, accounts=True, prune=True, lock_timeout=120, password=None, vendor_dirs=()):
    """Remove one product as its recipe says. Returns the result dict (see linux_remove)."""
    record = Record()
    recipe = normalize_recipe(removal)
    vendor_dirs = _vendor_dirs(vendor_dirs)
    result = {"product": product, "vendor": vendor, "method": recipe["method"], "check_mode": host.check_mode,
              "root": host.shown_root}
    if recipe["method"] not in ("package", "residue"):
        raise RemovalError("%s: removal method %r is not a Linux package removal (linux_remove handles "
                           "package and residue recipes)" % (product, recipe["method"]))
    if password and recipe["password"] == "none":
        record.warn("an uninstall password was given but the recipe takes none; it was not used")
    elif password:
        record.warn("Linux package managers take no uninstall password; it was not used")

    def fail(exc):
        exc.details.update(_result(result, record, host))
        exc.details.setdefault("failed_step", record.steps[-1]["step"] if record.steps else None)
        return exc

    managers = detect(host, manager, lock_timeout) if recipe["packages"] else []
    if recipe["packages"] and not managers:
        raise RemovalError("%s: no package database (dpkg or rpm) with its command was found in %s"
                           % (product, host.shown_root))
    result["manager"] = ", ".join(m.name for m in managers) or None
    try:
        found, owner = _query(managers, recipe["packages"])
        result["packages_before"] = _package_summary(found, recipe["packages"])
        if stop and recipe["services"]:
            stop_services(host, record, recipe["services"])

        removed = result["removed_packages"] = []   # filled as we go: a failure still says what went
        holds = Holds(host, record, backup)
        result["holds_released"] = holds.released
        instances = [inst for name in recipe["packages"] for inst in found.get(name, ())]
        if host.check_mode and instances:
            for mgr in managers:
                mine = [inst for inst in instances if owner[id(inst)] is mgr]
                todo = [inst for inst in mine if not (inst.status == "config-files" and not recipe["purge"])]
                if not todo:
                    continue
                problem = mgr.simulate(todo, recipe["purge"])
                if problem:
                    raise RemovalError("%s: %s would refuse the removal: %s" % (product, mgr.name, problem),
                                       would_fail=True)
        for inst in instances:
            mgr = owner[id(inst)]
            if not mgr.acts(inst, recipe["purge"]):
                continue
            holds.release(mgr, inst)   # exactly this package, right before it goes
            argv = mgr.remove(inst, recipe["purge"])
            if argv is None:
                continue
            action = "purge" if recipe["purge"] and mgr.name == "dpkg" else "remove"
            record.step("packages", action, inst.target, package=inst.name, version=inst.version,
                        status=inst.status, manager=mgr.name, command=argv)
            if inst.name not in removed:
                removed.append(inst.name)

        left = kill_processes(host, record, recipe["processes"], kill_timeout)
        if left:
            raise RemovalError("%s: processes still running after SIGKILL: %s" % (
                product, ", ".join("%s (pid %d)" % (p["name"], p["pid"]) for p in left)), processes=left)

        paths = _residue(host, record, recipe, vendor_dirs, prune)
        result["refused_paths"] = paths["refused"]
        result["config_edits"] = _config_edits(host, record, recipe["config_edits"], backup, result["refused_paths"])
        if accounts:
            remove_accounts(host, record, recipe["accounts"])

        remaining = []
        if not host.check_mode and managers:
            after, dummy = _query(managers, recipe["packages"])
            for name in recipe["packages"]:
                for inst in after.get(name, ()):
                    if inst.status != "config-files" or recipe["purge"]:
                        remaining.append(inst.as_dict())
        result["remaining"] = {"packages": remaining, "paths": paths["remaining"]}
        if remaining:
            raise RemovalError("%s: still installed after the removal: %s" % (
                product, ", ".join("%s (%s)" % (p["name"], p["status"]) for p in remaining)))
    except RemovalError as exc:
        raise fail(exc)
    return _result(result, record, host)


def _result(result, record, host):
    out = dict(result)
    out["changed"] = record.changed
    out["steps"] = record.steps
    out["warnings_list"] = record.warnings
    out["diffs"] = record.diffs
    out["counts"] = record.counts()
    out.setdefault("removed_packages", [])
    out.setdefault("holds_released", [])
    out.setdefault("refused_paths", [])
    out.setdefault("remaining", {"packages": [], "paths": []})
    return out


def cleanup(host, residue=(), repo_patterns=(), repo_files_list=(), config_edits=(), backup=False, prune=True,
            vendor=None, residue_files=(), vendor_dirs=()):
    """Delete vendor leftovers and the vendor's repository entries. Returns the result dict."""
    record = Record()
    recipe = normalize_recipe({"residue": list(residue or []), "config_edits": list(config_edits or []),
                               "repo_files": list(repo_files_list or []),
                               "residue_files": list(residue_files or [])})
    vendor_dirs = _vendor_dirs(vendor_dirs)
    result = {"vendor": vendor, "check_mode": host.check_mode, "root": host.shown_root}
    try:
        patterns = PatternSet(list(repo_patterns or []), search=True)
    except PatternError as exc:
        raise RemovalError("repo_patterns: %s" % exc)
    try:
        paths = _residue(host, record, recipe, vendor_dirs, prune)
        result["refused_paths"] = paths["refused"]
        result["repos"] = _clean_repos(host, record, patterns, recipe["repo_files"], backup,
                                       result["refused_paths"]) if patterns else []
        result["config_edits"] = _config_edits(host, record, recipe["config_edits"], backup, result["refused_paths"])
        result["remaining"] = {"paths": paths["remaining"]}
    except RemovalError as exc:
        exc.details.update(_result(result, record, host))
        raise
    out = _result(result, record, host)
    out.pop("removed_packages", None)
    out.pop("holds_released", None)
    return out


def _clean_repos(host, record, patterns, wanted, backup, refused):
    """Take the vendor's entries out of the repository files. A file that is a symbolic link is
    never edited through the link: when every entry in it is the vendor's, the link itself is
    removed (its target stays); otherwise it is refused (a warning, an entry of ``refused``)."""
    if wanted:
        files = []
        for inner in wanted:
            if not layout.in_repo_locations(inner):
                record.warn("repository file %s is outside %s: not edited" % (
                    inner, ", ".join(loc for loc, dummy in layout.REPO_LOCATIONS)))
                continue
            files.append(inner)
    else:
        files = list(layout.repo_files(host.fs.try_listdir, host.fs.isfile))
    done = []
    for inner in files:
        try:
            link = stat.S_ISLNK(host.fs.lstat(inner).st_mode)
        except OSError:
            continue
        text, dummy = read_text(host, inner)
        if text is None:
            continue
        fmt = layout.repo_format(inner)
        new, removed, left = clean_repo_text(text, fmt, lambda line: patterns.match(line) is not None)
        if not removed:
            continue
        delete = left == 0 and inner not in layout.NEVER_DELETE
        details = {"format": fmt, "lines": removed}
        if link:
            target = clean_text(host.fs.readlink(inner), 200)[0]
            if not delete:
                message = ("repository file %s is a symbolic link (-> %s) whose entries are not all the vendor's: "
                           "not edited through the link; take the vendor's entries out of its target by hand"
                           % (inner, target))
                record.warn(message)
                refused.append({"path": inner, "message": message})
                continue
            # The link goes, as a link; its target is not touched (so there is nothing to back up).
            details.update(kind="link", link_target=target)
        try:
            apply_edit(host, record, "repos", inner, text, new, backup=backup and not link, delete=delete,
                       action="edit", **details)
        except RemovalError as exc:
            _refused(record, refused, exc)
            continue
        entry = {"path": inner, "format": fmt, "removed": removed, "deleted": delete}
        if link:
            entry["link"] = True
        done.append(entry)
    return done
