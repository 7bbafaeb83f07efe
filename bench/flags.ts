/**
 * Numeric command-line flags of the bench scripts, checked once here: `Number("8x")` is NaN and
 * `Number("")` is 0, and either would otherwise become a batch size or a duration without a word.
 */

/** `--name N` as an integer ≥ `min`, or an error naming the flag and the value given. */
export function integerFlag(name: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new RangeError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  }
  return n;
}

/** `--name X` as a finite number > 0, or an error naming the flag and the value given. */
export function positiveFlag(name: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new RangeError(`--${name} must be a number > 0, got "${value}"`);
  }
  return n;
}
