# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.removal_plan`` (documentation: plugins/modules/removal_plan.py).

Runs on the controller only and never opens a connection. It reads every host's
``ansible_facts.divest`` (and ``divest_error``) in Python (``plugin_utils._hostfacts``), hands
them to the pure planner (``plugin_utils._planner``), writes the plan files
(``plugin_utils._plan_report``) and, when asked, stores each planned host's part as the
``divest_plan`` fact in the configured fact cache, all in this one task (no per-host task, no
Jinja loop over ``hostvars``). The policy is validated by its argument spec
(``_planner.POLICY_SPEC``, the suboptions of ``policy``) with the other arguments.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _plan_report, _planner
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import CatalogError, load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import FactReadError, HostFacts, host_value, map_hosts
from ansible_collections.fleetsec.divest.plugins.plugin_utils._files import ReportWriteError, previous_head, write_files

display = Display()

FACT = "divest_plan"
#: The arguments but ``hosts``, a list of names possibly 10,000s long (``HOST_LISTS``).
ARGUMENT_SPEC = {
    "pattern": {"type": "str"},
    "policy": {"type": "dict", "apply_defaults": True, "options": _planner.POLICY_SPEC},
    "dest": {"type": "path", "default": "divest-reports"},
    "formats": {"type": "list", "elements": "str", "default": list(_plan_report.FORMATS),
                "choices": list(_plan_report.FORMATS)},
    "store_host_facts": {"type": "bool", "default": False},
    "mode": {"type": "str", "default": "plan", "choices": ["plan", "stale", "auto"]},
    "return_plan": {"type": "bool", "default": True},
    "catalogs": {"type": "list", "elements": "str", "default": ["kaspersky"]},
}
#: What the planner reads of each host.
KEYS = ("divest", "divest_error")


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


# ------------------------------------------------------------------------------ catalogs


def vendor_profiles(catalogs):
    """``{vendor: {linux: {dirs, repos, packages}}}`` from loaded catalogs: the vendor's own
    directories and repository patterns (its Linux leftovers block) and every literal package
    name its Linux products' signatures and recipes know (patterns cannot be pinned)."""
    out = {}
    for catalog in catalogs:
        names = set()
        for product in catalog.for_platform("linux"):
            names.update(product.signatures.texts.get("packages") or ())
            names.update(p for p in product.removal.get("packages") or () if isinstance(p, str))
        block = catalog.leftovers.platforms.get("linux")
        sig = block[0] if block else None
        if not names and sig is None:
            continue
        out[catalog.vendor] = {"linux": {
            "dirs": list(catalog.vendor_dirs),        # plain paths, checked when the catalog was loaded
            "repos": list(sig.texts.get("repos") or ()) if sig is not None else [],
            "packages": sorted(n for n in names if not n.startswith("re:")),
        }}
    return out


# ------------------------------------------------------------------------------ reading hosts


def read_host(facts, name, warnings=None):
    """``{"divest", "groups", "error"}`` of host ``name`` for the planner (``facts``: a
    ``HostFacts``), or ``None`` for a host the inventory does not know. A host whose cached
    facts cannot be read is planned as not scanned, with a warning (added to ``warnings``
    when given, else shown)."""
    try:
        view = facts.read(name, KEYS)
    except FactReadError as exc:
        warning = "fleetsec.divest.removal_plan: cannot read the cached facts of %s: %s" % (name, exc)
        if warnings is None:
            display.warning(warning)
        else:
            warnings.append(warning)
        return {"divest": None, "groups": facts.groups(name), "error": None}
    if view is None:
        return None
    return {"divest": host_value(view, "divest"), "groups": facts.groups(name), "error": host_value(view, "divest_error")}


# ---------------------------------------------------------------------------------- writing


def _fingerprint(entry_json, digest, proof):
    text = "%s\n%s\n%s" % (entry_json, _planner.canonical_json(digest), _planner.canonical_json(proof))
    return ("sha256", hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())


def part_fingerprint(part):
    """A small stand-in for a host's plan part, equal for equal parts: the SHA-256 of its entry,
    digest and proof as canonical JSON (the part itself when it is not plain JSON data). The
    plan remembers only this of each host's stored part: the whole cached facts of a fleet are
    large. The new parts' fingerprints come from the canonical entries the digest was computed
    from (:func:`new_part_fingerprint`), with no part serialised again."""
    if part is None:
        return None
    try:
        if not isinstance(part, Mapping):
            raise TypeError("not a mapping")
        entry = {k: v for k, v in part.items() if k not in _planner.PART_KEYS}
        return _fingerprint(_planner.canonical_json(entry), part.get("digest"), part.get("proof"))
    except (TypeError, ValueError):
        return ("value", part)


