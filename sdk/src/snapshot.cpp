#include "snapshot.h"

#include "error.h"
#include "gguf.h"
#include "model.h"
#include "session.h"

#include <bit>
#include <cstring>
#include <initializer_list>
#include <string>

namespace mnemo {

static_assert(std::endian::native == std::endian::little,
              "snapshots store the state in host byte order; only little-endian hosts are supported");

namespace {

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t kP3 = 0x165667B19E3779F9ull;
constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ull;
constexpr uint64_t kP5 = 0x27D4EB2F165667C5ull;

inline uint64_t load64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

inline uint64_t lane_round(uint64_t acc, uint64_t word) {
    acc += word * kP2;
    acc = std::rotl(acc, 31);
    return acc * kP1;
}

inline uint64_t avalanche(uint64_t h) {
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return h;
}

// Little-endian field writer/reader for the fixed header.
template <typename T>
void put(uint8_t* base, size_t offset, T value) {
    std::memcpy(base + offset, &value, sizeof(T));
}
template <typename T>
T get(const uint8_t* base, size_t offset) {
    T v;
    std::memcpy(&v, base + offset, sizeof(T));
    return v;
}

// Header field offsets (docs/snapshot.md).
enum : size_t {
    kOffMagic = 0,
    kOffVersion = 8,
    kOffHeaderBytes = 12,
    kOffModelHash = 16,
    kOffStateBytes = 24,
    kOffPosition = 32,
    kOffMaxContext = 40,
    kOffPolicy = 48,
    kOffPolicyBudget = 52,
    kOffPolicySink = 56,
    kOffLayers = 60,
    kOffLayoutHash = 64,
    kOffLibraryVersion = 72,
    kOffChunkTokens = 76,
    // 80..111 reserved (zero)
    kOffPayloadChecksum = 112,
    kOffHeaderChecksum = 120,
};

// Canonical byte stream for the model hash.
class Canon {
public:
    void u32(uint32_t v) { raw(&v, 4); }
    void u64(uint64_t v) { raw(&v, 8); }
    void i64(int64_t v) { raw(&v, 8); }
    void f64(double v) { raw(&v, 8); }
    void str(const std::string& s) {
        u64(s.size());
        raw(s.data(), s.size());
    }
    void raw(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        bytes_.insert(bytes_.end(), b, b + n);
    }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    std::vector<uint8_t> bytes_;
};

void canon_value(Canon& c, const GgufValue& v) {
    c.u32(static_cast<uint32_t>(v.type));
    switch (v.type) {
        case GgufValueType::STRING: c.str(v.string); break;
        case GgufValueType::F32:
        case GgufValueType::F64: c.f64(v.real); break;
        case GgufValueType::ARRAY:
            c.u32(static_cast<uint32_t>(v.element_type));
            c.u64(v.count);
            c.u64(v.strings.size());
            for (const auto& s : v.strings) c.str(s);
            c.u64(v.integers.size());
            for (int64_t i : v.integers) c.i64(i);
            c.u64(v.reals.size());
            for (double r : v.reals) c.f64(r);
            c.u64(v.bytes.size());
            c.raw(v.bytes.data(), v.bytes.size());
            break;
        default:
            c.i64(v.integer);
            c.u64(v.uinteger);
            break;
    }
}

const char* policy_name(int32_t p) {
    switch (p) {
        case MNEMO_POLICY_NONE: return "none";
        case MNEMO_POLICY_STREAMING: return "streaming";
        case MNEMO_POLICY_H2O: return "h2o";
        case MNEMO_POLICY_TOVA: return "tova";
        case MNEMO_POLICY_SNAPKV: return "snapkv";
    }
    return "?";
}

}  // namespace

uint64_t hash64(const void* data, size_t size, uint64_t seed) {
    const auto* p = static_cast<const uint8_t*>(data);
    const uint8_t* const end = p + size;
    uint64_t h;
    if (size >= 32) {
        uint64_t a = seed + kP1 + kP2, b = seed + kP2, c = seed, d = seed - kP1;
        const uint8_t* const limit = end - 32;
        do {
            a = lane_round(a, load64(p));
            b = lane_round(b, load64(p + 8));
            c = lane_round(c, load64(p + 16));
            d = lane_round(d, load64(p + 24));
            p += 32;
        } while (p <= limit);
        h = std::rotl(a, 1) + std::rotl(b, 7) + std::rotl(c, 12) + std::rotl(d, 18);
        for (uint64_t lane : {a, b, c, d}) {
            h ^= lane_round(0, lane);
            h = h * kP1 + kP4;
        }
    } else {
        h = seed + kP5;
    }
    h += static_cast<uint64_t>(size);
    for (; p + 8 <= end; p += 8) {
        h ^= lane_round(0, load64(p));
        h = std::rotl(h, 27) * kP1 + kP4;
    }
    if (p + 4 <= end) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        h ^= static_cast<uint64_t>(w) * kP1;
        h = std::rotl(h, 23) * kP2 + kP3;
        p += 4;
    }
    for (; p < end; ++p) {
        h ^= static_cast<uint64_t>(*p) * kP5;
        h = std::rotl(h, 11) * kP1;
    }
    return avalanche(h);
}

