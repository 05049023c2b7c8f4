# `mnemo bench` on the tiny test models with tiny contexts (included from tests/CMakeLists.txt,
# which defines TINY_MODEL and its fixture). Checks the JSON's fields and the consistency of
# its values (check_bench_json.cmake); no timing thresholds.
set(_bench_dir ${CMAKE_CURRENT_BINARY_DIR}/bench)
file(MAKE_DIRECTORY ${_bench_dir})
set(_check ${CMAKE_CURRENT_SOURCE_DIR}/cli/check_bench_json.cmake)

add_test(NAME cli.bench_help COMMAND mnemo_cli bench --help)
set_tests_properties(cli.bench_help PROPERTIES PASS_REGULAR_EXPRESSION "Usage: mnemo bench.*--contexts.*--json")

# laLTE (bounded): two contexts, rooflines with small arrays, the OpenBLAS comparison if present.
add_test(NAME cli.bench_lte_json
  COMMAND ${CMAKE_COMMAND} -E env -- $<TARGET_FILE:mnemo_cli> bench -m ${TINY_MODEL} --contexts 64,160 --decode-tokens 4
          --threads 2 --roofline-mib 8 --quiet --json ${_bench_dir}/lte.json)
set_tests_properties(cli.bench_lte_json PROPERTIES FIXTURES_REQUIRED tiny_model FIXTURES_SETUP bench_lte_json)
add_test(NAME cli.bench_lte_json_fields COMMAND ${CMAKE_COMMAND} -DJSON=${_bench_dir}/lte.json -DMODE=lte -DROOFLINE=ON -P ${_check})
set_tests_properties(cli.bench_lte_json_fields PROPERTIES FIXTURES_REQUIRED bench_lte_json)

# GDN + full attention (unbounded): the 1M context would need more than --max-memory and is
# skipped cleanly, with the reason, before anything is allocated.
set(_tiny_attn ${_bench_dir}/tiny_attn.gguf)
add_test(NAME fixture.make_tiny_attn COMMAND make_tiny_model ${_tiny_attn} attn)
set_tests_properties(fixture.make_tiny_attn PROPERTIES FIXTURES_SETUP tiny_attn)
add_test(NAME cli.bench_attn_json
  COMMAND mnemo_cli bench -m ${_tiny_attn} --contexts 64,160,1M --decode-tokens 4 --threads 2 --no-roofline
          --max-memory 200M --quiet --json ${_bench_dir}/attn.json)
set_tests_properties(cli.bench_attn_json PROPERTIES FIXTURES_REQUIRED tiny_attn FIXTURES_SETUP bench_attn_json)
add_test(NAME cli.bench_attn_json_fields COMMAND ${CMAKE_COMMAND} -DJSON=${_bench_dir}/attn.json -DMODE=attn -P ${_check})
set_tests_properties(cli.bench_attn_json_fields PROPERTIES FIXTURES_REQUIRED bench_attn_json)

# A synthetic shape (the bundled model's, pure GDN, random q8_0 weights) written and run.
# The PyTorch-reference peer has no such shape: a note, not a failure (it is never started).
add_test(NAME cli.bench_shape_json
  COMMAND mnemo_cli bench --shape default --mixer gdn --contexts 32,64 --decode-tokens 4 --threads 2 --no-roofline
          --peer-torch-reference /nonexistent/reference_bench.py --quiet --json ${_bench_dir}/shape.json)
set_tests_properties(cli.bench_shape_json PROPERTIES FIXTURES_SETUP bench_shape_json)
add_test(NAME cli.bench_shape_json_fields COMMAND ${CMAKE_COMMAND} -DJSON=${_bench_dir}/shape.json -DMODE=shape
         "-DPEER_NOTE=peer not available for shape 'default'" -P ${_check})
set_tests_properties(cli.bench_shape_json_fields PROPERTIES FIXTURES_REQUIRED bench_shape_json)

add_test(NAME cli.bench_bad_mixer COMMAND mnemo_cli bench --shape default --mixer nonsense)
set_tests_properties(cli.bench_bad_mixer PROPERTIES WILL_FAIL ON)
if(NOT MNEMO_CUDA)
  # Without the CUDA backend, --backend cuda ends cleanly with "no CUDA device".
  add_test(NAME cli.bench_no_cuda_device COMMAND mnemo_cli bench -m ${TINY_MODEL} --backend cuda --contexts 64 --no-roofline)
  set_tests_properties(cli.bench_no_cuda_device PROPERTIES FIXTURES_REQUIRED tiny_model WILL_FAIL ON)
  add_test(NAME cli.bench_no_cuda_device_message
    COMMAND ${CMAKE_COMMAND} -E env -- sh -c "$<TARGET_FILE:mnemo_cli> bench -m ${TINY_MODEL} --backend cuda --contexts 64 --no-roofline 2>&1; true")
  set_tests_properties(cli.bench_no_cuda_device_message PROPERTIES FIXTURES_REQUIRED tiny_model PASS_REGULAR_EXPRESSION "no CUDA device")
endif()

# The PyTorch-reference peer runner (tools/bench_peers.cpp) against stand-in scripts.
add_executable(test_bench_peers cli/test_bench_peers.cpp ${PROJECT_SOURCE_DIR}/tools/bench_peers.cpp)
target_include_directories(test_bench_peers PRIVATE ${PROJECT_SOURCE_DIR}/tools)
target_link_libraries(test_bench_peers PRIVATE nlohmann_json::nlohmann_json mnemo_warnings GTest::gtest_main)
gtest_discover_tests(test_bench_peers TEST_PREFIX cli.bench_ DISCOVERY_TIMEOUT 60)

# `mnemo run` names the backend its session runs on.
add_test(NAME cli.run_reports_backend
  COMMAND mnemo_cli run -m ${TINY_MODEL} -p "bounded" -n 2 --backend cpu --json)
set_tests_properties(cli.run_reports_backend PROPERTIES FIXTURES_REQUIRED tiny_model PASS_REGULAR_EXPRESSION "\"backend\": \"cpu\"")
