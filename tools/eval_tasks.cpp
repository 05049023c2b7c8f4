#include "eval_tasks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace mnemo::eval {
namespace {

// retrieval.py: FILLER, TEMPLATES, WORDS (keep in step with it).
const char* kFiller = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

const char* kWords =
    "acorn admiral album anchor angle ankle apple apricot arch arrow artist atlas attic autumn "
    "avenue badge bakery balcony ball bamboo banana banner barrel basket beacon beard beetle bell "
    "bench berry bicycle blanket blossom boat bonnet bottle boulder bracelet branch bread breeze "
    "brick bridge broom bucket buffalo bugle butter button cabin cactus camel camera canal candle "
    "cannon canoe canyon captain carpet carrot castle cattle cellar chair chalk chapel cherry "
    "chimney circle citizen clock cloud clover coast cobweb coconut collar comet compass copper "
    "cotton cradle crater crayon creek cricket crown crystal cushion dagger daisy desert diamond "
    "dolphin donkey dragon drum eagle elbow emerald engine falcon feather fence ferry fiddle "
    "flame flute forest fountain fox garden garlic giant ginger glacier goblet granite grape "
    "guitar hammer harbor harp hazel helmet hermit honey horizon island ivory jacket jaguar jelly "
    "jewel journal jungle kettle kitten ladder lagoon lantern lemon leopard library lighthouse "
    "lily lizard lobster locket magnet mango maple marble meadow melon mirror monk moon mountain "
    "mushroom needle nest noodle oak oasis ocean olive onion orchard otter owl paddle palace "
    "panther parrot peach pebble pencil pepper piano pillow pine pirate planet plum pocket pond "
    "poppy potato prairie pumpkin puzzle quarry quill rabbit radish rainbow raven ribbon river "
    "robin rocket saddle salmon sandal satchel scarf shadow shell shovel silver sparrow spider "
    "spoon squirrel stable statue storm stream sugar summit swan sword tablet teapot temple "
    "thistle thunder tiger timber tomato torch tower tractor trumpet tulip tunnel turtle umbrella "
    "valley velvet violin volcano wagon walnut whale wheat whistle willow window wizard wolf";

const std::vector<std::string>& words() {
    static const std::vector<std::string> w = [] {
        std::vector<std::string> out;
        std::istringstream in(kWords);
        for (std::string s; in >> s;) out.push_back(s);
        return out;
    }();
    return w;
}

std::string niah_intro(const std::string& kind) {
    return "Some special magic " + kind + "s are hidden within the following text. Make sure to memorize them. "
           "I will quiz you about the " + kind + "s afterwards.\n";
}
std::string niah_needle(const std::string& kind, const std::string& key, const std::string& value) {
    return "One of the special magic " + kind + "s for " + key + " is: " + value + ".";
}
std::string niah_question(const std::string& kind, const std::string& key) {
    return "What is the special magic " + kind + " for " + key + " mentioned in the provided text? The special magic " +
           kind + " for " + key + " mentioned in the provided text is";
}
const char* kMqarIntro = "Remember the code of every item listed in the following text.\n";
std::string mqar_pair(const std::string& key, const std::string& value) { return "The code for " + key + " is " + value + "."; }
std::string mqar_question(const std::string& key) { return "The code for " + key + " is"; }
const char* kPasskeyIntro =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about "
    "the important information there.";
std::string passkey_needle(const std::string& value) {
    return "The pass key is " + value + ". Remember it. " + value + " is the pass key.";
}
const char* kPasskeyQuestion = "What is the pass key? The pass key is";

uint64_t splitmix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

std::string number(Rng& rng, int digits) {
    uint64_t lo = 1;
    for (int i = 1; i < digits; ++i) lo *= 10;
    return std::to_string(lo + rng.below(lo * 9));
}

std::string uuid(Rng& rng) {
    const char* hex = "0123456789abcdef";
    std::string h(32, '0');
    for (auto& c : h) c = hex[rng.below(16)];
    const char variant = "89ab"[rng.below(4)];
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-" + variant + h.substr(17, 3) + "-" + h.substr(20);
}

Tokens concat(Tokens a, const Tokens& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

bool is_prefix(const Tokens& p, const Tokens& of) { return p.size() <= of.size() && std::equal(p.begin(), p.end(), of.begin()); }

// Tokens of "\n" + question + " " + answer + "." and the answer's span within them.
Tokens question_answer(const Tokenizer& tok, const std::string& question, const std::string& answer, std::pair<int64_t, int64_t>* span) {
    const Tokens q = tok.encode("\n" + question);
    const Tokens qa = tok.encode("\n" + question + " " + answer);
    Tokens full = tok.encode("\n" + question + " " + answer + ".");
    if (!is_prefix(q, full) || !is_prefix(qa, full) || qa.size() <= q.size())
        throw std::runtime_error("the tokenizer does not split \"" + question + " " + answer +
                                 "\" at the answer: its tokenisation breaks the rules retrieval.py relies on");
    if (span) *span = {static_cast<int64_t>(q.size()), static_cast<int64_t>(qa.size())};
    return full;
}

// Position in pts nearest to target (the first on ties, as Python's min).
int64_t nearest(const std::vector<int64_t>& pts, double target) {
    int64_t best = pts.front();
    double best_d = std::fabs(static_cast<double>(best) - target);
    for (int64_t p : pts) {
        const double d = std::fabs(static_cast<double>(p) - target);
        if (d < best_d) { best = p; best_d = d; }
    }
    return best;
}

// Inserts the needles into seg at the insertion points nearest to the depths (retrieval.py's
// _fill after the segment is drawn). Returns the start of each needle in the result.
std::vector<int64_t> insert_needles(const Tokens& seg, const std::vector<int64_t>& pts, const std::vector<Tokens>& needles,
                                    const std::vector<double>& depths, Tokens* out) {
    std::vector<int64_t> want(needles.size());
    for (size_t i = 0; i < needles.size(); ++i) want[i] = nearest(pts, depths[i] * static_cast<double>(seg.size()));
    std::vector<size_t> order(needles.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return want[a] < want[b]; });
    std::vector<int64_t> starts(needles.size(), 0);
    int64_t prev = 0;
    for (size_t i : order) {
        const int64_t p = std::min<int64_t>(want[i], static_cast<int64_t>(seg.size()));
        out->insert(out->end(), seg.begin() + prev, seg.begin() + p);
        starts[i] = static_cast<int64_t>(out->size());
        out->insert(out->end(), needles[i].begin(), needles[i].end());
        prev = p;
    }
    out->insert(out->end(), seg.begin() + prev, seg.end());
    return starts;
}

std::vector<double> depths_for(Rng& rng, size_t n, double depth) {
    std::vector<double> d(n);
    for (auto& x : d) x = depth >= 0 ? depth : rng.uniform();
    return d;
}

int64_t total_size(const std::vector<Tokens>& v) {
    int64_t n = 0;
    for (const auto& t : v) n += static_cast<int64_t>(t.size());
    return n;
}

void check_budget(int64_t budget, int64_t length, const std::string& task) {
    if (budget < 8)
        throw std::invalid_argument("length " + std::to_string(length) + " is too short for " + task + " (needs at least " +
                                    std::to_string(length - budget + 8) + " tokens)");
}

void add_qa(Sample* s, const Tokenizer& tok, const std::string& question, const std::string& answer) {
    std::pair<int64_t, int64_t> span;
    const Tokens t = question_answer(tok, question, answer, &span);
    const auto base = static_cast<int64_t>(s->ids.size());
    s->ids.insert(s->ids.end(), t.begin(), t.end());
    s->answers.emplace_back(base + span.first, base + span.second);
    s->answer_texts.push_back(answer);
}

}  // namespace

