# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's fact layer (plugin_utils._hostfacts): the fast way through the play's caches
reads what the public ``hostvars.raw_get`` gives, over a real inventory and fact cache."""

from __future__ import annotations

import json
import os
import pathlib
from unittest.mock import MagicMock

import pytest

from ansible.release import __version__ as ansible_version

from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import (
    FactReadError,
    FactStore,
    HostFacts,
    fast_get,
    host_value,
    in_background,
    map_hosts,
)

INVENTORY = {"all": {"children": {
    "linux": {"hosts": {"web1": None, "web2": None, "db1": None, "new1": None}},
    "prod": {"hosts": {"web1": None, "db1": None}},
}}}
CACHED = {
    "web1": {"divest": {"status": "clean"}, "divest_outcome": {"status": "removed"}, "os_family": "Debian"},
    "web2": {"divest": {"status": "affected"}, "divest_scan": {"changed": False}},
    "db1": {"ansible_divest": {"status": "residual"}},   # a fact returned with the ansible_ prefix
}
KEYS = ("divest", "divest_scan", "divest_outcome", "divest_error")


@pytest.fixture(params=["jsonfile", "mapping"])
def fleet(request, make_fleet):
    fleet = make_fleet(INVENTORY, CACHED, plugin=request.param)
    # set_fact / register values of this run
    fleet.variable_manager.set_nonpersistent_facts("web2", {"divest_scan": {"unreachable": True},
                                                            "divest_error": {"kind": "unreachable"}})
    fleet.variable_manager.set_nonpersistent_facts("new1", {"divest": {"status": "unknown"}})
    return fleet


def test_the_caches_give_what_raw_get_gives(fleet):
    fast = HostFacts(fleet.task_vars())
    public = HostFacts(fleet.task_vars(), fast=False)
    assert fast.fast and not public.fast
    for name in ("web1", "web2", "db1", "new1"):
        one, two = fast.read(name, KEYS), public.read(name, KEYS)
        for key in KEYS:
            assert host_value(one, key) == host_value(two, key), (name, key)
            assert one["ansible_facts"].get(key) == two["ansible_facts"].get(key), (name, key)
    assert fast.read("ghost", KEYS) is None and public.read("ghost", KEYS) is None


def test_set_fact_and_register_win_over_the_cached_fact(fleet):
    facts = HostFacts(fleet.task_vars())
    assert facts.value("web2", "divest_scan") == {"unreachable": True}
    assert facts.value("web2", "divest") == {"status": "affected"}
    assert facts.value("new1", "divest") == {"status": "unknown"}
    assert facts.value("db1", "divest") == {"status": "residual"}
    assert facts.value("web1", "divest_error") is None and facts.value("ghost", "divest") is None


def test_host_value_reads_any_hostvars_mapping():
    assert host_value({"x": 1, "ansible_facts": {"x": 2}}, "x") == 1
    assert host_value({"ansible_facts": {"x": 2}}, "x") == 2
    assert host_value({"ansible_facts": None}, "x") is None
    assert host_value(None, "x") is None and host_value(object(), "x") is None


def test_an_unreadable_cache_entry_raises(make_fleet):
    fleet = make_fleet(INVENTORY, CACHED, plugin="mapping")

    def boom(name):
        raise OSError("disk on fire")

    fleet.variable_manager._fact_cache.get = boom
    facts = HostFacts(fleet.task_vars())
    with pytest.raises(FactReadError, match="disk on fire"):
        facts.read("web1", KEYS)
    assert facts.value("web1", "divest") is None          # value(): unreadable reads as nothing
    assert facts.read("ghost", KEYS) is None              # unknown before unreadable


def test_keep_remembers_each_hosts_cached_facts(fleet):
    for fast in (True, False):
        facts = HostFacts(fleet.task_vars(), fast=fast, keep=True)
        facts.read("web1", ("divest",))
        facts.read("new1", ("divest",))
        assert facts.cached["web1"]["os_family"] == "Debian"
        assert not facts.cached["new1"]


def test_names_and_groups_with_and_without_an_inventory(fleet):
    tvars = fleet.task_vars()
    facts = HostFacts(tvars)
    assert facts.names("prod") == ["db1", "web1"] and facts.names("linux:!web*") == ["db1", "new1"]
    assert sorted(facts.groups("web1")) == ["linux", "prod"]
    fleet.inventory.subset("web1")
    assert facts.names("linux") == ["db1", "new1", "web1", "web2"] and facts.names("linux", limits=True) == ["web1"]
    plain = HostFacts(dict(tvars, hostvars={}), loader=fleet.loader)    # groups only: like the lookup
    assert plain.names("prod") == ["db1", "web1"] and plain.names("linux:!web*") == ["db1", "new1"]
    assert sorted(plain.groups("web1")) == ["linux", "prod"] and plain.groups("ghost") == []


def test_a_plain_mapping_as_hostvars_is_read_the_public_way():
    hostvars = {"h1": {"ansible_facts": {"divest": 1}}, "h2": {"divest": 2}, "h3": "not a mapping"}
    facts = HostFacts({"hostvars": hostvars, "groups": {"all": ["h1", "h2", "h3"], "web": ["h1"]}})
    assert not facts.fast
    assert [facts.value(n, "divest") for n in ("h1", "h2", "h3", "h4")] == [1, 2, None, None]
    assert facts.groups("h1") == ["web"]


def test_background_errors_are_reported(tmp_path):
    def boom(items):
        raise OSError("disk full on %s" % items[0])
    wait = in_background(boom, ["web1", "web2"], minimum=1)
    with pytest.raises(RuntimeError, match="disk full on web"):
        wait()
    marker = tmp_path / "done"
    wait = in_background(lambda items: marker.write_text(",".join(items)), ["a"], minimum=1)
    wait()
    assert marker.read_text() == "a"


@pytest.mark.skipif(tuple(int(p) for p in ansible_version.split(".")[:2]) < (2, 19),
                    reason="ansible-core before 2.19 has no cache payload wrapper")
def test_fast_cache_reading_agrees_with_ansible(make_fleet):
    cache = make_fleet(INVENTORY, CACHED).variable_manager._fact_cache
    assert hasattr(cache, "__wrapped__")
    get = fast_get(cache)
    assert get is not cache.get
    for name in CACHED:
        assert get(name) == cache.get(name)
    with pytest.raises(KeyError):
        get("new1")


class FakeInterposer(object):
    """The shape of ansible-core 2.19+'s cache wrapper, to test the fast reading logic."""

    _PAYLOAD_KEY = "__payload__"

    def __init__(self, entries, official=None):
        self.__wrapped__ = MagicMock()
        self.__wrapped__.get.side_effect = lambda key: entries[key]
        self.official = official or (lambda name: json.loads(entries["s1_" + name]["__payload__"]))
        self.calls = 0

    def _get_key(self, name):
        return "s1_" + name

    def get(self, name):
        self.calls += 1
        return self.official(name)


