"""A healthy program of the kind users run: nothing in it leaks, so a
snapshot of it must show no suspected refcount bug.

Usage: healthy.py READY_PATH TRUTH_DIR [--libraries]

It serves: an asyncio server on a local port with a client connected to
it (its transports, protocols, futures and the loop's handles alive), a
thread pool of idle workers and threads blocked on a Condition and on a
queue, thread-local data, functools caches that filled and evicted
(lru_cache on functions and methods, cached_property, partial), ctypes
structures, arrays, pointers and a callback, decimal contexts, an
ElementTree, defaultdicts, weak dictionaries, a generator and a
coroutine suspended mid-way and a generator and a coroutine that finished,
a log written to a StringIO, a warning from a caller's frame, and an
exception caught with its traceback kept -- all under tracemalloc.  With --libraries it also imports and uses what Debian packages
for its python3: numpy (object arrays, whose data holds references no
tp_traverse visits), lxml, yaml and an SQLAlchemy session on SQLite in
memory.

It writes TRUTH_DIR/meta.tsv (python_version, libraries), then "ready"
to READY_PATH, and idles in the event loop until killed.
"""

import asyncio
import collections
import concurrent.futures
import ctypes
import decimal
import functools
import io
import logging
import os
import queue
import sys
import threading
import time
import tracemalloc
import warnings
import weakref
import xml.etree.ElementTree as ET

KEEP = []
# functools.cached_property is 3.8+; before, a property computed each time.
cached_property = getattr(functools, 'cached_property', property)


class Service:
    def __init__(self, name):
        self.name = name

    @functools.lru_cache(maxsize=16)
    def lookup(self, key):
        return (self.name, key, [key] * 2)

    @cached_property
    def settings(self):
        return {'name': self.name, 'limits': list(range(5))}


@functools.lru_cache(maxsize=64)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@functools.lru_cache(maxsize=None)
def parse(text):
    return tuple(text.split(','))


class Point(ctypes.Structure):
    _fields_ = [('x', ctypes.c_int), ('y', ctypes.c_double)]


CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int)


def caches():
    for i in range(200):
        fib(i % 90)
        parse('a,%d,c' % (i % 30))
    services = [Service('svc%d' % i) for i in range(4)]
    for s in services:
        for k in range(40):
            s.lookup(k % 20)
        s.settings
    KEEP.extend(services)
    KEEP.append(functools.partial(fib, 10))


def native():
    points = (Point * 8)(*[Point(i, i / 2) for i in range(8)])
    ptr = ctypes.pointer(points[3])
    cb = CALLBACK(lambda a, b: a + b)
    buf = ctypes.create_string_buffer(b'healthy', 32)
    KEEP.extend([points, ptr, cb, buf, cb(2, 3)])
    ctx = decimal.Context(prec=12, rounding=decimal.ROUND_HALF_EVEN)
    KEEP.extend([ctx, ctx.divide(decimal.Decimal(1), decimal.Decimal(7))])


def warn_caller():
    warnings.warn('deprecated call', DeprecationWarning, stacklevel=2)


def data():
    root = ET.Element('service', name='healthy')
    for i in range(50):
        ET.SubElement(root, 'item', id=str(i)).text = 'value %d' % i
    index = collections.defaultdict(list)
    for i in range(300):
        index[i % 13].append(i)
    registry = weakref.WeakValueDictionary()
    for s in KEEP[:4]:
        registry[s.name] = s

    def produce():
        for i in range(10 ** 6):
            yield i
    gen = produce()
    next(gen)
    try:
        {}['missing']
    except KeyError as e:
        caught = e
    KEEP.extend([root, index, registry, gen, caught, caught.__traceback__])

    # A generator and a coroutine that finished, kept: their frames are
    # cleared but for their code.
    def finite():
        yield 1
    done = finite()
    list(done)

    async def answer():
        return 42
    finished = answer()
    try:
        finished.send(None)
    except StopIteration:
        pass
    # Code objects' names as Python asks for them (3.12+ cache them).
    for f in (produce, finite, answer, Service.lookup.__wrapped__):
        f.__code__.co_varnames, f.__code__.co_cellvars
    # A log kept in memory, written and never read: a StringIO's
    # accumulated text.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log = logging.getLogger('healthy')
    log.addHandler(handler)
    log.propagate = False
    for i in range(20):
        log.warning('request %d served', i)
    KEEP.extend([done, finished, stream, handler, log])
    # A warning from a caller's frame, shown once.
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        warn_caller()


