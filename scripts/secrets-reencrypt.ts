/**
 * `npm run secrets:reencrypt [-- --dry-run]`: re-seals every Konnektr.Secret value that is not
 * sealed with the current SECRETS_ENCRYPTION_KEY and SECRETS_OPERATOR_KEY (README "Secrets",
 * rotation). Prints counts, never values; exits 1 when a value did not open (its key is missing
 * from SECRETS_ENCRYPTION_OLD_KEYS), leaving that value as it was.
 */
import { ConfigError, loadConfig } from '../src/config.ts';
import { openNodeDatabase } from '../src/db/dialects/node.ts';
import { secretKeyringOf } from '../src/lib/secret-crypto.ts';
import { reencryptSecrets } from '../src/services/secrets.ts';

try {
  const dryRun = process.argv.includes('--dry-run');
  const config = loadConfig(process.env);
  const keyring = await secretKeyringOf(config);
  if (!keyring) {
    console.error('Set SECRETS_ENCRYPTION_KEY and SECRETS_OPERATOR_KEY (the new ones) first.');
    process.exit(1);
  }
  const database = await openNodeDatabase(config);
  try {
    const report = await reencryptSecrets(
      database.db,
      keyring,
      {
        actorType: 'system',
        actorId: null,
        actorLabel: 'npm run secrets:reencrypt',
        requestId: null,
        ip: null,
        userAgent: null,
      },
      new Date(),
      { dryRun },
    );
    console.log(
      `${dryRun ? 'would re-encrypt' : 're-encrypted'} ${report.reencrypted} of ${report.entries} value(s) in ${report.secrets} Secret(s) (key ${keyring.current.id}, operator key ${keyring.operator.id})`,
    );
    for (const failure of report.failed)
      console.error(`  not re-encrypted: ${failure.resource_id} key "${failure.key}": ${failure.reason}`);
    if (report.failed.length > 0) process.exitCode = 1;
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
