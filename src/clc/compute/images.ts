/**
 * @module clc/compute/images
 * Images (emi- machine, eki- kernel, eri- ramdisk) registered from objects in Walrus, or from files on the nodes for
 * the cloud's built-in default image. The kind of an object is recognised from its first bytes: a qcow2 header, a
 * Linux kernel boot header (`HdrS`), a compressed/cpio initramfs, otherwise a raw disk.
 * Visibility: the owner, accounts granted a launch permission, everyone when public.
 */
import type { Kysely } from 'kysely';
import { AwsError, hexId } from '../../shared/index.js';
import { ec2Errors } from './errors.js';
import type { ComputeTables, ImagesTable } from './schema.js';
import type { Tag, TagStore } from './tags.js';

/** Read access to objects in the object store (implemented over Walrus by the composition root). */
export interface ObjectAccess {
  /** Size and ETag of an object the account may read, or null when it does not exist or is not readable. */
  head(accountId: string, bucket: string, key: string): Promise<{ size: number; etag?: string } | null>;
  /** Bytes [start, end) of an object (for recognising its format). */
  read(accountId: string, bucket: string, key: string, start: number, end: number): Promise<Buffer>;
  /**
   * Where a node controller can read the object: a file path on the nodes (cloud-in-a-box: the object's blob file)
   * or a URL it can GET (presigned, time-limited).
   */
  locate(bucket: string, key: string): Promise<{ path: string } | { url: string }>;
}

export type ImageKind = 'machine' | 'kernel' | 'ramdisk';
export type DiskFormat = 'raw' | 'qcow2';

export interface ImageSource {
  bucket?: string;
  key?: string;
  /** A file on every node (built-in images). */
  path?: string;
  format?: DiskFormat;
  sha256?: string;
}

export interface Image {
  imageId: string;
  ownerId: string;
  name: string;
  description?: string;
  imageType: ImageKind;
  architecture: string;
  state: string;
  location: string;
  source: ImageSource;
  kernelId?: string;
  ramdiskId?: string;
  rootDeviceType: string;
  rootDeviceName: string;
  virtualizationType: string;
  isPublic: boolean;
  sizeBytes: number;
  createdAt: Date;
}

const toImage = (r: ImagesTable): Image => ({
  imageId: r.image_id,
  ownerId: r.account_id,
  name: r.name,
  ...(r.description ? { description: r.description } : {}),
  imageType: r.image_type as ImageKind,
  architecture: r.architecture,
  state: r.state,
  location: r.location,
  source: JSON.parse(r.source) as ImageSource,
  ...(r.kernel_id ? { kernelId: r.kernel_id } : {}),
  ...(r.ramdisk_id ? { ramdiskId: r.ramdisk_id } : {}),
  rootDeviceType: r.root_device_type,
  rootDeviceName: r.root_device_name,
  virtualizationType: r.virtualization_type,
  isPublic: r.is_public === 1,
  sizeBytes: Number(r.size_bytes),
  createdAt: new Date(Number(r.created_at)),
});

