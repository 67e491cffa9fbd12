/** The parts of the BMS v1 wire model the hook reads. Unknown fields are kept but not typed. */

export type ServerStatus = 'ACTIVE' | 'BUILD' | 'ERROR' | 'HARD_REBOOT' | 'REBOOT' | 'DELETED' | 'SHUTOFF';

export interface BmsServer {
  id: string;
  name: string;
  status: ServerStatus | string;
  tenant_id?: string;
  key_name?: string;
  created?: string;
  updated?: string;
  /** e.g. "2019-05-22T03:23:59.000000"; when the server first reached ACTIVE. */
  'OS-SRV-USG:launched_at'?: string;
  metadata?: Record<string, string> & { os_type?: string };
  image?: { id?: string; __os_type?: string };
  /** BMS v1 tags are plain strings, "key=value" or "key". */
  tags?: string[];
  [field: string]: unknown;
}

export interface ListServersQuery {
  name?: string;
  status?: string;
  flavor?: string;
  tags?: string;
  /** Page size, at most 1000. */
  limit?: number;
}

export type JobStatus = 'SUCCESS' | 'RUNNING' | 'FAIL' | 'INIT';

export interface BmsJob {
  job_id: string;
  job_type?: string;
  status: JobStatus | string;
  begin_time?: string;
  end_time?: string;
  error_code?: string | null;
  fail_reason?: string | null;
  entities?: {
    sub_jobs_total?: number;
    sub_jobs?: Array<{
      job_id?: string;
      job_type?: string;
      status?: string;
      entities?: { server_id?: string };
    }>;
    server_id?: string;
  };
}

/** A posted password record: the ciphertext, or `undefined` when nothing is posted (or it was cleared). */
export type PasswordRecord = { ciphertext: string } | undefined;

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/**
 * The BMS operations the pipeline needs. The HTTP client implements it; tests may too.
 * Every call honours `signal` and throws a HuaweiApiError (see errors.ts) on failure.
 */
export interface BmsApi {
  showServer(projectId: string, serverId: string, options?: CallOptions): Promise<BmsServer>;
  /** Iterates every page (offset is a page number from 1). */
  listServers(projectId: string, query?: ListServersQuery, options?: CallOptions): AsyncIterable<BmsServer>;
  getPassword(projectId: string, serverId: string, options?: CallOptions): Promise<PasswordRecord>;
  /** 200, 202 and 204 are all success. */
  deletePassword(projectId: string, serverId: string, options?: CallOptions): Promise<void>;
  showJob(projectId: string, jobId: string, options?: CallOptions): Promise<BmsJob>;
}
