"""Damaged cores never crash or hang the analyzer.

One real core of corpora/leaky.py is damaged in the ways cores of crashed
processes are — truncated, bytes flipped, pages zeroed or filled with
noise, pointer-sized words replaced by wild pointers, program headers
broken — and each copy is snapshotted under a time limit. Every run must
end by itself with a documented status: 0 or 1 with a database that opens
(objects it could not read marked, and a warning saying how many), or 2
with one error line and no database left behind. Never a signal, never a
hang, and no flood of made-up objects: words of garbage that a damaged
pointer turns into references must not each become an object.
"""

import collections
import random
import sqlite3
import struct

import pytest

import gcstest

INTERPRETER = 'pyenv-3.12.1'
TIMEOUT = 120
# Damage may make a few words look like objects, not many: a damaged
# snapshot holds at most this many times the objects of the sound one.
INFLATION = 1.2
PAGE = 4096


def program_headers(data):
    """(offset of the table, entry size, count, [(p_type, p_offset, p_filesz, at)])."""
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    headers = []
    for k in range(phnum):
        at = phoff + k * phentsize
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from('<IIQQQQ', data, at)
        headers.append((p_type, p_offset, p_filesz, at))
    return phoff, phentsize, phnum, headers


def damaged_copies(data):
    """(name, bytes) for each damaged copy."""
    _, _, _, headers = program_headers(data)
    loads = [(off, size) for t, off, size, _ in headers if t == 1 and size]
    start = min(off for off, _ in loads)      # memory begins here
    for frac in (0.0001, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.999):
        yield 'truncated-%g' % frac, data[:int(len(data) * frac)]
    yield 'truncated-in-header', data[:40]
    for seed in range(5):
        rng = random.Random(seed)
        d = bytearray(data)
        for _ in range(5000):
            d[rng.randrange(start, len(d))] ^= 1 << rng.randrange(8)
        yield 'bit-flips-%d' % seed, bytes(d)
    for seed in range(4):
        rng = random.Random(100 + seed)
        d = bytearray(data)
        for _ in range(200):
            p = rng.randrange(start // PAGE, len(d) // PAGE) * PAGE
            d[p:p + PAGE] = bytes(PAGE)
        yield 'zeroed-pages-%d' % seed, bytes(d)
    for seed in range(3):
        rng = random.Random(200 + seed)
        d = bytearray(data)
        for _ in range(100):
            p = rng.randrange(start // PAGE, len(d) // PAGE) * PAGE
            d[p:p + PAGE] = bytes(rng.getrandbits(8) for _ in range(PAGE))
        yield 'random-pages-%d' % seed, bytes(d)
    for seed in range(4):
        rng = random.Random(300 + seed)
        d = bytearray(data)
        for _ in range(3000):
            p = rng.randrange(start // 8, len(d) // 8) * 8
            wild = rng.choice([rng.getrandbits(64), rng.getrandbits(47) & ~7,
                               int.from_bytes(d[p:p + 8], 'little') ^ (1 << rng.randrange(48))])
            d[p:p + 8] = struct.pack('<Q', wild)
        yield 'wild-pointers-%d' % seed, bytes(d)
    for seed in range(3):
        # Counts, sizes and indexes at the edges of their ranges.
        rng = random.Random(500 + seed)
        d = bytearray(data)
        for _ in range(3000):
            p = rng.randrange(start // 8, len(d) // 8) * 8
            d[p:p + 8] = struct.pack('<q', rng.choice([-1, -2 ** 63, 2 ** 62, 2 ** 31,
                                                       -2 ** 31, 0x7fffffff]))
        yield 'extreme-values-%d' % seed, bytes(d)
    d = bytearray(data)
    struct.pack_into('<H', d, 0x38, 0xffff)           # e_phnum
    yield 'phnum-huge', bytes(d)
    d = bytearray(data)
    struct.pack_into('<Q', d, 0x20, len(data) + 12345)  # e_phoff past the end
    yield 'phoff-past-end', bytes(d)
    d = bytearray(data)
    for t, _, _, at in headers:
        if t == 1:
            struct.pack_into('<Q', d, at + 0x20, 1 << 60)  # p_filesz
    yield 'filesz-huge', bytes(d)
    d = bytearray(data)
    rng = random.Random(400)
    for t, _, _, at in headers:
        if t == 1:
            struct.pack_into('<Q', d, at + 0x08, rng.getrandbits(40))  # p_offset
    yield 'offsets-garbage', bytes(d)
    d = bytearray(data)
    for t, _, _, at in headers:
        if t == 4:
            struct.pack_into('<Q', d, at + 0x20, 1 << 40)  # a PT_NOTE's size
    yield 'notes-huge', bytes(d)


def run_one(name, copy, work):
    """Snapshot one damaged core; return (status, corrupt) or raise."""
    core = work / ('core-' + name)
    core.write_bytes(copy)
    db = work / ('db-' + name)
    result = gcstest.run_gcscope(['snapshot', '--core', core, '--db', db], timeout=TIMEOUT)
    stderr = result.stderr.decode('utf-8', 'replace')
    core.unlink()
    leftovers = [p.name for p in work.glob(db.name + '.tmp*')]
    if result.returncode < 0:
        raise AssertionError('%s: killed by signal %d:\n%s'
                             % (name, -result.returncode, gcstest.tail(stderr)))
    if leftovers:
        raise AssertionError('%s: temporary files left: %s' % (name, leftovers))
    if result.returncode == 2:
        errors = [l for l in stderr.splitlines() if l.startswith('error: ')]
        if len(errors) != 1 or db.exists():
            raise AssertionError('%s: exit 2 needs one error line and no database:\n%s'
                                 % (name, gcstest.tail(stderr)))
        return 2, None, errors[0]
    if result.returncode not in (0, 1):
        raise AssertionError('%s: exit status %d:\n%s'
                             % (name, result.returncode, gcstest.tail(stderr)))
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        version = con.execute('PRAGMA user_version').fetchone()[0]
        problems = [r[0] for r in con.execute('PRAGMA integrity_check')]
        corrupt = con.execute("SELECT count(*) FROM objects WHERE status != 'ok'").fetchone()[0]
        objects = con.execute('SELECT count(*) FROM objects').fetchone()[0]
    finally:
        con.close()
    db.unlink()
    if version != 3:
        raise AssertionError('%s: database of version %d' % (name, version))
    if problems != ['ok']:
        raise AssertionError('%s: integrity_check: %s' % (name, '; '.join(problems[:5])))
    if corrupt and 'corrupt or unreadable' not in stderr:
        raise AssertionError('%s: %d bad objects but no warning:\n%s'
                             % (name, corrupt, gcstest.tail(stderr)))
    return result.returncode, corrupt, '%d objects, %d marked' % (objects, corrupt)


def damaged():
    interpreter = gcstest.find_interpreter(INTERPRETER)
    with gcstest.scratch_dir('damaged') as work:
        with gcstest.Workload(interpreter, gcstest.CORPORA / 'leaky.py', work) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        data = core.read_bytes()
        core.unlink()
        status, _, what = run_one('undamaged', data, work)
        sound = int(what.split()[0])
        print('  %-22s exit %d: %s' % ('undamaged', status, what))
        statuses = collections.Counter()
        inflated = []
        for name, copy in damaged_copies(data):
            status, _, what = run_one(name, copy, work)
            statuses[status] += 1
            print('  %-22s exit %d: %s' % (name, status, what))
            if status != 2 and int(what.split()[0]) > sound * INFLATION:
                inflated.append('%s: %s' % (name, what))
        print('  %d damaged cores: %s' % (sum(statuses.values()),
                                          ', '.join('exit %d: %d' % kv
                                                    for kv in sorted(statuses.items()))))
        if inflated:
            raise AssertionError('damage made up objects (over %g times the %d of the '
                                 'sound core):\n%s' % (INFLATION, sound, '\n'.join(inflated)))


@pytest.mark.weight(3)
def test_damaged():
    """'damaged-cores': every damaged copy of one core."""
    damaged()
