// The PyTorch-reference peer of `mnemo bench` (tools/bench_peers.cpp) against stand-in
// scripts: which models it runs for, the arguments it passes, how it reads the script's
// --json, and that every failure (no interpreter, a script error, a timeout, no JSON) comes
// back as an error instead of ending the run. No GPU and no torch needed.
#include "bench_peers.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace fs = std::filesystem;
using mnemo::cli::bench::run_torch_reference;
using mnemo::cli::bench::torch_reference_target;
using mnemo::cli::bench::TorchPeerRequest;

namespace {

class TorchPeer : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("mnemo-test-torch-peer-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
        q_.python = "sh";
        q_.shape = "paper-1.4b";
        q_.mixer = "lte";
        q_.contexts = {1024, 16384, 131072};
        q_.decode_tokens = 32;
        q_.chunk = 1024;
        q_.max_seconds = 45;
        q_.timeout_seconds = 60;
        q_.json_path = (dir_ / "out.json").string();
        q_.log_path = (dir_ / "out.log").string();
    }
    void TearDown() override { fs::remove_all(dir_); }
    // A stand-in for reference_bench.py, run by sh: `body` sees the arguments in "$@".
    std::string script(const std::string& body) {
        const std::string path = (dir_ / "reference.sh").string();
        std::ofstream(path) << body;
        return path;
    }
    fs::path dir_;
    TorchPeerRequest q_;
};

}  // namespace

TEST(TorchPeerTarget, PaperShapesWithLteOrAttnOnly) {
    std::string why;
    EXPECT_TRUE(torch_reference_target("paper-0.4b", "lte", &why));
    EXPECT_TRUE(torch_reference_target("paper-1.4b", "attn", &why));
    EXPECT_FALSE(torch_reference_target("paper-0.4b", "gdn", &why));
    EXPECT_NE(why.find("peer not available for this mixer"), std::string::npos) << why;
    EXPECT_FALSE(torch_reference_target("paper-1.4b", "transformer", &why));
    EXPECT_NE(why.find("peer not available for this mixer"), std::string::npos) << why;
    EXPECT_FALSE(torch_reference_target("default", "lte", &why));
    EXPECT_NE(why.find("shape 'default'"), std::string::npos) << why;
    EXPECT_FALSE(torch_reference_target("", "", &why));
    EXPECT_NE(why.find("model file"), std::string::npos) << why;
}

TEST_F(TorchPeer, PassesTheRunsSettingsAndReadsItsJson) {
    // Writes its arguments and two rows (one measured, one skipped) where --json says.
    q_.script = script(R"(out=""; prev=""
for a in "$@"; do [ "$prev" = "--json" ] && out=$a; prev=$a; done
printf '{"peer": "stand-in", "dtype": "float32", "params": 7, "args": "%s", "rows": [
  {"context": 1024, "prefill_tokens_per_second": 5000.5, "decode_ms_p50": 3.25, "decode_ms_max": 4.5},
  {"context": 16384, "skipped": "prefill estimated at 99 s"}]}' "$*" > "$out"
echo progress on stdout
)");
    const auto r = run_torch_reference(q_);
    ASSERT_TRUE(r.ran) << r.error;
    EXPECT_TRUE(r.error.empty());
    const std::string args = r.raw.value("args", std::string());
    for (const char* expected : {"--shape paper-1.4b", "--mixer lte", "--contexts 1024,16384,131072", "--chunk 1024",
                                 "--decode-tokens 32", "--max-seconds 45", "--dtype float32", "--json"})
        EXPECT_NE(args.find(expected), std::string::npos) << expected << " not in: " << args;
    ASSERT_EQ(r.points.size(), 2u);
    EXPECT_EQ(r.points[0].context, 1024);
    EXPECT_TRUE(r.points[0].ok);
    EXPECT_DOUBLE_EQ(r.points[0].prefill_tokens_per_second, 5000.5);
    EXPECT_DOUBLE_EQ(r.points[0].decode_ms_p50, 3.25);
    EXPECT_DOUBLE_EQ(r.points[0].decode_ms_max, 4.5);
    EXPECT_EQ(r.points[1].context, 16384);
    EXPECT_FALSE(r.points[1].ok);
    EXPECT_EQ(r.points[1].skipped, "prefill estimated at 99 s");
    EXPECT_NE(r.command.find("reference.sh"), std::string::npos);
    std::ifstream log(q_.log_path);
    std::string line;
    std::getline(log, line);
    EXPECT_EQ(line, "progress on stdout");
}

TEST_F(TorchPeer, AScriptErrorIsReportedWithItsExitStatus) {
    q_.script = script("echo 'ModuleNotFoundError: No module named torch' >&2; exit 3\n");
    const auto r = run_torch_reference(q_);
    EXPECT_FALSE(r.ran);
    EXPECT_NE(r.error.find("exit 3"), std::string::npos) << r.error;
    std::ifstream log(q_.log_path);
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("No module named torch"), std::string::npos);
}

TEST_F(TorchPeer, AMissingInterpreterIsReported) {
    q_.python = (dir_ / "no-such-python").string();
    q_.script = script("exit 0\n");
    const auto r = run_torch_reference(q_);
    EXPECT_FALSE(r.ran);
    EXPECT_NE(r.error.find("cannot run"), std::string::npos) << r.error;
}

TEST_F(TorchPeer, ATimeoutEndsTheScriptAndIsReported) {
    q_.timeout_seconds = 1;
    q_.script = script("sleep 30\n");
    const auto r = run_torch_reference(q_);
    EXPECT_FALSE(r.ran);
    EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
}

TEST_F(TorchPeer, NoJsonIsReported) {
    q_.script = script("echo done\n");
    const auto r = run_torch_reference(q_);
    EXPECT_FALSE(r.ran);
    EXPECT_NE(r.error.find("no JSON"), std::string::npos) << r.error;
}
