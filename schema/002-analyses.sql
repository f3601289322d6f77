-- gcscope snapshot database, schema version 2: the analyses.
--
-- What gcscope computes from the graph of schema version 1, stored with the
-- snapshot: what holds the heap (roots), the shortest way from a root to
-- every object (reach: "why is this alive"), what the collector would free
-- or keep as uncollectable (garbage), and reference counts that the
-- references found do not explain (anomalies).

-- What holds the heap from outside it: every thread's Python frames and
-- their locals, the interpreter's modules, sys and builtins dicts, the
-- interned strings, the collector's gc.garbage list, and the static types.
-- Each row is one reference the interpreter or a thread holds.
CREATE TABLE roots(
  addr  INTEGER NOT NULL REFERENCES objects(addr),  -- the object held
  kind  TEXT NOT NULL CHECK(kind = 'frame' OR kind = 'thread' OR
                            kind = 'interpreter' OR kind = 'interned' OR
                            kind = 'gc' OR kind = 'static_type'),
        -- 'frame': a local, cell or stack slot of a running frame, or its
        --   code, function or f_locals (3.11+); before 3.11 the running
        --   frame objects themselves, whose edges are their locals;
        --   'thread': the thread's dict, pending
        --   or handled exception; 'interpreter': sys.modules, sys.__dict__,
        --   builtins and the like; 'interned': the interned-strings dict;
        --   'gc': gc.garbage, gc.callbacks; 'static_type': a type compiled
        --   into the interpreter or an extension
  label TEXT NOT NULL,     -- who holds it: "thread 4242 frame main (app.py) local 'cache'", 'interpreter sys.modules'
  conservative INTEGER NOT NULL CHECK(conservative BETWEEN 0 AND 1)
           -- 1: a word of the interpreter's or runtime's C struct that points
           -- at a live object (label 'PyInterpreterState.imports.modules at
           -- +0x3b0' with the DWARF, else 'PyInterpreterState+0x3b0'); it may be
           -- a borrowed pointer, so anomalies do not count it as a reference
) STRICT;

-- The shortest chain of references from a root to each object reachable
-- from one, kept with the object; read it through the view reach, which
-- adds the labels. Objects no root reaches have NULL here.
ALTER TABLE objects ADD COLUMN reach_depth INTEGER;  -- references from the nearest root; 0 for an object a root holds
ALTER TABLE objects ADD COLUMN reach_via INTEGER;    -- the referrer one step closer to a root; NULL at depth 0
ALTER TABLE objects ADD COLUMN reach_edge INTEGER;   -- rowid of the edges row reach_via -> addr; NULL at depth 0

-- Garbage: what gc.garbage holds, and what the next full collection would
-- find unreachable (the collector's own algorithm run on the snapshot:
-- reference counts minus references from other tracked objects, then
-- everything reachable from an object with references from outside).
CREATE TABLE garbage(
  addr      INTEGER NOT NULL REFERENCES objects(addr),
  reason    TEXT NOT NULL CHECK(reason = 'gc.garbage' OR reason = 'unreachable'),
  finalizer INTEGER NOT NULL CHECK(finalizer BETWEEN 0 AND 1)
            -- 1 if a collection would call its tp_finalize (__del__) first,
            -- which may resurrect it and what it reaches
) STRICT;

-- Reference counts the references found do not explain.
--   'deficit':      refcnt < referrers: a reference was released one time
--                   too many; the object will be freed while still in use
--   'unreferenced': refcnt > 0 but nothing found refers to it: a leaked
--                   object or reference
--   'excess':       refcnt > referrers for an object no C-level holder is
--                   known to hold: a leaked Py_INCREF
CREATE TABLE anomalies(
  addr      INTEGER PRIMARY KEY REFERENCES objects(addr),
  kind      TEXT NOT NULL CHECK(kind = 'deficit' OR kind = 'unreferenced' OR kind = 'excess'),
  refcnt    INTEGER NOT NULL,  -- ob_refcnt as read
  referrers INTEGER NOT NULL,  -- references to it found: 'traverse' and 'strong' edges and roots (not an lru_cache's visits of what its entries own: the entries' edges count)
  detail    TEXT               -- what was left out of the count, if anything
) STRICT;

-- @after-load

CREATE INDEX roots_addr ON roots(addr);
CREATE INDEX garbage_addr ON garbage(addr);

-- One row per object a root reaches: follow via until depth 0. label is
-- edges.label of via -> addr, and at depth 0 the root's label (a named
-- root's before a scanned one's).
CREATE VIEW reach AS
  SELECT t.addr AS addr, t.reach_depth AS depth, t.reach_via AS via,
         t.reach_edge AS edge,
         CASE WHEN t.reach_edge IS NOT NULL
              THEN (SELECT label FROM edges WHERE rowid = t.reach_edge)
              ELSE (SELECT label FROM roots WHERE roots.addr = t.addr
                    ORDER BY conservative LIMIT 1) END AS label
  FROM objects t WHERE t.reach_depth IS NOT NULL;

-- Cycles with what matters about them: reachable from a root or garbage,
-- whether a member has a finalizer.
DROP VIEW cycle_summary;
CREATE VIEW cycle_summary AS
  SELECT c.cycle_id AS cycle_id, count(*) AS members,
         group_concat(DISTINCT o.type) AS types,
         max(coalesce(t.has_finalizer, 0)) AS has_finalizer,
         max(r.addr IS NOT NULL) AS reachable,
         max(g.addr IS NOT NULL) AS garbage
  FROM cycles c JOIN objects o ON o.addr = c.addr
       LEFT JOIN types t ON t.addr = o.type_addr
       LEFT JOIN reach r ON r.addr = c.addr
       LEFT JOIN garbage g ON g.addr = c.addr
  GROUP BY c.cycle_id ORDER BY members DESC, c.cycle_id;

-- Anomalies per type: where people start.
CREATE VIEW anomaly_types AS
  SELECT o.type_addr AS type_addr, o.type AS type, a.kind AS kind,
         count(*) AS objects, sum(a.refcnt - a.referrers) AS refs
  FROM anomalies a JOIN objects o ON o.addr = a.addr
  GROUP BY o.type_addr, a.kind ORDER BY objects DESC;

PRAGMA user_version = 2;