/** Recognises an image object from its first 4 KiB. */
export function sniffImage(head: Buffer): { kind: ImageKind; format?: DiskFormat } {
  if (head.length >= 4 && head.readUInt32BE(0) === 0x514649fb) return { kind: 'machine', format: 'qcow2' };
  if (head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS') return { kind: 'kernel' };
  const magic = head.subarray(0, 6).toString('hex');
  if (
    magic.startsWith('1f8b') || // gzip
    magic.startsWith('fd377a585a00') || // xz
    magic.startsWith('28b52ffd') || // zstd
    magic.startsWith('02214c18') || // lz4 legacy
    head.subarray(0, 6).toString('latin1') === '070701' || // cpio newc
    head.subarray(0, 3).toString('latin1') === 'BZh'
  ) {
    return { kind: 'ramdisk' };
  }
  return { kind: 'machine', format: 'raw' };
}

const PREFIX: Record<ImageKind, string> = { machine: 'emi', kernel: 'eki', ramdisk: 'eri' };
const IMAGE_ID = /^e[mkr]i-[0-9a-f]{8,17}$/;

export interface RegisterImageInput {
  name?: string;
  description?: string;
  imageLocation?: string;
  architecture?: string;
  kernelId?: string;
  ramdiskId?: string;
  rootDeviceName?: string;
  virtualizationType?: string;
}

export class ImageStore {
  constructor(
    private readonly db: Kysely<ComputeTables>,
    private readonly tags: TagStore,
    private readonly objects: ObjectAccess | undefined,
    private readonly defaultPublic: () => Promise<boolean>,
  ) {
    tags.registerResourceType('image', async (acct, id) => !!(await this.visible(acct, id)));
  }

  /** RegisterImage from an object in Walrus: `ImageLocation` = `bucket/key`. */
  async register(accountId: string, input: RegisterImageInput, tagList: Tag[] = []): Promise<Image> {
    const name = input.name;
    if (!name) throw ec2Errors.missing('Name');
    if (name.length < 3 || name.length > 128 || !/^[A-Za-z0-9()[\]./\-'@_ ]+$/.test(name)) {
      throw ec2Errors.param(`AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'`);
    }
    if (!input.imageLocation) throw ec2Errors.missing('ImageLocation');
    const loc = input.imageLocation.replace(/^\/+/, '');
    const slash = loc.indexOf('/');
    if (slash <= 0 || slash === loc.length - 1) throw ec2Errors.manifest(`ImageLocation must be <bucket>/<key>, not '${input.imageLocation}'`);
    const bucket = loc.slice(0, slash);
    const key = loc.slice(slash + 1);
    if (!this.objects) throw new AwsError('UnsupportedOperation', 'This cloud has no object store to register images from');
    const head = await this.objects.head(accountId, bucket, key);
    if (!head) throw ec2Errors.manifest(`Cannot read the image at ${bucket}/${key}: it does not exist or you may not read it`);
    const first = head.size > 0 ? await this.objects.read(accountId, bucket, key, 0, Math.min(head.size, 4096)) : Buffer.alloc(0);
    const sniff = sniffImage(first);
    if (sniff.kind !== 'machine' && (input.kernelId || input.ramdiskId)) {
      throw ec2Errors.combination(`A ${sniff.kind} image cannot have a kernel or ramdisk`);
    }
    if (input.kernelId) await this.requireKind(accountId, input.kernelId, 'kernel');
    if (input.ramdiskId) await this.requireKind(accountId, input.ramdiskId, 'ramdisk');
    if (input.ramdiskId && !input.kernelId) throw ec2Errors.combination('A ramdisk needs a kernel (KernelId)');
    return this.insert(accountId, {
      name,
      description: input.description ?? null,
      kind: sniff.kind,
      architecture: input.architecture ?? 'x86_64',
      location: `${bucket}/${key}`,
      source: { bucket, key, ...(sniff.format ? { format: sniff.format } : {}) },
      kernelId: input.kernelId ?? null,
      ramdiskId: input.ramdiskId ?? null,
      rootDeviceName: input.rootDeviceName ?? (input.kernelId ? '/dev/sda1' : '/dev/sda'),
      virtualizationType: input.virtualizationType ?? (input.kernelId ? 'paravirtual' : 'hvm'),
      size: head.size,
    }, tagList);
  }

  /** Registers an image whose artifact is a file on every node (the built-in default image; admin only). */
  async registerLocal(accountId: string, input: { name: string; description?: string; kind: ImageKind; path: string; format?: DiskFormat; sha256?: string; size: number; kernelId?: string; ramdiskId?: string; isPublic?: boolean }): Promise<Image> {
    return this.insert(accountId, {
      name: input.name,
      description: input.description ?? null,
      kind: input.kind,
      architecture: 'x86_64',
      location: input.path,
      source: { path: input.path, ...(input.format ? { format: input.format } : {}), ...(input.sha256 ? { sha256: input.sha256 } : {}) },
      kernelId: input.kernelId ?? null,
      ramdiskId: input.ramdiskId ?? null,
      rootDeviceName: input.kernelId ? '/dev/sda1' : '/dev/sda',
      virtualizationType: input.kernelId ? 'paravirtual' : 'hvm',
      size: input.size,
      isPublic: input.isPublic ?? true,
    }, []);
  }

  private async insert(
    accountId: string,
    i: { name: string; description: string | null; kind: ImageKind; architecture: string; location: string; source: ImageSource; kernelId: string | null; ramdiskId: string | null; rootDeviceName: string; virtualizationType: string; size: number; isPublic?: boolean },
    tagList: Tag[],
  ): Promise<Image> {
    const row: ImagesTable = {
      image_id: hexId(PREFIX[i.kind], 8),
      account_id: accountId,
      name: i.name,
      description: i.description,
      image_type: i.kind,
      architecture: i.architecture,
      state: 'available',
      location: i.location,
      source: JSON.stringify(i.source),
      kernel_id: i.kernelId,
      ramdisk_id: i.ramdiskId,
      root_device_type: 'instance-store',
      root_device_name: i.rootDeviceName,
      virtualization_type: i.virtualizationType,
      is_public: (i.isPublic ?? (await this.defaultPublic())) ? 1 : 0,
      size_bytes: i.size,
      created_at: Date.now(),
    };
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('images').values(row).execute();
      await this.tags.put(accountId, [{ id: row.image_id, type: 'image' }], tagList, tx);
    });
    return toImage(row);
  }

  private async requireKind(accountId: string, id: string, kind: ImageKind): Promise<Image> {
    const img = await this.visible(accountId, id);
    if (!img || img.state !== 'available') throw ec2Errors.amiNotFound(id);
    if (img.imageType !== kind) throw ec2Errors.param(`${id} is not a ${kind} image`);
    return img;
  }

  /** The image if the account may see (and launch) it. */
  async visible(accountId: string, imageId: string): Promise<Image | undefined> {
    if (!IMAGE_ID.test(imageId)) return undefined;
    const r = await this.db.selectFrom('images').selectAll().where('image_id', '=', imageId).executeTakeFirst();
    if (!r || r.state === 'deregistered') return undefined;
    if (r.account_id === accountId || r.is_public === 1) return toImage(r);
    const perm = await this.db.selectFrom('image_launch_permissions').select('image_id').where('image_id', '=', imageId).where('account_id', '=', accountId).executeTakeFirst();
    return perm ? toImage(r) : undefined;
  }

  /** An image for launching: visible, available, and of the wanted kind. */
  async forLaunch(accountId: string, imageId: string, kind: ImageKind = 'machine'): Promise<Image> {
    if (!IMAGE_ID.test(imageId) && !/^ami-[0-9a-f]+$/.test(imageId)) throw ec2Errors.amiMalformed(imageId);
    const img = await this.visible(accountId, imageId);
    if (!img) throw ec2Errors.amiNotFound(imageId);
    if (img.state !== 'available') throw ec2Errors.amiUnavailable(imageId, img.state);
    if (img.imageType !== kind) throw ec2Errors.param(`The image ${imageId} is a ${img.imageType} image and cannot be launched`);
    return img;
  }

  /**
   * DescribeImages: images visible to the account, narrowed by ids, owners (`self`, `amazon`/`eucalyptus` = the
   * cloud's account, account ids) and executable-by (`self`, `all`, account ids). Unknown ids fail the call.
   */
  async describe(accountId: string, opts: { imageIds?: string[]; owners?: string[]; executableBy?: string[]; systemAccountId?: string }): Promise<Image[]> {
    const ids = opts.imageIds ?? [];
    for (const id of ids) if (!IMAGE_ID.test(id) && !/^ami-/.test(id)) throw ec2Errors.amiMalformed(id);
    let q = this.db.selectFrom('images').selectAll().where('state', '!=', 'deregistered');
    if (ids.length) q = q.where('image_id', 'in', ids);
    const rows = await q.orderBy('image_id').execute();
    const perms = await this.db.selectFrom('image_launch_permissions').selectAll().execute();
    const sharedWith = new Map<string, Set<string>>();
    for (const p of perms) {
      const set = sharedWith.get(p.image_id) ?? new Set();
      set.add(p.account_id);
      sharedWith.set(p.image_id, set);
    }
    const visible = rows.filter((r) => r.account_id === accountId || r.is_public === 1 || sharedWith.get(r.image_id)?.has(accountId));
    for (const id of ids) if (!visible.some((r) => r.image_id === id)) throw ec2Errors.amiNotFound(id);
    const owners = (opts.owners ?? []).map((o) => (o === 'self' ? accountId : o === 'amazon' || o === 'eucalyptus' ? (opts.systemAccountId ?? o) : o));
    const exec = opts.executableBy ?? [];
    return visible
      .filter((r) => owners.length === 0 || owners.includes(r.account_id))
      .filter((r) => exec.length === 0 || exec.some((e) => {
        if (e === 'all') return r.is_public === 1;
        const acct = e === 'self' ? accountId : e;
        return r.account_id === acct || r.is_public === 1 || !!sharedWith.get(r.image_id)?.has(acct);
      }))
      .map(toImage);
  }

  private async owned(accountId: string, imageId: string): Promise<ImagesTable> {
    if (!IMAGE_ID.test(imageId)) throw ec2Errors.amiMalformed(imageId);
    const r = await this.db.selectFrom('images').selectAll().where('image_id', '=', imageId).executeTakeFirst();
    if (!r || r.state === 'deregistered') throw ec2Errors.amiNotFound(imageId);
    if (r.account_id !== accountId) {
      // Visible but not owned: AWS answers AuthFailure for attribute changes on images you do not own.
      if (await this.visible(accountId, imageId)) throw new AwsError('AuthFailure', `Not authorized for image:${imageId}`);
      throw ec2Errors.amiNotFound(imageId);
    }
    return r;
  }

  async deregister(accountId: string, imageId: string): Promise<void> {
    await this.owned(accountId, imageId);
    await this.db.updateTable('images').set({ state: 'deregistered' }).where('image_id', '=', imageId).execute();
    await this.db.deleteFrom('image_launch_permissions').where('image_id', '=', imageId).execute();
    await this.tags.deleteAllFor(accountId, imageId);
  }

  async launchPermissions(accountId: string, imageId: string): Promise<{ group?: 'all'; userId?: string }[]> {
    const r = await this.owned(accountId, imageId);
    const perms = await this.db.selectFrom('image_launch_permissions').select('account_id').where('image_id', '=', imageId).orderBy('account_id').execute();
    return [...(r.is_public ? [{ group: 'all' as const }] : []), ...perms.map((p) => ({ userId: p.account_id }))];
  }

  async describeAttribute(accountId: string, imageId: string, attribute: string) {
    const r = await this.owned(accountId, imageId);
    switch (attribute) {
      case 'launchPermission':
        return { launchPermissions: await this.launchPermissions(accountId, imageId) };
      case 'description':
        return { description: r.description ?? undefined };
      case 'kernel':
        return { kernelId: r.kernel_id ?? undefined };
      case 'ramdisk':
        return { ramdiskId: r.ramdisk_id ?? undefined };
      case 'blockDeviceMapping':
        return { blockDeviceMappings: [] };
      case 'productCodes':
        return { productCodes: [] };
      default:
        throw ec2Errors.param(`Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
    }
  }

  /** ModifyImageAttribute: launch permissions (add/remove `group=all` and account ids) and description. */
  async modifyAttribute(accountId: string, imageId: string, change: { add?: Array<{ group?: string; userId?: string }>; remove?: Array<{ group?: string; userId?: string }>; description?: string }): Promise<void> {
    await this.owned(accountId, imageId);
    const check = (p: { group?: string; userId?: string }) => {
      if (p.group !== undefined && p.group !== 'all') throw ec2Errors.param(`Invalid launch permission group '${p.group}'`);
      if (p.userId !== undefined && !/^\d{12}$/.test(p.userId)) throw ec2Errors.param(`Invalid user id '${p.userId}'`);
    };
    for (const p of [...(change.add ?? []), ...(change.remove ?? [])]) check(p);
    await this.db.transaction().execute(async (tx) => {
      for (const p of change.add ?? []) {
        if (p.group === 'all') await tx.updateTable('images').set({ is_public: 1 }).where('image_id', '=', imageId).execute();
        if (p.userId) {
          await tx.insertInto('image_launch_permissions').values({ image_id: imageId, account_id: p.userId })
            .onConflict((oc) => oc.columns(['image_id', 'account_id']).doNothing()).execute();
        }
      }
      for (const p of change.remove ?? []) {
        if (p.group === 'all') await tx.updateTable('images').set({ is_public: 0 }).where('image_id', '=', imageId).execute();
        if (p.userId) await tx.deleteFrom('image_launch_permissions').where('image_id', '=', imageId).where('account_id', '=', p.userId).execute();
      }
      if (change.description !== undefined) await tx.updateTable('images').set({ description: change.description }).where('image_id', '=', imageId).execute();
    });
  }

  /** ResetImageAttribute launchPermission: private again, no shares. */
  async resetLaunchPermissions(accountId: string, imageId: string): Promise<void> {
    await this.owned(accountId, imageId);
    await this.db.updateTable('images').set({ is_public: 0 }).where('image_id', '=', imageId).execute();
    await this.db.deleteFrom('image_launch_permissions').where('image_id', '=', imageId).execute();
  }

  /** Where a node gets an image's artifact. */
  async artifact(img: Image): Promise<{ id: string; url?: string; path?: string; format?: DiskFormat; sha256?: string }> {
    const s = img.source;
    if (s.path) return { id: img.imageId, path: s.path, ...(s.format ? { format: s.format } : {}), ...(s.sha256 ? { sha256: s.sha256 } : {}) };
    if (!this.objects || !s.bucket || !s.key) throw new AwsError('InternalError', `image ${img.imageId} has no readable source`, { status: 500 });
    return { id: img.imageId, ...(await this.objects.locate(s.bucket, s.key)), ...(s.format ? { format: s.format } : {}) };
  }
}
