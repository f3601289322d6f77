"""gcscope snapshot of a core, compared with the interpreter's own truth.

For each interpreter in CONFIGS: run corpora/leaky.py, take a core with
gcore once it is ready, snapshot the core with gcscope, and compare the
database with the truth the workload recorded (see gcstest.compare_snapshot
for the measures and their pass marks).
"""

import gcstest

# Interpreters to test, by gcstest.INTERPRETERS name.
CONFIGS = [
    'pyenv-3.6.15',
    'pyenv-3.7.16',
    'pyenv-3.8.18',
    'pyenv-3.9.18',
    'pyenv-3.10.13',
    'pyenv-3.11.7',
    'pyenv-3.12.1',
    'pyenv-3.13.0',
    'debian-3.11',
]

SCRIPT = gcstest.CORPORA / 'leaky.py'


# Labelled references every snapshot must have, as (anchor in labels.tsv,
# label, anchor the edge points at or None for any object). They are what a
# person reads: attribute names (managed dicts, inline values, __slots__),
# dict keys, list indexes, frame locals, and the named fields of functions,
# cells, tracebacks and weakrefs.
LABELS = [
    ('owner', 'finalized', 'finalized'),
    ('finalized', 'owner', 'owner'),
    ('self_ref', 'me', 'self_ref'),
    ('self_list', '[1]', 'self_list'),
    ('self_dict', "['self']", 'self_dict'),
    ('slots_instance', 'index', None),
    ('slots_instance', 'label', None),
    ('slots_instance', 'items', None),
    ('wide_instance', 'a02', None),
    ('wide_instance', 'a11', None),
    ('traceback', 'tb_frame', None),
    ('traceback', 'tb_next', None),
    ('traceback_innermost_frame', 'frame_marker', None),
    ('closure', '__closure__', None),
    ('closure', '__code__', None),
    ('closure_cell', 'cell_contents', None),
    ('generator', 'seen', None),
    ('generator', 'items', None),
    ('tree_root', 'children', None),
    ('weakref_with_callback', '__callback__', None),
    ('module_dict', "['OWNER']", 'owner'),
    ('module_dict', "['SELF_LIST']", 'self_list'),
]


def check_labels(truth, snap):
    """Every LABELS entry is an edge of the snapshot; return the misses."""
    misses = []
    for src_name, label, dst_name in LABELS:
        src = truth.labels[src_name]
        dst = truth.labels[dst_name] if dst_name else None
        edges = snap.edges.get(src, [])
        # An attribute is held by the object itself (values, slots) or,
        # once its __dict__ exists, by that dict under its name; before
        # 3.11 a generator's locals are held by its frame object.
        via_dict = [e for d in edges if d.label == '__dict__'
                    for e in snap.edges.get(d.dst, [])]
        via_frame = [e for d in edges if d.label == 'gi_frame'
                     for e in snap.edges.get(d.dst, [])]
        if not any(e.label == label and (dst is None or e.dst == dst)
                   for e in edges + via_frame) and \
           not any(e.label == "['%s']" % label and (dst is None or e.dst == dst)
                   for e in via_dict):
            have = ', '.join(sorted(set(str(e.label) for e in edges))[:12])
            misses.append('%s -%s-> %s missing; %s has [%s]'
                          % (src_name, label, dst_name or '*', src_name, have))
    return misses


def snapshot_and_compare(name):
    """Run the whole check for the interpreter called name."""
    interpreter = gcstest.find_interpreter(name)
    gcstest.require_gcscope()
    with gcstest.scratch_dir('snapshot-' + name) as work:
        db = work / 'snapshot.db'
        with gcstest.Workload(interpreter, SCRIPT, work) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
            elapsed = gcstest.snapshot_core(core, db)
        truth = gcstest.Truth(workload.truth_dir)
        snap = gcstest.Snapshot(db)
        result = gcstest.compare_snapshot(truth, snap)
        print('%s: %s' % (snap.label, result.summary()))
        print('  snapshot %.1f s: %d objects, %d edges, %s corrupt'
              % (elapsed, len(snap.objects), sum(map(len, snap.edges.values())),
                 snap.meta.get('corrupt', '?')))
        verbose = not result.ok or gcstest.verbose()
        for line in result.report() if verbose else result.report_facts():
            print(line)
        label_misses = check_labels(truth, snap)
        print('  labels: %d of %d labelled references found'
              % (len(LABELS) - len(label_misses), len(LABELS)))
        for line in label_misses:
            print('    ' + line)
        failures = result.failures() if not result.ok else []
        if label_misses:
            failures.append('%d labelled references missing' % len(label_misses))
        if failures:
            raise AssertionError('; '.join(failures))


def cases():
    """One case per interpreter configuration."""
    for name in CONFIGS:
        yield name, lambda name=name: snapshot_and_compare(name)
