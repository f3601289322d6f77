"""The gdb commands (gdbext/gcscope.py), run with gdb -nx -batch, checked
record by record against the snapshot they read and the truth the corpus
recorded.

  core-INTERPRETER-CHECK  for pyenv's 3.12.1, 3.13.0 and 3.8.18 and
      Debian's python3.11: corpora/leaky.py --refbugs is run, a core taken
      with gcore, and one gdb session ('gdb EXE CORE') runs every command;
      py-snapshot FILE saves the snapshot they read, and each CHECK compares
      a command's records with it: the Owner <-> Finalized cycles with
      their labels and flags (cycles), gc.garbage and the garbage table
      per type (garbage), the planted refcount bugs and the per-type rollup
      (leaks), the traceback chain to a frame local and an unreachable
      object (path), referrers and referents of 'owner' given as gdb
      expressions (references), the type histogram (types), and py-sql,
      which refuses to write (sql).
  live-attached  leaky.py under 3.12.1, attached with 'gdb -p PID': the
      commands answer as on a core; the analyzer reads the process itself
      (snapshot --pid --no-stop); a second session, whose analyzer refuses
      to read the process, falls back to gcore.  Afterwards the process
      runs (not stopped, no tracer), a gcore of it gives the same objects
      and reference counts, and it answers SIGUSR1.
  started-*  a program started under gdb, stopping itself with SIGTRAP:
      py-cycles shows its A <-> B cycles (started-cycles); the snapshot is
      reused while it stays stopped and retaken after 'continue', which
      creates objects (started-invalidation).
  errors-*  no analyzer (GCSCOPE names none; none built or on PATH), a
      process that is not Python, no process at all, bad options and
      addresses: one gdb error line each, never a Python traceback.

Every session also checks that no Python traceback was printed and that
the temporary directory (TMPDIR) is left empty.  GCSCOPE_KEEP=1 keeps the
work directories.
"""

import atexit
import functools
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import gcstest

GDBEXT = gcstest.REPO / 'gdbext' / 'gcscope.py'
SCRIPT = gcstest.CORPORA / 'leaky.py'
CORE_INTERPRETERS = ['pyenv-3.12.1', 'pyenv-3.13.0', 'pyenv-3.8.18', 'debian-3.11']
LIVE_INTERPRETER = 'pyenv-3.12.1'
GDB_TIMEOUT = 180
MARK = '@@@ '
NOTES = ('gcscope: taking a snapshot of ', 'gcscope: snapshot of ', 'gcscope: warning: ',
         'gcscope: cannot read ')
TRACEBACK = ('Traceback (most recent call last)', 'Python Exception', 'Error occurred in Python')

# A program that builds a small leaky heap and stops itself under gdb:
# SIGTRAP stops it (gdb does not pass it on), then after 'continue' it
# makes 1000 Markers and stops again.
TRAP_PROGRAM = '''\
import gc, os, signal
gc.disable()
class A: pass
class B: pass
def pair():
    a, b = A(), B()
    a.b = b
    b.a = a
    return a
PAIRS = [pair() for _ in range(3)]
os.kill(os.getpid(), signal.SIGTRAP)
class Marker: pass
MARKERS = [Marker() for _ in range(1000)]
os.kill(os.getpid(), signal.SIGTRAP)
'''

# An analyzer that may not read live processes (as under Yama
# ptrace_scope 1): --pid fails, everything else is the real one.
REFUSING_ANALYZER = '''\
#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "--pid" ]; then
    echo "error: nothing of the process could be read (refused by the test)" >&2
    exit 2
  fi
done
exec '%s' "$@"
'''


# ---------------------------------------------------------------------------
# Running gdb

_gdb_checked = None


def require_gdb():
    """Skip unless gdb runs Python with sqlite3."""
    global _gdb_checked
    if _gdb_checked is None:
        if not shutil.which('gdb'):
            _gdb_checked = 'gdb is not installed'
        else:
            result = subprocess.run(['gdb', '-nx', '-batch', '-ex',
                                     'python import sqlite3; print("gdb-python-ok")'],
                                    capture_output=True, text=True, timeout=60)
            if 'gdb-python-ok' not in result.stdout:
                _gdb_checked = ('gdb has no Python with sqlite3: %s'
                                % (result.stderr.strip().splitlines() or ['?'])[-1])
            else:
                _gdb_checked = ''
    if _gdb_checked:
        pytest.skip(_gdb_checked)
    gcstest.require_gcscope()


class Session:
    """What one gdb -batch run printed, cut at the markers."""

    def __init__(self, argv, output, tmpdir):
        self.argv = argv
        self.output = output
        self.tmpdir = tmpdir
        self.sections = {}
        name, lines = '', []
        for line in output.splitlines():
            if line.startswith(MARK):
                self.sections[name] = lines
                name, lines = line[len(MARK):].strip(), []
            else:
                lines.append(line)
        self.sections[name] = lines

    def __getitem__(self, name):
        return self.sections[name]

    def records(self, name):
        """The lines of section name but gcscope's notes and errors."""
        return [l for l in self.sections[name] if not l.startswith('gcscope: ')]

    def errors(self, name):
        """The 'gcscope: ' and 'py-...: ' lines of section name that are
        not notes of the snapshot being taken."""
        return [l for l in self.sections[name]
                if (l.startswith('gcscope: ') and not l.startswith(NOTES))
                or re.match(r'^py-[a-z]+: ', l)]

    def snapshots_taken(self):
        return self.output.count('gcscope: taking a snapshot of ')

    def show(self, name, lines=30):
        return gcstest.tail('\n'.join(self.sections.get(name, [])), lines)


