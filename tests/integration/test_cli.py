"""The analysis commands: gcscope types, cycles, garbage, leaks, path,
referrers, referents and sql, checked against the database they read.

One snapshot of corpora/leaky.py under pyenv's 3.12.1, the run's
(gcstest.corpus_core), is shared by all cases.  Every check compares what
gcscope prints with the same database queried here with Python's sqlite3:
the text output (one record per line, addresses as 0x...) and --json.

The tables the analyses fill (roots, reach, garbage, anomalies) are only
checked for consistency: a case holds whether they are filled or empty.
What a case can only show once they are filled it prints as 'vacuous'.
"""

import hashlib
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

import gcstest

INTERPRETER = 'pyenv-3.12.1'
SCRIPT = gcstest.CORPORA / 'leaky.py'

OK, NOT_FOUND, FATAL, USAGE = 0, 1, 2, 64
DEFAULT_LIMIT = 50
DEFAULT_CYCLES = 20
DEFAULT_MEMBERS = 10
COMMANDS = ('types', 'cycles', 'garbage', 'leaks', 'census', 'path', 'referrers',
            'referents', 'sql')
MORE = re.compile(r'^\.\.\. (\d+) more (\w+) \(--limit 0 shows all\)$')
NOTE = re.compile(r'^note: (\d+) more (\w+) not shown \(--limit 0 shows all\)$')
# The newest schema version this gcscope writes: one file per version.
NEWEST_SCHEMA = len(list((gcstest.REPO / 'schema').glob('*.sql')))


# ---------------------------------------------------------------------------
# The shared snapshot

class Fixture:
    """The snapshot database, the truth leaky.py recorded, a connection."""

    def __init__(self, work, db, truth):
        self.work = work
        self.db = db
        self.truth = truth

    def connect(self):
        con = sqlite3.connect('file:%s?mode=ro' % self.db, uri=True)
        con.text_factory = lambda b: b.decode('utf-8', 'replace')
        return con

    def rows(self, sql, args=()):
        con = self.connect()
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def dicts(self, sql, args=()):
        con = self.connect()
        try:
            cur = con.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            con.close()

    def count(self, table):
        return self.rows('SELECT count(*) FROM %s' % table)[0][0]


_fixture = None


def fixture():
    """The shared snapshot: the run's core of leaky.py under 3.12.1 and
    its snapshot (gcstest.corpus_core); skips if 3.12.1 is missing."""
    global _fixture
    if _fixture is None:
        corpus = gcstest.corpus_core(INTERPRETER)
        db, _ = gcstest.corpus_snapshot(corpus)
        _fixture = Fixture(corpus.dir, db, corpus.truth())
        print('  snapshot %s: roots %d, reach %d, garbage %d, anomalies %d'
              % (db, _fixture.count('roots'), _fixture.count('reach'),
                 _fixture.count('garbage'), _fixture.count('anomalies')))
    return _fixture


# ---------------------------------------------------------------------------
# Running gcscope

def gcscope(*args, status=OK):
    """Run gcscope; check its status; return (stdout, stderr) as text.

    On success in text mode nothing may go to stderr; on failure the
    output must be one error line (checked by the caller with error_line).
    """
    result = gcstest.run_gcscope([str(a) for a in args], timeout=120)
    out = result.stdout.decode('utf-8')
    err = result.stderr.decode('utf-8', 'replace')
    if result.returncode != status:
        raise AssertionError('gcscope %s: exit status %d, expected %d:\n%s\n%s'
                             % (' '.join(map(str, args)), result.returncode, status,
                                gcstest.tail(out), gcstest.tail(err)))
    return out, err


def error_line(args, status, *phrases):
    """gcscope args must fail with status, nothing on stdout, and exactly
    one 'error: ' line on stderr containing every phrase."""
    out, err = gcscope(*args, status=status)
    errors = [l for l in err.splitlines() if l.startswith('error: ')]
    if len(errors) != 1:
        raise AssertionError('gcscope %s: expected one error line, got:\n%s'
                             % (' '.join(map(str, args)), gcstest.tail(err)))
    if status != USAGE and err.strip() != errors[0]:
        raise AssertionError('gcscope %s: more than the error line on stderr:\n%s'
                             % (' '.join(map(str, args)), gcstest.tail(err)))
    if out:
        raise AssertionError('gcscope %s failed but printed:\n%s'
                             % (' '.join(map(str, args)), gcstest.tail(out)))
    for phrase in phrases:
        if phrase not in errors[0]:
            raise AssertionError('error line lacks %r: %s' % (phrase, errors[0]))
    print('  [%d] %s' % (status, errors[0]))
    return errors[0]


def text(*args, status=OK):
    """gcscope args in text mode: its lines; stderr must be empty."""
    out, err = gcscope(*args, status=status)
    if err:
        raise AssertionError('gcscope %s wrote to stderr:\n%s'
                             % (' '.join(map(str, args)), gcstest.tail(err)))
    return out.splitlines()


