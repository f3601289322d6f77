# SPDX-License-Identifier: MIT
"""gcscope's gdb commands: the Python heap of the inferior, from gdb.

Load with

    source /path/to/gcscope/gdbext/gcscope.py

(or let gdb load it by itself: see README.md, "gdb commands").  This adds
py-cycles, py-garbage, py-leaks, py-census, py-path, py-referrers,
py-referents, py-types, py-sql and py-snapshot; 'help COMMAND' describes
each.  They run the gcscope analyzer on the live process or the core gdb
has loaded and print what its snapshot says; nothing of the heap is
walked here.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(os.path.realpath(__file__)))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from gcscope_gdb import commands  # noqa: E402

commands.register()