def run_gdb(args, commands, env=None, timeout=GDB_TIMEOUT, work=None, gdbext=GDBEXT):
    """Run gdb -nx -batch with gcscope.py sourced, then each (name,
    command) of commands after an 'echo @@@ NAME' marker, and ARGS (the
    program, core, -p PID, --args ...) last.  env adds to the environment
    (None removes); GCSCOPE is the analyzer of build/ unless env says
    otherwise.  stderr is merged into
    stdout, so errors land in their section.  Fails if a Python traceback
    is printed, a sanitizer report (gcstest.check_sanitizer) or the session
    leaves files in its TMPDIR."""
    tmpdir = Path(tempfile.mkdtemp(prefix='gdb-tmp-', dir=str(work) if work else None))
    full_env = dict(os.environ, GCSCOPE=str(gcstest.GCSCOPE))
    full_env.update(env or {})
    full_env = {k: v for k, v in full_env.items() if v is not None}
    full_env['TMPDIR'] = str(tmpdir)
    argv = ['gdb', '-nx', '-batch', '-iex', 'set auto-load python-scripts off',
            '-ex', 'source %s' % gdbext]
    for name, command in commands:
        argv += ['-ex', 'echo %s%s\\n' % (MARK, name), '-ex', command]
    argv += [str(a) for a in args]
    started = time.monotonic()
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=full_env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError('gdb timed out after %d s:\n%s'
                             % (timeout, gcstest.tail(e.stdout or b'', 40)))
    output = result.stdout.decode('utf-8', 'replace')
    session = Session(argv, output, tmpdir)
    print('  gdb session: %d commands, %.1f s' % (len(commands), time.monotonic() - started))
    # The analyzer runs under gdb too: its sanitizer reports reach the
    # session's output as the commands' error lines.
    gcstest.check_sanitizer(result.returncode, result.stdout, 'gdb session')
    for phrase in TRACEBACK:
        if phrase in output:
            raise AssertionError('gdb printed a Python traceback (%r):\n%s'
                                 % (phrase, gcstest.tail(output, 40)))
    left = sorted(p.name for p in tmpdir.iterdir())
    shutil.rmtree(tmpdir, ignore_errors=True)
    if left:
        raise AssertionError('the gdb session left %s in its TMPDIR' % ', '.join(left))
    return session


# ---------------------------------------------------------------------------
# The database a session saved

