/**
 * @module api/ec2/regions
 * DescribeRegions and DescribeAvailabilityZones, answered from the cloud's configuration (one region, its zones).
 */
import { AwsError } from '../../shared/index.js';
import { applyFilters } from '../../protocol/index.js';
import type { HandlerTable } from '../gateway/index.js';

export interface RegionDeps {
  region: string;
  zones: string[];
  /** The public EC2 endpoint host:port, e.g. `127.0.0.1:8773`. */
  endpoint: string;
  /** Zone states from the service registry (available unless a zone's CC is down). */
  zoneState?: (zone: string) => 'available' | 'impaired' | 'unavailable';
}

type Filter = { Name?: string; Values?: string[] };

export function createRegionHandlers(deps: RegionDeps): HandlerTable {
  const region = { RegionName: deps.region, Endpoint: `${deps.endpoint}/services/compute`, OptInStatus: 'opt-in-not-required' };
  const regions = [region];
  const regionFilters = {
    'region-name': (r: typeof region) => r.RegionName, endpoint: (r: typeof region) => r.Endpoint, 'opt-in-status': (r: typeof region) => r.OptInStatus,
  };
  const zoneOut = (z: string, i: number) => ({
    ZoneName: z, State: deps.zoneState?.(z) ?? 'available', RegionName: deps.region, ZoneId: `${deps.region}-az${i + 1}`,
    ZoneType: 'availability-zone', GroupName: deps.region, NetworkBorderGroup: deps.region, OptInStatus: 'opt-in-not-required', Messages: [],
  });
  return {
    DescribeRegions: {
      handle: async (i: { RegionNames?: string[]; Filters?: Filter[] }) => {
        for (const n of i.RegionNames ?? []) {
          if (n !== deps.region) throw new AwsError('InvalidParameterValue', `Invalid region: ${n}`);
        }
        return { Regions: applyFilters(regions, i.Filters as never, regionFilters) };
      },
    },
    DescribeAvailabilityZones: {
      handle: async (i: { ZoneNames?: string[]; ZoneIds?: string[]; Filters?: Filter[] }) => {
        let zones = deps.zones.map(zoneOut);
        // Eucalyptus: `verbose` in ZoneNames asks for the capacity table (answered by the compute handlers when present).
        const names = (i.ZoneNames ?? []).filter((n) => n !== 'verbose');
        for (const n of names) {
          if (!deps.zones.includes(n)) throw new AwsError('InvalidParameterValue', `The zone '${n}' does not exist.`);
        }
        if (names.length) zones = zones.filter((z) => names.includes(z.ZoneName));
        for (const id of i.ZoneIds ?? []) {
          if (!zones.some((z) => z.ZoneId === id)) throw new AwsError('InvalidParameterValue', `The zone ID '${id}' does not exist.`);
        }
        if (i.ZoneIds?.length) zones = zones.filter((z) => i.ZoneIds!.includes(z.ZoneId));
        type Z = (typeof zones)[number];
        const rows = applyFilters(zones, i.Filters as never, {
          'zone-name': (z: Z) => z.ZoneName, 'zone-id': (z: Z) => z.ZoneId, state: (z: Z) => z.State, 'region-name': (z: Z) => z.RegionName,
          'zone-type': (z: Z) => z.ZoneType, 'group-name': (z: Z) => z.GroupName, 'opt-in-status': (z: Z) => z.OptInStatus,
        });
        return { AvailabilityZones: rows };
      },
    },
  };
}
