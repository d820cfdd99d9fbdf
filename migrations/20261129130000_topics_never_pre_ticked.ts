import type { Knex } from 'knex';

/**
 * Nothing is pre-ticked, ever (C1, issue 13.1): a pre-ticked box is not consent (CJEU C-673/17,
 * Planet49). The rule that kept offers and data sharing from being pre-ticked now holds for every
 * topic; newsletters staff had marked pre-ticked lose the mark (members' choices are untouched).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE topics SET default_opt_in = false WHERE default_opt_in;
    ALTER TABLE topics DROP CONSTRAINT topics_third_party_never_default_on;
    ALTER TABLE topics ADD CONSTRAINT topics_never_pre_ticked CHECK (NOT default_opt_in);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE topics DROP CONSTRAINT topics_never_pre_ticked;
    ALTER TABLE topics ADD CONSTRAINT topics_third_party_never_default_on CHECK (
      NOT (kind IN ('third_party_offer', 'partner_data_sharing') AND default_opt_in)
    );
  `);
}
