import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';

/**
 * Development demo data: a first policy version, the topics a membership society typically
 * offers, and a few members. Safe to re-run: it does nothing once a policy exists.
 */
const POLICY_BODY = `This statement explains what we hold about our members and what we do with it.

## What we collect

When you join we ask for your name and e-mail address, and optionally a postal address and phone number. We keep your choices about what we may send you, and a history of every change to those choices. Our web server logs are used only in aggregate or to keep the site secure; IP addresses are shortened before they are written down.

## What we do with it

We use your details to provide your membership and to send you the communications you chose. We do not sell, rent or share your personal data. Offers from our partners reach you only if you ticked the box for them, and we pass your details to a partner only if you ask us to, under a contract that protects them.

## Your choices

You can opt in or out of each newsletter, announcement and partner offer at any time, on the web, by e-mail, by phone or by post. Every e-mail we send carries a link to unsubscribe, which works without signing in. We confirm every change to you by e-mail.

## Your data

You can see everything we hold about you, correct it, download it and ask us to remove it. We carry out a removal within 30 days and keep only what we need to make sure we never contact you again.

## Cookies

Our cookies carry no personal information and are needed only for the members' area. You can use the links in our e-mails with cookies turned off.

## Children

Membership is open to people aged 16 and over. We do not knowingly collect data from children.

## Changes to this statement

We post every change at least one week before it takes effect, announce it on every page of this site and send a notice to every member.`;

/**
 * The demo organisation's logo (issue 13.11): an envelope with a tick, in its own colour, 128 px.
 * A PNG, not an SVG, so that it shows in the demo's e-mail too (many mail programs show no SVG).
 */
const DEMO_LOGO = readFileSync(new URL('./assets/demo-logo.png', import.meta.url));

export async function seed(knex: Knex): Promise<void> {
  const existing = await knex('policy_versions').first('id');
  if (existing) return;

  await knex.transaction(async (trx) => {
    // Its own colour (9.9:1 with white text), logo and sender name, as an admin would set them at /admin/branding.
    await trx('branding').insert({
      primary_colour: '#5b2a86',
      sender_name: 'Demo Society membership',
      logo: DEMO_LOGO,
      logo_type: 'image/png',
    });
    const [policy] = await trx('policy_versions')
      .insert({
        version: '1.0',
        title: 'Privacy statement',
        summary: 'How we look after the personal data of our members and visitors.',
        body: POLICY_BODY,
        published_at: trx.raw("now() - interval '60 days'"),
        effective_at: trx.raw("now() - interval '53 days'"),
      })
      .returning('id');
    const policyId = (policy as { id: number }).id;

    // Example Mutual receives member details (partner data sharing), so its contract is on file (C2);
    // Example Events Ltd only has offers sent by us and never receives data.
    const partners = await trx('partners')
      .insert([{ name: 'Example Events Ltd' }, { name: 'Example Mutual', contract_reference: 'EM-DPA-2026-01', terms_date: '2026-01-15' }])
      .returning(['id', 'name']);
    const partnerId = (name: string) => (partners.find((p: { name: string }) => p.name === name) as { id: number }).id;

    const topics = await trx('topics')
      .insert(
        [
          {
            slug: 'monthly-bulletin',
            name: 'Monthly bulletin',
            description: 'News from the society, events and member stories, once a month.',
            kind: 'newsletter',
            sort_order: 1,
          },
          {
            slug: 'research-digest',
            name: 'Research digest',
            description: 'A quarterly round-up of new research and publications by members.',
            kind: 'newsletter',
            sort_order: 2,
          },
          {
            slug: 'announcements',
            name: 'Society announcements',
            description: 'Elections, annual meetings and changes to membership. A few times a year.',
            kind: 'announcement',
            sort_order: 3,
          },
          {
            slug: 'partner-offers',
            name: 'Offers from our conference partner',
            description: 'Discounts on conferences run by Example Events Ltd, sent by us. Your details stay with us.',
            kind: 'third_party_offer',
            partner_id: partnerId('Example Events Ltd'),
            sort_order: 4,
          },
          {
            slug: 'share-with-insurer',
            name: 'Share my details with our insurance partner',
            description: 'We pass your name and address to Example Mutual so it can send you its member insurance offer.',
            kind: 'partner_data_sharing',
            partner_id: partnerId('Example Mutual'),
            sort_order: 5,
          },
        ].map((t) => ({ ...t, introduced_in_policy_version_id: policyId })),
      )
      .returning(['id', 'slug']);
    const topicId = (slug: string) => (topics.find((t: { slug: string }) => t.slug === slug) as { id: number }).id;

    const members = await trx('members')
      .insert([
        {
          email: 'ada@example.org',
          name: 'Ada Lovelace',
          postal_address: "12 St James's Square, London",
          status: 'active',
          confirmed_at: trx.fn.now(),
        },
        { email: 'grace@example.org', name: 'Grace Hopper', status: 'active', confirmed_at: trx.fn.now() },
        { email: 'alan@example.org', name: 'Alan Turing', phone: '+44 20 7946 0000', status: 'active', confirmed_at: trx.fn.now() },
      ])
      .returning(['id', 'email']);
    const memberId = (email: string) => (members.find((m: { email: string }) => m.email === email) as { id: string }).id;

    const choices: [string, string, 'signup' | 'import'][] = [
      ['ada@example.org', 'monthly-bulletin', 'import'],
      ['ada@example.org', 'announcements', 'import'],
      ['ada@example.org', 'partner-offers', 'signup'],
      ['grace@example.org', 'research-digest', 'import'],
      ['grace@example.org', 'announcements', 'import'],
      ['alan@example.org', 'monthly-bulletin', 'import'],
    ];
    for (const [email, slug, source] of choices) {
      const [event] = await trx('consent_ledger')
        .insert({
          member_id: memberId(email),
          topic_id: topicId(slug),
          from_status: null,
          to_status: 'opted_in',
          source,
          channel: source === 'signup' ? 'web' : 'system',
          policy_version_id: policyId,
        })
        .returning('id');
      await trx('consents').insert({
        member_id: memberId(email),
        topic_id: topicId(slug),
        status: 'opted_in',
        policy_version_id: policyId,
        last_event_id: (event as { id: number }).id,
      });
    }
  });
}
