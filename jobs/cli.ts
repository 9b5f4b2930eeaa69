#!/usr/bin/env node
/** The `lakeloader` command: global options and one subcommand per job. */
import { Command, CommanderError, Option } from 'commander';
import { reportFailure } from '../lib/cli/context.js';
import { EXIT_OK, EXIT_USAGE } from '../lib/errors.js';
import { logger } from '../lib/log/logger.js';
import { registerBulkLoad } from './bulk-load.js';
import { registerCdc } from './cdc.js';
import { registerConfigCheck } from './config-check.js';
import { registerConnector } from './connector.js';
import { registerMaintain } from './maintain.js';
import { registerSql } from './sql.js';
import { registerStatus } from './status.js';
import { registerValidate } from './validate.js';

const program = new Command('lakeloader')
  .description('Replicate PostgreSQL and Oracle into an Apache Iceberg lakehouse: bulk load, then Debezium CDC.')
  .option('-c, --config <dir>', 'configuration directory', process.env.LAKELOADER_CONFIG_DIR ?? './config')
  .addOption(new Option('--log-level <level>', 'log level').choices(['error', 'warn', 'info', 'debug']).default('info'))
  .addOption(new Option('--log-format <format>', 'log format (default: pretty on a TTY, json otherwise)').choices(['json', 'pretty']))
  .showHelpAfterError()
  .exitOverride();

registerConfigCheck(program);
registerBulkLoad(program);
registerSql(program);
registerCdc(program);
registerConnector(program);
registerValidate(program);
registerStatus(program);
registerMaintain(program);

try {
  await program.parseAsync(process.argv);
  process.exitCode ??= EXIT_OK;
} catch (err) {
  if (err instanceof CommanderError) {
    // help and version are not errors; everything else commander rejects is a usage error
    process.exitCode = err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  } else {
    process.exitCode = reportFailure(err);
  }
}

// The job is over: a handle something left open (a socket, a timer) must not keep the process alive.
setTimeout(() => {
  logger.warn('the job finished but open handles kept the process alive: exiting');
  process.exit();
}, 10_000).unref();
