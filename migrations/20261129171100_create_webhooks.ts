import type { Knex } from 'knex';

/**
 * Outgoing webhooks (issue 12.3), as an outbox: a feature's transaction inserts the event and one
 * delivery per subscribed endpoint, so an event exists only if the change it reports committed;
 * the worker delivers each delivery and records every attempt on its row (the delivery log).
 * The signing secret is kept to sign with; it is shown to staff once, when the endpoint is made.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE webhook_endpoints (
      id             serial PRIMARY KEY,
      url            text NOT NULL CHECK (length(url) <= 2000 AND (url LIKE 'https://%' OR url LIKE 'http://%')),
      description    text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
      events         text[] NOT NULL CHECK (cardinality(events) > 0),
      secret         text NOT NULL,
      enabled        boolean NOT NULL DEFAULT true,
      disabled_at    timestamptz,
      disabled_reason text CHECK (length(disabled_reason) <= 500),
      failing_since  timestamptz,
      created_by     uuid REFERENCES staff_users (id),
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE webhook_events (
      id          text PRIMARY KEY,
      type        text NOT NULL CHECK (length(type) BETWEEN 1 AND 60),
      payload     jsonb NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

    CREATE TABLE webhook_deliveries (
      id                 bigserial PRIMARY KEY,
      event_id           text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
      endpoint_id        integer NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
      status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts           integer NOT NULL DEFAULT 0,
      last_response_code integer,
      last_error         text CHECK (length(last_error) <= 1000),
      last_attempt_at    timestamptz,
      next_attempt_at    timestamptz,
      delivered_at       timestamptz,
      created_at         timestamptz NOT NULL DEFAULT now(),
      UNIQUE (event_id, endpoint_id),
      CONSTRAINT webhook_deliveries_delivered_has_time CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
    );
    CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE webhook_deliveries; DROP TABLE webhook_events; DROP TABLE webhook_endpoints;');
}