def as_json(*args, status=OK):
    """gcscope args --json: the parsed output and the notes on stderr."""
    out, err = gcscope(*(args + ('--json',)), status=status)
    try:
        value = json.loads(out)
    except ValueError as e:
        raise AssertionError('gcscope %s --json is not JSON (%s):\n%s'
                             % (' '.join(map(str, args)), e, gcstest.tail(out)))
    return value, err.splitlines()


def split_more(lines, what):
    """(lines without a final '... N more WHAT' line, N or 0)."""
    if lines:
        match = MORE.match(lines[-1])
        if match:
            if match.group(2) != what:
                raise AssertionError('last line %r, expected "... N more %s"'
                                     % (lines[-1], what))
            return lines[:-1], int(match.group(1))
    return lines, 0


def note_more(notes, what):
    """N from a 'note: N more WHAT not shown' line, or 0."""
    total = 0
    for line in notes:
        match = NOTE.match(line)
        if match and match.group(2) == what:
            total += int(match.group(1))
        elif not match:
            raise AssertionError('unexpected line on stderr: %r' % line)
    return total


def expect(have, want, what):
    if have != want:
        raise AssertionError('%s: gcscope printed %r, the database has %r'
                             % (what, have, want))


def hexaddr(addr):
    return '%#x' % addr


def shown(label):
    """A label as the text output shows a step's: '.attr', "['key']", '[3]'."""
    return '.' + label if re.match(r'[A-Za-z_]', label or '') else (label or '')


def vacuous(table, why):
    print('  vacuous: %s is empty, so %s' % (table, why))


# ---------------------------------------------------------------------------
# help and the command line

def help_text():
    out = '\n'.join(text('--help'))
    flat = ' '.join(out.split())
    for command in COMMANDS:
        lines = text(command, '--help')
        if not lines or not lines[0].startswith('usage: gcscope %s DB' % command):
            raise AssertionError('%s --help starts with %r' % (command, lines[:1]))
        # The usage line may be wrapped: up to the first blank line.
        usage = ' '.join(' '.join(lines[:lines.index('')]).split())[len('usage: '):]
        if usage not in flat:
            raise AssertionError('gcscope --help lacks the usage of %s: %s'
                                 % (command, usage))
        body = '\n'.join(lines)
        if 'Exit status' not in body:
            raise AssertionError('%s --help does not list its exit statuses' % command)
        print('  usage: %s' % usage)
    for status in ('0 ', '1 ', '2 ', '64 '):
        if '\n  %s' % status not in out:
            raise AssertionError('gcscope --help does not list exit status %s' % status)


def usage_errors():
    db = fixture().db
    error_line(['cycles'], USAGE, 'needs DB')
    error_line(['path', db], USAGE, 'needs ADDR')
    error_line(['path', db, '0xzz'], USAGE, "invalid address '0xzz'")
    error_line(['referrers', db, '-5'], USAGE, "unknown option '-5'")
    error_line(['types', db, '--limit', 'x'], USAGE, "--limit needs a count, not 'x'")
    error_line(['types', db, '--members', '3'], USAGE, 'types takes no --members')
    error_line(['path', db, '0x10', '--limit', '3'], USAGE, 'path takes no --limit')
    error_line(['types', db, 'extra'], USAGE, "unexpected argument 'extra'")
    error_line(['sql', db], USAGE, 'needs a STATEMENT')
    error_line(['cycles', db, '--frobnicate'], USAGE, "unknown option '--frobnicate'")


# ---------------------------------------------------------------------------
# Databases gcscope must refuse

def bad_databases():
    f = fixture()
    with gcstest.scratch_dir('cli') as work:
        error_line(['types', work / 'absent.db'], FATAL, "cannot open database",
                   'No such file')
        error_line(['types', work], FATAL, 'cannot open database', 'Is a directory')
        notes = work / 'notes.txt'
        notes.write_text('not a database\n' * 100)
        error_line(['types', notes], FATAL, 'is not a gcscope database',
                   'not an SQLite database')
        other = work / 'other.db'
        con = sqlite3.connect(str(other))
        con.execute('CREATE TABLE t(x)')
        con.commit()
        con.close()
        error_line(['cycles', other], FATAL, 'is not a gcscope database',
                   'no meta table', 'schema version 0', 'reads versions 1 to %d' % NEWEST_SCHEMA)
        for version in (NEWEST_SCHEMA + 1, 0):
            copy = work / ('v%d.db' % version)
            shutil.copyfile(f.db, copy)
            con = sqlite3.connect(str(copy))
            con.execute('PRAGMA user_version = %d' % version)
            con.commit()
            con.close()
            for command in ('types', 'sql'):
                args = [command, copy] + (['SELECT 1'] if command == 'sql' else [])
                error_line(args, FATAL, 'schema version %d' % version,
                           'this gcscope reads versions 1 to %d' % NEWEST_SCHEMA)


def unknown_address():
    db = fixture().db
    # Addresses are 16-byte aligned: an odd one is no object's.
    for command in ('path', 'referrers', 'referents'):
        error_line([command, db, '0x7'], NOT_FOUND, 'no object at 0x7')
        error_line([command, db, '7'], NOT_FOUND, 'no object at 0x7')


