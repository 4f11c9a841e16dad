# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A glob never reads a hostile directory whole: the listing stops at MAX_LISTING names and the
directory is reported, so the scan calls the host unknown rather than clean."""

import errno

from ansible_collections.fleetsec.divest.plugins.module_utils._linux import fs as linux_fs
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.fs import RootFS
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory import collector as inv
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import build_query, match


def test_a_glob_stops_listing_a_directory_that_is_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(linux_fs, "MAX_LISTING", 50)
    conf = tmp_path / "etc" / "opt" / "kaspersky"
    conf.mkdir(parents=True)
    for i in range(51):
        (conf / ("junk%03d" % i)).write_text("")
    (conf / "kesl.conf").write_text("")
    paths, errors = RootFS(str(tmp_path)).glob("/etc/opt/kaspersky/kesl*")
    assert paths == []
    assert len(errors) == 1 and errors[0][0] == "/etc/opt/kaspersky" and errors[0][1].errno == errno.EFBIG
    assert "more than 50 entries" in str(errors[0][1])
    # at the limit it is read and matched
    (conf / "junk000").unlink()
    (conf / "junk001").unlink()
    paths, errors = RootFS(str(tmp_path)).glob("/etc/opt/kaspersky/kesl*")
    assert paths == ["/etc/opt/kaspersky/kesl.conf"] and errors == []


def test_a_cut_listing_makes_the_host_unknown_not_clean(tmp_path, monkeypatch):
    monkeypatch.setattr(linux_fs, "MAX_LISTING", 10)
    conf = tmp_path / "etc" / "opt" / "kaspersky"
    conf.mkdir(parents=True)
    for i in range(20):
        (conf / ("x%02d" % i)).write_text("")
    inventory = inv.collect(inv.Query(**_catalog_query()), Host(root=str(tmp_path), which=lambda name: None))
    facts = match(inventory, load_catalogs(["kaspersky"]), scanned_at="2026-11-27T10:00:00Z")
    assert facts["status"] == "unknown", facts["scan"]["errors"]
    assert any("/etc/opt/kaspersky" in e["message"] and "more than 10 entries" in e["message"]
               for e in facts["scan"]["errors"])


def _catalog_query():
    return build_query(load_catalogs(["kaspersky"]), "linux")
