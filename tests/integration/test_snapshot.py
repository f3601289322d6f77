"""gcscope snapshot of a core, compared with the interpreter's own truth.

For each interpreter and mode in CONFIGS: run corpora/leaky.py, take a core
with gcore once it is ready, snapshot the core with gcscope (the run's
shared core and snapshot: gcstest.corpus_core), and compare
the database with the truth the workload recorded (see
gcstest.compare_snapshot for the measures and their pass marks).  Every
mode must meet the same marks; what differs is where gcscope takes the
interpreter's layout from, which meta.layout_source must name:

  dwarf                 the interpreter as installed, with its DWARF
  builtin-strip-debug   a copy of a pyenv install whose files have no DWARF
  builtin-strip-all     (gcstest.stripped_copy): gcscope's built-in tables,
                        or on 3.13+ _Py_DebugOffsets (debug-offsets-strip-*);
                        builtin-strip-all on 3.13 forces --layout builtin
  nodebug               Debian's python3.11 with --no-default-debuginfo, so
                        its debug file in /usr/lib/debug is not used
"""

import dataclasses

import pytest

import gcstest


@dataclasses.dataclass(frozen=True)
class Mode:
    """How one interpreter is run and snapshot."""

    name: str              # case-name suffix
    strip: str             # '' or a gcstest.STRIP_MODES entry: run a stripped copy
    args: tuple            # extra gcscope snapshot options
    layout_source: str     # what meta.layout_source must say


DWARF = Mode('dwarf', '', (), 'dwarf')
BUILTIN = [Mode('builtin-' + strip, strip, (), 'builtin') for strip in gcstest.STRIP_MODES]
DEBUG_OFFSETS = [Mode('debug-offsets-' + strip, strip, (), 'debug_offsets')
                 for strip in gcstest.STRIP_MODES]
FORCED_BUILTIN = Mode('builtin-strip-all', 'strip-all', ('--layout', 'builtin'), 'builtin')
NODEBUG = Mode('nodebug', '', ('--no-default-debuginfo',), 'builtin')

def modes(spec):
    """The modes one interpreter of gcstest.INTERPRETERS is tested in.

    A pyenv build: with its DWARF, then as stripped copies, which read
    the _Py_DebugOffsets the interpreter carries (3.13+) or else the
    built-in table; from 3.13 the built-in table is also forced on a
    copy without symbols. A distribution's stripped interpreter: with
    its debug package, then without it."""
    if not spec.pyenv:
        return [DWARF, NODEBUG]
    if tuple(map(int, spec.version.split('.')[:2])) >= (3, 13):
        return [DWARF] + DEBUG_OFFSETS + [FORCED_BUILTIN]
    return [DWARF] + BUILTIN


# (gcstest.INTERPRETERS name, mode) pairs to test: every interpreter there.
CONFIGS = [(spec.name, mode) for spec in gcstest.INTERPRETERS for mode in modes(spec)]

SCRIPT = gcstest.CORPORA / 'leaky.py'


# Labelled references every snapshot must have, as (anchor in labels.tsv,
# label, anchor the edge points at or None for any object). They are what a
# person reads: attribute names (managed dicts, inline values, __slots__),
# dict keys, list indexes, frame locals, and the named fields of functions,
# cells, tracebacks and weakrefs.
LABELS = [
    ('owner', 'finalized', 'finalized'),
    ('finalized', 'owner', 'owner'),
    ('self_ref', 'me', 'self_ref'),
    ('self_list', '[1]', 'self_list'),
    ('self_dict', "['self']", 'self_dict'),
    ('slots_instance', 'index', None),
    ('slots_instance', 'label', None),
    ('slots_instance', 'items', None),
    ('wide_instance', 'a02', None),
    ('wide_instance', 'a11', None),
    ('traceback', 'tb_frame', None),
    ('traceback', 'tb_next', None),
    ('traceback_innermost_frame', 'frame_marker', None),
    ('closure', '__closure__', None),
    ('closure', '__code__', None),
    ('closure_cell', 'cell_contents', None),
    ('generator', 'seen', None),
    ('generator', 'items', None),
    ('tree_root', 'children', None),
    ('weakref_with_callback', '__callback__', None),
    ('module_dict', "['OWNER']", 'owner'),
    ('module_dict', "['SELF_LIST']", 'self_list'),
]