uint64_t model_hash(const ModelImpl& model) {
    Canon c;
    c.str("mnemo-model-hash-v1");
    const auto& meta = model.file.metadata();
    c.u64(meta.size());
    for (const auto& [key, value] : meta) {
        c.str(key);
        canon_value(c, value);
    }
    const auto& tensors = model.file.tensors();
    c.u64(tensors.size());
    for (const GgufTensor& t : tensors) {
        c.str(t.name);
        c.u32(static_cast<uint32_t>(t.type));
        c.u64(t.shape.size());
        for (int64_t d : t.shape) c.i64(d);
        c.u64(t.n_bytes);
        c.u64(hash64(t.data, t.n_bytes));
    }
    return hash64(c.bytes().data(), c.bytes().size());
}

uint64_t state_layout_hash(const SessionImpl& session) {
    const MemoryPlan& plan = session.plan();
    std::vector<uint64_t> words;
    words.push_back(plan.state_bytes);
    words.push_back(plan.layer_state_bytes.size());
    words.insert(words.end(), plan.layer_state_bytes.begin(), plan.layer_state_bytes.end());
    return hash64(words.data(), words.size() * sizeof(uint64_t));
}

uint64_t snapshot_size(const SessionImpl& session) { return kSnapshotHeaderBytes + session.state_bytes(); }

void write_snapshot(const SessionImpl& session, uint64_t hash, uint8_t* out) {
    const mnemo_session_params& p = session.params();
    const uint64_t state = session.state_bytes();
    std::memset(out, 0, kSnapshotHeaderBytes);
    std::memcpy(out + kOffMagic, kSnapshotMagic, 8);
    put<uint32_t>(out, kOffVersion, kSnapshotFormatVersion);
    put<uint32_t>(out, kOffHeaderBytes, kSnapshotHeaderBytes);
    put<uint64_t>(out, kOffModelHash, hash);
    put<uint64_t>(out, kOffStateBytes, state);
    put<int64_t>(out, kOffPosition, session.position());
    put<int64_t>(out, kOffMaxContext, p.max_context);
    put<int32_t>(out, kOffPolicy, static_cast<int32_t>(p.policy));
    put<int32_t>(out, kOffPolicyBudget, p.policy_budget);
    put<int32_t>(out, kOffPolicySink, p.policy_sink);
    put<int32_t>(out, kOffLayers, session.model().config.n_layers);
    put<uint64_t>(out, kOffLayoutHash, state_layout_hash(session));
    put<uint32_t>(out, kOffLibraryVersion, static_cast<uint32_t>(MNEMO_VERSION));
    put<int32_t>(out, kOffChunkTokens, p.chunk_tokens > 0 ? p.chunk_tokens : 256);
    std::memcpy(out + kSnapshotHeaderBytes, session.state_data(), state);
    put<uint64_t>(out, kOffPayloadChecksum, hash64(out + kSnapshotHeaderBytes, state));
    put<uint64_t>(out, kOffHeaderChecksum, hash64(out, kOffHeaderChecksum));
}

mnemo_status make_snapshot(const SessionImpl& session, uint64_t hash, std::vector<uint8_t>* out) {
    out->resize(snapshot_size(session));
    write_snapshot(session, hash, out->data());
    return MNEMO_OK;
}

