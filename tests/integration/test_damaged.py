"""Damaged cores never crash or hang the analyzer.

One real core of corpora/leaky.py (the run's, gcstest.corpus_core) is
damaged in the ways cores of crashed processes are — truncated, bytes
flipped, pages zeroed or filled with noise, pointer-sized words replaced
by wild pointers, program headers broken — and each copy is snapshotted
under a time limit. Every run must end by itself with a documented
status: 0 or 1 with a database that opens (objects it could not read
marked, and a warning saying how many), or 2 with one error line and no
database left behind. Where the damage spares the heap (intact_copies: a
note's text, stack memory below the stack pointer, segment sizes past the
end of the file) a refusal is a failure: the snapshot must be written,
with the objects of the sound core. Never a signal, never a
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


def notes(data):
    """(n_type, offset of the descriptor, its size) of each note."""
    _, _, _, headers = program_headers(data)
    found = []
    for p_type, p_offset, p_filesz, _ in headers:
        if p_type != 4:                                  # PT_NOTE
            continue
        pos, end = p_offset, min(p_offset + p_filesz, len(data))
        while pos + 12 <= end:
            namesz, descsz, n_type = struct.unpack_from('<III', data, pos)
            desc = pos + 12 + (namesz + 3) // 4 * 4
            found.append((n_type, desc, descsz))
            pos = desc + (descsz + 3) // 4 * 4
    return found


def intact_copies(data):
    """(name, bytes) for each copy damaged where the heap is not: the
    snapshot must be written and hold what the sound core's does.

      note-bit-flip         a bit flipped in the command line the
                            NT_PRPSINFO note records (pr_psargs)
      zeroed-below-sp       the main thread's stack zeroed below its stack
                            pointer (NT_PRSTATUS) and red zone: memory no
                            frame uses
      filesz-huge           every PT_LOAD claims far more bytes than the
                            file has: what the file has is still read
    """
    prpsinfo = [desc for n_type, desc, size in notes(data) if n_type == 3 and size >= 136]
    prstatus = [desc for n_type, desc, size in notes(data) if n_type == 1 and size >= 336]
    if not prpsinfo or not prstatus:
        raise AssertionError('the core has no NT_PRPSINFO or NT_PRSTATUS note')
    d = bytearray(data)
    d[prpsinfo[0] + 56] ^= 0x04                          # pr_psargs[0]
    yield 'note-bit-flip', bytes(d)
    rsp, = struct.unpack_from('<Q', data, prstatus[0] + 112 + 19 * 8)   # pr_reg.rsp
    _, _, _, headers = program_headers(data)
    d = bytearray(data)
    for t, off, size, at in headers:
        vaddr, = struct.unpack_from('<Q', data, at + 0x10)
        if t == 1 and size and vaddr <= rsp < vaddr + size:
            below = (rsp - 128 - vaddr) // PAGE * PAGE
            if below <= 0:
                raise AssertionError('the stack has no page below its pointer %#x' % rsp)
            d[off:off + below] = bytes(below)
            break
    else:
        raise AssertionError('no segment holds the stack pointer %#x' % rsp)
    yield 'zeroed-below-sp', bytes(d)
    d = bytearray(data)
    for t, _, _, at in headers:
        if t == 1:
            struct.pack_into('<Q', d, at + 0x20, 1 << 60)  # p_filesz
    yield 'filesz-huge', bytes(d)


def damaged_copies(data):
    """(name, bytes) for each copy damaged where the heap may be: any
    documented outcome will do."""
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
    newest = len(list((gcstest.REPO / 'schema').glob('*.sql')))
    if version != newest:
        raise AssertionError('%s: database of version %d, not %d' % (name, version, newest))
    if problems != ['ok']:
        raise AssertionError('%s: integrity_check: %s' % (name, '; '.join(problems[:5])))
    if corrupt and 'corrupt or unreadable' not in stderr:
        raise AssertionError('%s: %d bad objects but no warning:\n%s'
                             % (name, corrupt, gcstest.tail(stderr)))
    return result.returncode, corrupt, '%d objects, %d marked' % (objects, corrupt)


def damaged():
    corpus = gcstest.corpus_core(INTERPRETER)
    with gcstest.scratch_dir('damaged') as work:
        data = corpus.core.read_bytes()
        status, _, what = run_one('undamaged', data, work)
        sound = int(what.split()[0])
        print('  %-22s exit %d: %s' % ('undamaged', status, what))
        failures = []
        for name, copy in intact_copies(data):
            status, _, what = run_one(name, copy, work)
            print('  %-22s exit %d: %s' % (name, status, what))
            if status == 2 or int(what.split()[0]) != sound:
                failures.append('%s (the heap is intact): exit %d, %s; the sound core gives'
                                ' %d objects' % (name, status, what, sound))
        statuses = collections.Counter()
        for name, copy in damaged_copies(data):
            status, _, what = run_one(name, copy, work)
            statuses[status] += 1
            print('  %-22s exit %d: %s' % (name, status, what))
            if status != 2 and int(what.split()[0]) > sound * INFLATION:
                failures.append('%s: %s: damage made up objects (over %g times the %d of the'
                                ' sound core)' % (name, what, INFLATION, sound))
        print('  %d damaged cores: %s' % (sum(statuses.values()),
                                          ', '.join('exit %d: %d' % kv
                                                    for kv in sorted(statuses.items()))))
        if failures:
            raise AssertionError('\n'.join(failures))


@pytest.mark.weight(3)
def test_damaged():
    """'damaged-cores': every damaged copy of one core."""
    damaged()
