"""gcscope's analyses (schema/002-analyses.sql), checked against the
interpreter's own truth.

For each interpreter in CONFIGS: build corpora/refbugs.c for it
(gcstest.build_refbugs), run corpora/leaky.py --refbugs, which plants three
refcount bugs and a finalized object in an unreachable cycle, take a core
with gcore, snapshot it with gcscope, then check one analysis per case
(the workload, core and snapshot are the run's, gcstest.corpus_core, shared
with the other tests that need them):

  cycles       the cycles table is exactly the strongly connected components
               (more than one member, or one that refers to itself) of the
               gc.get_referents() graph of the gc.get_objects() objects
  garbage      the 'gc.garbage' rows are exactly gc.garbage
  unreachable  the 'unreachable' rows are exactly what a full collection
               with DEBUG_SAVEALL finds, finalizer = 1 exactly for those with
               a finalizer not called yet (finalizers.tsv); and reach leaves
               them all out
  anomalies    each planted bug (anomalies.tsv) is reported with its kind,
               refcnt and referrers; every other row is explained by the
               truth (EXPLANATIONS: the references to the object the
               collector cannot see, its tracked referrers), and the rows
               the truth counts exactly are exactly those (the planted
               bugs, the leaked objects, the deficits)
  path         the reach chain of each paths.tsv object, followed through
               via to depth 0, is a chain of real edges with their labels,
               ends with the expected references (globals ['TRACEBACK'],
               tb_next..., tb_frame, frame_marker) and starts at a root
  reach        every object a collection would keep (gcstest.Truth.kept)
               has a reach row, but for the UNREACHED reasons; none it
               would free has one (but for words in C pointing at the
               permanent generation)
  roots        the main thread's frames (code, globals, function, locals),
               sys.modules, sys.__dict__, builtins.__dict__ and gc.garbage
               are roots of the right kind; reach depth 0 is exactly the
               roots

Case names are INTERPRETER-MODE-CHECK: 'pyenv-3.12.1-dwarf-cycles'.
GCSCOPE_VERBOSE=1 prints every example, GCSCOPE_KEEP=1 keeps the run's
directory (truth, core, database; gcstest.run_dir).
"""

import collections
import dataclasses
import time
from pathlib import Path

import pytest

import gcstest


@dataclasses.dataclass(frozen=True)
class Mode:
    """How one interpreter is run and snapshot (as in test_snapshot)."""

    name: str
    strip: str             # '' or a gcstest.STRIP_MODES entry
    args: tuple            # extra gcscope snapshot options
    layout_source: str     # what meta.layout_source must say


DWARF = Mode('dwarf', '', (), 'dwarf')
BUILTIN_STRIP_ALL = Mode('builtin-strip-all', 'strip-all', (), 'builtin')

CONFIGS = (
    [(spec.name, DWARF) for spec in gcstest.INTERPRETERS]
    + [('pyenv-3.12.1', BUILTIN_STRIP_ALL)]
)

SCRIPT = gcstest.CORPORA / 'leaky.py'
EXAMPLES = 10           # examples per kind of miss, unless GCSCOPE_VERBOSE=1
REFERENCE_KINDS = ('traverse', 'strong')   # what anomalies.referrers and reach count


def examples():
    return 10 ** 9 if gcstest.verbose() else EXAMPLES


# ---------------------------------------------------------------------------
# One workload and snapshot per interpreter, shared by its cases.

@dataclasses.dataclass
class Prepared:
    """What an interpreter's cases check."""

    interpreter: object
    mode: Mode
    work: Path
    truth: object          # gcstest.Truth
    snap: object           # gcstest.Snapshot
    analyses: object       # gcstest.Analyses
    name: object           # gcstest.Namer


_PREPARED = {}             # (interpreter name, mode name) -> Prepared; the latest only


def prepared(name, mode):
    """The Prepared for the interpreter called name in mode, read once per
    process from the run's shared core and snapshot."""
    key = (name, mode.name)
    if key not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[key] = prepare(name, mode)
    return _PREPARED[key]


def prepare(name, mode):
    """The run's core of leaky.py --refbugs and its snapshot, read."""
    corpus = gcstest.corpus_core(name + ('-' + mode.strip if mode.strip else ''),
                                 refbugs=True)
    db, elapsed = gcstest.corpus_snapshot(corpus, mode.args)
    started = time.monotonic()
    truth = corpus.truth()
    check_planted_in_core(truth, corpus.core)
    snap = gcstest.Snapshot(db)
    source = snap.meta.get('layout_source')
    print('  %s (%s): snapshot %.1f s, %d objects, %d edges; layout %s'
          % (snap.meta.get('python_version', '?'), mode.name, elapsed, len(snap.objects),
             sum(map(len, snap.edges.values())), source))
    if source != mode.layout_source:
        raise AssertionError('meta.layout_source %r, expected %r' % (source, mode.layout_source))
    for needed in ('finalizers.tsv', 'anomalies.tsv', 'paths.tsv', 'roots.tsv'):
        if not truth.has(needed):
            raise AssertionError('the corpus wrote no %s (corpora/leaky.py too old?)' % needed)
    if not truth.anomalies:
        raise AssertionError('anomalies.tsv is empty: leaky.py did not plant the refbugs')
    analyses = gcstest.Analyses(db)
    print('  analyses: %s (read in %.1f s)' % (analyses.counts(), time.monotonic() - started))
    return Prepared(corpus.interpreter, mode, corpus.dir, truth, snap, analyses,
                    gcstest.Namer(truth, snap))


