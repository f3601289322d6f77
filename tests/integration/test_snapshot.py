"""gcscope snapshot of a core, compared with the interpreter's own truth.

For each interpreter in CONFIGS: run corpora/leaky.py, take a core with
gcore once it is ready, snapshot the core with gcscope, and compare the
database with the truth the workload recorded (see gcstest.compare_snapshot
for the measures and their pass marks).
"""

import gcstest

# Interpreters to test, by gcstest.INTERPRETERS name.  Add 'pyenv-3.6.15'
# ... 'pyenv-3.10.13' here once gcscope reads those versions.
CONFIGS = [
    'pyenv-3.11.7',
    'pyenv-3.12.1',
    'pyenv-3.13.0',
    'debian-3.11',
]

SCRIPT = gcstest.CORPORA / 'leaky.py'


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
        for line in result.report() if not result.ok else result.report_facts():
            print(line)
        if not result.ok:
            raise AssertionError('; '.join(result.failures()))


def cases():
    """One case per interpreter configuration."""
    for name in CONFIGS:
        yield name, lambda name=name: snapshot_and_compare(name)
