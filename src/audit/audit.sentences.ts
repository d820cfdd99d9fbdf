/**
 * The audit log read as sentences (issue 13.7): each action a feature records, named for the
 * filter and told as one sentence from the ids and figures in its details. An action without a
 * sentence here still reads (its name and details, spelled out); a test keeps the list complete.
 */
type Details = Record<string, unknown>;

const num = (v: unknown): string => (typeof v === 'number' ? v.toLocaleString('en-GB') : String(v ?? '?'));
const plural = (n: unknown, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;
const quoted = (v: unknown) => (typeof v === 'string' && v !== '' ? `“${v}”` : '');
const list = (v: unknown): string => (Array.isArray(v) ? v.map((x) => String(x).replace(/_/g, ' ')).join(', ') : '');
const when = (v: unknown): string => (typeof v === 'string' ? v.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : '?');
const ROLE_WORDS: Record<string, string> = { admin: 'an administrator', support: 'support', editor: 'an editor', auditor: 'an auditor' };
const FACTOR_WORDS: Record<string, string> = { totp: 'authenticator code', recovery: 'recovery code' };

interface ActionText {
  /** For the filter: "Topic retired". */
  name: string;
  sentence: (d: Details) => string;
}

const ACTIONS: Record<string, ActionText> = {
  'staff.login': { name: 'Staff sign-in', sentence: () => 'Signed in.' },
  'staff.login_failed': {
    name: 'Staff sign-in failed',
    sentence: (d) =>
      d.factor
        ? `A sign-in failed at the second step (wrong ${FACTOR_WORDS[String(d.factor)] ?? 'code'}${d.reason === 'code_reused' ? ', a code already used' : ''}).`
        : d.mode === 'protected'
          ? 'A sign-in failed while sign-in needed the password and code together (protected mode).'
          : 'A sign-in failed: wrong e-mail address or password.',
  },
  'staff.recovery_code_used': {
    name: 'Recovery code used',
    sentence: (d) => `Signed in with a recovery code; ${plural(d.left, 'code')} left.`,
  },
  'staff.password_changed': { name: 'Staff password changed', sentence: () => 'Changed their own password.' },
  'staff.totp_enabled': { name: 'Two-factor sign-in turned on', sentence: () => 'Turned on two-factor sign-in.' },
  'staff.created': {
    name: 'Staff account added',
    sentence: (d) => `Added a staff account (${ROLE_WORDS[String(d.role)] ?? String(d.role)}).`,
  },
  'staff.disabled': { name: 'Staff account disabled', sentence: () => 'Disabled a staff account.' },
  'staff.totp_reset': {
    name: 'Two-factor sign-in reset',
    sentence: (d) => `Reset a staff account’s two-factor sign-in${d.via === 'cli' ? ' from the server’s shell' : ''}.`,
  },
  'member.searched': { name: 'Members searched', sentence: (d) => `Searched the members: ${plural(d.results, 'result')}.` },
  'member.viewed': {
    name: 'Member record opened',
    sentence: (d) => (d.page === 'change' ? 'Opened the member’s change form.' : 'Opened the member’s record.'),
  },
  'member.exported': { name: 'Member record exported', sentence: () => 'Downloaded the member’s record.' },
  'member.changed_on_behalf': {
    name: 'Change on a member’s behalf',
    sentence: (d) =>
      `Recorded a change the member asked for by ${d.channel === 'email' ? 'e-mail' : String(d.channel ?? '?')}, to ${plural(Array.isArray(d.topicIds) ? d.topicIds.length : 0, 'topic')}.`,
  },
  'removal.held': { name: 'Removal put on hold', sentence: () => 'Put a removal request on legal hold.' },
  'removal.released': { name: 'Removal hold released', sentence: () => 'Released the legal hold on a removal request.' },
  'removal.carried_out': {
    name: 'Removal carried out',
    sentence: (d) =>
      `${d.by === 'schedule' ? 'The schedule carried out' : 'Carried out'} a removal request; ${plural(d.followUps, 'partner follow-up')} opened.`,
  },
  'follow_up.done': { name: 'Partner follow-up done', sentence: () => 'Marked a partner follow-up done.' },
  'topic.created': {
    name: 'Topic added',
    sentence: (d) => `Added the topic ${quoted(d.slug)} (${String(d.kind ?? '').replace(/_/g, ' ')}).`,
  },
  'topic.updated': { name: 'Topic changed', sentence: (d) => `Changed a topic: ${list(d.changed) || 'nothing'}.` },
  'topic.retired': { name: 'Topic retired', sentence: (d) => `Retired the topic ${quoted(d.slug)}.` },
  'topic.restored': { name: 'Topic brought back', sentence: (d) => `Brought back the topic ${quoted(d.slug)}.` },
  'policy.created': { name: 'Policy draft written', sentence: (d) => `Wrote the draft of policy version ${quoted(d.version)}.` },
  'policy.updated': { name: 'Policy draft changed', sentence: (d) => `Changed the draft of policy version ${quoted(d.version)}.` },
  'policy.notice_test_sent': { name: 'Policy notice test sent', sentence: () => 'Sent themselves a test copy of a draft’s notice.' },
  'policy.published': {
    name: 'Policy published',
    sentence: (d) =>
      `Published policy version ${quoted(d.version)}, in effect from ${when(d.effectiveAt)}; the notice goes to ${plural(d.membersToNotify, 'member')}.`,
  },
  'partner.created': {
    name: 'Partner added',
    sentence: (d) => `Added a partner${d.contractOnFile ? ', with a contract on file' : ', with no contract on file yet'}.`,
  },
  'partner.updated': {
    name: 'Partner changed',
    sentence: (d) => `Changed a partner: ${list(d.changed) || 'nothing'}${d.contractOnFile ? '; contract on file' : ''}.`,
  },
  'disclosure.exported': {
    name: 'Disclosure exported',
    sentence: (d) => `Exported ${plural(d.members, 'member')} who consented, to a partner.`,
  },
  'disclosure.legal_recorded': {
    name: 'Legal disclosure recorded',
    sentence: (d) => `Recorded a disclosure required by law, of ${plural(d.members, 'member')}.`,
  },
  'audience.export_started': { name: 'Audience export started', sentence: () => 'Started an audience export.' },
  'audience.exported': {
    name: 'Audience exported',
    sentence: (d) =>
      `${d.completed === false ? 'An audience export stopped after' : 'Exported an audience of'} ${plural(d.rows, 'member')}.`,
  },
  'branding.updated': {
    name: 'Branding changed',
    sentence: (d) =>
      `Changed the branding: colour ${d.colour ? String(d.colour) : 'Assent’s own'}; logo ${d.logo === 'new' ? 'replaced' : d.logo === 'removed' ? 'removed' : 'kept'}.`,
  },
  'email.retried': { name: 'E-mail retried', sentence: () => 'Sent a failed e-mail again.' },
  'inquiry.viewed': { name: 'Question opened', sentence: () => 'Opened a question from the public.' },
  'inquiry.replied': { name: 'Question answered', sentence: () => 'Answered a question from the public by e-mail.' },
  'inquiry.closed': { name: 'Question closed', sentence: () => 'Closed a question from the public.' },
  'bulletin.created': { name: 'Bulletin written', sentence: () => 'Wrote a bulletin draft.' },
  'bulletin.updated': { name: 'Bulletin changed', sentence: () => 'Changed a bulletin draft.' },
  'bulletin.deleted': { name: 'Bulletin deleted', sentence: (d) => `Deleted the bulletin draft ${quoted(d.subject)}.` },
  'bulletin.test_sent': { name: 'Bulletin test sent', sentence: () => 'Sent themselves a test copy of a bulletin.' },
  'bulletin.scheduled': {
    name: 'Bulletin scheduled',
    sentence: (d) => `Scheduled a bulletin for ${when(d.at)}, to ${plural(d.audience, 'member')} at the time.`,
  },
  'bulletin.sent': { name: 'Bulletin sent', sentence: (d) => `Sent a bulletin to ${plural(d.audience, 'member')}.` },
  'bulletin.paused': { name: 'Bulletin paused', sentence: () => 'Paused a bulletin’s sending.' },
  'bulletin.resumed': { name: 'Bulletin resumed', sentence: () => 'Resumed a bulletin’s sending.' },
  'bulletin.cancelled': { name: 'Bulletin cancelled', sentence: () => 'Cancelled a bulletin’s sending.' },
  'bulletin.retried': { name: 'Bulletin failures retried', sentence: () => 'Put a bulletin’s failed messages back in the queue.' },
  'api_key.created': {
    name: 'API key made',
    sentence: (d) => `Made the API key ${quoted(d.name)} (scopes: ${Array.isArray(d.scopes) ? d.scopes.join(', ') : '?'}).`,
  },
  'api_key.revoked': { name: 'API key revoked', sentence: (d) => `Revoked the API key ${quoted(d.name)}.` },
  'api.called': {
    name: 'API call',
    sentence: (d) =>
      `The API key ${quoted(d.key)} called ${String(d.method ?? '?')} ${String(d.route ?? '?')}: ${
        d.refused ? `refused (${String(d.refused)})` : `answered ${num(d.status)}`
      }${typeof d.rows === 'number' ? `, ${plural(d.rows, 'row')}` : ''}.`,
  },
  'webhook.created': {
    name: 'Webhook endpoint added',
    sentence: (d) => `Added webhook endpoint ${String(d.endpointId)}, for ${list(d.events) || 'no events'}.`,
  },
  'webhook.resent': { name: 'Webhook resent', sentence: (d) => `Resent a delivery to webhook endpoint ${String(d.endpointId)}.` },
  'webhook.enabled': { name: 'Webhook endpoint enabled', sentence: (d) => `Enabled webhook endpoint ${String(d.endpointId)} again.` },
  'webhook.deleted': { name: 'Webhook endpoint deleted', sentence: (d) => `Deleted webhook endpoint ${String(d.endpointId)}.` },
  'import.uploaded': {
    name: 'Import file uploaded',
    sentence: (d) => `Uploaded ${quoted(d.fileName)} to import: ${plural(d.rows, 'row')}, read as ${String(d.format ?? 'a sheet')}.`,
  },
  'import.mapped': { name: 'Import columns mapped', sentence: (d) => `Mapped an import’s columns, with ${plural(d.topics, 'topic')}.` },
  'import.started': {
    name: 'Import started',
    sentence: (d) =>
      `Started an import of ${plural(d.newMembers, 'new address', 'new addresses')}: ${d.mode === 'ask' ? 'each is asked to confirm by e-mail' : 'consent evidence held elsewhere'}.`,
  },
  'import.applied': {
    name: 'Import finished',
    sentence: (d) =>
      d.mode === 'ask'
        ? `An import finished: ${plural(d.invitations, 'person', 'people')} to be asked by e-mail.`
        : `An import finished: ${plural(d.membersCreated, 'member')} created.`,
  },
  'import.cancelled': {
    name: 'Import cancelled',
    sentence: (d) =>
      d.running
        ? `Stopped a running import (${plural(d.membersCreated, 'member')} created before the stop).`
        : 'Cancelled an import before it wrote anything.',
  },
  'import.failed': {
    name: 'Import failed',
    sentence: (d) =>
      `An import stopped after a batch failed ${plural(d.attempts, 'time')} (${plural(d.membersCreated, 'member')} created before; they can be undone).`,
  },
  'import.undone': {
    name: 'Import undone',
    sentence: (d) =>
      `Undid an import: ${plural(d.removed, 'member')} removed, ${plural(d.kept, 'member')} kept (they had acted since), ${plural(d.invitationsWithdrawn, 'invitation')} withdrawn.`,
  },
  'import.report_downloaded': {
    name: 'Import report downloaded',
    sentence: (d) => `Downloaded an import’s ${d.report === 'differences' ? 'differences from members’ own choices' : 'error report'}.`,
  },
};

/** Every action with a sentence (for the test that keeps the list complete). */
export const DESCRIBED_ACTIONS: readonly string[] = Object.keys(ACTIONS);

/** "Topic retired"; an unknown action reads as its words. */
export function auditActionName(action: string): string {
  return ACTIONS[action]?.name ?? action.replace(/[._]/g, ' ');
}

/** One sentence for an entry; an unknown action spells out its details. */
export function auditSentence(action: string, details: unknown): string {
  const d = details && typeof details === 'object' ? (details as Details) : {};
  const known = ACTIONS[action];
  if (known) return known.sentence(d);
  const parts = Object.entries(d).map(([k, v]) => `${k.replace(/([A-Z])/g, ' $1').toLowerCase()}: ${String(v)}`);
  return `${auditActionName(action)}${parts.length ? ` (${parts.join('; ')})` : ''}.`;
}