class Db:
    """A snapshot database, read-only."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise AssertionError('py-snapshot wrote no %s' % path)

    def rows(self, sql, args=()):
        con = sqlite3.connect('file:%s?mode=ro' % self.path, uri=True)
        con.text_factory = lambda b: b.decode('utf-8', 'replace')
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def one(self, sql, args=()):
        return self.rows(sql, args)[0][0]


def expect(have, want, what):
    if have != want:
        raise AssertionError('%s: gdb printed %r, the database has %r' % (what, have, want))


def hexaddr(addr):
    return '%#x' % addr


# ---------------------------------------------------------------------------
# Parsing the records and checking them against the database

CYCLE = re.compile(r'^cycle (\d+): (\d+) members; types (.*); reachable (yes|no|\?); '
                   r'garbage (yes|no|\?); finalizer (yes|no)$')
MEMBER = re.compile(r'^  (0x[0-9a-f]+)\s+(\S+)(?:\s+(.*))?$')
EDGE = re.compile(r'^  (0x[0-9a-f]+)\s+(\S+)\s+(.*?)\s+->\s+(0x[0-9a-f]+)\s+(\S+)$')
MORE = re.compile(r'^\.\.\. (\d+) more (\w+) \(--limit 0 shows all\)$')
PATH_STEP = re.compile(r'^(.*?)\s+->\s+(0x[0-9a-f]+)\s+(\S+)(?:\s+(.*))?$')


def parse_cycles(lines):
    """[(header match, [member matches], [edge matches])], and the '... N more' count."""
    blocks, more = [], 0
    for line in lines:
        head = CYCLE.match(line)
        if head:
            blocks.append((head, [], []))
            continue
        match = MORE.match(line)
        if match and match.group(2) == 'cycles':
            more = int(match.group(1))
            continue
        if not blocks:
            raise AssertionError('py-cycles: line before the first cycle: %r' % line)
        edge, member = EDGE.match(line), MEMBER.match(line)
        if edge:
            blocks[-1][2].append(edge)
        elif member:
            blocks[-1][1].append(member)
        elif not line.startswith('  ... '):
            raise AssertionError('py-cycles: unexpected line %r' % line)
    return blocks, more


def yes_no(value):
    return 'yes' if value else 'no'


def check_cycle_block(db, block, what):
    """A cycle's header against cycle_summary; members and references, when
    all are shown, against cycles and cycle_edges."""
    head, members, edges = block
    cycle_id = int(head.group(1))
    row = db.rows('SELECT members, reachable, garbage, has_finalizer FROM cycle_summary'
                  ' WHERE cycle_id = ?', (cycle_id,))
    if not row:
        raise AssertionError('%s: cycle %d is not in cycle_summary' % (what, cycle_id))
    size, reachable, garbage, finalizer = row[0]
    expect((int(head.group(2)), head.group(4), head.group(5), head.group(6)),
           (size, yes_no(reachable), yes_no(garbage), yes_no(finalizer)),
           '%s: cycle %d header' % (what, cycle_id))
    want_members = db.rows('SELECT c.addr, o.type FROM cycles c JOIN objects o'
                           ' ON o.addr = c.addr WHERE cycle_id = ? ORDER BY c.addr',
                           (cycle_id,))
    want_edges = sorted(db.rows('SELECT src, label, dst FROM cycle_edges WHERE cycle_id = ?',
                                (cycle_id,)), key=lambda e: (e[0], e[1] or '', e[2]))
    if len(members) == len(want_members):
        expect([(int(m.group(1), 16), m.group(2)) for m in members], want_members,
               '%s: cycle %d members' % (what, cycle_id))
    if len(edges) == len(want_edges):
        have = sorted(((int(e.group(1), 16), e.group(3), int(e.group(4), 16)) for e in edges),
                      key=lambda e: (e[0], e[1], e[2]))
        expect([(s, l) for s, l, _ in have],
               [(s, shown(l)) for s, l, _ in want_edges], '%s: cycle %d references'
               % (what, cycle_id))
        expect([d for _, _, d in have], [d for _, _, d in want_edges],
               '%s: cycle %d referents' % (what, cycle_id))
    return cycle_id


def shown(label):
    """A label as the records show it: '.attr', "['key']", '[3]'."""
    return '.' + label if re.match(r'[A-Za-z_]', label or '') else (label or '')


def check_cycles(session, db, truth):
    """py-cycles with no options; --type Owner; --garbage-only."""
    blocks, more = parse_cycles(session.records('cycles'))
    summary = [r[0] for r in db.rows('SELECT cycle_id FROM cycle_summary')]
    expect([int(b[0].group(1)) for b in blocks], summary[:20], 'py-cycles: cycle ids')
    expect(more, max(0, len(summary) - 20), 'py-cycles: cycles left out')
    for block in blocks:
        check_cycle_block(db, block, 'py-cycles')

    blocks, more = parse_cycles(session.records('cycles-owner'))
    want = [r[0] for r in db.rows(
        'SELECT cycle_id FROM cycle_summary WHERE cycle_id IN (SELECT c.cycle_id'
        ' FROM cycles c JOIN objects o ON o.addr = c.addr JOIN types t'
        ' ON t.addr = o.type_addr WHERE o.type = ?1 OR t.module || \'.\' || t.name = ?1)',
        ('Owner',))]
    expect(([int(b[0].group(1)) for b in blocks], more), (want, 0),
           'py-cycles --type Owner: cycle ids')
    pairs = 0
    for block in blocks:
        check_cycle_block(db, block, 'py-cycles --type Owner')
        head, members, edges = block
        types = {m.group(2) for m in members}
        if int(head.group(2)) > 6 or not {'Owner', 'Finalized'} <= types:
            continue
        # The references that close it: .finalized and .owner, or through
        # the instances' __dict__ before 3.11 (['finalized'], ['owner']).
        closing = {(e.group(2), e.group(3), e.group(5)) for e in edges}
        direct = {('Owner', '.finalized', 'Finalized'), ('Finalized', '.owner', 'Owner')}
        via_dict = {('dict', "['finalized']", 'Finalized'), ('dict', "['owner']", 'Owner'),
                    ('Owner', '.__dict__', 'dict'), ('Finalized', '.__dict__', 'dict')}
        if not (direct <= closing or via_dict <= closing):
            raise AssertionError('py-cycles: Owner <-> Finalized cycle %s lacks the references'
                                 ' .finalized and .owner: %s' % (head.group(1), sorted(closing)))
        pairs += 1
    if not pairs:
        raise AssertionError('py-cycles --type Owner shows no Owner <-> Finalized cycle:\n%s'
                             % session.show('cycles-owner'))

    blocks, more = parse_cycles(session.records('cycles-garbage'))
    want = [r[0] for r in db.rows('SELECT cycle_id FROM cycle_summary WHERE garbage')]
    expect(([int(b[0].group(1)) for b in blocks], more), (want, 0),
           'py-cycles --garbage-only: cycle ids')
    for block in blocks:
        if block[0].group(5) != 'yes':
            raise AssertionError('py-cycles --garbage-only shows cycle %s, not garbage'
                                 % block[0].group(1))
    print('  %d cycles, %d Owner <-> Finalized pairs shown, %d garbage cycles'
          % (len(summary), pairs, len(want)))


GARBAGE_TYPE = re.compile(r'^(gc\.garbage|unreachable)\s+(.+?)\s+(\d+)\s+(\d+|-)\s+(\d+)\s+'
                          r'(0x[0-9a-f]+|-)$')
GARBAGE_OBJECT = re.compile(r'^(gc\.garbage|unreachable)\s+(0x[0-9a-f]+)\s+(.+?)\s+(\d+|-)\s+'
                            r'(yes|no)(?:\s+(.*))?$')
GARBAGE_TOTAL = re.compile(r'^(gc\.garbage|unreachable): (\d+) objects, (\d+) bytes, '
                           r'(\d+) with a finalizer')


def check_garbage(session, db, truth):
    lines = session.records('garbage')
    totals = {m.group(1): tuple(int(x) for x in m.groups()[1:])
              for m in map(GARBAGE_TOTAL.match, lines) if m}
    want = {r[0]: tuple(int(x) for x in r[1:]) for r in db.rows(
        'SELECT reason, count(*), total(o.size), sum(finalizer) FROM garbage g'
        ' LEFT JOIN objects o USING (addr) GROUP BY reason')}
    expect(totals, want, 'py-garbage: objects, bytes and finalizers per reason')
    have = sorted((m.group(1), m.group(2), int(m.group(3)),
                   None if m.group(4) == '-' else int(m.group(4)), int(m.group(5)))
                  for m in map(GARBAGE_TYPE.match, lines) if m)
    want = sorted(db.rows(
        'SELECT g.reason, o.type, count(*), sum(o.size), sum(g.finalizer) FROM garbage g'
        ' JOIN objects o USING (addr) GROUP BY g.reason, o.type_addr'))
    expect(have, want, 'py-garbage: objects, bytes and finalizers per reason and type')
    objects = sorted((m.group(1), int(m.group(2), 16), m.group(3), m.group(5))
                     for m in map(GARBAGE_OBJECT.match, lines) if m)
    want = sorted((reason, addr, typ, yes_no(fin)) for reason, addr, typ, fin in db.rows(
        'SELECT g.reason, g.addr, o.type, g.finalizer FROM garbage g JOIN objects o'
        ' USING (addr)'))
    expect(objects, want, 'py-garbage: the objects with their finalizer flags')
    in_gc_garbage = {addr for reason, addr, _, _ in objects if reason == 'gc.garbage'}
    if in_gc_garbage != set(truth.garbage):
        raise AssertionError('py-garbage: gc.garbage shows %d objects, the process had %d'
                             ' (missing %s, extra %s)'
                             % (len(in_gc_garbage), len(set(truth.garbage)),
                                [hexaddr(a) for a in set(truth.garbage) - in_gc_garbage][:5],
                                [hexaddr(a) for a in in_gc_garbage - set(truth.garbage)][:5]))
    flagged = sum(1 for o in objects if o[3] == 'yes')
    print('  py-garbage: %s; %d with a finalizer'
          % (', '.join('%s %d' % (k, v[0]) for k, v in sorted(totals.items())), flagged))


LEAK_TYPE = re.compile(r'^(.+?)\s+(deficit|unreferenced|excess)\s+(\d+)\s+(-?\d+)\s+'
                       r'(0x[0-9a-f]+|-)$')
LEAK_OBJECT = re.compile(r'^(deficit|unreferenced|excess)\s+(0x[0-9a-f]+)\s+(.+?)\s+(-?\d+)\s+'
                         r'(-?\d+)\s+(-?\d+)(?:\s+(.*))?$')


def check_leaks(session, db, truth):
    lines = session.records('leaks')
    have = sorted((m.group(1), m.group(2), int(m.group(3)), int(m.group(4)))
                  for m in map(LEAK_TYPE.match, lines) if m)
    want = sorted(db.rows('SELECT type, kind, objects, refs FROM anomaly_types WHERE suspected'))
    expect(have, want, 'py-leaks: the rollup per type')
    objects = {int(m.group(2), 16): (m.group(1), m.group(3), int(m.group(4)), int(m.group(5)),
                                     int(m.group(6)))
               for m in map(LEAK_OBJECT.match, lines) if m}
    want = {addr: (kind, typ, refcnt, referrers, refcnt - referrers)
            for addr, kind, typ, refcnt, referrers in db.rows(
                'SELECT a.addr, a.kind, o.type, a.refcnt, a.referrers FROM anomalies a'
                ' JOIN objects o USING (addr) WHERE a.cause IS NULL')}
    expect(objects, want, 'py-leaks: the objects')
    if not truth.anomalies:
        raise AssertionError('anomalies.tsv is empty: leaky.py planted no refcount bug')
    for planted in truth.anomalies:
        row = objects.get(planted.addr)
        wanted = (planted.kind, planted.type.rsplit('.', 1)[-1], planted.refcnt,
                  planted.referrers, planted.refcnt - planted.referrers)
        if row is None or row[0] != wanted[0] or row[2:] != wanted[2:] or \
                row[1] not in (planted.type, wanted[1]):
            raise AssertionError('py-leaks: the planted %s (%s at %s) shows as %s, expected %s'
                                 % (planted.name, planted.type, hexaddr(planted.addr), row,
                                    wanted))
    leaked = [t for t in truth.anomalies if t.name == 'leak_incref'][0]
    print('  py-leaks: %d anomalies; LeakedByIncref refcnt - referrers = %d'
          % (len(objects), objects[leaked.addr][4]))


def check_census(session, db, truth):
    """py-census: the totals, a line per block size and per type, and the
    objects leaked by the corpus's C extension counted as held by nothing."""
    lines = session.records('census')
    leaked = {t.addr for t in truth.leaked}
    if not leaked:
        raise AssertionError('leaked.tsv is empty: leaky.py leaked nothing')
    arena = db.one("SELECT count(*) FROM objects WHERE found = 'arena'")
    found = db.one("SELECT count(*) FROM anomalies a JOIN objects o USING (addr)"
                   " WHERE o.found = 'arena' AND a.kind = 'unreferenced' AND a.cause IS NULL")
    expect(found, len(leaked), 'objects found in the arenas only that nothing holds')
    want = '%d objects found in the arenas only, %d of which nothing holds' % (arena, found)
    if len(lines) < 2 or not lines[1].startswith(want):
        raise AssertionError('py-census: expected %r, got %s' % (want, lines[:2]))
    classes = [l.split() for l in lines if re.match(r'^\s*\d+\s+\d+\s+\d+', l)]
    expect([tuple(int(x) for x in c[:5]) for c in classes],
           db.rows('SELECT block_size, pools, blocks, used, free FROM census_classes'),
           'py-census: the size classes')
    print('  py-census: %s; %d size classes' % (lines[1], len(classes)))


