/** Option parsers shared by the commands: a bad value is a usage error (exit 2) naming the option. */
import { InvalidArgumentError } from 'commander';

export function positiveNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${value}'`);
    return n;
  };
}

export function positiveInteger(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${value}'`);
    return n;
  };
}

/** Collects a repeatable option into a list. */
export function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}
