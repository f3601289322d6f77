"""A quiet threaded service: worker threads blocked on an Event, a heap of
ordinary objects, nothing running.

Usage: service.py READY_PATH TRUTH_DIR [--threads N] [--objects N]
                  [--untouched MIB] [--reserved GIB]

Starts N worker threads (default 40) that each build a little state of
their own (a dict of settings, a list of recent requests, a small class
instance) and then block on one threading.Event; the main thread builds
about --objects (default 20,000) more objects of common types — dicts,
lists, tuples, strs, ints, floats, instances, sets, bytes, closures,
a few reference cycles — and then sleeps in a loop on time.sleep, so the
process is idle the way a service waiting for requests is.  It also holds
an anonymous mmap of --untouched MiB (default 64) that it never touches,
as services hold buffers reserved and not yet used; with --reserved, also
a private anonymous mapping of that many GiB, mapped without reserving
swap (as allocators and runtimes reserve address space), of which it
writes one page in the middle.

Before it says it is ready it records, in TRUTH_DIR:

  objects.tsv   addr  type_name   of every object gc.get_objects() returns
  threads.tsv   ident  native_id  name   of every thread, main included
  meta.tsv      key  value: version, threads, objects

The workers are blocked and the main thread sleeps, so the heap does not
change after the recording: a snapshot of the process must find every
object of objects.tsv.  SIGUSR1 is answered by writing READY_PATH.pong, to
show the process still runs after a snapshot.
"""

import gc
import mmap
import os
import signal
import sys
import threading
import time

STOP = threading.Event()
STARTED = threading.Semaphore(0)
WORKERS = []


class Request(object):
    def __init__(self, number, path, headers):
        self.number = number
        self.path = path
        self.headers = headers
        self.reply = None


class Worker(object):
    def __init__(self, index):
        self.index = index
        self.settings = {'timeout': 30.0 + index, 'retries': index % 5,
                         'name': 'worker-%d' % index, 'tags': ('a', 'b', index)}
        self.recent = [Request(index * 100 + k, '/item/%d' % k,
                               {'accept': 'text/plain', 'k': k}) for k in range(5)]
        self.recent[-1].reply = self          # a cycle, as services have

    def run(self):
        local = [self.index, str(self.index), float(self.index)]
        STARTED.release()
        STOP.wait()
        return local


def start_workers(count):
    for i in range(count):
        w = Worker(i)
        t = threading.Thread(target=w.run, name='worker-%d' % i, daemon=True)
        t.start()
        WORKERS.append((w, t))
    for _ in range(count):
        STARTED.acquire()


def make_closure(n):
    def handler(x):
        return x + n
    return handler


def build(count):
    heap = []
    i = 0
    while len(heap) < count:
        kind = i % 12
        if kind == 0:
            heap.append({'id': i, 'name': 'n%d' % i, 'score': i * 0.5})
        elif kind == 1:
            heap.append([i, i + 1, 'x' * (i % 50)])
        elif kind == 2:
            heap.append((i, 'k%d' % i))
        elif kind == 3:
            heap.append('string number %d' % i)
        elif kind == 4:
            heap.append(i * 1000003)
        elif kind == 5:
            heap.append(i / 7.0)
        elif kind == 6:
            heap.append(Request(i, '/r/%d' % i, None))
        elif kind == 7:
            heap.append({i, i + 1, i + 2})
        elif kind == 8:
            heap.append(bytes(i % 200))
        elif kind == 9:
            heap.append(make_closure(i))
        elif kind == 10:
            a, b = [i], [i]
            a.append(b)
            b.append(a)
            heap.append(a)
        else:
            heap.append(frozenset((i, -i)))
        i += 1
    return heap


def parse_args(argv):
    ready, truth = argv[0], argv[1]
    options = {'--threads': 40, '--objects': 20000, '--untouched': 64, '--reserved': 0}
    rest = argv[2:]
    while rest:
        if rest[0] not in options:
            raise SystemExit('service.py: unknown option ' + rest[0])
        options[rest[0]] = int(rest[1])
        rest = rest[2:]
    return (ready, truth, options['--threads'], options['--objects'],
            options['--untouched'], options['--reserved'])


def reserve(gib):
    """A private anonymous mapping of gib GiB, MAP_NORESERVE, one page of
    it written; its address, or None."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    size = gib << 30
    addr = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE,
                     mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000, -1, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise SystemExit('service.py: cannot reserve %d GiB' % gib)
    ctypes.memset(addr + size // 2, 0x5a, mmap.PAGESIZE)
    return addr


def answer_ping(signum, frame):
    with open(PONG_PATH, 'w') as f:
        f.write('pong %d\n' % os.getpid())


def record(truth_dir):
    os.makedirs(truth_dir, exist_ok=True)
    objs = gc.get_objects()
    with open(os.path.join(truth_dir, 'objects.tsv'), 'w') as f:
        f.write('addr\ttype_name\n')
        for o in objs:
            f.write('%#x\t%s\n' % (id(o), type(o).__name__))
    with open(os.path.join(truth_dir, 'threads.tsv'), 'w') as f:
        f.write('ident\tnative_id\tname\n')
        for t in threading.enumerate():
            f.write('%d\t%s\t%s\n' % (t.ident, getattr(t, 'native_id', '-'), t.name))
    with open(os.path.join(truth_dir, 'meta.tsv'), 'w') as f:
        f.write('key\tvalue\n')
        f.write('version\t%d.%d.%d\n' % sys.version_info[:3])
        f.write('threads\t%d\n' % threading.active_count())
        f.write('objects\t%d\n' % len(objs))
    del objs


def main():
    global PONG_PATH
    ready, truth_dir, threads, objects, untouched, reserved_gib = parse_args(sys.argv[1:])
    PONG_PATH = ready + '.pong'
    signal.signal(signal.SIGUSR1, answer_ping)
    start_workers(threads)
    heap = build(objects)
    reserved = mmap.mmap(-1, untouched << 20) if untouched else None
    if reserved_gib:
        reserve(reserved_gib)
    gc.collect()
    record(truth_dir)
    with open(ready + '.tmp', 'w') as f:
        f.write('ready %d\n' % os.getpid())
    os.rename(ready + '.tmp', ready)
    while heap and reserved is not False:
        time.sleep(3600)


if __name__ == '__main__':
    main()
