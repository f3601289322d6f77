"""A leaky CPython heap, with the interpreter's own account of it.

Usage: leaky.py READY_PATH TRUTH_DIR [--scale N] [--refbugs DIR]

Builds a heap full of the usual leak patterns and a synthetic mix of common
types, spread over the collector's generations, then records the truth about
it in a fork()ed child (so the recording cannot disturb the heap it
describes), writes "ready" to READY_PATH and sleeps until killed.  A core
taken of this process after READY_PATH appears can be compared, object for
object, with the files in TRUTH_DIR:

  objects.tsv      addr  type_addr  generation  refcnt  immortal
                   one line per object gc.get_objects() returns (frozen
                   objects included); generation is 0-2, 3 for the permanent
                   generation (gc.get_objects(generation=) from 3.8, the
                   collector's lists read in memory before: collector_lists());
                   refcnt is ob_refcnt as the sleeping process holds it
  referents.tsv    addr  referent...   gc.get_referents() of each object, in
                   order, duplicates kept
  types.tsv        type_addr  module.qualname  of every type in objects.tsv
  garbage.tsv      addr of each object in gc.garbage
  unreachable.tsv  addr of each object a full collection finds unreachable
  labels.tsv       name  addr  for a few named anchors in the heap (those
                   derived from others, like the innermost traceback frame,
                   are found in the child: the heap holds them only as the
                   pattern does)
  finalizers.tsv   addr of each object of objects.tsv whose finalizer a
                   collection would still call: its type has __del__ (any
                   tp_finalize: instances of classes with __del__,
                   generators, coroutines) and it was not finalized yet
                   (gc.is_finalized(), read from the GC head before 3.9)
  paths.tsv        name  addr  from  label  addr  [label  addr]...
                   why addr is alive: the chain of references, from the
                   object from (the module's globals) through each label to
                   the object at the next addr, that must be its shortest
                   way from a root (see path_rows())
  roots.tsv        kind  addr  holder  what
                   objects the interpreter holds from outside the heap, with
                   the gcscope roots.kind that must report them: 'frame' for
                   the code, globals, function (3.11+) and locals of each
                   frame of the main thread when the process sleeps (holder
                   is the function name, what 'code', 'globals', 'function'
                   or 'local NAME'); 'interpreter' for sys.modules,
                   sys.__dict__ and builtins.__dict__; 'gc' for gc.garbage
  anomalies.tsv    addr  kind  refcnt  referrers  name  type
                   the reference-count bugs planted with --refbugs (empty
                   without): the gcscope anomalies.kind that must report each,
                   its ob_refcnt and the references to it in the heap (see
                   plant_refbugs() for the exact numbers)
  leaked.tsv       addr  type  refcnt  value
                   the untracked objects planted with --refbugs (empty
                   without) whose only reference refbugs leaked: 8 floats
                   and 8 strs nothing refers to (type 'float' or 'str'),
                   refcnt their ob_refcnt (1), value the text a preview of
                   each is made from (repr() of the float, ascii() of the
                   str, as in previews.tsv); checked against the heap (see
                   check_leaked())
  meta.tsv         key  value
  sizes.tsv        addr  getsizeof  type_flags  itemsize  inline  block  offset
                   one line per object of objects.tsv, what the interpreter
                   knows about its allocation (see object_sizes()):
                   sys.getsizeof() where the type keeps object.__sizeof__,
                   else '-'; type(o).__flags__ (hex) and __itemsize__; the
                   capacity of the inline values of 3.13 instances, else '-';
                   the size of the pymalloc block holding the object and the
                   object's offset in it, else '-' '-'
  buffers.tsv      owner  buffer  block
                   the buffers allocated apart from their object that sit
                   at the start of a pymalloc block (see buffer_rows()):
                   the item array of each list and the keys table of each
                   dict of objects.tsv (exact types), with the block's size
  mallocstats.txt  what sys._debugmallocstats() prints (to fd 2): pymalloc's
                   own census of its size classes, pools and arenas, then
                   the free lists; written by the sleeping process itself,
                   as the last thing before READY_PATH, and checked to be
                   the state it sleeps in (see main()).  Only where
                   pymalloc_usable() (not written otherwise)

With --refbugs DIR, the extension module refbugs (corpora/refbugs.c,
built for this interpreter into DIR) is imported and plants three refcount
bugs on fresh objects after the heap is built, and leaks 8 floats and 8
strs nobody refers to (plant_refbugs()), and a
resurrected, already finalized object is left in an unreachable cycle
(plant_finalized_garbage()).  Without it nothing is planted.

Addresses are written in hex.  The program must run unchanged under every
CPython from 3.6 on: no syntax newer than 3.6, and no module that registers
at-fork handlers or starts threads (random, threading, logging, ...).
"""

import gc

gc.disable()

import bisect  # noqa: E402
import collections  # noqa: E402
import ctypes  # noqa: E402
import functools  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
import weakref  # noqa: E402

DEFAULT_SCALE = 300

# Offset of ob_refcnt in an object: builds with Py_TRACE_REFS (which have
# sys.getobjects) put two list pointers in front of it.
REFCNT_OFFSET = 2 * ctypes.sizeof(ctypes.c_void_p) if hasattr(sys, 'getobjects') else 0


# ---------------------------------------------------------------------------
# Leak patterns, each kept alive from a module global.

OWNER = None        # Owner <-> Finalized, the Finalized side has __del__
TREES = []          # TreeNode roots: children sets and parent back-references
SELF_REF = None     # SelfRef whose .me is itself
SELF_LIST = None    # a list that contains itself
SELF_DICT = None    # a dict that contains itself
TRACEBACK = None    # traceback of a caught LeakyError, frames and all
PEERS = None        # two Peer objects holding weakref.proxy()s of each other
WATCHED = None      # a Watched object ...
WATCH_REF = None    # ... and a weakref.ref to it with a callback
REGISTRY = weakref.WeakValueDictionary()
DOOMED = {}         # cycles dropped once they reached older generations
MIX = []            # the synthetic mix, one list per iteration
ANCHORS = {}        # name -> object, for labels.tsv (not part of any pattern)
PREVIEWS = []       # objects whose preview the snapshot must show, previews.tsv

# --refbugs only (see plant_refbugs):
REFBUG_HOLDERS = []  # the lists holding the objects with planted refcount bugs
REFBUGS = []         # (name, addr, kind, refcnt, referrers): what anomalies.tsv expects
LEAKED = []          # (kind, addr, value) of the leaked floats and strs, leaked.tsv
PHOENIX_NEST = []    # where Phoenix.__del__ resurrects its object (empty afterwards)


class Owner:
    """Owns a Finalized, which points back: a cycle with a finalizer."""

    def __init__(self, name):
        self.name = name
        self.finalized = Finalized(self)


class Finalized:
    """The __del__ side of an Owner <-> Finalized cycle."""

    def __init__(self, owner):
        self.owner = owner

    def __del__(self):
        pass


class TreeNode:
    """A tree node with a set of children and a reference to its parent."""

    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent
        self.children = set()
        if parent is not None:
            parent.children.add(self)


class SelfRef:
    """An object that refers to itself."""

    def __init__(self):
        self.me = self


class LeakyError(Exception):
    """Raised deep in a call chain so that its traceback keeps frames alive."""


