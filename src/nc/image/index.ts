/**
 * @module nc/image
 * The default guest image builder (`euca image build`).
 */
export { buildGuestImage, type GuestImage, type GuestImageOptions, type BuildProgress } from './builder.js';
export { GUEST_CMDLINE } from './plan.js';
