import type { Knex } from 'knex';

/**
 * Bulletins: the organisation's own mail to one topic's audience (C3, C4, C12).
 *
 * A bulletin belongs to one topic of kind newsletter, announcement or third-party offer, sent by
 * e-mail; never partner data sharing (that topic is a permission to hand data over, not a list).
 * It is a draft until an editor confirms it; from then on its content is frozen, and only a draft
 * can be deleted. The database refuses the rest (trigger).
 *
 * Sending snapshots the audience in batches: one bulletin_recipients row per member opted in at
 * that moment (primary key: bulletin and member, so a batch that runs twice adds nobody twice),
 * with the message queued for them, or the reason they were left out. The recipient row is claimed
 * first and its message inserted after it in the same transaction, so that foreign key is checked
 * at commit.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE bulletins (
      id                   serial PRIMARY KEY,
      topic_id             integer NOT NULL REFERENCES topics (id),
      subject              text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
      preheader            text NOT NULL DEFAULT '' CHECK (length(preheader) <= 200),
      body                 text NOT NULL CHECK (length(body) BETWEEN 1 AND 100000),
      web_version          boolean NOT NULL DEFAULT false,
      status               text NOT NULL DEFAULT 'draft'
                           CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')),
      scheduled_at         timestamptz,
      created_by           uuid NOT NULL REFERENCES staff_users (id),
      confirmed_by         uuid REFERENCES staff_users (id),
      audience_confirmed   integer CHECK (audience_confirmed >= 0),
      started_at           timestamptz,
      snapshot_finished_at timestamptz,
      finished_at          timestamptz,
      cancelled_at         timestamptz,
      created_at           timestamptz NOT NULL DEFAULT now(),
      updated_at           timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT bulletins_scheduled_has_time CHECK (status <> 'scheduled' OR scheduled_at IS NOT NULL),
      CONSTRAINT bulletins_sending_has_start CHECK (status NOT IN ('sending', 'paused', 'sent') OR started_at IS NOT NULL)
    );
    CREATE INDEX bulletins_topic_idx ON bulletins (topic_id, started_at);

    CREATE FUNCTION bulletins_rules() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
          RAISE EXCEPTION 'only a draft bulletin can be deleted' USING ERRCODE = 'P0001', CONSTRAINT = 'bulletins_frozen';
        END IF;
        RETURN OLD;
      END IF;
      IF NOT EXISTS (SELECT 1 FROM topics t WHERE t.id = NEW.topic_id AND t.channel = 'email'
                     AND t.kind IN ('newsletter', 'announcement', 'third_party_offer')) THEN
        RAISE EXCEPTION 'a bulletin goes to an e-mail topic of kind newsletter, announcement or third-party offer'
          USING ERRCODE = 'P0001', CONSTRAINT = 'bulletins_topic_kind';
      END IF;
      IF TG_OP = 'UPDATE' THEN
        IF OLD.status <> 'draft' AND (NEW.topic_id, NEW.subject, NEW.preheader, NEW.body, NEW.web_version)
             IS DISTINCT FROM (OLD.topic_id, OLD.subject, OLD.preheader, OLD.body, OLD.web_version) THEN
          RAISE EXCEPTION 'a bulletin is frozen once it is confirmed for sending' USING ERRCODE = 'P0001', CONSTRAINT = 'bulletins_frozen';
        END IF;
        IF OLD.started_at IS NOT NULL AND NEW.status IN ('draft', 'scheduled') THEN
          RAISE EXCEPTION 'a bulletin that has started sending cannot go back' USING ERRCODE = 'P0001', CONSTRAINT = 'bulletins_frozen';
        END IF;
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER bulletins_rules BEFORE INSERT OR UPDATE OR DELETE ON bulletins
      FOR EACH ROW EXECUTE FUNCTION bulletins_rules();

    CREATE TABLE bulletin_recipients (
      bulletin_id      integer NOT NULL REFERENCES bulletins (id),
      member_id        uuid NOT NULL REFERENCES members (id),
      email_message_id uuid UNIQUE REFERENCES email_messages (id) DEFERRABLE INITIALLY DEFERRED,
      left_out_reason  text CHECK (left_out_reason IN ('suppressed', 'undeliverable')),
      created_at       timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (bulletin_id, member_id),
      CONSTRAINT bulletin_recipients_message_or_reason CHECK ((email_message_id IS NULL) <> (left_out_reason IS NULL))
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE bulletin_recipients;
    DROP TABLE bulletins;
    DROP FUNCTION bulletins_rules();
  `);
}