def schema_version_1():
    """A version-1 database (the v2 tables and views dropped, the v1
    cycle_summary back): types and cycles work, the analyses are refused."""
    f = fixture()
    schema = (gcstest.REPO / 'schema' / '001-snapshot.sql').read_text()
    view = re.search(r'CREATE VIEW cycle_summary AS.*?;', schema, re.S).group(0)
    with gcstest.scratch_dir('cli') as work:
        db = work / 'v1.db'
        shutil.copyfile(f.db, db)
        con = sqlite3.connect(str(db))
        con.executescript('DROP VIEW cycle_summary; DROP VIEW anomaly_types;'
                          ' DROP VIEW reach; DROP TABLE roots; DROP TABLE garbage;'
                          ' DROP TABLE anomalies; %s PRAGMA user_version = 1;' % view)
        con.close()
        owner = f.truth.labels['owner']
        for command, extra in (('garbage', []), ('leaks', []), ('path', [hexaddr(owner)]),
                               ('cycles', ['--garbage-only'])):
            error_line([command, db] + extra, FATAL, 'schema version 1')
        lines = text('types', db, '--limit', '0')
        expect(len(lines) - 1, f.rows('SELECT count(*) FROM type_histogram')[0][0],
               'types rows of a version-1 database')
        heads = [l for l in text('cycles', db, '--members', '1') if l.startswith('cycle ')]
        if not heads or not all('reachable ?; garbage ?;' in l for l in heads):
            raise AssertionError('cycles of a version-1 database: %s' % heads[:2])
        text('referrers', db, hexaddr(owner))


# ---------------------------------------------------------------------------
# types

def types():
    f = fixture()
    want = f.rows('SELECT type, count, bytes, tracked, type_addr FROM type_histogram')
    lines = text('types', f.db)
    expect(lines[0].split(), ['type', 'objects', 'bytes', 'tracked', 'type_addr'], 'header')
    rows, more = split_more(lines[1:], 'rows')
    expect(len(rows), min(DEFAULT_LIMIT, len(want)), 'rows shown by default')
    expect(more, len(want) - len(rows), 'rows left out')
    everything, more = split_more(text('types', f.db, '--limit', '0')[1:], 'rows')
    expect(more, 0, '--limit 0: rows left out')
    have = []
    for line in everything:
        name, count, size, tracked, addr = line.rsplit(None, 4)
        have.append((name, int(count), None if size == '-' else int(size), int(tracked),
                     int(addr, 16)))
    expect(have, want, 'types rows')
    value, notes = as_json('types', f.db, '--limit', '5')
    expect(value, [dict(zip(('type', 'objects', 'bytes', 'tracked', 'type_addr'), r))
                   for r in want[:5]], 'types --json')
    expect(note_more(notes, 'rows'), len(want) - 5, 'types --json: note of rows left out')
    print('  %d types, %d shown by default' % (len(want), min(DEFAULT_LIMIT, len(want))))


# ---------------------------------------------------------------------------
# cycles

CYCLE = re.compile(r'^cycle (\d+): (\d+) members; types (.*); reachable (yes|no|\?); '
                   r'garbage (yes|no|\?); finalizer (yes|no)$')
MEMBER = re.compile(r'^  (0x[0-9a-f]+)\s+(\S+)(?:\s+(.*))?$')
EDGE = re.compile(r'^  (0x[0-9a-f]+)\s+(\S+)\s+(.*?)\s+->\s+(0x[0-9a-f]+)\s+(\S+)$')
CYCLE_MORE = re.compile(r'^  \.\.\. (\d+) more members, (\d+) more references '
                        r'\(--members 0 shows all\)$')


def parse_cycles(lines):
    """Blocks of cycles text: [(header match, members, edges, more)]."""
    blocks = []
    if lines in (['no reference cycles match'], ['no reference cycles in the snapshot']):
        return blocks
    for line in lines:
        head = CYCLE.match(line)
        if head:
            blocks.append((head, [], [], None))
            continue
        if not blocks:
            raise AssertionError('cycles: line before the first cycle: %r' % line)
        _, members, edges, _ = blocks[-1]
        edge, member, more = EDGE.match(line), MEMBER.match(line), CYCLE_MORE.match(line)
        if edge:
            edges.append(edge)
        elif member:
            members.append(member)
        elif more:
            blocks[-1] = blocks[-1][:3] + (more,)
        else:
            raise AssertionError('cycles: unexpected line %r' % line)
    return blocks