const std::vector<std::string>& task_names() {
    static const std::vector<std::string> t = {"niah-single-repeat", "niah-single", "niah-single-uuid",
                                               "niah-multikey",      "mqar",        "passkey"};
    return t;
}

bool is_task(const std::string& name) {
    const auto& t = task_names();
    return std::find(t.begin(), t.end(), name) != t.end();
}

// ------------------------------------------------------------------------------ Rng

Rng::Rng(const std::string& key) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the key, then splitmix64 to fill the state
    for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ULL;
    for (auto& s : s_) s = splitmix64(&h);
}

uint64_t Rng::next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

uint64_t Rng::below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // rejection: no modulo bias
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::vector<size_t> Rng::sample(size_t n, size_t k) {
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    for (size_t i = 0; i < k && i < n; ++i) std::swap(idx[i], idx[i + below(n - i)]);
    idx.resize(std::min(k, n));
    return idx;
}

// ------------------------------------------------------------------------------ haystacks

TextHaystack::TextHaystack(Tokens ids, int32_t newline_id) : ids_(std::move(ids)), nl_(newline_id) {
    if (ids_.size() < 64) throw std::runtime_error("the haystack text is too short (fewer than 64 tokens)");
}

Tokens TextHaystack::segment(Rng& rng, int64_t n) const {
    if (n <= 0) return {};
    const size_t N = ids_.size();
    // move to the token after the next newline (at most 4096 tokens on)
    size_t j = static_cast<size_t>(rng.below(std::max<size_t>(1, N - 1)));
    const size_t lim = std::min(N, j + 4096);
    while (j < lim && ids_[j] != nl_) ++j;
    if (j < lim) ++j;
    Tokens out;
    out.reserve(static_cast<size_t>(n));
    while (static_cast<int64_t>(out.size()) < n - 1) {
        if (j >= N) j = 0;  // wrap around: the file ends with a newline
        const size_t take = std::min(static_cast<size_t>(n - 1) - out.size(), N - j);
        out.insert(out.end(), ids_.begin() + static_cast<std::ptrdiff_t>(j), ids_.begin() + static_cast<std::ptrdiff_t>(j + take));
        j += take;
    }
    out.push_back(nl_);
    return out;
}

