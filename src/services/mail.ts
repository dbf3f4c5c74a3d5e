import type { Config } from '../config.ts';
import type { Logger } from '../lib/logger.ts';

/** A plain-text email. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/**
 * Where mail goes. Code never sends directly: it queues messages in ktrlplane.mail_outbox with the
 * change they announce, and the deliver-mail job hands them to a transport.
 */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
}

const REDACTED_TOKEN = '[REDACTED]';

/**
 * Removes the secrets mail carries (invitation links hold a token that grants access) so a message
 * can be logged: the token in `/invitations/<token>`, in `?invitation=<token>` and in
 * `/auth/verify-email/<token>`.
 */
export function redactMailSecrets(text: string): string {
  return text
    .replace(/(\/invitations\/)[^\s/?#"'<>]+/g, `$1${REDACTED_TOKEN}`)
    .replace(/([?&]invitation=)[^\s&#"'<>]+/g, `$1${REDACTED_TOKEN}`)
    .replace(/(\/auth\/verify-email\/)[^\s/?#"'<>]+/g, `$1${REDACTED_TOKEN}`);
}

/**
 * The default transport (no SMTP_URL): writes each message to the log, with its secrets redacted,
 * and counts it as sent. The full message stays in ktrlplane.mail_outbox for whoever runs the
 * installation (and for tests).
 */
export function logMailTransport(log: Logger): MailTransport {
  return {
    async send(message) {
      log.info('mail (log transport; set SMTP_URL to send it)', {
        to: message.to,
        subject: message.subject,
        body: redactMailSecrets(message.text),
      });
    },
  };
}

/**
 * Sends through an SMTP server: `smtp://user:pass@host:587` (STARTTLS when the server offers it) or
 * `smtps://…:465`. nodemailer is loaded on first use, so runtimes that never send by SMTP (the
 * Workers build without SMTP_URL) never evaluate it.
 */
export function smtpMailTransport(smtpUrl: string, from: string): MailTransport {
  let transporter: Promise<{ sendMail(mail: Record<string, unknown>): Promise<unknown> }> | undefined;
  return {
    async send(message) {
      transporter ??= import('nodemailer').then(({ createTransport }) => createTransport(smtpUrl));
      await (await transporter).sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    },
  };
}

/** SMTP when SMTP_URL is set, otherwise the log. */
export function mailTransportFor(
  config: Pick<Config, 'SMTP_URL' | 'MAIL_FROM'> | undefined,
  log: Logger,
): MailTransport {
  return config?.SMTP_URL ? smtpMailTransport(config.SMTP_URL, config.MAIL_FROM) : logMailTransport(log);
}

const nouns = { organization: 'organization', project: 'project', resource: 'resource' } as const;

/** The invitation email. `link` carries the token: it is a secret, so never log this text as is. */
export function invitationMessage(invitation: {
  email: string;
  inviter: string;
  roleName: string;
  scopeType: keyof typeof nouns;
  scopeName: string;
  link: string;
  expiresAt: Date;
}): MailMessage {
  const where = `the ${nouns[invitation.scopeType]} "${invitation.scopeName}"`;
  return {
    to: invitation.email,
    subject: `${invitation.inviter} invited you to ${invitation.scopeName} on ktrlplane`,
    text: [
      `${invitation.inviter} invited you to ${where} on ktrlplane, as ${invitation.roleName}.`,
      '',
      'Open this link to accept: sign up (or sign in) with this email address.',
      invitation.link,
      '',
      `The link works once and expires on ${invitation.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
      'If you did not expect this invitation, ignore this email: nothing happens unless you open the link.',
    ].join('\n'),
  };
}

const utc = (at: Date) => `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The email-verification mail. `link` carries the token: never log this text as is. */
export function emailVerificationMessage(input: {
  email: string;
  link: string;
  expiresAt: Date;
}): MailMessage {
  return {
    to: input.email,
    subject: 'Confirm your email address for ktrlplane',
    text: [
      'Someone (hopefully you) created a ktrlplane account with this email address.',
      '',
      'Open this link to confirm that the address is yours:',
      input.link,
      '',
      `The link works once and expires on ${utc(input.expiresAt)}.`,
      'If you did not create this account, ignore this email: the account stays unconfirmed and receives nothing shared with this address.',
    ].join('\n'),
  };
}

/**
 * Sent instead of a verification mail when someone signs up with an address that already has an
 * account: sign-up answers alike either way (no enumeration), and the owner learns of it here.
 */
export function signupAttemptMessage(input: { email: string; signInLink: string }): MailMessage {
  return {
    to: input.email,
    subject: 'Someone tried to sign up to ktrlplane with your email address',
    text: [
      'Someone tried to create a ktrlplane account with this email address, which already has one.',
      '',
      'If it was you, sign in instead:',
      input.signInLink,
      '',
      'If it was not you, you can ignore this email: nothing was changed and no account was created.',
    ].join('\n'),
  };
}