def check_path(session, db, truth):
    path = [p for p in truth.paths if p.name == 'traceback_frame_marker'][0]
    lines = session.records('path')
    steps = [PATH_STEP.match(l) for l in lines]
    if not steps or not all(steps):
        raise AssertionError('py-path: unexpected lines:\n%s' % session.show('path'))
    have = [(m.group(1), int(m.group(2), 16)) for m in steps]
    want = [("['TRACEBACK']", path.hops[0][1])] + [('.' + label, addr)
                                                    for label, addr in path.hops[1:]]
    if len(have) < len(want) + 1 or have[-len(want):] != want:
        raise AssertionError('py-path: the chain does not end with the traceback chain %s:\n%s'
                             % (want, session.show('path')))
    if have[-len(want) - 1][1] != path.start:
        raise AssertionError('py-path: the chain does not pass through the module globals'
                             ' %s:\n%s' % (hexaddr(path.start), session.show('path')))
    # The whole chain is reach's, root first.
    chain, at = [], path.addr
    while at is not None:
        depth, via, label = db.rows('SELECT depth, via, label FROM reach WHERE addr = ?',
                                    (at,))[0]
        chain.append((label if depth == 0 else shown(label), at))
        at = via
    expect(have, chain[::-1], 'py-path: the chain')
    print('  py-path: %s' % ' '.join(label for label, _ in have[1:]))
    if 'path-unreachable' in session.sections:
        # Garbage a collection would free: no root reaches it (status 1,
        # an answer, not an error).
        addr = truth.unreachable[0]
        lines = session.records('path-unreachable')
        if len(lines) != 1 or not lines[0].startswith(hexaddr(addr) + ' ') or \
                'is not reachable from any root' not in lines[0] or 'garbage' not in lines[0]:
            raise AssertionError('py-path of unreachable garbage: expected one "not reachable"'
                                 ' line, got:\n%s' % session.show('path-unreachable'))
        print('  ' + lines[0])


