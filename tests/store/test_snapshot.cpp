// Snapshots through the public API: exact round trips for every mixer kind, the
// constant size of a laLTE snapshot, and every refusal with its specific status.
// Token counts stay small: the sanitizer build runs the tiny laLTE model at about
// 70 tokens/s.
#include "snapshot.h"
#include "store_test_util.h"

#include "mnemo/mnemo.hpp"

#include <gtest/gtest.h>

#include <cstring>

using store_test::tiny_model;

namespace {

mnemo_session_params params_for(const std::string& mixer) {
    mnemo_session_params p = mnemo_session_default_params();
    p.n_threads = 2;
    p.chunk_tokens = 64;
    if (mixer == "attn" || mixer == "nsa") p.max_context = 4096;
    return p;
}

std::vector<int32_t> some_tokens(size_t n, uint32_t seed = 3) {
    std::vector<int32_t> t(n);
    uint32_t x = seed;
    for (auto& v : t) {
        x = x * 1664525u + 1013904223u;
        v = 4 + static_cast<int32_t>((x >> 8) % 256);
    }
    return t;
}

std::vector<float> logits_of(const mnemo::Session& s) {
    const float* l = nullptr;
    int32_t n = 0;
    mnemo::check(mnemo_session_logits(s.get(), &l, &n));
    return std::vector<float>(l, l + n);
}

std::vector<uint8_t> snapshot_after(const mnemo::Session& s) { return mnemo::Store::snapshot(s); }

// Offsets of header fields (docs/snapshot.md).
constexpr size_t kVersionOffset = 8;
constexpr size_t kPositionOffset = 32;

}  // namespace

class SnapshotEveryMixer : public ::testing::TestWithParam<std::string> {};

TEST_P(SnapshotEveryMixer, RestoreContinuesBitExactly) {
    const std::string mixer = GetParam();
    mnemo::Model model(tiny_model(mixer));
    const mnemo_session_params p = params_for(mixer);
    const auto doc = some_tokens(150);  // well past every window (16) and sparse block (8)
    const auto more = some_tokens(30, 11);

    mnemo::Session a(model, p);
    mnemo::check(mnemo_session_feed(a.get(), doc.data(), doc.size()));
    const std::vector<uint8_t> blob = snapshot_after(a);
    mnemo::check(mnemo_session_feed(a.get(), more.data(), more.size()));
    const std::vector<float> expected = logits_of(a);

    mnemo::Session b(model, p);
    mnemo::Store::restore(b, blob);
    EXPECT_EQ(b.position(), 150);
    const float* none = nullptr;
    EXPECT_EQ(mnemo_session_logits(b.get(), &none, nullptr), MNEMO_ERR_STATE) << "no logits right after a restore";
    mnemo::check(mnemo_session_feed(b.get(), more.data(), more.size()));
    EXPECT_EQ(logits_of(b), expected);

    // The same through mnemo_session_create_from_snapshot (parameters from the blob).
    mnemo_session_params threads_only = mnemo_session_default_params();
    threads_only.n_threads = 1;
    mnemo_session* c = nullptr;
    ASSERT_EQ(mnemo_session_create_from_snapshot(model.get(), blob.data(), blob.size(), &threads_only, &c), MNEMO_OK)
        << mnemo_last_error();
    ASSERT_EQ(mnemo_session_feed(c, more.data(), more.size()), MNEMO_OK);
    const float* l = nullptr;
    ASSERT_EQ(mnemo_session_logits(c, &l, nullptr), MNEMO_OK);
    EXPECT_EQ(std::vector<float>(l, l + expected.size()), expected);
    mnemo_session_free(c);
}

INSTANTIATE_TEST_SUITE_P(Mixers, SnapshotEveryMixer, ::testing::Values("gdn", "swa", "lte", "nsa", "attn"));

