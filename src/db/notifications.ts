import pg from 'pg';

/**
 * A dedicated Postgres connection that LISTENs on one channel. LISTEN belongs to a session, so it
 * cannot share the query pool (a pooled connection serves whoever borrows it next); one such
 * connection per process is enough, since the process fans notifications out in memory.
 */
export interface NotificationConnection {
  /** A round trip on the connection; rejects when it is dead (a half-open TCP connection included). */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface ListenHandlers {
  onNotification(payload: string | undefined): void;
  /** The connection failed or ended; the caller decides when to listen again. Called at most once. */
  onLost(error: Error): void;
}

export const LISTEN_APPLICATION_NAME = 'ktrlplane-listen';

export type Listen = (channel: string, handlers: ListenHandlers) => Promise<NotificationConnection>;

/** LISTEN through `pg` on the server at `url`. */
export function postgresListener(url: string): Listen {
  return async (channel, handlers) => {
    // Named, so an administrator can tell it apart in pg_stat_activity.
    const client = new pg.Client({
      connectionString: url,
      keepAlive: true,
      application_name: LISTEN_APPLICATION_NAME,
    });
    let lost = false;
    let closing = false;
    const fail = (error: Error) => {
      if (lost || closing) return;
      lost = true;
      handlers.onLost(error);
      client.end().catch(() => {});
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('The LISTEN connection ended.')));
    client.on('notification', (message) => {
      if (message.channel === channel) handlers.onNotification(message.payload);
    });
    try {
      await client.connect();
      // The channel is a constant of ours, never input: quoting it is for correctness only.
      await client.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    } catch (error) {
      closing = true;
      await client.end().catch(() => {});
      throw error;
    }
    return {
      ping: async (timeoutMs) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          await Promise.race([
            client.query('SELECT 1'),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('The LISTEN connection did not answer.')), timeoutMs);
            }),
          ]);
        } catch (error) {
          fail(error as Error);
          throw error;
        } finally {
          clearTimeout(timer);
        }
      },
      close: async () => {
        closing = true;
        await client.end().catch(() => {});
      },
    };
  };
}
