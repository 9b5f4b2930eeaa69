/** What every subcommand needs: global options applied, config loaded once, secrets registered for redaction. */
import { Command } from 'commander';
import { loadConfig, type LakeloaderConfig } from '../config/index.js';
import { ConfigError, EXIT_JOB_FAILED, EXIT_USAGE, errorMessage } from '../errors.js';
import { configureLogging, logger, registerSecrets, type LogFormat } from '../log/logger.js';

export interface GlobalOptions {
  config: string;
  logLevel: string;
  logFormat?: LogFormat;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Loads the config named by --config / LAKELOADER_CONFIG_DIR and applies the logging options. */
export function commandContext(cmd: Command): { config: LakeloaderConfig; options: GlobalOptions } {
  const options = globalOptions(cmd);
  configureLogging({ level: options.logLevel, ...(options.logFormat ? { format: options.logFormat } : {}) });
  const config = loadConfig(options.config);
  registerSecrets(config.secrets);
  return { config, options };
}

/** Maps any error escaping a command to the promised exit codes, with a readable message. */
export function reportFailure(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`lakeloader: configuration error\n  ${err.problems.join('\n  ')}\n`);
    return EXIT_USAGE;
  }
  logger.error(errorMessage(err), { error: err });
  return typeof (err as { exitCode?: unknown })?.exitCode === 'number' ? (err as { exitCode: number }).exitCode : EXIT_JOB_FAILED;
}
