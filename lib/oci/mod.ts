/**
 * OCI image references, media types, descriptors, manifests and indexes (owned by guest/image work).
 *
 * @module
 */
export {};