class Peer:
    """Holds a weakref.proxy of another Peer."""

    def __init__(self, name):
        self.name = name
        self.other = None


class Watched:
    """The referent of a weakref.ref with a callback."""

    def __init__(self, name):
        self.name = name


class Orphan:
    """A member of a cycle nothing refers to any more."""

    def __init__(self, name):
        self.name = name
        self.partner = None


class LeakedByIncref:
    """--refbugs: held by one list, with 5 references leaked by refbugs.leak_incref."""


class OverReleased:
    """--refbugs: held by two lists, released once too often by refbugs.over_decref."""


class Phoenix:
    """--refbugs: resurrects itself from __del__ once, so it is left finalized."""

    def __init__(self):
        self.me = None

    def __del__(self):
        PHOENIX_NEST.append(self)


def on_watched_collected(ref):
    """Weakref callback: never called while the workload runs."""
    ref.fired = True


def make_tree(name, depth, fanout):
    """Build a tree of TreeNodes and return its root."""
    root = TreeNode(name)
    level = [root]
    for d in range(depth):
        next_level = []
        for parent in level:
            for k in range(fanout):
                next_level.append(TreeNode('%s.%d.%d' % (name, d, k), parent))
        level = next_level
    return root


def make_orphan_cycles(tag):
    """Create several kinds of reference cycles and drop every reference."""
    a, b = Orphan(tag + '-a'), Orphan(tag + '-b')
    a.partner, b.partner = b, a
    lonely = Orphan(tag + '-self')
    lonely.partner = lonely
    looped = [tag + '-list']
    looped.append(looped)
    ring = [{'name': tag + '-ring-%d' % k} for k in range(4)]
    for k, node in enumerate(ring):
        node['next'] = ring[(k + 1) % len(ring)]
    Owner(tag + '-owner')


def raise_deep(depth, marker):
    """Recurse depth levels, then raise; each frame keeps recognisable locals."""
    frame_marker = ['traceback-frame', marker, depth]
    if depth == 0:
        raise LeakyError('deliberate: %s' % marker)
    raise_deep(depth - 1, marker + '/' + str(depth))
    return frame_marker


def capture_traceback():
    """Return the traceback of a LeakyError raised four frames down."""
    held_by_frame = {'kept': 'alive by the traceback'}
    try:
        raise_deep(3, 'leak')
    except LeakyError:
        return sys.exc_info()[2]
    return held_by_frame


# ---------------------------------------------------------------------------
# The synthetic mix: one of every common kind of object per iteration.

class Plain:
    """An ordinary instance with a few attributes and a method."""

    def __init__(self, i):
        self.index = i
        self.name = 'plain-%d' % i
        self.payload = [i, i + 1]

    def describe(self):
        return self.name


class Slotted:
    """An instance with __slots__ and no __dict__."""

    __slots__ = ('index', 'label', 'items', '__weakref__')

    def __init__(self, i):
        self.index = i
        self.label = 'slotted-%d' % i
        self.items = (i, [i])


class Wide:
    """Many attributes: split keys, managed dicts, inline values."""

    def __init__(self, i):
        self.a00 = i
        self.a01 = 'wide-%d' % i
        self.a02 = [i]
        self.a03 = (i, 'x')
        self.a04 = {'i': i}
        self.a05 = float(i)
        self.a06 = None
        self.a07 = {i}
        self.a08 = b'wide'
        self.a09 = -i
        self.a10 = [[i]]
        self.a11 = self.a02


class Gadget:
    """Carries a classmethod, a staticmethod and a property."""

    def __init__(self, size):
        self.size = size

    @classmethod
    def make(cls, size):
        return cls(size)

    @staticmethod
    def helper(x):
        return x * 2

    @property
    def area(self):
        return self.size * self.size


class AttrDict(dict):
    """A dict subclass whose instances also carry attributes."""


class TaggedList(list):
    """A list subclass whose instances also carry attributes."""


class Pause:
    """An awaitable that suspends a coroutine once."""

    def __await__(self):
        yield self


async def waiter(tag):
    """A coroutine left suspended at its first await."""
    note = ['coroutine', tag]
    await Pause()
    return note


def make_counter(start):
    """Return a closure over two cells."""
    count = [start]
    step = start % 3 + 1

    def counter():
        count[0] += step
        return count[0]
    return counter


def walk(items, label):
    """A generator; the mix leaves it suspended after two items."""
    seen = []
    for item in items:
        seen.append(item)
        yield label, item


def remember(item, _seen=[]):
    """Keep every item in the list that is this function's default."""
    _seen.append(item)
    return len(_seen)


def scale_by(factor, value, offset=0):
    """Target of the functools.partial objects."""
    return factor * value + offset


def scalars(i):
    """Untracked values of various types and sizes."""
    return [
        i, -i - 1, 10 ** 20 + i, 2 ** 100 * (i + 1),
        i / 7.0, complex(i, 1),
        'short-%d' % i, 'x' * (100 + i % 900), 'ünïcödé-%d' % i,
        '日本語-%d' % i, '\U0001F600-%d' % i,
        b'b%d' % i,
        bytes(range(i % 256)), bytearray(b'ba' * (i % 50)),
        True, None, Ellipsis, range(i), slice(i, i + 5, 2),
    ]


def containers(i):
    """Dicts, lists, tuples, sets and frozensets in several shapes."""
    nested = {'outer': {'inner': {'leaf': [i, 'leaf-%d' % i]}}}
    return [
        {'name': 'item-%d' % i, 'index': i, 'tags': ['t%d' % (i % 5)]},
        {k: [k] * 2 for k in range(i % 12)},
        {(i, 'a'): 'tuple-key', (i, 'b'): ['tuple-key', i]},
        nested,
        list(range(i % 20)),
        ['mixed', i, [i], (i,), {i: i}],
        (i, 'tuple-%d' % i, (i, i + 1)),
        ([i], {'in': 'tuple'}),
        {i, i + 1, 'set-%d' % i},
        frozenset([i, 'frozen', (i, i)]),
    ]


def instances(i):
    """Instances of plain, slotted, wide and container subclasses."""
    wide = Wide(i)
    if i % 5 == 0:
        vars(wide)                      # materialise its __dict__
    if i % 7 == 0:
        for k in range(40):             # outgrow the shared keys
            setattr(wide, 'extra_%02d' % k, k)
    plain = Plain(i)
    attr_dict = AttrDict(key='value-%d' % i, number=i)
    attr_dict.origin = 'attr-dict-%d' % i
    tagged = TaggedList([i, 'tagged', [i]])
    tagged.tag = ('tagged', i)
    gadget = Gadget.make(i % 9)
    return [plain, Slotted(i), wide, attr_dict, tagged, gadget,
            plain.describe, Gadget.make, types.SimpleNamespace(index=i, bag=[i])]


def callables(i):
    """Closures, generators, coroutines, partials and dynamic classes."""
    gen = walk(['w%d' % i, i, (i,), [i]], 'walk-%d' % i)
    next(gen)
    next(gen)
    coro = waiter(i)
    coro.send(None)
    remember(('remembered', i))
    made = [make_counter(i), gen, coro,
            functools.partial(scale_by, i, offset=i),
            classmethod(scale_by), staticmethod(scale_by),
            property(lambda self: i)]
    if i % 10 == 0:
        made.append(type('Dynamic%d' % i, (Plain,), {
            'kind': i,
            'double': staticmethod(lambda x: 2 * x),
            'size': property(lambda self: self.index),
        })(i))
    return made


