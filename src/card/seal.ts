import sodium from 'libsodium-wrappers';

/**
 * Sealing uses libsodium's sealed box (X25519 + XSalsa20-Poly1305 with an ephemeral key): a reviewed
 * construction where the sender can encrypt to the centre but cannot decrypt what it sealed.
 */
let ready: Promise<void> | undefined;

export function sodiumReady(): Promise<void> {
  ready ??= sodium.ready;
  return ready;
}

/** Call after `await sodiumReady()`. */
export function sealTo(publicKey: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return sodium.crypto_box_seal(plaintext, publicKey);
}

/** The centre's side; nodes never hold the secret key. Call after `await sodiumReady()`. */
export function openSealed(sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return sodium.crypto_box_seal_open(sealed, publicKey, secretKey);
}

export async function generateSealKeyPair(): Promise<{ publicKey: Uint8Array; secretKey: Uint8Array }> {
  await sodiumReady();
  const pair = sodium.crypto_box_keypair();
  return { publicKey: pair.publicKey, secretKey: pair.privateKey };
}