std::vector<int64_t> TextHaystack::insertion_points(const Tokens& seg) const {
    std::vector<int64_t> pts = {0};
    for (size_t i = 0; i < seg.size(); ++i)
        if (seg[i] == nl_) pts.push_back(static_cast<int64_t>(i) + 1);
    return pts;
}

RepeatHaystack::RepeatHaystack(const Tokenizer& tok)
    : unit_(tok.encode(std::string(" ") + kFiller)), first_(tok.encode(kFiller)) {
    const Tokens nl = tok.encode("\n");
    if (nl.size() != 1) throw std::runtime_error("the tokenizer must encode a newline as one token");
    nl_ = nl[0];
}

Tokens RepeatHaystack::segment(int64_t n) const {
    Tokens out = first_;
    while (static_cast<int64_t>(out.size() + unit_.size()) <= n) out.insert(out.end(), unit_.begin(), unit_.end());
    const int64_t have = static_cast<int64_t>(out.size());
    if (have > n) out.resize(static_cast<size_t>(std::max<int64_t>(n, 0)));
    else out.insert(out.end(), static_cast<size_t>(n - have), nl_);
    return out;
}

std::vector<int64_t> RepeatHaystack::insertion_points(const Tokens& seg) const {
    auto p = static_cast<int64_t>(first_.size());
    std::vector<int64_t> pts = {p};
    while (p + static_cast<int64_t>(unit_.size()) <= static_cast<int64_t>(seg.size())) {
        p += static_cast<int64_t>(unit_.size());
        pts.push_back(p);
    }
    return pts;
}

// ------------------------------------------------------------------------------ samples

