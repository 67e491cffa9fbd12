/** The in-process admin surface; the HTTP admin routes call exactly these operations. */
import type { EmulatorCore } from './emulator-core.ts';
import { FleetError, type ServerSpec } from './fleet.ts';
import type { CreateServersRequest, EmulatorAdmin } from './types.ts';

export class EmulatorAdminError extends Error {
  override name = 'EmulatorAdminError';
  readonly status: number;
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

const WINDOWS_IMAGE = 'win2022-dc-bms-image';
const LINUX_IMAGE = 'ubuntu-2204-bms-image';
const FLAVOR = 'physical.s4.3xlarge';

function count(value: unknown, field: string): number {
  const n = value ?? 0;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 100_000) {
    throw new EmulatorAdminError(400, `${field} must be an integer from 0 to 100000`);
  }
  return n;
}

function adminSpecs(request: CreateServersRequest, keyName: string): ServerSpec[] {
  const windows = count(request.windows, 'windows');
  const linux = count(request.linux, 'linux');
  const prefix = request.namePrefix ?? 'bms';
  const tags = ['__type_baremetal', ...Object.entries(request.tags ?? {}).map(([k, v]) => `${k}=${v}`)];
  const specs: ServerSpec[] = [];
  for (let i = 0; i < windows + linux; i++) {
    const isWindows = i < windows;
    specs.push({
      name: `${prefix}-${isWindows ? 'win' : 'linux'}-${String(i + 1).padStart(4, '0')}`,
      osType: isWindows ? 'Windows' : 'Linux',
      imageRef: isWindows ? WINDOWS_IMAGE : LINUX_IMAGE,
      flavorRef: FLAVOR,
      keyName: isWindows ? keyName : null,
      metadata: { image_name: isWindows ? 'Windows-Server-2022-DC' : 'Ubuntu-22.04' },
      tags,
      userData: request.userData ?? null,
    });
  }
  return specs;
}

function wrapFleetError<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (error instanceof FleetError) {
      throw new EmulatorAdminError(error.reason === 'not-found' ? 404 : 409, error.message, { cause: error });
    }
    throw error;
  }
}

export function createAdmin(core: EmulatorCore): EmulatorAdmin {
  return {
    createServers(request) {
      const specs = adminSpecs(request, core.keyPair.name);
      const delays = core.defaultDelays({
        ...(request.distribution !== undefined && { distribution: request.distribution }),
        ...(request.bootDelaySeconds !== undefined && { bootDelaySeconds: request.bootDelaySeconds }),
        ...(request.postDelaySeconds !== undefined && { postDelaySeconds: request.postDelaySeconds }),
      });
      const traceRequest = {
        server: {
          name: request.namePrefix ?? 'bms',
          imageRef: request.windows > 0 ? WINDOWS_IMAGE : LINUX_IMAGE,
          flavorRef: FLAVOR,
          count: specs.length,
          adminPass: '********',
        },
      };
      return core.createServers(specs, delays, traceRequest);
    },
    server(id) {
      const record = core.fleet.get(id);
      return record ? core.fleet.truth(record) : undefined;
    },
    servers() {
      return core.fleet.all().map((r) => core.fleet.truth(r));
    },
    guestPost(id) {
      const outcome = wrapFleetError(() => core.fleet.guestPost(id));
      if (outcome === 'posted') return { accepted: true, status: 201 };
      return { accepted: false, status: outcome === 'refused' ? 409 : 400 };
    },
    reinstall(id, options = {}) {
      const delays = core.defaultDelays({
        distribution: 'fixed',
        bootDelaySeconds: options.bootDelaySeconds ?? core.switches.bootDelaySeconds,
        postDelaySeconds: options.postDelaySeconds ?? core.switches.postDelaySeconds,
      });
      return wrapFleetError(() =>
        core.reinstall(id, delays, { 'os-reinstall': { keyname: core.keyPair.name, adminpass: '********' } }),
      );
    },
    deleteServer: (id) => core.fleet.delete(id),
    setFaults: (faults) => core.setFaults(faults),
    setSwitches: (switches) => core.setSwitches(switches),
    switches: () => structuredClone(core.switches),
    calls: () => core.callLog.snapshot(),
    reset: () => core.reset(),
    subscribe: (endpointUrl) => core.smn.subscribe(endpointUrl),
    subscriptions: () => core.smn.list(),
    idle: async () => {
      await core.smn.idle();
      await core.posted.idle();
    },
    postedNotifications: () => core.posted.records(),
    decryptKey: () => ({ ...core.keyPair }),
    issueTemporaryCredentials: (durationSeconds) => core.credentials.issueTemporary(durationSeconds),
  };
}