def test_fast_reading_falls_back_to_ansible_when_in_doubt():
    entries = {"s1_a": {"__payload__": json.dumps({"divest": {"x": 1}})},
               "s1_b": {"__payload__": json.dumps({"divest": {"x": "__ansible_lookalike"}})},
               "s1_c": {"__payload__": json.dumps({"divest": {"x": 3}})}}
    cache = FakeInterposer(entries)
    get = fast_get(cache)
    assert get("a") == {"divest": {"x": 1}} and cache.calls == 1      # first one checked both ways
    assert get("c") == {"divest": {"x": 3}} and cache.calls == 1      # then the fast path
    assert get("b") == {"divest": {"x": "__ansible_lookalike"}} and cache.calls == 2   # marker: official
    disagreeing = FakeInterposer(entries, official=lambda name: {"tagged": name})
    get = fast_get(disagreeing)
    assert get("a") == {"tagged": "a"} and get("c") == {"tagged": "c"}   # never trusted again
    assert fast_get(MagicMock(spec=["get"])) is not None     # no wrapper: the plugin's get


def _outcome(get, name):
    try:
        return "value", get(name)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return "error", type(exc).__name__


def test_a_truncated_cache_file_reads_as_ansible_reads_it(make_fleet):
    """A job killed while the jsonfile cache wrote a host's entry leaves half a file: the fast
    reading answers exactly as ansible-core's own cache does, never with made-up facts."""
    fleet = make_fleet(INVENTORY, CACHED)
    broken = next(n for n in CACHED)
    files = [p for p in pathlib.Path(fleet.cache_dir).iterdir() if p.name.endswith(broken)]
    assert files, "the cache has no file for %s" % broken
    halves = {path: path.read_text()[:25] for path in files}

    def break_it():
        # the plugin erases a corrupt file when it reads it: each reader meets the half file
        for path, text in halves.items():
            path.write_text(text)

    break_it()
    fast = _outcome(fast_get(make_fleet(INVENTORY).variable_manager._fact_cache), broken)
    break_it()
    official = _outcome(make_fleet(INVENTORY).variable_manager._fact_cache.get, broken)
    assert fast == official
    assert fast[0] == "error" or not fast[1].get("divest")


