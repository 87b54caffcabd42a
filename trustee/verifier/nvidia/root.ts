/**
 * The NVIDIA trust anchor the local verifier pins: "NVIDIA Device Identity CA" (ECDSA P-384,
 * self-signed, valid 2021-11-05 → 9999-12-31), the root of every Hopper device certificate chain.
 * Public certificate, as shipped by Trustee in `deps/verifier/src/nvidia/nvidia_device_root.pem`
 * (Apache-2.0; see README.md). Trustee pins it by the SHA-1 fingerprint of its DER.
 *
 * @module
 */

/** PEM of the NVIDIA Device Identity CA. */
export const NVIDIA_DEVICE_ROOT_PEM = `
-----BEGIN CERTIFICATE-----
MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw
IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE
SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM
GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG
ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX
gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB
2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B
Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY
MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3
TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+
EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=
-----END CERTIFICATE-----
`.trim();

/** SHA-1 of the root's DER, lower-case hex (the value Trustee compares the chain's last cert with). */
export const NVIDIA_DEVICE_ROOT_SHA1 = "72be15b8b2c8d3f482f84237a6fcc45b8a1354e8";

/** OID of the TCG DICE TcbInfo extension that carries the firmware id (FWID) in the leaf. */
export const FWID_OID = "2.23.133.5.4.1";
