# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.linux_clamav`` (documentation: plugins/modules/linux_clamav.py).

The clamav role's work on a host whose packages are installed, in one task: freshclam's
configuration (``ansible.builtin.template``), the signature bundle (``ansible.builtin.copy``),
freshclam's first download when the host has no signature file at all, Debian's unit drop-in,
the services, the restarts and reloads the changes call for (what the role's handlers did, in
their order) and the read-only health check (``fleetsec.divest.linux_clamav_health``, the
module's own EICAR string). AWX stores every task's events for every host: this was 10 to 16
tasks (with loops, handlers and a flush), about 50 job events per run of the role (issue 13,
item 7).

Each part is the same module or action, with the same arguments, as the task it replaces; the
decisions (which restarts, what is still pending in check mode, the words of a failure) are
the functions below, which the unit tests reach. A part that fails stops the work: the task
fails with ``health`` saying why (the role's rescue records it), and nothing after it runs.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase

PROBE = "fleetsec.divest.linux_clamav_health"
SYSTEMD = "ansible.builtin.systemd_service"
FILE = "ansible.builtin.file"
COMMAND = "ansible.builtin.command"
TEMPLATE = "ansible.builtin.template"
COPY = "ansible.builtin.copy"

HEALTH_OFF = "health check disabled (divest_clamav_health_check: false): not known to protect the host"

ARGUMENT_SPEC = {
    "health": {"type": "dict", "required": True},
    "signatures": {"type": "str", "required": True, "choices": ["official", "private_mirror", "offline"]},
    "source": {"type": "str", "default": "database.clamav.net"},
    "freshclam_conf": {"type": "dict", "required": True, "options": {
        "src": {"type": "str", "default": "freshclam.conf.j2"},
        "dest": {"type": "str", "required": True},
        "owner": {"type": "str"},
        "group": {"type": "str"},
        "mode": {"type": "raw"},
    }},
    "freshclam_service": {"type": "str", "required": True},
    "bundle": {"type": "list", "elements": "path", "default": []},
    "database_dir": {"type": "str", "required": True},
    "database_owner": {"type": "str"},
    "database_group": {"type": "str"},
    "database_count": {"type": "int", "required": True},
    "database": {"type": "list", "elements": "str", "default": []},
    "official": {"type": "bool", "required": True},
    "download_timeout": {"type": "int", "default": 600},
    "dropin": {"type": "str", "required": True},
    "dropin_units": {"type": "list", "elements": "str", "default": []},
    "clamd_service": {"type": "str", "required": True},
    "clamd_changed": {"type": "bool", "default": False},
    "signature_reload": {"type": "str", "default": "reloaded", "choices": ["reloaded", "restarted"]},
    "health_check": {"type": "bool", "default": True},
    "ping_timeout": {"type": "int", "default": 300},
    "probe": {"type": "dict", "required": True},
}

#: freshclam's lines start with a time stamp when LogTime is on (``Fri Dec  4 10:00:00 2026 -> ``).
_STAMP = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]+ [0-9:]{8} [0-9]{4} -> ")


class PartFailed(Exception):
    """A part of the work failed; ``msg`` says which and why."""

    def __init__(self, msg):
        super(PartFailed, self).__init__(msg)
        self.msg = msg


class HealthFailed(PartFailed):
    """The health check judged the host unprotected (``health`` is the judgement)."""

    def __init__(self, health):
        super(HealthFailed, self).__init__(health.get("reason") or "not protected")
        self.health = health


def freshclam_complaints(stdout, most=4):
    """freshclam's first distinct ERROR/WARNING lines, without their time stamps, joined (they
    name the cause of a failed download best); the DNS notice of a private mirror left out."""
    seen = []
    for line in (stdout or "").splitlines():
        line = _STAMP.sub("", line)
        if re.match(r"(ERROR|WARNING):", line) and "DNS Update Info disabled" not in line and line not in seen:
            seen.append(line)
    return " / ".join(seen[:most])


def no_database_message(database_dir, source, download):
    """Why clamd would have no database: the directory is empty, and the first download (``download``,
    the command's answer; ``None`` when none was made: offline) did not fill it."""
    msg = "no database: %s holds no signature files" % database_dir
    if download is None:
        return msg
    tail = freshclam_complaints(download.get("stdout"))
    if len(tail) > 300:
        tail = tail[:297] + "..."
    return msg + ", and freshclam could not download them from %s (rc %s: %s)" % (source, download.get("rc", "?"), tail)


def restarts(changed, signatures, clamd_changed):
    """What the changes call for, in the order the role's handlers had: systemd's units reloaded
    (a drop-in changed), clamd restarted (its configuration changed), its signatures reloaded (new
    bundle files: a restart loads them too), freshclam restarted (its configuration changed, and it
    runs: not offline). ``changed``: the parts that changed (names of :data:`PARTS`)."""
    plan = []
    if "unit drop-in" in changed:
        plan.append("reload units")
    if clamd_changed:
        plan.append("restart clamd")
    if "signature files" in changed and not clamd_changed:
        plan.append("reload signatures")
    if "freshclam configuration" in changed and signatures != "offline":
        plan.append("restart freshclam")
    return plan


#: The parts that change the host, in the order they run (and are named in check mode's pending list).
PARTS = ("freshclam configuration", "signature files", "unit drop-in", "freshclam service", "clamd service")


def pending(changed, clamd_changed):
    """Check mode: the changes a failing probe may be waiting for, in words (as the health module
    takes them: it then says so instead of failing)."""
    names = [p for p in PARTS if p in changed]
    if clamd_changed:
        names.append("clamd configuration")
    return names


class ActionModule(ActionModuleBase):

    _requires_connection = True
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_action(self, args, task_vars, result):
        self._vars, self._changed, self._diffs, self._warnings = task_vars, [], [], []
        health = dict(args["health"])
        try:
            health = self._converge(args, health)
        except HealthFailed as exc:
            result.update(failed=True, msg=exc.msg, health=exc.health)
        except PartFailed as exc:
            result.update(failed=True, msg=exc.msg,
                          health=dict(health, healthy=False, checked=True, reason=exc.msg))
        result.update(changed=bool(self._changed), changes=self._changed)
        result.setdefault("health", health)
        if self._diffs:
            result["diff"] = self._diffs
        if self._warnings:
            result["warnings"] = self._warnings

    # ------------------------------------------------------------------------------- the work

    def _converge(self, args, health):
        """Every part in order; the host's ClamAV health record at the end (``health`` is the
        record so far, "not protected" until proven otherwise)."""
        conf = args["freshclam_conf"]
        self._part("freshclam configuration", TEMPLATE, dict((k, v) for k, v in conf.items() if v is not None),
                   "Point freshclam at the signature source")
        for path in args["bundle"]:
            self._part("signature files", COPY, self._owned(
                {"src": path, "dest": "%s/%s" % (args["database_dir"].rstrip("/"), path.rsplit("/", 1)[-1]), "mode": "0644"},
                args["database_owner"], args["database_group"]), "Copy the signature bundle from the controller")
        official, count, database = args["official"], args["database_count"], args["database"]
        if count == 0:
            listed = self._first_database(args)
            if listed is None:
                # check mode: what a download would bring cannot be known; nothing can be checked
                health["reason"] = ("check mode: no signature file yet, would run freshclam once to download them from "
                                    "%s; health not checked" % args["source"])
            else:
                official, count = bool(listed.get("official")), listed.get("database_count", 0)
                database = listed.get("database") or []
        self._dropins(args, needed=not official)
        offline = args["signatures"] == "offline"
        self._part("freshclam service", SYSTEMD, {"name": args["freshclam_service"], "state": "stopped" if offline else "started",
                                                  "enabled": not offline}, "Run freshclam as the signature source wants")
        self._restarts(args)
        self._part("clamd service", SYSTEMD, {"name": args["clamd_service"], "state": "started", "enabled": True},
                   "Enable and start clamd")
        if not args["health_check"]:
            return dict(health, reason=HEALTH_OFF, database=database)
        if count == 0 and self.check_mode:
            return health
        waiting = pending(self._changed, args["clamd_changed"]) if self.check_mode else []
        answer = self._module(PROBE, dict(args["probe"], probes=["database", "health"], ping_timeout=args["ping_timeout"],
                                          pending=waiting), "Check that clamd protects the host")
        judged = dict(health, **(answer.get("health") or {}))
        if not judged.get("healthy") and not (self.check_mode and waiting):
            raise HealthFailed(judged)
        return judged

    def _first_database(self, args):
        """The host has no signature file at all (the bundle counted): freshclam downloads the first
        ones once, in the foreground (its daemon, which holds the update log's lock, paused meanwhile
        and started again whatever happens). The listing after it; ``None`` in check mode. Still no
        database: the task fails (clamd would have nothing to load)."""
        if self.check_mode:
            return None
        download = None
        if args["signatures"] != "offline":
            service = args["freshclam_service"]
            self._module(SYSTEMD, {"name": service, "state": "stopped"}, "Pause freshclam's daemon")
            try:
                argv = ["timeout", "--kill-after=10", str(args["download_timeout"]), "freshclam",
                        "--config-file=%s" % args["freshclam_conf"]["dest"], "--stdout"]
                download = self._execute_module(module_name=COMMAND, module_args={"argv": argv}, task_vars=self._vars)
                if download.get("unreachable"):
                    raise PartFailed("Download the signatures with freshclam: lost contact with the host")
                if download.get("rc") == 0:
                    self._changed.append("first download")
            finally:
                self._module(SYSTEMD, {"name": service, "state": "started"}, "Start freshclam's daemon again")
        listed = self._module(PROBE, dict(args["probe"], probes=["database"]), "List the database directory again")
        if listed.get("database_count", 0) == 0:
            raise PartFailed(no_database_message(args["database_dir"], args["source"], download))
        return listed

    def _dropins(self, args, needed):
        """Debian's units skip clamd without main.* AND daily.*: the drop-in that resets their
        condition is there exactly when the official databases are not."""
        for unit in args["dropin_units"]:
            if needed:
                self._part("unit drop-in", COPY, {"src": args["dropin"], "dest": "/etc/systemd/system/%s.d/" % unit,
                                                  "owner": "root", "group": "root", "mode": "0644", "directory_mode": "0755"},
                           "Let clamd start without the official databases")
            else:
                self._part("unit drop-in", FILE, {"path": "/etc/systemd/system/%s.d/%s" % (unit, args["dropin"]), "state": "absent"},
                           "Remove the drop-in once the official databases are there")

    def _restarts(self, args):
        for what in restarts(self._changed, args["signatures"], args["clamd_changed"]):
            if what == "reload units":
                self._module(SYSTEMD, {"daemon_reload": True}, "Reload systemd units")
            elif what == "restart clamd":
                self._module(SYSTEMD, {"name": args["clamd_service"], "state": "restarted"}, "Restart clamd")
            elif what == "reload signatures":
                self._module(SYSTEMD, {"name": args["clamd_service"], "state": args["signature_reload"]}, "Reload clamd signatures")
            else:
                self._module(SYSTEMD, {"name": args["freshclam_service"], "state": "restarted"}, "Restart freshclam")

    # ----------------------------------------------------------------------------- plumbing

    @staticmethod
    def _owned(args, owner, group):
        if owner:
            args["owner"] = owner
        if group:
            args["group"] = group
        return args

    def _part(self, name, what, module_args, words):
        """One part that may change the host: the action or module ``what``; noted as changed."""
        if what in (TEMPLATE, COPY):
            answer = self._action(what, module_args, words)
        else:
            answer = self._module(what, module_args, words)
        if answer.get("changed") and name not in self._changed:
            self._changed.append(name)
        return answer

    def _module(self, name, module_args, words):
        answer = self._execute_module(module_name=name, module_args=module_args, task_vars=self._vars)
        return self._checked(answer, words)

    def _action(self, name, module_args, words):
        """Runs ansible-core's ``template`` or ``copy`` action (they transfer files from the
        controller) on a copy of this task, as ``template`` itself runs ``copy``."""
        task = self._task.copy()
        task.args = module_args
        action = self._shared_loader_obj.action_loader.get(
            name, task=task, connection=self._connection, play_context=self._play_context, loader=self._loader,
            templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        try:
            answer = action.run(task_vars=self._vars)
        except AnsibleConnectionFailure:
            raise                      # the host is unreachable: ansible-core records it so
        except AnsibleError as exc:
            # a template that does not render, a source file that cannot be read: named as a part
            raise PartFailed("%s: %s" % (words, exc.message if hasattr(exc, "message") else exc))
        diff = answer.get("diff")
        if diff:
            self._diffs.extend(diff if isinstance(diff, list) else [diff])
        return self._checked(answer, words)

    def _checked(self, answer, words):
        self._warnings.extend(w for w in answer.get("warnings") or [] if isinstance(w, str))
        if answer.get("unreachable"):
            raise PartFailed("%s: lost contact with the host: %s" % (words, answer.get("msg") or "unreachable"))
        if answer.get("failed"):
            raise PartFailed("%s: %s" % (words, answer.get("msg") or "failed"))
        return answer