REFERENCE = re.compile(r'^(0x[0-9a-f]+)\s+(\S+)\s+(traverse|strong|borrowed|conservative)\s+'
                       r'(\S+)(?:\s+(.*))?$')


def reference_rows(session, name):
    lines = session.records(name)
    if not lines or lines[0].split()[1:4] != ['type', 'kind', 'label']:
        raise AssertionError('%s: no header:\n%s' % (name, session.show(name)))
    rows = [REFERENCE.match(l) for l in lines[1:]]
    if not all(rows):
        raise AssertionError('%s: unexpected lines:\n%s' % (name, session.show(name)))
    return sorted((int(m.group(1), 16), m.group(3), m.group(4)) for m in rows)


def check_references(session, db, truth):
    owner = truth.labels['owner']
    referrers = sorted((a, k, l or '-') for a, k, l in db.rows(
        'SELECT referrer, kind, label FROM referrers WHERE addr = ?', (owner,)))
    for name in ('referrers-long', 'referrers-var'):
        expect(reference_rows(session, name), referrers, 'py-referrers of owner (%s)' % name)
    if (truth.labels['module_dict'], 'traverse', "['OWNER']") not in referrers:
        raise AssertionError("the module dict is not among the referrers of owner: %s"
                             % referrers)
    want = sorted((a, k, l or '-') for a, k, l in db.rows(
        'SELECT referent, kind, label FROM referents WHERE addr = ?', (owner,)))
    expect(reference_rows(session, 'referents'), want, 'py-referents of *(PyObject *)owner')
    labels = {l for _, _, l in want}
    if 'finalized' not in labels and '__dict__' not in labels:
        raise AssertionError('py-referents of owner: neither finalized nor __dict__: %s' % want)
    print('  %d referrers and %d referents of owner' % (len(referrers), len(want)))


def check_types(session, db, truth):
    lines = session.records('types')
    expect(lines[0].split(), ['type', 'objects', 'bytes', 'tracked', 'type_addr'],
           'py-types header')
    have = []
    for line in lines[1:]:
        name, count, size, tracked, addr = line.rsplit(None, 4)
        have.append((name, int(count), None if size == '-' else int(size), int(tracked),
                     int(addr, 16) if addr != '-' else None))
    expect(have, db.rows('SELECT type, count, bytes, tracked, type_addr FROM type_histogram'),
           'py-types rows')
    print('  py-types: %d types' % len(have))


def check_sql(session, db, truth):
    lines = session.records('sql-count')
    expect([l.strip() for l in lines], ['count(*)', str(db.one('SELECT count(*) FROM objects'))],
           'py-sql SELECT count(*)')
    lines = session.records('sql-quoted')
    expect([l.split() for l in lines[1:]],
           [[hexaddr(a), t] for a, t in db.rows("SELECT addr, type FROM objects"
                                                " WHERE type = 'Owner' ORDER BY addr LIMIT 3")],
           'py-sql "... WHERE type = \'Owner\'"')
    errors = session.errors('sql-delete')
    if len(errors) != 1 or 'not a read-only statement' not in errors[0]:
        raise AssertionError('py-sql DELETE: expected one "not a read-only statement" error,'
                             ' got:\n%s' % session.show('sql-delete'))
    print('  py-sql: %s' % errors[0])


# ---------------------------------------------------------------------------
# Cores

def core_commands(truth, saved):
    owner = truth.labels['owner']
    marker = [p for p in truth.paths if p.name == 'traceback_frame_marker'][0]
    return [
        ('cycles', 'py-cycles'),
        ('cycles-owner', 'py-cycles --type Owner --limit 0 --members 6'),
        ('cycles-garbage', 'py-cycles --garbage-only --limit 0 --members 2'),
        ('garbage', 'py-garbage --limit 0'),
        ('leaks', 'py-leaks --limit 0'),
        ('census', 'py-census --limit 0'),
        ('path', 'py-path (PyObject *) %s' % hexaddr(marker.addr)),
        ('path-unreachable', 'py-path %s' % hexaddr(truth.unreachable[0])),
        ('referrers-long', 'py-referrers --limit 0 (long)%s' % hexaddr(owner)),
        ('set', 'set $gcs_owner = %s' % hexaddr(owner)),
        ('referrers-var', 'py-referrers $gcs_owner --limit 0'),
        ('referents', 'py-referents --limit 0 *(PyObject *)$gcs_owner'),
        ('types', 'py-types --limit 0'),
        ('sql-count', 'py-sql SELECT count(*) FROM objects'),
        ('sql-quoted', 'py-sql "SELECT printf(\'%#x\', addr) AS addr, type FROM objects'
                       ' WHERE type = \'Owner\' ORDER BY addr LIMIT 3"'),
        ('sql-delete', 'py-sql "DELETE FROM objects"'),
        ('save', 'py-snapshot %s' % saved),
    ]


