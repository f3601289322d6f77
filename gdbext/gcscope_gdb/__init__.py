# SPDX-License-Identifier: MIT
"""gcscope's gdb commands (see ../gcscope.py).

commands  the table of commands: what each runs and how it reads its
          argument; their help comes from the analyzer
analyzer  finding and running the analyzer (gcscope)
target    what the inferior is, how to snapshot it, the cached snapshot
utils     options, addresses as gdb expressions, printing records
"""
