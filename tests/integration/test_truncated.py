"""Truncated cores give what their file holds.

One real core of corpora/leaky.py (the run's, gcstest.corpus_core) is cut
with os.truncate to 50, 80, 90, 95 and 99 % of its size, as a full disk or
a core size limit cuts it. gcore writes the memory in address order and
the notes last, so every cut loses the notes (the files the process
mapped, its threads) and the memory above some address; one more copy
is cut just after _PyRuntime, the most that can be lost, and before
3.12 one where the static naming the interned strings' dict begins
(their counts leave out its references: without it, no string may be
called over-released). Each copy is
snapshotted under a time limit and must end by itself:

  exit 1  the interpreter's runtime (_PyRuntime, whose place gdb gives
          from the whole core) is in the file (if only a part of it is,
          exit 1 or 2 as the walk needs that part): a partial snapshot, the
          files found from the ELF headers in the core's memory, a
          warning saying how much memory is missing and from where, the
          same figures in meta, and nothing read that the file does not
          hold: every object is one of the whole core's snapshot (itself
          checked against the truth by test_snapshot), every tracked one
          in gc.get_objects() with its type, every object marked 'ok' the
          same (type, count, size, generation, references) as there;
  exit 2  the runtime is not (all) in the file: one line, naming it,
          and no database.

Never 0, never a signal, a hang or a temporary file left behind. The
share of the truth recovered is printed for each cut.

Two copies lose only notes: one cut inside the note segment (all of the
memory is there: exit 1, and every object of the whole core), one with
its notes zeroed (nothing is missing: exit 0). Both must find
libpython and the executable from the ELF headers alone.
"""

import collections
import os
import re
import sqlite3
import struct
import subprocess

import pytest

import gcstest

INTERPRETERS = ('pyenv-3.12.1', 'debian-3.11', 'pyenv-3.6.15')
FRACTIONS = (0.50, 0.80, 0.90, 0.95, 0.99)
TIMEOUT = 120
PT_LOAD, PT_NOTE = 1, 4

WARNING = re.compile(r'warning: the core is truncated: (?:([\d,]+) of ([\d,]+) KiB of memory are'
                     r' not in the file \(from 0x([0-9a-f]+) on\)|its notes are not all in the'
                     r' file).*; (\d+) objects could not be read')


def program_headers(data):
    """[(p_type, p_offset, p_vaddr, p_filesz, p_memsz)] of an ELF64 core."""
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    headers = []
    for k in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, p_memsz = struct.unpack_from(
            '<IIQQQQQ', data, phoff + k * phentsize)
        headers.append((p_type, p_offset, p_vaddr, p_filesz, p_memsz))
    return headers


def memory_cut(headers, size):
    """(bytes of memory the PT_LOADs hold, bytes of it past size, the
    lowest address missing or None) for the core cut to size bytes."""
    memory = missing = 0
    first = None
    for p_type, offset, vaddr, filesz, memsz in headers:
        if p_type != PT_LOAD or not filesz:
            continue
        want = min(filesz, memsz)
        have = max(0, min(want, size - offset))
        memory += want
        missing += want - have
        if have < want and (first is None or vaddr + have < first):
            first = vaddr + have
    return memory, missing, first


def file_offset(headers, addr):
    """Where the byte at addr is in the core file, or None."""
    for p_type, offset, vaddr, filesz, memsz in headers:
        if p_type == PT_LOAD and vaddr <= addr < vaddr + min(filesz, memsz):
            return offset + addr - vaddr
    return None


def anchors(corpus):
    """The statics the walk starts from: _PyRuntime from 3.7; in 3.6 the
    collector's generations (Modules/gcmodule.c: _PyGC_generation0 points
    at them) and the interpreters' list (Python/pystate.c interp_head)."""
    if corpus.truth().meta['python_version'].startswith('3.6.'):
        return ('_PyGC_generation0', 'generations', 'interp_head')
    return ('_PyRuntime',)