Sample make_sample(const std::string& task, Rng& rng, const Tokenizer& tok, int64_t length, const TextHaystack* hay,
                   const SampleOptions& opt) {
    const Tokens nl_tokens = tok.encode("\n");
    if (nl_tokens.size() != 1) throw std::runtime_error("the tokenizer must encode a newline as one token");
    const int32_t nl = nl_tokens[0];
    const bool needs_text = task == "niah-single" || task == "niah-single-uuid" || task == "niah-multikey" || task == "mqar";
    if (needs_text && hay == nullptr) throw std::runtime_error(task + " needs a real-text haystack");
    Sample s;
    s.task = task;
    s.ids.push_back(tok.bos);
    const auto& W = words();

    if (task == "niah-single-repeat" || task == "niah-single" || task == "niah-single-uuid" || task == "niah-multikey") {
        const std::string kind = task == "niah-single-uuid" ? "uuid" : "number";
        for (size_t i : rng.sample(W.size(), task == "niah-multikey" ? static_cast<size_t>(opt.n_keys) : 1)) s.keys.push_back(W[i]);
        for (size_t i = 0; i < s.keys.size(); ++i) s.values.push_back(kind == "uuid" ? uuid(rng) : number(rng, 7));
        s.ids = concat(s.ids, tok.encode(niah_intro(kind)));
        std::vector<Tokens> needles;
        for (size_t i = 0; i < s.keys.size(); ++i) {
            const std::string text = niah_needle(kind, s.keys[i], s.values[i]);
            needles.push_back(task == "niah-single-repeat" ? tok.encode(" " + text) : concat(tok.encode(text), {nl}));
        }
        std::vector<size_t> asked(s.keys.size());
        std::iota(asked.begin(), asked.end(), 0);
        rng.shuffle(&asked);
        asked.resize(static_cast<size_t>(std::max(1, std::min<int>(opt.n_queries, static_cast<int>(s.keys.size())))));
        std::vector<Tokens> qas;
        for (size_t i : asked) qas.push_back(question_answer(tok, niah_question(kind, s.keys[i]), s.values[i], nullptr));
        const int64_t budget = length - static_cast<int64_t>(s.ids.size()) - total_size(needles) - total_size(qas);
        check_budget(budget, length, task);
        Tokens seg;
        std::vector<int64_t> pts;
        if (task == "niah-single-repeat") {
            const RepeatHaystack rep(tok);
            seg = rep.segment(budget);
            pts = rep.insertion_points(seg);
        } else {
            seg = hay->segment(rng, budget);
            pts = hay->insertion_points(seg);
        }
        Tokens filled;
        const auto starts = insert_needles(seg, pts, needles, depths_for(rng, needles.size(), opt.depth), &filled);
        const auto base = static_cast<int64_t>(s.ids.size());
        s.ids = concat(s.ids, filled);
        for (size_t i : asked) {
            add_qa(&s, tok, niah_question(kind, s.keys[i]), s.values[i]);
            s.asked.push_back(s.keys[i]);
        }
        for (int64_t st : starts) s.needle_pos.push_back(base + st);
    } else if (task == "mqar") {
        const int n_pairs = opt.n_pairs > 0 ? opt.n_pairs
                                            : std::max<int>(4, static_cast<int>(std::min<int64_t>(static_cast<int64_t>(W.size() / 2), length / 96)));
        if (static_cast<size_t>(n_pairs) > W.size()) throw std::invalid_argument("mqar: at most " + std::to_string(W.size()) + " pairs");
        for (size_t i : rng.sample(W.size(), static_cast<size_t>(n_pairs))) s.keys.push_back(W[i]);
        for (size_t i = 0; i < s.keys.size(); ++i) s.values.push_back(number(rng, 4));
        s.ids = concat(s.ids, tok.encode(kMqarIntro));
        std::vector<Tokens> needles;
        for (size_t i = 0; i < s.keys.size(); ++i) needles.push_back(concat(tok.encode(mqar_pair(s.keys[i], s.values[i])), {nl}));
        const int nq = std::max(1, std::min(opt.n_queries > 1 ? opt.n_queries : n_pairs / 2, n_pairs));
        const auto asked = rng.sample(static_cast<size_t>(n_pairs), static_cast<size_t>(nq));
        std::vector<Tokens> qas;
        for (size_t i : asked) qas.push_back(question_answer(tok, mqar_question(s.keys[i]), s.values[i], nullptr));
        const int64_t budget = length - static_cast<int64_t>(s.ids.size()) - total_size(needles) - total_size(qas);
        check_budget(budget, length, task + " with " + std::to_string(n_pairs) + " pairs");
        const Tokens seg = hay->segment(rng, budget);
        Tokens filled;
        const auto starts = insert_needles(seg, hay->insertion_points(seg), needles, depths_for(rng, needles.size(), -1.0), &filled);
        const auto base = static_cast<int64_t>(s.ids.size());
        s.ids = concat(s.ids, filled);
        for (size_t i : asked) {
            add_qa(&s, tok, mqar_question(s.keys[i]), s.values[i]);
            s.asked.push_back(s.keys[i]);
        }
        for (int64_t st : starts) s.needle_pos.push_back(base + st);
    } else if (task == "passkey") {
        const std::string val = number(rng, 5);
        s.values = {val};
        const RepeatHaystack rep(tok);
        s.ids = concat(s.ids, tok.encode(kPasskeyIntro));
        const Tokens needle = tok.encode(" " + passkey_needle(val));
        const Tokens qa = question_answer(tok, kPasskeyQuestion, val, nullptr);
        const int64_t budget = length - static_cast<int64_t>(s.ids.size()) - static_cast<int64_t>(needle.size() + qa.size());
        check_budget(budget, length, task);
        // the filler starts with a space here (it follows the intro sentence)
        const Tokens& unit = rep.unit();
        Tokens seg;
        while (static_cast<int64_t>(seg.size() + unit.size()) <= budget) seg.insert(seg.end(), unit.begin(), unit.end());
        std::vector<int64_t> pts;
        for (size_t p = 0; p <= seg.size(); p += unit.size()) pts.push_back(static_cast<int64_t>(p));
        const double d = opt.depth >= 0 ? opt.depth : rng.uniform();
        const int64_t p = nearest(pts, d * static_cast<double>(seg.size()));
        seg.insert(seg.end(), static_cast<size_t>(budget - static_cast<int64_t>(seg.size())), nl);
        s.needle_pos = {static_cast<int64_t>(s.ids.size()) + p};
        s.ids.insert(s.ids.end(), seg.begin(), seg.begin() + p);
        s.ids.insert(s.ids.end(), needle.begin(), needle.end());
        s.ids.insert(s.ids.end(), seg.begin() + p, seg.end());
        add_qa(&s, tok, kPasskeyQuestion, val);
    } else {
        throw std::invalid_argument("unknown task '" + task + "'");
    }
    if (static_cast<int64_t>(s.ids.size()) != length)
        throw std::runtime_error(task + ": built " + std::to_string(s.ids.size()) + " tokens, wanted " + std::to_string(length));
    return s;
}

