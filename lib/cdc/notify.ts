/** Schema-change and operational alerts: the log always, plus generic JSON webhooks and Slack-compatible webhooks. */
import { logger } from '../log/logger.js';

export interface SchemaChangeNotice {
  source: string;
  table: string;
  change_type: string;
  column_name: string | null;
  detail: string;
  schema_before: string | null;
  schema_after: string | null;
}

async function post(url: string, body: unknown): Promise<boolean> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) logger.warn(`webhook answered HTTP ${res.status}`, { url });
    return res.ok;
  } catch (err) {
    logger.warn(`webhook failed: ${(err as Error).message}`, { url });
    return false;
  }
}

export interface AlertNotice {
  source: string;
  table: string;
  event: 'table_blocked';
  detail: string;
}

/** An operational alert (a table stopped): the log, then the same channels as schema changes. */
export async function notifyAlert(notice: AlertNotice, channels: { webhooks: string[]; slack_webhooks: string[] }): Promise<boolean> {
  logger.error(`${notice.event} ${notice.table}: ${notice.detail}`, { source: notice.source, table: notice.table });
  const results = await Promise.all([
    ...channels.webhooks.map((url) => post(url, notice)),
    ...channels.slack_webhooks.map((url) => post(url, { text: `:rotating_light: lakeloader: *${notice.table}* (${notice.source}): ${notice.event} — ${notice.detail}` })),
  ]);
  return results.every(Boolean);
}

/** Sends the notice everywhere configured; true when every channel accepted it. */
export async function notifySchemaChange(notice: SchemaChangeNotice, channels: { webhooks: string[]; slack_webhooks: string[] }): Promise<boolean> {
  logger.warn(`schema change in ${notice.table}: ${notice.change_type}${notice.column_name ? ` ${notice.column_name}` : ''} (${notice.detail})`, { source: notice.source, table: notice.table });
  const results = await Promise.all([
    ...channels.webhooks.map((url) => post(url, { event: 'schema_change', ...notice })),
    ...channels.slack_webhooks.map((url) => post(url, {
      text: `:warning: lakeloader: schema change in *${notice.table}* (${notice.source}): ${notice.change_type}${notice.column_name ? ` \`${notice.column_name}\`` : ''} — ${notice.detail}`,
    })),
  ]);
  return results.every(Boolean);
}