def check_planted_in_core(truth, core_path):
    """The planted objects' ob_refcnt in the core is what anomalies.tsv says
    (else the corpus, not gcscope, is wrong)."""
    offset = int(truth.meta.get('refcnt_offset', '0'))
    wrong = []
    with gcstest.CoreFile(core_path) as core:
        for t in truth.anomalies:
            refcnt = core.ssize(t.addr + offset)
            if refcnt != t.refcnt:
                wrong.append('%s %#x: ob_refcnt %s in the core, %d in anomalies.tsv'
                             % (t.name, t.addr, refcnt, t.refcnt))
    if wrong:
        raise AssertionError('the corpus truth is wrong: ' + '; '.join(wrong))


# ---------------------------------------------------------------------------
# Helpers

def type_counts(addrs, name, limit=12):
    """'dict 4, Orphan 2': how many of addrs per type, most first."""
    counts = collections.Counter(name.type_of(a) for a in addrs)
    text = ', '.join('%s %d' % (t, n) for t, n in counts.most_common(limit))
    if len(counts) > limit:
        text += ', ... (%d types)' % len(counts)
    return text or '-'


def print_misses(misses_list):
    for misses in misses_list:
        for line in misses.lines(examples()):
            print(line)


def referrers_in_db(p, addr):
    """References to addr the snapshot has: (edges by kind, root rows)."""
    kinds = collections.Counter()
    for src, edges in p.snap.edges.items():
        for e in edges:
            if e.dst == addr:
                kinds[e.kind] += 1
    return kinds, p.analyses.roots.get(addr, [])


def check_set(what, want, have, p):
    """Compare two sets of addresses; print and return the failure texts."""
    name = p.name
    missing = gcstest.Misses('%s missing from the snapshot' % what)
    extra = gcstest.Misses('%s in the snapshot, not in the truth' % what)
    for a in sorted(want - have):
        missing.add(name.type_of(a), name(a))
    for a in sorted(have - want):
        extra.add(name.type_of(a), name(a) + ('' if a in p.truth.objects
                                              else ' (not a gc.get_objects() object)'))
    print('  %s: truth %d [%s], snapshot %d, both %d'
          % (what, len(want), type_counts(want, name), len(have), len(want & have)))
    print_misses([missing, extra])
    failures = []
    if missing:
        failures.append('%d %s missing' % (len(missing), what))
    if extra:
        failures.append('%d %s extra' % (len(extra), what))
    return failures


def garbage_rows(p, reason):
    """The garbage rows with reason: {addr: finalizer}; duplicates as failures."""
    rows, duplicates = {}, []
    for addr, r, finalizer in p.analyses.garbage:
        if r != reason:
            continue
        if addr in rows:
            duplicates.append(addr)
        rows[addr] = finalizer
    return rows, duplicates


def check_finalizers(p, rows, reason):
    """finalizer = 1 exactly for the rows whose finalizer is pending."""
    name = p.name
    wrong = gcstest.Misses('%s rows with a wrong finalizer' % reason)
    for addr, finalizer in sorted(rows.items()):
        if addr not in p.truth.objects:
            continue
        want = 1 if addr in p.truth.finalizers else 0
        if finalizer != want:
            why = ('its finalizer has not run' if want else
                   'already finalized' if has_finalizer(p, addr) else
                   'its type has no finalizer')
            wrong.add(name.type_of(addr), '%s: finalizer %s, expected %d (%s)'
                      % (name(addr), finalizer, want, why))
    pending = [a for a in rows if a in p.truth.finalizers]
    print('  %s finalizers: %d pending [%s], %d with finalizer = 1 in the snapshot'
          % (reason, len(pending), type_counts(pending, name),
             sum(1 for f in rows.values() if f == 1)))
    print_misses([wrong])
    return ['%d %s rows with a wrong finalizer' % (len(wrong), reason)] if wrong else []


def has_finalizer(p, addr):
    """True if the snapshot says the object's type has a finalizer."""
    obj = p.snap.objects.get(addr)
    return obj is not None and p.analyses.type_finalizer.get(obj.type_addr) == 1


# ---------------------------------------------------------------------------
# cycles

def strongly_connected(nodes, succ):
    """Tarjan's strongly connected components, iteratively: a list of lists."""
    index, low = {}, {}
    stack, on_stack, components = [], set(), []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ.get(root, ())))]
        while work:
            v, successors = work[-1]
            descended = False
            for w in successors:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ.get(w, ()))))
                    descended = True
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            if descended:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                components.append(component)
    return components


def truth_cycles(truth):
    """The cycles of the truth's referents graph, as frozensets."""
    nodes = list(truth.objects)
    succ = {a: [r for r in refs if r in truth.objects] for a, refs in truth.referents.items()}
    return {frozenset(c) for c in strongly_connected(nodes, succ)
            if len(c) > 1 or c[0] in succ.get(c[0], ())}


