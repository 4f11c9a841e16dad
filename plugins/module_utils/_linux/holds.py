# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Package holds of rpm packages (dnf/yum versionlock, dnf 5 versionlock.toml, zypper locks):
which of them apply to a package, and the rpm version spellings they are written in. The collector reports them, the removal releases exactly
those, so both read them here. Where the lock files are: ``layout``.

Lock files come from a host that may be compromised: they are parsed as data, their globs
are matched by a linear-time matcher (never compiled into a backtracking regular
expression) and host-written regular expressions are never run.

Private to the collection; runs on managed nodes: standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function


__metaclass__ = type


#: Versionlock glob entries, and zypper locks, that are evaluated; literal versionlock
#: entries cost one set lookup each and are not counted.
MAX_LOCK_PATTERNS = 64
#: Values kept per attribute of one zypper lock (a lock normally has one name).
MAX_LOCK_VALUES = 4
#: A glob longer than this, or a text longer than ``MAX_GLOB_TEXT``, never matches: one
#: comparison costs at most ``MAX_GLOB * MAX_GLOB_TEXT`` steps.
MAX_GLOB = 128
MAX_GLOB_TEXT = 160
_TRUE = ("on", "true", "yes", "1")


def _bracket(pattern, start, char):
    """Match ``char`` against the class that opens at ``pattern[start]`` (``[``).

    Returns ``(end, matched)``: ``end`` is the index after the closing ``]``, or None when the
    class is never closed (the ``[`` is then an ordinary character).
    """
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    matched = False
    first = True
    while i < len(pattern):
        low = pattern[i]
        if low == "]" and not first:
            return i + 1, matched != negate
        first = False
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            matched = matched or low <= char <= pattern[i + 2]
            i += 3
        else:
            matched = matched or low == char
            i += 1
    return None, False


def _step(pattern, pos, char):
    """The index after the one-character token at ``pattern[pos]`` when it matches ``char``."""
    token = pattern[pos]
    if token == "?":
        return pos + 1
    if token == "[":
        end, matched = _bracket(pattern, pos, char)
        if end is not None:
            return end if matched else None
    elif token == "\\" and pos + 1 < len(pattern):
        return pos + 2 if pattern[pos + 1] == char else None
    return pos + 1 if token == char else None


def glob_match(pattern, text, fold=False):
    """Shell-style match of the whole ``text`` (``*``, ``?``, ``[...]``, ``[!...]``, ``\\``).

    At most ``len(pattern) * len(text)`` steps whatever the pattern (no backtracking regular
    expression is built from host data). ``fold`` ignores case. A pattern longer than
    ``MAX_GLOB`` or a text longer than ``MAX_GLOB_TEXT`` never matches.
    """
    if len(pattern) > MAX_GLOB or len(text) > MAX_GLOB_TEXT:
        return False
    if fold:
        pattern, text = pattern.casefold(), text.casefold()
    pos = at = 0
    star = -1
    mark = 0
    while at < len(text):
        if pos < len(pattern):
            if pattern[pos] == "*":
                star, mark = pos, at
                pos += 1
                continue
            following = _step(pattern, pos, text[at])
            if following is not None:
                pos, at = following, at + 1
                continue
        if star < 0:
            return False
        mark += 1  # let the last star swallow one more character and try again
        pos, at = star + 1, mark
    while pos < len(pattern) and pattern[pos] == "*":
        pos += 1
    return pos == len(pattern)


def is_glob(text):
    """True when a lock entry is a glob (``*``, ``?``, ``[...]`` or a ``\\`` escape), not a literal."""
    return any(char in text for char in "*?[\\")


def join_evr(epoch, version, release):
    """The version of an rpm package as the collector reports it and the removal shows it:
    ``[epoch:]version[-release]`` from rpm's tags (``(none)`` or empty: left out)."""
    full = version
    if release and release != "(none)":
        full = "%s-%s" % (version, release)
    if epoch and epoch != "(none)":
        full = "%s:%s" % (epoch, full)
    return full


def _split_evr(version):
    """``[epoch:]version[-release]`` -> ``(epoch, version, release)``; epoch ``0`` when absent
    (the inverse of :func:`join_evr`)."""
    epoch, sep, rest = (version or "").partition(":")
    if not sep:
        epoch, rest = "0", epoch
    upstream, sep, release = rest.rpartition("-")
    if not sep:
        upstream, release = release, ""
    return epoch or "0", upstream, release


_SPELLINGS = 10  # the most spellings rpm_spellings returns


def rpm_spellings(name, version, arch):
    """Every way a versionlock entry can name this installed package exactly.

    dnf 4 writes ``name-epoch:version-release.arch`` (``kesl-0:12.1.0-1508.*``), yum
    ``epoch:name-version-release.arch`` (``0:kesl-12.1.0-1508.x86_64``); hand-written entries
    may leave out the epoch, the release or the arch, or be a bare name.
    """
    epoch, upstream, release = _split_evr(version)
    spellings = set([name])
    if arch:
        spellings.add("%s.%s" % (name, arch))
    if upstream:
        spellings.update(("%s-%s" % (name, upstream), "%s-%s:%s" % (name, epoch, upstream)))
    if upstream and release:
        for evr in ("%s-%s" % (upstream, release), "%s:%s-%s" % (epoch, upstream, release)):
            spellings.add("%s-%s" % (name, evr))
            if arch:
                spellings.add("%s-%s.%s" % (name, evr, arch))
        nvr = "%s:%s-%s-%s" % (epoch, name, upstream, release)
        spellings.add(nvr)
        if arch:
            spellings.add("%s.%s" % (nvr, arch))
    return spellings


