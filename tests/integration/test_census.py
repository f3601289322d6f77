"""The census of pymalloc's arenas (schema/003-census.sql), checked against
the interpreter's own truth.

For each interpreter: run corpora/leaky.py twice and take a core of each
with gcore, snapshot it with gcscope, then check:

  leaked      (leaky.py --refbugs, which makes the corpus C extension leak 8
              floats and 8 strs nobody refers to: leaked.tsv) each leaked
              object is in objects at its exact address, found = 'arena',
              of its type, with its value as preview, and is reported as an
              'unreferenced' anomaly with ob_refcnt 1 and 0 referrers
  pymalloc    (the same core) pymalloc's arenas and pools as gcscope read
              them are exactly what sys._debugmallocstats() printed in the
              process just before the core was taken (mallocstats.txt):
              arenas, and per size class the pools in use, blocks in use
              and available blocks; the bytes in allocated and available
              blocks; the objects counted per type and block size
              (pymalloc_usage) are exactly those of gc.get_objects() that
              sizes.tsv puts in blocks of that size (at least those, for
              the types the collector tracks only in part: PARTLY_TRACKED);
              every list's item array and dict's
              keys table that buffers.tsv puts at the start of a block, as
              a buffer of a list or a dict
  clean       (leaky.py without --refbugs: nothing leaked) the objects
              found in the arenas only are counted and printed by type and
              by what holds them (a C static, a thread's C stack); none of
              them may be an 'unreferenced' anomaly: the clean corpus leaks
              nothing

Each check runs on every interpreter with its symbols (pymalloc's state is
then found by name before 3.12, through the interpreter from 3.12:
meta.census_source 'symbols' or 'interpreter'), and on three without
(a copy of pyenv 3.8.18 and 3.11.7 stripped of everything but .dynsym,
and Debian's python3.11 with --no-default-debuginfo), where before 3.12
the state must be found by a scan of the interpreter's data
(census_source 'scan').

Case names are INTERPRETER-CHECK: 'pyenv-3.12.1-leaked',
'pyenv-3.11.7-strip-all-pymalloc', 'debian-3.11-nodebug-clean'.
The cores and snapshots are the run's (gcstest.corpus_core), shared with
the other tests; GCSCOPE_KEEP=1 keeps them.
"""

import collections
import json
import sqlite3

import pytest

import gcstest

# (case prefix, interpreter name, snapshot options, census_source wanted)
CONFIGS = (
    [(spec.name, spec.name, (),
      'symbols' if tuple(map(int, spec.version.split('.')[:2])) < (3, 12) else 'interpreter')
     for spec in gcstest.INTERPRETERS]
    + [('pyenv-3.8.18-strip-all', 'pyenv-3.8.18-strip-all', (), 'scan'),
       ('pyenv-3.11.7-strip-all', 'pyenv-3.11.7-strip-all', (), 'scan'),
       ('debian-3.11-nodebug', 'debian-3.11', ('--no-default-debuginfo',), 'scan')]
)


def prepared(config, refbugs):
    """(truth, db) for a CONFIGS entry, with or without the refbugs
    planted: the run's core (gcstest.corpus_core) and its snapshot."""
    prefix, name, options, source = config
    corpus = gcstest.corpus_core(name, refbugs=refbugs)
    db, elapsed = gcstest.corpus_snapshot(corpus, options)
    truth = corpus.truth()
    meta = dict(query(db, 'SELECT key, value FROM meta'))
    print('  %s: snapshot %.1f s, %s objects, %s found in the arenas only; census %s'
          ' (state from %s, layout %s)%s'
          % (meta.get('python_version'), elapsed, meta.get('objects'),
             meta.get('arena_objects'), meta.get('census'), meta.get('census_source'),
             meta.get('layout_source'),
             ' (%s)' % meta['census_problem'] if meta.get('census_problem') else ''))
    if meta.get('census') != '1':
        raise AssertionError('no census: %s' % meta.get('census_problem'))
    if meta.get('census_source') != source:
        raise AssertionError('meta.census_source %r, expected %r'
                             % (meta.get('census_source'), source))
    return truth, db


def query(db, sql, args=()):
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def check_leaked(config):
    truth, db = prepared(config, True)
    if len(truth.leaked) != 16:
        raise AssertionError('leaked.tsv has %d rows, expected 16 (8 floats, 8 strs)'
                             % len(truth.leaked))
    failures = []
    for leak in truth.leaked:
        rows = query(db, 'SELECT o.type, o.refcnt, o.found, o.repr, a.kind, a.refcnt, '
                         'a.referrers FROM objects o LEFT JOIN anomalies a ON a.addr = o.addr '
                         'AND a.cause IS NULL WHERE o.addr = ?', (leak.addr,))
        if not rows:
            failures.append('%#x %s %s: not in objects' % (leak.addr, leak.type, leak.value))
            continue
        tp, refcnt, found, repr_, kind, arefcnt, referrers = rows[0]
        want = (leak.type, 1, 'arena', gcstest.expected_preview('value', leak.value),
                'unreferenced', 1, 0)
        have = (tp, refcnt, found, repr_, kind, arefcnt, referrers)
        if have != want:
            failures.append('%#x: expected type, refcnt, found, repr, anomaly, its refcnt and '
                            'referrers %r, got %r' % (leak.addr, want, have))
    kinds = collections.Counter(leak.type for leak in truth.leaked)
    print('  leaked by the C extension: %s; reported unreferenced at their addresses: %d'
          % (', '.join('%d %s' % (n, t) for t, n in sorted(kinds.items())),
             len(truth.leaked) - len(failures)))
    for text in failures[:10]:
        print('    FAILED ' + text)
    if failures:
        raise AssertionError('%d of %d leaked objects not reported as they are'
                             % (len(failures), len(truth.leaked)))