def cycle_group(members, name):
    """How Misses group a cycle: its most common type, and how many others."""
    counts = collections.Counter(name.type_of(a) for a in members).most_common()
    return counts[0][0] + (' +%d types' % (len(counts) - 1) if len(counts) > 1 else '')


def describe_members(members, name, limit=3):
    """'4 members [dict 4]: 0x.. dict, ...'."""
    shown = ', '.join(name(a) for a in sorted(members)[:limit])
    return '%d members [%s]: %s%s' % (len(members), type_counts(members, name, 4), shown,
                                      ', ...' if len(members) > limit else '')


def cycle_edge_misses(p, truth_only, snapshot_only):
    """Why cycles differ, edge by edge: Misses for the references inside
    truth cycles that the snapshot lacks as traverse edges (grouped by
    'src type -[what the snapshot has]-> dst type'), and for the traverse
    edges inside snapshot cycles that are not among the truth's referents."""
    name, truth = p.name, p.truth
    lacking = gcstest.Misses('references inside truth cycles the snapshot lacks as traverse edges')
    for c in truth_only:
        for src in c:
            want = collections.Counter(r for r in truth.referents.get(src, ()) if r in c)
            have = collections.Counter(e.dst for e in p.snap.edges.get(src, ())
                                       if e.kind == 'traverse')
            for dst in want - have:
                others = sorted({'%s %s' % (e.kind, e.label) for e in p.snap.edges.get(src, ())
                                 if e.dst == dst})
                what = ', '.join(others) or 'no edge'
                kinds = ','.join(sorted({o.split(' ')[0] for o in others})) or 'no edge'
                lacking.add('%s -[%s]-> %s' % (name.type_of(src), kinds, name.type_of(dst)),
                            '%s -> %s: snapshot has %s' % (name(src), name(dst), what))
    unfounded = gcstest.Misses('traverse edges inside snapshot cycles the truth lacks')
    for c in snapshot_only:
        for src in c:
            want = collections.Counter(truth.referents.get(src, ()))
            for e in p.snap.edges.get(src, ()):
                if e.kind != 'traverse' or e.dst not in c:
                    continue
                if want[e.dst] > 0:
                    want[e.dst] -= 1
                    continue
                unfounded.add('%s -%s-> %s' % (name.type_of(src), e.label, name.type_of(e.dst)),
                              '%s -%s-> %s%s' % (name(src), e.label, name(e.dst),
                                                 '' if src in truth.objects
                                                 else ' (source not a gc object)'))
    return [lacking, unfounded]


def check_cycles(p):
    name = p.name
    want = truth_cycles(p.truth)
    db_cycles = p.analyses.cycles
    have = {frozenset(m) for m in db_cycles.values()}
    failures = []
    # The table itself: ids 1..N, largest first, each object in one cycle.
    ids = sorted(db_cycles)
    if ids != list(range(1, len(ids) + 1)):
        failures.append('cycle_id is not 1..%d (%s...)' % (len(ids), ids[:5]))
    sizes = [len(db_cycles[i]) for i in ids]
    if sizes != sorted(sizes, reverse=True):
        k = next(k for k in range(1, len(sizes)) if sizes[k] > sizes[k - 1])
        failures.append('cycles are not numbered largest first: cycle %d has %d members,'
                        ' cycle %d %d' % (ids[k - 1], sizes[k - 1], ids[k], sizes[k]))
    rows = collections.Counter(a for _, a in p.analyses.cycle_rows)
    twice = [a for a, n in rows.items() if n > 1]
    if twice:
        failures.append('%d objects are in more than one cycle row, e.g. %s'
                        % (len(twice), name(twice[0])))
    member_of = {a: i for i, members in db_cycles.items() for a in members}
    truth_member_of = {a: c for c in want for a in c}
    missing = gcstest.Misses('truth cycles not in the snapshot')
    extra = gcstest.Misses('snapshot cycles not in the truth')
    for c in sorted(want - have, key=lambda c: (-len(c), min(c))):
        where = collections.Counter(member_of.get(a) for a in c)
        text = ', '.join('cycle %d: %d of its %d' % (i, n, len(db_cycles[i]))
                         for i, n in sorted(where.items(), key=lambda x: -x[1]) if i is not None)
        if where.get(None):
            text += (', ' if text else '') + '%d in no cycle' % where[None]
        missing.add(cycle_group(c, name), '%s; snapshot: %s' % (describe_members(c, name), text))
    for c in sorted(have - want, key=lambda c: (-len(c), min(c))):
        cycle_id = member_of[min(c)]
        where = collections.Counter(truth_member_of.get(a) for a in c)
        parts = ['truth cycle of %d: %d' % (len(t), n) for t, n in where.items() if t is not None]
        if where.get(None):
            outside = [a for a in c if a not in truth_member_of]
            parts.append('%d in no truth cycle [%s]'
                         % (len(outside), type_counts(outside, name, 4)))
        extra.add(cycle_group(c, name), 'cycle %d, %s; truth: %s'
                  % (cycle_id, describe_members(c, name), ', '.join(parts)))
    in_want = sum(map(len, want))
    in_have = sum(map(len, have))
    print('  cycles: truth %d (%d objects, largest %d), snapshot %d (%d objects, largest %d),'
          ' equal %d' % (len(want), in_want, max(map(len, want), default=0), len(have), in_have,
                         max(map(len, have), default=0), len(want & have)))
    by_type_want = collections.Counter(name.type_of(a) for c in want for a in c)
    by_type_have = collections.Counter(name.type_of(a) for c in have for a in c)
    differ = sorted(set(by_type_want) | set(by_type_have),
                    key=lambda t: -abs(by_type_want[t] - by_type_have[t]))
    differ = [t for t in differ if by_type_want[t] != by_type_have[t]]
    if differ:
        print('  members per type, truth/snapshot where they differ: %s'
              % ', '.join('%s %d/%d' % (t, by_type_want[t], by_type_have[t])
                          for t in differ[:12]))
    print_misses([missing, extra])
    print_misses(cycle_edge_misses(p, want - have, have - want))
    if missing:
        failures.append('%d truth cycles missing or different' % len(missing))
    if extra:
        failures.append('%d snapshot cycles not in the truth' % len(extra))
    return failures