def test_hosts_are_mapped_in_chunks_by_forked_processes():
    names = ["h%d" % i for i in range(10)]
    parent = os.getpid()
    results = map_hosts(lambda chunk: (os.getpid(), list(chunk)), names, processes=2, minimum=1)
    assert sorted(name for dummy, chunk in results for name in chunk) == sorted(names)
    assert results[0][0] == parent and results[1][0] != parent          # the second chunk in a child
    assert map_hosts(list, names, processes=2, minimum=100) == [names]   # few: here


def test_a_failing_mapping_process_has_its_chunk_done_again_here():
    parent = os.getpid()

    def work(chunk):
        if os.getpid() != parent:
            raise MemoryError("child gave up")
        return list(chunk)
    results = map_hosts(work, ["a", "b", "c", "d"], processes=2, minimum=1)
    assert results == [["a", "c"], ["b", "d"]]

    def fails(chunk):
        raise ValueError("everywhere: %s" % chunk)
    with pytest.raises(ValueError, match="everywhere"):
        map_hosts(fails, ["a", "b"], processes=2, minimum=1)


def _written(fleet, names):
    from ansible.plugins.loader import cache_loader
    cache = cache_loader.get("jsonfile")      # a later job's reading
    out = {}
    for name in names:
        try:
            out[name] = cache.get(name)
        except KeyError:
            out[name] = None
    return out


ODD_TEXT = 'say "hi" \\ back\\slash\n\u00e9\u202e\U0001f600 divest_pla'


@pytest.mark.parametrize("popen_fails, dumped, variant", [(False, False, 0), (True, False, 0), (False, True, 0),
                                                          (False, True, 1), (False, False, 1)])
