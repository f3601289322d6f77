# SPDX-License-Identifier: MIT
"""Finding and running the analyzer (gcscope), turning its failures into
gdb errors.

The analyzer is looked for, in order: the GCSCOPE environment variable;
build/gcscope of the source tree this gdbext/ directory is in; bin/gcscope
of the prefix 'make install' put this directory under
(PREFIX/share/gcscope/gdbext -> PREFIX/bin/gcscope); gcscope on PATH.
"""

import json
import os
import shutil
import subprocess

import gdb

GDBEXT = os.path.dirname(os.path.dirname(os.path.abspath(os.path.realpath(__file__))))
REPO_BUILD = os.path.join(os.path.dirname(GDBEXT), 'build', 'gcscope')
INSTALLED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(GDBEXT))),
                         'bin', 'gcscope')

# A snapshot of a large heap takes a while (no limit); a report is quick.
REPORT_TIMEOUT = 600


def find():
    """The path of the analyzer; gdb.GdbError if there is none."""
    env = os.environ.get('GCSCOPE')
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise gdb.GdbError("gcscope: the analyzer GCSCOPE names, '%s', is not an"
                           " executable file: build it (make) or unset GCSCOPE" % env)
    for path in (REPO_BUILD, INSTALLED):
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    path = shutil.which('gcscope')
    if path:
        return path
    source_tree = os.path.dirname(GDBEXT)
    if os.path.isfile(os.path.join(source_tree, 'Makefile')):
        looked, hint = REPO_BUILD, "build it: make -C '%s'" % source_tree
    else:
        looked, hint = INSTALLED, "install it (make install) or put it on PATH"
    raise gdb.GdbError('gcscope: the analyzer is not found (GCSCOPE is not set, no %s,'
                       ' no gcscope on PATH): %s, or set GCSCOPE to its path' % (looked, hint))


class Result:
    """What one run of the analyzer did: status, stdout and stderr as text."""

    def __init__(self, argv, status, out, err):
        self.argv = argv
        self.status = status
        self.out = out
        self.err = err

    def errors(self):
        """The 'error: ' lines on stderr, without the prefix."""
        return [line[len('error: '):] for line in self.err.splitlines()
                if line.startswith('error: ')]

    def message(self):
        """The analyzer's own account of a failure, in one line."""
        errors = self.errors()
        if errors:
            return '; '.join(errors)
        if self.status < 0:
            return 'the analyzer was killed by signal %d' % -self.status
        lines = [l for l in self.err.splitlines() if l.strip()]
        return lines[-1] if lines else 'the analyzer exited with status %d' % self.status


def run(args, timeout=REPORT_TIMEOUT):
    """Run the analyzer with args (strings); return a Result.

    Its stdin is /dev/null: it never reads, and gdb's terminal stays gdb's.
    """
    argv = [find()] + list(args)
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
    except OSError as e:
        raise gdb.GdbError("gcscope: cannot run the analyzer '%s': %s" % (argv[0], e.strerror))
    except subprocess.TimeoutExpired:
        raise gdb.GdbError('gcscope: the analyzer did not answer within %d s: %s'
                           % (timeout, ' '.join(argv[1:2])))
    return Result(argv, proc.returncode, proc.stdout.decode('utf-8', 'replace'),
                  proc.stderr.decode('utf-8', 'replace'))


_pid_support = {}


def supports_pid():
    """True if the analyzer can read a live process itself, without
    stopping it (gcscope snapshot --pid PID --no-stop), as its help says."""
    path = find()
    if path not in _pid_support:
        try:
            result = run(['snapshot', '--help'], timeout=30)
            _pid_support[path] = '--no-stop' in result.out + result.err
        except gdb.GdbError:
            _pid_support[path] = False
    return _pid_support[path]


_help = {}


def help_gdb():
    """What the analyzer says of itself for gdb (gcscope help --gdb): a
    dict with "exit_statuses" (name: number) and "commands" (a list of
    dicts with "name", "command", "usage" and "doc").  gdb.GdbError if
    there is no analyzer or it cannot say."""
    path = find()
    if path not in _help:
        result = run(['help', '--gdb'], timeout=30)
        try:
            if result.status != 0:
                raise ValueError(result.message())
            answer = json.loads(result.out)
            answer['exit_statuses']['ok']
            answer['commands']
        except (ValueError, KeyError, TypeError) as e:
            raise gdb.GdbError("gcscope: the analyzer '%s' cannot describe its commands"
                               " (gcscope help --gdb: %s): build it again (make)" % (path, e))
        _help[path] = answer
    return _help[path]


def status(name):
    """The exit status called name ('ok', 'reservation', 'failed', 'usage')
    as the analyzer defines it."""
    return help_gdb()['exit_statuses'][name]


def report(command, db, args):
    """Run 'gcscope COMMAND DB ARGS...' and return its text output.

    The exit status 'reservation' with output (path: no root reaches ADDR)
    is an answer; with an error (ADDR is not an object) and any other
    failure raise a
    gdb.GdbError with the analyzer's message, the database's temporary
    path replaced by 'the snapshot'.
    """
    result = run([command, db] + list(args))
    reservation = status('reservation')
    if result.status == status('ok') or (result.status == reservation and result.out and
                                         not result.errors()):
        return result.out
    message = result.message().replace("'%s'" % db, 'the snapshot').replace(db, 'the snapshot')
    if result.status == reservation and message.startswith('no object at'):
        message += ' (an address of a Python object, a PyObject *, is expected)'
    raise gdb.GdbError('gcscope: %s' % message)
