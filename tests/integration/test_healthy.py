"""Healthy programs: no refcount anomaly without its explanation.

The programs leak nothing themselves, so every refcount anomaly gcscope
records on them must have its cause (anomalies.cause: the C stack,
register, static, runtime struct, block or object scanned that can hold
what the references found leave of the count), or be a leak of the
interpreter or of a library it uses that the memory confirms: fewer
words of the whole memory point at the object than its count (the
anomaly's detail says so; the test counts the words of the core itself
and checks that).  The programs, under every interpreter of
gcstest.INTERPRETERS:

  stdlib     corpora/stdlib_types.py: an instance of each collector-
             tracked C type of the standard library
  service    corpora/service.py: 40 threads blocked on an Event, about
             20,000 objects
  healthy    corpora/healthy.py: an asyncio server with a client, idle
             thread pool and waiting threads, thread-local data, filled
             functools caches, ctypes, decimal, ElementTree, a suspended
             generator, a kept traceback
  libraries  corpora/healthy.py --libraries, under Debian's python3.11
             only: also numpy (object arrays), lxml, yaml and an
             SQLAlchemy session

each cored with gcore and snapshot, and the service and the healthy
program also snapshot live (--pid).  Per run the test prints how many
anomalies were explained and by what kind of holder, and every suspected
one by type.  A deficit (more references found than the count) is never
right on these programs, and nothing may be suspected: the references
CPython itself leaks (3.6-3.8's start-up keeps one to the sys module
nobody holds) are explained by the leak, whose cause names the versions
that have it -- the interpreter's must be one of them; so are those numpy
and Cython's generated code are known to leak.  A suspected anomaly the
memory confirms as a leak fails as surely as one it does not; only the
runs KNOWN_UNCONFIRMED lists may have at most as many unconfirmed ones
as it says.
"""

import collections
import re
import sqlite3
import struct

import pytest

import gcstest

# Suspected anomalies that are no confirmed leak still expected, at
# most, per (program, mode, interpreter): none.  A run gcscope cannot
# explain whole is added here, with what it cannot explain.
KNOWN_UNCONFIRMED = {}

# A cause naming a leak of CPython itself says which versions have it.
KNOWN_LEAK = re.compile(r'CPython 3\.(\d+)(?:\.(\d+))?(?:-3\.(\d+))? ')

CONFIRMED = re.compile(r'(?:only (\d+) words? of memory points? at it|no word of memory'
                       r' points at it)')


def memory_words(core, addrs):
    """{addr: how many 8-byte aligned words of the core's memory hold it},
    counted here apart from gcscope."""
    data = core.read_bytes()
    counts = dict.fromkeys(addrs, 0)
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    patterns = {struct.pack('<Q', a): a for a in addrs}
    for k in range(phnum):
        p_type, _, offset, vaddr, _, filesz, _ = struct.unpack_from(
            '<IIQQQQQ', data, phoff + k * phentsize)
        if p_type != 1 or not filesz:
            continue
        segment = data[offset:offset + filesz]
        for pattern, addr in patterns.items():
            at = segment.find(pattern)
            while at >= 0:
                if (vaddr + at) % 8 == 0:
                    counts[addr] += 1
                at = segment.find(pattern, at + 1)
    return counts


PROGRAMS = {
    'stdlib': ('stdlib_types.py', ()),
    'service': ('service.py', ()),
    'healthy': ('healthy.py', ()),
    'libraries': ('healthy.py', ('--libraries',)),
}
RUNS = ([('stdlib', 'core')] + [(p, m) for p in ('service', 'healthy')
                                for m in ('core', 'live')])


def cases():
    for spec in gcstest.INTERPRETERS:
        for program, mode in RUNS:
            yield pytest.param(program, mode, spec.name,
                               id='%s-%s-%s' % (program, mode, spec.name))
    yield pytest.param('libraries', 'core', 'debian-3.11', id='libraries-core-debian-3.11')
    yield pytest.param('libraries', 'live', 'debian-3.11', id='libraries-live-debian-3.11')


def holder_kind(cause):
    for prefix, kind in (('C stack', 'C stack'), ('register', 'register'),
                         ('static', 'static'), ('a word', 'object scanned'),
                         ('a pymalloc block', 'pymalloc block'),
                         ("a malloc'd block", "malloc'd block"),
                         ('a constant of a Cython module', 'Cython constant'),
                         ('numpy:', 'numpy')):
        if cause.startswith(prefix):
            return kind
    if 'value stack' in cause:
        return 'frame value stack'
    return re.split(r'[+. ]', cause, 1)[0]