def cycles():
    f = fixture()
    summary = f.dicts('SELECT cycle_id, members, types, reachable, garbage, has_finalizer'
                      ' FROM cycle_summary')
    reach_filled = f.count('reach') > 0
    lines, more = split_more(text('cycles', f.db), 'cycles')
    blocks = parse_cycles(lines)
    expect([int(b[0].group(1)) for b in blocks],
           [c['cycle_id'] for c in summary[:DEFAULT_CYCLES]], 'cycle ids, largest first')
    expect(more, max(0, len(summary) - DEFAULT_CYCLES), 'cycles left out')
    for (head, members, edges, extra), c in zip(blocks, summary):
        expect(int(head.group(2)), c['members'], 'cycle %d members' % c['cycle_id'])
        expect(head.group(4), ('yes' if c['reachable'] else 'no') if reach_filled else '?',
               'cycle %d reachable' % c['cycle_id'])
        expect(head.group(5), 'yes' if c['garbage'] else 'no', 'cycle %d garbage' % c['cycle_id'])
        expect(head.group(6), 'yes' if c['has_finalizer'] else 'no',
               'cycle %d finalizer' % c['cycle_id'])
        names = head.group(3).split(' and ')[0].split(',')
        if not set(names) <= set(c['types'].split(',')):
            raise AssertionError('cycle %d types %s, the database has %s'
                                 % (c['cycle_id'], names, c['types']))
        want_members = f.rows('SELECT c.addr, o.type FROM cycles c JOIN objects o'
                              ' ON o.addr = c.addr WHERE cycle_id = ? ORDER BY c.addr',
                              (c['cycle_id'],))
        expect([(int(m.group(1), 16), m.group(2)) for m in members],
               want_members[:DEFAULT_MEMBERS], 'cycle %d members shown' % c['cycle_id'])
        nedges = f.rows('SELECT count(*) FROM cycle_edges WHERE cycle_id = ?',
                        (c['cycle_id'],))[0][0]
        expect(len(edges), min(nedges, DEFAULT_MEMBERS), 'cycle %d references shown'
               % c['cycle_id'])
        if len(want_members) > DEFAULT_MEMBERS or nedges > DEFAULT_MEMBERS:
            expect((int(extra.group(1)), int(extra.group(2))) if extra else None,
                   (len(want_members) - len(members), nedges - len(edges)),
                   'cycle %d: what --members left out' % c['cycle_id'])
    if not reach_filled:
        vacuous('reach', 'every cycle shows reachable ?')

    # Everything as JSON: the summary, every member, every reference.
    value, notes = as_json('cycles', f.db, '--limit', '0', '--members', '0')
    expect(notes, [], 'cycles --json --limit 0: notes')
    keys = ('cycle_id', 'members', 'reachable', 'garbage', 'has_finalizer')
    expect([{k: c[k] for k in keys} for c in value], [{k: c[k] for k in keys} for c in summary],
           'cycles --json summary')
    for c, w in zip(value, summary):
        expect(sorted(c['types'].split(',')), sorted(w['types'].split(',')),
               'cycle %d types' % w['cycle_id'])
        members = f.dicts('SELECT c.addr, o.type, o.repr FROM cycles c JOIN objects o'
                          ' ON o.addr = c.addr WHERE cycle_id = ? ORDER BY c.addr',
                          (w['cycle_id'],))
        expect(c['objects'], members, 'cycle %d --json members' % w['cycle_id'])
        edges = f.dicts('SELECT src, src_type, label, dst, dst_type FROM cycle_edges'
                        ' WHERE cycle_id = ?', (w['cycle_id'],))
        key = lambda e: (e['src'], e['label'] or '', e['dst'])
        expect(sorted(c['edges'], key=key), sorted(edges, key=key),
               'cycle %d --json references' % w['cycle_id'])
        expect((c['more_objects'], c['more_edges']), (0, 0), 'cycle %d more' % w['cycle_id'])
    print('  %d cycles; %d members and %d references in JSON'
          % (len(value), sum(len(c['objects']) for c in value),
             sum(len(c['edges']) for c in value)))


def cycles_filtered():
    """--type and --garbage-only select what the tables say, and the
    Owner <-> Finalized cycles show the references that close them."""
    f = fixture()
    for name in ('Finalized', 'TreeNode', '__main__.Owner'):
        want = [r[0] for r in f.rows(
            'SELECT cycle_id FROM cycle_summary WHERE cycle_id IN (SELECT c.cycle_id'
            ' FROM cycles c JOIN objects o ON o.addr = c.addr JOIN types t'
            ' ON t.addr = o.type_addr WHERE o.type = ?1 OR t.module || \'.\' || t.name = ?1)',
            (name,))]
        blocks = parse_cycles(text('cycles', f.db, '--type', name, '--limit', '0'))
        expect([int(b[0].group(1)) for b in blocks], want, 'cycles --type %s' % name)
        if not want:
            raise AssertionError('no cycle with a %s: leaky.py makes some' % name)
    pairs = [b for b in parse_cycles(text('cycles', f.db, '--type', 'Owner', '--limit', '0'))
             if int(b[0].group(2)) == 2]
    closing = [(e.group(2), e.group(3), e.group(5)) for b in pairs for e in b[2]]
    for edge in (('Owner', '.finalized', 'Finalized'), ('Finalized', '.owner', 'Owner')):
        if edge not in closing:
            raise AssertionError('no 2-member Owner cycle shows %s %s -> %s; have %s'
                                 % (edge + (closing[:6],)))
    want = [r[0] for r in f.rows('SELECT cycle_id FROM cycle_summary WHERE garbage')]
    blocks = parse_cycles(text('cycles', f.db, '--garbage-only', '--limit', '0',
                               '--members', '1'))
    expect([int(b[0].group(1)) for b in blocks], want, 'cycles --garbage-only')
    if not all(b[0].group(5) == 'yes' for b in blocks):
        raise AssertionError('cycles --garbage-only shows a cycle that is not garbage')
    if not want:
        vacuous('garbage', '--garbage-only shows nothing')
    print('  %d Owner <-> Finalized cycles, %d garbage cycles' % (len(pairs), len(want)))


