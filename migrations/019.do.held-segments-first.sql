-- Segments held for a rate-limit slot come back just before their slot (limits-policy.ts,
-- RETURN_BEFORE_MS) and must be claimed then: claimed in due order behind the first claims of a
-- bulk load they missed their slots (bench:limits, slow limits: 333 of 348 missed slots in the
-- first 10 s of the window, while 50,550 just-loaded messages waited for their first claim). The
-- claim takes these first, through this index; they are few (at most a horizon of slots per
-- limit), so the rest of the queue is not starved.
--
-- `reason` becomes an indexed column, but every update that changes it changes `status` too,
-- which segments_due already indexes: no update that was HOT stops being HOT.
CREATE INDEX segments_held ON segments(next_attempt_at) WHERE status = 'queued' AND reason = 'rate_limited';
