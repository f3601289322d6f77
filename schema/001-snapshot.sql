-- gcscope snapshot database, schema version 1.
--
-- One database holds one snapshot of one CPython process: every object the
-- garbage collector tracks, every object they refer to, and the references
-- between them, as read from a core file or a live process.
--
-- Addresses are the target's addresses (PyObject * in the process), stored
-- as integers: write them in hex in queries, e.g. WHERE addr = 0x7f3a1c2d4e50.
-- Tables are STRICT, so reading needs SQLite 3.37 or later.
--
-- The statements after the line "-- @after-load" run once all rows are in:
-- indexes are built after the bulk load, not during it. Enumerations are
-- checked with "x = a OR x = b", not "x IN (a, b)": SQLite evaluates an IN
-- list through a temporary table for every row, which made loading a
-- snapshot three times slower.

-- What the snapshot was taken from and how it was read.
-- Keys: schema_version, gcscope_version, created_at (UTC, ISO 8601),
-- source ('core:PATH' or 'pid:N'), executable, libpython (path of the module
-- that holds the runtime), python_version (platform.python_version() of the
-- interpreter: '3.12.1', '3.13.0rc2'; only '3.9' where the micro version
-- could not be read), layout_source
-- ('dwarf', 'debug_offsets' or 'builtin'), interpreters, gc_debug (the
-- gc.set_debug() flags of the main interpreter), gc_collecting (1 if a
-- collection was running when the snapshot was taken: lists may be partial),
-- the main interpreter's collector as gc.isenabled(), gc.get_threshold() and
-- gc.get_count() would give it: gc_enabled ('1', or '0' after gc.disable();
-- absent where it cannot be read: 3.6 without .symtab), gc_thresholds and
-- gc_counts (the three generations' values joined by commas, '700,10,10',
-- '412,3,0'; a threshold of 0 for generation 0 also stops automatic
-- collection; a count is allocations minus deallocations of tracked
-- objects for generation 0, collections of the generation below since the
-- last of its own for the others),
-- objects, tracked, edges, types, corrupt (objects with status 'corrupt' or
-- 'unreadable'), debuginfo (the file the DWARF came from), walk_problem
-- (why the walk was cut short, if it was); for a live process pause_ms (how
-- long it was stopped) and stopped (0 with --no-stop); for a core
-- core_truncated (1 if the file is shorter than its headers say: the
-- snapshot holds what it has), and then core_file_bytes,
-- core_file_wanted_bytes, memory_bytes (memory its segments hold),
-- memory_missing_bytes (of which the file lacks), memory_missing_from (the
-- lowest address missing, '0x...'), notes_missing (1 if its notes are cut);
-- unreadable (objects with status 'unreadable'), partial (objects with
-- status 'partial'); the analyses'
-- counts cycles, reachable, unreachable, gc_garbage, anomalies; and the
-- time each part took in milliseconds: time_walk_ms, time_cycles_ms,
-- time_reach_ms, time_garbage_ms, time_anomalies_ms.
CREATE TABLE meta(
  key   TEXT PRIMARY KEY,  -- name of the fact
  value TEXT NOT NULL      -- its value, as text
) STRICT;

-- Every type that is the type of a recorded object.
CREATE TABLE types(
  addr          INTEGER PRIMARY KEY,  -- PyTypeObject * in the target
  name          TEXT NOT NULL,        -- tp_name as stored ('dict', 'collections.OrderedDict', 'Node')
  module        TEXT,                 -- __module__ of heap types; for static types the part of tp_name before the last '.', else 'builtins'
  basicsize     INTEGER NOT NULL,     -- tp_basicsize, bytes
  itemsize      INTEGER NOT NULL,     -- tp_itemsize, bytes per item of variable-size objects
  flags         INTEGER NOT NULL,     -- tp_flags bits (Include/object.h Py_TPFLAGS_*)
  heap          INTEGER NOT NULL CHECK(heap BETWEEN 0 AND 1),           -- 1 for heap types (class statements, PyType_FromSpec)
  has_finalizer INTEGER NOT NULL CHECK(has_finalizer BETWEEN 0 AND 1)   -- 1 if tp_finalize (__del__) or the legacy tp_del is set
) STRICT;

