-- Issue 8: a number's configuration — the team member it belongs to (their default sender) and
-- call handling (stored and validated; Parley carries no voice).
ALTER TABLE numbers ADD COLUMN assigned_user_id uuid REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE numbers ADD COLUMN call_forward_to text;
ALTER TABLE numbers ADD COLUMN voicemail boolean NOT NULL DEFAULT false;
ALTER TABLE numbers ADD COLUMN call_recording boolean NOT NULL DEFAULT false;