# ---------------------------------------------------------------------------
# garbage, unreachable

def check_gc_garbage(p):
    rows, duplicates = garbage_rows(p, 'gc.garbage')
    failures = check_set("gc.garbage objects", set(p.truth.garbage), set(rows), p)
    if len(set(p.truth.garbage)) != len(p.truth.garbage):
        print('  (gc.garbage holds %d objects more than once)'
              % (len(p.truth.garbage) - len(set(p.truth.garbage))))
    if duplicates:
        failures.append('%d objects have more than one gc.garbage row, e.g. %s'
                        % (len(duplicates), p.name(duplicates[0])))
    failures += check_finalizers(p, rows, 'gc.garbage')
    return failures


def check_unreachable(p):
    truth, name = p.truth, p.name
    want = set(truth.unreachable)
    # The corpus must have given the finalizer column something to tell
    # apart: a pending __del__ and a finalized object with __del__.
    problems = []
    if not any(a in truth.finalizers for a in want):
        problems.append('no unreachable object has a pending finalizer')
    if not any(truth.type_name(a) == '__main__.Phoenix' and a not in truth.finalizers
               for a in want):
        problems.append('the finalized Phoenix is not among the unreachable objects')
    if problems:
        raise AssertionError('the corpus is not as designed: ' + '; '.join(problems))
    rows, duplicates = garbage_rows(p, 'unreachable')
    failures = check_set('unreachable objects', want, set(rows), p)
    if duplicates:
        failures.append('%d objects have more than one unreachable row, e.g. %s'
                        % (len(duplicates), name(duplicates[0])))
    both = set(rows) & {a for a, r, _ in p.analyses.garbage if r == 'gc.garbage'}
    if both:
        failures.append('%d objects are both gc.garbage and unreachable, e.g. %s'
                        % (len(both), name(min(both))))
    failures += check_finalizers(p, rows, 'unreachable')
    reached = sorted(a for a in want if a in p.analyses.reach)
    if reached:
        misses = gcstest.Misses('unreachable objects with a reach row')
        for a in reached:
            r = p.analyses.reach[a]
            misses.add(name.type_of(a), '%s: depth %d via %s %r'
                       % (name(a), r.depth, name(r.via) if r.via is not None else '-', r.label))
        print_misses([misses])
        failures.append('%d unreachable objects have a reach row' % len(reached))
    return failures


# ---------------------------------------------------------------------------
# anomalies

def check_anomalies(p):
    truth, name, rows = p.truth, p.name, p.analyses.anomalies
    failures = []
    planted = {t.addr for t in truth.anomalies}
    print('  planted: %s' % '; '.join('%s %#x %s: %s refcnt %d referrers %d'
                                     % (t.name, t.addr, t.type, t.kind, t.refcnt, t.referrers)
                                     for t in truth.anomalies))
    for t in truth.anomalies:
        row = rows.get(t.addr)
        want = (t.kind, t.refcnt, t.referrers)
        have = (row.kind, row.refcnt, row.referrers) if row else None
        if have == want:
            print('    found %s: %s refcnt %d referrers %d%s'
                  % (t.name, row.kind, row.refcnt, row.referrers,
                     ' (%s)' % row.detail if row.detail else ''))
            continue
        obj = p.snap.objects.get(t.addr)
        kinds, roots = referrers_in_db(p, t.addr)
        found = ', '.join('%s %d' % kv for kv in sorted(kinds.items())) or 'none'
        text = ('%s (%s): expected %s refcnt %d referrers %d; snapshot %s; object refcnt %s,'
                ' edges to it: %s, root rows %s'
                % (t.name, name(t.addr), t.kind, t.refcnt, t.referrers,
                   'has no anomaly row' if row is None else
                   'says %s refcnt %d referrers %d%s' % (row.kind, row.refcnt, row.referrers,
                                                         ' (%s)' % row.detail if row.detail
                                                         else ''),
                   obj.refcnt if obj else '(not in objects)', found,
                   '%d%s' % (len(roots), ' (%s)' % '; '.join(
                       '%s %s' % (r.kind, r.label) for r in roots[:3]) if roots else '')))
        print('    FAILED ' + text)
        failures.append('planted %s %s' % (t.name, 'missing' if row is None else 'wrong'))
    # The rows must be what their kind says (schema/002-analyses.sql).
    inconsistent = gcstest.Misses('anomaly rows inconsistent with their kind or objects.refcnt')
    for addr, a in sorted(rows.items()):
        obj = p.snap.objects.get(addr)
        why = []
        if obj is None:
            why.append('not in objects')
        elif obj.refcnt != a.refcnt:
            why.append('objects.refcnt is %s' % obj.refcnt)
        if a.kind == 'deficit' and not a.refcnt < a.referrers:
            why.append('deficit with refcnt >= referrers')
        if a.kind == 'excess' and not a.refcnt > a.referrers:
            why.append('excess with refcnt <= referrers')
        if a.kind == 'unreferenced' and not (a.referrers == 0 and a.refcnt > 0):
            why.append('unreferenced with referrers %d, refcnt %d' % (a.referrers, a.refcnt))
        if why:
            inconsistent.add(a.kind, '%s: %s refcnt %d referrers %d: %s'
                             % (name(addr), a.kind, a.refcnt, a.referrers, '; '.join(why)))
    print_misses([inconsistent])
    if inconsistent:
        failures.append('%d anomaly rows inconsistent' % len(inconsistent))
    failures += check_anomalies_explained(p)
    return failures


