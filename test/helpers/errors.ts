import { InputError } from '../../src/model/errors.js';

/** Runs `fn` and checks it throws one InputError naming `field`, with a message matching `text`. */
export function expectInputError(fn: () => unknown, field: string, text: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).field).toBe(field);
  expect((err as Error).message).toMatch(text);
}
