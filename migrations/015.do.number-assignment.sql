-- Issue 8: a number's assignment to a campaign is itself reviewed by the registry (TCR / the
-- carriers' number provisioning): pending_assignment until it answers, then assigned or
-- failed_assignment with its reason. The registry's id of the assignment request is kept to ask it.
ALTER TABLE numbers ADD COLUMN assignment_registry_id text;
ALTER TABLE numbers ADD COLUMN campaign_status_reason text;
CREATE INDEX numbers_pending_assignment ON numbers (id) WHERE campaign_status = 'pending_assignment';
