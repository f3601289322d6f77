"""A synthetic heap of a chosen size, for make bench.

Usage: synth.py READY_PATH ITERATIONS

Each iteration adds the objects a typical service accumulates: an instance
with a few attributes, a list of children, a small dict of metadata, a
string and an int, tied into parent/child links so the graph has depth and
cycles. About 2.6 tracked objects and 8.7 references per iteration on 3.12.

Once built, a fork()ed child times the in-process baseline that tools like
objgraph pay — gc.get_objects() and gc.get_referents() of every object —
over the same heap (the parent's stays untouched), and writes it to
READY_PATH.baseline; then "ready" goes to READY_PATH and the process
sleeps until killed.
"""

import gc
import os
import sys
import time

gc.disable()


class Node:
    """An instance with attributes, a parent and children."""

    __slots__ = ('key', 'parent', 'children', 'meta')

    def __init__(self, key, parent):
        self.key = key
        self.parent = parent
        self.children = []
        self.meta = None


class Record:
    """A plain instance with a managed dict."""

    def __init__(self, i, node):
        self.index = i
        self.node = node
        self.name = 'record-%d' % i


ROOTS = []


def build(iterations):
    parent = None
    for i in range(iterations):
        if i % 1000 == 0:
            parent = Node('root-%d' % i, None)
            ROOTS.append(parent)
        node = Node(i, parent)
        parent.children.append(node)
        if i % 5 == 0:
            node.meta = {'i': i, 'tag': 'meta', 'owner': node}
        if i % 2 == 0:
            node.children.append(Record(i, node))


def baseline(path):
    """Time gc.get_objects() + gc.get_referents() of each, in a child."""
    pid = os.fork()
    if pid == 0:
        try:
            start = time.perf_counter()
            objs = gc.get_objects()
            refs = 0
            for o in objs:
                refs += len(gc.get_referents(o))
            elapsed = time.perf_counter() - start
            with open(path, 'w') as f:
                f.write('%.6f %d %d\n' % (elapsed, len(objs), refs))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def main():
    ready, iterations = sys.argv[1], int(sys.argv[2])
    build(iterations)
    baseline(ready + '.baseline')
    with open(ready, 'w') as f:
        f.write('ready\n')
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    main()