def check_pymalloc(config):
    truth, db = prepared(config, True)
    stats = truth.mallocstats
    if stats is None:
        pytest.skip('the corpus recorded no pymalloc statistics (not pymalloc)')
    failures = []
    arenas = query(db, 'SELECT count(*) FROM pymalloc_arenas')[0][0]
    if arenas != stats.arenas:
        failures.append('arenas: %d, sys._debugmallocstats says %d' % (arenas, stats.arenas))
    have = {size: (pools, used, free) for size, pools, used, free in query(
        db, 'SELECT block_size, pools, used, free FROM census_classes')}
    want = {c.size: (c.pools, c.blocks, c.avail) for c in stats.classes.values() if c.pools}
    for size in sorted(set(have) | set(want)):
        if have.get(size) != want.get(size):
            failures.append('block size %d: pools, blocks in use, available blocks %s; '
                            'sys._debugmallocstats says %s' % (size, have.get(size), want.get(size)))
    meta = dict(query(db, 'SELECT key, value FROM meta'))
    for key, total in (('pymalloc_used_bytes', 'bytes in allocated blocks'),
                       ('pymalloc_free_bytes', 'bytes in available blocks')):
        if int(meta[key]) != stats.totals[total]:
            failures.append('%s %s, %s %d' % (key, meta[key], total, stats.totals[total]))
    bad = query(db, 'SELECT count(*) FROM pymalloc_pools WHERE bad')[0][0]
    if bad:
        failures.append('%d pools marked bad' % bad)
    # The objects in pymalloc blocks, per type and block size, exactly
    # what the truth puts there: every object of gc.get_objects() that
    # sizes.tsv puts in a block, for every type of which it lists any
    # object, but for the types the collector tracks only in part.
    in_blocks = collections.Counter()
    for addr, size in truth.sizes.items():
        obj = truth.objects.get(addr)
        if size.block is not None and obj is not None:
            in_blocks[(obj.type_addr, size.block)] += 1
    counted = {(t, s): n for t, s, n in query(
        db, "SELECT type_addr, block_size, blocks FROM pymalloc_usage WHERE what = 'object'")}
    listed = {t.type_addr for t in truth.objects.values()}
    wrong, exact, bounded = [], 0, 0
    for t, s in sorted(set(in_blocks) | {k for k in counted if k[0] in listed}):
        tname = truth.types.get(t, hex(t))
        there, got = in_blocks.get((t, s), 0), counted.get((t, s), 0)
        if tname in PARTLY_TRACKED:
            bounded += 1
            if got < there:
                wrong.append('%s in %d-byte blocks: %d tracked objects there, %d counted'
                             % (tname, s, there, got))
        else:
            exact += 1
            if got != there:
                wrong.append('%s in %d-byte blocks: %d objects there, %d counted'
                             % (tname, s, there, got))
    failures.extend(wrong[:10])
    if len(wrong) > 10:
        failures.append('... %d more types and sizes' % (len(wrong) - 10))
    # And every buffer of a list or dict the interpreter says is a block.
    owned = collections.Counter()
    for owner, _, size in truth.buffers:
        owned[(truth.objects[owner].type_addr, size)] += 1
    counted = {(t, s): n for t, s, n in query(
        db, "SELECT type_addr, block_size, blocks FROM pymalloc_usage WHERE what = 'buffer'")}
    short = [(t, s, n, counted.get((t, s), 0)) for (t, s), n in owned.items()
             if counted.get((t, s), 0) < n]
    for t, s, n, c in short[:10]:
        failures.append('buffers of %s in %d-byte blocks: %d in buffers.tsv, %d counted'
                        % (truth.types.get(t, hex(t)), s, n, c))
    if not owned:
        failures.append('buffers.tsv lists no buffer')
    unknown = int(meta['pymalloc_unknown_bytes'])
    used = int(meta['pymalloc_used_bytes'])
    print('  %d arenas, %d size classes, %d blocks in use as sys._debugmallocstats says; '
          '%d tracked objects and %d list and dict buffers in their blocks; '
          'not accounted for: %d of %d bytes (%.1f%%)'
          % (arenas, len(want), sum(v[1] for v in want.values()), sum(in_blocks.values()),
             sum(owned.values()), unknown, used, 100.0 * unknown / max(used, 1)))
    print('  objects per type and block size: %d exact, %d at least (%s: %s)'
          % (exact, bounded, ', '.join(sorted(PARTLY_TRACKED)),
             '; '.join('%s, %s' % kv for kv in sorted(PARTLY_TRACKED.items()))))
    for text in failures:
        print('    FAILED ' + text)
    if failures:
        raise AssertionError('%d differences from pymalloc\'s own statistics' % len(failures))