def check_labels(truth, snap):
    """Every LABELS entry is an edge of the snapshot; return the misses."""
    misses = []
    for src_name, label, dst_name in LABELS:
        src = truth.labels[src_name]
        dst = truth.labels[dst_name] if dst_name else None
        edges = snap.edges.get(src, [])
        # An attribute is held by the object itself (values, slots) or,
        # once its __dict__ exists, by that dict under its name; before
        # 3.11 a generator's locals are held by its frame object.
        via_dict = [e for d in edges if d.label == '__dict__'
                    for e in snap.edges.get(d.dst, [])]
        via_frame = [e for d in edges if d.label == 'gi_frame'
                     for e in snap.edges.get(d.dst, [])]
        if not any(e.label == label and (dst is None or e.dst == dst)
                   for e in edges + via_frame) and \
           not any(e.label == "['%s']" % label and (dst is None or e.dst == dst)
                   for e in via_dict):
            have = ', '.join(sorted(set(str(e.label) for e in edges))[:12])
            misses.append('%s -%s-> %s missing; %s has [%s]'
                          % (src_name, label, dst_name or '*', src_name, have))
    return misses


def check_meta(interpreter, mode, snap, truth):
    """meta says where the layout came from, which libpython was read,
    the interpreter's full version, and the collector's settings as the
    process had them (leaky.py runs with gc.disable())."""
    failures = []
    for key in ('python_version', 'gc_enabled', 'gc_thresholds'):
        want = truth.meta.get(key)
        if key == 'gc_enabled' and truth.version[:2] == (3, 6) and mode.strip == 'strip-all':
            # 3.6 keeps it in a static of gcmodule.c that only .symtab names.
            want = None
        if snap.meta.get(key) != want:
            failures.append('meta.%s %r, the process had %r' % (key, snap.meta.get(key), want))
    keys = ('python_version', 'gc_enabled', 'gc_thresholds')
    print('  meta: Python %s, gc_enabled %s, gc_thresholds %s (process: %s, %s, %s)'
          % (tuple(snap.meta.get(k, '-') for k in keys)
             + tuple(truth.meta.get(k, '-') for k in keys)))
    source = snap.meta.get('layout_source')
    if source != mode.layout_source:
        failures.append('layout_source %r, expected %r' % (source, mode.layout_source))
    libpython = interpreter.libpython()
    if libpython is not None and snap.meta.get('libpython') != str(libpython):
        failures.append('meta.libpython %r, expected %s'
                        % (snap.meta.get('libpython'), libpython))
    debuginfo = snap.meta.get('debuginfo')
    if '--no-default-debuginfo' in mode.args and debuginfo and \
       debuginfo.startswith(str(gcstest.DEBUG_ROOT) + '/'):
        failures.append('meta.debuginfo %s despite --no-default-debuginfo' % debuginfo)
    return failures


@pytest.mark.weight(3)
@pytest.mark.parametrize('name, mode', [pytest.param(name, mode, id='%s-%s' % (name, mode.name))
                                        for name, mode in CONFIGS])
def test_snapshot(name, mode, corpus_core, corpus_snapshot):
    """One interpreter in one mode: 'pyenv-3.12.1-builtin-strip-all'."""
    corpus = corpus_core(name + ('-' + mode.strip if mode.strip else ''))
    interpreter = corpus.interpreter
    db, elapsed = corpus_snapshot(corpus, mode.args)
    truth = corpus.truth()
    snap = gcstest.Snapshot(db)
    result = gcstest.compare_snapshot(truth, snap)
    print('%s (%s): %s' % (snap.label, mode.name, result.summary()))
    print('  snapshot %.1f s: %d objects, %d edges, %s corrupt; libpython %s, debuginfo %s'
          % (elapsed, len(snap.objects), sum(map(len, snap.edges.values())),
             snap.meta.get('corrupt', '?'), snap.meta.get('libpython', '-'),
             snap.meta.get('debuginfo', '-')))
    verbose = not result.ok or gcstest.verbose()
    for line in result.report() if verbose else result.report_facts():
        print(line)
    label_misses = check_labels(truth, snap)
    print('  labels: %d of %d labelled references found'
          % (len(LABELS) - len(label_misses), len(LABELS)))
    for line in label_misses:
        print('    ' + line)
    failures = check_meta(interpreter, mode, snap, truth)
    failures += result.failures() if not result.ok else []
    if label_misses:
        failures.append('%d labelled references missing' % len(label_misses))
    assert not failures, '; '.join(failures)
