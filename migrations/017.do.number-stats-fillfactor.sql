-- Issue 9: each fold updates the current hour's rollup rows; room on their pages lets those
-- updates stay HOT (pruned on the page), with autovacuum off too.
ALTER TABLE number_stats SET (fillfactor = 80);