TEST(Snapshot, LteSnapshotSizeEqualsThePlanWhateverTheLength) {
    mnemo::Model model(tiny_model("lte"));
    const mnemo_session_params p = params_for("lte");
    mnemo_memory_plan plan{};
    plan.struct_size = sizeof plan;
    mnemo::check(mnemo_memory_plan_get(model.get(), &p, &plan));
    ASSERT_EQ(plan.bounded, 1);
    for (size_t n : {1u, 20u, 100u, 300u}) {
        mnemo::Session s(model, p);
        const auto toks = some_tokens(n);
        mnemo::check(mnemo_session_feed(s.get(), toks.data(), toks.size()));
        size_t size = 0;
        mnemo::check(mnemo_session_snapshot_size(s.get(), &size));
        const auto blob = snapshot_after(s);
        EXPECT_EQ(blob.size(), size);
        EXPECT_EQ(blob.size(), MNEMO_SNAPSHOT_HEADER_BYTES + plan.state_bytes) << n << " tokens";
        mnemo_snapshot_info info{};
        info.struct_size = sizeof info;
        mnemo::check(mnemo_snapshot_get_info(blob.data(), blob.size(), &info));
        EXPECT_EQ(info.state_bytes, plan.state_bytes);
        EXPECT_EQ(info.position, static_cast<int64_t>(n));
        EXPECT_EQ(info.format_version, static_cast<uint32_t>(MNEMO_SNAPSHOT_FORMAT_VERSION));
        EXPECT_EQ(info.library_version, static_cast<uint32_t>(MNEMO_VERSION));
        EXPECT_EQ(info.n_layers, 4);
        EXPECT_EQ(info.chunk_tokens, 64);
        uint64_t hash = 0;
        mnemo::check(mnemo_model_hash(model.get(), &hash));
        EXPECT_EQ(info.model_hash, hash);
    }
}

TEST(Snapshot, SnapshotIntoSmallBufferReportsTheSize) {
    mnemo::Model model(tiny_model("lte"));
    mnemo::Session s(model, params_for("lte"));
    size_t needed = 0;
    EXPECT_EQ(mnemo_session_snapshot(s.get(), nullptr, 0, &needed), MNEMO_ERR_BUFFER_TOO_SMALL);
    size_t size = 0;
    mnemo::check(mnemo_session_snapshot_size(s.get(), &size));
    EXPECT_EQ(needed, size);
    std::vector<uint8_t> small(needed - 1);
    EXPECT_EQ(mnemo_session_snapshot(s.get(), small.data(), small.size(), &needed), MNEMO_ERR_BUFFER_TOO_SMALL);
}

TEST(Snapshot, ModelHashIdentifiesTheContent) {
    const std::string path = tiny_model("lte");
    mnemo::Model a(path);
    mnemo_model_params no_mmap = mnemo_model_default_params();
    no_mmap.use_mmap = 0;
    mnemo::Model b(path, &no_mmap);
    mnemo::Model other(tiny_model("lte", 2));
    uint64_t ha = 0, hb = 0, ho = 0;
    mnemo::check(mnemo_model_hash(a.get(), &ha));
    mnemo::check(mnemo_model_hash(b.get(), &hb));
    mnemo::check(mnemo_model_hash(other.get(), &ho));
    EXPECT_EQ(ha, hb);
    EXPECT_NE(ha, ho);
    EXPECT_NE(ha, 0u);
}

TEST(Snapshot, RefusesAnotherModel) {
    mnemo::Model model(tiny_model("lte"));
    mnemo::Model other(tiny_model("lte", 2));  // same shapes, other weights
    const mnemo_session_params p = params_for("lte");
    mnemo::Session a(model, p);
    const auto toks = some_tokens(60);
    mnemo::check(mnemo_session_feed(a.get(), toks.data(), toks.size()));
    const auto blob = snapshot_after(a);

    mnemo::Session b(other, p);
    mnemo::check(mnemo_session_feed(b.get(), toks.data(), 5));
    EXPECT_EQ(mnemo_session_restore(b.get(), blob.data(), blob.size()), MNEMO_ERR_MISMATCH);
    EXPECT_NE(std::string(mnemo_last_error()).find("another model"), std::string::npos) << mnemo_last_error();
    EXPECT_EQ(b.position(), 5) << "a refused restore leaves the session untouched";
    mnemo_session* c = nullptr;
    EXPECT_EQ(mnemo_session_create_from_snapshot(other.get(), blob.data(), blob.size(), nullptr, &c), MNEMO_ERR_MISMATCH);
    EXPECT_EQ(c, nullptr);

    // Another architecture altogether.
    mnemo::Model gdn(tiny_model("gdn"));
    mnemo::Session g(gdn, params_for("gdn"));
    EXPECT_EQ(mnemo_session_restore(g.get(), blob.data(), blob.size()), MNEMO_ERR_MISMATCH);
}

TEST(Snapshot, RefusesAnotherFormatVersion) {
    mnemo::Model model(tiny_model("lte"));
    mnemo::Session a(model, params_for("lte"));
    auto blob = snapshot_after(a);
    for (uint32_t version : {0u, 2u, 0xffffffffu}) {
        auto copy = blob;
        std::memcpy(copy.data() + kVersionOffset, &version, 4);
        EXPECT_EQ(mnemo_session_restore(a.get(), copy.data(), copy.size()), MNEMO_ERR_UNSUPPORTED) << version;
        EXPECT_NE(std::string(mnemo_last_error()).find("format version"), std::string::npos) << mnemo_last_error();
        mnemo_snapshot_info info{};
        info.struct_size = sizeof info;
        EXPECT_EQ(mnemo_snapshot_get_info(copy.data(), copy.size(), &info), MNEMO_ERR_UNSUPPORTED);
    }
}

