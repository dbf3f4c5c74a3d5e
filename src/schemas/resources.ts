import { z } from 'zod';
import { dnsLabel } from '../lib/ids.ts';

/** Resource bodies use the column names of ktrlplane.resources, as the existing API did. */
const name = z.string().trim().min(1, 'enter a name').max(200, 'use at most 200 characters');
const settings = z.record(z.string(), z.unknown(), { error: 'settings_json must be a JSON object' });

export const createResourceInput = z.strictObject({
  resource_id: z.preprocess((value) => (value === '' ? undefined : value), dnsLabel.optional()),
  name,
  type: z.string().min(1, 'choose a resource type').max(100),
  sku: z.string().min(1, 'choose a SKU').max(50).default('free'),
  settings_json: settings.default({}),
});

export const updateResourceInput = z
  .strictObject({
    name: name.optional(),
    sku: z.string().min(1).max(50).optional(),
    settings_json: settings.optional(),
  })
  .refine((value) => Object.keys(value).length > 0, 'send name, sku or settings_json to change');

/** settings_json larger than this is refused with 413 before it is validated. */
export const MAX_SETTINGS_BYTES = 256 * 1024;
