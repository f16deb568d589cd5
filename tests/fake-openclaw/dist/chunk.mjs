// Loaded lazily by the gateway for every RPC, like the real gateway's hashed chunks. The
// harness renames this file per version, so a gateway whose install was replaced cannot
// find it any more and fails new requests with 1011, as the real one does.
export function status(version) {
  return { runtimeVersion: version };
}
