/**
 * Validation of the ids we splice into BMS URL paths. They arrive from events, pipelines and
 * CLI arguments, so a value like "../other-project" or "x%2Fy" must be refused before it can
 * turn one signed request into another. The patterns are allow-lists: ASCII letters, digits
 * and '-' only, which excludes '/', '.', '%', '?', '#' and whitespace by construction.
 */

export type PathParamName = 'projectId' | 'serverId' | 'jobId';

/** IAM project ids are 32 hex characters; allow any short alphanumeric id for emulators and sovereign clouds. */
const PROJECT_ID = /^[A-Za-z0-9]{1,64}$/;
/** BMS server ids are UUIDs. */
const SERVER_ID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
/** BMS job ids are 32 hex characters in the docs; allow UUID-style ids too. */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

const RULES: Record<PathParamName, { pattern: RegExp; expected: string }> = {
  projectId: {
    pattern: PROJECT_ID,
    expected: 'letters and digits only (an IAM project id, 32 hex characters)',
  },
  serverId: { pattern: SERVER_ID, expected: 'a UUID such as cf2a8b97-b5c6-47ef-9714-eb27adf26e5b' },
  jobId: { pattern: JOB_ID, expected: "letters, digits and '-' only (a BMS job id)" },
};

export class InvalidPathParamError extends Error {
  override name = 'InvalidPathParamError';
  readonly param: PathParamName;
  constructor(param: PathParamName, value: unknown) {
    super(`invalid ${param} ${describe(value)}: expected ${RULES[param].expected}`);
    this.param = param;
  }
}

/** Shows the offending value (ids are not secrets) but keeps a hostile one short and printable. */
function describe(value: unknown): string {
  if (typeof value !== 'string') return `(${value === null ? 'null' : typeof value})`;
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(shown);
}

/** Returns the value when it is a safe path segment of the given kind; throws InvalidPathParamError otherwise. */
export function validatePathParam(param: PathParamName, value: unknown): string {
  if (typeof value !== 'string' || !RULES[param].pattern.test(value)) {
    throw new InvalidPathParamError(param, value);
  }
  return value;
}

export const validateProjectId = (value: unknown): string => validatePathParam('projectId', value);
export const validateServerId = (value: unknown): string => validatePathParam('serverId', value);
export const validateJobId = (value: unknown): string => validatePathParam('jobId', value);
