"""The references of the standard library's C types, as gcscope decodes
them, against gc.get_referents() in the process.

For every interpreter of gcstest.INTERPRETERS, corpora/stdlib_types.py
makes instances of the collector-tracked types of the C modules of the
standard library (partial, lru_cache wrappers, defaultdict, _thread._local,
Element, Pickler, ctypes objects, asyncio futures...); the program is cored
with gcore and snapshot, and for each instance the snapshot's traverse and
conservative edges are compared, as a multiset of destinations, with what
gc.get_referents() said of it. Per type the test prints

  type  expected  found  missing  extra  conservative-only

expected: the referents recorded; found: those matched by an edge a
decoder named (kind 'traverse'); conservative-only: those matched only by
the conservative scan of an undecoded type (kind 'conservative'); missing:
those not matched at all; extra: edges (traverse or conservative) that are
not referents. A type is decoded when found == expected and there is
nothing missing, extra or conservative-only.

No object of the snapshot may have more references counted than its
refcount (a 'deficit' anomaly): the program is healthy, so that would be
a reference gcscope counted twice or made up (the entries of an
lru_cache are visited by the wrapper but owned by themselves).

Every type must be decoded, except those KNOWN_MISSES lists for that
interpreter; a listed type that is decoded fails the test too, so the
list only shrinks. The types the program could not make instances of are
printed with the reason it gave.
"""

import collections
import sqlite3

import pytest

import gcstest

SCRIPT = gcstest.CORPORA / 'stdlib_types.py'

# Types not yet decoded fully, and the interpreters (INTERPRETERS names)
# where they are not: '*' for all of them.
KNOWN_MISSES = {}


def known(key, name):
    where = KNOWN_MISSES.get(key, ())
    return '*' in where or name in where


def read_truth(truth_dir):
    instances = []
    for line in (truth_dir / 'instances.tsv').read_text().splitlines():
        fields = line.split('\t')
        instances.append((int(fields[0]), fields[1], [int(a) for a in fields[2:]]))
    types = [line.split('\t', 2) for line in
             (truth_dir / 'types.tsv').read_text().splitlines() if line]
    return instances, types


def parity(con, instances):
    """Per type: [instances, expected, found, missing, extra, conservative]."""
    table = collections.OrderedDict()
    examples = collections.defaultdict(list)
    for addr, key, refs in instances:
        edges = con.execute("SELECT dst, kind, label FROM edges WHERE src = ? AND"
                            " kind IN ('traverse', 'conservative')", (addr,)).fetchall()
        want = collections.Counter(refs)
        named = collections.Counter(dst for dst, kind, _ in edges if kind == 'traverse')
        scanned = collections.Counter(dst for dst, kind, _ in edges if kind == 'conservative')
        found = want & named
        left = want - found
        cons = left & scanned
        missing = left - cons
        extra = (named - want) + (scanned - left)
        row = table.setdefault(key, [0, 0, 0, 0, 0, 0])
        for i, n in enumerate((1, len(refs), sum(found.values()), sum(missing.values()),
                               sum(extra.values()), sum(cons.values()))):
            row[i] += n
        if missing or extra or cons:
            labels = {}
            for dst, kind, label in edges:
                labels.setdefault(dst, '%s %s' % (kind, label))
            examples[key].append('0x%x: missing %s; extra %s; conservative-only %s'
                                 % (addr, ['0x%x' % a for a in missing.elements()][:4],
                                    [labels[a] for a in extra.elements()][:4],
                                    [labels[a] for a in cons.elements()][:4]))
    return table, examples


@pytest.mark.parametrize('name', [
    pytest.param(spec.name, marks=pytest.mark.weight(2)) for spec in gcstest.INTERPRETERS])
def test_stdlib_types(name):
    interpreter = gcstest.find_interpreter(name)
    with gcstest.scratch_dir('stdlib-%s' % name) as work:
        with gcstest.Workload(interpreter, SCRIPT, work) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        instances, types = read_truth(workload.truth_dir)
        db = work / 'snapshot.db'
        gcstest.snapshot_core(core, db)
        con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
        try:
            table, examples = parity(con, instances)
            deficits = con.execute(
                "SELECT o.type, count(*), sum(a.referrers - a.refcnt),"
                " group_concat(coalesce(o.repr, printf('0x%x', o.addr)), ', ')"
                " FROM anomalies a JOIN objects o USING (addr) WHERE a.kind = 'deficit'"
                " GROUP BY o.type ORDER BY 2 DESC").fetchall()
        finally:
            con.close()

    print('\n  %s: %d instances of %d types' % (name, len(instances), len(table)))
    print('  %-44s %5s %8s %6s %8s %6s %13s  %s' % ('type', 'inst', 'expected', 'found',
                                                   'missing', 'extra', 'conservative',
                                                   'status'))
    failures = []
    for key, (n, expected, found, missing, extra, cons) in table.items():
        decoded = found == expected and not (missing or extra or cons)
        listed = known(key, name)
        status = 'ok' if decoded else 'KNOWN' if listed else 'FAIL'
        if decoded and listed:
            status = 'FAIL (decoded but in KNOWN_MISSES)'
            failures.append('%s is decoded on %s: remove it from KNOWN_MISSES' % (key, name))
        elif not decoded and not listed:
            failures.append('%s on %s: %d of %d referents found, %d missing, %d extra,'
                            ' %d conservative-only: %s'
                            % (key, name, found, expected, missing, extra, cons,
                               '; '.join(examples[key][:2])))
        print('  %-44s %5d %8d %6d %8d %6d %13d  %s' % (key, n, expected, found, missing,
                                                       extra, cons, status))
    not_made = [t for t in types if t[1] != 'made']
    print('  not instantiated (%d):' % len(not_made))
    for key, status, why in not_made:
        print('    %s: %s' % (key, why))
    for key in sorted(KNOWN_MISSES):
        if known(key, name) and key not in table:
            failures.append('%s is in KNOWN_MISSES for %s but has no instance there'
                            % (key, name))
    # More references counted than the object's count: gcscope counted a
    # reference twice or one that is not there (a healthy program has no
    # over-released object).
    print('  references counted beyond the refcount (deficit): %d objects'
          % sum(n for _, n, _, _ in deficits))
    for tname, n, over, which in deficits:
        failures.append('%s on %s: %d objects with more referrers than their refcount'
                        ' (%d in all): %s' % (tname, name, n, over, which[:200]))
    assert len(table) >= 40, 'only %d types made on %s' % (len(table), name)
    assert not failures, '\n'.join(failures)
