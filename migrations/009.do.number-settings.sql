-- Issue 7 (and the number configuration of issue 8): a number's own name and inbound webhook URL
-- (its replies go there instead of the account's URL).
ALTER TABLE numbers ADD COLUMN friendly_name text;
ALTER TABLE numbers ADD COLUMN inbound_url text;

-- Releasing a number clears it from the contacts pinned to it.
CREATE INDEX contacts_assigned_number ON contacts(account_id, assigned_number) WHERE assigned_number IS NOT NULL;
