// stream.cpp — the C++ wrapper (mnemo.hpp): stream a document through a session and
// watch the bounded state work — every eviction arrives through the probe callback,
// and the layer probes show state bytes that stop growing.
//
//   stream MODEL.gguf [FILE]      (without FILE, a built-in text)
#include <mnemo/mnemo.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

namespace {

const char* reason_name(mnemo_eviction_reason r) {
    switch (r) {
        case MNEMO_EVICT_NONPOSITIVE_SCORE: return "score<=0";
        case MNEMO_EVICT_BUFFER_FULL: return "buffer full";
        case MNEMO_EVICT_REPLACED: return "replaced";
        case MNEMO_EVICT_WINDOW: return "left window";
        case MNEMO_EVICT_POLICY: return "policy";
    }
    return "?";
}

struct Log {
    long long total = 0;
    std::map<std::string, long long> by_reason;
    int printed = 0;
};

void on_eviction(const mnemo_eviction_event* e, void* user) {
    auto* log = static_cast<Log*>(user);
    ++log->total;
    ++log->by_reason[reason_name(e->reason)];
    if (log->printed < 12) {  // the first few in full, then only counts
        ++log->printed;
        std::printf("  evict: position %6lld  layer %d  kv_head %d  score %+.4f  (%s)\n", static_cast<long long>(e->position), e->layer,
                    e->kv_head, e->score, reason_name(e->reason));
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: stream MODEL.gguf [FILE]\n");
        return 2;
    }
    std::string text;
    if (argc > 2) {
        std::ifstream in(argv[2], std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "stream: cannot read %s\n", argv[2]);
            return 1;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    } else {
        for (int i = 0; i < 6; ++i)
            text += "Paragraph " + std::to_string(i) + ": a bounded state keeps a sink, a window and the tokens it learned to retain. ";
    }
    try {
        mnemo::Model model(argv[1]);
        const mnemo_model_info info = model.info();
        mnemo_session_params params = mnemo_session_default_params();
        if (!info.bounded) {  // full attention / NSA layers: bound them with a policy
            params.policy = MNEMO_POLICY_STREAMING;
            params.policy_budget = 64;
        }
        mnemo::Session session(model, params);
        Log log;
        mnemo::check(mnemo_session_set_eviction_callback(session.get(), on_eviction, &log));

        const std::vector<int32_t> tokens = model.tokenize(text, true);
        std::printf("streaming %zu tokens through '%s' (%d layers)\n", tokens.size(), info.name, info.n_layers);
        const size_t step = 128;
        for (size_t done = 0; done < tokens.size(); done += step) {
            const size_t n = std::min(step, tokens.size() - done);
            mnemo::check(mnemo_session_feed(session.get(), tokens.data() + done, n));
            unsigned long long used = 0, reserved = 0;
            for (int32_t l = 0; l < info.n_layers; ++l) {
                mnemo_layer_probe p{};
                p.struct_size = sizeof p;
                mnemo::check(mnemo_probe_layer(session.get(), l, &p));
                used += p.state_bytes_used;
                reserved += p.state_bytes_reserved;
            }
            std::printf("position %6lld: state %llu of %llu bytes, %lld evictions so far\n", static_cast<long long>(session.position()), used,
                        reserved, log.total);
        }
        // What one KV head of the first attention-family layer holds now.
        for (int32_t l = 0; l < info.n_layers; ++l) {
            mnemo_layer_probe p{};
            p.struct_size = sizeof p;
            mnemo::check(mnemo_probe_layer(session.get(), l, &p));
            if (p.n_kv_heads == 0) continue;
            size_t n = 0;
            mnemo_probe_head_tokens(session.get(), l, 0, nullptr, 0, &n);
            std::vector<mnemo_probe_token> held(n);
            mnemo::check(mnemo_probe_head_tokens(session.get(), l, 0, held.data(), held.size(), &n));
            int kinds[3] = {0, 0, 0};
            for (const auto& t : held) ++kinds[t.kind];
            std::printf("layer %d (%s) kv_head 0 holds %zu tokens: %d sink, %d retained, %d window\n", l, mnemo_mixer_kind_name(p.mixer), n,
                        kinds[MNEMO_TOKEN_SINK], kinds[MNEMO_TOKEN_RETAINED], kinds[MNEMO_TOKEN_WINDOW]);
            break;
        }
        std::printf("evictions: %lld", log.total);
        for (const auto& [reason, count] : log.by_reason) std::printf("  %s %lld", reason.c_str(), count);
        std::printf("\n");
    } catch (const mnemo::Error& e) {
        std::fprintf(stderr, "stream: %s\n", e.what());
        return 1;
    }
    return 0;
}