def library_types(i):
    """Objects from collections, weakref and the iterator types."""
    ordered = collections.OrderedDict([('first', i), ('second', [i])])
    queue = collections.deque(['d%d' % i, [i], (i,)], maxlen=8)
    slot = Slotted(-i)
    REGISTRY[i] = slot
    iterator = iter([i, i + 1, i + 2])
    next(iterator)
    return [ordered, queue, slot, weakref.ref(slot), iterator,
            map(str, [i, i]), zip([i], ['z']), enumerate(['e', i]),
            memoryview(b'view-%d' % i if i % 2 else b'view')]


def make_mix(start, stop):
    """Append one list of mixed objects per iteration in [start, stop)."""
    for i in range(start, stop):
        MIX.append(scalars(i) + containers(i) + instances(i)
                   + callables(i) + library_types(i))


# ---------------------------------------------------------------------------
# Building the heap, generation by generation.

def build_old(scale):
    """Patterns that a full collection promotes to the oldest generation."""
    global OWNER, SELF_REF, WATCHED, WATCH_REF
    OWNER = Owner('owner')
    TREES.append(make_tree('old-tree', 3, 3))
    SELF_REF = SelfRef()
    WATCHED = Watched('watched')
    WATCH_REF = weakref.ref(WATCHED, on_watched_collected)
    DOOMED['old'] = make_tree('doomed-old', 2, 2)
    make_mix(0, scale // 3)
    make_orphan_cycles('saved')     # ends up in gc.garbage, see main()


def build_middle(scale):
    """Patterns that a generation-0 collection promotes to generation 1."""
    global SELF_LIST, SELF_DICT, PEERS
    SELF_LIST = ['self-list']
    SELF_LIST.append(SELF_LIST)
    SELF_DICT = {'name': 'self-dict'}
    SELF_DICT['self'] = SELF_DICT
    left, right = Peer('left'), Peer('right')
    left.other, right.other = weakref.proxy(right), weakref.proxy(left)
    PEERS = (left, right)
    TREES.append(make_tree('middle-tree', 2, 4))
    DOOMED['middle'] = make_tree('doomed-middle', 2, 2)
    make_mix(scale // 3, 2 * scale // 3)


def build_young(scale):
    """Patterns left in generation 0, and garbage no collection has seen."""
    global TRACEBACK
    TRACEBACK = capture_traceback()
    TREES.append(make_tree('young-tree', 2, 2))
    make_mix(2 * scale // 3, scale)
    make_orphan_cycles('young')
    DOOMED.clear()                  # the old and middle doomed trees


def name_anchors():
    """Remember a few objects under stable names for labels.tsv."""
    gen = next(x for x in MIX[0] if isinstance(x, types.GeneratorType))
    counter = next(x for x in MIX[0] if isinstance(x, types.FunctionType))
    # Not the innermost traceback frame: only the traceback may hold it (see
    # derived_anchors).
    ANCHORS.update({
        'owner': OWNER,
        'finalized': OWNER.finalized,
        'self_ref': SELF_REF,
        'self_list': SELF_LIST,
        'self_dict': SELF_DICT,
        'traceback': TRACEBACK,
        'closure_cell': counter.__closure__[0],
        'closure': counter,
        'generator': gen,
        'slots_instance': next(x for x in MIX[0] if isinstance(x, Slotted)),
        'wide_instance': next(x for x in MIX[0] if isinstance(x, Wide)),
        'tree_root': TREES[0],
        'peer_left': PEERS[0],
        'proxy': PEERS[0].other,
        'weakref_with_callback': WATCH_REF,
        'default_arg_list': remember.__defaults__[0],
        'module_dict': globals(),
        'mix': MIX,
        'gc_garbage': gc.garbage,
    })


def build_previews():
    """Values of every kind gcscope previews, kept alive in PREVIEWS."""
    PREVIEWS.extend([
        'short text', 'x' * 300, 'caf\u00e9 \u2603 \U0001f40d', '',
        0, 7, -42, 2 ** 62 + 1, -(2 ** 100), 2 ** 1000, True, False, None,
        1.5, -0.1, 1e100, 3.0,
        b'raw\x00bytes', b'y' * 100,
        make_counter, Owner, collections.OrderedDict, os, collections,
        Plain(0).describe.__func__,
    ])


def build(scale):
    """Build the heap over three generations and fill gc.garbage."""
    build_old(scale)
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    gc.set_debug(0)
    build_middle(scale)
    gc.collect(0)
    build_young(scale)
    build_previews()
    name_anchors()


# ---------------------------------------------------------------------------
# Planted bugs (--refbugs), for gcscope's analyses.

LEAKED_INCREFS = 5      # references refbugs.leak_incref leaks
LEAKED_EACH = 8         # floats, and strs, refbugs.leak_floats and leak_strs leak


def plant_refbugs(extension_dir):
    """Import refbugs from extension_dir and plant one bug of each kind.

    Each bug is planted on a fresh object of its own; once this returns,
    the sleeping process holds them like this (REFBUGS, anomalies.tsv; the
    recording child checks the numbers against the heap it sees):

      leak_incref  a LeakedByIncref held by one list in REFBUG_HOLDERS,
                   Py_INCREF'd 5 more times by refbugs.leak_incref:
                   ob_refcnt 6, 1 referrer, kind 'excess' (5 too many)
      orphan_list  the list ['refbugs: orphan list'] refbugs.orphan_list
                   made and leaked: ob_refcnt 1, 0 referrers, kind
                   'unreferenced'; the str in it is held by the list alone
                   (ob_refcnt 1, 1 referrer: no anomaly)
      reused_dict  a dict holding an empty list, made by refbugs.reused_dict
                   right after it released another dict, and leaked: it
                   usually has the other's memory, from the dict free list,
                   whose slot still holds that address (a stale pointer, no
                   reference): ob_refcnt 1, 0 referrers, kind 'unreferenced'
      leak_incref_str  a str made at run time, held by one list in
                   REFBUG_HOLDERS, Py_INCREF'd 5 more times: ob_refcnt 6,
                   1 referrer, kind 'excess'
      over_decref  an OverReleased held by two lists in REFBUG_HOLDERS,
                   Py_DECREF'd once by refbugs.over_decref without a
                   reference of its own: ob_refcnt 1, 2 referrers, kind
                   'deficit' (1 too few).  It was also held by the local
                   'released' then, so it survives; it would be freed when
                   one of its lists let go.

      leak_floats  LEAKED_EACH floats 271828.0 + i + 0.25, made and leaked by
                   refbugs.leak_floats: each ob_refcnt 1, no referrer
      leak_strs    LEAKED_EACH strs 'refbugs: leaked str %d' % i, the same
                   by refbugs.leak_strs

    The objects are referred to by their lists only: REFBUGS keeps their
    addresses as ints.  All but the str are tracked by the collector; none is
    garbage (a collection counts the over-released one's negative gc_refs
    as references from outside, so it stays).  The floats and strs are not
    tracked (nor in objects.tsv): pymalloc blocks in use that no object
    refers to.  LEAKED keeps their addresses as ints, with the text their
    previews must show (leaked.tsv).
    """
    sys.path.insert(0, extension_dir)
    try:
        import refbugs
    finally:
        del sys.path[0]
    leaked = LeakedByIncref()
    REFBUG_HOLDERS.append([leaked])
    addr = refbugs.leak_incref(leaked, LEAKED_INCREFS)
    REFBUGS.append(('leak_incref', addr, 'excess', 1 + LEAKED_INCREFS, 1))
    REFBUGS.append(('orphan_list', refbugs.orphan_list(), 'unreferenced', 1, 0))
    addr, _ = refbugs.reused_dict()
    REFBUGS.append(('reused_dict', addr, 'unreferenced', 1, 0))
    increfed = ''.join(['refbugs: ', 'a str Py_INCREF\'d too often'])
    REFBUG_HOLDERS.append([increfed])
    addr = refbugs.leak_incref(increfed, LEAKED_INCREFS)
    del increfed
    REFBUGS.append(('leak_incref_str', addr, 'excess', 1 + LEAKED_INCREFS, 1))
    released = OverReleased()
    REFBUG_HOLDERS.append([released])
    REFBUG_HOLDERS.append([released])
    addr = refbugs.over_decref(released)
    REFBUGS.append(('over_decref', addr, 'deficit', 1, 2))
    for i, addr in enumerate(refbugs.leak_floats(LEAKED_EACH)):
        LEAKED.append(('float', addr, repr(271828.0 + i + 0.25)))
    for i, addr in enumerate(refbugs.leak_strs(LEAKED_EACH)):
        LEAKED.append(('str', addr, ascii('refbugs: leaked str %d' % i)))


def plant_finalized_garbage():
    """Leave an already finalized Phoenix in a cycle nothing refers to.

    Its __del__ ran when its count first fell to 0 and resurrected it (the
    interpreter marks it finalized, PEP 442); now it refers to itself and
    is dropped.  A full collection finds it unreachable but will not call
    its __del__ again: finalizers.tsv leaves it out although its class has
    __del__.
    """
    Phoenix()
    bird = PHOENIX_NEST.pop()
    if not is_finalized(bird):
        raise AssertionError('the resurrected Phoenix is not marked finalized')
    bird.me = bird


def is_finalized(obj):
    """True if the collector marked obj finalized (tp_finalize was called).

    gc.is_finalized() from 3.9; before, bit 0 of a word of the GC head in
    front of a tracked object (Include/objimpl.h): 3.6 and 3.7, gc_refs
    (_PyGC_REFS_MASK_FINALIZED), the third word of a 32-byte head; 3.8,
    _gc_prev (_PyGC_PREV_MASK_FINALIZED), the second of a 16-byte head.
    """
    if hasattr(gc, 'is_finalized'):
        return gc.is_finalized(obj)
    if not gc.is_tracked(obj):
        return False
    back = 16 if sys.version_info < (3, 8) else 8
    return bool(ctypes.c_size_t.from_address(id(obj) - back).value & 1)


def has_finalizer(tp, cache):
    """True if instances of tp have a tp_finalize: __del__ on its MRO.

    Classes with __del__ get slot_tp_finalize; builtin types with a
    tp_finalize (generators, coroutines, ...) show it as __del__.
    """
    known = cache.get(tp)
    if known is None:
        known = any('__del__' in vars(k) for k in tp.__mro__)
        cache[tp] = known
    return known


def pending_finalizers(objs):
    """Addresses of the objects whose finalizer a collection would call."""
    cache = {}
    return [id(o) for o in objs
            if has_finalizer(type(o), cache) and not is_finalized(o)]


def check_refbugs(objs, counts, referents):
    """The anomalies.tsv rows for REFBUGS, checked against the heap.

    Each planted object must be in objs with the expected count (as
    true_refcounts computed it for the sleeping parent) and be referred to
    exactly the expected number of times among the objects' referents.
    An untracked one (the str) is read through its address: its raw
    count first, then its type through a reference of this child's own.
    """
    index = {id(o): k for k, o in enumerate(objs)}
    rows, problems = [], []
    for name, addr, kind, refcnt, referrers in REFBUGS:
        k = index.get(addr)
        if k is None:
            count = ctypes.c_ssize_t.from_address(addr + REFCNT_OFFSET).value
            tname = type_name(type(ctypes.cast(addr, ctypes.py_object).value))
        else:
            count, tname = counts[k], type_name(type(objs[k]))
        found = sum(refs.count(addr) for refs in referents)
        if count != refcnt or found != referrers:
            problems.append('%s: %#x %s has refcnt %d and %d referrers, expected %d and %d'
                            % (name, addr, tname, count, found, refcnt, referrers))
        rows.append(('%#x' % addr, kind, str(count), str(found), name, tname))
    if problems:
        raise AssertionError('planted refcount bugs are not as designed: '
                             + '; '.join(problems))
    return rows


def check_leaked(referents):
    """The leaked.tsv rows for LEAKED, checked against the heap.

    Each leaked object must still be what refbugs made: its raw ob_refcnt
    exactly 1 (the only, leaked reference: nothing here holds one), its
    ob_type float or str, its value the one recorded, and no object of
    gc.get_objects() may have it among its referents (referents: the ids
    of each one's, as record_truth computed them).  The counts and types
    are read with ctypes before the value is looked at through a
    reference of this child's own.
    """
    kinds = {'float': float, 'str': str}
    wanted = {addr for _, addr, _ in LEAKED}
    referred = collections.Counter(r for refs in referents for r in refs if r in wanted)
    rows, problems = [], []
    for kind, addr, value in LEAKED:
        refcnt = ctypes.c_ssize_t.from_address(addr + REFCNT_OFFSET).value
        ob_type = ctypes.c_void_p.from_address(
            addr + REFCNT_OFFSET + ctypes.sizeof(ctypes.c_ssize_t)).value
        if ob_type != id(kinds[kind]):
            problems.append('%#x: ob_type %#x is not %s' % (addr, ob_type or 0, kind))
            continue
        found = ascii(ctypes.cast(addr, ctypes.py_object).value) if kind == 'str' \
            else repr(ctypes.cast(addr, ctypes.py_object).value)
        if refcnt != 1 or referred[addr] or found != value:
            problems.append('%#x %s: refcnt %d, %d referrers, value %s; expected refcnt 1,'
                            ' no referrer, value %s'
                            % (addr, kind, refcnt, referred[addr], found, value))
        rows.append(('%#x' % addr, kind, str(refcnt), value))
    if problems:
        raise AssertionError('leaked floats and strs are not as designed: '
                             + '; '.join(problems))
    return rows


# ---------------------------------------------------------------------------
# What the analyses must find: paths from roots, the roots themselves.

def tracebacks():
    """The traceback objects of TRACEBACK, outermost first."""
    chain = []
    tb = TRACEBACK
    while tb is not None:
        chain.append(tb)
        tb = tb.tb_next
    return chain


def derived_anchors():
    """Anchors that ANCHORS must not hold, found from the heap: name -> object.

    traceback_innermost_frame, the frame of the innermost raise_deep call,
    is held by the innermost traceback object alone.
    """
    return {'traceback_innermost_frame': tracebacks()[-1].tb_frame}


def referent_where(obj, test, what):
    """The one referent of obj that passes test."""
    found = [r for r in gc.get_referents(obj) if test(r)]
    if len(found) != 1:
        raise AssertionError('%d referents of %r are %s' % (len(found), obj, what))
    return found[0]


def path_rows():
    """The rows of paths.tsv: objects kept alive through TRACEBACK alone.

    traceback_frame_marker   the list frame_marker of the innermost
                             raise_deep frame: globals ['TRACEBACK'], 4 x
                             tb_next, tb_frame, frame_marker
    traceback_held_by_frame  the dict held_by_frame of capture_traceback's
                             frame: globals ['TRACEBACK'], tb_frame,
                             held_by_frame

    Each chain is the only shortest one from the module's globals, and
    nothing nearer to a root leads into it: the tracebacks and their
    frames are held by TRACEBACK and each other (a frame's f_back leads
    out of the chain, to its caller), ANCHORS holds the outermost
    traceback one reference further away.
    """
    chain = tracebacks()
    inner, outer = chain[-1].tb_frame, chain[0].tb_frame
    marker = referent_where(
        inner, lambda r: type(r) is list and len(r) == 3 and r[0] == 'traceback-frame'
        and r[2] == 0, "raise_deep(0)'s frame_marker")
    held = referent_where(
        outer, lambda r: type(r) is dict and r.get('kept') == 'alive by the traceback',
        "capture_traceback's held_by_frame")
    paths = [
        ('traceback_frame_marker', marker,
         [("['TRACEBACK']", chain[0])] + [('tb_next', tb) for tb in chain[1:]]
         + [('tb_frame', inner), ('frame_marker', marker)]),
        ('traceback_held_by_frame', held,
         [("['TRACEBACK']", chain[0]), ('tb_frame', outer), ('held_by_frame', held)]),
    ]
    rows = []
    for name, target, hops in paths:
        row = [name, hexid(target), hexid(globals())]
        for label, obj in hops:
            row.extend((label, hexid(obj)))
        rows.append(row)
    return rows


def root_rows(skip):
    """The rows of roots.tsv: what the sleeping process holds from outside
    its heap (see the module docstring).

    The frames are the main thread's from main() outwards, as this child
    inherited them; locals whose values are in skip exist only here.
    """
    import builtins
    rows = [('interpreter', sys.modules, 'sys', 'modules'),
            ('interpreter', vars(sys), 'sys', '__dict__'),
            ('interpreter', vars(builtins), 'builtins', '__dict__'),
            ('gc', gc.garbage, 'gc', 'garbage')]
    frame = sys._getframe()
    while frame is not None and frame.f_code is not main.__code__:
        frame = frame.f_back
    if frame is None:
        raise AssertionError('main() is not on the stack')
    while frame is not None:
        code = frame.f_code
        rows.append(('frame', code, code.co_name, 'code'))
        rows.append(('frame', frame.f_globals, code.co_name, 'globals'))
        if code is main.__code__:
            if sys.version_info >= (3, 11):
                rows.append(('frame', main, code.co_name, 'function'))
            for local, value in sorted(frame.f_locals.items()):
                if not any(value is s for s in skip):
                    rows.append(('frame', value, code.co_name, 'local ' + local))
        frame = frame.f_back
    return [(kind, hexid(obj), holder, what) for kind, obj, holder, what in rows]


# ---------------------------------------------------------------------------
# Recording the truth, in forked children.

def hexid(obj):
    """Address of obj, in hex."""
    return '%#x' % id(obj)


def type_name(tp):
    """module.qualname of a type."""
    name = getattr(tp, '__qualname__', tp.__name__)
    module = getattr(tp, '__module__', None)
    if module in (None, 'builtins'):
        return name
    return '%s.%s' % (module, name)


def generations_of(objs, counted):
    """Map id -> generation; objs[counted:] were the frozen objects.

    Every tracked object is in generation 0, 1 or 2 (else the corpus is not
    as designed: AssertionError), from gc.get_objects(generation=) from 3.8
    on, from the collector's own lists before (collector_lists()).
    """
    gen = {}
    if sys.version_info >= (3, 8):
        for g in range(3):
            for o in gc.get_objects(generation=g):
                gen[id(o)] = g
    else:
        gen = collector_lists(objs[:counted])
    for o in objs[counted:]:
        gen[id(o)] = 3
    # A plain dict: a Counter would ask isinstance(..., Mapping), which
    # changes the caches of the abc classes before 3.7 (pure Python).
    counts = {}
    for o in objs[:counted]:
        g = gen.get(id(o))
        counts[g] = counts.get(g, 0) + 1
    if None in counts or not all(counts.get(g) for g in range(3)):
        raise AssertionError('generations 0, 1, 2 must each hold objects, and every'
                             ' object one of them: %r' % counts)
    return gen


# 3.6 and 3.7 (Include/objimpl.h): the GC head in front of a tracked object
# is a union of { gc_next, gc_prev, gc_refs } with a long double, 32 bytes
# on x86-64; gc_refs holds _PyGC_REFS_REACHABLE (-3) shifted left by one
# (the finalized flag below it) outside a collection.  The generations are
# an array of struct gc_generation { PyGC_Head head; int threshold, count; }
# (48 bytes), whose heads keep gc_refs 0 (Modules/gcmodule.c, generations[]
# in 3.6, _PyRuntime.gc.generations in 3.7).
OLD_GC_HEAD = 32
OLD_GC_GENERATION = 48


def collector_lists(objs):
    """Map id -> generation for objs on 3.6 and 3.7, read from the lists.

    Each object's gc_next is followed until a head whose gc_refs is 0,
    the head of its generation's list.  The memory is read with os.pread
    on /proc/self/mem, which makes no object the collector tracks: nothing
    joins or leaves a list while they are walked (the collector is
    disabled).  The three heads, in address order, are generations 0, 1
    and 2, OLD_GC_GENERATION bytes apart.
    """
    fd = os.open('/proc/self/mem', os.O_RDONLY)
    pread, word = os.pread, int.from_bytes
    head_of = {}                        # GC head -> address of its list's head
    try:
        for o in objs:
            at = id(o) - OLD_GC_HEAD
            path = []
            steps = 0
            while at not in head_of:
                if word(pread(fd, 8, at + 16), 'little', signed=True) == 0:
                    head_of[at] = at    # a generation's head
                    break
                path.append(at)
                at = word(pread(fd, 8, at), 'little')
                steps += 1
                if steps > 1 << 24:
                    raise AssertionError('the collector list from %#x does not end' % id(o))
            end = head_of[at]
            for p in path:
                head_of[p] = end
    finally:
        os.close(fd)
    heads = sorted({head_of[id(o) - OLD_GC_HEAD] for o in objs})
    if len(heads) != 3 or heads[1] - heads[0] != OLD_GC_GENERATION \
            or heads[2] - heads[1] != OLD_GC_GENERATION:
        raise AssertionError('collector list heads %s are not three generations %d bytes apart'
                             % (', '.join('%#x' % h for h in heads), OLD_GC_GENERATION))
    return {id(o): heads.index(head_of[id(o) - OLD_GC_HEAD]) for o in objs}


def true_refcounts(objs, raw, peek):
    """Turn the raw counts read in the child into the sleeping parent's.

    While the child read them, each object had two references the parent
    does not have: the objs list and the loop variable.  During each read,
    the ctypes instance doing it referred to its type, c_ssize_t, and
    attribute lookup held the 'value' descriptor.  The parent, once asleep,
    has time.sleep on its value stack.  Immortal objects (3.12+) keep their
    raw count.
    """
    reader = peek.__self__
    value = next(vars(k)['value'] for k in reader.__mro__ if 'value' in vars(k))
    extra = {id(reader): 1, id(value): 1, id(time.sleep): -1}
    counts, immortal = [], []
    for o, r in zip(objs, raw):
        if sys.version_info >= (3, 12) and (r & 0xffffffff) >= 0x80000000:
            counts.append(r)
            immortal.append(1)
        else:
            counts.append(r - 2 - extra.get(id(o), 0))
            immortal.append(0)
    return counts, immortal


# ---------------------------------------------------------------------------
# Allocation sizes, as the interpreter knows them.

OBJECT_SIZEOF = object.__dict__['__sizeof__']
TPFLAGS_INLINE_VALUES = 1 << 2          # 3.13+, Include/object.h

# pymalloc (Objects/obmalloc.c; Include/internal/pycore_obmalloc.h from 3.12):
# a pool is POOL_SIZE bytes, POOL_SIZE-aligned, and starts with a
#   struct pool_header { union { block *_padding; uint count; } ref;
#       block *freeblock; poolp nextpool, prevpool;
#       uint arenaindex, szidx, nextoffset, maxnextoffset; }
# (48 bytes on 64-bit = POOL_OVERHEAD, already a multiple of ALIGNMENT),
# followed by blocks of (szidx + 1) << ALIGNMENT_SHIFT bytes.  Pools are
# 16 KiB from 3.10 on (USE_LARGE_POOLS, with the radix tree of 64-bit
# builds), 4 KiB before; ALIGNMENT is 16 on 64-bit builds (bpo-27987, also
# in the 3.6 and 3.7 releases tested here).  Requests up to 512 bytes
# (SMALL_REQUEST_THRESHOLD) are served from pools.
POOL_SIZE = (1 << 14) if sys.version_info >= (3, 10) else (1 << 12)
POOL_OVERHEAD = 48
ALIGNMENT_SHIFT = 4
SMALL_SIZE_CLASSES = 512 >> ALIGNMENT_SHIFT


def keeps_object_sizeof(tp, cache):
    """True if tp's __sizeof__ is object.__sizeof__.

    Looked up on tp's MRO the way sys.getsizeof finds it (a special method
    lookup on the type): the first class defining __sizeof__ must be object.
    """
    known = cache.get(tp)
    if known is None:
        known = False
        for k in tp.__mro__:
            namespace = vars(k)
            if '__sizeof__' in namespace:
                known = namespace['__sizeof__'] is OBJECT_SIZEOF
                break
        cache[tp] = known
    return known


def pymalloc_usable():
    """True if objects here come straight from pymalloc pools.

    Not with the debug allocator hooks (debug builds, -X dev,
    PYTHONMALLOC=*_debug), which put bytes in front of each object, nor
    with PYTHONMALLOC=malloc, nor on builds other than 64-bit Linux.
    """
    return (sys.platform.startswith('linux') and ctypes.sizeof(ctypes.c_void_p) == 8
            and not hasattr(sys, 'gettotalrefcount') and REFCNT_OFFSET == 0
            and not getattr(sys.flags, 'dev_mode', False)
            and os.environ.get('PYTHONMALLOC', 'pymalloc') == 'pymalloc')


def readable_mappings():
    """The readable mappings of this process, as sorted [(start, end)]."""
    spans = []
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2 and fields[1].startswith('r'):
                    lo, hi = fields[0].split('-')
                    spans.append((int(lo, 16), int(hi, 16)))
    except (OSError, ValueError):
        return []
    spans.sort()
    return spans


def pymalloc_block(addr, spans, starts):
    """(block size, offset of addr in it) if addr is in a pymalloc block, else None.

    The pool header is read only when the pool's start lies in the same
    readable mapping as addr (so reading it is safe), and believed only if
    it is consistent with pymalloc's invariants and with addr: a size class,
    maxnextoffset == POOL_SIZE - size, a carved-out block holding addr, a
    plausible count of used blocks.  Memory that is not a pool fails these.
    """
    pool = addr & ~(POOL_SIZE - 1)
    k = bisect.bisect_right(starts, addr) - 1
    if k < 0 or pool < spans[k][0] or addr >= spans[k][1] \
            or addr - pool < POOL_OVERHEAD:
        return None
    head = (ctypes.c_uint32 * 12).from_address(pool)
    count, arenaindex, szidx, nextoffset, maxnextoffset = \
        head[0], head[8], head[9], head[10], head[11]
    if szidx >= SMALL_SIZE_CLASSES:
        return None
    size = (szidx + 1) << ALIGNMENT_SHIFT
    index, offset = divmod(addr - pool - POOL_OVERHEAD, size)
    if (maxnextoffset != POOL_SIZE - size or nextoffset > POOL_SIZE
            or nextoffset < POOL_OVERHEAD + 2 * size
            or (nextoffset - POOL_OVERHEAD) % size
            or POOL_OVERHEAD + (index + 1) * size > nextoffset
            or not 1 <= count <= (POOL_SIZE - POOL_OVERHEAD) // size
            or arenaindex >= 1 << 24):
        return None
    return size, offset


def object_sizes(objs):
    """The rows of sizes.tsv for objs, as tuples of str.

    getsizeof is sys.getsizeof(o), which is __sizeof__ plus the GC head and
    the pre-header the interpreter allocates in front of the object; it is
    written only where __sizeof__ is object.__sizeof__ (basicsize +
    itemsize * Py_SIZE), not where a type computes its own (which may count
    separately allocated buffers).  The comparator turns it into the
    allocation size (gcstest.expected_allocation).  On 3.13, instances of
    types with Py_TPFLAGS_INLINE_VALUES carry their values after the object
    (Objects/typeobject.c _PyType_AllocNoTrack, _PyInlineValuesSize), which
    object.__sizeof__ does not count; 'inline' is the capacity byte of that
    PyDictValues (Include/internal/pycore_dict.h struct _dictvalues), which
    _PyObject_InitInlineValues set from the size the allocation used.
    """
    cache = {}
    use_pools = pymalloc_usable()
    spans = readable_mappings() if use_pools else []
    starts = [lo for lo, _ in spans]
    read_capacity = sys.version_info[:2] == (3, 13)
    rows = []
    for o in objs:
        tp = type(o)
        flags = tp.__flags__
        size = '-'
        if keeps_object_sizeof(tp, cache):
            try:
                size = str(sys.getsizeof(o))
            except Exception:
                pass
        inline = '-'
        if read_capacity and flags & TPFLAGS_INLINE_VALUES:
            inline = str(ctypes.c_uint8.from_address(id(o) + tp.__basicsize__).value)
        block = pymalloc_block(id(o), spans, starts) if spans else None
        rows.append(('%#x' % id(o), size, '%#x' % flags, str(tp.__itemsize__), inline)
                    + (('%d' % block[0], '%d' % block[1]) if block else ('-', '-')))
    return rows


# Offsets in the object of the pointers to separately allocated buffers,
# the same on every version from 3.6: PyListObject.ob_item (after the
# PyVarObject header) and PyDictObject.ma_keys (after ma_used and
# ma_version_tag, _ma_watcher_tag in 3.13).
LIST_ITEMS_OFFSET = 3 * ctypes.sizeof(ctypes.c_void_p)
DICT_KEYS_OFFSET = 4 * ctypes.sizeof(ctypes.c_void_p)


def buffer_pointers(objs, peek):
    """For each object, the address of its list items or dict keys, or 0.

    Read first thing in the recording child, with the raw counts: anything
    the child does later (opening a file, importing) may move a buffer the
    interpreter keeps, such as the list of modules by index.
    """
    bufs = [0] * len(objs)
    i = 0
    for o in objs:
        if type(o) is list:
            bufs[i] = peek(id(o) + LIST_ITEMS_OFFSET).value
        elif type(o) is dict:
            bufs[i] = peek(id(o) + DICT_KEYS_OFFSET).value
        i += 1
    return bufs


def buffer_rows(objs, bufs):
    """The rows of buffers.tsv: (owner, buffer, block size) as str, from
    buffer_pointers().

    A buffer is listed once, with its first owner (dicts may share a keys
    table), and only where it starts a pymalloc block.
    """
    if not pymalloc_usable() or REFCNT_OFFSET:
        return []
    spans = readable_mappings()
    starts = [lo for lo, _ in spans]
    rows, seen = [], set()
    for o, buf in zip(objs, bufs):
        if not buf or buf in seen or (type(o) is list and not o):
            continue
        block = pymalloc_block(buf, spans, starts)
        if block is not None and block[1] == 0:
            seen.add(buf)
            rows.append(('%#x' % id(o), '%#x' % buf, '%d' % block[0]))
    return rows


def write_table(truth_dir, name, header, rows):
    """Write rows (sequences of str) as a TSV file with a header comment."""
    with open(os.path.join(truth_dir, name), 'w', encoding='utf-8') as f:
        f.write('# ' + '\t'.join(header) + '\n')
        for row in rows:
            f.write('\t'.join(row) + '\n')


def record_truth(truth_dir, objs, raw, bufs, counted, frozen, peek):
    """Child A: compute everything from the untouched heap, then write it."""
    scratch = {id(objs), id(raw), id(bufs)}
    counts, immortal = true_refcounts(objs, raw, peek)
    gen = generations_of(objs, counted)
    referents = [[r for r in map(id, gc.get_referents(o)) if r not in scratch]
                 for o in objs]
    garbage = [id(o) for o in gc.garbage]
    kinds = {}
    for o in objs:
        kinds[id(type(o))] = type(o)
    anchors = dict(ANCHORS, **derived_anchors())
    labels = sorted((name, id(obj)) for name, obj in anchors.items())
    finalizers = pending_finalizers(objs)
    anomalies = check_refbugs(objs, counts, referents)
    leaked = check_leaked(referents)
    gen_counts = collections.Counter(gen.get(id(o), '-') for o in objs)
    meta = [
        ('python_version', sys.version.split()[0]),
        ('sys_version', sys.version.replace('\n', ' ')),
        ('executable', sys.executable),
        ('pid', str(os.getppid())),
        ('freeze_count', str(frozen)),
        ('gc_debug', str(gc.get_debug())),
        ('gc_enabled', str(int(gc.isenabled()))),
        ('gc_thresholds', ','.join(map(str, gc.get_threshold()))),
        ('objects', str(len(objs))),
        ('objects_before_fork', str(counted + frozen)),
        ('generations', ' '.join('%s:%d' % (g, gen_counts[g])
                                 for g in sorted(gen_counts, key=str))),
        ('garbage', str(len(garbage))),
        ('immortal', str(sum(immortal))),
        ('refcnt_offset', str(REFCNT_OFFSET)),
        ('scale', str(SCALE)),
        ('threading_imported', str(int('threading' in sys.modules))),
        ('refbugs', str(len(REFBUGS))),
        ('finalizers', str(len(finalizers))),
    ]
    write_table(truth_dir, 'objects.tsv',
                ('addr', 'type_addr', 'generation', 'refcnt', 'immortal'),
                (('%#x' % id(o), hexid(type(o)), str(gen.get(id(o), '-')),
                  str(c), str(m))
                 for o, c, m in zip(objs, counts, immortal)))
    write_table(truth_dir, 'referents.tsv', ('addr', 'referents...'),
                (['%#x' % id(o)] + ['%#x' % r for r in refs]
                 for o, refs in zip(objs, referents)))
    write_table(truth_dir, 'types.tsv', ('type_addr', 'name'),
                (('%#x' % k, type_name(t)) for k, t in kinds.items()))
    write_table(truth_dir, 'garbage.tsv', ('addr',), (('%#x' % a,) for a in garbage))
    write_table(truth_dir, 'labels.tsv', ('name', 'addr'),
                ((n, '%#x' % a) for n, a in labels))
    write_table(truth_dir, 'meta.tsv', ('key', 'value'), meta)
    write_table(truth_dir, 'previews.tsv', ('addr', 'kind', 'value'),
                (preview_row(o) for o in PREVIEWS))
    write_table(truth_dir, 'sizes.tsv',
                ('addr', 'getsizeof', 'type_flags', 'itemsize', 'inline', 'block', 'offset'),
                object_sizes(objs))
    write_table(truth_dir, 'buffers.tsv', ('owner', 'buffer', 'block'),
                buffer_rows(objs, bufs))
    write_table(truth_dir, 'finalizers.tsv', ('addr',), (('%#x' % a,) for a in finalizers))
    write_table(truth_dir, 'anomalies.tsv',
                ('addr', 'kind', 'refcnt', 'referrers', 'name', 'type'), anomalies)
    write_table(truth_dir, 'leaked.tsv', ('addr', 'type', 'refcnt', 'value'), leaked)
    write_table(truth_dir, 'paths.tsv', ('name', 'addr', 'from', 'label', 'addr', '...'),
                path_rows())
    write_table(truth_dir, 'roots.tsv', ('kind', 'addr', 'holder', 'what'),
                root_rows((objs, raw, bufs)))


def preview_row(obj):
    """addr, kind, value: what a preview of obj is made from.

    value is ascii() of the Python value for str, bytes, int, float, bool
    and None; module.qualname for functions and classes; the name of a
    module.
    """
    if isinstance(obj, (types.FunctionType, type)):
        kind, value = 'qualname', '%s.%s' % (obj.__module__, obj.__qualname__)
        if obj.__module__ == 'builtins':
            value = obj.__qualname__
    elif isinstance(obj, types.ModuleType):
        kind, value = 'module', obj.__name__
    elif isinstance(obj, float):
        kind, value = 'value', repr(obj)
    else:
        kind, value = 'value', ascii(obj)
    return hexid(obj), kind, value


def record_unreachable(truth_dir):
    """Child B: collect everything, and write what was found unreachable."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    before = len(gc.garbage)
    gc.collect()
    found = gc.garbage[before:]
    write_table(truth_dir, 'unreachable.tsv', ('addr',), ((hexid(o),) for o in found))


def finish_child(work, *args):
    """Run work(*args) in a forked child and leave, never returning."""
    try:
        work(*args)
    except BaseException:
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)


def reap_child():
    """Wait for the one child; exit if it failed."""
    pid, status = os.wait()
    if status != 0:
        sys.stderr.write('leaky: recording child %d failed (status %#x)\n' % (pid, status))
        sys.exit(1)


CREATE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_TRUNC     # main(): mallocstats.txt, ready
# main(): pymalloc's statistics are printed every STATS_PAUSE seconds until
# STATS_STABLE printings in a row are the same as the one before, at most
# STATS_PRINTS times.
STATS_PAUSE = 0.2
STATS_STABLE = 4
STATS_PRINTS = 30


def parse_args(argv):
    """Return (ready_path, truth_dir, scale, refbugs_dir or None), or exit
    with a usage message."""
    usage = 'usage: leaky.py READY_PATH TRUTH_DIR [--scale N] [--refbugs DIR]\n'
    args = list(argv)
    scale = DEFAULT_SCALE
    refbugs_dir = None
    if '--refbugs' in args:
        k = args.index('--refbugs')
        if k + 1 >= len(args):
            sys.stderr.write(usage)
            sys.exit(2)
        refbugs_dir = args[k + 1]
        del args[k:k + 2]
    if '--scale' in args:
        k = args.index('--scale')
        try:
            scale = int(args[k + 1])
        except (IndexError, ValueError):
            sys.stderr.write(usage)
            sys.exit(2)
        del args[k:k + 2]
    if len(args) != 2 or scale < 3:
        sys.stderr.write(usage)
        sys.exit(2)
    return args[0], args[1], scale, refbugs_dir


SCALE = DEFAULT_SCALE


def warm_up(path):
    """3.6 and 3.7: make, before the fork, each os call main() makes after
    it once.

    What a first call leaves behind for good is then in the truth: the
    tuple of keyword names an argument parser builds on first use
    (_PyArg_Parser.kwtuple, a C static: tracked, held by nothing the
    collector sees).  path is created and removed again.
    """
    fd = os.open(path, CREATE_FLAGS, 0o644)
    os.unlink(path)
    saved = os.dup(2)
    os.dup2(saved, 2)
    os.write(fd, b'warm-up\n')
    os.lseek(fd, 0, os.SEEK_SET)
    os.read(fd, 1 << 16)
    os.close(fd)
    os.close(saved)


def answer_ping(signum, frame):
    """SIGUSR1: prove the process still runs and answers, by writing
    READY_PATH.pong (tests of live snapshots send it afterwards)."""
    with open(PONG_PATH, 'w') as f:
        f.write('pong %d\n' % os.getpid())


PONG_PATH = None


def main():
    """Build, record in children, signal readiness, then sleep forever.

    Everything after the fork is arranged so that the parent's heap stays
    exactly as the recording child saw it: the child's first step is taking
    the object list, then the raw reference counts, with nothing allocated
    in between; the parent creates no lasting object after the fork, and it
    sleeps in this frame, so no frame of its differs from the child's.

    mallocstats.txt is written by the parent itself, last, so that it is
    pymalloc's state in the core: sys._debugmallocstats() prints to fd 2,
    which is pointed at the file meanwhile.  The code is inline (a Python
    function called here would leave its frame behind before 3.11), uses
    only paths and flags made before the forks, and unbinds its locals
    again (the child recorded this frame's locals as roots).  The stats
    are printed into check_path (unlinked at once: only its open fd keeps
    it) and read back through its fd, every STATS_PAUSE seconds, until
    STATS_STABLE printings in a row are the same as the one before: the
    process is idle then, and pymalloc is as the core will find it.  (Now
    and then, under heavy load, one block in use was freed between the
    statistics and the core; a change seen here is written to stderr, and
    the printing goes on until it settles.)  The loop makes the same calls
    each time, and once more before the first printing, without it: the
    calls made after the last printing were all made before it (a first
    call can allocate for good: the keyword tuple an argument parser
    builds on first use in 3.6 and 3.7, a tuple for a free list).  What is
    read back are bytes objects too big for pymalloc (more than 512
    bytes), released again; the last is written to stats_path.  "ready"
    is written inline too, with os calls (no codecs or io), after it: a
    function called for it would leave its frame behind, a pymalloc block
    the stats do not count.
    """
    global SCALE
    ready_path, truth_dir, SCALE, refbugs_dir = parse_args(sys.argv[1:])
    if 'threading' in sys.modules:
        sys.stderr.write('leaky: warning: threading is imported (by site? run with -S):'
                         ' its at-fork handler will disturb the recorded truth\n')
    global PONG_PATH
    PONG_PATH = ready_path + '.pong'
    signal.signal(signal.SIGUSR1, answer_ping)
    ready = os.fsencode(ready_path)
    os.makedirs(truth_dir, exist_ok=True)
    stats_path = check_path = None
    if pymalloc_usable():
        stats_path = os.fsencode(os.path.join(truth_dir, 'mallocstats.txt'))
        check_path = stats_path + b'.check'
    elif os.path.exists(os.path.join(truth_dir, 'mallocstats.txt')):
        os.unlink(os.path.join(truth_dir, 'mallocstats.txt'))
    if hasattr(gc, 'freeze'):
        gc.freeze()                     # startup objects: permanent generation
    build(SCALE)
    if refbugs_dir is not None:
        plant_refbugs(refbugs_dir)
        plant_finalized_garbage()
    if sys.version_info < (3, 8):
        warm_up(os.fsencode(os.path.join(truth_dir, 'warm-up')))
    peek = ctypes.c_ssize_t.from_address
    offset = REFCNT_OFFSET
    frozen = gc.get_freeze_count() if hasattr(gc, 'freeze') else 0
    counted = len(gc.get_objects())
    if os.fork() == 0:
        if frozen:
            gc.unfreeze()               # frozen objects go to the end of the list
        objs = gc.get_objects()
        raw = [0] * len(objs)
        i = 0
        for o in objs:
            raw[i] = peek(id(o) + offset).value
            i += 1
        del o, i
        bufs = buffer_pointers(objs, peek)
        finish_child(record_truth, truth_dir, objs, raw, bufs, counted, frozen, peek)
    reap_child()
    if os.fork() == 0:
        finish_child(record_unreachable, truth_dir)
    reap_child()
    if stats_path is not None:
        saved = os.dup(2)
        k = same = 0
        first = b''
        while k < STATS_PRINTS and same < STATS_STABLE:
            fd = os.open(check_path, CREATE_FLAGS, 0o644)
            os.unlink(check_path)
            os.dup2(fd, 2)
            if k:
                sys._debugmallocstats()
            os.dup2(saved, 2)
            os.lseek(fd, 0, os.SEEK_SET)
            second = os.read(fd, 1 << 16)
            os.close(fd)
            if k > 2 and second != first:
                sys.stderr.write(
                    'leaky: pymalloc changed while the process idled (printing %d); '
                    'before - after +:\n' % k
                    + '\n'.join(['- ' + line for line in first.decode().splitlines()
                                  if line not in second.decode().splitlines()]
                                 + ['+ ' + line for line in second.decode().splitlines()
                                    if line not in first.decode().splitlines()]) + '\n')
                sys.stderr.flush()
                same = 0
            elif k > 1:
                same += 1
            first = second
            k += 1
            time.sleep(STATS_PAUSE)
        if same < STATS_STABLE or not second:
            raise AssertionError('leaky: sys._debugmallocstats() printed nothing, or'
                                 ' did not settle in %d printings' % k)
        fd = os.open(stats_path, CREATE_FLAGS, 0o644)
        os.write(fd, second)
        os.close(fd)
        os.close(saved)
        del saved, k, same, fd, first, second
    fd = os.open(ready, CREATE_FLAGS, 0o644)
    os.write(fd, b'ready\n')
    os.close(fd)
    del fd
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    main()
