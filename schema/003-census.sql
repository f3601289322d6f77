-- gcscope snapshot database, schema version 3: the census of pymalloc.
--
-- pymalloc serves every request of up to 512 bytes from pools of blocks of
-- one size, carved out of arenas; the objects the collector does not track
-- (str, int, float, bytes, tuples of them...) live there too. gcscope reads
-- every arena and pool, so it finds the objects that nothing refers to --
-- a C extension's leaked str or float, which gc-based tools cannot see --
-- and accounts for pymalloc's memory by what holds it.
--
-- Objects over 512 bytes (and everything under PYTHONMALLOC=malloc) come
-- from malloc: gcscope finds those through references only.
--
-- New meta keys: census (1 if pymalloc's arenas were read, else 0),
-- census_source (how pymalloc's state was found: 'symbols', the statics
-- of Objects/obmalloc.c before 3.12; 'interpreter', PyInterpreterState.
-- obmalloc from 3.12; 'scan', before 3.12 without symbols: the word of
-- the interpreter's data that points to the arenas of the objects found),
-- census_problem (why not, or what was inconsistent and left out),
-- arena_objects (objects found in the arenas only), pymalloc_arenas,
-- pymalloc_pools (pools in use), pymalloc_arena_bytes,
-- pymalloc_used_bytes (allocated blocks), pymalloc_free_bytes (free
-- blocks of the pools in use), pymalloc_object_bytes (allocated blocks
-- holding an object found), pymalloc_buffer_bytes (holding a buffer of
-- one), pymalloc_unknown_bytes (allocated blocks holding nothing gcscope
-- found: memory no object accounts for), pymalloc_dangling (objects found
-- by reference in free blocks: references to freed memory), time_census_ms.

-- How each object was found:
--   'gc':       on a collector list (gc_tracked = 1)
--   'referent': referred to by an object found
--   'arena':    in an allocated pymalloc block that holds a live object
--               (its type is a type, its count positive, its size that of
--               the block) and by nothing else: nothing found refers to it
ALTER TABLE objects ADD COLUMN found TEXT NOT NULL DEFAULT 'referent'
  CHECK(found = 'gc' OR found = 'referent' OR found = 'arena');

-- pymalloc's arenas (Objects/obmalloc.c struct arena_object).
CREATE TABLE pymalloc_arenas(
  addr       INTEGER PRIMARY KEY,  -- where its memory starts
  size       INTEGER NOT NULL,     -- ARENA_SIZE: 256 KiB before 3.10, 1 MiB since
  pools      INTEGER NOT NULL,     -- pools it can hold (ntotalpools)
  free_pools INTEGER NOT NULL,     -- pools empty or never carved (nfreepools)
  used_pools INTEGER NOT NULL      -- pools in use (rows of pymalloc_pools)
) STRICT;

-- pymalloc's pools in use (struct pool_header with ref.count > 0).
CREATE TABLE pymalloc_pools(
  addr       INTEGER PRIMARY KEY,  -- the pool: POOL_SIZE bytes (4 KiB before 3.10, 16 KiB since)
  arena      INTEGER NOT NULL REFERENCES pymalloc_arenas(addr),
  block_size INTEGER NOT NULL,     -- bytes per block: its size class
  capacity   INTEGER NOT NULL,     -- blocks it can hold
  used       INTEGER NOT NULL,     -- allocated blocks (ref.count)
  objects    INTEGER NOT NULL,     -- allocated blocks holding an object found
  buffers    INTEGER NOT NULL,     -- allocated blocks holding a buffer of one
  bad        INTEGER NOT NULL CHECK(bad BETWEEN 0 AND 1)
             -- 1 if its free chain does not leave 'used' blocks allocated
) STRICT;

-- The allocated blocks of each size that hold objects of each type, or
-- buffers owned by objects of that type: a list's item array, a dict's
-- keys or values, a set's table.
CREATE TABLE pymalloc_usage(
  block_size  INTEGER NOT NULL,
  what        TEXT NOT NULL CHECK(what = 'object' OR what = 'buffer'),
  type_addr   INTEGER,             -- the type (of the owner, for buffers)
  type        TEXT,                -- its tp_name
  blocks      INTEGER NOT NULL,
  arena_found INTEGER NOT NULL     -- of those objects, how many only the census found
) STRICT;

-- @after-load

-- Blocks by size class: pools in use, blocks allocated and free, and what
-- holds the allocated ones; unknown is allocated blocks holding nothing
-- found (C extension buffers, non-object allocations, leaked memory).
CREATE VIEW census_classes AS
  SELECT block_size, count(*) AS pools, sum(capacity) AS blocks,
         sum(used) AS used, sum(capacity - used) AS free,
         sum(objects) AS objects, sum(buffers) AS buffers,
         sum(used - objects - buffers) AS unknown,
         sum(used) * block_size AS used_bytes,
         sum(used - objects - buffers) * block_size AS unknown_bytes
  FROM pymalloc_pools GROUP BY block_size ORDER BY block_size;

-- pymalloc's memory by type, most bytes first.
CREATE VIEW census_types AS
  SELECT type_addr, type, what, sum(blocks) AS blocks,
         sum(blocks * block_size) AS bytes, sum(arena_found) AS arena_found
  FROM pymalloc_usage GROUP BY type_addr, what ORDER BY bytes DESC;

PRAGMA user_version = 3;
