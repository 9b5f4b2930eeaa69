/** Exit codes promised to users: 0 ok, 1 job failure, 2 usage or configuration error. */
export const EXIT_OK = 0;
export const EXIT_JOB_FAILED = 1;
export const EXIT_USAGE = 2;

/** An error the user can fix by changing config or arguments; every problem is listed. */
export class ConfigError extends Error {
  readonly exitCode = EXIT_USAGE;
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} configuration problems:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** A failure of the work itself (database, catalog, Kafka…), after retries. */
export class JobError extends Error {
  readonly exitCode = EXIT_JOB_FAILED;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobError';
  }
}

/** A failure caused by the data itself (a value the target cannot hold): retrying cannot help, so it is not retried. */
export class DataError extends JobError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