# ---------------------------------------------------------------------------
# garbage, leaks

GARBAGE_TYPES = ('SELECT g.reason, o.type, count(*) AS objects, sum(o.size) AS bytes,'
                 ' sum(g.finalizer) AS finalizers, o.type_addr FROM garbage g'
                 ' LEFT JOIN objects o ON o.addr = g.addr GROUP BY g.reason, o.type_addr')
GARBAGE_OBJECTS = ('SELECT g.reason, g.addr, o.type, o.size, g.finalizer, o.repr'
                   ' FROM garbage g LEFT JOIN objects o ON o.addr = g.addr'
                   ' ORDER BY g.reason, g.rowid')


def garbage():
    f = fixture()
    types = f.dicts(GARBAGE_TYPES)
    objects = f.dicts(GARBAGE_OBJECTS)
    value, notes = as_json('garbage', f.db, '--limit', '0')
    meta = dict(f.rows('SELECT key, value FROM meta'))
    unreachable = sum(1 for o in objects if o['reason'] == 'unreachable')
    off = None
    if meta.get('gc_enabled') == '0':
        off = 'the collector is disabled (gc.disable())'
    elif meta.get('gc_thresholds', '').split(',')[0] == '0':
        off = 'automatic collection is off (gc.set_threshold(0))'
    # The one note: that the collector does not run by itself, if so.
    want = ['note: %s: nothing is collected automatically; these %d objects stay until'
            ' gc.collect() is called' % (off, unreachable)] if off and unreachable else []
    expect(notes, want, 'garbage --json --limit 0: notes')
    key = lambda t: (t['reason'], t['type_addr'] or 0)
    expect(sorted(value['types'], key=key), sorted(types, key=key), 'garbage --json types')
    expect(value['objects'], objects, 'garbage --json objects')
    lines = text('garbage', f.db)
    if not objects:
        expect(lines, ['no garbage recorded: gc.garbage is empty and the next collection'
                       ' would free nothing'], 'garbage of an empty table')
        vacuous('garbage', 'only the empty message is checked')
        return
    totals = {r[0]: r[1:] for r in f.rows(
        'SELECT reason, count(*), total(o.size), sum(finalizer) FROM garbage g'
        ' LEFT JOIN objects o USING (addr) GROUP BY reason')}
    for reason, (count, size, finalizers) in totals.items():
        line = '%s: %d objects, %d bytes, %d with a finalizer' % (reason, count, size,
                                                                   finalizers)
        if not any(l.startswith(line) for l in lines):
            raise AssertionError('garbage lacks the line %r' % line)
    if want and want[0][len('note: '):] not in lines:
        raise AssertionError('garbage lacks the line %r' % want[0][len('note: '):])
    header = [i for i, l in enumerate(lines) if l.split()[:3] == ['reason', 'addr', 'type']]
    if len(header) != 1:
        raise AssertionError('garbage: no objects header')
    rows, more = split_more(lines[header[0] + 1:], 'objects')
    expect(more, max(0, len(objects) - DEFAULT_LIMIT), 'garbage objects left out')
    for line, o in zip(rows, objects):
        fields = line.split()
        expect(fields[:3], [o['reason'], hexaddr(o['addr']), o['type']], 'garbage object')
        expect(fields[4], 'yes' if o['finalizer'] else 'no', 'garbage finalizer flag')
    finalizers = sum(o['finalizer'] for o in objects)
    print('  %d garbage objects (%s), %d with a finalizer'
          % (len(objects), ', '.join('%s %d' % (k, v[0]) for k, v in totals.items()),
             finalizers))


LEAK_OBJECTS = ('SELECT a.kind, a.addr, o.type, a.refcnt, a.referrers,'
                ' a.refcnt - a.referrers AS difference, o.repr, a.detail%s FROM anomalies a'
                ' LEFT JOIN objects o ON o.addr = a.addr%s')


