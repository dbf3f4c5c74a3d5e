import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTimestamp, withIsoTimestamps } from '../../src/lib/json.ts';

/**
 * lib/json.ts writes timestamps ahead of JSON.stringify for speed; the text must be exactly what
 * JSON.stringify writes by itself, for every date a Date can hold (and an invalid one).
 */

// The whole range of Date (±100,000,000 days around 1970), the four-digit years, and invalid dates.
const MAX_TIME = 8.64e15;
const anyDate = fc.oneof(
  fc.integer({ min: -MAX_TIME, max: MAX_TIME }).map((time) => new Date(time)),
  fc.date({ min: new Date('0999-12-31T23:59:59.999Z'), max: new Date('+010000-01-01T00:00:00.000Z') }),
  fc.constant(new Date(Number.NaN)),
);

describe('timestamps written for JSON', () => {
  it('writes a date exactly as Date#toJSON does', () => {
    fc.assert(
      fc.property(anyDate, (date) => {
        expect(isoTimestamp(date)).toBe(date.toJSON());
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a row the same JSON text, keys in the same order, without touching the row', () => {
    fc.assert(
      fc.property(anyDate, anyDate, fc.string(), (createdAt, updatedAt, name) => {
        const row = {
          id: 'r-1',
          created_at: createdAt,
          name,
          nested: { at: updatedAt },
          updated_at: updatedAt,
          missing: null,
        };
        const before = JSON.stringify(row);
        const copy = withIsoTimestamps(row);
        expect(JSON.stringify(copy)).toBe(before);
        expect(Object.keys(copy)).toEqual(Object.keys(row));
        expect(row.created_at).toBe(createdAt);
      }),
    );
  });
});