def runtime_place(corpus):
    """(lowest address, one past the highest) of the anchors, as gdb reads
    them from the whole core."""
    interpreter = corpus.interpreter
    command = ['gdb', '-nx', '-batch']
    for name in anchors(corpus):
        command += ['-ex', "p/x (unsigned long) &'%s'" % name,
                    '-ex', "p (unsigned long) sizeof('%s')" % name]
    result = subprocess.run(
        command + [str(interpreter.executable), str(corpus.core)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=TIMEOUT, env=dict(os.environ, **interpreter.env()))
    values = re.findall(r'^\$\d+ = (0x[0-9a-f]+|\d+)$', result.stdout.decode(), re.M)
    if len(values) != 2 * len(anchors(corpus)):
        raise AssertionError('gdb does not say where %s are:\n%s'
                             % (', '.join(anchors(corpus)),
                                gcstest.tail(result.stdout + result.stderr)))
    places = [(int(a, 16), int(a, 16) + int(n)) for a, n in zip(values[::2], values[1::2])]
    return min(a for a, _ in places), max(e for _, e in places)


def snapshot(core, db):
    """Run gcscope snapshot; return (status, stderr), checked for what
    every run must be."""
    result = gcstest.run_gcscope(['snapshot', '--core', core, '--db', db], timeout=TIMEOUT)
    stderr = result.stderr.decode('utf-8', 'replace')
    leftovers = [p.name for p in db.parent.glob(db.name + '.tmp*')]
    if result.returncode < 0:
        raise AssertionError('%s: killed by signal %d:\n%s'
                             % (core.name, -result.returncode, gcstest.tail(stderr)))
    if leftovers:
        raise AssertionError('%s: temporary files left: %s' % (core.name, leftovers))
    if result.returncode not in (0, 1, 2):
        raise AssertionError('%s: exit status %d:\n%s'
                             % (core.name, result.returncode, gcstest.tail(stderr)))
    if (result.returncode == 2) == db.exists():
        raise AssertionError('%s: exit %d %s a database:\n%s'
                             % (core.name, result.returncode,
                                'with' if db.exists() else 'without', gcstest.tail(stderr)))
    return result.returncode, stderr


def unreadable_count(db):
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        return con.execute("SELECT count(*) FROM objects WHERE status = 'unreadable'").fetchone()[0]
    finally:
        con.close()


def findings(db):
    """{(addr, 'unreachable'|'gc.garbage'|anomaly kind)} the analyses wrote."""
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        return set(con.execute('SELECT addr, reason FROM garbage UNION '
                               'SELECT addr, kind FROM anomalies WHERE cause IS NULL'))
    finally:
        con.close()


def check_findings(db, sound_db):
    """What memory that is missing could change is not claimed: every
    unreachable object and refcount anomaly is one the whole core's has."""
    extra = findings(db) - findings(sound_db)
    if not extra:
        return []
    return ['%d findings the whole core\'s snapshot does not have: %s'
            % (len(extra), ', '.join('%#x %s' % f for f in sorted(extra)[:5]))]


def check_against(snap, sound, truth):
    """What a snapshot of part of the core has that the whole core's
    does not: a list of failures (empty if none), and the figures."""
    failures = []
    extra = [a for a in snap.objects if a not in sound.objects]
    if extra:
        failures.append('%d objects not in the whole core\'s snapshot: %s'
                        % (len(extra), ', '.join('%#x' % a for a in extra[:5])))
    # Tracked: in gc.get_objects() (frozen ones included), with the type
    # read, if it was; on the list the interpreter said, if one is given.
    stray = [a for a, o in snap.objects.items()
             if o.gc_tracked == 1 and
             (a not in truth.objects or
              o.type_addr is not None and truth.objects[a].type_addr != o.type_addr or
              o.generation is not None and truth.objects[a].generation is not None and
              truth.objects[a].generation != o.generation)]
    if stray:
        failures.append('%d tracked objects not in gc.get_objects() with that type and'
                        ' generation: %s' % (len(stray), ', '.join('%#x' % a for a in stray[:5])))
    # What is not known is NULL, and only in objects marked partial.
    unknown = [a for a, o in snap.objects.items() if o.status in ('ok', 'corrupt') and
               (o.gc_tracked is None or o.gc_tracked == 1 and o.generation is None)]
    if unknown:
        failures.append('%d objects not marked partial or unreadable with gc_tracked or'
                        ' generation unknown: %s' % (len(unknown), ', '.join('%#x' % a for a in unknown[:5])))
    differ = []
    for addr, o in snap.objects.items():
        s = sound.objects.get(addr)
        if o.status != 'ok' or s is None:
            continue
        fields = [k for k in ('type_addr', 'refcnt', 'size', 'gc_tracked', 'generation')
                  if getattr(o, k) != getattr(s, k)]
        if [(e.dst, e.kind) for e in snap.edges.get(addr, ())] != \
           [(e.dst, e.kind) for e in sound.edges.get(addr, ())]:
            fields.append('references')
        if fields:
            differ.append('%#x %s: %s' % (addr, o.type, ', '.join(fields)))
    if differ:
        failures.append('%d objects marked ok differ from the whole core\'s: %s'
                        % (len(differ), '; '.join(differ[:5])))
    found = sum(1 for a, t in truth.objects.items()
                if a in snap.objects and snap.objects[a].gc_tracked == 1 and
                snap.objects[a].type_addr == t.type_addr)
    statuses = collections.Counter(o.status for o in snap.objects.values())
    figures = ('%d of %d tracked objects of the truth (%.1f %%), %d of %d objects of the whole'
               ' core, %d ok, %d partial, %d corrupt or unreadable'
               % (found, len(truth.objects), 100.0 * found / len(truth.objects),
                  len(snap.objects), len(sound.objects), statuses['ok'], statuses['partial'],
                  statuses['corrupt'] + statuses['unreadable']))
    return failures, figures


def check_meta(snap, memory, missing, first, notes_missing):
    """meta records the truncation as the test computed it."""
    want = {'core_truncated': '1', 'memory_bytes': str(memory),
            'memory_missing_bytes': str(missing), 'notes_missing': str(int(notes_missing))}
    if first is not None:
        want['memory_missing_from'] = '%#x' % first
    return ['meta.%s is %r, not %r' % (k, snap.meta.get(k), v)
            for k, v in want.items() if snap.meta.get(k) != v]


def check_files(snap, sound, corpus):
    """libpython and the executable were found: the module holding the
    runtime named as the whole core's snapshot names it (the executable
    of a static build), the executable the same file (pyenv's 3.6
    python3.6 and python3.6m are one file: its notes gone, a core does
    not say by which name it was run)."""
    failures = []
    want = str(corpus.interpreter.libpython() or corpus.truth().meta['executable'])
    if not os.path.samefile(sound.meta.get('libpython'), want):
        raise AssertionError('the whole core\'s meta.libpython is %r, not %s'
                             % (sound.meta.get('libpython'), want))
    if snap.meta.get('libpython') != sound.meta.get('libpython'):
        failures.append('meta.libpython %r, not %r as for the whole core'
                        % (snap.meta.get('libpython'), sound.meta.get('libpython')))
    exe = snap.meta.get('executable')
    if not exe or not os.path.exists(exe) or \
       not os.path.samefile(exe, corpus.truth().meta['executable']):
        failures.append('meta.executable %r, not %s' % (exe, corpus.truth().meta['executable']))
    return failures


def interned_place(corpus):
    """The address of the static naming the interned strings' dict
    (Objects/unicodeobject.c interned, before 3.12), or None: a core
    cut there lacks the dict whose references to strings their counts
    leave out."""
    interpreter = corpus.interpreter
    result = subprocess.run(
        ['gdb', '-nx', '-batch', '-ex', "p/x (unsigned long) &'unicodeobject.c'::interned",
         str(interpreter.executable), str(corpus.core)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=TIMEOUT, env=dict(os.environ, **interpreter.env()))
    value = re.search(r'^\$\d+ = (0x[0-9a-f]+)$', result.stdout.decode(), re.M)
    return int(value.group(1), 16) if value else None


def cut_series(corpus, sound, truth, work):
    data = corpus.core.read_bytes()
    headers = program_headers(data)
    runtime, runtime_end = runtime_place(corpus)
    names = anchors(corpus)
    start = file_offset(headers, runtime)
    end = file_offset(headers, runtime_end - 1)
    if start is None or end is None:
        raise AssertionError('%s (%#x) is not in the whole core' % ('/'.join(names), runtime))
    failures, statuses = [], []
    print('  %s at %.1f-%.1f %% of the core\'s %s bytes'
          % ('/'.join(names), 100.0 * start / len(data), 100.0 * end / len(data),
             '{:,}'.format(len(data))))
    # And the shortest core that holds the runtime: the most lost.
    cuts = [('%d%%' % round(frac * 100), int(len(data) * frac)) for frac in FRACTIONS]
    cuts.append(('after-runtime', end + 1))
    # And one without the interned dict's static.
    interned = interned_place(corpus)
    at = interned and file_offset(headers, interned)
    if at:
        cuts.append(('at-interned', at))
    for name, size in cuts:
        core = work / ('core-' + name)
        db = work / ('db-' + name)
        core.write_bytes(data)
        os.truncate(core, size)
        status, stderr = snapshot(core, db)
        core.unlink()
        memory, missing, first = memory_cut(headers, size)
        statuses.append(status)
        # All of the runtime there: a snapshot; none of it: none; a part
        # of it: either, as what the walk needs of it is there or not.
        want = (1,) if end < size else (2,) if start >= size else (1, 2)
        lines = stderr.strip().splitlines()
        if status not in want:
            failures.append('%s: exit %d, not %s (%s at %.1f-%.1f %% of the file):\n%s'
                            % (name, status, ' or '.join(map(str, want)), '/'.join(names),
                               100.0 * start / len(data), 100.0 * end / len(data),
                               gcstest.tail(stderr)))
            continue
        if status == 2:
            if len(lines) != 1 or not lines[0].startswith('error: ') or \
               'truncated' not in lines[0] or not any(n in lines[0] for n in names):
                failures.append('%s: exit 2 needs one error line naming %s and the'
                                ' truncation:\n%s' % (name, ' or '.join(names), stderr))
            print('  %-13s exit 2: %s' % (name, lines[0]))
            continue
        match = next(filter(None, map(WARNING.match, lines)), None)
        snap = gcstest.Snapshot(db)
        unreadable = unreadable_count(db)
        if not match or match.group(3) != '%x' % first or \
           int(match.group(1).replace(',', '')) != (missing + 1023) // 1024 or \
           int(match.group(4)) != unreadable:
            failures.append('%s: no warning that %d of %d bytes of memory are missing from %#x'
                            ' and %d objects unreadable:\n%s'
                            % (name, missing, memory, first, unreadable, stderr))
        problems, figures = check_against(snap, sound, truth)
        problems += check_findings(db, sound.path)
        problems += check_meta(snap, memory, missing, first, True)
        problems += check_files(snap, sound, corpus)
        failures += ['%s: %s' % (name, p) for p in problems]
        print('  %-13s exit 1: %s; %s of %s KiB of memory missing'
              % (name, figures, '{:,}'.format((missing + 1023) // 1024),
                 '{:,}'.format((memory + 1023) // 1024)))
        db.unlink()
    if 1 not in statuses:
        failures.append('no cut gave a partial snapshot (exit statuses %s)' % statuses)
    return failures


def notes_cases(corpus, sound, truth, work):
    data = corpus.core.read_bytes()
    headers = program_headers(data)
    notes = [(offset, filesz) for p_type, offset, _, filesz, _ in headers if p_type == PT_NOTE]
    if len(notes) != 1:
        raise AssertionError('the core has %d note segments, not one' % len(notes))
    offset, size = notes[0]
    failures = []
    cut = bytearray(data[:offset + size // 2])
    zeroed = bytearray(data)
    zeroed[offset:offset + size] = bytes(size)
    memory, missing, _ = memory_cut(headers, len(cut))
    if missing:
        raise AssertionError('memory follows the notes: %d bytes are cut with them' % missing)
    for name, copy, want in (('notes-cut', cut, 1), ('notes-zeroed', zeroed, 0)):
        core, db = work / ('core-' + name), work / ('db-' + name)
        core.write_bytes(copy)
        status, stderr = snapshot(core, db)
        core.unlink()
        if status != want:
            failures.append('%s: exit %d, not %d:\n%s' % (name, status, want, gcstest.tail(stderr)))
            continue
        snap = gcstest.Snapshot(db)
        problems, figures = check_against(snap, sound, truth)
        if len(snap.objects) != len(sound.objects):
            problems.append('%d objects, the whole core %d' % (len(snap.objects), len(sound.objects)))
        problems += check_files(snap, sound, corpus)
        if want == 1:
            problems += check_meta(snap, memory, 0, None, True)
            if not any(WARNING.match(l) for l in stderr.splitlines()):
                problems.append('no warning that the notes are cut:\n%s' % stderr)
        elif snap.meta.get('core_truncated') != '0':
            problems.append('meta.core_truncated %r, not 0' % snap.meta.get('core_truncated'))
        failures += ['%s: %s' % (name, p) for p in problems]
        print('  %-13s exit %d: %s; libpython %s' % (name, status, figures,
                                                     snap.meta.get('libpython')))
        db.unlink()
    return failures


@pytest.mark.weight(2)
@pytest.mark.parametrize('name', INTERPRETERS)
def test_truncated(name):
    """The core cut to each of FRACTIONS of its size, and copies that
    lose only their notes."""
    corpus = gcstest.corpus_core(name)
    sound_db, _ = gcstest.corpus_snapshot(corpus)
    sound, truth = gcstest.Snapshot(sound_db), corpus.truth()
    with gcstest.scratch_dir('truncated') as work:
        failures = cut_series(corpus, sound, truth, work)
        failures += notes_cases(corpus, sound, truth, work)
    assert not failures, '\n'.join(failures)