# Why an anomaly row is right, from the truth (see explain_anomaly).
EXPLANATIONS = {
    'planted': 'a refcount bug refbugs planted (anomalies.tsv), as planted',
    'leaked': 'a float or str refbugs leaked (leaked.tsv): unreferenced, refcnt 1',
    'excess held outside': "excess on a tracked object: the truth's references it cannot"
                           ' see (ob_refcnt minus the gc.get_referents() of the tracked'
                           ' objects) are at least the excess',
    'unreferenced': 'unreferenced tracked object: no tracked object refers to it',
    'deficit': "deficit on a tracked object: its ob_refcnt is below the tracked objects'"
               ' references to it',
    'untracked excess': 'excess on an untracked object (the truth has no count of all its'
                        ' holders): every reference to it from a tracked object is among'
                        ' the referrers counted',
    'untracked unreferenced': 'unreferenced untracked object: no tracked object refers to it',
    'arena referrer': 'deficit the truth does not show: the references counted beyond the'
                      " tracked objects' are from objects found only in the arenas (a block"
                      ' the census found, whose reference the count does not include)',
}


def explain_anomaly(p, addr, a, hidden, seen, arena_refs):
    """The EXPLANATIONS key that makes the anomaly row a of addr right, or None."""
    truth = p.truth
    planted = {t.addr: t for t in truth.anomalies}
    if addr in planted:
        t = planted[addr]
        return 'planted' if (a.kind, a.refcnt, a.referrers) == (t.kind, t.refcnt,
                                                               t.referrers) else None
    if addr in {t.addr for t in truth.leaked}:
        return 'leaked' if (a.kind, a.refcnt, a.referrers) == ('unreferenced', 1, 0) else None
    if addr in truth.objects:
        if a.kind == 'excess' and hidden[addr] >= a.refcnt - a.referrers > 0:
            return 'excess held outside'
        if a.kind == 'unreferenced' and seen[addr] == 0:
            return 'unreferenced'
        if a.kind == 'deficit' and hidden[addr] < 0:
            return 'deficit'
        if a.kind == 'deficit' and 0 < a.referrers - seen[addr] <= arena_refs[addr]:
            return 'arena referrer'
        return None
    obj = p.snap.objects.get(addr)
    if obj is None or obj.gc_tracked:
        return None
    if a.kind == 'excess' and a.referrers >= seen[addr]:
        return 'untracked excess'
    if a.kind == 'unreferenced' and seen[addr] == 0:
        return 'untracked unreferenced'
    return None


