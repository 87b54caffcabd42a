/**
 * P-256 ECDH and ES256 (signing and verification) through the system's OpenSSL 3 `libcrypto`
 * (Deno FFI), for the hot path of
 * the KBS resource protocol. Deno's WebCrypto and node:crypto do P-256 in portable Rust, about
 * 6–10× slower than OpenSSL's assembly (measured on the 2-core reference machine: ECDH 320–400 µs
 * vs ~55 µs, ECDSA sign 590 µs vs ~25 µs), and every flow needs one signature and two ECDHs.
 *
 * Loaded when this module is imported. When the library cannot be opened (not installed, or no
 * `--allow-ffi`), or `COCO_CRYPTO=portable` is set, {@linkcode libcrypto} returns `undefined` and
 * callers use WebCrypto / node:crypto / @noble/curves instead; {@linkcode cryptoBackend} says
 * which one is in use so programs can log it. Every native object is freed on every path.
 *
 * @module
 */

const SYMBOLS = {
  EC_GROUP_new_by_curve_name: { parameters: ["i32"], result: "pointer" },
  EC_KEY_new: { parameters: [], result: "pointer" },
  EC_KEY_set_group: { parameters: ["pointer", "pointer"], result: "i32" },
  EC_KEY_generate_key: { parameters: ["pointer"], result: "i32" },
  EC_KEY_set_private_key: { parameters: ["pointer", "pointer"], result: "i32" },
  EC_KEY_get0_group: { parameters: ["pointer"], result: "pointer" },
  EC_KEY_get0_public_key: { parameters: ["pointer"], result: "pointer" },
  EC_KEY_free: { parameters: ["pointer"], result: "void" },
  EC_POINT_new: { parameters: ["pointer"], result: "pointer" },
  EC_POINT_free: { parameters: ["pointer"], result: "void" },
  EC_POINT_point2oct: {
    parameters: ["pointer", "pointer", "i32", "buffer", "usize", "pointer"],
    result: "usize",
  },
  EC_POINT_oct2point: {
    parameters: ["pointer", "pointer", "buffer", "usize", "pointer"],
    result: "i32",
  },
  ECDH_compute_key: {
    parameters: ["buffer", "usize", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  ECDSA_do_sign: { parameters: ["buffer", "i32", "pointer"], result: "pointer" },
  ECDSA_SIG_get0_r: { parameters: ["pointer"], result: "pointer" },
  ECDSA_SIG_get0_s: { parameters: ["pointer"], result: "pointer" },
  ECDSA_SIG_free: { parameters: ["pointer"], result: "void" },
  ECDSA_SIG_new: { parameters: [], result: "pointer" },
  ECDSA_SIG_set0: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  ECDSA_do_verify: { parameters: ["buffer", "i32", "pointer", "pointer"], result: "i32" },
  EC_KEY_set_public_key: { parameters: ["pointer", "pointer"], result: "i32" },
  BN_bin2bn: { parameters: ["buffer", "i32", "pointer"], result: "pointer" },
  BN_bn2binpad: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  BN_clear_free: { parameters: ["pointer"], result: "void" },
  ERR_get_error: { parameters: [], result: "u64" },
  ERR_error_string_n: { parameters: ["u64", "buffer", "usize"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type Ptr = Deno.PointerValue;

/** A libcrypto call failed; the message carries OpenSSL's error string. */
export class LibcryptoError extends Error {}

/** NID_X9_62_prime256v1. */
const P256 = 415;
const UNCOMPRESSED = 4;

/** Native P-256 operations; see the module documentation. */
export interface Libcrypto {
  /** A fresh key pair's uncompressed public point (65 bytes) and ECDH secret with `peer`. */
  ephemeralEcdh(peer: Uint8Array): { publicPoint: Uint8Array; secret: Uint8Array };
  /** Loads a P-256 private key from its 32-byte scalar; the handle is freed with `free`. */
  privateKey(d: Uint8Array): NativeKey;
  /** Loads a P-256 public key from its uncompressed point (refused when not on the curve). */
  publicKey(point: Uint8Array): NativePublicKey;
}

/** A public key held by libcrypto. */
export interface NativePublicKey {
  /** Whether `sig` (r‖s, 64 bytes) is a valid ES256 signature of the SHA-256 `digest`. */
  verifyDigest(digest: Uint8Array, sig: Uint8Array): boolean;
  free(): void;
}

/** A private key held by libcrypto. */
export interface NativeKey {
  /** ECDH secret (x coordinate, 32 bytes) with the uncompressed `peer` point. */
  ecdh(peer: Uint8Array): Uint8Array;
  /** ES256 signature (r‖s, 64 bytes) of a SHA-256 `digest`. */
  signDigest(digest: Uint8Array): Uint8Array;
  free(): void;
}

/**
 * The calls, over OpenSSL's EC_KEY interface: deprecated in 3.0 but exported by every 3.x, and
 * free of the provider/decoder layer, which costs more per call than the P-256 arithmetic here
 * (decoding a SubjectPublicKeyInfo with d2i_PUBKEY: ~150 µs; a whole ECDH this way: ~60 µs).
 */
class Native {
  /** The P-256 group, built once (building it is ~7× the cost of a key that copies it). */
  readonly #group: Ptr;

  constructor(readonly s: Symbols) {
    this.#group = s.EC_GROUP_new_by_curve_name(P256);
    if (this.#group === null) throw this.fail("EC_GROUP_new_by_curve_name");
  }

  fail(what: string): LibcryptoError {
    const code = this.s.ERR_get_error();
    const buf = new Uint8Array(256);
    if (code !== 0n) this.s.ERR_error_string_n(code, buf, BigInt(buf.length));
    const text = new TextDecoder().decode(buf.subarray(0, Math.max(0, buf.indexOf(0))));
    while (this.s.ERR_get_error() !== 0n) { /* drain the thread's error queue */ }
    return new LibcryptoError(`libcrypto: ${what} failed${text ? ` (${text})` : ""}`);
  }

  newKey(): NonNullable<Ptr> {
    const key = this.s.EC_KEY_new();
    if (key === null) throw this.fail("EC_KEY_new");
    if (this.s.EC_KEY_set_group(key, this.#group) !== 1) {
      this.s.EC_KEY_free(key);
      throw this.fail("EC_KEY_set_group");
    }
    return key;
  }

  /** ECDH of `key` with `point`; oct2point refuses encodings that are not points on P-256. */
  derive(key: Ptr, point: Uint8Array): Uint8Array {
    if (point.length !== 65 || point[0] !== UNCOMPRESSED) {
      throw new LibcryptoError("libcrypto: the peer key is not an uncompressed P-256 point");
    }
    const group = this.s.EC_KEY_get0_group(key);
    const peer = this.s.EC_POINT_new(group);
    if (peer === null) throw this.fail("EC_POINT_new");
    try {
      if (this.s.EC_POINT_oct2point(group, peer, point, 65n, null) !== 1) {
        throw this.fail("decoding the peer public key");
      }
      const out = new Uint8Array(32);
      if (this.s.ECDH_compute_key(out, 32n, peer, key, null) !== 32) throw this.fail("ECDH");
      return out;
    } finally {
      this.s.EC_POINT_free(peer);
    }
  }

  publicPoint(key: Ptr): Uint8Array {
    const out = new Uint8Array(65);
    const n = this.s.EC_POINT_point2oct(
      this.s.EC_KEY_get0_group(key),
      this.s.EC_KEY_get0_public_key(key),
      UNCOMPRESSED,
      out,
      65n,
      null,
    );
    if (n !== 65n) throw this.fail("encoding the public point");
    return out;
  }

  /** A key holding only the public point (decoded and checked to be on P-256). */
  publicOnly(point: Uint8Array): NonNullable<Ptr> {
    if (point.length !== 65 || point[0] !== UNCOMPRESSED) {
      throw new LibcryptoError("libcrypto: the public key is not an uncompressed P-256 point");
    }
    const key = this.newKey();
    const p = this.s.EC_POINT_new(this.#group);
    try {
      if (p === null) throw this.fail("EC_POINT_new");
      if (
        this.s.EC_POINT_oct2point(this.#group, p, point, 65n, null) !== 1 ||
        this.s.EC_KEY_set_public_key(key, p) !== 1
      ) throw this.fail("decoding the public key");
      return key;
    } catch (err) {
      this.s.EC_KEY_free(key);
      throw err;
    } finally {
      if (p !== null) this.s.EC_POINT_free(p);
    }
  }

  /** ECDSA verification of r‖s over a 32-byte digest; false for any invalid signature. */
  verify(key: Ptr, digest: Uint8Array, rs: Uint8Array): boolean {
    if (digest.length !== 32 || rs.length !== 64) return false;
    const sig = this.s.ECDSA_SIG_new();
    if (sig === null) throw this.fail("ECDSA_SIG_new");
    try {
      const r = this.s.BN_bin2bn(rs.subarray(0, 32), 32, null);
      const s = this.s.BN_bin2bn(rs.subarray(32), 32, null);
      if (r === null || s === null || this.s.ECDSA_SIG_set0(sig, r, s) !== 1) {
        if (r !== null) this.s.BN_clear_free(r);
        if (s !== null) this.s.BN_clear_free(s);
        throw this.fail("building the signature");
      }
      // 1 valid, 0 invalid, -1 error (e.g. r or s out of range): only 1 is a valid signature.
      const ok = this.s.ECDSA_do_verify(digest, 32, sig, key) === 1;
      while (this.s.ERR_get_error() !== 0n) { /* an invalid signature may queue an error */ }
      return ok;
    } finally {
      this.s.ECDSA_SIG_free(sig);
    }
  }

  sign(key: Ptr, digest: Uint8Array): Uint8Array {
    if (digest.length !== 32) throw new LibcryptoError("libcrypto: ES256 signs a 32-byte digest");
    const sig = this.s.ECDSA_do_sign(digest, 32, key);
    if (sig === null) throw this.fail("ECDSA_do_sign");
    try {
      const out = new Uint8Array(64);
      if (
        this.s.BN_bn2binpad(this.s.ECDSA_SIG_get0_r(sig), out.subarray(0, 32), 32) !== 32 ||
        this.s.BN_bn2binpad(this.s.ECDSA_SIG_get0_s(sig), out.subarray(32), 32) !== 32
      ) throw this.fail("encoding the signature");
      return lowS(out);
    } finally {
      this.s.ECDSA_SIG_free(sig);
    }
  }
}

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * Replaces s by n − s when s > n/2, as @noble/curves signs (and as verifiers that insist on
 * low-S accept): both are valid signatures of the same message.
 */
function lowS(sig: Uint8Array): Uint8Array {
  const s = BigInt(`0x${sig.subarray(32).toHex()}`);
  if (s > N >> 1n) sig.set(Uint8Array.fromHex((N - s).toString(16).padStart(64, "0")), 32);
  return sig;
}

/**
 * Opened when this module is first imported (not on first use), once per process: the library
 * stays loaded for the life of the process, and loading it at import keeps the load out of any
 * single test's resource accounting.
 */
const available = open();
let active = available;

function open(): Libcrypto | null {
  // Permissions are queried first so that a program without them never prompts for them.
  const granted = (d: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(d).state === "granted";
  if (!granted({ name: "ffi" })) return null;
  if (
    granted({ name: "env", variable: "COCO_CRYPTO" }) && Deno.env.get("COCO_CRYPTO") === "portable"
  ) {
    return null;
  }
  let native: Native;
  try {
    native = new Native(Deno.dlopen("libcrypto.so.3", SYMBOLS).symbols);
  } catch {
    return null; // libcrypto 3 is not installed: the portable implementations are used
  }
  return {
    ephemeralEcdh(peer) {
      const key = native.newKey();
      try {
        if (native.s.EC_KEY_generate_key(key) !== 1) throw native.fail("EC_KEY_generate_key");
        return { publicPoint: native.publicPoint(key), secret: native.derive(key, peer) };
      } finally {
        native.s.EC_KEY_free(key);
      }
    },
    privateKey(d) {
      if (d.length !== 32) throw new LibcryptoError("libcrypto: a P-256 scalar is 32 bytes");
      let key: Ptr = native.newKey();
      const bn = native.s.BN_bin2bn(d, 32, null);
      try {
        if (bn === null || native.s.EC_KEY_set_private_key(key, bn) !== 1) {
          throw native.fail("loading the private key");
        }
      } catch (err) {
        native.s.EC_KEY_free(key);
        throw err;
      } finally {
        native.s.BN_clear_free(bn);
      }
      const live = () => {
        if (key === null) throw new LibcryptoError("libcrypto: the private key was freed");
        return key;
      };
      return {
        ecdh: (peer) => native.derive(live(), peer),
        signDigest: (digest) => native.sign(live(), digest),
        free() {
          if (key !== null) native.s.EC_KEY_free(key);
          key = null;
        },
      };
    },
    publicKey(point) {
      let key: Ptr = native.publicOnly(point);
      return {
        verifyDigest(digest, sig) {
          if (key === null) throw new LibcryptoError("libcrypto: the public key was freed");
          return native.verify(key, digest, sig);
        },
        free() {
          if (key !== null) native.s.EC_KEY_free(key);
          key = null;
        },
      };
    },
  };
}

/** The native P-256 operations, or `undefined` when libcrypto is not usable here. */
export function libcrypto(): Libcrypto | undefined {
  return active ?? undefined;
}

/**
 * Tests only: forces the portable implementations (`false`) or uses libcrypto again (`true`,
 * when it is available). Keys already loaded into libcrypto keep working either way.
 */
export function useLibcrypto(on: boolean): void {
  active = on ? available : null;
}

/** Which implementation does P-256 in this process. */
export function cryptoBackend(): "libcrypto" | "portable" {
  return libcrypto() ? "libcrypto" : "portable";
}
