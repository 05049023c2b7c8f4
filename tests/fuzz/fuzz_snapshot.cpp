// fuzz_snapshot: the input is one mode byte followed by a session snapshot blob.
//
// The mode byte picks the tiny model the blob is restored into (bits 0-1: lte, swa,
// attn, nsa; fuzz_models.h) and how:
//   bit 2  recompute both checksums after the mutation, so the fuzzer reaches the
//          header fields and the state itself (a crafted blob, or one written by a
//          buggy writer, has valid checksums: XXH64 catches damage, not malice);
//   bit 3  also overwrite the model hash with the chosen model's;
//   bit 4  restore into an existing session (created with the seeds' parameters,
//          variant = bits 5-7, with two tokens already fed) instead of
//          mnemo_session_create_from_snapshot.
// Every call must return a status (never MNEMO_ERR_INTERNAL, never a crash). A refused
// restore must leave the session untouched (same position, same logits). A restore
// that succeeds must give a usable session: the position is the snapshot's, there are
// no logits until the next feed, a new snapshot holds the same state bytes, every
// probe answers with tokens before the position, feeding and sampling work.
#include "fuzz_models.h"
#include "snapshot.h"

#include <cmath>
#include <cstring>
#include <vector>

using namespace mnemo;
using namespace mnemo::fuzz;

