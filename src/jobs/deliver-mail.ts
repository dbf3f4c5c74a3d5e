import { claimPendingMail, markMailFailed, markMailSent } from '../db/mail-outbox.repository.ts';
import { type MailTransport, mailTransportFor } from '../services/mail.ts';
import type { Job, JobContext } from './job.ts';

/** Messages sent per run; the rest wait for the next run (every minute). */
const BATCH_SIZE = 50;
/** A message that failed this often stays in the outbox with its last error, and is not tried again. */
export const MAX_MAIL_ATTEMPTS = 10;

/**
 * Delivers queued mail (ktrlplane.mail_outbox) through a transport. Safe to run twice at once: the
 * runner's advisory lock lets one run through, and rows are claimed FOR UPDATE SKIP LOCKED inside
 * the job's transaction besides, so no message is handed to two runs. Delivery is at least once: a
 * message whose run fails to commit after sending is sent again by the next run.
 */
export function createDeliverMailJob(transportFor: (ctx: JobContext) => MailTransport): Job {
  return {
    name: 'deliver-mail',
    schedule: '* * * * *',
    description: 'Sends queued mail (invitations) through SMTP, or writes it to the log without secrets.',
    async run(ctx) {
      const { trx, clock, log } = ctx;
      const pending = await claimPendingMail(trx, BATCH_SIZE, MAX_MAIL_ATTEMPTS);
      if (pending.length === 0) return 'no mail to send';
      const transport = transportFor(ctx);
      let sent = 0;
      let failed = 0;
      for (const mail of pending) {
        try {
          await transport.send({ to: mail.to_address, subject: mail.subject, text: mail.body_text });
          await markMailSent(trx, mail.mail_id, clock.now());
          sent++;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          await markMailFailed(trx, mail.mail_id, message);
          log.warn('mail delivery failed', {
            mail_id: mail.mail_id,
            attempt: mail.attempts + 1,
            error: message,
          });
          failed++;
        }
      }
      return `sent ${sent} messages, ${failed} failed`;
    },
  };
}

/**
 * The registered job: SMTP when SMTP_URL is set, else the log. It reads the settings from the job
 * context's `config` (the runner passes it); without one it uses the log transport.
 */
export const deliverMailJob: Job = createDeliverMailJob((ctx) => mailTransportFor(ctx.config, ctx.log));