def test_facts_written_fast_read_back_as_the_plugin_writes_them(make_fleet, monkeypatch, popen_fails, dumped, variant):
    """Byte for byte what the plugin writes; ``dumped``: the texts are ``json.dumps``' own (the plan's
    parts), put in the files as they are. ``variant`` 1: facts that the writers splice in the file's
    escaped text (an earlier part last, none yet, escapes of every kind) or must not (the key's
    letters elsewhere, an earlier part that is not the last member)."""
    cached = {"web1": {"divest": {"status": "clean"}, "divest_plan": {"old": True}, "x": "é"},
              "web2": {"divest": {"status": "affected"}},
              "db1": {"divest": {"tag": {"__ansible_unsafe": "{{ x }}"}}}}    # holds a tag: the plugin's way
    if variant:
        cached = {"web1": {"divest": {"status": "clean", "note": ODD_TEXT}, "divest_plan": {"old": ODD_TEXT, "n": [1.5]}},
                  "web2": {"divest": {"note": "the divest_plan fact"}, "divest_plan": {"old": 1}},   # letters twice
                  "db1": {"divest_plan": {"old": [1, {"a": "}"}]}, "zz": ODD_TEXT},                 # not the last member
                  "new1": {"divest": {"x": ODD_TEXT}}}
    fleet = make_fleet(INVENTORY, cached)
    expected = {name: dict(cached.get(name) or {}, divest_plan={"wave": name, "n": [1, None]})
                for name in ("web1", "web2", "db1", "new1")}
    if popen_fails:
        import subprocess

        def no_process(*args, **kwargs):
            raise OSError("no processes left")
        monkeypatch.setattr(subprocess, "Popen", no_process)
    else:       # the writer processes write all but the tagged entry, which the plugin writes here
        monkeypatch.setattr(FactStore, "start", lambda self, items: pytest.fail("written the plugin's way: %r" % items)
                            if items else (lambda: None))
    store = FactStore(fleet.variable_manager)
    text = json.dumps if dumped else (lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    items = [(name, "divest_plan", text({"wave": name + "\u00e9", "n": [1, None]})) for name in ("web2", "web1", "db1", "new1")]
    expected = {name: dict(value, divest_plan={"wave": name + "\u00e9", "n": [1, None]}) for name, value in expected.items()}
    store.start_json(items, minimum=1, dumped=dumped)()
    assert items == []                                    # the texts were taken over
    written = _written(fleet, expected)
    files = {path.name: path.read_bytes() for path in pathlib.Path(fleet.cache_dir).iterdir()}
    official = make_fleet(INVENTORY, cached)               # the same, written by the plugin alone
    plain = FactStore(official.variable_manager)
    for name in expected:
        plain.merge(name, {"divest_plan": {"wave": name + "\u00e9", "n": [1, None]}})
    assert written == _written(official, expected)
    assert files == {path.name: path.read_bytes() for path in pathlib.Path(official.cache_dir).iterdir()}   # byte for byte
    assert written["web1"] == expected["web1"] and written["new1"] == expected["new1"]
    assert variant or written["new1"] == {"divest_plan": {"wave": "new1\u00e9", "n": [1, None]}}


def test_facts_stored_through_the_plugins_parts_are_the_plugins_bytes(make_fleet):
    """FactStore writes a file cache's entry with the plugin's own encoding (its _dump; 2.19+ the
    wrapper's encoding and key) and mode: the same bytes as the plugin's own set."""
    from ansible.plugins.loader import cache_loader
    facts = {"divest": {"note": ODD_TEXT, "n": [1.5, None, True]}, "divest_plan": {"wave": "w\u00e9"}}
    fleet = make_fleet(INVENTORY, {"web1": {"old": 1}, "web2": {"old": 1}})
    store = FactStore(fleet.variable_manager)
    store.merge("web1", facts)
    cache_loader.get("jsonfile").set("web2", dict({"old": 1}, **facts))    # the plugin's own set (its file, its mode)
    files = {path.name: path for path in pathlib.Path(fleet.cache_dir).iterdir()}
    web1 = [name for name in files if name.endswith("web1")][0]
    web2 = [name for name in files if name.endswith("web2")][0]
    assert files[web1].read_bytes() == files[web2].read_bytes()
    assert files[web1].stat().st_mode == files[web2].stat().st_mode
    assert len(files) == 2                                          # no temporary file left beside them
    assert _written(fleet, ["web1"])["web1"] == dict({"old": 1}, **facts)


def test_a_full_disk_never_leaves_a_half_written_entry(make_fleet):
    """ansible-core's own set renames a half-written file over the entry when the disk is full
    (and only warns): the host's facts, findings included, became unreadable. FactStore raises
    the system's error and leaves the entry as it was, with no temporary file."""
    import resource
    cached = {"web1": {"divest": {"status": "affected", "note": ODD_TEXT}}}
    fleet = make_fleet(INVENTORY, cached)
    before = {path.name: path.read_bytes() for path in pathlib.Path(fleet.cache_dir).iterdir()}
    store = FactStore(fleet.variable_manager)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max(len(data) for data in before.values()) + 64, hard))
    try:
        with pytest.raises(OSError, match="File too large"):
            store.merge("web1", {"divest_plan": {"path": ["R:" + "2" * 64] * 16}})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert {path.name: path.read_bytes() for path in pathlib.Path(fleet.cache_dir).iterdir()} == before
    assert _written(fleet, cached) == cached


