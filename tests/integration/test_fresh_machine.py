"""make deps demo, the README's first command, on a machine that has none
of the packages yet.

A fresh git clone of the repository (its HEAD commit) is made in a
temporary directory and 'make deps demo' runs there once, with PATH
starting with a directory of stand-ins:

  pkg-config  exits with 1 (knows no package) until the marker file
              exists, then runs /usr/bin/pkg-config: the build's
              libraries appear only once make deps has "installed" them
  apt-get     creates the marker instead of installing anything
  sudo        runs its arguments (make deps uses sudo when not root)

It must succeed and print what the demo shows: the type histogram and
the reference cycles.  This is what a new user does first; it failed when
the Makefile asked pkg-config for the flags with := as make started,
before make deps had run: at commit aa80bc8 the same run (this setup,
commit aa80bc8 instead of HEAD, tried by hand) fails when build/gcscope
is linked without -ldw, -lelf and -lsqlite3.
"""

import os
import subprocess

import pytest

import gcstest

TIMEOUT = 900
KEEP_ENV = ('HOME', 'USER', 'LOGNAME', 'LANG', 'TERM', 'TMPDIR', 'PYENV_ROOT')

PKG_CONFIG = '''#!/bin/sh
# pkg-config of a machine without the packages, until apt-get "installs" them.
[ -e '{marker}' ] || exit 1
exec /usr/bin/pkg-config "$@"
'''

APT_GET = '''#!/bin/sh
# apt-get that installs nothing: it records that the packages are there.
echo "apt-get $*" >> '{log}'
case " $* " in
*" install "*) touch '{marker}' ;;
esac
exit 0
'''

SUDO = '''#!/bin/sh
exec "$@"
'''


def run_deps_demo(work, commit):
    """Clone the repository at commit into work/clone and run make deps demo
    there with the stand-ins first on PATH; return (CompletedProcess, the
    apt-get log)."""
    clone = work / 'clone'
    for cmd in (['git', 'clone', '--quiet', '--shared', '--no-checkout', gcstest.REPO, clone],
                ['git', '-C', clone, 'checkout', '--quiet', '--detach', commit]):
        result = gcstest.run(cmd, 120, 'git')
        assert result.returncode == 0, '%s failed:\n%s' % (
            ' '.join(map(str, cmd)), gcstest.tail(result.stderr))
    bin_dir = work / 'bin'
    bin_dir.mkdir()
    marker = work / 'installed'
    log = work / 'apt-get.log'
    for name, text in (('pkg-config', PKG_CONFIG), ('apt-get', APT_GET), ('sudo', SUDO)):
        path = bin_dir / name
        path.write_text(text.format(marker=marker, log=log))
        path.chmod(0o755)
    # A new user's environment: none of make test's own (MAKEFLAGS, the
    # variables given on its command line such as SANITIZE=1, GCSCOPE_*).
    env = {k: v for k, v in os.environ.items() if k in KEEP_ENV or k.startswith('LC_')}
    env['PATH'] = '%s:/usr/local/bin:/usr/bin:/bin' % bin_dir
    try:
        result = subprocess.run(['make', 'deps', 'demo'], cwd=str(clone), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail('make deps demo did not finish in %d s' % TIMEOUT)
    return result, log.read_text() if log.exists() else ''


@pytest.mark.weight(10)
def test_fresh_machine():
    """'make-deps-demo' in a fresh clone."""
    head = gcstest.run(['git', '-C', gcstest.REPO, 'rev-parse', 'HEAD'], 60, 'git')
    if head.returncode != 0:
        pytest.fail('not a git checkout: %s' % head.stderr.decode().strip())
    with gcstest.scratch_dir('fresh-machine') as work:
        result, apt_log = run_deps_demo(work, head.stdout.decode().strip())
        output = result.stdout.decode('utf-8', 'replace')
        assert result.returncode == 0, 'make deps demo exited with %d:\n%s' % (
            result.returncode, gcstest.tail(output, 40))
        assert 'apt-get install' in apt_log, 'make deps ran no apt-get install:\n' + apt_log
        for needed in ('Where the memory is, by type', 'Reference cycles:',
                       'Cycles among instances'):
            assert needed in output, 'the demo did not print %r:\n%s' % (
                needed, gcstest.tail(output, 40))
        lines = output.splitlines()
        at = next(k for k, line in enumerate(lines) if 'Reference cycles:' in line)
        print('  make deps demo in a fresh clone: exit 0; %s'
              % lines[at].strip())