Sample eval_sample(const std::string& task, uint64_t seed, int64_t length, int index, int n, const Tokenizer& tok,
                   const TextHaystack* hay, int mqar_pairs) {
    Rng rng(std::to_string(seed) + ":eval:" + task + ":" + std::to_string(length) + ":" + std::to_string(index));
    SampleOptions opt;
    if (task == "niah-multikey") {
        opt.n_keys = 4;
        opt.n_queries = 1;
    } else if (task == "mqar") {
        opt.n_pairs = mqar_pairs;
        opt.n_queries = 0;  // half of the pairs
    }
    if (task != "mqar") opt.depth = 0.05 + 0.9 * (index + 0.5) / n;
    return make_sample(task, rng, tok, length, hay, opt);
}

// ------------------------------------------------------------------------------ scoring

std::vector<bool> score_sample(const Sample& sample, Predictor& predictor, int64_t* tokens_right) {
    std::vector<bool> out;
    if (tokens_right) *tokens_right = 0;
    int64_t pos = 0;
    const int64_t last = sample.answers.empty() ? 0 : sample.answers.back().second;
    auto feed = [&](int64_t from, int64_t to) {
        if (to > from && !predictor.feed(sample.ids.data() + from, static_cast<size_t>(to - from)))
            throw std::runtime_error("feeding the sample failed");
    };
    for (const auto& [a, b] : sample.answers) {
        feed(pos, a);
        bool ok = true;
        for (int64_t p = a; p < b; ++p) {
            if (predictor.argmax() != sample.ids[static_cast<size_t>(p)]) ok = false;
            else if (tokens_right) ++*tokens_right;
            if (p + 1 < last) feed(p, p + 1);  // teacher forcing: the true token, whatever was predicted
        }
        pos = b;
        out.push_back(ok);
    }
    return out;
}

}  // namespace mnemo::eval