def check_anomalies_explained(p):
    """Every anomaly row is explained by the truth (EXPLANATIONS), and the
    rows of each kind the truth counts exactly are exactly those: the
    planted bugs, the leaked objects, and every tracked object whose count
    is below its tracked referrers is a deficit."""
    truth, name = p.truth, p.name
    hidden, seen = truth.hidden(), truth.seen()
    arena_refs = collections.Counter()
    for src, edges in p.snap.edges.items():
        obj = p.snap.objects.get(src)
        if obj is not None and obj.found == 'arena':
            for e in edges:
                if e.kind in REFERENCE_KINDS:
                    arena_refs[e.dst] += 1
    why = {}
    unexplained = gcstest.Misses('anomaly rows the truth does not explain')
    for addr, a in sorted(p.analyses.anomalies.items()):
        reason = explain_anomaly(p, addr, a, hidden, seen, arena_refs)
        if reason is None:
            unexplained.add('%s %s' % (a.kind, name.type_of(addr)),
                            '%s: %s refcnt %d referrers %d; truth: %s' % (
                                name(addr), a.kind, a.refcnt, a.referrers,
                                'tracked, %d references from tracked objects, %+d it cannot'
                                ' see' % (seen[addr], hidden[addr]) if addr in truth.objects
                                else 'not tracked, %d references from tracked objects'
                                % seen[addr]))
        else:
            why[addr] = reason
    per_reason = collections.Counter(why.values())
    print('  anomaly rows explained by the truth: %s'
          % (', '.join('%s %d' % kv for kv in sorted(per_reason.items())) or 'none'))
    for reason in sorted(per_reason):
        print('    %-22s %s' % (reason, EXPLANATIONS[reason]))
    print_misses([unexplained])
    failures = []
    if unexplained:
        failures.append('%d anomaly rows the truth does not explain' % len(unexplained))
    # Kinds the truth counts exactly.
    below = {a for a, h in hidden.items() if h < 0 and not truth.objects[a].immortal}
    deficits = {a for a, r in p.analyses.anomalies.items()
                if r.kind == 'deficit' and why.get(a) in ('deficit', 'planted')}
    for reason, have, want in (
            ('planted', per_reason['planted'], len(truth.anomalies)),
            ('leaked', per_reason['leaked'], len(truth.leaked)),
            ('deficit (tracked objects counted below their tracked referrers)',
             len(deficits), len(below))):
        print('  %s: %d rows, the truth %d' % (reason, have, want))
        if have != want:
            failures.append('%s: %d rows, the truth has %d' % (reason, have, want))
    if below - deficits:
        failures.append('%d tracked objects counted below their referrers are no deficit,'
                        ' e.g. %s' % (len(below - deficits), name(min(below - deficits))))
    return failures


# ---------------------------------------------------------------------------
# path

def has_edge(p, src, dst, label):
    """True if the snapshot has a traverse or strong edge src -label-> dst."""
    return any(e.dst == dst and e.label == label and e.kind in REFERENCE_KINDS
               for e in p.snap.edges.get(src, ()))


def follow_reach(p, addr):
    """The reach chain of addr: ([(addr, depth, label)] from addr to depth 0,
    problems)."""
    reach, chain, problems, seen = p.analyses.reach, [], [], set()
    at = addr
    while True:
        r = reach.get(at)
        if r is None:
            problems.append('%s has no reach row' % p.name(at))
            break
        chain.append((at, r.depth, r.label))
        if at in seen:
            problems.append('the chain loops at %s' % p.name(at))
            break
        seen.add(at)
        if r.depth == 0:
            if r.via is not None:
                problems.append('depth 0 with via %#x' % r.via)
            break
        if r.via is None:
            problems.append('%s: depth %d without via' % (p.name(at), r.depth))
            break
        up = reach.get(r.via)
        if up is not None and up.depth != r.depth - 1:
            problems.append('%s at depth %d has via %s at depth %d'
                            % (p.name(at), r.depth, p.name(r.via), up.depth))
        if not has_edge(p, r.via, at, r.label):
            labels = [e.label for e in p.snap.edges.get(r.via, ()) if e.dst == at]
            problems.append('no edge %s -%s-> %s (edges between them: %s)'
                            % (p.name(r.via), r.label, p.name(at), labels or 'none'))
        at = r.via
    return chain, problems


def show_chain(p, chain):
    """Lines for a chain from the root down."""
    return ['      depth %d  %-24s %s' % (depth, gcstest.shorten(label, 24), p.name(addr))
            for addr, depth, label in reversed(chain)]


def check_paths(p):
    truth, name = p.truth, p.name
    failures = []
    if not truth.paths:
        raise AssertionError('paths.tsv has no path')
    for path in truth.paths:
        chain, problems = follow_reach(p, path.addr)
        down = list(reversed(chain))            # root first
        want = [(None, path.start)] + path.hops
        if chain and chain[-1][1] == 0:
            root = chain[-1][0]
            labels = [r.label for r in p.analyses.roots.get(root, [])]
            if not labels:
                problems.append('the chain starts at %s, which is not a root' % name(root))
            elif chain[-1][2] not in labels:
                problems.append('reach label %r at depth 0 is none of the root labels %s'
                                % (chain[-1][2], labels))
        if len(down) < len(want):
            problems.append('the chain has %d objects, the expected ending %d'
                            % (len(down), len(want)))
        else:
            ending = down[len(down) - len(want):]
            if ending[0][0] != path.start:
                problems.append('the chain does not pass through %s where expected (found %s)'
                                % (name(path.start), name(ending[0][0])))
            for (label, addr), (got, _, got_label) in zip(path.hops, ending[1:]):
                if (label, addr) != (got_label, got):
                    problems.append('expected -%s-> %s, chain has -%s-> %s'
                                    % (label, name(addr), got_label, name(got)))
                    break
        print('  %s: %s' % (path.name, 'depth %d: %s' % (chain[0][1], ' | '.join(
            str(label) for _, _, label in down)) if chain else 'no reach row'))
        print('    expected to end: %s' % ' | '.join(label for label, _ in path.hops))
        if problems or gcstest.verbose():
            for line in problems:
                print('    ' + line)
            for line in show_chain(p, chain):
                print(line)
            if problems:
                print('    expected, from %s:' % name(path.start))
                for label, addr in path.hops:
                    print('      -%s-> %s' % (label, name(addr)))
        if problems:
            failures.append('%s: %s' % (path.name, problems[0]))
    # Cross-checks of reach with the truth.
    unreached = gcstest.Misses('gc.garbage objects without a reach row')
    for a in sorted(set(truth.garbage)):
        if a not in p.analyses.reach:
            unreached.add(name.type_of(a), name(a))
    print_misses([unreached])
    if unreached:
        failures.append('%d gc.garbage objects not reached' % len(unreached))
    return failures


