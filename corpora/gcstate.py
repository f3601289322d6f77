"""A small heap with the collector in a chosen state, for the tests of
meta's gc_enabled, gc_thresholds, gc_counts and python_version.

Usage: gcstate.py READY_PATH TRUTH_DIR MODE

MODE sets the collector:
  disabled    gc.disable()
  threshold0  gc.set_threshold(0): enabled, but no automatic collection
  custom      gc.set_threshold(500, 7, 3), enabled
  subinterpreter
              custom, gc.set_debug(gc.DEBUG_STATS), and a sub-interpreter
              made after (3.8+): the main interpreter is then the last of
              the runtime's list, and the sub-interpreter's collector has
              its own settings (3.9+), which are not the ones to report

Then the program allocates enough tracked objects for the collector (when
it runs by itself) to collect generation 0 and 1 a few times, collects
generation 0 once more itself, and leaves PAIRS pairs of Pair objects in
reference cycles nothing else refers to: garbage for gcscope garbage.

TRUTH_DIR/gcstate.tsv gets, one "key<TAB>value" a line, what the
interpreter itself says: python_version (platform.python_version()),
version_info (sys.version_info, dotted), enabled (gc.isenabled(), 0 or
1), debug (gc.get_debug()), interpreters (how many), thresholds and counts (gc.get_threshold(), gc.get_count(), joined
with commas), pairs.  gc.get_count() is read last, at module level (no
Python frame is made after it): what runs after it changes no count (see
the comment there), so the counts in the core are the ones recorded.
Then "ready" goes to READY_PATH and the process sleeps until killed.

The program must run under every CPython from 3.6 on.
"""

import gc
import os
import platform
import sys
import time

PAIRS = 10
CHURN = 6000


class Pair:
    """One half of a cycle."""

    def __init__(self):
        self.other = None


def pairs(n):
    """n cycles of two Pairs, nothing else referring to them."""
    for _ in range(n):
        a, b = Pair(), Pair()
        a.other, b.other = b, a


def churn(n):
    """n tracked lists, most of them kept: allocations the collector
    counts (and collects by, when it runs by itself)."""
    keep = []
    for i in range(n):
        keep.append([i])
    return len(keep)


MODES = ('disabled', 'threshold0', 'custom', 'subinterpreter')
if len(sys.argv) != 4 or sys.argv[3] not in MODES:
    sys.stderr.write('usage: gcstate.py READY_PATH TRUTH_DIR %s\n' % '|'.join(MODES))
    sys.exit(2)
READY = os.fsencode(sys.argv[1])
TRUTH_DIR = sys.argv[2]
MODE = sys.argv[3]
os.makedirs(TRUTH_DIR, exist_ok=True)
TRUTH = os.fsencode(os.path.join(TRUTH_DIR, 'gcstate.tsv'))
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC

if MODE == 'disabled':
    gc.disable()
elif MODE == 'threshold0':
    gc.set_threshold(0)
else:
    gc.set_threshold(500, 7, 3)
INTERPRETERS = 1
if MODE == 'subinterpreter':
    gc.set_debug(gc.DEBUG_STATS)
    try:
        import _xxsubinterpreters as subinterpreters
    except ImportError:
        import _interpreters as subinterpreters
    SUB = subinterpreters.create()
    INTERPRETERS = 2
churn(CHURN)
gc.collect(0)
pairs(PAIRS)

HEAD = ('python_version\t%s\nversion_info\t%s\npairs\t%d\ndebug\t%d\ninterpreters\t%d\n'
        % (platform.python_version(), '.'.join(map(str, sys.version_info)), PAIRS,
           gc.get_debug(), INTERPRETERS))
# From here on no tracked object is made that is not freed again, and no
# tuple that the tuple free list does not provide (a tuple taken from the
# free list and put back changes no count; one allocated and put back
# adds one): a few 3-tuples go to the free list first, for
# gc.get_threshold(), gc.get_count() and calls that pack arguments.
SPARES = [tuple([k, k, k]) for k in range(8)]
del SPARES
ENABLED = gc.isenabled()
T0, T1, T2 = gc.get_threshold()
C0, C1, C2 = gc.get_count()
TEXT = (HEAD + 'enabled\t' + str(int(ENABLED))
        + '\nthresholds\t' + str(T0) + ',' + str(T1) + ',' + str(T2)
        + '\ncounts\t' + str(C0) + ',' + str(C1) + ',' + str(C2) + '\n').encode()
FD = os.open(TRUTH, FLAGS, 0o644)
os.write(FD, TEXT)
os.close(FD)
FD = os.open(READY, FLAGS, 0o644)
os.write(FD, b'ready\n')
os.close(FD)
while True:
    time.sleep(3600)
