/**
 * PGlite parses int8 (count(*), sum of integers) to a number and numeric to a string; `pg` and
 * Neon return both as strings. We make every driver agree: int8 → number (refusing values a
 * double cannot hold exactly, rather than rounding them silently), numeric stays a string (money
 * and fractional sums are handled explicitly by the repository that reads them).
 */
export const INT8_OID = 20;

export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int8 value ${text} does not fit a JavaScript number exactly`);
  }
  return value;
}

interface PgTypes {
  getTypeParser(oid: number, format?: string): (text: string) => unknown;
}

/** A `types` object for pg/Neon pools that overrides int8 and defers everything else. */
export function normalisedPgTypes(base: PgTypes): PgTypes {
  return {
    getTypeParser(oid, format) {
      if (oid === INT8_OID && format !== 'binary') return parseInt8;
      return base.getTypeParser(oid, format);
    },
  };
}
