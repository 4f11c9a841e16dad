# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's shared words: one copy of each list of roles, platforms, methods,
statuses and blocker kinds, in the order the code relies on.

Controller side (plugin_utils), no imports: data only. The catalog, the planner, execute (gate
and outcome) and the reports import their lists from here; the lists that people read in a
report come with their label and meaning (``{name: (label, meaning)}``, in order), so a status
cannot exist without its words. Add a value here and everything that iterates the list (counts,
cards, legends) shows it.
"""

from __future__ import annotations

__all__ = [
    "PLATFORMS", "ROLES", "ROLE_RANK", "METHODS",
    "HOST_STATUS", "HOST_STATUSES", "SCAN_STATUSES", "ERROR_STATUSES", "ALERTS", "PLANNED_STATUSES",
    "BLOCKER", "BLOCKER_KINDS",
    "OUTCOME_STATUSES", "FINAL", "VENDOR_FREE", "DONE", "SETTLED", "FAILURES",
    "EXECUTE_STATUS", "EXECUTE_STATUSES", "UNTOUCHED",
]

# ------------------------------------------------------------------------------ the catalog

#: Platforms a catalog product and a plan know (a replacement antivirus exists for each).
PLATFORMS = ("linux", "windows")
#: Product roles in removal order (docs/catalog.md): a host's protection product goes first,
#: then the agent that manages it, other tools, and management servers last.
ROLES = ("protection", "agent", "tool", "management")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
#: Removal methods of a catalog recipe.
METHODS = ("package", "residue", "msi", "manual", "unknown")

# ------------------------------------------------------------------------------ identify

#: Every status a host can have in the identify report, most urgent first (the order of the
#: cards, of the ``by_status`` counts and of the default host table sort), with its label and
#: meaning (docs/reports.md).
HOST_STATUS = {
    "unprotected": ("Unprotected",
                    "Cleaned by execute, and no healthy replacement antivirus: nothing protects the host."),
    "reappearance": ("Reappeared",
                     "Cleaned by execute, and the vendor's software is back (BOD 17-01 forbids its use)."),
    "affected": ("Affected", "A vendor product is installed."),
    "residual": ("Residual", "Only leftovers of a vendor product remain."),
    "unknown": ("Unknown", "Scanned, but a source needed to call the host clean could not be read."),
    "failed": ("Failed", "The scan failed on the host."),
    "unreachable": ("Unreachable", "The host could not be contacted."),
    "not_scanned": ("Not scanned", "The host was in the play but has no scan result."),
    "clean": ("Clean", "No product and no leftovers found."),
}
HOST_STATUSES = tuple(HOST_STATUS)
#: Statuses a scan (``ansible_facts.divest.status``) can report.
SCAN_STATUSES = ("affected", "residual", "unknown", "clean")
#: Statuses set from the identify role's ``divest_scan`` fact (``kind``).
ERROR_STATUSES = ("unreachable", "failed")
#: What the execute outcome and the scan say together of a host that execute cleaned, most
#: urgent first; an alert is the host's status, whatever the scan or the error says.
ALERTS = ("unprotected", "reappearance")

# ------------------------------------------------------------------------------ plan

#: Scan statuses whose hosts are planned (when the selector selects them).
PLANNED_STATUSES = ("affected", "residual", "unknown")
#: Every blocker kind, in the order they are reported, with its label and what to do.
BLOCKER = {
    # no findings, findings older than max_age, or the scan failed
    "not_scanned": ("Not scanned", "No findings, findings older than the maximum age, or the scan failed. "
                                   "Scan the host (the plan playbook does, unless scanning is off) and plan again."),
    # scanned, but a source needed to call the host clean was unreadable
    "incomplete_scan": ("Incomplete scan", "A source needed to call the host clean could not be read (the package "
                                           "database, the vendor's paths or repository files, the Uninstall keys). "
                                           "Fix the scan errors, rescan, plan again."),
    # neither Linux nor Windows: no replacement is known
    "unsupported_platform": ("Unsupported platform", "Neither Linux nor Windows: no replacement is known."),
    # replacement `none` without a waiver
    "no_replacement": ("No replacement", "The policy installs no replacement antivirus and gives no waiver."),
    # product `unknown` or removal method `unknown`
    "unknown_removal": ("Unknown product", "Vendor software that no catalog entry describes: identify it and "
                                           "add it to the catalog, or remove it by hand and rescan."),
    # removal method `manual`: a human must act
    "manual_step": ("Manual step", "The recipe needs a human (vendor uninstaller, Safe Mode, "
                                   "decommissioning). Do it, rescan, plan again."),
    # uninstall password required and none configured
    "password_required": ("Password required", "The product is protected by an uninstall password and none "
                                               "is configured (divest_uninstall_passwords)."),
    # an exception in force for the host
    "exception": ("Exception", "An exception in force holds the host until it expires."),
}
BLOCKER_KINDS = tuple(BLOCKER)

# ------------------------------------------------------------------------------ execute

#: Every status an execute outcome (``divest_outcome``) can have (``running`` while the host
#: is being worked on).
OUTCOME_STATUSES = ("running", "removed", "already_clean", "would_remove", "reboot_pending", "unprotected", "blocked",
                    "drifted", "failed", "unreachable")
#: Outcome statuses decided before the last step; the outcome's ``finish`` keeps them (but may
#: make them ``unprotected``).
FINAL = ("blocked", "drifted", "failed", "unreachable")
#: Outcome statuses of a host that no longer carries the vendor's software: execute cleaned it
#: (with ``check_mode`` false). ``unprotected`` hosts are vendor-free too, but never counted as done.
VENDOR_FREE = ("removed", "already_clean", "unprotected")
#: Outcome statuses of a host that is done: vendor-free and protected.
DONE = ("removed", "already_clean")
#: Outcomes after which a host no longer holds up the waves after its own (not failures).
SETTLED = ("removed", "already_clean", "reboot_pending", "blocked", "drifted")
#: Outcomes that count against a wave's failure limit.
FAILURES = ("failed", "unreachable", "unprotected")

#: Statuses of a host in the execute report, in the order of the summary cards: the outcome
#: statuses but ``running`` (reported as ``unreachable``), ``unprotected`` first, and two of the
#: report's own for hosts without an outcome of this run; with label and meaning (docs/execute.md).
EXECUTE_STATUS = {
    "unprotected": ("Unprotected", "The vendor's protection is gone and the replacement antivirus does not work: the "
                                   "host has NO working antivirus. Fix the replacement first."),
    "removed": ("Removed", "Replacement healthy, the vendor's products removed by this plan and the host verified."),
    "already_clean": ("Already clean", "Nothing of the vendor found when execute re-identified the host; the "
                                       "replacement, the reinstall block and the verification were still done."),
    "would_remove": ("Would remove", "Check mode: execute would install the replacement and remove the products."),
    "reboot_pending": ("Reboot pending", "Windows: the products were uninstalled but Windows must restart to finish "
                                         "(divest_windows_reboot: never). Restart the host, then run execute again with "
                                         "the same plan: it cleans up and verifies the host."),
    "blocked": ("Blocked", "The plan has a blocker for the host: left alone until it is resolved and re-planned."),
    "drifted": ("Drifted", "The host's products changed since the plan: left alone; plan again."),
    "failed": ("Failed", "A step failed; the reason says which. The host is still protected (by the replacement, or "
                         "by the vendor's product when the replacement failed and nothing was removed)."),
    "unreachable": ("Unreachable", "The host could not be contacted; its state is unchanged or unknown."),
    "not_started": ("Not started", "Its wave did not run (an earlier wave failed too often, or the run stopped)."),
    "not_targeted": ("Not in this run", "A host of the plan this run did not target (--limit, divest_hosts): still to do."),
}
EXECUTE_STATUSES = tuple(EXECUTE_STATUS)
#: Execute report statuses whose hosts may have had nothing removed in any run.
UNTOUCHED = ("failed", "blocked", "drifted", "unreachable", "not_started", "not_targeted")