# Types of which the collector tracks only some objects: gc.get_objects()
# (and so the truth) lists only those, and their blocks are checked as a
# lower bound.  Every other type's are counted exactly.
PARTLY_TRACKED = {
    'tuple': 'tuples that hold no tracked object are untracked (untrack_tuples)',
    'dict': 'dicts that hold no tracked object are untracked (MAINTAIN_TRACKING,'
            ' untrack_dicts)',
    'frame': 'before 3.11 the frames kept for reuse (zombie frames, the free list), from'
             ' 3.11 the frame object of a frame still running, are untracked',
}


def check_clean(config):
    truth, db = prepared(config, False)
    if truth.leaked:
        raise AssertionError('leaked.tsv is not empty without --refbugs')
    found = query(db, "SELECT o.type, count(*) FROM objects o WHERE o.found = 'arena' "
                      "GROUP BY o.type ORDER BY 2 DESC")
    holders = query(db, "SELECT CASE WHEN r.label LIKE 'static %' THEN 'a C static' "
                        "WHEN r.label LIKE 'C stack %' THEN 'a C stack' ELSE r.kind END, "
                        "count(DISTINCT r.addr) FROM roots r JOIN objects o ON o.addr = r.addr "
                        "WHERE o.found = 'arena' GROUP BY 1")
    leaks = query(db, "SELECT printf('%#x', o.addr), o.type, o.refcnt, o.repr "
                      "FROM anomalies a JOIN objects o ON o.addr = a.addr "
                      "WHERE o.found = 'arena' AND a.kind = 'unreferenced' AND a.cause IS NULL")
    print('  found in the arenas only: %s; held by %s; unreferenced: %d'
          % (', '.join('%s %d' % row for row in found) or 'none',
             ', '.join('%s %d' % row for row in holders) or 'nothing found', len(leaks)))
    for row in leaks[:20]:
        print('    FAILED unreferenced %s %s refcnt %s %s' % row)
    if leaks:
        raise AssertionError('%d objects of the clean corpus reported unreferenced' % len(leaks))


def check_command(config):
    """gcscope census prints what the tables hold: its JSON is the views
    census_classes and census_types and the meta totals; its text the same
    figures, and the leaked objects are counted as held by nothing."""
    truth, db = prepared(config, True)
    result = gcstest.run_gcscope(['census', db, '--limit', '0', '--json'])
    if result.returncode != 0:
        raise AssertionError('gcscope census --json exited with %d: %s'
                             % (result.returncode, result.stderr))
    value = json.loads(result.stdout.decode())
    meta = dict(query(db, 'SELECT key, value FROM meta'))
    totals = value['totals'][0]
    for key, meta_key in (('arenas', 'pymalloc_arenas'), ('used_bytes', 'pymalloc_used_bytes'),
                          ('unknown_bytes', 'pymalloc_unknown_bytes'),
                          ('arena_objects', 'arena_objects')):
        if totals[key] != int(meta[meta_key]):
            raise AssertionError('census --json totals.%s %r, meta.%s %s'
                                 % (key, totals[key], meta_key, meta[meta_key]))
    if totals['arena_unreferenced'] != len(truth.leaked):
        raise AssertionError('census --json: %d arena objects nothing holds, %d leaked'
                             % (totals['arena_unreferenced'], len(truth.leaked)))
    classes = [tuple(row[k] for k in ('block_size', 'pools', 'used', 'free'))
               for row in value['classes']]
    if classes != query(db, 'SELECT block_size, pools, used, free FROM census_classes'):
        raise AssertionError('census --json classes differ from census_classes')
    types = query(db, 'SELECT count(*) FROM census_types')[0][0]
    if len(value['types']) != types:
        raise AssertionError('census --json: %d types, census_types has %d'
                             % (len(value['types']), types))
    result = gcstest.run_gcscope(['census', db])
    lines = result.stdout.decode().splitlines()
    first = '%s objects found in the arenas only, %d of which nothing holds' % (
        meta['arena_objects'], len(truth.leaked))
    if result.returncode != 0 or len(lines) < 2 or not lines[1].startswith(first):
        raise AssertionError('gcscope census: expected a line starting %r, got:\n%s'
                             % (first, gcstest.tail(result.stdout)))
    print('  %s' % lines[0])
    print('  %s' % lines[1])


CHECKS = (
    ('leaked', check_leaked),
    ('command', check_command),
    ('pymalloc', check_pymalloc),
    ('clean', check_clean),
)


@pytest.mark.weight(2)
@pytest.mark.parametrize('config, check', [
    pytest.param(config, check, id='%s-%s' % (config[0], check_name),
                 marks=pytest.mark.xdist_group('census-' + config[0]))
    for config in CONFIGS for check_name, check in CHECKS])
def test_census(config, check):
    """One check of one configuration: 'pyenv-3.11.7-strip-all-pymalloc'."""
    check(config)
