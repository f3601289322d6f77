"""The fuzz targets: their corpus replayed, then a short libFuzzer run.

tests/fuzz/fuzz_heap feeds the layout checks, the heap walker and the
analyses with memory images (tests/fuzz/image.h); tests/fuzz/fuzz_core
feeds the core reader with ELF files. The replay builds run every
committed seed and every input that once failed (tests/fuzz/regress) in
this build, sanitized or not: each must end, in under 10 seconds (also
the core whose file notes name a FIFO, which the test makes), and a core
without file notes must find libc from the ELF headers in its memory. The
heap seeds must still give the walk mkseed made them for — all 27 objects
of the youngest list found (also when a link halfway is wild: the rest
is found walking back from the head), none corrupt in the sound images,
and each damaged variant caught as what it is (a class whose tp_name runs
to the end of memory is no type: its instance is corrupt). Then each libFuzzer target (built
where clang is installed) runs for FUZZ_TEST_SECONDS (30) from the seeds;
any crash, sanitizer report, hang or memory blow-up fails the test and
leaves the input in build/fuzz/findings/. make fuzz runs them longer.
"""

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gcstest

FUZZ = gcstest.REPO / 'tests' / 'fuzz'
sys.path.insert(0, str(FUZZ))
import run as fuzz_run  # noqa: E402

SECONDS = int(os.environ.get('FUZZ_TEST_SECONDS', '30'))
HANG_MS = 10000
TRACKED = 27      # objects mkseed puts on the youngest list
FIFO = '/tmp/gcscope-fuzz.fifo'   # named by corpus/core/fifo.core

LINE = re.compile(r'^3\.(\d+): (\d+) objects, (\d+) tracked, (\d+) references, '
                  r'(\d+) types, (\d+) corrupt(?:; (.*))?$')


def replay(name, timeout=600):
    """Run the replay build over the seeds and regressions: {file: line}."""
    binary = gcstest.BINARIES / 'fuzz-replay' / ('fuzz_' + name)
    if not binary.exists():
        raise AssertionError('%s is not built (make test builds it)' % binary)
    dirs = [str(FUZZ / 'corpus' / name)]
    if any((FUZZ / 'regress' / name).glob('*')):
        dirs.append(str(FUZZ / 'regress' / name))
    proc = subprocess.run([str(binary)] + dirs, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          errors='replace', timeout=timeout,
                          env=dict(os.environ, FUZZ_VERBOSE='1'))
    if proc.returncode != 0:
        raise AssertionError('replay of %s failed (exit %d):\n%s' % (
            name, proc.returncode, gcstest.tail(proc.stdout, 40)))
    results, pending, slow = {}, None, []
    for line in proc.stdout.splitlines():
        m = re.match(r'^ok (\S+) \((\d+) bytes, ([\d.]+) ms\)$', line)
        if m:
            results[Path(m.group(1)).name] = pending
            if float(m.group(3)) > HANG_MS:
                slow.append('%s took %s ms' % (m.group(1), m.group(3)))
            pending = None
        elif line.startswith(('3.', 'core:')):
            pending = line
    if slow:
        raise AssertionError('inputs near a hang:\n' + '\n'.join(slow))
    print('%s: %d inputs replayed' % (name, len(results)))
    return results


def replay_heap():
    results = replay('heap')
    problems = []
    # One sound seed per version gcscope reads (make fuzz-seeds).
    supported = gcstest.run_gcscope(['layout', '--supported'], timeout=60)
    versions = supported.stdout.decode('utf-8', 'replace').split()
    if supported.returncode or not versions:
        problems.append('gcscope layout --supported: status %d, %r'
                        % (supported.returncode, versions))
    for version in versions:
        for variant in ('', '-loop', '-break', '-huge', '-keys', '-name'):
            name = '%s%s.img' % (version, variant)
            if not (FUZZ / 'corpus' / 'heap' / name).exists():
                continue
            line = results.get(name) or ''
            m = LINE.match(line)
            if not m:
                problems.append('%s: %s' % (name, line or 'no walk'))
                continue
            objects, tracked, corrupt = (int(m.group(i)) for i in (2, 3, 6))
            why = m.group(7) or ''
            ok = tracked == TRACKED and objects > tracked
            if variant == '':
                ok = ok and corrupt == 0 and not why
            elif variant == '-loop':
                # The link back does not match: a break, not followed.
                ok = ok and 'broken after' in why and corrupt == 0
            elif variant == '-break':
                # All found all the same: the rest from the head back.
                ok = ok and 'broken after' in why and corrupt == 0
            else:
                # '-name': a type whose tp_name has no NUL is no type, its
                # tracked instance corrupt.
                ok = ok and corrupt > 0
            print('  %-16s %s' % (name, line))
            if not ok:
                problems.append('%s: %s' % (name, line))
    missing = [v for v in versions if v + '.img' not in results]
    if missing:
        problems.append('no sound seed for %s' % ', '.join(missing))
    if problems:
        raise AssertionError('seeds no longer give their walk:\n' + '\n'.join(problems))


def replay_core():
    # fifo.core names this file: opening a FIFO nobody writes blocks.
    if os.path.lexists(FIFO):
        os.unlink(FIFO)
    os.mkfifo(FIFO)
    try:
        results = replay('core', timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError('the replay of the cores hung (fifo.core names a FIFO)')
    finally:
        os.unlink(FIFO)
    for name, line in sorted(results.items()):
        print('  %-24s %s' % (name, line))
    small = results.get('small.core') or ''
    if not small.startswith('core: 1 modules'):
        raise AssertionError('small.core: libc from NT_FILE not reported: %s' % small)
    if not (results.get('fifo.core') or '').startswith('core: 0 modules'):
        raise AssertionError('fifo.core: %s' % results.get('fifo.core'))
    python = results.get('python.core') or ''
    if Path('/usr/bin/python3.11').exists() and '3.11' not in python:
        raise AssertionError('python.core: python3.11 not identified: %s' % python)
    # No file notes: libc found from the ELF headers in memory, through
    # the program's link map.
    headers = results.get('elf-headers.core') or ''
    if Path('/usr/lib/x86_64-linux-gnu/libc.so.6').exists() and \
       not headers.startswith('core: 1 modules'):
        raise AssertionError('elf-headers.core: libc not found from the link map: %s' % headers)


def libfuzzer(name):
    binary = fuzz_run.fuzz_build() / ('fuzz_' + name)
    if not binary.exists():
        compiler = os.environ.get('FUZZ_CC', 'clang')
        if not shutil.which(compiler):
            pytest.skip('%s not built: %s is missing (make deps installs it)'
                        % (binary, compiler))
        raise AssertionError('%s is not built, though %s is installed (make test builds it)'
                             % (binary, compiler))
    r = fuzz_run.run(name, SECONDS)
    print(fuzz_run.summary(r))
    if r['findings'] or r['returncode'] != 0:
        raise AssertionError('fuzz_%s found a problem: %s' % (
            name, ', '.join(r['findings']) or 'exit %d' % r['returncode']))
    if r['executions'] == 0:
        raise AssertionError('fuzz_%s ran nothing:\n%s' % (name, gcstest.tail(r['log'])))


@pytest.mark.parametrize('case', [
    pytest.param(replay_heap, id='replay-heap'),
    pytest.param(replay_core, id='replay-core'),
] + [pytest.param(functools.partial(libfuzzer, name), id='libfuzzer-' + name,
                  marks=pytest.mark.weight(5))
     for name in fuzz_run.targets()])
def test_fuzz(case):
    case()
