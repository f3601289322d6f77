"""Where --db writes: never over what is not a regular file.

A snapshot is written to a temporary file beside the destination and
renamed into place. A destination that exists and is not a regular file
(a FIFO, a character device, a socket, a directory) would be replaced by
that rename: it is refused with exit status 2 and left as it was. A
symbolic link is written through (the link stays a link, the file it
leads to gets the database), and an existing file keeps its permissions.
"""

import os
import socket
import sqlite3
import stat
import subprocess

import pytest

import gcstest

FATAL = 2


@pytest.fixture(scope='module')
def core():
    """A core of a small CPython process, in a scratch folder."""
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    with gcstest.scratch_dir('db-destination') as work:
        proc = subprocess.Popen(
            [str(interpreter.executable), '-c',
             'import time; print("ready", flush=True); time.sleep(300)'],
            stdout=subprocess.PIPE, env=interpreter.env())
        try:
            assert proc.stdout.readline() == b'ready\n'
            path = gcstest.gcore(proc.pid, work / 'core')
        finally:
            proc.kill()
            proc.wait()
        yield path


def snapshot(core, db):
    return gcstest.run_gcscope(['snapshot', '--core', core, '--db', db], timeout=120)


def check_database(path):
    with sqlite3.connect('file:%s?mode=ro' % path, uri=True) as con:
        assert con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
        objects = con.execute('SELECT count(*) FROM objects').fetchone()[0]
    assert objects > 1000, '%s: %d objects' % (path, objects)
    return objects


def make_fifo(path):
    os.mkfifo(path)


def make_directory(path):
    path.mkdir()


def make_socket(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return sock


def make_character_device(path):
    if os.geteuid() != 0:
        pytest.skip('making a device node needs root')
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))   # like /dev/null


@pytest.mark.parametrize('make, kind', [
    (make_fifo, 'a FIFO'),
    (make_directory, 'a directory'),
    (make_socket, 'a socket'),
    (make_character_device, 'a character device'),
], ids=['fifo', 'directory', 'socket', 'character-device'])
def test_refused(core, make, kind):
    dest = core.parent / ('dest-' + kind.split()[-1])
    keep = make(dest)
    try:
        before = os.lstat(dest)
        result = snapshot(core, dest)
        stderr = result.stderr.decode('utf-8', 'replace')
        errors = [l for l in stderr.splitlines() if l.startswith('error: ')]
        assert result.returncode == FATAL, stderr
        assert len(errors) == 1 and kind in errors[0] and '--db' in errors[0], stderr
        after = os.lstat(dest)
        assert (after.st_mode, after.st_ino, after.st_rdev) == \
            (before.st_mode, before.st_ino, before.st_rdev), 'the destination changed'
        left = [p.name for p in dest.parent.glob(dest.name + '.tmp-*')]
        assert not left, 'left behind: %s' % left
        print('  %s' % errors[0])
    finally:
        if keep is not None:
            keep.close()


def test_symlink_written_through(core):
    work = core.parent
    (work / 'dbs').mkdir(exist_ok=True)
    link = work / 'latest.db'
    link.symlink_to('dbs/heap.db')            # relative, to a file not there yet
    second = work / 'again.db'
    second.symlink_to(link.name)             # a link to the link
    result = snapshot(core, second)
    assert result.returncode == 0, result.stderr.decode('utf-8', 'replace')
    assert link.is_symlink() and second.is_symlink(), 'a link was replaced'
    objects = check_database(work / 'dbs' / 'heap.db')
    # Again, now that the file the links lead to exists.
    result = snapshot(core, link)
    assert result.returncode == 0, result.stderr.decode('utf-8', 'replace')
    assert link.is_symlink()
    assert check_database(work / 'dbs' / 'heap.db') == objects
    print('  %s -> %s -> dbs/heap.db: %d objects' % (second.name, link.name, objects))


def test_symlink_loop_refused(core):
    work = core.parent
    (work / 'loop-a').symlink_to('loop-b')
    (work / 'loop-b').symlink_to('loop-a')
    result = snapshot(core, work / 'loop-a')
    stderr = result.stderr.decode('utf-8', 'replace')
    assert result.returncode == FATAL, stderr
    assert 'too many symbolic links' in stderr, stderr
    assert (work / 'loop-a').is_symlink() and (work / 'loop-b').is_symlink()


def test_existing_file_keeps_mode(core):
    dest = core.parent / 'kept.db'
    dest.write_bytes(b'')
    dest.chmod(0o640)
    result = snapshot(core, dest)
    assert result.returncode == 0, result.stderr.decode('utf-8', 'replace')
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    check_database(dest)
    # A new file gets the umask's mode, as any file gcscope creates.
    fresh = core.parent / 'fresh.db'
    old = os.umask(0o027)
    try:
        result = snapshot(core, fresh)
    finally:
        os.umask(old)
    assert result.returncode == 0
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o644 & ~0o027
