// The studio's data model, its probe adapter (through the public C API, on a tiny
// random laLTE model) and the headless rendering of every view.
#include "headless.h"
#include "probe_capture.h"
#include "studio_model.h"
#include "views.h"

#include <gtest/gtest.h>
#include <mnemo/mnemo.h>

#include <set>
#include <string>

namespace {

using namespace mnemo::viz;

std::string sample_text() {
    std::string text;
    for (int i = 0; i < 40; ++i)
        text += "Paragraph " + std::to_string(i) + ": the quick brown fox jumps over the lazy dog, and the cache keeps what matters.\n";
    return text;
}

TEST(StudioModel, UsageHistoryStaysBoundedAndEndsAtTheLatestSample) {
    UsageHistory h(64);
    for (int64_t p = 1; p <= 10000; ++p) h.add(UsageSample{p, {static_cast<uint64_t>(p)}});
    ASSERT_LE(h.samples().size(), 64u);
    ASSERT_GE(h.samples().size(), 16u);
    EXPECT_EQ(h.samples().back().position, 10000);
    for (size_t i = 1; i < h.samples().size(); ++i) EXPECT_LT(h.samples()[i - 1].position, h.samples()[i].position);
    h.clear();
    EXPECT_TRUE(h.samples().empty());
}

TEST(StudioModel, EvictionLogKeepsTheNewestAndCountsAll) {
    EvictionLog log(4);
    for (int i = 0; i < 10; ++i) log.push(i, 1, i % 2, 0.1f * static_cast<float>(i), i < 7 ? EvictionReason::BufferFull : EvictionReason::Replaced);
    EXPECT_EQ(log.size(), 4u);
    EXPECT_EQ(log.total(), 10u);
    EXPECT_EQ(log.at(0).sequence, 6u);
    EXPECT_EQ(log.at(3).position, 9);
    EXPECT_EQ(log.total_for(EvictionReason::BufferFull), 7u);
    EXPECT_EQ(log.total_for(EvictionReason::Replaced), 3u);
}

class StudioCapture : public ::testing::Test {
protected:
    void SetUp() override {
        const char* path = std::getenv("MNEMO_TINY_MODEL");
        ASSERT_NE(path, nullptr) << "MNEMO_TINY_MODEL is not set";
        ASSERT_EQ(mnemo_model_load(path, nullptr, &model_), MNEMO_OK) << mnemo_last_error();
        params_ = mnemo_session_default_params();
        params_.n_threads = 1;
        ASSERT_EQ(mnemo_session_create(model_, &params_, &session_), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(tokenize_document(model_, "sample.txt", sample_text(), &data_.document), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(capture_.attach(model_, session_, params_, path, &data_), MNEMO_OK) << mnemo_last_error();
    }
    void TearDown() override {
        capture_.detach();
        if (session_ != nullptr) mnemo_session_free(session_);
        if (model_ != nullptr) mnemo_model_free(model_);
    }
    void feed(int64_t n) {
        ASSERT_EQ(mnemo_session_feed(session_, data_.document.token_ids.data() + data_.position, static_cast<size_t>(n)), MNEMO_OK)
            << mnemo_last_error();
        ASSERT_EQ(capture_.refresh(), MNEMO_OK) << mnemo_last_error();
    }

    mnemo_model* model_ = nullptr;
    mnemo_session* session_ = nullptr;
    mnemo_session_params params_{};
    ProbeCapture capture_;
    StudioModel data_;
};

TEST_F(StudioCapture, DocumentTextAndOffsetsAgree) {
    const DocumentModel& doc = data_.document;
    ASSERT_GT(doc.token_count(), 1000);
    EXPECT_EQ(doc.text, sample_text());  // byte tokenizer: BOS decodes to nothing
    EXPECT_EQ(doc.token_text(0), "");
    EXPECT_EQ(doc.token_text(1), "P");
    EXPECT_EQ(doc.position_at_offset(1), 2);
    std::vector<int32_t> q;
    ASSERT_EQ(tokenize_text(model_, "Q?", &q), MNEMO_OK);
    DocumentModel copy = doc;
    ASSERT_EQ(insert_tokens(model_, q.data(), q.size(), 5, false, &copy), MNEMO_OK);
    EXPECT_EQ(copy.token_count(), doc.token_count() + 2);
    EXPECT_EQ(copy.range_text(5, 7), "Q?");
    EXPECT_EQ(copy.text.substr(0, 6), "ParaQ?");
    ASSERT_EQ(copy.inserted.size(), 1u);
    EXPECT_EQ(copy.inserted[0].begin, 5);
    EXPECT_NE(copy.inserted_at(6), nullptr);
    EXPECT_EQ(copy.inserted_at(7), nullptr);
    EXPECT_EQ(copy.token_text(7), doc.token_text(5));
}

// SentencePiece's byte fallback splits “ into three byte tokens; decoded one at a time each
// is U+FFFD, which the document view drew as "???". The default model's tokenizer has it.
TEST(StudioDocument, ByteFallbackCharactersKeepTheirText) {
    mnemo_model* model = nullptr;
    ASSERT_EQ(mnemo_model_load(MNEMO_DEFAULT_MODEL, nullptr, &model), MNEMO_OK) << mnemo_last_error();
    const std::string text = "He said \u201cMumble!\u201d \u2014 twice\u2014\u201cok\u201d.";
    DocumentModel doc;
    ASSERT_EQ(tokenize_document(model, "quotes.txt", text, &doc), MNEMO_OK) << mnemo_last_error();
    EXPECT_EQ(doc.text, text);
    EXPECT_EQ(doc.text.find("\xEF\xBF\xBD"), std::string::npos);
    for (int64_t t = 0; t < doc.token_count(); ++t) EXPECT_LE(doc.token_offsets[t], doc.token_offsets[t + 1]);
    // The same through insert_tokens (a question typed into the Ask box).
    std::vector<int32_t> q;
    ASSERT_EQ(tokenize_text(model, " \u201cwhy?\u201d", &q), MNEMO_OK);
    ASSERT_EQ(insert_tokens(model, q.data(), q.size(), doc.token_count(), false, &doc), MNEMO_OK);
    EXPECT_EQ(doc.text, text + " \u201cwhy?\u201d");
    mnemo_model_free(model);
}

TEST_F(StudioCapture, ProbesFillLayersHeadsUsageAndEvictions) {
    feed(400);
    EXPECT_EQ(data_.position, 400);
    ASSERT_EQ(data_.layers.size(), 4u);
    EXPECT_EQ(data_.layers[0].mixer, "gdn");
    EXPECT_FALSE(data_.layers[0].holds_tokens());
    const LayerSnapshot& lte = data_.layers[1];
    EXPECT_EQ(lte.mixer, "lte");
    ASSERT_EQ(lte.n_kv_heads, 2);
    ASSERT_EQ(lte.heads.size(), 2u);
    EXPECT_EQ(data_.first_token_layer(), 1);
    for (const HeadSnapshot& h : lte.heads) {
        int sink = 0, retained = 0, window = 0;
        for (const HeldToken& t : h.tokens) {
            EXPECT_LT(t.position, 400);
            if (t.kind == TokenKind::Sink) {
                ++sink;
                EXPECT_LT(t.position, lte.sink_size);
            }
            if (t.kind == TokenKind::Retained) ++retained;
            if (t.kind == TokenKind::Window) {
                ++window;
                EXPECT_GE(t.position, lte.window_begin);
            }
        }
        EXPECT_EQ(sink, lte.sink_size);
        EXPECT_LE(retained, lte.buffer_size - lte.sink_size);
        EXPECT_EQ(window, lte.window_size + 1);
    }
    for (const LayerSnapshot& l : data_.layers) EXPECT_LE(l.state_bytes_used, l.state_bytes_reserved);
    EXPECT_GT(data_.evictions.total(), 0u);
    ASSERT_FALSE(data_.usage.samples().empty());
    EXPECT_EQ(data_.usage.samples().back().position, 400);
    EXPECT_EQ(data_.usage.samples().back().layer_bytes_used.size(), 4u);
}

size_t distinct_colors(const Image& img, int x0, int y0, int x1, int y1) {
    std::set<uint32_t> colors;
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
            const uint8_t* p = img.pixel(x, y);
            colors.insert(static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16);
        }
    return colors.size();
}

TEST_F(StudioCapture, EveryViewRendersHeadlessly) {
    feed(1500);
    ViewState state;
    AskState ask;
    ask.question = "What does the fox do?";
    ask.answer = "It jumps.";
    HeadlessOptions options;
    options.width = 800;
    options.height = 500;
    options.frames = 2;
    for (ViewId view : {ViewId::Retention, ViewId::Window, ViewId::Document, ViewId::State, ViewId::Evictions, ViewId::Ask, ViewId::All}) {
        Image img;
        std::string error;
        ASSERT_TRUE(render_views(data_, state, &ask, view, options, &img, &error)) << error;
        ASSERT_EQ(img.width, 800);
        ASSERT_EQ(img.height, 500);
        EXPECT_GE(distinct_colors(img, 0, 0, img.width, img.height), 30u) << view_id_name(view);
    }
    // The retention map's plot holds amber (sink/retained) tokens.
    Image img;
    std::string error;
    ASSERT_TRUE(render_views(data_, state, nullptr, ViewId::Retention, options, &img, &error)) << error;
    size_t warm = 0;
    for (int y = img.height / 5; y < img.height * 9 / 10; ++y)
        for (int x = img.width / 20; x < img.width * 19 / 20; ++x) {
            const uint8_t* p = img.pixel(x, y);
            if (p[0] >= 180 && p[1] >= 90 && p[2] <= 120) ++warm;
        }
    EXPECT_GT(warm, 200u);
    const std::string out = ::testing::TempDir() + "studio_retention.png";
    ASSERT_TRUE(write_png(out, img, &error)) << error;
    Image back;
    ASSERT_TRUE(read_png(out, &back, &error)) << error;
    EXPECT_EQ(back.width, img.width);
    EXPECT_EQ(back.rgba, img.rgba);
}

}  // namespace
