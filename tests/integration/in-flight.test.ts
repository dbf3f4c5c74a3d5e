import { describe, expect, it } from 'vitest';
import { InFlightRequests } from '../../src/lib/in-flight.ts';

describe('InFlightRequests', () => {
  it('resolves drained() only after every running handler has finished', async () => {
    const inFlight = new InFlightRequests();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fetch = inFlight.wrap(async () => {
      await gate;
      return new Response('ok');
    });
    const first = fetch();
    const second = fetch();
    expect(inFlight.count).toBe(2);
    let drained = false;
    const waiting = inFlight.drained().then(() => {
      drained = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(drained).toBe(false);
    release();
    await Promise.all([first, second, waiting]);
    expect(drained).toBe(true);
    expect(inFlight.count).toBe(0);
  });

  it('counts a handler that throws as finished', async () => {
    const inFlight = new InFlightRequests();
    const failing = inFlight.wrap(async () => {
      throw new Error('boom');
    });
    await expect(failing()).rejects.toThrow('boom');
    expect(inFlight.count).toBe(0);
    await inFlight.drained();
  });
});