def leaks():
    """leaks: the suspected anomalies (cause NULL), a note with the number
    explained; --all: every anomaly, with its cause."""
    f = fixture()
    types = f.dicts('SELECT type, kind, objects, refs, type_addr FROM anomaly_types'
                    ' WHERE suspected')
    objects = f.dicts(LEAK_OBJECTS % ('', ' WHERE a.cause IS NULL'))
    explained = f.rows('SELECT count(*) FROM anomalies WHERE cause IS NOT NULL')[0][0]
    value, notes = as_json('leaks', f.db, '--limit', '0')
    note = ('note: %d more anomalies explained by a holder (a C stack, a static, a runtime'
            ' struct, an object scanned conservatively): --all shows them' % explained)
    expect(notes, [note] if explained else [], 'leaks --json --limit 0: notes')
    every, notes = as_json('leaks', f.db, '--limit', '0', '--all')
    expect(notes, [], 'leaks --all --json: notes')
    key = lambda o: o['addr']
    expect(sorted(every['objects'], key=key),
           sorted(f.dicts(LEAK_OBJECTS % (', a.cause', '')), key=key), 'leaks --all --json objects')
    print('  leaks --all: %d anomalies, %d explained (%s)'
          % (len(every['objects']), explained,
             '; '.join('%s %d' % kv for kv in f.rows(
                 "SELECT CASE WHEN cause LIKE 'a word%' THEN 'a word of an object scanned'"
                 " WHEN cause LIKE 'static %' THEN 'a static' WHEN cause LIKE 'C stack %'"
                 " THEN 'a C stack' ELSE substr(cause, 1, instr(cause || '+', '+') - 1) END,"
                 " count(*) FROM anomalies WHERE cause IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"))))
    key = lambda t: (t['type_addr'] or 0, t['kind'])
    expect(sorted(value['types'], key=key), sorted(types, key=key), 'leaks --json types')
    key = lambda o: o['addr']
    expect(sorted(value['objects'], key=key), sorted(objects, key=key),
           'leaks --json objects')
    # Worst first within each kind.
    order = [(o['kind'], -abs(o['difference'])) for o in value['objects']]
    expect(order, sorted(order), 'leaks: order of the objects')
    lines = text('leaks', f.db, '--limit', '0')
    if not objects:
        if explained:
            expect(lines, ['no suspected anomalies: what the references found leave of'
                           ' each count, a holder explains', note[len('note: '):]],
                   'leaks without a suspected anomaly')
        else:
            expect(lines, ['no anomalies recorded: the references found explain every'
                           ' reference count'], 'leaks of an empty table')
        vacuous('anomalies', 'only the empty message is checked')
        return
    header = [i for i, l in enumerate(lines) if l.split()[:3] == ['kind', 'addr', 'type']]
    if len(header) != 1:
        raise AssertionError('leaks: no objects header')
    by_addr = {o['addr']: o for o in objects}
    rows = lines[header[0] + 1:]
    if explained:
        expect(rows[-1], note[len('note: '):], 'leaks: the line of the anomalies explained')
        rows = rows[:-1]
    expect(len(rows), len(objects), 'leaks objects shown with --limit 0')
    for line in rows:
        kind, addr, typ, refcnt, referrers, difference = line.split()[:6]
        o = by_addr[int(addr, 16)]
        expect((kind, typ, int(refcnt), int(referrers), int(difference)),
               (o['kind'], o['type'], o['refcnt'], o['referrers'], o['difference']),
               'leaks object %s' % addr)
    print('  %d anomalies: %s' % (len(objects), ', '.join(
        '%s %d' % (k, n) for k, n in f.rows('SELECT kind, count(*) FROM anomalies'
                                             ' WHERE cause IS NULL GROUP BY kind'))))


# ---------------------------------------------------------------------------
# path

PATH_STEP = re.compile(r'^(.*?)\s+->\s+(0x[0-9a-f]+)\s+(\S+)(?:\s+(.*))?$')
PATH_ANCHORS = ('owner', 'finalized', 'tree_root', 'self_list', 'gc_garbage',
                'traceback_innermost_frame', 'closure_cell', 'module_dict')


def reach_chain(f, addr):
    """[(addr, depth, label)] from the root to addr, or None."""
    steps = []
    at = addr
    while True:
        row = f.rows('SELECT depth, via, label FROM reach WHERE addr = ?', (at,))
        if not row:
            if steps:
                raise AssertionError('reach: %#x has no row, but %#x is reached via it'
                                     % (at, steps[-1][0]))
            return None
        depth, via, label = row[0]
        steps.append((at, depth, label))
        if depth == 0:
            return steps[::-1]
        at = via