namespace {

// Header offsets (docs/snapshot.md).
constexpr size_t kModelHashOffset = 16;
constexpr size_t kPayloadChecksumOffset = 112;
constexpr size_t kHeaderChecksumOffset = 120;
constexpr uint64_t kBudget = 4ull << 20;

void fix_checksums(std::vector<uint8_t>& b) {
    if (b.size() < MNEMO_SNAPSHOT_HEADER_BYTES) return;
    const uint64_t payload = hash64(b.data() + MNEMO_SNAPSHOT_HEADER_BYTES, b.size() - MNEMO_SNAPSHOT_HEADER_BYTES);
    std::memcpy(b.data() + kPayloadChecksumOffset, &payload, 8);
    const uint64_t header = hash64(b.data(), kHeaderChecksumOffset);
    std::memcpy(b.data() + kHeaderChecksumOffset, &header, 8);
}

std::vector<float> logits_of(const mnemo_session* s) {
    const float* l = nullptr;
    int32_t n = 0;
    if (mnemo_session_logits(s, &l, &n) != MNEMO_OK) return {};
    return std::vector<float>(l, l + n);
}

int64_t position_of(const mnemo_session* s) {
    int64_t p = -1;
    FUZZ_CHECK(mnemo_session_position(s, &p) == MNEMO_OK, "position");
    return p;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// A session that has just restored `blob` is usable and holds exactly its state.
void exercise_restored(mnemo_session* s, const std::vector<uint8_t>& blob, const mnemo_snapshot_info& info, int32_t vocab) {
    const int64_t pos = position_of(s);
    FUZZ_CHECK(pos == info.position, "restored position %lld, snapshot says %lld", static_cast<long long>(pos),
               static_cast<long long>(info.position));
    const float* l = nullptr;
    FUZZ_CHECK(mnemo_session_logits(s, &l, nullptr) == MNEMO_ERR_STATE, "logits right after a restore");

    // The state round-trips.
    size_t size = 0;
    FUZZ_CHECK(mnemo_session_snapshot_size(s, &size) == MNEMO_OK && size == blob.size(), "snapshot size %zu vs %zu", size, blob.size());
    std::vector<uint8_t> again(size);
    FUZZ_CHECK(mnemo_session_snapshot(s, again.data(), again.size(), &size) == MNEMO_OK, "snapshot after restore");
    FUZZ_CHECK(std::memcmp(again.data() + MNEMO_SNAPSHOT_HEADER_BYTES, blob.data() + MNEMO_SNAPSHOT_HEADER_BYTES,
                           blob.size() - MNEMO_SNAPSHOT_HEADER_BYTES) == 0,
               "the state does not round-trip");

    // Probes: every layer and head, plus out-of-range indices.
    for (int32_t layer = -1; layer <= kTinyLayers; ++layer) {
        mnemo_layer_probe probe{};
        probe.struct_size = sizeof probe;
        const mnemo_status ps = mnemo_probe_layer(s, layer, &probe);
        if (layer < 0 || layer >= kTinyLayers) {
            FUZZ_CHECK(ps == MNEMO_ERR_OUT_OF_RANGE, "probe of layer %d: %s", layer, mnemo_status_name(ps));
            continue;
        }
        FUZZ_CHECK(ps == MNEMO_OK, "probe of layer %d: %s", layer, mnemo_status_name(ps));
        FUZZ_CHECK(probe.state_bytes_used <= probe.state_bytes_reserved, "layer %d uses %llu of %llu bytes", layer,
                   static_cast<unsigned long long>(probe.state_bytes_used), static_cast<unsigned long long>(probe.state_bytes_reserved));
        FUZZ_CHECK(probe.window_end == pos && probe.window_begin <= probe.window_end, "layer %d window [%lld, %lld)", layer,
                   static_cast<long long>(probe.window_begin), static_cast<long long>(probe.window_end));
        for (int32_t h = 0; h < probe.n_kv_heads; ++h) {
            size_t n = 0;
            const mnemo_status hs = mnemo_probe_head_tokens(s, layer, h, nullptr, 0, &n);
            FUZZ_CHECK(hs == MNEMO_OK || hs == MNEMO_ERR_BUFFER_TOO_SMALL, "head tokens: %s", mnemo_status_name(hs));
            std::vector<mnemo_probe_token> tokens(n);
            FUZZ_CHECK(mnemo_probe_head_tokens(s, layer, h, tokens.data(), tokens.size(), &n) == MNEMO_OK && n == tokens.size(),
                       "head tokens with room");
            for (size_t i = 0; i < n; ++i) {
                FUZZ_CHECK(tokens[i].position >= 0 && tokens[i].position < pos, "held position %lld outside [0, %lld)",
                           static_cast<long long>(tokens[i].position), static_cast<long long>(pos));
                FUZZ_CHECK(i == 0 || tokens[i - 1].position < tokens[i].position, "held positions not increasing");
            }
        }
    }

    // Feeding continues (or is refused at max_context), sampling answers in range.
    const int32_t feed[2] = {5, vocab - 1};
    for (int32_t t : feed) {
        const mnemo_status fs = mnemo_session_feed(s, &t, 1);
        FUZZ_CHECK(fs == MNEMO_OK || fs == MNEMO_ERR_OUT_OF_RANGE, "feed after restore: %s", mnemo_status_name(fs));
        if (fs != MNEMO_OK) return;
    }
    FUZZ_CHECK(position_of(s) == pos + 2, "position after feeding");
    mnemo_sampler_params sp = mnemo_sampler_default_params();
    for (float temperature : {0.0f, 0.8f}) {
        sp.temperature = temperature;
        sp.top_k = temperature > 0 ? 40 : 0;
        sp.top_p = temperature > 0 ? 0.9f : 1.0f;
        int32_t token = -1;
        FUZZ_CHECK(mnemo_session_sample(s, &sp, &token) == MNEMO_OK, "sample");
        FUZZ_CHECK(token >= 0 && token < vocab, "sampled token %d outside [0, %d)", token, vocab);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const TinyModels& models = tiny_models();
    const uint8_t mode = data[0];
    const size_t kind = mode & 3u;
    std::vector<uint8_t> blob(data + 1, data + size);
    if ((mode & 8u) && blob.size() >= MNEMO_SNAPSHOT_HEADER_BYTES) std::memcpy(blob.data() + kModelHashOffset, &models.hash[kind], 8);
    if (mode & (4u | 8u)) fix_checksums(blob);
    // An empty vector's data() may be NULL; the API refuses NULL blobs separately.
    static const uint8_t kEmpty = 0;
    const uint8_t* bytes = blob.empty() ? &kEmpty : blob.data();

    mnemo_snapshot_info info{};
    info.struct_size = sizeof info;
    const mnemo_status is = mnemo_snapshot_get_info(bytes, blob.size(), &info);
    FUZZ_CHECK(is_verdict(is) && is != MNEMO_ERR_INVALID_ARGUMENT, "mnemo_snapshot_get_info: %s", mnemo_status_name(is));
    if (is == MNEMO_OK)
        FUZZ_CHECK(info.state_bytes + MNEMO_SNAPSHOT_HEADER_BYTES == blob.size(), "info says %llu state bytes in %zu",
                   static_cast<unsigned long long>(info.state_bytes), blob.size());

    mnemo_session* s = nullptr;
    mnemo_status rs;
    if (mode & 16u) {
        mnemo_session_params p = seed_session_params(kind, (mode >> 5) % seed_variants(kind));
        p.budget_bytes = kBudget;
        FUZZ_CHECK(mnemo_session_create(models.model[kind], &p, &s) == MNEMO_OK, "seed session");
        // One token at a time (the decode path): multi-token chunks take the GEMM path,
        // whose per-call packing buffers cost milliseconds under ASan.
        for (int32_t t : {7, 9}) FUZZ_CHECK(mnemo_session_feed(s, &t, 1) == MNEMO_OK, "prompt");
        const std::vector<float> before = logits_of(s);
        rs = mnemo_session_restore(s, bytes, blob.size());
        FUZZ_CHECK(is_verdict(rs), "mnemo_session_restore: %s", mnemo_status_name(rs));
        if (rs != MNEMO_OK) {
            FUZZ_CHECK(std::strlen(mnemo_last_error()) > 0, "refused without a message");
            FUZZ_CHECK(position_of(s) == 2 && same_bits(logits_of(s), before), "a refused restore changed the session");
        }
    } else {
        mnemo_session_params p = mnemo_session_default_params();
        p.n_threads = 1;
        p.chunk_tokens = 4;  // small scratch: large allocations dominate a run under ASan
        p.budget_bytes = kBudget;
        rs = mnemo_session_create_from_snapshot(models.model[kind], bytes, blob.size(), &p, &s);
        FUZZ_CHECK(is_verdict(rs), "mnemo_session_create_from_snapshot: %s", mnemo_status_name(rs));
        FUZZ_CHECK((rs == MNEMO_OK) == (s != nullptr), "status %s with session %p", mnemo_status_name(rs), static_cast<void*>(s));
        if (rs != MNEMO_OK) FUZZ_CHECK(std::strlen(mnemo_last_error()) > 0, "refused without a message");
    }
    if (rs == MNEMO_OK) {
        FUZZ_CHECK(is == MNEMO_OK, "restored a blob that mnemo_snapshot_get_info refuses");
        exercise_restored(s, blob, info, models.vocab[kind]);
    }
    mnemo_session_free(s);
    return 0;
}