def test_a_line_cut_short_by_a_killed_job_is_not_written(make_fleet, monkeypatch):
    """A plan job killed while it fed the writer processes ends their input in the middle of a
    line: that host's part is cut short. Written, it made the host's whole fact file unreadable
    (its findings lost); the host keeps its facts as they were, the complete lines are written."""
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _hostfacts
    cached = {name: {"divest": {"status": "affected", "note": ODD_TEXT}, "divest_plan": {"old": name}}
              for name in ("web1", "web2", "db1")}
    fleet = make_fleet(INVENTORY, cached)
    store = FactStore(fleet.variable_manager)
    before = {path.name: path.read_bytes() for path in pathlib.Path(fleet.cache_dir).iterdir()}
    parts = {name: json.dumps({"digest": "sha256:" + "1" * 64, "wave": name, "path": ["R:" + "2" * 64] * 8})
             for name in ("web1", "web2", "db1")}
    lines = []

    def cut_short(self):
        """The feeder's next chunk: web2's line whole, db1's cut in the middle, then the end."""
        if lines:
            return b"", False
        for host in ("web2", "db1"):
            path = self.name_of(self.key_of(host))
            lines.append("%s\t%s\t%s\t%s\n" % (json.dumps(host), json.dumps(path), json.dumps("divest_plan"), parts[host]))
        data = "".join(lines).encode("utf-8")
        return data[:len(data) - len(parts["db1"]) // 2], True
    monkeypatch.setattr(_hostfacts._FastFileWriter, "_next_lines", cut_short)
    monkeypatch.setattr(FactStore, "start", lambda self, items: pytest.fail("written the plugin's way: %r" % items))
    store.start_json(iter([(name, "divest_plan", parts[name]) for name in ("web1", "web2", "db1")]), minimum=1,
                     count=3, dumped=True)()
    assert len(lines) == 2
    after = {path.name: path.read_bytes() for path in pathlib.Path(fleet.cache_dir).iterdir()}
    assert set(after) == set(before)                                  # no file left behind
    written = _written(fleet, cached)                                 # a later job reads the cache
    for name in ("web1", "web2"):
        assert written[name] == dict(cached[name], divest_plan=json.loads(parts[name]))
    assert written["db1"] == cached["db1"]
    db1 = [name for name in after if name.endswith("db1")]
    assert len(db1) == 1 and after[db1[0]] == before[db1[0]]          # byte for byte as it was


def test_a_full_disk_fails_the_store_and_leaves_every_file_whole(make_fleet, monkeypatch):
    """The writers cannot write (a full disk; here a file size limit in their processes): the
    store fails with the system's reason, every host keeps its file as it was, and no
    temporary file is left in the cache directory to hold the space."""
    import resource
    import subprocess
    cached = {name: {"divest": {"status": "affected", "note": ODD_TEXT * 4}} for name in ("web1", "web2", "db1", "new1")}
    fleet = make_fleet(INVENTORY, cached)
    before = {path.name: path.read_bytes() for path in pathlib.Path(fleet.cache_dir).iterdir()}
    popen = subprocess.Popen

    def small_files(*args, **kwargs):
        limit = max(len(data) for data in before.values()) + 64       # too small for a file with its part
        return popen(*args, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)), **kwargs)
    monkeypatch.setattr(subprocess, "Popen", small_files)
    part = json.dumps({"digest": "sha256:" + "1" * 64, "path": ["R:" + "2" * 64] * 16})
    wait = FactStore(fleet.variable_manager).start_json([(name, "divest_plan", part) for name in ("web1", "web2", "db1", "new1")],
                                                        minimum=1, dumped=True)
    with pytest.raises(RuntimeError, match="File too large"):
        wait()
    after = {path.name: path.read_bytes() for path in pathlib.Path(fleet.cache_dir).iterdir()}
    assert set(after) == set(before)                                   # no temporary file left
    unchanged = [name for name in after if after[name] == before[name]]
    assert len(unchanged) == len(after) - 1                            # only the first, written the plugin's way
    assert _written(fleet, cached) == dict(cached, web1=dict(cached["web1"], divest_plan=json.loads(part)))


def _writer_functions():
    """The writer program's functions (``_hostfacts._WRITER``, up to its loop over its input)."""
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _hostfacts
    source = _hostfacts._WRITER
    space = {}
    exec(source[source.index("import json"):source.index("for line in sys.stdin.buffer:")].replace(
        "codec, mode, timeout = sys.argv[1], int(sys.argv[2], 8), float(sys.argv[3])", ""), space)  # noqa: S102
    return space


@pytest.mark.parametrize("facts, spliced", [
    ({}, True),
    ({"divest": {"status": "clean"}}, True),
    ({"divest": {"note": ODD_TEXT}, "divest_plan": {"old": ODD_TEXT, "n": [1.5, None]}}, True),
    ({"divest_plan": 'a string } with \\ and " quotes'}, True),
    ({"divest": {"note": "divest_plan"}, "divest_plan": 1}, False),           # the key's letters twice
    ({"divest_plan": {"old": 1}, "zz": 2}, False),                              # not the last member
    ({"x": "\u00edivest_plan"}, False),                                         # \\u00edivest_plan: in doubt
])
def test_writer_splices_the_part_in_the_files_escaped_text(facts, spliced):
    writer = _writer_functions()
    data = json.dumps({"__payload__": json.dumps(facts)})
    value = json.dumps({"digest": "sha256:" + "0" * 64, "wave": "w\u00e9 \"1\"", "n": [1, None]})
    whole = json.dumps({"__payload__": json.dumps(dict(facts, divest_plan=json.loads(value)))})
    text = writer["splice_file"](data, "divest_plan", value)
    assert (text is not None) == spliced
    assert text in (None, whole)
    for broken in (data[:-1], data.replace('{"__payload__": "', '{"__payload__":"'), data[:-2] + '", "x": 1}',
                   json.dumps({"__payload__": json.dumps(facts)}, ensure_ascii=False) + "\u00e9"):
        assert writer["splice_file"](broken, "divest_plan", value) is None
    assert writer["splice_file"](data, "divest plan", value) is None