def check_path(f, addr):
    """path ADDR against reach; True if a chain was printed."""
    chain = reach_chain(f, addr)
    if chain is None:
        garbage = [r[0] for r in f.rows('SELECT reason FROM garbage WHERE addr = ?'
                                        ' ORDER BY reason', (addr,))]
        lines = text('path', f.db, hexaddr(addr), status=NOT_FOUND)
        if len(lines) != 1 or 'is not reachable from any root' not in lines[0] \
                or not lines[0].startswith(hexaddr(addr) + ' '):
            raise AssertionError('path %#x: expected one "not reachable" line, got %s'
                                 % (addr, lines))
        if garbage and 'gc.garbage' in garbage and 'in gc.garbage' not in lines[0]:
            raise AssertionError('path %#x: in gc.garbage, but: %s' % (addr, lines[0]))
        if garbage and 'garbage' not in lines[0]:
            raise AssertionError('path %#x: garbage, but: %s' % (addr, lines[0]))
        if not garbage and 'garbage' in lines[0]:
            raise AssertionError('path %#x: not garbage, but: %s' % (addr, lines[0]))
        value, notes = as_json('path', f.db, hexaddr(addr), status=NOT_FOUND)
        expect((value, notes), ([], lines), 'path --json of an unreachable object')
        return False
    lines = text('path', f.db, hexaddr(addr))
    expect(len(lines), len(chain), 'path %#x: steps' % addr)
    for line, (at, depth, label) in zip(lines, chain):
        match = PATH_STEP.match(line)
        if not match:
            raise AssertionError('path %#x: unexpected line %r' % (addr, line))
        expect((match.group(1), int(match.group(2), 16)),
               (label if depth == 0 else shown(label), at), 'path %#x step' % addr)
    value, _ = as_json('path', f.db, hexaddr(addr))
    expect([(s['addr'], s['depth'], s['label']) for s in value], chain,
           'path %#x --json' % addr)
    expect(text('path', f.db, str(addr)), lines, 'path with a decimal address')
    return True


def path():
    f = fixture()
    found = 0
    for name in PATH_ANCHORS:
        found += check_path(f, f.truth.labels[name])
    # Garbage that no root reaches, and an object that is neither.
    others = [r[0] for r in f.rows(
        "SELECT addr FROM garbage WHERE reason = 'unreachable'"
        " AND addr NOT IN (SELECT addr FROM reach) LIMIT 3")]
    others += [r[0] for r in f.rows(
        'SELECT addr FROM objects WHERE addr NOT IN (SELECT addr FROM reach)'
        ' AND addr NOT IN (SELECT addr FROM garbage) LIMIT 2')]
    unreachable = sum(not check_path(f, a) for a in others)
    if not f.count('reach'):
        vacuous('reach', 'every path says "not reachable"')
    print('  %d of %d anchors reached from a root; %d unreachable objects checked'
          % (found, len(PATH_ANCHORS), unreachable))


# ---------------------------------------------------------------------------
# referrers, referents

def check_references(f, command, addr, view, column):
    want = f.dicts('SELECT %s, %s_type AS type, kind, label, %s_repr AS repr FROM %s'
                   ' WHERE addr = ?' % (column, column, column, view), (addr,))
    key = lambda r: (r[column], r['kind'], r['label'] or '')
    value, notes = as_json(command, f.db, hexaddr(addr), '--limit', '0')
    expect(notes, [], '%s --json notes' % command)
    expect(sorted(value, key=key), sorted(want, key=key), '%s %#x --json' % (command, addr))
    lines = text(command, f.db, hexaddr(addr), '--limit', '0')
    expect(lines[0].split(), [column, 'type', 'kind', 'label', 'repr'], '%s header' % command)
    rows = lines[1:]
    expect(len(rows), len(want), '%s %#x rows' % (command, addr))
    for r in want:
        pattern = r'^%s\s+%s\s+%s\s+%s(\s|$)' % (
            hexaddr(r[column]), re.escape(r['type'] or '-'), r['kind'],
            re.escape(r['label'] or '-'))
        if not any(re.match(pattern, line) for line in rows):
            raise AssertionError('%s %#x: no line for %s' % (command, addr, r))
    if len(want) > 1:
        lines = text(command, f.db, hexaddr(addr), '--limit', '1')
        rows, more = split_more(lines[1:], 'rows')
        expect((len(rows), more), (1, len(want) - 1), '%s --limit 1' % command)
    return want


def referrers():
    f = fixture()
    owner, module_dict = f.truth.labels['owner'], f.truth.labels['module_dict']
    got = check_references(f, 'referrers', owner, 'referrers', 'referrer')
    if not any(r['referrer'] == module_dict and r['label'] == "['OWNER']" for r in got):
        raise AssertionError("the module dict %#x is not among the referrers of 'owner'"
                             " with label ['OWNER']: %s" % (module_dict, got))
    check_references(f, 'referrers', f.truth.labels['self_list'], 'referrers', 'referrer')
    lines = text('referrers', f.db, hexaddr(owner))
    if not any(re.match(r"^%s\s+dict\s+traverse\s+\['OWNER'\]" % hexaddr(module_dict), l)
               for l in lines):
        raise AssertionError("referrers: no line for the module dict:\n%s" % '\n'.join(lines))
    print('  %d referrers of owner' % len(got))


def referents():
    f = fixture()
    owner, finalized = f.truth.labels['owner'], f.truth.labels['finalized']
    got = check_references(f, 'referents', owner, 'referents', 'referent')
    if not any(r['referent'] == finalized and r['label'] == 'finalized' for r in got):
        raise AssertionError("'finalized' is not among the referents of 'owner': %s" % got)
    check_references(f, 'referents', f.truth.labels['module_dict'], 'referents', 'referent')
    print('  %d referents of owner' % len(got))


