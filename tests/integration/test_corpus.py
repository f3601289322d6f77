"""The corpus's truth checked against raw memory, without gcscope.

For every interpreter gcstest knows: run corpora/leaky.py, take a core with
gcore, and check that every object the truth lists is in the core at its
address with the recorded type and reference count, read straight from
the core's memory.  This is what makes the truth trustworthy as a reference
for gcscope: if this test fails, a failing snapshot test says nothing about
gcscope.
"""

import collections

import pytest

import gcstest

WORD = 8


def check_header(truth, core):
    """Compare ob_type and ob_refcnt in the core with the truth.

    Returns (type matches, refcount matches, examples of mismatches).
    """
    offset = int(truth.meta.get('refcnt_offset', '0'))
    type_ok = refcnt_ok = 0
    examples = []
    for addr, obj in truth.objects.items():
        refcnt = core.ssize(addr + offset)
        type_addr = core.ssize(addr + offset + WORD)
        name = truth.types.get(obj.type_addr, '?')
        if type_addr is None or refcnt is None:
            examples.append('%#x %s: not in the core' % (addr, name))
            continue
        type_addr &= (1 << 64) - 1
        if type_addr != obj.type_addr:
            examples.append('%#x %s: ob_type in the core is %#x (%s)'
                            % (addr, name, type_addr, truth.types.get(type_addr, '?')))
            continue
        type_ok += 1
        if refcnt == obj.refcnt:
            refcnt_ok += 1
        else:
            examples.append('%#x %s: ob_refcnt in the core is %d, truth %d'
                            % (addr, name, refcnt, obj.refcnt))
    return type_ok, refcnt_ok, examples


def check_consistency(truth):
    """Problems with the truth files themselves, as a list of lines."""
    problems = []
    meta = truth.meta
    if meta.get('objects') != meta.get('objects_before_fork'):
        problems.append('the child saw %s objects, the parent had %s before fork'
                        % (meta.get('objects'), meta.get('objects_before_fork')))
    if meta.get('threading_imported') != '0':
        problems.append('threading was imported: its at-fork handler ran in the child')
    frozen = sum(1 for o in truth.objects.values() if o.generation == 3)
    if frozen != truth.freeze_count:
        problems.append('%d objects in generation 3, freeze count %d'
                        % (frozen, truth.freeze_count))
    for name, addrs in (('garbage', truth.garbage), ('unreachable', truth.unreachable)):
        if not addrs:
            problems.append('%s.tsv is empty' % name)
        lost = [a for a in addrs if a not in truth.objects]
        if lost:
            problems.append('%d %s objects are not in objects.tsv' % (len(lost), name))
    for name, addr in truth.labels.items():
        if addr not in truth.objects:
            problems.append('label %s (%#x) is not a tracked object' % (name, addr))
    referrers = collections.Counter()
    for refs in truth.referents.values():
        referrers.update(refs)
    over = [a for a, n in referrers.items()
            if a in truth.objects and not truth.objects[a].immortal
            and n > truth.objects[a].refcnt]
    if over:
        problems.append('%d objects have more referrers among the truth objects than'
                        ' their refcount, e.g. %#x' % (len(over), over[0]))
    unreachable_types = collections.Counter(truth.type_name(a) for a in truth.unreachable)
    for kind in ('__main__.Orphan', '__main__.TreeNode', '__main__.Finalized'):
        if not unreachable_types[kind]:
            problems.append('no %s among the unreachable objects' % kind)
    return problems


@pytest.mark.parametrize('name', [spec.name for spec in gcstest.INTERPRETERS])
def test_corpus(name, corpus_core):
    """The workload under the interpreter called name: its truth checked."""
    corpus = corpus_core(name)
    truth = corpus.truth()
    with gcstest.CoreFile(corpus.core) as core:
        type_ok, refcnt_ok, examples = check_header(truth, core)
    total = len(truth.objects)
    problems = check_consistency(truth)
    print('%s corpus: objects %d (frozen %d) core-type %.2f%% core-refcnt %.2f%% '
          'garbage %d unreachable %d'
          % (truth.meta.get('python_version'), total, truth.freeze_count,
             100.0 * type_ok / total, 100.0 * refcnt_ok / total,
             len(truth.garbage), len(truth.unreachable)))
    for line in problems:
        print('  ' + line)
    if examples:
        print('  mismatches (%d, first 10):' % len(examples))
        for line in examples[:10]:
            print('    ' + line)
    if examples or problems:
        raise AssertionError('%d objects differ from the core; %d other problems'
                             % (len(examples), len(problems)))
