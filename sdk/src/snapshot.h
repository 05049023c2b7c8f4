// Session snapshots: a versioned, checksummed blob holding a session's whole
// per-sequence state (SessionImpl::state_data) behind a fixed 128-byte header that
// names the model (by content hash) and the session parameters that shape the state.
// The byte layout is documented in docs/snapshot.md.
#pragma once

#include "mnemo/mnemo.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mnemo {

struct ModelImpl;
class SessionImpl;

constexpr uint32_t kSnapshotFormatVersion = 1;
constexpr uint32_t kSnapshotHeaderBytes = 128;
constexpr char kSnapshotMagic[8] = {'M', 'N', 'E', 'M', 'O', 'S', 'N', 'P'};

// XXH64 (xxHash, 64-bit, seed 0 by default): fast (several GB/s), non-cryptographic,
// and checkable with the standard `xxhsum -H64` tool. Used for model identity,
// snapshot checksums and document content hashes (docs/snapshot.md).
uint64_t hash64(const void* data, size_t size, uint64_t seed = 0);

// The model's identity: hash64 over a canonical serialisation of the GGUF metadata,
// the tensor table (name, type, shape) and the hash of every tensor's bytes.
// Independent of file layout (alignment, padding, tensor data offsets).
uint64_t model_hash(const ModelImpl& model);

// Hash of the per-layer state byte counts: two sessions with equal layout hashes
// lay their state out identically.
uint64_t state_layout_hash(const SessionImpl& session);

struct SnapshotHeader {
    uint32_t format_version = kSnapshotFormatVersion;
    uint32_t header_bytes = kSnapshotHeaderBytes;
    uint64_t model_hash = 0;
    uint64_t state_bytes = 0;
    int64_t position = 0;
    int64_t max_context = 0;
    int32_t policy = 0;
    int32_t policy_budget = 0;
    int32_t policy_sink = 0;
    int32_t n_layers = 0;
    uint64_t layout_hash = 0;
    uint32_t library_version = 0;
    int32_t chunk_tokens = 0;  // informational: the chunk size the state was fed with
    uint64_t payload_checksum = 0;
};

// Bytes of a snapshot of `session`: header + state.
uint64_t snapshot_size(const SessionImpl& session);
// Writes the snapshot of `session` (whose model hashes to `hash`) into out[size].
void write_snapshot(const SessionImpl& session, uint64_t hash, uint8_t* out);
mnemo_status make_snapshot(const SessionImpl& session, uint64_t hash, std::vector<uint8_t>* out);

// Parses and checks a blob without a session: magic (BAD_MAGIC), size (TRUNCATED),
// format version (UNSUPPORTED), header checksum and payload checksum (CORRUPT).
mnemo_status parse_snapshot(const uint8_t* blob, size_t size, SnapshotHeader* out);

// Restores `blob` into `session` after parse_snapshot and checks that it belongs to
// the session's model (model hash `hash`) and parameters (MNEMO_ERR_MISMATCH).
// On failure the session is untouched.
mnemo_status restore_snapshot(SessionImpl& session, uint64_t hash, const uint8_t* blob, size_t size);

// Session parameters that reproduce a snapshot's state layout, starting from `base`
// (threads, backend, budget, cancellation are kept from base).
mnemo_session_params session_params_for(const SnapshotHeader& header, const mnemo_session_params& base);

}  // namespace mnemo
