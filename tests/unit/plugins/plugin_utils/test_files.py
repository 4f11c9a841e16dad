# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugin_utils/_files.py: atomic writes, and keeping ``generated_at`` while the
content stays the same (the plan's files and the reports' alike)."""

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _files as f
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _plan_report as pr
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _planner
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _report as r

NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.timezone.utc)
LATER = NOW + datetime.timedelta(days=1)


def test_write_bytes_atomic(tmp_path):
    path = tmp_path / "a" / "b" / "f.txt"
    old = os.umask(0o077)
    try:
        assert f.write_bytes_atomic(str(path), b"one") is True
    finally:
        os.umask(old)
    assert path.read_bytes() == b"one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert f.write_bytes_atomic(str(path), b"one") is False
    assert f.write_bytes_atomic(str(path), b"on") is True
    assert path.read_bytes() == b"on"
    assert sorted(os.listdir(path.parent)) == ["f.txt"]  # no temporary file left


def test_write_bytes_atomic_errors(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(f.ReportWriteError, match="cannot create directory"):
        f.write_bytes_atomic(str(blocker / "sub" / "f.json"), b"x")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(f.ReportWriteError, match="is a directory"):
        f.write_bytes_atomic(str(tmp_path / "dir.json"), b"x")


def plan(now=NOW, version="12.1.0.1508"):
    facts = {"schema": 1, "scanned_at": "2026-11-28T10:00:00Z", "status": "affected",
             "platform": {"system": "Linux", "distribution": "debian", "version": "12"},
             "scan": {"live": True, "skipped": [], "errors": []},
             "findings": [{"vendor": "kaspersky", "product": "kesl", "name": "Kaspersky Endpoint Security for Linux",
                           "version": version, "state": "installed", "role": "protection", "evidence": [],
                           "removal": {"method": "package", "order": 10, "packages": ["kesl"], "reboot": False,
                                       "password": "none"}}]}
    return _planner.build_plan_parts({"web1": {"divest": facts, "groups": [], "error": None}}, {}, now=now)


def plan_files(dest, formats=pr.FORMATS):
    return {fmt: str(dest / pr.FILENAMES[fmt]) for fmt in formats}


def test_previous_head_of_every_format(tmp_path):
    document, parts = plan()
    files = plan_files(tmp_path)
    for fmt, data in pr.render(document, pr.FORMATS, parts).items():
        f.write_bytes_atomic(files[fmt], data)
    for fmt in pr.FORMATS:
        assert f.previous_head({fmt: files[fmt]}, with_digest=True) == \
            {"generated_at": "2026-11-28T12:00:00Z", "digest": document["digest"]}, fmt
    report = r.build_identify_report({"a": {}}, "2026-11-27T10:05:00Z")
    for fmt in ("json", "html"):
        path = str(tmp_path / ("r." + fmt))
        f.write_bytes_atomic(path, r.RENDERERS[fmt](report))
        assert f.previous_head({fmt: path}) == {"generated_at": "2026-11-27T10:05:00Z", "digest": None}
    assert f.previous_head({"csv": files["json"], "json": str(tmp_path / "missing")}) == \
        {"generated_at": None, "digest": None}


def test_write_files_keeps_the_time_of_the_same_plan(tmp_path):
    document, parts = plan()
    files = plan_files(tmp_path, ("json", "html"))
    first = f.write_files(files, document, lambda doc, batch: pr.render(doc, batch, parts), digest=document["digest"],
                          check=True)
    assert first.changed == ["html", "json"] and first.document is document
    f.write_files(files, document, lambda doc, batch: pr.render(doc, batch, parts), digest=document["digest"])
    # the same plan later: the earlier time is kept, nothing to write, the document passed in is unchanged
    again, parts = plan(LATER)
    assert again["digest"] == document["digest"] and again["generated_at"] != document["generated_at"]
    files = plan_files(tmp_path, ("json", "html", "md"))   # a format more: written with the earlier time too
    second = f.write_files(files, again, lambda doc, batch: pr.render(doc, batch, parts), digest=again["digest"],
                           check=True)
    assert second.document["generated_at"] == document["generated_at"] != again["generated_at"]
    assert second.changed == ["md"] and second.previous["digest"] == document["digest"]
    # another plan: the new time
    other, parts = plan(LATER, "12.1.0.9999")
    third = f.write_files(files, other, lambda doc, batch: pr.render(doc, batch, parts), digest=other["digest"],
                          check=True)
    assert third.document is other and third.changed == ["html", "json", "md"]


def test_write_files_without_digest_compares_the_bytes(tmp_path):
    report = r.build_identify_report({"a": {}}, "2026-11-27T10:05:00Z")
    files = {fmt: str(tmp_path / ("divest-identify." + fmt)) for fmt in r.FORMATS}

    def render(doc, batch):
        return {fmt: r.RENDERERS[fmt](doc) for fmt in batch}
    f.write_files(files, report, render)
    later = r.build_identify_report({"a": {}}, "2026-11-28T08:00:00Z")
    same = f.write_files(files, later, render, check=True)
    assert same.changed == [] and same.document["generated_at"] == "2026-11-27T10:05:00Z"
    assert later["generated_at"] == "2026-11-28T08:00:00Z"
    grown = r.build_identify_report({"a": {}, "b": {}}, "2026-11-28T08:00:00Z")
    changed = f.write_files(files, grown, render, check=True)
    assert changed.changed == ["csv", "html", "json"] and changed.document["generated_at"] == "2026-11-28T08:00:00Z"
    f.write_files(files, grown, render)
    assert json.loads(open(files["json"], "rb").read())["generated_at"] == "2026-11-28T08:00:00Z"


def test_write_files_renders_and_writes_one_batch_at_a_time(tmp_path):
    files = {fmt: str(tmp_path / ("divest-identify." + fmt)) for fmt in r.FORMATS}
    batches = []

    def render(doc, batch):
        batches.append(list(batch))
        for fmt in files:     # each batch is written before the next is rendered
            assert os.path.exists(files[fmt]) == (fmt in sum(batches[:-1], []))
        return {fmt: r.RENDERERS[fmt](doc) for fmt in batch}
    report = r.build_identify_report({"a": {}}, "2026-11-27T10:05:00Z")
    checked = f.write_files(files, report, lambda doc, batch: {fmt: r.RENDERERS[fmt](doc) for fmt in batch}, check=True)
    assert checked.changed == ["csv", "html", "json"] and not any(os.path.exists(p) for p in files.values())
    first = f.write_files(files, report, render)
    assert batches == [["json"], ["csv"], ["html"]] and first.changed == ["csv", "html", "json"]
    assert all(open(files[fmt], "rb").read() == r.RENDERERS[fmt](report) for fmt in files)
    # the same report later: the earlier time is kept and nothing is written
    later = r.build_identify_report({"a": {}}, "2026-11-28T08:00:00Z")
    before = {fmt: os.stat(path).st_mtime_ns for fmt, path in files.items()}
    same = f.write_files(files, later, lambda doc, batch: {fmt: r.RENDERERS[fmt](doc) for fmt in batch})
    assert same.changed == [] and same.document["generated_at"] == "2026-11-27T10:05:00Z"
    assert before == {fmt: os.stat(path).st_mtime_ns for fmt, path in files.items()}
    # another report: the new time, every file rewritten
    other = r.build_identify_report({"a": {}, "b": {}}, "2026-11-28T08:00:00Z")
    changed = f.write_files(files, other, lambda doc, batch: {fmt: r.RENDERERS[fmt](doc) for fmt in batch},
                            batches=[["json", "csv"], ["html"]])
    assert changed.changed == ["csv", "html", "json"] and changed.document is other
    assert json.loads(open(files["json"], "rb").read())["generated_at"] == "2026-11-28T08:00:00Z"


def test_write_files_in_parallel_writes_what_one_process_writes(tmp_path, monkeypatch):
    """With ``parallel`` each batch is rendered and written by a process of its own (the first here),
    with the same decisions and the same files as one after the other."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    parent = os.getpid()
    mode = ["s"]

    def render(doc, batch):
        with open(str(tmp_path / ("pids-" + mode[0])), "a") as handle:
            handle.write("%s %d\n" % (",".join(batch), os.getpid()))
        return {fmt: r.RENDERERS[fmt](doc) for fmt in batch}

    def run(name, document, **kwargs):
        files = {fmt: str(tmp_path / name / ("divest-identify." + fmt)) for fmt in r.FORMATS}
        done = f.write_files(files, document, render, **kwargs)
        return done, {fmt: open(path, "rb").read() if os.path.exists(path) else None for fmt, path in files.items()}

    report = r.build_identify_report({"a": {}, "b": {}}, "2026-11-27T10:05:00Z")
    later = r.build_identify_report({"a": {}, "b": {}}, "2026-11-28T08:00:00Z")
    other = r.build_identify_report({"a": {}}, "2026-11-28T08:00:00Z")
    for parallel in (False, True):
        name = mode[0] = "p" if parallel else "s"
        first = run(name, report, parallel=parallel)
        assert first[0].changed == ["csv", "html", "json"]
        same = run(name, later, parallel=parallel)
        assert same[0].changed == [] and same[0].document["generated_at"] == "2026-11-27T10:05:00Z"
        checked = run(name, other, parallel=parallel, check=True)
        assert checked[0].changed == ["csv", "html", "json"] and checked[1] == first[1]
        changed = run(name, other, parallel=parallel, batches=[["json"], ["csv", "html"]])
        assert changed[0].changed == ["csv", "html", "json"] and changed[0].document is other
        assert changed[1] == {fmt: r.RENDERERS[fmt](other) for fmt in r.FORMATS}
    serial, forked = ([line.split() for line in open(str(tmp_path / ("pids-" + kind)))] for kind in "sp")
    assert {int(pid) for dummy, pid in serial} == {parent}
    assert {int(pid) for batch, pid in forked if batch == "json"} == {parent}       # the first batch: here
    assert parent not in {int(pid) for batch, pid in forked if batch != "json"}      # the others: in children


def test_write_files_in_parallel_does_a_failed_batch_again_here(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    parent = os.getpid()
    files = {fmt: str(tmp_path / ("divest-identify." + fmt)) for fmt in r.FORMATS}
    report = r.build_identify_report({"a": {}}, "2026-11-27T10:05:00Z")

    def render(doc, batch):
        if os.getpid() != parent:
            raise MemoryError("the child gives up")
        return {fmt: r.RENDERERS[fmt](doc) for fmt in batch}
    done = f.write_files(files, report, render, parallel=True)
    assert done.changed == ["csv", "html", "json"]
    assert {fmt: open(path, "rb").read() for fmt, path in files.items()} == {fmt: r.RENDERERS[fmt](report) for fmt in files}
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(f.ReportWriteError, match="cannot create directory"):
        f.write_files({fmt: str(blocker / "sub" / ("r." + fmt)) for fmt in r.FORMATS}, report, render, parallel=True)
    assert f.parallel_for(f.PARALLEL_HOSTS) and not f.parallel_for(f.PARALLEL_HOSTS - 1)
