"""Run gcscope's fuzz targets with libFuzzer for a bounded time.

Usage: python3 tests/fuzz/run.py [--seconds N] [TARGET...]

Each target build/fuzz/fuzz_NAME (make fuzz builds them with clang, ASan
and UBSan) starts from the committed seeds in tests/fuzz/corpus/NAME and
the inputs that once failed, tests/fuzz/regress/NAME; what it learns goes
to a scratch corpus, not the repository.  An input that crashes, trips a
sanitizer, runs over 10 seconds or 2 GB is a finding: libFuzzer stops
there and the input is kept in build/fuzz/findings/NAME/.  Fix the bug,
then add the input to tests/fuzz/regress/NAME so that make test replays it
forever.

Prints one line per target (executions, new inputs, coverage, findings)
and exits with 1 if any target had a finding.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent.parent


def fuzz_build():
    """Where make puts the libFuzzer binaries."""
    return Path(os.environ.get('GCSCOPE_FUZZ_BUILD', REPO / 'build' / 'fuzz'))


def targets():
    """Names of the fuzz targets (heap, core), from tests/fuzz/fuzz_*.c."""
    return sorted(p.stem[len('fuzz_'):] for p in FUZZ.glob('fuzz_*.c'))


def run(name, seconds):
    """Fuzz one target for @seconds; return a dict of what happened."""
    binary = fuzz_build() / ('fuzz_' + name)
    findings = fuzz_build() / 'findings' / name
    findings.mkdir(parents=True, exist_ok=True)
    before = set(findings.iterdir())
    scratch = Path(tempfile.mkdtemp(prefix='gcscope-fuzz-'))
    try:
        cmd = [str(binary), '-max_total_time=%d' % seconds, '-timeout=10',
               '-rss_limit_mb=2048', '-print_final_stats=1',
               '-artifact_prefix=%s/' % findings]
        if (FUZZ / (name + '.dict')).exists():
            cmd.append('-dict=%s' % (FUZZ / (name + '.dict')))
        cmd += [str(scratch), str(FUZZ / 'corpus' / name)]
        if (FUZZ / 'regress' / name).is_dir():
            cmd.append(str(FUZZ / 'regress' / name))
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, errors='replace',
                              timeout=seconds + 300)
        log = proc.stdout
    finally:
        shutil.rmtree(str(scratch), ignore_errors=True)

    def stat(key):
        m = re.search(r'^stat::%s:\s*(\d+)' % key, log, re.M)
        return int(m.group(1)) if m else 0

    cov = re.findall(r'cov: (\d+) ft: (\d+)', log)
    new = sorted(set(findings.iterdir()) - before)
    return {
        'name': name,
        'returncode': proc.returncode,
        'executions': stat('number_of_executed_units'),
        'per_second': stat('average_exec_per_sec'),
        'new_inputs': stat('new_units_added'),
        'coverage': int(cov[-1][0]) if cov else 0,
        'features': int(cov[-1][1]) if cov else 0,
        'findings': [str(p) for p in new],
        'log': log,
    }


def summary(r):
    """One line for a run()."""
    line = ('fuzz_%s: %d executions (%d/s), %d new inputs, coverage %d '
            'edges %d features, %d findings' % (
                r['name'], r['executions'], r['per_second'], r['new_inputs'],
                r['coverage'], r['features'], len(r['findings'])))
    for path in r['findings']:
        line += '\n  finding: %s' % path
    if r['returncode'] != 0 and not r['findings']:
        line += '\n  libFuzzer exited with %d:\n%s' % (
            r['returncode'], r['log'][-3000:])
    return line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=int, default=600)
    parser.add_argument('target', nargs='*', default=targets())
    args = parser.parse_args()
    failed = False
    for name in args.target:
        if not (fuzz_build() / ('fuzz_' + name)).exists():
            print('fuzz_%s: not built (make fuzz builds it with clang)' % name)
            failed = True
            continue
        r = run(name, args.seconds)
        print(summary(r))
        sys.stdout.flush()
        failed |= bool(r['findings']) or r['returncode'] != 0
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
