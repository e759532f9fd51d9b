import { checkRequest, draftFor } from '../../src/messaging/compose.ts';
import { DEFAULT_PROFILE } from '../../src/messaging/encode-profile.ts';
import type { MessageDraft } from '../../src/messaging/model.ts';

const POLICY = { defaultRegion: 'US', maxSegments: 10, validityMs: 3_600_000 };

/**
 * A draft as the accept path makes it (checked, encoded for the default profile), sent by
 * `accountId` from +15550100001 (local): for tests that write to the store directly. Throws the
 * accept path's AppError when `req` would be refused.
 */
export function testDraft(
  accountId: string,
  req: { to: string; body: string; statusCallback?: string },
): MessageDraft {
  return draftFor(
    checkRequest(
      req,
      { accountId, from: { e164: '+15550100001', type: 'local' }, now: new Date() },
      POLICY,
      () => undefined,
    ),
    DEFAULT_PROFILE,
    POLICY,
    1,
    undefined,
  );
}
