/** `lakeloader sql`: query the lakehouse (bronze tables, _cdc_status, _schema_changes, _dead_letters) with DuckDB SQL. */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { commandContext } from '../lib/cli/context.js';
import { ConfigError } from '../lib/errors.js';
import { Lakehouse } from '../lib/lakehouse/session.js';
import { renderResult, type OutputFormat } from '../lib/query/format.js';
import { runSql } from '../lib/query/sql-runner.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description('run DuckDB SQL against the Iceberg catalog, e.g. SELECT * FROM bronze.mydb._cdc_status (read-only by default)')
    .argument('[query]', 'SQL text; with neither query nor --file, read from stdin')
    .option('-f, --file <path>', 'read the SQL from a file')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .option('--allow-writes', 'permit INSERT/UPDATE/DELETE/MERGE/DDL')
    .addHelpText('after', '\nTables: <catalog alias>."<namespace>".<table> (e.g. lake."bronze.mydb".orders), or bronze.mydb.orders;\n' +
      "time travel: SELECT * FROM lake.\"bronze.mydb\".orders AT (VERSION => <snapshot id>)")
    .action(async (query: string | undefined, opts: { file?: string; format: OutputFormat; allowWrites?: boolean }, cmd: Command) => {
      const { config } = commandContext(cmd);
      if (query && opts.file) throw new ConfigError(['give either a query argument or --file, not both']);
      const sql = query ?? (opts.file ? readFileSync(opts.file, 'utf8') : await readStdin());
      if (!sql.trim()) throw new ConfigError(['no SQL given (argument, --file or stdin)']);
      const lakehouse = await Lakehouse.open(config.lakehouse);
      const result = await runSql(lakehouse, sql, { allowWrites: Boolean(opts.allowWrites) });
      process.stdout.write(renderResult(result, opts.format));
    });
}
