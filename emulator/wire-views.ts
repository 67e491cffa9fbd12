/** Renders emulator records in the BMS v1 wire shapes (show server, list, job). */
import type { Fleet, JobRecord, ServerRecord } from './fleet.ts';

export interface ViewContext {
  fleet: Fleet;
  projectId: string;
  region: string;
  now: number;
}

/** "2019-05-22T03:23:59Z" as in `created`. */
function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** "2019-05-22T03:23:59.000000" as in `OS-SRV-USG:launched_at`. */
function launchedAt(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000`;
}

function shortId(id: string): string {
  return id.replace(/-/g, '').slice(0, 4);
}

export function serverView(record: ServerRecord, ctx: ViewContext): Record<string, unknown> {
  const status = ctx.fleet.status(record, ctx.now);
  const { spec } = record;
  const windows = spec.osType === 'Windows';
  const vpcId = `vpc-${record.orderId.toLowerCase()}`;
  const active = status === 'ACTIVE';
  // Like Nova, a finished rebuild (OS reinstall) moves launched_at to when it completed.
  const launched =
    record.rebuildingUntil > 0 && ctx.now >= record.rebuildingUntil
      ? record.rebuildingUntil
      : record.activeAt;
  return {
    id: record.id,
    name: spec.name,
    user_id: '6d78fa8f4b1c4f5f9b8c1e2a3b4c5d6e',
    tenant_id: ctx.projectId,
    created: isoSeconds(record.createdAt),
    updated: isoSeconds(Math.min(ctx.now, Math.max(record.createdAt, launched))),
    hostId: `host-${shortId(record.id)}`,
    status,
    progress: active ? 100 : 0,
    key_name: spec.keyName ?? undefined,
    image: { id: spec.imageRef, name: spec.metadata['image_name'], __os_type: spec.osType },
    flavor: { id: spec.flavorRef, name: spec.flavorRef, disk: '800', vcpus: '32', ram: '196608' },
    metadata: {
      chargingMode: '1',
      'metering.order_id': record.orderId,
      'metering.product_id': '00301-225396-0--0',
      vpc_id: vpcId,
      'metering.image_id': spec.imageRef,
      'metering.imagetype': 'gold',
      'metering.resourcespeccode': `${spec.flavorRef}.${windows ? 'win' : 'linux'}`,
      'metering.resourcetype': '__type_baremetal',
      os_bit: '64',
      __bms_support_evs: 'true',
      op_svc_userid: '6d78fa8f4b1c4f5f9b8c1e2a3b4c5d6e',
      ...spec.metadata,
      os_type: spec.osType,
    },
    tags: [...spec.tags],
    addresses: {},
    security_groups: [{ name: 'default' }],
    accessIPv4: '',
    accessIPv6: '',
    config_drive: '',
    'OS-EXT-STS:task_state': status === 'BUILD' ? 'scheduling' : status === 'SHUTOFF' ? 'rebuilding' : null,
    'OS-EXT-STS:vm_state': active ? 'active' : status === 'BUILD' ? 'building' : status.toLowerCase(),
    'OS-EXT-STS:power_state': active ? 1 : 0,
    'OS-EXT-SRV-ATTR:hostname': `${spec.name}-${shortId(record.id)}`,
    'OS-EXT-SRV-ATTR:instance_name': `instance-${shortId(record.id)}`,
    'OS-EXT-AZ:availability_zone': `${ctx.region}a`,
    'OS-DCF:diskConfig': 'MANUAL',
    'OS-SRV-USG:launched_at': ctx.now >= record.activeAt ? launchedAt(launched) : '',
    'OS-SRV-USG:terminated_at': record.deletedAt !== null ? launchedAt(record.deletedAt) : '',
    'os-extended-volumes:volumes_attached': [],
    host_status: active ? 'UP' : 'UNKNOWN',
    locked: false,
    description: '',
    enterprise_project_id: '0',
    sys_tags: [{ key: '_sys_enterprise_project_id', value: '0' }],
  };
}

function jobTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function jobView(job: JobRecord, now: number): Record<string, unknown> {
  const subJobs = job.serverIds.map((serverId, i) => {
    const done = now >= job.doneAt[i]!;
    return {
      status: done ? 'SUCCESS' : 'RUNNING',
      entities: { server_id: serverId },
      job_id: job.subJobIds[i],
      job_type: job.type === 'baremetalBatchCreate' ? 'baremetalSingleCreate' : 'baremetalSingleOperate',
      begin_time: jobTime(job.beganAt),
      end_time: done ? jobTime(job.doneAt[i]!) : '',
      error_code: null,
      fail_reason: null,
    };
  });
  const endAt = Math.max(...job.doneAt);
  const done = now >= endAt;
  const entities: Record<string, unknown> =
    job.type === 'baremetalBatchCreate'
      ? { sub_jobs_total: subJobs.length, sub_jobs: subJobs }
      : { server_id: job.serverIds[0], sub_jobs_total: subJobs.length, sub_jobs: subJobs };
  return {
    status: done ? 'SUCCESS' : 'RUNNING',
    entities,
    job_id: job.id,
    job_type: job.type,
    begin_time: jobTime(job.beganAt),
    end_time: done ? jobTime(endAt) : '',
    error_code: null,
    fail_reason: null,
  };
}
