/** Secret keys for tests (32 bytes each, base64), used nowhere else. */
export const TEST_SECRETS_ENV = {
  SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  SECRETS_OPERATOR_KEY: Buffer.alloc(32, 9).toString('base64'),
};
