-- gcscope snapshot database, schema version 4: what explains an anomaly.
--
-- An object's reference count higher than the references found to it is
-- not always a bug: C code holds objects where no tp_traverse looks -- a
-- thread's C stack, a static of a loaded file (a cache, an identifier, a
-- module's m_copy), a runtime struct, the memory of an object of a type
-- gcscope cannot decode. gcscope looks for such words pointing at every
-- object whose count the references found do not explain, and records
-- the anomaly with its holder: only those with none are suspected bugs.
-- A free-list slot holds no reference and explains nothing.

ALTER TABLE anomalies ADD COLUMN cause TEXT;
  -- NULL: a suspected bug (every 'deficit', and 'excess' or 'unreferenced'
  -- no holder explains); otherwise the first holder found, as roots.label
  -- names it ("C stack of thread 2 (LWP 4242, Python frame run (app.py),
  -- in epoll_wait) at 0x...", "static NAME in FILE+0x...",
  -- "PyInterpreterState.imports.modules at +0x3b0" (with the DWARF; else
  -- "PyInterpreterState+0x3b0"), a leak of CPython's own: "CPython 3.6-3.8
  -- start-up: a reference to the sys module it never releases") or "a word
  -- (<+OFF>) of TYPE at 0x..., scanned conservatively" (an object of a type
  -- gcscope cannot decode)

-- @after-load

-- Anomalies per type: where people start. suspected: 1 for suspected
-- bugs, 0 for those explained.
DROP VIEW anomaly_types;
CREATE VIEW anomaly_types AS
  SELECT o.type_addr AS type_addr, o.type AS type, a.kind AS kind,
         count(*) AS objects, sum(a.refcnt - a.referrers) AS refs,
         a.cause IS NULL AS suspected
  FROM anomalies a JOIN objects o ON o.addr = a.addr
  GROUP BY o.type_addr, a.kind, a.cause IS NULL ORDER BY suspected DESC, objects DESC;

PRAGMA user_version = 4;