# ---------------------------------------------------------------------------
# sql

def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sql():
    f = fixture()
    query = 'SELECT addr, type, size, repr FROM objects ORDER BY size DESC, addr LIMIT 30'
    want = f.rows(query)
    lines = text('sql', f.db, query)
    expect(lines[0].split(), ['addr', 'type', 'size', 'repr'], 'sql header')
    rows, more = split_more(lines[1:], 'rows')
    expect(more, 0, 'sql: rows left out')
    expect([tuple(l.split(None, 3)[:3]) for l in rows],
           [(str(a), t, str(s)) for a, t, s, _ in want], 'sql rows')
    value, _ = as_json('sql', f.db, query)
    expect(value, [dict(zip(('addr', 'type', 'size', 'repr'), r)) for r in want], 'sql --json')
    # --limit, and a row count against the table.
    lines = text('sql', f.db, 'SELECT addr FROM objects', '--limit', '7')
    rows, more = split_more(lines[1:], 'rows')
    expect((len(rows), more), (7, f.count('objects') - 7), 'sql --limit 7')
    # Values of every type, in text and JSON.
    query = "SELECT 1.5 AS x, NULL AS n, x'00ff' AS b, 'a\nb\"' AS t, printf('%#x', 255) AS h"
    expect(text('sql', f.db, query), ['  x  n     b        t      h',
                                      '1.5  NULL  x\'00ff\'  a\\nb"  0xff'], 'sql values')
    value, _ = as_json('sql', f.db, query)
    expect(value, [{'x': 1.5, 'n': None, 'b': "x'00ff'", 't': 'a\nb"', 'h': '0xff'}],
           'sql --json values')

    # Nothing that writes runs, and the file does not change.
    before = digest(f.db), f.count('objects')
    for statement, phrase in (('DELETE FROM objects', 'not a read-only statement'),
                              ('DROP TABLE edges', 'not a read-only statement'),
                              ('UPDATE meta SET value = 0', 'not a read-only statement'),
                              ('PRAGMA user_version = 9', 'not a read-only statement'),
                              ('CREATE TEMP TABLE t(x)', 'not a read-only statement'),
                              ('SELECT 1; DELETE FROM objects', 'more than one SQL statement'),
                              ('/* nothing */', 'no SQL statement'),
                              ('SELEKT 1', 'syntax error')):
        error_line(['sql', f.db, statement], FATAL, phrase)
    # A statement that starts with '-' comes after --.
    error_line(['sql', f.db, '--', '-- nothing'], FATAL, 'no SQL statement')
    expect(text('sql', f.db, '--', '-- the answer\nSELECT 42 AS answer'),
           ['answer', '    42'], 'sql -- STATEMENT')
    expect((digest(f.db), f.count('objects')), before, 'the database after refused statements')


def on_core():
    """COMMAND --core CORE snapshots the core once, caches it beside the
    core, and answers as COMMAND DB does."""
    interpreter = gcstest.find_interpreter(INTERPRETER)
    with gcstest.scratch_dir('cli-core') as work:
        with gcstest.Workload(interpreter, SCRIPT, work) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        first = gcstest.run_gcscope(['types', '--core', core, '--limit', '0'])
        second = gcstest.run_gcscope(['types', '--core', core, '--limit', '0'])
        cache = Path(str(core) + '.gcscope.db')
        expect(first.returncode, OK, 'first --core status')
        expect(second.returncode, OK, 'second --core status')
        if b'snapshot of' not in first.stderr or not cache.exists():
            raise AssertionError('no snapshot cached at %s: %s' % (cache, first.stderr))
        if second.stderr:
            raise AssertionError('the cached snapshot was not reused: %s' % second.stderr)
        db = work / 'direct.db'
        gcstest.snapshot_core(core, db)
        direct = gcstest.run_gcscope(['types', db, '--limit', '0'])
        expect(first.stdout, direct.stdout, 'types --core vs types DB')
        expect(second.stdout, direct.stdout, 'types --core (cached) vs types DB')
        print('  %d type rows, cached in %s' % (len(direct.stdout.splitlines()) - 1, cache.name))


@pytest.mark.parametrize('case', [
    pytest.param(help_text, id='help'),
    pytest.param(on_core, id='on-core'),
    pytest.param(usage_errors, id='usage-errors'),
    pytest.param(bad_databases, id='bad-databases'),
    pytest.param(unknown_address, id='unknown-address'),
    pytest.param(schema_version_1, id='schema-version-1'),
    pytest.param(types, id='types'),
    pytest.param(cycles, id='cycles'),
    pytest.param(cycles_filtered, id='cycles-filtered'),
    pytest.param(garbage, id='garbage'),
    pytest.param(leaks, id='leaks'),
    pytest.param(path, id='path'),
    pytest.param(referrers, id='referrers'),
    pytest.param(referents, id='referents'),
    pytest.param(sql, id='sql'),
])
@pytest.mark.xdist_group('cli')
def test_cli(case):
    case()