def threads():
    """Three threads waiting on a Condition, one blocked on a queue, a
    thread pool whose workers idle; main goes on only once the waiters
    wait (each counts itself in under the lock, which only cond.wait()
    releases)."""
    local = threading.local()
    local.value = ['main']
    cond = threading.Condition()
    q = queue.Queue()
    waiting = [0]

    def waiter(i):
        local.value = ['worker', i]
        with cond:
            waiting[0] += 1
            cond.wait()

    workers = [threading.Thread(target=waiter, args=(i,), daemon=True) for i in range(3)]
    workers.append(threading.Thread(target=q.get, daemon=True))
    for t in workers:
        t.start()
    while True:
        with cond:
            if waiting[0] == 3:
                break
        time.sleep(0.01)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=3)
    for f in [pool.submit(fib, 20) for _ in range(6)]:
        f.result()
    time.sleep(0.1)
    KEEP.extend([local, cond, q, workers, pool])


def libraries():
    # Run without site (-S): the system's packages are added here.
    import site
    for path in site.getsitepackages():
        site.addsitedir(path)
    import numpy
    import lxml.etree
    import yaml
    import sqlalchemy
    from sqlalchemy import orm
    objs = numpy.empty(500, dtype=object)
    for i in range(500):
        objs[i] = {'row': i, 'tags': ['t%d' % (i % 7)]}
    KEEP.extend([objs, numpy.arange(1000.0).reshape(10, 100)])
    doc = lxml.etree.fromstring('<a><b x="1">text</b><c/></a>')
    KEEP.extend([doc, doc.find('b')])
    KEEP.append(yaml.safe_load('service: {name: healthy, ports: [1, 2, 3]}'))
    Base = orm.declarative_base()

    class User(Base):
        __tablename__ = 'users'
        id = sqlalchemy.Column(sqlalchemy.Integer, primary_key=True)
        name = sqlalchemy.Column(sqlalchemy.String)
    engine = sqlalchemy.create_engine('sqlite://')
    Base.metadata.create_all(engine)
    session = orm.Session(engine)
    session.add_all([User(name='user%d' % i) for i in range(20)])
    session.commit()
    KEEP.extend([engine, session, session.query(User).all()])


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(ready_path, truth_dir, with_libraries):
    loop = asyncio.get_event_loop()
    server = await loop.create_server(Echo, '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write(b'ping')
    await reader.readexactly(4)
    idle = asyncio.Event()
    waiting = asyncio.ensure_future(idle.wait())
    KEEP.extend([server, reader, writer, waiting])
    os.makedirs(truth_dir, exist_ok=True)
    with open(os.path.join(truth_dir, 'meta.tsv'), 'w') as f:
        f.write('python_version\t%s\n' % '.'.join(map(str, sys.version_info[:3])))
        f.write('libraries\t%d\n' % with_libraries)
    with open(ready_path, 'w') as f:
        f.write('ready\n')
    await asyncio.sleep(10 ** 6)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit('usage: healthy.py READY_PATH TRUTH_DIR [--libraries]')
    with_libraries = '--libraries' in args[2:]
    # Traced as one hunting a leak would: tracemalloc keeps the file
    # names of the frames it saw.
    tracemalloc.start(4)
    caches()
    native()
    data()
    threads()
    if with_libraries:
        libraries()
    coroutine = serve(args[0], args[1], with_libraries)
    if hasattr(asyncio, 'run'):
        asyncio.run(coroutine)
    else:                                   # 3.6
        asyncio.get_event_loop().run_until_complete(coroutine)


if __name__ == '__main__':
    main()