-- Every object found: the tracked ones on the collector's lists and every
-- object referred to from them, tracked or not.
CREATE TABLE objects(
  addr       INTEGER PRIMARY KEY,  -- PyObject * in the target (id() in the process)
  type_addr  INTEGER REFERENCES types(addr),  -- ob_type; NULL if the header could not be read, or its type (status 'partial')
  type       TEXT,                 -- tp_name of ob_type, copied from types.name for convenience
  refcnt     INTEGER,              -- ob_refcnt as read, raw (immortal objects show the immortal value)
  size       INTEGER,              -- bytes of the object's allocation: GC head and pre-header, header, items; not separately allocated buffers
  gc_tracked INTEGER CHECK(gc_tracked BETWEEN 0 AND 1),  -- 1 if on a collector list; NULL if not known (status 'partial')
  generation INTEGER CHECK(generation BETWEEN 0 AND 3),     -- 0, 1, 2, or 3 for the permanent generation (gc.freeze()); NULL if not tracked, or not known (status 'partial')
  immortal   INTEGER NOT NULL CHECK(immortal BETWEEN 0 AND 1),    -- 1 for immortal objects (3.12+)
  repr       TEXT,                 -- short readable preview: str value (truncated), int value, qualified name of functions, classes and modules, len of containers
  status     TEXT NOT NULL CHECK(status = 'ok' OR status = 'corrupt' OR status = 'unreadable' OR
                                 status = 'partial'),
                                   -- 'corrupt': read but inconsistent; 'unreadable': its memory is not in the snapshot;
                                   -- 'partial': read, but some of what it is or refers to is in memory a truncated
                                   -- core lacks: the columns that depend on it are NULL (type, size, gc_tracked,
                                   -- generation, repr), and its references may be incomplete
  detail     TEXT,                 -- why the object is corrupt, unreadable or partial, else NULL
  in_cycle   INTEGER               -- cycles.cycle_id of the reference cycle it is in, else NULL
) STRICT;

-- One row per reference from one object to another: a list holding x twice
-- has two rows.
--   kind 'traverse':     a reference the type's tp_traverse visits, i.e. what
--                        gc.get_referents() returns and what cycles are made of
--   kind 'strong':       an owned reference tp_traverse does not visit (str keys
--                        of dicts, fields of code objects, names of types)
--   kind 'borrowed':     a pointer that holds no reference (a weakref's referent)
--   kind 'conservative': a word in an object of a type gcscope cannot decode
--                        that points at a known object; may be a reference
CREATE TABLE edges(
  src   INTEGER NOT NULL REFERENCES objects(addr),  -- the referring object
  dst   INTEGER NOT NULL REFERENCES objects(addr),  -- the referred object
  kind  TEXT NOT NULL CHECK(kind = 'traverse' OR kind = 'strong' OR
                            kind = 'borrowed' OR kind = 'conservative'),
  label TEXT                 -- how src refers to dst: attribute name 'parent', dict key "['name']", index '[3]', field '__class__', local name 'x'
) STRICT;


-- @after-load

CREATE INDEX edges_src ON edges(src);
CREATE INDEX edges_dst ON edges(dst);
CREATE INDEX objects_type ON objects(type_addr);
CREATE INDEX objects_cycle ON objects(in_cycle) WHERE in_cycle IS NOT NULL;

-- Reference cycles as the collector sees them: the strongly connected
-- components, among tracked objects, of the 'traverse' edges (and the
-- 'conservative' ones of types gcscope cannot decode) that have more than
-- one member, or one member that refers to itself. cycle_id numbers them
-- from 1, largest first; one row per member.
CREATE VIEW cycles AS
  SELECT in_cycle AS cycle_id, addr FROM objects WHERE in_cycle IS NOT NULL;

-- Who refers to an object: SELECT * FROM referrers WHERE addr = 0x...;
CREATE VIEW referrers AS
  SELECT e.dst AS addr, e.src AS referrer, o.type AS referrer_type,
         e.kind AS kind, e.label AS label, o.repr AS referrer_repr
  FROM edges e JOIN objects o ON o.addr = e.src;

-- What an object refers to: SELECT * FROM referents WHERE addr = 0x...;
CREATE VIEW referents AS
  SELECT e.src AS addr, e.dst AS referent, o.type AS referent_type,
         e.kind AS kind, e.label AS label, o.repr AS referent_repr
  FROM edges e JOIN objects o ON o.addr = e.dst;

-- Objects and bytes per type, most bytes first.
CREATE VIEW type_histogram AS
  SELECT type_addr, type, count(*) AS count, sum(size) AS bytes,
         sum(gc_tracked) AS tracked
  FROM objects GROUP BY type_addr ORDER BY bytes DESC, count DESC;

-- One row per cycle: its size, the types of its members, whether any member
-- has a finalizer (__del__).
CREATE VIEW cycle_summary AS
  SELECT c.cycle_id AS cycle_id, count(*) AS members,
         group_concat(DISTINCT o.type) AS types,
         max(coalesce(t.has_finalizer, 0)) AS has_finalizer
  FROM cycles c JOIN objects o ON o.addr = c.addr
       LEFT JOIN types t ON t.addr = o.type_addr
  GROUP BY c.cycle_id ORDER BY members DESC, c.cycle_id;

-- The references that hold each cycle together.
CREATE VIEW cycle_edges AS
  SELECT a.cycle_id AS cycle_id, e.src AS src, so.type AS src_type,
         e.label AS label, e.dst AS dst, d.type AS dst_type
  FROM cycles a JOIN edges e ON e.src = a.addr
                                AND e.kind IN ('traverse', 'conservative')
       JOIN cycles b ON b.addr = e.dst AND b.cycle_id = a.cycle_id
       JOIN objects so ON so.addr = e.src
       JOIN objects d ON d.addr = e.dst;

PRAGMA user_version = 1;
