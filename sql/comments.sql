-- Every column of every table, view and composite type of the extension has
-- a COMMENT (BI tools show them as column descriptions).  The query lists
-- what is missing: expected empty.  A feature that adds a table, a view, a
-- composite type or a column adds its comments in the step script.
SELECT c.relkind, n.nspname || '.' || c.relname AS relation, a.attname AS column_without_comment
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class c ON d.classid = 'pg_catalog.pg_class'::regclass AND c.oid = d.objid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_backtest')
  AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND pg_catalog.col_description(c.oid, a.attnum) IS NULL
UNION ALL
-- composite types: the type is the extension's member, its pg_class row is not
SELECT c.relkind, n.nspname || '.' || c.relname, a.attname
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_type t ON d.classid = 'pg_catalog.pg_type'::regclass AND t.oid = d.objid AND t.typtype = 'c'
JOIN pg_catalog.pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_backtest')
  AND pg_catalog.col_description(c.oid, a.attnum) IS NULL
ORDER BY 2, 3;

-- ... and the test sees the objects: it checked tables, the view and the type
-- (counts would change with every feature's table)
SELECT c.relkind, count(*) > 0 AS checked
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class c ON (d.classid = 'pg_catalog.pg_class'::regclass AND c.oid = d.objid AND c.relkind IN ('r', 'v'))
                           OR (d.classid = 'pg_catalog.pg_type'::regclass AND c.reltype = d.objid AND c.relkind = 'c')
WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_backtest')
GROUP BY c.relkind ORDER BY c.relkind;
