/**
 * @module clc/compute/instance-types
 * Eucalyptus's predefined VM types (`VmTypes.PredefinedTypes` in Eucalyptus 4.4): name, virtual CPUs, root disk GiB,
 * memory MiB and network interface limit. Small on purpose: an m1.small is 1 CPU / 256 MiB / 5 GiB as in Eucalyptus,
 * not AWS's sizes. The default type is `cloud.vmtypes.default_type_name` (m1.small).
 */

export interface InstanceType {
  name: string;
  cpu: number;
  memoryMiB: number;
  diskGiB: number;
  /** Maximum network interfaces. */
  enis: number;
  /** Can only boot from EBS (no instance-store root). */
  ebsOnly: boolean;
}

const T = (name: string, cpu: number, diskGiB: number, memoryMiB: number, enis: number, ebsOnly = false): InstanceType =>
  Object.freeze({ name, cpu, diskGiB, memoryMiB, enis, ebsOnly });

/** In Eucalyptus's order (well-ordered by size, as its docs require of customised types). */
export const INSTANCE_TYPES: readonly InstanceType[] = Object.freeze([
  T('t1.micro', 1, 5, 256, 2, true),
  T('m1.small', 1, 5, 256, 2),
  T('m1.medium', 1, 10, 512, 2),
  T('c1.medium', 2, 10, 512, 2),
  T('m1.large', 2, 10, 512, 3),
  T('m1.xlarge', 2, 10, 1024, 4),
  T('m2.xlarge', 2, 10, 2048, 4),
  T('c1.xlarge', 2, 10, 2048, 4),
  T('m3.xlarge', 4, 15, 2048, 4, true),
  T('m2.2xlarge', 2, 30, 4096, 4),
  T('m3.2xlarge', 4, 30, 4096, 4, true),
  T('cc1.4xlarge', 8, 60, 3072, 4),
  T('m2.4xlarge', 8, 60, 4096, 8),
  T('hi1.4xlarge', 8, 120, 6144, 8),
  T('cc2.8xlarge', 16, 120, 6144, 8),
  T('cg1.4xlarge', 16, 200, 12288, 8),
  T('cr1.8xlarge', 16, 240, 16384, 8),
  T('hs1.8xlarge', 48, 24000, 119808, 8),
]);

export const DEFAULT_INSTANCE_TYPE = 'm1.small';

const BY_NAME = new Map(INSTANCE_TYPES.map((t) => [t.name, t]));

export function findInstanceType(name: string): InstanceType | undefined {
  return BY_NAME.get(name);
}