class VersionLocks(object):
    """The lock entries of dnf/yum versionlock files, ready to test installed packages.

    Two kinds: package specs of dnf 4 / yum lists (matched against every spelling of the
    package, ``rpm_spellings``) and package names of dnf 5 (matched against the name).
    Literal entries are kept in sets; globs in lists of at most ``MAX_LOCK_PATTERNS``
    together (``dropped`` counts the rest).
    """

    __slots__ = ("specs", "names", "spec_globs", "name_globs", "dropped")

    def __init__(self):
        self.specs, self.names = set(), set()
        self.spec_globs, self.name_globs = [], []
        self.dropped = 0

    def _add(self, text, literal, globs):
        if not is_glob(text):
            literal.add(text)
        elif len(self.spec_globs) + len(self.name_globs) < MAX_LOCK_PATTERNS:
            globs.append(text)
        else:
            self.dropped += 1

    def add_list(self, data):
        """Add the locks of a dnf 4 / yum ``versionlock.list`` (bytes); excludes are skipped."""
        for line in data.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "!")):
                self._add(line, self.specs, self.spec_globs)

    def add_toml(self, data):
        """Add the ``[[packages]]`` of dnf 5's ``versionlock.toml`` (bytes) that lock.

        An entry locks unless all its conditions are ``!=`` (an exclude). Conditions are not
        compared with the installed version: an entry for the package's name is a hold.
        """
        for name, comparators in parse_versionlock_toml(data):
            if not (comparators and all(op == "!=" for op in comparators)):
                self._add(name, self.names, self.name_globs)

    def cost(self):
        """Glob comparisons ``holds`` makes at most for one package."""
        return len(self.spec_globs) * _SPELLINGS + len(self.name_globs)

    def holds(self, name, version, arch):
        """True when an entry names this installed rpm package (globs allowed)."""
        if name in self.names or any(glob_match(pattern, name) for pattern in self.name_globs):
            return True
        if not (self.specs or self.spec_globs):
            return False
        spellings = rpm_spellings(name, version, arch)
        if not self.specs.isdisjoint(spellings):
            return True
        return any(glob_match(spec, spelling) for spec in self.spec_globs for spelling in spellings)


def _toml_string(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return None


def parse_versionlock_toml(data):
    """``[(name, [comparator, ...]), ...]`` of dnf 5's ``versionlock.toml``.

    A small reader for the file dnf 5 writes (``[[packages]]`` tables with a ``name`` and
    ``[[packages.conditions]]`` with a ``comparator``), not a general TOML parser: other
    keys and tables are ignored.
    """
    entries = []
    current = None
    table = None
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            table = line.replace(" ", "")
            if table == "[[packages]]":
                current = [None, []]
                entries.append(current)
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None:
            continue
        key = key.strip()
        text = _toml_string(value)
        if text is None:
            continue
        if table == "[[packages]]" and key == "name":
            current[0] = text
        elif table == "[[packages.conditions]]" and key == "comparator":
            current[1].append(text)
    return [(name, comparators) for name, comparators in entries if name]


def parse_zypp_locks(data):
    """The locks of ``/etc/zypp/locks`` (bytes): a list of ``{attribute: [values]}``, at most
    ``MAX_LOCK_VALUES`` values per attribute (the first ones)."""
    locks = []
    current = {}
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line:
            if current:
                locks.append(current)
                current = {}
            continue
        if line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep:
            values = current.setdefault(key.strip().lower(), [])
            if len(values) < MAX_LOCK_VALUES:
                values.append(value.strip())
    if current:
        locks.append(current)
    return locks


def zypp_lock_cost(lock):
    """Comparisons ``zypp_lock_applies`` makes at most for one package."""
    return sum(len(lock.get(key, ())) for key in ("solvable_name", "query_string", "solvable_arch"))


def _word_in(word, text):
    start = text.find(word)
    while word and start >= 0:
        end = start + len(word)
        if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            return True
        start = text.find(word, start + 1)
    return False


def _zypp_value_matches(how, value, text, fold):
    if fold:
        value, text = value.casefold(), text.casefold()
    if how == "exact":
        return value == text
    if how == "substring":
        return value in text
    if how == "glob":
        return glob_match(value, text)
    return _word_in(value, text)  # "word" / "words"


def zypp_lock_applies(lock, name, arch):
    """Does a zypper lock (``parse_zypp_locks``) hold this installed package?

    True or False, or None when it cannot be told without running zypper: a lock written as
    a regular expression (never run here: it comes from the host), a ``complex`` lock, or a
    lock on attributes other than name and arch. A version restriction is not compared: a
    lock on the package's name is a hold.
    """
    if "complex" in lock:
        return None
    types = lock.get("type")
    if types and "package" not in types:
        return False
    status = (lock.get("install_status") or ["all"])[-1]
    if status in ("not-installed", "non-installed", "uninstalled"):
        return False
    repos = lock.get("repo")
    if repos and "@System" not in repos:
        return False  # installed packages belong to @System
    how = (lock.get("match_type") or ["substring"])[-1].lower()
    if how not in ("exact", "substring", "glob", "word", "words"):
        return None
    fold = (lock.get("case_sensitive") or ["off"])[-1].lower() not in _TRUE
    names = [value.split()[0] for value in lock.get("solvable_name", ()) if value.split()]
    names += [value for value in lock.get("query_string", ()) if value]
    arches = [value for value in lock.get("solvable_arch", ()) if value]
    others = [key for key in lock if key.startswith("solvable_") and key not in ("solvable_name", "solvable_arch")]
    if not names and others:
        return None
    if names and not any(_zypp_value_matches(how, value, name, fold) for value in names):
        return False
    if arches and not (arch and any(_zypp_value_matches(how, value, arch, fold) for value in arches)):
        return False
    return True
