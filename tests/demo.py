"""make demo: a leaky program, its core, its snapshot, what is in it.

Runs corpora/leaky.py under the first usable interpreter (Debian's
python3.11 with python3.11-dbg, which make deps installs, else a pyenv
CPython with DWARF), takes a core with gcore, snapshots it with
build/gcscope into build/demo/heap.db, and prints the types that hold the
memory and the reference cycles, with the references that close them.
"""

import sqlite3
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gcstest  # noqa: E402

PREFERENCE = ['debian-3.11', 'pyenv-3.13.0', 'pyenv-3.12.1', 'pyenv-3.11.7']
OUT = gcstest.BUILD / 'demo'


def pick_interpreter():
    """The first interpreter of PREFERENCE that is usable here."""
    reasons = []
    for name in PREFERENCE:
        try:
            return gcstest.find_interpreter(name)
        except gcstest.Skip as e:
            reasons.append(str(e))
    sys.exit('demo: no usable interpreter:\n  ' + '\n  '.join(reasons)
             + '\nrun make deps first')


def table(rows, headers, aligns):
    """Rows as aligned text columns."""
    rows = [[('' if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(values):
        cells = [v.rjust(w) if a == '>' else v.ljust(w)
                 for v, w, a in zip(values, widths, aligns)]
        return '  ' + '  '.join(cells).rstrip()
    return '\n'.join([line(headers)] + [line(r) for r in rows])


def show(db):
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    meta = dict(con.execute('SELECT key, value FROM meta'))
    print('\nPython %s, %s objects (%s tracked by the collector), %s references'
          % (meta['python_version'], meta['objects'], meta['tracked'], meta['edges']))

    print('\nWhere the memory is, by type (SELECT * FROM type_histogram):\n')
    rows = con.execute('SELECT type, count, bytes, tracked FROM type_histogram'
                       ' LIMIT 12').fetchall()
    print(table(rows, ['type', 'objects', 'bytes', 'tracked'], '<>>>'))

    cycles = con.execute('SELECT cycle_id, members, types, has_finalizer'
                         ' FROM cycle_summary').fetchall()
    # Every class is a cycle with its __mro__ and the functions in its
    # __dict__; the cycles people look for are among instances.
    with_types = set(r[0] for r in con.execute(
        'SELECT DISTINCT c.cycle_id FROM cycles c JOIN objects o ON o.addr = c.addr'
        ' JOIN types t ON t.addr = o.type_addr WHERE t.flags & (1 << 31)'))
    print('\nReference cycles: %d (SELECT * FROM cycle_summary)' % len(cycles))
    if cycles and cycles[0][1] > 100:
        print('  cycle %d holds %d objects: modules, classes and what their'
              ' globals reach,\n  tied together by __class__, __globals__ and'
              ' __module__ references' % (cycles[0][0], cycles[0][1]))
    print('  %d cycles run through classes (a class, its __mro__ and __dict__)'
          % len([c for c in cycles if c[0] in with_types and c[1] <= 100]))
    cycles = [c for c in cycles if c[0] not in with_types]
    print('\nCycles among instances, with the references that close them'
          ' (SELECT * FROM cycle_edges):')
    for cycle_id, members, types, finalizer in cycles[:12]:
        print('\n  cycle %d: %d objects (%s)%s'
              % (cycle_id, members, types, ', has __del__' if finalizer else ''))
        edges = con.execute(
            "SELECT src, src_type, label, dst, dst_type FROM cycle_edges"
            " WHERE cycle_id = ? LIMIT 6", (cycle_id,)).fetchall()
        for src, src_type, label, dst, dst_type in edges:
            print('    %s 0x%x  %s -> %s 0x%x' % (src_type, src, label, dst_type, dst))
    if len(cycles) > 12:
        print('\n  ... and %d more' % (len(cycles) - 12))
    con.close()
    for title, command in (
            ('What the next collection would free, and gc.garbage', 'garbage'),
            ('Reference counts the references found do not explain', 'leaks')):
        print('\n%s (gcscope %s):\n' % (title, command))
        sys.stdout.flush()
        subprocess.run([str(gcstest.GCSCOPE), command, str(db), '--limit', '6'])
    print('\nExplore it yourself:\n  sqlite3 -box %s "SELECT * FROM referrers'
          ' WHERE addr = 0x..."\n  (README.md has a tour of the SQL)' % db)


def main():
    interpreter = pick_interpreter()
    gcstest.require_gcscope()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob('core.*'):
        old.unlink()
    db = OUT / 'heap.db'
    print('Running corpora/leaky.py under %s (%s)' % (interpreter.executable, interpreter.name))
    with gcstest.Workload(interpreter, gcstest.CORPORA / 'leaky.py', OUT) as workload:
        core = gcstest.gcore(workload.pid, OUT / 'core')
    print('Took its core with gcore: %s (%d MB)' % (core, core.stat().st_size >> 20))
    cmd = [str(gcstest.GCSCOPE), 'snapshot', '--core', str(core), '--db', str(db)]
    print('$ ' + ' '.join(cmd))
    sys.stdout.flush()
    if subprocess.run(cmd).returncode != 0:
        sys.exit('demo: the snapshot failed')
    show(db)


if __name__ == '__main__':
    main()
