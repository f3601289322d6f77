"""make bench: how fast and how big, at three heap sizes.

For each size, corpora/synth.py builds a synthetic heap under one CPython
(pyenv 3.12.1 if present, else the first usable interpreter) and times the
in-process baseline (gc.get_objects() + gc.get_referents() of every
object, in a forked child). Then gcscope snapshots a gcore of the process
and, separately, the live process (--pid), and this prints per size: the
snapshot's wall time, objects/s and references/s, peak RSS, database size,
the time of each analysis (from meta), a path query, the pause of --pid,
and the ratio to the baseline. Ratios are the figures to quote: the
machine is shared and absolute times drift.

Usage: python3 tests/bench.py [ITERATIONS ...]   (default 10000 100000 1000000)
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gcstest  # noqa: E402

SIZES = [10000, 100000, 1000000]
PREFERENCE = ['pyenv-3.12.1', 'pyenv-3.13.0', 'pyenv-3.11.7', 'debian-3.11']
SYNTH = gcstest.CORPORA / 'synth.py'

# The first targets (issue "Fast at scale"), for the largest heap.
TARGET_SNAPSHOT_S = 8.0
TARGET_RATIO = 8.0
TARGET_ANALYSES_S = 3.0
TARGET_RSS_MB = 1536
TARGET_PAUSE_MS = 300


def pick_interpreter():
    for name in PREFERENCE:
        try:
            return gcstest.find_interpreter(name)
        except gcstest.Skip:
            continue
    sys.exit('bench: no usable interpreter (run make deps)')


def timed(cmd):
    """Run cmd; return (wall seconds, peak RSS in MB, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode('utf-8', 'replace')
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit('bench: %s failed (%d):\n%s' % (' '.join(map(str, cmd)), code, stderr))
    return wall, usage.ru_maxrss / 1024.0, stderr


def meta(db):
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        return dict(con.execute('SELECT key, value FROM meta'))
    finally:
        con.close()


def some_deep_object(db):
    """An object far from the roots, for the path query."""
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        row = con.execute('SELECT addr FROM reach ORDER BY depth DESC LIMIT 1').fetchone()
        return row[0] if row else None
    finally:
        con.close()


def run_size(interpreter, iterations, work):
    ready = work / ('ready-%d' % iterations)
    proc = subprocess.Popen([str(interpreter.executable), '-S', '-s', '-B', str(SYNTH),
                             str(ready), str(iterations)],
                            env=gcstest.workload_env(interpreter),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 600
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit('bench: synth.py %d failed: %s' % (iterations,
                                                            proc.stderr.read().decode()))
            time.sleep(0.1)
        base_s, base_objects, base_refs = open(str(ready) + '.baseline').read().split()
        core = gcstest.gcore(proc.pid, work / ('core-%d' % iterations))
        pid_db = work / ('pid-%d.db' % iterations)
        _, _, pid_err = timed([gcstest.GCSCOPE, 'snapshot', '--pid', proc.pid, '--db', pid_db])
    finally:
        proc.kill()
        proc.wait()
    db = work / ('core-%d.db' % iterations)
    wall, rss, _ = timed([gcstest.GCSCOPE, 'snapshot', '--quiet', '--core', core, '--db', db])
    m = meta(db)
    pid_meta = meta(pid_db)
    addr = some_deep_object(db)
    path_s = timed([gcstest.GCSCOPE, 'path', db, hex(addr)])[0] if addr else float('nan')
    analyses = sum(int(m.get(k, 0)) for k in ('time_cycles_ms', 'time_reach_ms',
                                             'time_garbage_ms', 'time_anomalies_ms')) / 1e3
    row = {
        'iterations': iterations,
        'tracked': int(m['tracked']),
        'objects': int(m['objects']),
        'edges': int(m['edges']),
        'core_mb': core.stat().st_size / 2**20,
        'snapshot_s': wall,
        'objects_per_s': int(m['objects']) / wall,
        'edges_per_s': int(m['edges']) / wall,
        'rss_mb': rss,
        'db_mb': db.stat().st_size / 2**20,
        'walk_s': int(m['time_walk_ms']) / 1e3,
        'cycles_s': int(m['time_cycles_ms']) / 1e3,
        'reach_s': int(m['time_reach_ms']) / 1e3,
        'garbage_s': int(m['time_garbage_ms']) / 1e3,
        'anomalies_s': int(m['time_anomalies_ms']) / 1e3,
        'analyses_s': analyses,
        'path_s': path_s,
        'pause_ms': float(pid_meta['pause_ms']),
        'copied_mb': int(pid_meta['copied_bytes']) / 2**20,
        'baseline_s': float(base_s),
        'baseline_objects': int(base_objects),
        'ratio': wall / float(base_s),
    }
    core.unlink()
    for f in (db, pid_db):
        f.unlink()
    return row


def main():
    sizes = [int(a) for a in sys.argv[1:]] or SIZES
    gcstest.require_gcscope()
    interpreter = pick_interpreter()
    print('bench: corpora/synth.py under %s, %s' % (interpreter.executable,
                                                    os.uname().machine))
    rows = []
    with tempfile.TemporaryDirectory(prefix='gcscope-bench-') as tmp:
        for n in sizes:
            rows.append(run_size(interpreter, n, Path(tmp)))
            r = rows[-1]
            print('  %d iterations: %d tracked objects, %d objects, %d references'
                  % (n, r['tracked'], r['objects'], r['edges']))
    cols = [('iterations', '%d'), ('tracked', '%d'), ('objects', '%d'), ('edges', '%d'),
            ('core_mb', '%.0f'), ('snapshot_s', '%.2f'), ('objects_per_s', '%.0f'),
            ('edges_per_s', '%.0f'), ('rss_mb', '%.0f'), ('db_mb', '%.0f'),
            ('walk_s', '%.2f'), ('cycles_s', '%.2f'), ('reach_s', '%.2f'),
            ('garbage_s', '%.2f'), ('anomalies_s', '%.2f'), ('analyses_s', '%.2f'),
            ('path_s', '%.3f'), ('pause_ms', '%.0f'), ('copied_mb', '%.0f'),
            ('baseline_s', '%.2f'),
            ('ratio', '%.1f')]
    print()
    width = max(len(c) for c, _ in cols)
    for name, fmt in cols:
        print('  %-*s  %s' % (width, name, '  '.join(('%14s' % (fmt % r[name])) for r in rows)))
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        scale = last['objects'] / first['objects']
        print('\n  growth from the smallest to the largest heap: objects x%.1f,'
              ' snapshot time x%.1f, peak RSS x%.1f'
              % (scale, last['snapshot_s'] / first['snapshot_s'], last['rss_mb'] / first['rss_mb']))
    last = rows[-1]
    print('\n  targets for the largest heap (figures, not a verdict):')
    for what, value, target, unit in (
            ('snapshot', last['snapshot_s'], TARGET_SNAPSHOT_S, 's'),
            ('ratio to the in-process walk', last['ratio'], TARGET_RATIO, 'x'),
            ('all analyses', last['analyses_s'], TARGET_ANALYSES_S, 's'),
            ('peak RSS', last['rss_mb'], TARGET_RSS_MB, 'MB'),
            ('--pid pause', last['pause_ms'], TARGET_PAUSE_MS, 'ms')):
        print('    %-30s %8.2f %s  (target <= %g: %s)'
              % (what, value, unit, target, 'met' if value <= target else 'not met'))


if __name__ == '__main__':
    main()