def new_part_fingerprint(entry_json, digest, proof):
    """:func:`part_fingerprint` of the part made of ``entry_json`` (the entry's canonical
    JSON, ``_planner.host_json``), ``digest`` and ``proof``."""
    return _fingerprint(entry_json, digest, proof)


def stored_part(facts):
    """What :class:`HostFacts` keeps of a host's cached facts for the plan (its ``keep``): the
    digest of its stored part (``""``: a part without one; ``None``: no part). A part of
    another plan changes whatever it holds; only the parts of a plan with the same digest
    are read again and compared whole (:func:`part_fingerprint`)."""
    part = facts.get(FACT) if isinstance(facts, Mapping) else None
    if part is None:
        return None
    digest = part.get("digest") if isinstance(part, Mapping) else None
    return digest if isinstance(digest, str) else ""


def stored_part_fingerprint(facts, name):
    """:func:`part_fingerprint` of the part host ``name`` has in the fact cache (read again)."""
    try:
        view = facts.read(name, (FACT,))
    except FactReadError:
        return None
    cached = view.get("ansible_facts") if isinstance(view, Mapping) else None
    return part_fingerprint(cached.get(FACT) if isinstance(cached, Mapping) else None)


def _diff_text(plan):
    if plan is None:
        return ""
    lines = ["digest: %s" % plan["digest"]]
    for name, entry in plan["hosts"].items():
        products = ",".join("%s/%s" % (a["product"], a["version"] or "-") for a in entry["actions"]
                            if a["action"] in ("remove", "cleanup"))
        lines.append("%s: wave=%s products=%s blockers=%s" % (
            name, entry["wave"], products, ",".join(b["kind"] for b in entry["blockers"]) or "none"))
    for item in plan["not_scanned"]:
        lines.append("%s: not scanned (%s)" % (item["host"], item["reason"]))
    return "\n".join(lines) + "\n"


def _load_previous(path):
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------ action