CORE_CHECKS = [('cycles', check_cycles), ('garbage', check_garbage), ('leaks', check_leaks),
               ('census', check_census),
               ('path', check_path), ('references', check_references),
               ('types', check_types), ('sql', check_sql)]

_prepared = {}
_work_dirs = []


def _cleanup():
    for path in _work_dirs:
        if gcstest.keep_files():
            print('  kept: %s' % path)
        else:
            shutil.rmtree(path, ignore_errors=True)


atexit.register(_cleanup)


def work_dir(name):
    path = Path(tempfile.mkdtemp(prefix='gcscope-gdb-%s-' % name))
    _work_dirs.append(path)
    return path


def prepared_core(name):
    """(session, db, truth, core, executable) for interpreter name, made
    once per process from the run's core (gcstest.corpus_core)."""
    if name not in _prepared:
        _prepared.clear()
        _prepared[name] = prepare_core(name)
    return _prepared[name]


def prepare_core(name):
    require_gdb()
    corpus = gcstest.corpus_core(name, refbugs=True)
    interpreter, core = corpus.interpreter, corpus.core
    work = work_dir(name)
    truth = corpus.truth()
    saved = work / 'saved.db'
    session = run_gdb([interpreter.executable, core], core_commands(truth, saved),
                      env=interpreter.env(), work=work)
    if session.snapshots_taken() != 1:
        raise AssertionError('the session took %d snapshots, not 1:\n%s'
                             % (session.snapshots_taken(), gcstest.tail(session.output, 40)))
    if not any(l.startswith("gcscope: snapshot of core '%s'" % core)
               for l in session['cycles']):
        raise AssertionError('py-cycles did not take the snapshot of the core itself:\n%s'
                             % session.show('cycles', 10))
    db = Db(saved)
    meta = dict(db.rows('SELECT key, value FROM meta'))
    expect(meta.get('source'), 'core:%s' % core, 'meta.source of the saved snapshot')
    print('  %s: Python %s, %s objects' % (name, meta.get('python_version'), meta.get('objects')))
    return session, db, truth, core, interpreter


def core_case(name, check):
    """One command of the gdb session on interpreter name's core."""
    session, db, truth, _, _ = prepared_core(name)
    check(session, db, truth)


# ---------------------------------------------------------------------------
# A live process, attached

