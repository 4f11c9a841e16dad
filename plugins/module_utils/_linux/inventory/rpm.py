# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read what ``rpm --query --all`` prints about the installed packages.

The collector runs rpm once (``--root`` and ``--dbpath`` for another root; where the database
lives is ``layout``'s business) with a query format whose separators carry a random token, so a
package field can never forge a record or a field; this module builds that format and parses the
output into raw-inventory package records.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.holds import join_evr

__metaclass__ = type

__all__ = ["RPM_TAGS", "rpm_queryformat", "parse_rpm_output"]

#: The rpm tags read for each package, in output order.
RPM_TAGS = ("NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "VENDOR")


def rpm_queryformat(token):
    """``--queryformat`` with separators no package can contain (``token`` is random)."""
    field_sep = "@@F%s@@" % token
    return field_sep.join("%%{%s}" % tag for tag in RPM_TAGS) + "@@R%s@@\\n" % token


def parse_rpm_output(out, token, names=None, maintainers=None):
    """Parse ``rpm -qa --queryformat rpm_queryformat(token)``. Returns ``(records, malformed)``."""
    if isinstance(out, str):
        out = out.encode("utf-8", "surrogateescape")
    field_sep = ("@@F%s@@" % token).encode("ascii")
    record_sep = ("@@R%s@@\n" % token).encode("ascii")
    chunks = out.split(record_sep)
    malformed = 1 if chunks[-1].strip() else 0
    records = []
    for chunk in chunks[:-1]:
        fields = chunk.split(field_sep)
        if len(fields) != len(RPM_TAGS):
            malformed += 1
            continue
        name = fields[0].decode("utf-8", "replace")
        vendor = fields[5].decode("utf-8", "replace")
        vendor = None if vendor == "(none)" else vendor
        if not ((names and names.match(name)) or (maintainers and vendor is not None and maintainers.match(vendor))):
            continue
        epoch, version, release, arch = (field.decode("utf-8", "replace") for field in fields[1:5])
        full = join_evr(epoch, version, release)
        records.append({
            "name": name,
            "version": full or None,
            "arch": None if arch in ("", "(none)") else arch,
            "manager": "rpm",
            "status": "installed",
            "maintainer": vendor,
        })
    records.sort(key=lambda rec: (rec["name"], rec["arch"] or "", rec["version"] or ""))
    return records, malformed