class ActionModule(ActionModuleBase):

    ARGUMENT_SPEC = ARGUMENT_SPEC
    HOST_LISTS = ("hosts",)
    RUN_ONCE = ("fleetsec.divest.removal_plan plans the whole fleet in one task: run it with "
                "'run_once: true' (or on localhost), otherwise every host repeats the same work.")
    PAUSE_GC = True

    def run_action(self, args, task_vars, result):
        if (args["hosts"] is None) == (args["pattern"] is None):
            raise AnsibleActionFail("give exactly one of hosts (a list of inventory host names) or pattern "
                                    "(an inventory host pattern)")
        try:
            policy = _planner.normalize_policy(args["policy"], validated=True)
        except _planner.PolicyError as exc:
            raise AnsibleActionFail("invalid plan policy: %s" % exc)

        facts = HostFacts(task_vars, loader=self._loader, keep=stored_part if args["store_host_facts"] else False)
        names = args["hosts"] if args["hosts"] is not None else facts.names(args["pattern"])
        names = list(dict.fromkeys(names))
        now = utc_now()

        # The catalogs first, so that each host is planned as it is read (its facts are not kept:
        # a fleet's findings are large); a broken catalog fails only a run that plans.
        vendors, catalog_error = None, None
        if args["mode"] != "stale":
            try:
                vendors = vendor_profiles(load_catalogs(args["catalogs"]))
            except CatalogError as exc:
                catalog_error = "catalog error: %s" % exc
        try:
            planner = _planner.Planner(policy, now=now, vendors=vendors)
        except _planner.PolicyError as exc:
            raise AnsibleActionFail("invalid plan policy: %s" % exc)

        def place(chunk):
            """Read and place ``chunk``'s hosts (in this process or a forked one)."""
            share, warnings = _planner.Planner(policy, now=now, vendors=vendors), []
            for name in chunk:
                share.add(name, read_host(facts, name, warnings))
            return share.export(), facts.cached, warnings

        for state, cached, warnings in map_hosts(place, names):
            planner.absorb(state)
            facts.cached.update(cached)
            for warning in warnings:
                display.warning(warning)

        if args["mode"] in ("stale", "auto"):
            stale = planner.stale()
            result.update(stale_hosts=stale, hosts=len(names), fresh=len(names) - len(stale))
            if args["mode"] == "stale" or (stale and policy["scan"]):
                result.update(changed=False, planned=False)
                return

        if catalog_error:
            raise AnsibleActionFail(catalog_error)
        try:
            plan, parts = planner.finish()
        except _planner.PolicyError as exc:
            raise AnsibleActionFail("invalid plan policy: %s" % exc)
        del planner

        check = self.check_mode
        stored, wait_for_store, store_failed = 0, None, None
        if args["store_host_facts"]:
            # Started first: the fact cache is written by writer processes while this one
            # renders and writes the plan files (see _hostfacts.FactStore.start_json).
            try:
                stored, wait_for_store = self._store_host_facts(plan, parts, facts, check, result)
            except OSError as exc:      # the first host's write (a full disk): said with the files' outcome
                store_failed = "%s: %s" % (type(exc).__name__, exc)

        formats = list(dict.fromkeys(args["formats"]))
        dest = os.path.abspath(os.path.expanduser(args["dest"]))
        files = {fmt: os.path.join(dest, _plan_report.FILENAMES[fmt]) for fmt in formats}
        before = plan
        if self._task.diff and "json" in files and previous_head(files, with_digest=True)["digest"] != plan["digest"]:
            before = _load_previous(files["json"])      # read before the new plan replaces it
        # one format at a time (the page and the Markdown share their recipe groups): the files of a
        # fleet-wide plan are tens of megabytes each; same plan (same digest): its time is kept,
        # so the files stay byte-identical
        batches = [[fmt] for fmt in formats if fmt not in ("html", "md")] + [[fmt for fmt in formats if fmt in ("html", "md")]]
        error = None
        try:
            prepared = write_files(files, plan, lambda doc, batch: _plan_report.render(doc, batch, parts),
                                   digest=plan["digest"], batches=[b for b in batches if b], check=check)
        except ReportWriteError as exc:
            error, prepared = "cannot write the plan: %s" % exc, None
        if prepared is not None:
            plan, changed_files = prepared.document, prepared.changed
            if self._task.diff:
                if isinstance(before, Mapping) and before.get("digest") == plan["digest"]:
                    before = plan       # the same plan, with the time its files keep
                result["diff"] = {"before": _diff_text(before) if before else "", "after": _diff_text(plan),
                                  "before_header": "previous plan", "after_header": "new plan"}
        if wait_for_store is not None:
            try:
                wait_for_store()
            except Exception as exc:  # pylint: disable=broad-exception-caught  # said in the task's failure
                store_failed = str(exc)
        if store_failed is not None:
            error = ("%s%sstoring the hosts' %s facts failed: %s. Hosts whose part was not stored keep their earlier "
                     "one (or none), and execute refuses them for this plan's digest; run the plan again once the cause "
                     "is fixed: the same findings and options give the same plan and digest, and only the missing "
                     "parts are written" % (error or "", "; " if error else "", FACT, store_failed))
        if error:
            raise AnsibleActionFail(error)

        result.update(
            planned=True,
            changed=bool(changed_files) or stored > 0,
            digest=plan["digest"],
            summary=_planner.compact_summary(plan),
            files=files,
            changed_files=[files[fmt] for fmt in changed_files],
        )
        if check:
            result["msg"] = "check mode: nothing written; %d file(s) and %d host fact(s) would change" % (
                len(changed_files), stored)
        if args["return_plan"]:
            result["plan"] = plan

    def _store_host_facts(self, plan, hosts_json, facts, check, result):
        """Start storing each planned host's part as its ``divest_plan`` fact (unchanged parts
        are not rewritten). Returns how many change (would change, in check mode) and a
        function that waits for the writes and raises if they failed (``None``: nothing to wait for)."""
        store = facts.store()
        if not store.persistent:
            display.warning("fleetsec.divest.removal_plan: the fact cache is the non-persistent '%s' plugin, so the hosts' "
                            "plan parts (%s) are not stored. Configure a persistent fact cache (fact_caching = "
                            "jsonfile, or AWX's fact storage) to let execute read them." % (store.name, FACT))
            result["host_facts"] = {"stored": 0, "unchanged": 0, "cache": store.name,
                                    "skipped": "non-persistent fact cache"}
            return 0, None
        parts = _planner.PartTexts(plan, hosts_json)
        digest, stored = plan["digest"], facts.cached
        facts.keep = False
        # a part of another plan (or none) is written; one of this plan is read again and compared
        # whole, by a few processes at once (every host's, when the same plan is made again)
        same = [index for index, name in enumerate(parts.names) if stored.get(name) == digest]
        stored.clear()

        def edited(chunk):
            return [index for index in chunk if stored_part_fingerprint(facts, parts.names[index]) != new_part_fingerprint(
                hosts_json[parts.names[index]], digest, parts.proof(index))]
        unchanged = set(same).difference(index for found in map_hosts(edited, same) for index in found)
        pending = [index for index in range(len(parts.names)) if index not in unchanged]
        result["host_facts"] = {"stored": 0 if check else len(pending), "unchanged": len(plan["hosts"]) - len(pending),
                                "cache": store.name}
        if check or not pending:
            return len(pending), None
        # each part's text is made as the writers take it (the writer reads the host's current
        # facts again, in its own process)
        return len(pending), store.start_json(((parts.names[i], FACT, parts.dumped(i)) for i in pending), count=len(pending),
                                              dumped=True)
