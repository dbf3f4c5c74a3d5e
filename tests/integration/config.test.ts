import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 8080,
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      JOBS_ENABLED: true,
      BASE_URL: 'http://localhost:8080',
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).PORT).toBe(8080);
  });

  it('names the variable that is wrong and why', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT: /);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgres/);
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'pk_test_1' })).toThrow(/STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ JOBS_ENABLED: 'maybe' })).toThrow(/JOBS_ENABLED/);
  });

  it('parses typed values', () => {
    const config = loadConfig({ PORT: '9000', JOBS_ENABLED: 'false', BASE_URL: 'https://ktrl.example.com' });
    expect(config).toMatchObject({ PORT: 9000, JOBS_ENABLED: false, BASE_URL: 'https://ktrl.example.com' });
  });

  it('lists every setting in .env.example', async () => {
    const { readFile } = await import('node:fs/promises');
    const example = await readFile('.env.example', 'utf8');
    const { configSchema } = await import('../../src/config.ts');
    for (const key of Object.keys(configSchema.shape))
      expect(example, key).toMatch(new RegExp(`^#? ?${key}=`, 'm'));
  });
});