mnemo_status parse_snapshot(const uint8_t* blob, size_t size, SnapshotHeader* out) {
    if (blob == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "snapshot blob is NULL");
    if (size < 16) return failf(MNEMO_ERR_TRUNCATED, "snapshot of %zu bytes is shorter than its header", size);
    if (std::memcmp(blob, kSnapshotMagic, 8) != 0) return fail(MNEMO_ERR_BAD_MAGIC, "not a Mnemo snapshot (magic is not MNEMOSNP)");
    const uint32_t version = get<uint32_t>(blob, kOffVersion);
    if (version != kSnapshotFormatVersion)
        return failf(MNEMO_ERR_UNSUPPORTED, "snapshot format version %u; this library (%s) reads version %u only — ingest the document again",
                     version, MNEMO_VERSION_STRING, kSnapshotFormatVersion);
    if (size < kSnapshotHeaderBytes) return failf(MNEMO_ERR_TRUNCATED, "snapshot of %zu bytes is shorter than its %u-byte header", size, kSnapshotHeaderBytes);
    const uint32_t header_bytes = get<uint32_t>(blob, kOffHeaderBytes);
    if (header_bytes != kSnapshotHeaderBytes || get<uint64_t>(blob, kOffHeaderChecksum) != hash64(blob, kOffHeaderChecksum))
        return fail(MNEMO_ERR_CORRUPT, "snapshot header checksum mismatch: the header is damaged");
    SnapshotHeader h;
    h.format_version = version;
    h.header_bytes = header_bytes;
    h.model_hash = get<uint64_t>(blob, kOffModelHash);
    h.state_bytes = get<uint64_t>(blob, kOffStateBytes);
    h.position = get<int64_t>(blob, kOffPosition);
    h.max_context = get<int64_t>(blob, kOffMaxContext);
    h.policy = get<int32_t>(blob, kOffPolicy);
    h.policy_budget = get<int32_t>(blob, kOffPolicyBudget);
    h.policy_sink = get<int32_t>(blob, kOffPolicySink);
    h.n_layers = get<int32_t>(blob, kOffLayers);
    h.layout_hash = get<uint64_t>(blob, kOffLayoutHash);
    h.library_version = get<uint32_t>(blob, kOffLibraryVersion);
    h.chunk_tokens = get<int32_t>(blob, kOffChunkTokens);
    h.payload_checksum = get<uint64_t>(blob, kOffPayloadChecksum);
    const uint64_t available = size - kSnapshotHeaderBytes;
    if (available < h.state_bytes)
        return failf(MNEMO_ERR_TRUNCATED, "snapshot declares %llu state bytes but holds %llu", static_cast<unsigned long long>(h.state_bytes),
                     static_cast<unsigned long long>(available));
    if (available > h.state_bytes)
        return failf(MNEMO_ERR_CORRUPT, "snapshot has %llu bytes after its %llu declared state bytes",
                     static_cast<unsigned long long>(available - h.state_bytes), static_cast<unsigned long long>(h.state_bytes));
    if (hash64(blob + kSnapshotHeaderBytes, h.state_bytes) != h.payload_checksum)
        return fail(MNEMO_ERR_CORRUPT, "snapshot state checksum mismatch: the state bytes are damaged");
    // Fields the checksums cannot vouch for (a crafted header): values no session has.
    if (h.policy < MNEMO_POLICY_NONE || h.policy > MNEMO_POLICY_SNAPKV)
        return failf(MNEMO_ERR_CORRUPT, "snapshot names eviction policy %d, which does not exist", h.policy);
    if (out != nullptr) *out = h;
    return MNEMO_OK;
}

mnemo_status restore_snapshot(SessionImpl& session, uint64_t hash, const uint8_t* blob, size_t size) {
    SnapshotHeader h;
    MNEMO_TRY(parse_snapshot(blob, size, &h));
    if (h.model_hash != hash)
        return failf(MNEMO_ERR_MISMATCH, "the snapshot belongs to another model (model hash %016llx; this session's model is %016llx)",
                     static_cast<unsigned long long>(h.model_hash), static_cast<unsigned long long>(hash));
    const mnemo_session_params& p = session.params();
    if (h.max_context != p.max_context || h.policy != static_cast<int32_t>(p.policy) || h.policy_budget != p.policy_budget ||
        h.policy_sink != p.policy_sink)
        return failf(MNEMO_ERR_MISMATCH,
                     "the snapshot was taken with max_context %lld, policy %s (budget %d, sink %d) but the session has max_context %lld, "
                     "policy %s (budget %d, sink %d); create the session with the snapshot's parameters",
                     static_cast<long long>(h.max_context), policy_name(h.policy), h.policy_budget, h.policy_sink,
                     static_cast<long long>(p.max_context), policy_name(static_cast<int32_t>(p.policy)), p.policy_budget, p.policy_sink);
    if (h.state_bytes != session.state_bytes() || h.n_layers != session.model().config.n_layers ||
        h.layout_hash != state_layout_hash(session))
        return failf(MNEMO_ERR_MISMATCH, "the snapshot's state layout (%llu bytes, %d layers) differs from the session's (%llu bytes, %d layers)",
                     static_cast<unsigned long long>(h.state_bytes), h.n_layers, static_cast<unsigned long long>(session.state_bytes()),
                     session.model().config.n_layers);
    // Checksums catch damage, not lies: a blob with valid checksums may still hold a
    // state no feed produces (crafted, or from a buggy writer). Its bookkeeping is
    // checked in place; on refusal the session's own state is put back.
    std::vector<std::byte> previous(session.state_data(), session.state_data() + h.state_bytes);
    std::memcpy(session.state_data(), blob + kSnapshotHeaderBytes, h.state_bytes);
    mnemo_status s = MNEMO_OK;
    if (session.position() != h.position)
        s = failf(MNEMO_ERR_CORRUPT, "snapshot position %lld disagrees with its state's %lld", static_cast<long long>(h.position),
                  static_cast<long long>(session.position()));
    else
        s = session.check_state();
    if (s != MNEMO_OK) {
        std::memcpy(session.state_data(), previous.data(), h.state_bytes);
        return s;
    }
    session.state_restored();
    return MNEMO_OK;
}

mnemo_session_params session_params_for(const SnapshotHeader& h, const mnemo_session_params& base) {
    mnemo_session_params p = base;
    p.max_context = h.max_context;
    p.policy = static_cast<mnemo_policy>(h.policy);
    p.policy_budget = h.policy_budget;
    p.policy_sink = h.policy_sink;
    return p;
}

}  // namespace mnemo