# ---------------------------------------------------------------------------
# reach

# Why an object the collector would keep may have no reach row
# (see check_reach); each applies to the objects it names and to what
# they alone hold in the truth's graph.
UNREACHED = {
    'planted': 'a planted refcount bug (anomalies.tsv): the orphan list nothing refers to',
    'untracked holder': 'held only by objects the collector does not track (code objects,'
                        ' untracked tuples) that are themselves unreached: garbage the'
                        ' collector cannot see, holding references it counts as external',
    'C only': "held from C memory alone: the truth's references it cannot see, no reached"
              ' referrer and no roots row in the snapshot (module state of extension'
              " modules, the compiler's and the type caches' own references)",
    'held by those': 'referred to, in the truth, only through objects unreached for one of'
                     ' the reasons above',
}


def check_reach(p):
    """reach against what the collector would keep (Truth.kept): every
    object it would free (outside the permanent generation: the
    unreachable ones) has no reach row, and one of the permanent
    generation only through words found in C structs; every object it
    would keep has a reach row, but for the UNREACHED reasons."""
    truth, name, reach = p.truth, p.name, p.analyses.reach
    hidden = truth.hidden()
    kept = truth.kept()
    freed = set(truth.objects) - kept
    frozen = {a for a, t in truth.objects.items() if t.generation == 3}
    if freed - frozen != set(truth.unreachable):
        raise AssertionError('the truth disagrees with itself: %d objects a collection would'
                             ' free outside the permanent generation, %d in unreachable.tsv'
                             % (len(freed - frozen), len(truth.unreachable)))
    failures = []
    wrongly = gcstest.Misses('objects the collector would free with a reach row')
    for a in sorted(freed & set(reach)):
        at, steps = a, 0
        while reach[at].depth and reach[at].via in reach and steps < len(reach):
            at, steps = reach[at].via, steps + 1
        rows = p.analyses.roots.get(at, [])
        if a in frozen and rows and all(r.conservative for r in rows):
            continue        # gc.freeze()d garbage a stale word in C still points at
        wrongly.add(name.type_of(a), '%s: depth %d from %s' % (name(a), reach[a].depth,
                                                              name(at)))
    holders = collections.defaultdict(list)
    for src, edges in p.snap.edges.items():
        for e in edges:
            if e.kind in REFERENCE_KINDS or e.kind == 'conservative':
                holders[e.dst].append(src)
    unreached = kept - set(reach)
    why = {}
    planted = {t.addr for t in truth.anomalies}
    for a in sorted(unreached):
        if a in planted:
            why[a] = 'planted'
        elif hidden[a] > 0:
            outside = [s for s in holders.get(a, ()) if s not in truth.objects]
            if len(outside) >= hidden[a] and not any(s in reach for s in outside):
                why[a] = 'untracked holder'
            elif not any(s in reach for s in holders.get(a, ())) and \
                    a not in p.analyses.roots:
                why[a] = 'C only'
    stack = list(why)
    while stack:
        for r in truth.referents.get(stack.pop(), ()):
            if r in unreached and r not in why:
                why[r] = 'held by those'
                stack.append(r)
    missing = gcstest.Misses('objects the collector would keep without a reach row')
    for a in sorted(unreached - set(why)):
        rows = p.analyses.roots.get(a, [])
        missing.add(name.type_of(a), '%s: %d references the collector cannot see; %s'
                    % (name(a), hidden[a], 'roots %s' % '; '.join(
                        '%s %s%s' % (r.kind, r.label, ' (conservative)' if r.conservative
                                     else '') for r in rows[:2]) if rows else
                       'held by %s' % ', '.join(name(s) for s in holders.get(a, ())[:2])
                       or 'no holder found'))
    per_reason = collections.Counter(why.values())
    print('  reach: %d of %d truth objects reached; a collection would keep %d, free %d'
          ' (%d of them in the permanent generation)'
          % (sum(1 for a in truth.objects if a in reach), len(truth.objects), len(kept),
             len(freed), len(freed & frozen)))
    print('  kept without a reach row: %d, explained: %s'
          % (len(unreached), ', '.join('%s %d' % kv for kv in sorted(per_reason.items()))
             or 'none'))
    for reason in sorted(per_reason):
        print('    %-16s %s' % (reason, UNREACHED[reason]))
    print_misses([missing, wrongly])
    if missing:
        failures.append('%d objects the collector would keep have no reach row' % len(missing))
    if wrongly:
        failures.append('%d objects the collector would free have a reach row' % len(wrongly))
    return failures


# ---------------------------------------------------------------------------
# roots