def tracer_pid(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('TracerPid:'):
                return int(line.split()[1])
    return 0


ANCHORS = ('owner', 'finalized', 'self_list', 'tree_root', 'module_dict', 'gc_garbage')


def live_attached():
    require_gdb()
    interpreter = gcstest.find_interpreter(LIVE_INTERPRETER)
    extension = gcstest.build_refbugs(interpreter)
    work = work_dir('live')
    with gcstest.Workload(interpreter, SCRIPT, work, args=('--refbugs', extension)) as workload:
        truth = gcstest.Truth(workload.truth_dir)
        marker = [p for p in truth.paths if p.name == 'traceback_frame_marker'][0]
        saved = work / 'live.db'
        commands = [
            ('cycles-owner', 'py-cycles --type Owner --limit 0 --members 6'),
            ('cycles', 'py-cycles'),
            ('cycles-garbage', 'py-cycles --garbage-only --limit 0 --members 2'),
            ('leaks', 'py-leaks --limit 0'),
            ('census', 'py-census --limit 0'),
            ('path', 'py-path %s' % hexaddr(marker.addr)),
            ('save', 'py-snapshot %s' % saved),
        ]
        session = run_gdb(['-p', workload.pid], commands, env=interpreter.env(), work=work)
        if 'read live' not in '\n'.join(session['cycles-owner']):
            raise AssertionError('the analyzer did not read the process itself:\n%s'
                                 % session.show('cycles-owner', 10))
        db = Db(saved)
        expect(db.rows("SELECT value FROM meta WHERE key = 'source'"),
               [('pid:%d' % workload.pid,)], 'meta.source of the live snapshot')
        check_cycles(session, db, truth)
        check_leaks(session, db, truth)
        check_census(session, db, truth)
        check_path(session, db, truth)

        # The analyzer may not read the process: gcore instead.
        refusing = work / 'refusing-gcscope'
        refusing.write_text(REFUSING_ANALYZER % gcstest.GCSCOPE)
        refusing.chmod(0o755)
        saved_gcore = work / 'live-gcore.db'
        fallback = run_gdb(['-p', workload.pid],
                           [('cycles-owner', 'py-cycles --type Owner --limit 0 --members 6'),
                            ('save', 'py-snapshot %s' % saved_gcore)],
                           env=dict(interpreter.env(), GCSCOPE=str(refusing)), work=work)
        notes = '\n'.join(fallback['cycles-owner'])
        if 'using gcore' not in notes or 'through gcore' not in notes:
            raise AssertionError('no fallback to gcore:\n%s' % fallback.show('cycles-owner', 10))
        gcore_db = Db(saved_gcore)
        if not gcore_db.one("SELECT value FROM meta WHERE key = 'source'").startswith('core:'):
            raise AssertionError('the fallback snapshot is not of a core')
        check_cycles_owner_only(fallback, gcore_db, truth)

        # The process runs on, untraced, with its memory as it was.
        time.sleep(0.2)
        if workload.proc.poll() is not None:
            raise AssertionError('the process exited after the gdb sessions (status %s)'
                                 % workload.proc.returncode)
        state, tracer = gcstest.process_state(workload.pid), tracer_pid(workload.pid)
        if state in ('T', 't') or tracer:
            raise AssertionError('the process is left stopped or traced (state %s, tracer %d)'
                                 % (state, tracer))
        after = work / 'after.db'
        core = gcstest.gcore(workload.pid, work / 'after-core')
        gcstest.snapshot_core(core, after)
        core.unlink()
        after = Db(after)
        for one in (db, gcore_db):
            expect(one.one('SELECT count(*) FROM objects'),
                   after.one('SELECT count(*) FROM objects'),
                   'objects in %s and in a gcore taken afterwards' % one.path.name)
        anchors = [truth.labels[n] for n in ANCHORS] + [a.addr for a in truth.anomalies]
        query = 'SELECT addr, refcnt FROM objects WHERE addr IN (%s) ORDER BY addr' % ','.join(
            str(a) for a in anchors)
        for one in (db, gcore_db):
            expect(one.rows(query), after.rows(query),
                   'refcounts of the anchors in %s and afterwards' % one.path.name)
        for planted in truth.anomalies:
            expect(after.one('SELECT refcnt FROM objects WHERE addr = ?', (planted.addr,)),
                   planted.refcnt, 'refcnt of the planted %s afterwards' % planted.name)
        if not gcstest.answers(workload):
            raise AssertionError('process %d did not answer SIGUSR1 after the sessions'
                                 % workload.pid)
        print('  process %d: state %s, no tracer, %d objects before and after, answers'
              % (workload.pid, state, after.one('SELECT count(*) FROM objects')))


def check_cycles_owner_only(session, db, truth):
    blocks, _ = parse_cycles(session.records('cycles-owner'))
    if not blocks:
        raise AssertionError('py-cycles --type Owner printed no cycle:\n%s'
                             % session.show('cycles-owner'))
    for block in blocks:
        check_cycle_block(db, block, 'py-cycles --type Owner (gcore)')


# ---------------------------------------------------------------------------
# A program started under gdb

_started = None


def started_session():
    """The session of the trap program started under gdb, made once."""
    global _started
    if _started is None:
        try:
            require_gdb()
            interpreter = gcstest.find_interpreter(LIVE_INTERPRETER)
            work = work_dir('started')
            program = work / 'trap.py'
            program.write_text(TRAP_PROGRAM)
            saved = work / 'first.db'
            commands = [
                ('run', 'run'),
                ('cycles', 'py-cycles --type A --limit 0'),
                ('save', 'py-snapshot %s' % saved),
                ('types-1', 'py-types --limit 0'),
                ('markers-1', "py-sql SELECT count(*) FROM objects WHERE type = 'Marker'"),
                ('continue', 'continue'),
                ('types-2', 'py-types --limit 0'),
                ('markers-2', "py-sql SELECT count(*) FROM objects WHERE type = 'Marker'"),
            ]
            env = dict(interpreter.env(), PYTHONHASHSEED='0')
            session = run_gdb(['--args', interpreter.executable, '-S', '-s', '-B', program],
                              commands, env=env, work=work)
            _started = (session, Db(saved))
        except Exception as e:
            _started = e
    if isinstance(_started, Exception):
        raise _started
    return _started


def started_cycles():
    session, db = started_session()
    if not any('SIGTRAP' in l for l in session['run']):
        raise AssertionError('the program did not stop with SIGTRAP:\n%s' % session.show('run'))
    blocks, more = parse_cycles(session.records('cycles'))
    if len(blocks) != 3 or more:
        raise AssertionError('py-cycles --type A: expected the 3 A <-> B cycles:\n%s'
                             % session.show('cycles'))
    for block in blocks:
        check_cycle_block(db, block, 'py-cycles --type A')
        head, members, edges = block
        expect(sorted((e.group(2), e.group(3), e.group(5)) for e in edges),
               [('A', '.b', 'B'), ('B', '.a', 'A')], 'cycle %s references' % head.group(1))
        expect((head.group(2), head.group(4), head.group(5), head.group(6)),
               ('2', 'yes', 'no', 'no'), 'cycle %s: members, reachable, garbage, finalizer'
               % head.group(1))
    print('  3 A <-> B cycles, reachable, not garbage')


def started_invalidation():
    session, _ = started_session()
    taken = [l for l in session.output.splitlines()
             if l.startswith('gcscope: taking a snapshot of process')]
    if len(taken) != 2:
        raise AssertionError('expected 2 snapshots (before and after continue), got %d:\n%s'
                             % (len(taken), gcstest.tail(session.output, 40)))
    for name in ('save', 'types-1', 'markers-1'):
        if any(l.startswith('gcscope: taking') for l in session[name]):
            raise AssertionError('%s took a new snapshot of the stopped process' % name)
    if not any(l.startswith('gcscope: taking') for l in session['types-2']):
        raise AssertionError("py-types after 'continue' did not take a new snapshot:\n%s"
                             % session.show('types-2'))
    if not any('SIGTRAP' in l for l in session['continue']):
        raise AssertionError('the program did not stop again:\n%s' % session.show('continue'))
    counts = [[l.strip() for l in session.records(n)] for n in ('markers-1', 'markers-2')]
    expect(counts, [['count(*)', '0'], ['count(*)', '1000']], 'Markers before and after')
    rows = [{l.rsplit(None, 4)[0]: int(l.rsplit(None, 4)[1])
             for l in session.records(n)[1:]} for n in ('types-1', 'types-2')]
    if rows[0] == rows[1] or rows[1].get('Marker') != 1000 or 'Marker' in rows[0]:
        raise AssertionError('py-types does not change after continue: %s'
                             % {k: (rows[0].get(k), rows[1].get(k)) for k in ('Marker', 'list')})
    print('  objects of type Marker: %s, then %d' % (rows[0].get('Marker', 0), rows[1]['Marker']))


# ---------------------------------------------------------------------------
# Errors

def one_error(session, name, *phrases):
    """Section name holds exactly one error line, with every phrase."""
    errors = session.errors(name)
    if len(errors) != 1 or not all(p in errors[0] for p in phrases):
        raise AssertionError('%s: expected one error line with %s, got:\n%s'
                             % (name, phrases, session.show(name)))
    return errors[0]


def errors_analyzer_missing():
    corpus = gcstest.corpus_core(CORE_INTERPRETERS[0], refbugs=True)
    core, interpreter = corpus.core, corpus.interpreter
    commands = [('cycles', 'py-cycles'), ('snapshot', 'py-snapshot')]
    session = run_gdb([interpreter.executable, core], commands,
                      env=dict(interpreter.env(), GCSCOPE='/nonexistent'))
    for name, _ in commands:
        print('  ' + one_error(session, name, "'/nonexistent'", 'not an executable', 'GCSCOPE'))
    # No GCSCOPE, no build/ beside gdbext/, nothing on PATH.
    with gcstest.scratch_dir('gdb-noanalyzer') as work:
        shutil.copytree(str(gcstest.REPO / 'gdbext'), str(work / 'gdbext'),
                        ignore=shutil.ignore_patterns('__pycache__'))
        path = '/usr/bin:/bin'
        if shutil.which('gcscope', path=path):
            pytest.skip('gcscope is installed on %s' % path)
        session = run_gdb([interpreter.executable, core], commands[:1],
                          env=dict(interpreter.env(), GCSCOPE=None, PATH=path),
                          gdbext=work / 'gdbext' / 'gcscope.py')
        print('  ' + one_error(session, 'cycles', 'analyzer is not found', 'GCSCOPE'))


def errors_not_python():
    require_gdb()
    sleep = shutil.which('sleep')
    commands = [('catch', 'catch syscall clock_nanosleep nanosleep'), ('run', 'run'),
                ('types', 'py-types'), ('cycles', 'py-cycles'), ('snapshot', 'py-snapshot')]
    session = run_gdb(['--args', sleep, '30'], commands)
    if not any('Catchpoint' in l for l in session['run']):
        pytest.skip('gdb could not stop sleep at its nanosleep:\n%s' % session.show('run'))
    for name in ('types', 'cycles', 'snapshot'):
        one_error(session, name, 'cannot snapshot process', 'not a CPython interpreter')
    # py-cycles reuses the failure; py-snapshot tries again (quietly).
    if session.snapshots_taken() != 1:
        raise AssertionError('a failed snapshot is not remembered while the process is stopped:'
                             ' %d attempts' % session.snapshots_taken())
    print('  ' + session.errors('types')[0])


def errors_usage():
    corpus = gcstest.corpus_core(CORE_INTERPRETERS[0], refbugs=True)
    core, interpreter = corpus.core, corpus.interpreter
    commands = [
        ('limit', 'py-types --limit x'),
        ('unknown', 'py-cycles --frobnicate'),
        ('extra', 'py-garbage extra'),
        ('flag', 'py-cycles --garbage-only=1'),
        ('needs-addr', 'py-path'),
        ('bad-expr', 'py-referrers no_such_symbol_here'),
        ('not-object', 'py-referents 0x8'),
        ('struct', 'py-path $_siginfo'),
        ('no-statement', 'py-sql'),
        ('bad-sql', 'py-sql SELEKT 1'),
        ('save-dir', 'py-snapshot /'),
        ('help', 'help py-cycles'),
        ('help-path', 'help py-path'),
    ]
    session = run_gdb([interpreter.executable, core], commands, env=interpreter.env())
    one_error(session, 'limit', "py-types: --limit needs a count, not 'x'")
    one_error(session, 'unknown', "py-cycles: unknown option '--frobnicate'", 'usage: py-cycles')
    one_error(session, 'extra', "py-garbage: unexpected argument 'extra'")
    one_error(session, 'flag', 'py-cycles: --garbage-only takes no value')
    one_error(session, 'needs-addr', 'py-path: needs an address')
    one_error(session, 'bad-expr', "py-referrers: cannot evaluate 'no_such_symbol_here'")
    one_error(session, 'not-object', 'no object at 0x8 in the snapshot')
    one_error(session, 'struct', 'py-path: ')
    one_error(session, 'no-statement', 'py-sql: needs a STATEMENT')
    one_error(session, 'bad-sql', 'syntax error')
    one_error(session, 'save-dir', "py-snapshot: '/' is a directory")
    for name, usage in (('help', 'Usage: py-cycles [--limit N] [--type T] [--garbage-only]'),
                        ('help-path', 'Usage: py-path ADDR')):
        if usage not in '\n'.join(session[name]):
            raise AssertionError('help: no line %r:\n%s' % (usage, session.show(name)))
    # No process, no core.
    session = run_gdb([], [('types', 'py-types'), ('path', 'py-path 0x10')])
    for name in ('types', 'path'):
        one_error(session, name, 'no process and no core')
    print('  %d usage errors, help texts, no process' % (len(commands) - 2))


# ---------------------------------------------------------------------------

@pytest.mark.parametrize('case', [
    pytest.param(functools.partial(core_case, name, check),
                 id='core-%s-%s' % (name, check_name),
                 marks=[pytest.mark.xdist_group('gdb-' + name), pytest.mark.weight(2)])
    for name in CORE_INTERPRETERS for check_name, check in CORE_CHECKS
] + [
    pytest.param(errors_analyzer_missing, id='errors-analyzer-missing'),
    pytest.param(errors_usage, id='errors-usage'),
    pytest.param(errors_not_python, id='errors-not-python'),
    pytest.param(live_attached, id='live-attached'),
    pytest.param(started_cycles, id='started-cycles'),
    pytest.param(started_invalidation, id='started-invalidation'),
])
def test_gdb(case):
    case()
