/**
 * The contract of a maintenance engine: an Iceberg implementation that rewrites data files (applying
 * and retiring delete files), expires snapshots, removes orphan files and rewrites manifests. lakeloader
 * decides what to do (policy.ts); the engine does it, table by table, one failure never stopping the rest.
 */

export interface RewriteRequest {
  targetFileSizeBytes: number;
}

export interface ExpireRequest {
  /** Snapshots older than this (epoch ms) may go… */
  olderThanMs: number;
  /** …but never the newest N. */
  retainLast: number;
}

export interface OrphanRequest {
  /** Only files older than this (epoch ms): a commit still in flight never loses its files. */
  olderThanMs: number;
}

export interface EngineTableRequest {
  namespace: string;
  table: string;
  rewrite?: RewriteRequest;
  rewriteManifests?: boolean;
  expire?: ExpireRequest;
  removeOrphans?: OrphanRequest;
}

/** What the engine reports per table: counts per action (engine-specific names), durations, or the error. */
export interface EngineTableResult {
  table: string;
  error?: string;
  /** e.g. { rewrite_data_files: { rewritten_data_files_count: 12, … }, expire_snapshots: { … } } */
  actions: Record<string, Record<string, number>>;
  durationsMs: Record<string, number>;
}

export interface MaintenanceEngine {
  readonly name: string;
  /** False once the engine failed or exited: a kept engine is then replaced by a new one. */
  readonly alive: boolean;
  /**
   * Starts the engine (a JVM, a session) and loads these tables ahead of the work, so that the
   * consumer holds still only for the work itself.
   */
  start(warm?: { namespace: string; table: string }[]): Promise<void>;
  run(tables: EngineTableRequest[]): Promise<EngineTableResult[]>;
  close(): Promise<void>;
}
