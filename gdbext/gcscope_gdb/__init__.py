# SPDX-License-Identifier: MIT
"""gcscope's gdb commands, one module per command (see ../gcscope.py).

analyzer  finding and running the analyzer (gcscope)
target    what the inferior is, how to snapshot it, the cached snapshot
utils     options, addresses as gdb expressions, printing records
"""
