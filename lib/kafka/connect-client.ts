/** Kafka Connect REST API: create/update, inspect and remove connectors (used by `lakeloader connector`). */
import { JobError } from '../errors.js';

export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

export class KafkaConnectClient {
  constructor(private readonly baseUrl: string) {}

  private async request<T>(method: string, path: string, body?: unknown, okStatuses: number[] = []): Promise<T | undefined> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new JobError(`Kafka Connect at ${this.baseUrl} is unreachable (kafka_clusters.yaml:connect_url): ${(err as Error).message}`, { cause: err });
    }
    if (okStatuses.includes(res.status)) return undefined;
    const text = await res.text();
    if (!res.ok) throw new JobError(`Kafka Connect ${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 500)}`);
    return text ? (JSON.parse(text) as T) : undefined;
  }

  /** Creates the connector or replaces its config (PUT is idempotent). */
  async apply(name: string, config: Record<string, string>): Promise<void> {
    await this.request('PUT', `/connectors/${encodeURIComponent(name)}/config`, config);
  }

  async status(name: string): Promise<ConnectorStatus | undefined> {
    return this.request<ConnectorStatus>('GET', `/connectors/${encodeURIComponent(name)}/status`, undefined, [404]);
  }

  /** Waits until the connector and all its tasks run; fails early with the task's trace when one failed. */
  async waitUntilRunning(name: string, timeoutMs = 60_000): Promise<ConnectorStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status(name);
      const failed = status?.tasks.find((t) => t.state === 'FAILED');
      if (failed) throw new JobError(`connector ${name} task ${failed.id} FAILED: ${failed.trace?.split('\n')[0] ?? 'no trace'}`);
      if (status?.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((t) => t.state === 'RUNNING')) return status;
      if (Date.now() > deadline) throw new JobError(`connector ${name} not RUNNING after ${timeoutMs / 1000}s: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * Removes the connector AND its stored source offsets: Connect otherwise keeps them, and a later
   * connector of the same name would resume from a WAL position whose slot no longer exists.
   */
  async delete(name: string): Promise<void> {
    const path = `/connectors/${encodeURIComponent(name)}`;
    if (!(await this.status(name))) return;
    await this.request('PUT', `${path}/stop`, undefined, [404]);
    for (let i = 0; i < 60; i++) {
      const s = await this.status(name);
      if (!s || s.connector.state === 'STOPPED') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await this.request('DELETE', `${path}/offsets`, undefined, [404]);
    await this.request('DELETE', path, undefined, [404]);
  }
}