TEST(Snapshot, RefusesCorruptTruncatedOrForeignBlobs) {
    mnemo::Model model(tiny_model("lte"));
    mnemo::Session a(model, params_for("lte"));
    const auto toks = some_tokens(80);
    mnemo::check(mnemo_session_feed(a.get(), toks.data(), toks.size()));
    const auto blob = snapshot_after(a);
    mnemo::Session b(model, params_for("lte"));

    auto payload = blob;
    payload[MNEMO_SNAPSHOT_HEADER_BYTES + payload.size() / 2 - 64] ^= 0x01;  // one bit of the state
    EXPECT_EQ(mnemo_session_restore(b.get(), payload.data(), payload.size()), MNEMO_ERR_CORRUPT);
    EXPECT_NE(std::string(mnemo_last_error()).find("checksum"), std::string::npos);

    auto header = blob;
    header[kPositionOffset] ^= 0x01;
    EXPECT_EQ(mnemo_session_restore(b.get(), header.data(), header.size()), MNEMO_ERR_CORRUPT);

    EXPECT_EQ(mnemo_session_restore(b.get(), blob.data(), blob.size() - 1), MNEMO_ERR_TRUNCATED);
    EXPECT_EQ(mnemo_session_restore(b.get(), blob.data(), 100), MNEMO_ERR_TRUNCATED);
    auto longer = blob;
    longer.push_back(0);
    EXPECT_EQ(mnemo_session_restore(b.get(), longer.data(), longer.size()), MNEMO_ERR_CORRUPT);
    auto magic = blob;
    magic[0] = 'X';
    EXPECT_EQ(mnemo_session_restore(b.get(), magic.data(), magic.size()), MNEMO_ERR_BAD_MAGIC);
    const char junk[] = "GGUF this is not a snapshot at all";
    EXPECT_EQ(mnemo_session_restore(b.get(), junk, sizeof junk), MNEMO_ERR_BAD_MAGIC);
    EXPECT_EQ(mnemo_session_restore(b.get(), nullptr, 0), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(b.position(), 0) << "refused restores leave the session untouched";

    // The intact blob still restores.
    EXPECT_EQ(mnemo_session_restore(b.get(), blob.data(), blob.size()), MNEMO_OK) << mnemo_last_error();
    EXPECT_EQ(b.position(), 80);
}

TEST(Snapshot, RefusesSessionParametersThatShapeTheStateDifferently) {
    mnemo::Model model(tiny_model("attn"));
    mnemo_session_params p = params_for("attn");
    mnemo::Session a(model, p);
    const auto blob = snapshot_after(a);
    mnemo_session_params q = p;
    q.max_context = 2048;
    mnemo::Session b(model, q);
    EXPECT_EQ(mnemo_session_restore(b.get(), blob.data(), blob.size()), MNEMO_ERR_MISMATCH);
    EXPECT_NE(std::string(mnemo_last_error()).find("max_context"), std::string::npos) << mnemo_last_error();
    mnemo_session_params r = p;
    r.policy = MNEMO_POLICY_STREAMING;
    r.policy_budget = 32;
    mnemo::Session c(model, r);
    EXPECT_EQ(mnemo_session_restore(c.get(), blob.data(), blob.size()), MNEMO_ERR_MISMATCH);
    // Threads and chunking do not shape the state.
    mnemo_session_params t = p;
    t.n_threads = 1;
    t.chunk_tokens = 17;
    mnemo::Session d(model, t);
    EXPECT_EQ(mnemo_session_restore(d.get(), blob.data(), blob.size()), MNEMO_OK) << mnemo_last_error();
}

TEST(Snapshot, Hash64IsXxh64) {
    // Reference values of XXH64 with seed 0.
    EXPECT_EQ(mnemo::hash64("", 0), 0xef46db3751d8e999ull);
    EXPECT_EQ(mnemo::hash64("a", 1), 0xd24ec4f1a98c6e5bull);
    EXPECT_EQ(mnemo::hash64("abc", 3), 0x44bc2cf5ad770999ull);
    const char* text = "Nobody inspects the spammish repetition";
    EXPECT_EQ(mnemo::hash64(text, std::strlen(text)), 0xfbcea83c8a378bf1ull);
}
