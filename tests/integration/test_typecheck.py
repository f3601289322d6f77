"""Every object a snapshot reports is an object: no made-up ones.

The demo's path, many times: corpora/leaky.py under Debian's python3.11
(what make demo runs), a core taken with gcore, gcscope snapshot of the
core, and gcscope leaks on it; and a snapshot of the same process with
--pid, which reads the same memory another way. Each run is a new process
(its addresses and its heap's layout differ; --scale varies the heap), so
the words that the scans of stacks, arenas and interpreter structs meet
differ too. In every snapshot:

  - every object's type is a type: objects.type_addr is a row of types,
    and the object there has a type whose own type, and so on, reaches
    `type` (the object that is its own type and named 'type') within a few
    steps;
  - every type's name is printable and not empty;
  - no object sits at a GC head of an object gc.get_objects() listed
    (the truth): the collector's list heads hold such addresses, and a
    scan that takes one for an object makes up an object whose "type" is
    the previous GC head;
  - gcscope leaks lists no object that fails the above.

A build that takes a word of PyInterpreterState (a collector's list head)
for an object fails this in about two runs of five.
"""

import json
import shutil
import sqlite3

import pytest

import gcstest

INTERPRETER = 'debian-3.11'
SCRIPT = gcstest.CORPORA / 'leaky.py'
RUNS = 50                 # processes; two snapshots each
SCALES = [250, 300, 350]  # leaky.py --scale, in turn (300 is its default)
MAX_CHAIN = 8             # ob_type steps from a type to `type`
GC_HEAD = 16              # sizeof(PyGC_Head) in 3.11

# Objects whose type is no type: its address is not a row of types, or
# the ob_type chain from it does not reach `type` (an object that is its
# own type, named 'type') within MAX_CHAIN steps.
MADE_UP = '''
WITH RECURSIVE up(start, cur, depth) AS (
  SELECT DISTINCT type_addr, type_addr, 0 FROM objects
   WHERE type_addr IS NOT NULL
  UNION
  SELECT up.start, o.type_addr, up.depth + 1
    FROM up JOIN objects o ON o.addr = up.cur
   WHERE up.depth < %d AND o.type_addr IS NOT NULL AND o.type_addr != o.addr
),
good(addr) AS (
  SELECT DISTINCT up.start FROM up
    JOIN objects o ON o.addr = up.cur
    JOIN types t ON t.addr = up.cur
   WHERE o.type_addr = o.addr AND t.name = 'type'
)
SELECT o.addr, o.type_addr, o.type, o.refcnt, o.found, o.status FROM objects o
 WHERE o.type_addr IS NOT NULL
   AND (o.type_addr NOT IN (SELECT addr FROM good)
        OR o.type_addr NOT IN (SELECT addr FROM types))
''' % MAX_CHAIN


def truth_addresses(truth_dir):
    """The addresses of the objects gc.get_objects() returned."""
    addrs = set()
    with open(truth_dir / 'objects.tsv', encoding='utf-8') as f:
        for line in f:
            if line.strip() and not line.startswith('#'):
                addrs.add(int(line.split('\t', 1)[0], 16))
    return addrs


def check_snapshot(db, truth, gc_head):
    """What is wrong with one snapshot: a list of lines, empty if nothing."""
    problems = []
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        made_up = con.execute(MADE_UP).fetchall()
        bad_names = [(a, n) for a, n in con.execute('SELECT addr, name FROM types')
                     if not n or not n.isprintable()]
        at_heads = [r for r in con.execute('SELECT addr, type, found FROM objects')
                    if r[0] + gc_head in truth]
        objects = con.execute('SELECT count(*) FROM objects').fetchone()[0]
    finally:
        con.close()
    for addr, type_addr, tp, refcnt, found, status in made_up[:5]:
        problems.append('object %#x of type %r (%#x), refcount %s, found as %s, %s:'
                        ' its type is not a type' % (addr, tp, type_addr, refcnt, found, status))
    for addr, name in bad_names[:5]:
        problems.append('type %#x has the name %r' % (addr, name))
    for addr, tp, found in at_heads[:5]:
        problems.append('object %#x (type %r, found as %s) is the GC head of %#x,'
                        ' which gc.get_objects() lists' % (addr, tp, found, addr + gc_head))
    result = gcstest.run_gcscope(['leaks', db, '--limit', '0', '--json'])
    if result.returncode != 0:
        problems.append('gcscope leaks exited with %d: %s'
                        % (result.returncode, gcstest.tail(result.stderr)))
    else:
        listed = json.loads(result.stdout)['objects']
        wrong = {r[0] for r in made_up} | {r[0] for r in at_heads}
        for row in listed:
            if row['addr'] in wrong:
                problems.append('gcscope leaks lists %#x of type %r, which is no object'
                                % (row['addr'], row['type']))
    return problems, objects, len(made_up) + len(at_heads)


def one_run(interpreter, k, work):
    """A process, its core and --pid snapshots, checked; (problems, figures)."""
    run = work / ('run%d' % k)
    run.mkdir()
    scale = SCALES[k % len(SCALES)]
    problems = []
    with gcstest.Workload(interpreter, SCRIPT, run, args=['--scale', scale]) as workload:
        core = gcstest.gcore(workload.pid, run / 'core')
        pid_db = run / 'pid.db'
        result = gcstest.run_gcscope(['snapshot', '--pid', workload.pid, '--db', pid_db])
        if result.returncode != 0:
            raise AssertionError('gcscope snapshot --pid %d exited with %d:\n%s'
                                 % (workload.pid, result.returncode,
                                    gcstest.tail(result.stderr)))
    core_db = run / 'core.db'
    gcstest.snapshot_core(core, core_db)
    core.unlink()
    truth = truth_addresses(workload.truth_dir)
    figures = []
    for what, db in (('core', core_db), ('--pid', pid_db)):
        found, objects, wrong = check_snapshot(db, truth, GC_HEAD)
        problems += ['run %d (--scale %d), %s: %s' % (k, scale, what, p) for p in found]
        figures.append((objects, wrong))
    shutil.rmtree(run, ignore_errors=True)
    return problems, figures


@pytest.mark.weight(4)
def test_no_made_up_objects():
    interpreter = gcstest.find_interpreter(INTERPRETER)
    gcstest.require_gcscope()
    problems, runs_wrong, snapshots, objects = [], 0, 0, 0
    with gcstest.scratch_dir('typecheck') as work:
        for k in range(RUNS):
            found, figures = one_run(interpreter, k, work)
            problems += found
            runs_wrong += bool(found)
            snapshots += len(figures)
            objects += sum(n for n, _ in figures)
    print('%d processes of leaky.py under %s, %d snapshots (core and --pid),'
          ' %d objects in all: %d runs with objects that are not objects'
          % (RUNS, INTERPRETER, snapshots, objects, runs_wrong))
    if problems:
        raise AssertionError('%d of %d runs report objects that are not objects:\n%s'
                             % (runs_wrong, RUNS, '\n'.join(problems[:20])))
