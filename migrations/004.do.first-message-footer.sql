-- Issue 7: the first message from an account to a contact carries the opt-out footer, exactly once.
-- The message that claimed it is named; a claim whose message was never stored (its insert failed)
-- is given up after a minute.
ALTER TABLE contacts ADD COLUMN first_message_id uuid;
ALTER TABLE contacts ADD COLUMN first_message_at timestamptz;