def frame_objects_are_roots(p):
    """True before 3.11, where running frames are frame objects."""
    major, minor = (int(x) for x in p.truth.meta['python_version'].split('.')[:2])
    return (major, minor) < (3, 11)


FRAME_FIELDS = {'code': 'f_code', 'globals': 'f_globals', 'function': None}


def frame_object_holds(p, t):
    """A frame root whose label names t's function refers to t.addr by the
    field or local name t stands for."""
    if t.what.startswith('local '):
        label = t.what.split(' ', 1)[1]
    else:
        label = FRAME_FIELDS.get(t.what)
    if label is None:
        return False
    for addr, rows in p.analyses.roots.items():
        if any(r.kind == 'frame' and (' %s ' % t.holder) in r.label + ' ' for r in rows):
            if has_edge(p, addr, t.addr, label):
                return True
    return False


def check_roots(p):
    truth, name, roots = p.truth, p.name, p.analyses.roots
    failures = []
    per_kind = collections.Counter(r.kind for rows in roots.values() for r in rows)
    print('  roots: %d rows on %d objects (%s)'
          % (sum(per_kind.values()), len(roots),
             ', '.join('%s %d' % kv for kv in sorted(per_kind.items()))))
    if not truth.roots:
        raise AssertionError('roots.tsv has no root')
    missing = gcstest.Misses('expected roots missing or wrong')
    for t in truth.roots:
        rows = roots.get(t.addr, [])
        of_kind = [r for r in rows if r.kind == t.kind]
        what = '%s %s' % (t.holder, t.what)
        if not of_kind and t.kind == 'frame' and frame_objects_are_roots(p):
            # Before 3.11 a running frame is a frame object: it is the root,
            # and what it holds are its references.
            if frame_object_holds(p, t):
                continue
        if not of_kind:
            missing.add(t.kind, '%s (%s): %s' % (what, name(t.addr), 'not a root' if not rows else
                                                'roots of kind %s only: %s' % (
                                                    ', '.join(sorted({r.kind for r in rows})),
                                                    '; '.join(r.label for r in rows[:3]))))
            continue
        # A frame's roots name its function, and a local's its name; the
        # globals are shared by every frame of the module (and borrowed from
        # the function from 3.11 on): any frame may be the one reported.
        if t.kind == 'frame' and t.what != 'globals':
            words = [t.holder] + ([t.what.split(' ', 1)[1]] if t.what.startswith('local ')
                                  else [])
            if not any(all(w in r.label for w in words) for r in of_kind):
                missing.add(t.kind, '%s (%s): no label names %s: %s'
                            % (what, name(t.addr), ' and '.join(map(repr, words)),
                               '; '.join(r.label for r in of_kind[:3])))
                continue
        if gcstest.verbose():
            print('    %s %s: %s' % (t.kind, what, of_kind[0].label))
    print('  expected roots: %d, found %d' % (len(truth.roots), len(truth.roots) - len(missing)))
    print_misses([missing])
    if missing:
        failures.append('%d expected roots missing or wrong' % len(missing))
    # Integrity: roots are objects; reach depth 0 is exactly the roots.
    absent = [a for a in roots if a not in p.snap.objects]
    if absent:
        failures.append('%d root objects are not in objects, e.g. %#x' % (len(absent), absent[0]))
    depth0 = {a for a, r in p.analyses.reach.items() if r.depth == 0}
    # Words found by scanning C structs start chains only where no named
    # root reaches: they need not be at depth 0.
    named = {a for a, rows in roots.items() if any(not r.conservative for r in rows)}
    not_reached = named - depth0
    not_roots = depth0 - set(roots)
    for what, addrs in (('roots without a reach row at depth 0', not_reached),
                        ('reach rows at depth 0 that are no root', not_roots)):
        if addrs:
            kinds = collections.Counter(r.kind for a in addrs for r in roots.get(a, ()))
            print('  %s: %d [%s] (root kinds: %s), e.g. %s'
                  % (what, len(addrs), type_counts(addrs, name, 6),
                     ', '.join('%s %d' % kv for kv in sorted(kinds.items())) or '-',
                     '; '.join('%s %s' % (name(a),
                                          [(r.kind, r.label) for r in roots.get(a, ())][:2])
                               for a in sorted(addrs)[:3])))
            failures.append('%d %s' % (len(addrs), what))
    return failures


# ---------------------------------------------------------------------------

CHECKS = [
    ('cycles', check_cycles),
    ('garbage', check_gc_garbage),
    ('unreachable', check_unreachable),
    ('anomalies', check_anomalies),
    ('path', check_paths),
    ('reach', check_reach),
    ('roots', check_roots),
]


@pytest.mark.weight(2)
@pytest.mark.parametrize('name, mode, check', [
    pytest.param(name, mode, check, id='%s-%s-%s' % (name, mode.name, check_name),
                 marks=pytest.mark.xdist_group('analyses-%s-%s' % (name, mode.name)))
    for name, mode in CONFIGS for check_name, check in CHECKS])
def test_analyses(name, mode, check):
    """One check of one interpreter's analyses: 'pyenv-3.12.1-dwarf-cycles'."""
    failures = check(prepared(name, mode))
    assert not failures, '; '.join(failures)