@pytest.mark.parametrize('program,mode,name', list(cases()))
def test_healthy(program, mode, name):
    interpreter = gcstest.find_interpreter(name)
    script, args = PROGRAMS[program]
    if program == 'libraries':
        probe = gcstest.run([str(interpreter.executable), '-c',
                             'import site\nfor p in site.getsitepackages(): site.addsitedir(p)\n'
                             'import numpy, lxml, yaml, sqlalchemy'], 60, 'import')
        if probe.returncode != 0:
            pytest.skip('numpy, lxml, yaml or sqlalchemy is not installed for %s'
                        ' (make deps installs them)' % name)
    with gcstest.scratch_dir('healthy-%s-%s-%s' % (program, mode, name)) as work:
        db = work / 'snapshot.db'
        with gcstest.Workload(interpreter, gcstest.CORPORA / script, work,
                              args=args) as workload:
            if mode == 'core':
                core = gcstest.gcore(workload.pid, work / 'core')
            else:
                result = gcstest.run_gcscope(['snapshot', '--pid', workload.pid,
                                              '--db', db])
                if result.returncode != 0:
                    raise AssertionError('snapshot --pid exited with %d:\n%s'
                                         % (result.returncode, gcstest.tail(result.stderr)))
        if mode == 'core':
            gcstest.snapshot_core(core, db)
        con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
        try:
            suspected = con.execute(
                'SELECT a.kind, o.type, a.refcnt, a.referrers, o.repr, a.addr, a.detail'
                ' FROM anomalies a JOIN objects o USING (addr) WHERE a.cause IS NULL'
                ' ORDER BY o.type, a.kind').fetchall()
            causes = [c for (c,) in con.execute(
                'SELECT cause FROM anomalies WHERE cause IS NOT NULL')]
            objects = con.execute('SELECT count(*) FROM objects').fetchone()[0]
            version = con.execute("SELECT value FROM meta WHERE key = 'python_version'"
                                  ).fetchone()[0]
        finally:
            con.close()
        confirmed = {row[5]: CONFIRMED.match(row[6] or '') for row in suspected}
        confirmed = {a: int(m.group(1) or 0) for a, m in confirmed.items() if m}
        counted = memory_words(core, confirmed) if mode == 'core' else {}
    by_holder = collections.Counter(holder_kind(c) for c in causes)
    by_type = collections.Counter((kind, tname) for kind, tname, *_ in suspected)
    print('\n  %s %s %s: %d objects; %d anomalies explained (%s); %d suspected%s'
          % (program, mode, name, objects, len(causes),
             ', '.join('%s %d' % kv for kv in by_holder.most_common()) or 'none',
             len(suspected), ': ' + ', '.join('%s %s %d' % (k, t, n) for (k, t), n
                                            in by_type.most_common()) if suspected else ''))
    for kind, tname, refcnt, referrers, preview, addr, detail in suspected[:40]:
        print('    %s 0x%x %s refcnt %d referrers %d %s%s'
              % (kind, addr, tname, refcnt, referrers, (preview or '')[:50],
                 ' -- a leak: %s' % detail if addr in confirmed else ''))
    failures = []
    # A confirmed leak is one: the core holds no more words pointing at it
    # than gcscope says (it counts the registers too), fewer than its count.
    wrong = ['%s 0x%x: gcscope says %d words, the core has %d, refcnt %d'
             % (r[1], r[5], confirmed[r[5]], counted[r[5]], r[2])
             for r in suspected if r[5] in counted and
             not counted[r[5]] <= confirmed[r[5]] < r[2]]
    if wrong:
        failures.append('%d leaks confirmed wrongly: %s' % (len(wrong), '; '.join(wrong[:5])))
    deficits = [row for row in suspected if row[0] == 'deficit']
    if deficits:
        failures.append('%d deficits: gcscope counted references that are not there (%s)'
                        % (len(deficits), ', '.join('%s 0x%x' % (r[1], r[5])
                                                    for r in deficits[:5])))
    # The service's threads all run Python: a holder on one's C stack or
    # in its registers names the frame it is blocked in.
    unnamed = [c for c in causes if c.startswith(('C stack of thread', 'register '))
               and 'Python frame ' not in c]
    if program == 'service' and unnamed:
        failures.append('%d causes on a thread name no Python frame: %s'
                        % (len(unnamed), unnamed[0]))
    minor, micro = (int(x) for x in version.split('.')[1:3])
    leaks = collections.Counter(c for c in causes if KNOWN_LEAK.match(c))
    for cause, n in sorted(leaks.items()):
        print('    %d explained by: %s' % (n, cause))
        lo, lo_micro, hi = KNOWN_LEAK.match(cause).groups()
        lo, hi = int(lo), int(hi or lo)
        if not (lo <= minor <= hi and (minor > lo or micro >= int(lo_micro or 0))):
            failures.append('a leak of other versions explains an anomaly of %s: %s'
                            % (version, cause))
    key = (program, mode, name)
    allowed = KNOWN_UNCONFIRMED.get(key, 0)
    unconfirmed = [row for row in suspected if row[5] not in confirmed]
    print('  %d of them leaks confirmed by the memory; %d not'
          % (len(confirmed), len(unconfirmed)))
    if confirmed:
        failures.append('%d leaks on a healthy program: %s'
                        % (len(confirmed), ', '.join(['%s %s 0x%x' % (r[0], r[1], r[5])
                                                      for r in suspected
                                                      if r[5] in confirmed][:5])))
    if len(unconfirmed) > allowed:
        failures.append('%d suspected anomalies on a healthy program that are no confirmed'
                        ' leak, at most %d expected: %s'
                        % (len(unconfirmed), allowed,
                           ', '.join('%s %s 0x%x' % (r[0], r[1], r[5]) for r in unconfirmed[:5])))
    elif len(unconfirmed) < allowed:
        print('  fewer unconfirmed than the %d KNOWN_UNCONFIRMED allows: it can be lowered'
              % allowed)
    assert not failures, '; '.join(failures)
